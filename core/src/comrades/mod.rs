//! Comrades: my identity and card, the comrades I added from theirs, safety
//! numbers, and circles of comrades.

mod circles;
mod safety_number;
mod store;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

pub use crate::identity::{
    Card, CardError, EncryptionKey, IdentityKey, MAX_CARD_AHEAD, MAX_CARD_BYTES, PairKey,
    RETIRED_KEY_LIFETIME,
};
pub use circles::{Circle, CircleId};
pub use safety_number::SafetyNumber;
pub use store::{Added, Comrade, ComradeId, Introduction, Visit, VisitRole};
pub(crate) use store::{
    CutOff, Met, Peer, Taken, add_met, by_id, by_identity, card_of_unblocked, encryption_key_of,
    is_replaced, key_replaced_at, known, learn_pq_key, mark_conflict, name_of, peers_for_keys,
    pq_key_for, resolve, take_card, unblocked,
};
#[cfg(feature = "testing")]
pub(crate) use store::{card_of, pq_keys};

use crate::identity;
use crate::{Result, Vault};

/// A new encryption key of mine, and the pair keys with every comrade for it.
pub(crate) fn rotate_keys_at(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    let secret = identity::rotate(conn, now)?;
    store::derive_pair_keys(conn, &secret)
}

/// Whom to seal to. Circles are expanded to their members when sealing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Recipient {
    Comrade(ComradeId),
    Circle(CircleId),
}

/// A change among my comrades that my card must answer. Comrades reports
/// it inside the changing transaction; what the registry names (delivery)
/// acts on it there, so both commit or neither does.
pub(crate) enum ComradeChange {
    /// Removed or blocked: they must not learn where I receive from now on.
    Cut(CutOff),
    /// Unblocked: they should have my current card.
    Restored(ComradeId),
    /// Added from their card: they should have my current card too, whose
    /// envelope brings the post-quantum key my card names, so what they
    /// seal to me is post-quantum from the start.
    Added(ComradeId),
}

pub(crate) type OnComradeChange = fn(&Connection, ComradeChange) -> Result<()>;

/// My comrades and circles. Borrow it with [`Vault::comrades`].
pub struct Comrades<'v> {
    vault: &'v Vault,
    on_change: OnComradeChange,
}

impl<'v> Comrades<'v> {
    pub(crate) fn new(vault: &'v Vault, on_change: OnComradeChange) -> Self {
        Comrades { vault, on_change }
    }
}

impl Comrades<'_> {
    /// My card, to show as a QR code or send as text. Needs a display name.
    pub fn my_card(&self) -> Result<Card> {
        // A transaction: the card may be issued (and stored) now.
        self.vault
            .with_tx(|tx| identity::card(tx, &identity::load(tx)?))
    }

    pub fn my_identity_key(&self) -> Result<IdentityKey> {
        self.vault.with_conn(identity::identity_key)
    }

    /// Replaces my encryption key now, ahead of the weekly epoch. Comrades
    /// learn the new one from the card inside the next envelope I send them;
    /// the old key keeps opening what was sealed to it for
    /// [`RETIRED_KEY_LIFETIME`].
    pub fn rotate_encryption_key(&self) -> Result<Card> {
        self.vault.with_tx(|tx| {
            rotate_keys_at(tx, Utc::now())?;
            identity::card(tx, &identity::load(tx)?)
        })
    }

    /// The safety number between me and a comrade.
    pub fn safety_number(&self, id: ComradeId) -> Result<SafetyNumber> {
        let mine = self.my_identity_key()?;
        let theirs = self.get(id)?.identity_key;
        Ok(SafetyNumber::between(&mine, &theirs))
    }
}
