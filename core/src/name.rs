//! Names people give themselves, their comrades and their circles.

use crate::{Error, Result};

pub const MAX_CHARS: usize = 64;

/// Trimmed, 1 to 64 printable characters; at most 255 bytes, so a card can
/// carry it.
pub(crate) fn clean(name: &str) -> Result<&str> {
    let name = name.trim();
    if is_clean(name) {
        Ok(name)
    } else {
        Err(Error::invalid("name", "1 to 64 printable characters"))
    }
}

pub(crate) fn is_clean(name: &str) -> bool {
    let chars = name.chars().count();
    (1..=MAX_CHARS).contains(&chars)
        && name.len() <= 255
        && name.trim() == name
        && !name.chars().any(char::is_control)
}
