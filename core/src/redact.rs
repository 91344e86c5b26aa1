//! `Debug` for what members write: its size, never its content. Debug output
//! ends up in logs and crash reports.

use std::fmt;

pub(crate) struct Text<'a>(pub &'a str);

impl fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} chars>", self.0.chars().count())
    }
}

pub(crate) struct Texts<'a>(pub &'a [String]);

impl fmt::Debug for Texts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} items>", self.0.len())
    }
}

pub(crate) struct MaybeText<'a>(pub Option<&'a str>);

impl fmt::Debug for MaybeText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(text) => Text(text).fmt(f),
            None => f.write_str("None"),
        }
    }
}
