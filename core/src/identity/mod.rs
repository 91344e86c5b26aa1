//! Who I am and where I am reached: my keys, my mailboxes and relays, and
//! the card that carries them; and the key, card and address types that
//! comrades, envelopes and delivery share. It imports no module above the
//! vault, so all of them can import it.

mod address;
mod card;
pub(crate) mod chain;
mod keys;
pub(crate) mod mailbox;
mod mine;
mod pq;
mod recovery;
pub(crate) mod relays;

pub use address::{
    Address, MAILBOX_WEEK, MAX_RELAY_HINTS, MAX_RELAY_URL_BYTES, MailboxKey, MailboxSeed,
    NextMailbox, RelayUrl, week_of, week_start,
};
#[cfg(any(test, feature = "testing"))]
pub(crate) use card::CardKeys;
pub use card::{Card, CardError, ChainLink, MAX_CARD_AHEAD, MAX_CARD_BYTES, chain_hash};
pub(crate) use keys::EncryptionSecret;
pub use keys::{EncryptionKey, IdentityKey, PairKey};
pub use mailbox::{CLOCK_SKEW, LONGEST_STAY, MAILBOX_GRACE, MAILBOX_NOTICE, Mailbox, week_closes};
pub use mine::{EPOCH, RETIRED_KEY_LIFETIME};
pub(crate) use mine::{
    MyKeys, bump_card, card, display_name, ensure, epoch_due, give_current_key_a_pq_half, has_card,
    identity_key, links, load, prune_retired_keys, rotate,
};
#[cfg(feature = "testing")]
pub(crate) use mine::{date_current_key, forget_pq_half};
pub use pq::{PQ_CIPHERTEXT_BYTES, PQ_KEY_BYTES, PqKey};
pub use recovery::{RecoveryError, RecoveryKey, Replacement};
pub use relays::MAX_RELAYS;
