//! Comrades: my identity and card, the comrades I added from theirs, safety
//! numbers, and circles of comrades.

mod card;
mod circles;
pub(crate) mod identity;
mod keys;
mod safety_number;
mod store;

pub use card::{Card, CardError};
pub(crate) use circles::member_seqs as circle_member_seqs;
pub use circles::{Circle, CircleId};
pub use identity::RETIRED_KEY_LIFETIME;
pub(crate) use keys::EncryptionSecret;
pub use keys::{EncryptionKey, IdentityKey, PairKey};
pub use safety_number::SafetyNumber;
pub use store::{Added, Comrade, ComradeId};
pub(crate) use store::{Peer, peers, peers_for_keys, refresh_from_card, seq_and_blocked};

use crate::{Result, Vault};

/// My comrades and circles. Borrow it with [`Vault::comrades`].
pub struct Comrades<'v> {
    vault: &'v Vault,
}

impl Vault {
    pub fn comrades(&self) -> Comrades<'_> {
        Comrades { vault: self }
    }
}

impl Comrades<'_> {
    /// My card, to show as a QR code or send as text. Needs a display name.
    pub fn my_card(&self) -> Result<Card> {
        self.vault
            .with_conn(|conn| identity::card(conn, &identity::load(conn)?))
    }

    pub fn my_identity_key(&self) -> Result<IdentityKey> {
        self.vault.with_conn(identity::identity_key)
    }

    /// Replaces my encryption key. Comrades learn the new one from the card
    /// inside the next envelope I send them; the old key keeps opening what
    /// was sealed to it for [`RETIRED_KEY_LIFETIME`].
    pub fn rotate_encryption_key(&self) -> Result<Card> {
        self.vault.with_tx(|tx| {
            identity::rotate(tx)?;
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
