//! The composition root: the one place that knows every module. Lower
//! layers define seams (message kinds, open steps, integrity checks,
//! changes among comrades); this lists what fills them, and every vault is
//! opened and borrowed through it. Adding a message kind touches its own
//! module and [`KINDS`].

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::comrades::Comrades;
use crate::delivery::{self, Delivery};
use crate::envelope::{CardUpdates, Envelopes, KindHandler};
use crate::vault::{self, Hooks, KeyWrapper};
use crate::{DataKey, KdfParams, Result, Vault, care, gatherings, identity, journal};

/// The kinds Tend itself sends. Apps may add their own: lowercase, dotted,
/// at most 32 bytes; the inbox keeps those as they are.
pub mod kinds {
    pub use crate::care::kinds::*;
    pub use crate::envelope::CARD_UPDATE;
    pub use crate::gatherings::kinds::*;
    pub use crate::journal::JOURNAL_ENTRY;
}

/// Who reads the body of each kind an envelope can carry.
pub(crate) static KINDS: &[&dyn KindHandler] = &[
    &CardUpdates,
    &journal::SharedEntries,
    &care::CareKinds,
    &gatherings::GatheringKinds,
];

static HOOKS: Hooks = Hooks {
    on_open: &[make_my_keys, sweep_care],
    integrity: &[journal::index_is_sound],
};

fn make_my_keys(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    identity::ensure(conn, now)
}

fn sweep_care(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    care::sweep(conn, now).map(drop)
}

impl Vault {
    /// Creates a vault whose data key the app keeps (wrapped by Keystore or Keychain).
    pub fn create_with_key(dir: impl Into<PathBuf>, key: &DataKey) -> Result<Vault> {
        vault::create_with_key(dir, key, &HOOKS)
    }

    /// Creates a vault with a fresh random data key, wrapped by the passphrase.
    pub fn create_with_passphrase(
        dir: impl Into<PathBuf>,
        passphrase: &str,
        params: KdfParams,
    ) -> Result<Vault> {
        vault::create_with_passphrase(dir, passphrase, params, &HOOKS)
    }

    pub fn open_with_key(dir: impl Into<PathBuf>, key: &DataKey) -> Result<Vault> {
        vault::open_with_key(dir, key, &HOOKS)
    }

    pub fn open_with_passphrase(dir: impl Into<PathBuf>, passphrase: &str) -> Result<Vault> {
        vault::open_with_passphrase(dir, passphrase, &HOOKS)
    }

    /// A new vault with a fresh random data key that only `wrapper` can unwrap.
    pub fn create_wrapped(dir: impl Into<PathBuf>, wrapper: &dyn KeyWrapper) -> Result<Vault> {
        vault::create_wrapped(dir, wrapper, &HOOKS)
    }

    pub fn open_wrapped(dir: impl Into<PathBuf>, wrapper: &dyn KeyWrapper) -> Result<Vault> {
        vault::open_wrapped(dir, wrapper, &HOOKS)
    }

    /// An unencrypted vault with the same schema and pragmas, so benchmarks
    /// can show what encryption costs. Never used by the apps.
    #[cfg(feature = "plaintext-baseline")]
    pub fn create_plaintext_baseline(dir: impl Into<PathBuf>) -> Result<Vault> {
        vault::plaintext_baseline(dir, true, &HOOKS)
    }

    #[cfg(feature = "plaintext-baseline")]
    pub fn open_plaintext_baseline(dir: impl Into<PathBuf>) -> Result<Vault> {
        vault::plaintext_baseline(dir, false, &HOOKS)
    }

    /// Sealing, opening, inbox and outbox.
    pub fn envelopes(&self) -> Envelopes<'_> {
        Envelopes::new(self, KINDS)
    }

    /// My comrades and circles. Removing, blocking and unblocking tell delivery.
    pub fn comrades(&self) -> Comrades<'_> {
        Comrades::new(self, delivery::on_comrade_change)
    }

    /// Relays, mailboxes and syncing.
    pub fn delivery(&self) -> Delivery<'_> {
        Delivery::new(self, KINDS)
    }
}
