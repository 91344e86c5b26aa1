//! Message kinds are registered, not known: each module that owns kinds
//! implements [`KindHandler`], `crate::registry` lists them once, and
//! opening an envelope asks the list. This module names no domain.

use chrono::{DateTime, Utc};
use rusqlite::Transaction;

use super::{EnvelopeError, MessageId, Opened};
use crate::Result;
use crate::identity::Card;

/// The kinds one module owns (`care.*`, say).
pub(crate) trait KindHandler: Sync {
    fn owns(&self, kind: &str) -> bool;

    /// Reads the body before anything is stored: a refusal leaves the vault
    /// as it was. What it returns is what gets applied, so a body is parsed
    /// once.
    fn check(&self, kind: &str, body: &[u8]) -> Result<Box<dyn Checked>, EnvelopeError>;
}

/// A body its handler has read.
pub(crate) trait Checked {
    /// Whether the inbox keeps the envelope. Kinds that become state
    /// elsewhere (a care request, a gathering) are not kept.
    fn kept(&self) -> bool {
        false
    }

    /// Whether this body lets in a sender who is not my comrade (a visitor's
    /// first envelope, carrying a pass my vault issued), adding them as one.
    /// Nobody, unless a kind says so.
    fn admit_stranger(
        &self,
        tx: &Transaction<'_>,
        card: &Card,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let _ = (tx, card, now);
        Ok(false)
    }

    /// Applies a comrade's envelope inside the opening transaction; returns
    /// the envelopes sealed in answer. My own copy is never applied: my
    /// vault did it already. Kinds that only sit in the inbox apply nothing.
    fn receive(
        self: Box<Self>,
        tx: &Transaction<'_>,
        opened: &Opened,
        now: DateTime<Utc>,
    ) -> Result<Vec<MessageId>> {
        let _ = (tx, opened, now);
        Ok(Vec::new())
    }

    /// Applies an envelope from another copy of my own vault (one not in
    /// my outbox: a restored copy's, say). Nothing, unless a kind says so.
    fn receive_from_my_other_copy(
        self: Box<Self>,
        tx: &Transaction<'_>,
        opened: &Opened,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let _ = (tx, opened, now);
        Ok(())
    }
}

/// An app's own kind, which Tend keeps in the inbox unread.
struct Unhandled;

impl Checked for Unhandled {
    fn kept(&self) -> bool {
        true
    }
}

/// The registered handler's reading of a body; kinds nobody owns are kept as they are.
pub(crate) fn check(
    kinds: &[&dyn KindHandler],
    kind: &str,
    body: &[u8],
) -> Result<Box<dyn Checked>, EnvelopeError> {
    match kinds.iter().find(|h| h.owns(kind)) {
        Some(handler) => handler.check(kind, body),
        None => Ok(Box::new(Unhandled)),
    }
}
