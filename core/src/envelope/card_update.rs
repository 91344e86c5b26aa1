//! `card.update`: an envelope that carries nothing but the sender's card,
//! after a key rotation or a new name. Opening any envelope from a comrade
//! takes its newer card, so there is nothing more to apply.

use super::EnvelopeError;
use super::kind::{Checked, KindHandler};

/// Carries nothing but the sender's card, after a key rotation or a new name.
pub const KIND: &str = "card.update";

pub(crate) struct CardUpdates;

impl KindHandler for CardUpdates {
    fn owns(&self, kind: &str) -> bool {
        kind == KIND
    }

    fn check(&self, _: &str, body: &[u8]) -> Result<Box<dyn Checked>, EnvelopeError> {
        if !body.is_empty() {
            return Err(EnvelopeError::Malformed);
        }
        Ok(Box::new(CardUpdate))
    }
}

struct CardUpdate;

/// The card inside was taken already; nothing is kept.
impl Checked for CardUpdate {}
