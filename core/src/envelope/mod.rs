//! Sealed envelopes: how anything leaves a vault. Each is sealed to chosen
//! comrades and circles, kept in the outbox, and opened into the inbox of
//! each recipient, who learns which comrade sent it. Format: `docs/envelope.md`.

mod card_update;
mod exchange;
mod kind;
pub(crate) mod wire;

use std::fmt;

use chrono::{DateTime, Utc};

use crate::Vault;
use crate::comrades::{ComradeId, IdentityKey};
use crate::redact::Text;

pub use crate::comrades::Recipient;
pub(crate) use card_update::CardUpdates;
pub use card_update::KIND as CARD_UPDATE;
#[cfg(feature = "testing")]
pub(crate) use exchange::open_at;
#[cfg(feature = "testing")]
pub(crate) use exchange::seal_made_at;
pub use exchange::{InboxItem, MAX_UNEXPIRING_AGE, OutboxItem};
pub(crate) use exchange::{
    OutboxCopy, clear_inbox, drop_decoys_to, forget_outbox_about, inbox, open_each, outbox_about,
    outbox_copies, outbox_envelope, outbox_row, prune_decoys, prune_replay_records, reseal,
    resolve, seal_about, seal_card_update_in, seal_card_update_to, seal_decoy_card_update, seal_in,
    seal_json_in,
};
#[cfg(feature = "testing")]
pub(crate) use kind::check;
pub(crate) use kind::{Checked, KindHandler};
pub use wire::{MAX_ARMORED_BYTES, MAX_BODY_BYTES, MAX_ENVELOPE_BYTES, MAX_RECIPIENTS};

/// Why an envelope could not be opened (or sealed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum EnvelopeError {
    #[error("sent by someone who is not among your comrades")]
    UnknownSender,
    #[error("sent by a comrade you blocked")]
    BlockedSender,
    #[error("not addressed to you")]
    NotForMe,
    #[error("altered after it was sealed, or not from who it claims")]
    Tampered,
    #[error("already received")]
    Replayed,
    #[error("expired")]
    Expired,
    #[error("{size} bytes, over the limit of {max}")]
    TooLarge { size: u64, max: u64 },
    #[error("not a Tend envelope")]
    Malformed,
    #[error("envelope version {0} is newer than this app understands")]
    UnsupportedVersion(u8),
    #[error("carries a card dated more than a day ahead of this device's clock")]
    CardIssuedAhead,
    #[error("sealed with a key its sender has replaced")]
    RetiredKey,
    #[error("in an older format than what its sender sent before")]
    Downgrade,
    #[error("its sender's identity is in conflict: two of their cards fork")]
    IdentityConflict,
    #[error("sent with an identity its owner replaced with their recovery key")]
    ReplacedIdentity,
}

crate::id::uuid_id!(
    /// One message: the same id in every recipient's copy.
    MessageId,
    "message id"
);

/// An envelope to seal.
pub struct Outgoing<'a> {
    pub kind: &'a str,
    pub body: &'a [u8],
    pub to: &'a [Recipient],
    /// Recipients refuse it after this.
    pub expires_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for Outgoing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outgoing")
            .field("kind", &self.kind)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .field("to", &self.to)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A comrade an envelope went to, named as they were then.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Addressee {
    pub identity_key: IdentityKey,
    pub name: String,
}

impl fmt::Debug for Addressee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Addressee")
            .field("identity_key", &self.identity_key)
            .field("name", &Text(&self.name))
            .finish()
    }
}

/// A sealed envelope, also kept in the outbox.
#[derive(Clone)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Sealed {
    pub message_id: MessageId,
    pub bytes: Vec<u8>,
    pub recipients: Vec<Addressee>,
}

#[cfg_attr(feature = "uniffi", uniffi::export)]
impl Sealed {
    /// For share sheets, chat apps and files.
    pub fn armored(&self) -> String {
        wire::armor(&self.bytes)
    }
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("message_id", &self.message_id)
            .field("bytes", &self.bytes.len())
            .field("recipients", &self.recipients)
            .finish()
    }
}

/// Who sealed an envelope.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Sender {
    /// `None` when it was me, opening my own copy.
    pub comrade: Option<ComradeId>,
    /// What I call them, or my own display name.
    pub name: String,
    pub identity_key: IdentityKey,
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("comrade", &self.comrade)
            .field("name", &Text(&self.name))
            .finish_non_exhaustive()
    }
}

/// An envelope I opened. It is in my inbox now.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Opened {
    pub message_id: MessageId,
    pub sender: Sender,
    pub kind: String,
    pub body: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Envelopes my vault sealed in answer, now in the outbox to deliver:
    /// for example telling a circle that a request is open again.
    pub replies: Vec<MessageId>,
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field("message_id", &self.message_id)
            .field("sender", &self.sender)
            .field("kind", &self.kind)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish_non_exhaustive()
    }
}

/// Sealing, opening, inbox and outbox. Borrow it with [`Vault::envelopes`].
pub struct Envelopes<'v> {
    vault: &'v Vault,
    kinds: &'static [&'static dyn KindHandler],
}

impl<'v> Envelopes<'v> {
    /// With the kinds the registry lists, which opening hands their bodies to.
    pub(crate) fn new(vault: &'v Vault, kinds: &'static [&'static dyn KindHandler]) -> Self {
        Envelopes { vault, kinds }
    }
}
