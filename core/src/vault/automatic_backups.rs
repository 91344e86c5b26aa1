//! Automatic whole-vault backups: the app names a folder (one the phone's
//! own backup carries, or one the member moves), how often, and how many
//! to keep; the vault writes a new one when one is due, atomically, and
//! removes the oldest. They are sealed to an age recipient, so no
//! passphrase is asked for: the member (or, later, their custodians) keeps
//! the identity that opens them, never the phone.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::{Vault, settings};
use crate::sealed::SealWith;
use crate::{Error, Result};

const PLAN: &str = "automatic_backups";
const LAST: &str = "automatic_backup_at";
const ALSO_TO: &str = "automatic_backups_also_to";
const PREFIX: &str = "tend-";
const SUFFIX: &str = ".tendbackup";

/// Where, how often and how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AutomaticBackups {
    /// The folder the backups are written into; it must exist.
    pub folder: String,
    /// 1 to 90.
    pub every_days: u32,
    /// How many to keep, newest first: 1 to 30.
    pub keep: u32,
    /// The age X25519 recipient (`age1…`) they are sealed to.
    pub recipient: String,
}

impl Vault {
    /// Sets the plan, or ends it with `None` (backups already written stay).
    /// The next [`Vault::back_up_if_due`] writes one at once.
    pub fn set_automatic_backups(&self, plan: Option<&AutomaticBackups>) -> Result<()> {
        if let Some(plan) = plan {
            check(plan)?;
        }
        self.with_tx(|tx| {
            settings::delete(tx, LAST)?;
            match plan {
                Some(plan) => settings::set(
                    tx,
                    PLAN,
                    &serde_json::to_string(plan).expect("plain data serialises"),
                ),
                None => settings::delete(tx, PLAN),
            }
        })
    }

    pub fn automatic_backups(&self) -> Result<Option<AutomaticBackups>> {
        self.with_conn(plan)
    }

    /// When the last automatic backup was written, if one was since the plan was set.
    pub fn last_automatic_backup(&self) -> Result<Option<DateTime<Utc>>> {
        self.with_conn(last)
    }

    /// Writes a backup into the plan's folder if one is due at `now` (none
    /// written yet, or the last `every_days` ago), keeps the newest `keep`,
    /// and says where it went. Apps call it from their background work.
    pub fn back_up_if_due(&self, now: DateTime<Utc>) -> Result<Option<PathBuf>> {
        // A retired copy's backup would be the newest in the folder, and
        // restoring it would bring back what the member moved away from.
        if self.retirement()?.is_some() {
            return Err(Error::Retired);
        }
        let (Some(plan), last) = self.with_conn(|c| Ok((plan(c)?, last(c)?)))? else {
            return Ok(None);
        };
        if last.is_some_and(|last| now < last + Duration::days(plan.every_days.into())) {
            return Ok(None);
        }
        let folder = Path::new(&plan.folder);
        let path = folder.join(format!("{PREFIX}{}{SUFFIX}", now.format("%Y%m%dT%H%M%SZ")));
        let mut to = vec![plan.recipient.clone()];
        to.extend(self.with_conn(|c| settings::get(c, ALSO_TO))?);
        let recipients = to
            .iter()
            .map(|r| crate::sealed::parse_recipient(r))
            .collect::<Result<_>>()?;
        self.write_backup_file(&SealWith::Recipients(recipients), &path)?;
        self.with_conn(|c| settings::set_time(c, LAST, now))?;
        prune(folder, plan.keep as usize)?;
        Ok(Some(path))
    }
}

fn check(plan: &AutomaticBackups) -> Result<()> {
    SealWith::recipient(&plan.recipient)?;
    if !(1..=90).contains(&plan.every_days) {
        return Err(Error::invalid("every_days", "must be 1 to 90"));
    }
    if !(1..=30).contains(&plan.keep) {
        return Err(Error::invalid("keep", "must be 1 to 30"));
    }
    if !Path::new(&plan.folder).is_dir() {
        return Err(Error::invalid("folder", "is not a folder that exists"));
    }
    Ok(())
}

fn plan(conn: &rusqlite::Connection) -> Result<Option<AutomaticBackups>> {
    Ok(settings::get(conn, PLAN)?.and_then(|json| serde_json::from_str(&json).ok()))
}

fn last(conn: &rusqlite::Connection) -> Result<Option<DateTime<Utc>>> {
    settings::get_time(conn, LAST)
}

/// Automatic backups are sealed to `recipient` too (the key custodians
/// share), or no longer with `None`.
pub(crate) fn seal_also_to(conn: &rusqlite::Connection, recipient: Option<&str>) -> Result<()> {
    match recipient {
        Some(r) => settings::set(conn, ALSO_TO, r),
        None => settings::delete(conn, ALSO_TO),
    }
}

/// The plan names a folder on this phone: a restored vault sets its own.
pub(crate) fn forget_on_restore(conn: &rusqlite::Connection) -> Result<()> {
    settings::delete(conn, PLAN)?;
    settings::delete(conn, LAST)
}

/// Removes all but the newest `keep` of the backups in `folder`; their
/// names sort by when they were made. Nothing else there is touched.
fn prune(folder: &Path, keep: usize) -> Result<()> {
    let io = || Error::io("removing an old backup");
    let mut ours: Vec<PathBuf> = std::fs::read_dir(folder)
        .map_err(io())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
        })
        .collect();
    ours.sort();
    let old = ours.len().saturating_sub(keep);
    for path in &ours[..old] {
        std::fs::remove_file(path).map_err(io())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DataKey;

    #[test]
    fn backups_are_written_when_due_and_only_the_newest_are_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let vault =
            Vault::create_with_key(tmp.path().join("v"), &DataKey::from_bytes([5; 32])).unwrap();
        let folder = tmp.path().join("backups");
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("notes.txt"), "mine").unwrap();
        let identity = age::x25519::Identity::generate();
        let plan = AutomaticBackups {
            folder: folder.to_str().unwrap().into(),
            every_days: 7,
            keep: 2,
            recipient: identity.to_public().to_string(),
        };
        let t0 = "2026-12-02T08:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            vault.back_up_if_due(t0).unwrap(),
            None,
            "no plan, no backup"
        );
        vault.set_automatic_backups(Some(&plan)).unwrap();
        assert_eq!(vault.automatic_backups().unwrap(), Some(plan.clone()));

        let first = vault.back_up_if_due(t0).unwrap().unwrap();
        assert!(first.ends_with("tend-20261202T080000Z.tendbackup"));
        assert_eq!(vault.last_automatic_backup().unwrap(), Some(t0));
        assert_eq!(vault.back_up_if_due(t0 + Duration::days(6)).unwrap(), None);
        for week in 1..=3 {
            assert!(
                vault
                    .back_up_if_due(t0 + Duration::days(7 * week))
                    .unwrap()
                    .is_some()
            );
        }
        let mut names: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "notes.txt",
                "tend-20261216T080000Z.tendbackup",
                "tend-20261223T080000Z.tendbackup"
            ]
        );
        // The newest opens with the identity.
        let newest = std::fs::read(folder.join(&names[2])).unwrap();
        let with = crate::sealed::OpenWith::Identity(identity);
        assert!(super::super::read_backup(newest.as_slice(), &with).is_ok());

        for bad in [
            AutomaticBackups {
                every_days: 0,
                ..plan.clone()
            },
            AutomaticBackups {
                keep: 31,
                ..plan.clone()
            },
            AutomaticBackups {
                recipient: "age1nope".into(),
                ..plan.clone()
            },
            AutomaticBackups {
                folder: tmp.path().join("nowhere").to_str().unwrap().into(),
                ..plan.clone()
            },
        ] {
            assert!(matches!(
                vault.set_automatic_backups(Some(&bad)),
                Err(Error::Invalid { .. })
            ));
        }
        assert_eq!(vault.automatic_backups().unwrap(), Some(plan));
        vault.set_automatic_backups(None).unwrap();
        assert_eq!(vault.back_up_if_due(t0 + Duration::days(99)).unwrap(), None);
    }
}
