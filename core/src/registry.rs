//! The composition root: the one place that knows every module. Lower
//! layers define seams (message kinds, open steps, integrity checks,
//! changes among comrades); this lists what fills them, and every vault is
//! opened and borrowed through it. Adding a message kind touches its own
//! module and [`KINDS`].

use std::collections::BTreeSet;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::collective::Collectives;
use crate::comrades::{ComradeChange, Comrades};
use crate::delivery::{self, Delivery};
use crate::envelope::{self, CardUpdates, Envelopes, KindHandler};
use crate::sealed::OpenWith;
use crate::vault::{self, BackupSummary, Contents, Hooks, KeyWrapper, TableListener, Unlock};
use crate::{
    DataKey, KdfParams, Result, Vault, care, collective, custody, gatherings, identity, journal,
    pulse,
};

/// The kinds Tend itself sends. Apps may add their own: lowercase, dotted,
/// at most 32 bytes; the inbox keeps those as they are.
pub mod kinds {
    pub use crate::care::kinds::*;
    pub use crate::collective::kinds::*;
    pub use crate::custody::kinds::*;
    pub use crate::delivery::DEVICE_MOVED;
    pub use crate::envelope::CARD_UPDATE;
    pub use crate::gatherings::kinds::*;
    pub use crate::journal::JOURNAL_ENTRY;
    pub use crate::pulse::kinds::*;
}

/// Who reads the body of each kind an envelope can carry.
pub(crate) static KINDS: &[&dyn KindHandler] = &[
    &CardUpdates,
    &journal::SharedEntries,
    &care::CareKinds,
    &gatherings::GatheringKinds,
    &collective::CollectiveKinds {
        follow: gatherings::follow_collectives,
    },
    &delivery::MoveNotices,
    &custody::CustodyKinds,
    &pulse::PulseKinds,
];

/// What changed, so a screen can refresh. Reported after each commit, on
/// the thread that made it, from the tables the commit touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Change {
    Journal,
    Comrades,
    Inbox,
    Outbox,
    Gatherings,
    Reminders,
    Care,
    Collectives,
}

/// The notices a write to `table` gives, by the module that owns it;
/// `None` for a table this map does not know (a test keeps it complete).
pub(crate) fn changes_for(table: &str) -> Option<&'static [Change]> {
    use Change::*;
    Some(match table {
        // journal
        "entries" | "tags" | "entry_tags" | "mood_scale" => &[Journal],
        t if t.starts_with("entries_fts") => &[Journal],
        // comrades
        "comrades"
        | "circles"
        | "circle_members"
        | "comrade_chain"
        | "comrade_previous_keys"
        | "replaced_identities" => &[Comrades],
        // envelope
        "inbox" => &[Inbox],
        "outbox" | "outbox_recipients" => &[Outbox],
        "seen_messages" => &[],
        // delivery
        "deliveries" => &[Outbox],
        "mailbox_cursors" | "delivery_seen" => &[],
        // identity, and the vault's own
        "my_identity" | "my_encryption_keys" | "my_cards" | "mailboxes" | "relays" | "meta" => &[],
        // gatherings
        t if t.starts_with("gathering") => &[Gatherings, Reminders],
        // care
        t if t.starts_with("care_") => &[Care],
        // collective
        "collectives"
        | "collective_changes"
        | "collective_passes"
        | "collective_visits"
        | "collective_vouches"
        | "collective_attended" => &[Collectives],
        "collective_answers" => &[],
        // pulse
        "pulses" | "pulse_shares" | "pulse_tallies" => &[Collectives],
        // custody
        "custodians" | "custody_held" => &[Comrades],
        _ => return None,
    })
}

static HOOKS: Hooks = Hooks {
    on_open: &[
        make_my_keys,
        post_quantum_epochs,
        weekly_mailboxes,
        sweep_care,
        prune_replay_records,
        prune_retired_keys,
        next_epoch,
        collectives_catch_up,
        gatherings_follow_collectives,
        custodians_confirm,
        greeting_rounds,
        pulses,
    ],
    integrity: &[journal::index_is_sound],
};

fn make_my_keys(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    identity::ensure(conn, now)
}

fn post_quantum_epochs(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    delivery::upgrade_to_post_quantum(conn, now)
}

fn weekly_mailboxes(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    delivery::upgrade_to_weekly_mailboxes(conn, now)
}

fn sweep_care(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    care::sweep(conn, now).map(drop)
}

fn prune_retired_keys(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    identity::prune_retired_keys(conn, now)
}

fn next_epoch(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    delivery::next_epoch_if_due(conn, now).map(drop)
}

fn collectives_catch_up(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    collective::ask_if_due(conn, now)
}

/// What changed while the vault was locked: members who joined, visitors'
/// copies, and visitors who came to a gathering that has now passed.
fn gatherings_follow_collectives(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    gatherings::follow_collectives(conn, now).map(drop)
}

fn restore(
    backup: impl Read,
    with: &OpenWith,
    create: impl FnOnce(Contents<'_>) -> Result<Vault>,
) -> Result<(Vault, BackupSummary)> {
    let backup = vault::read_backup(backup, with)?;
    let vault = create(Contents::Backup(&backup))?;
    Ok((vault, backup.summary()))
}

/// My gatherings' greeting rounds open at their start; old ones are deleted.
fn greeting_rounds(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    gatherings::rounds_at_unlock(conn, now)
}

/// Talliers count closed pulses, silent ones fail, a month's pulse starts.
fn pulses(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    pulse::at_unlock(conn, now)
}

fn custodians_confirm(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    custody::confirm_if_due(conn, now)
}

/// A change among comrades, for the modules above them that follow it:
/// delivery (mailboxes and cards) and custody (a cut custodian's share).
fn on_comrade_change(tx: &Connection, change: ComradeChange) -> Result<()> {
    let cut = match &change {
        ComradeChange::Cut(cut) => Some(cut.peer.identity_key),
        _ => None,
    };
    delivery::on_comrade_change(tx, change)?;
    match cut {
        Some(key) => custody::on_comrade_cut(tx, &key),
        None => Ok(()),
    }
}

fn prune_replay_records(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    envelope::prune_replay_records(conn, now).map(drop)
}

impl Vault {
    /// Creates a vault whose data key the app keeps (wrapped by Keystore or Keychain).
    pub fn create_with_key(dir: impl Into<PathBuf>, key: &DataKey) -> Result<Vault> {
        vault::create_with_key(dir, key, Contents::Fresh, &HOOKS)
    }

    /// Creates a vault with a fresh random data key, wrapped by the passphrase.
    pub fn create_with_passphrase(
        dir: impl Into<PathBuf>,
        passphrase: &str,
        params: KdfParams,
    ) -> Result<Vault> {
        vault::create_with_passphrase(dir, passphrase, params, Contents::Fresh, &HOOKS)
    }

    pub fn open_with_key(dir: impl Into<PathBuf>, key: &DataKey) -> Result<Vault> {
        vault::open(dir, Unlock::AppKey(key), &HOOKS)
    }

    pub fn open_with_passphrase(dir: impl Into<PathBuf>, passphrase: &str) -> Result<Vault> {
        vault::open(dir, Unlock::Passphrase(passphrase), &HOOKS)
    }

    /// A new vault that opens only with `passphrase` and the device secret
    /// `wrapper` (Keystore, Keychain) unwraps: copied off the phone, its
    /// header cannot be guessed against (`docs/vault-format.md`).
    pub fn create_with_passphrase_and_device(
        dir: impl Into<PathBuf>,
        passphrase: &str,
        wrapper: &dyn KeyWrapper,
        params: KdfParams,
    ) -> Result<Vault> {
        vault::create_with_passphrase_and_device(
            dir,
            passphrase,
            wrapper,
            params,
            Contents::Fresh,
            &HOOKS,
        )
    }

    pub fn open_with_passphrase_and_device(
        dir: impl Into<PathBuf>,
        passphrase: &str,
        wrapper: &dyn KeyWrapper,
    ) -> Result<Vault> {
        vault::open(
            dir,
            Unlock::PassphraseAndDevice(passphrase, wrapper),
            &HOOKS,
        )
    }

    /// A new vault with a fresh random data key that only `wrapper` can unwrap.
    pub fn create_wrapped(dir: impl Into<PathBuf>, wrapper: &dyn KeyWrapper) -> Result<Vault> {
        vault::create_wrapped(dir, wrapper, Contents::Fresh, &HOOKS)
    }

    pub fn open_wrapped(dir: impl Into<PathBuf>, wrapper: &dyn KeyWrapper) -> Result<Vault> {
        vault::open_wrapped(dir, wrapper, &HOOKS)
    }

    /// The member a whole-vault backup ([`Vault::write_backup`]) holds, in a
    /// new vault in `dir` with a data key and passphrase of its own. The
    /// backup is read and checked whole first, so a wrong key or a damaged
    /// backup leaves nothing behind. The other `restore_` constructors
    /// differ only in how the new vault is unlocked, as `create_` ones do.
    pub fn restore_with_passphrase(
        dir: impl Into<PathBuf>,
        backup: impl Read,
        with: &OpenWith,
        passphrase: &str,
        params: KdfParams,
    ) -> Result<(Vault, BackupSummary)> {
        restore(backup, with, |from| {
            vault::create_with_passphrase(dir, passphrase, params, from, &HOOKS)
        })
    }

    pub fn restore_with_key(
        dir: impl Into<PathBuf>,
        backup: impl Read,
        with: &OpenWith,
        key: &DataKey,
    ) -> Result<(Vault, BackupSummary)> {
        restore(backup, with, |from| {
            vault::create_with_key(dir, key, from, &HOOKS)
        })
    }

    pub fn restore_with_passphrase_and_device(
        dir: impl Into<PathBuf>,
        backup: impl Read,
        with: &OpenWith,
        passphrase: &str,
        wrapper: &dyn KeyWrapper,
        params: KdfParams,
    ) -> Result<(Vault, BackupSummary)> {
        restore(backup, with, |from| {
            vault::create_with_passphrase_and_device(dir, passphrase, wrapper, params, from, &HOOKS)
        })
    }

    pub fn restore_wrapped(
        dir: impl Into<PathBuf>,
        backup: impl Read,
        with: &OpenWith,
        wrapper: &dyn KeyWrapper,
    ) -> Result<(Vault, BackupSummary)> {
        restore(backup, with, |from| {
            vault::create_wrapped(dir, wrapper, from, &HOOKS)
        })
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
        Comrades::new(self, on_comrade_change)
    }

    /// The collectives I belong to or visit. Gatherings follow their changes.
    pub fn collectives(&self) -> Collectives<'_> {
        Collectives::new(self, gatherings::follow_collectives)
    }

    /// Custodians of my backup key, and the shares I keep for comrades.
    pub fn custody(&self) -> crate::custody::Custody<'_> {
        crate::custody::Custody::new(self)
    }

    /// My collectives' pulses; an answer's mood may come from the journal.
    pub fn pulses(&self) -> pulse::Pulses<'_> {
        pulse::Pulses::new(self, journal::mood_of_day)
    }

    /// Relays, mailboxes and syncing.
    pub fn delivery(&self) -> Delivery<'_> {
        Delivery::new(self, KINDS)
    }

    /// Tells `listener` what each commit changed, once it has committed, on
    /// the thread that made it (never under the vault's lock, so it may call
    /// back in); each kind of change once a commit. `None` stops it.
    pub fn set_change_listener(&self, listener: Option<Arc<dyn Fn(Change) + Send + Sync>>) {
        self.set_table_listener(listener.map(|listener| {
            Arc::new(move |tables: &BTreeSet<String>| {
                let changes: BTreeSet<Change> = tables
                    .iter()
                    .filter_map(|t| changes_for(t))
                    .flatten()
                    .copied()
                    .collect();
                changes.into_iter().for_each(|c| listener(c));
            }) as TableListener
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new table must say which notices its writes give.
    #[test]
    fn every_table_gives_known_notices() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::create_with_key(dir.path(), &DataKey::from_bytes([3; 32])).unwrap();
        let tables: Vec<String> = vault
            .with_conn(|c| {
                let mut stmt = c.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
                let names = stmt.query_map([], |r| r.get(0))?;
                Ok(names.collect::<rusqlite::Result<_>>()?)
            })
            .unwrap();
        assert!(tables.len() > 25, "{tables:?}");
        let unknown: Vec<_> = tables.iter().filter(|t| changes_for(t).is_none()).collect();
        assert!(unknown.is_empty(), "tables without notices: {unknown:?}");
    }
}
