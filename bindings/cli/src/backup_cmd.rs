//! `tend backup` and `tend restore`: the whole vault, to carry on as the
//! same member on a new phone (`docs/export-formats.md`).

use std::path::Path;

use clap::Subcommand;
use tend_core::sealed::{OpenWith, SealWith};
use tend_core::vault::AutomaticBackups;
use tend_core::{KdfParams, Vault};

use crate::output::Output;
use crate::{CliResult, fail, secrets};

pub fn backup(vault: &Vault, out_path: &Path, to: Option<&str>, out: &Output) -> CliResult {
    let with = match to {
        Some(recipient) => SealWith::recipient(recipient).map_err(fail)?,
        None => {
            let p = secrets::ask_new(secrets::BACKUP_ENV, "Backup passphrase")?;
            SealWith::Passphrase(secrets::secret(&p))
        }
    };
    let summary = vault.write_backup_file(&with, out_path).map_err(fail)?;
    out.show(&summary, || {
        format!(
            "Backed up the whole vault to {} ({} of database, sealed with age). \
             On a new phone: tend --vault NEW restore {}",
            out_path.display(),
            size(summary.database_bytes),
            out_path.display()
        )
    })
}

pub fn restore(dir: &Path, file: &Path, identity: Option<&Path>, out: &Output) -> CliResult {
    let with = match identity {
        Some(path) => {
            let text = zeroize::Zeroizing::new(
                std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
            );
            let key = text
                .lines()
                .find(|l| l.starts_with("AGE-SECRET-KEY-"))
                .ok_or_else(|| format!("{} holds no AGE-SECRET-KEY-1… line", path.display()))?;
            OpenWith::identity(key).map_err(fail)?
        }
        None => {
            let p = secrets::ask(secrets::BACKUP_ENV, "Backup passphrase")?;
            OpenWith::Passphrase(secrets::secret(&p))
        }
    };
    let backup =
        std::fs::File::open(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    restore_from(dir, backup, &with, out, |name, summary| {
        format!(
            "Restored {name} in {} from the backup made {}. Comrades carry on with this vault \
             without meeting again.",
            dir.display(),
            summary.made_at.format("%Y-%m-%d %H:%M UTC")
        )
    })
}

/// A new vault in `dir` from a whole-vault backup, under a new passphrase;
/// `says` words what happened for the member named.
pub fn restore_from(
    dir: &Path,
    backup: impl std::io::Read,
    with: &OpenWith,
    out: &Output,
    says: impl FnOnce(&str, &tend_core::vault::BackupSummary) -> String,
) -> CliResult {
    let passphrase = secrets::ask_new(secrets::VAULT_ENV, "New vault passphrase")?;
    restore_into(dir, backup, with, &passphrase, out, says).map_err(fail)?
}

/// As [`restore_from`], under `passphrase`; the core's error apart, so a
/// caller can try another backup.
pub fn restore_into(
    dir: &Path,
    backup: impl std::io::Read,
    with: &OpenWith,
    passphrase: &str,
    out: &Output,
    says: impl FnOnce(&str, &tend_core::vault::BackupSummary) -> String,
) -> tend_core::Result<CliResult> {
    let (vault, summary) =
        Vault::restore_with_passphrase(dir, backup, with, passphrase, KdfParams::default())?;
    let name = vault.display_name()?.unwrap_or_else(|| "the member".into());
    Ok(out.show(&summary, || says(&name, &summary)))
}

fn size(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

#[derive(Subcommand)]
pub enum BackupsCommand {
    /// Write whole-vault backups into FOLDER on their own, sealed to an age
    /// recipient; `tend backups run` (or the app's background work) writes
    /// one when due
    Set {
        folder: std::path::PathBuf,
        /// The age recipient (age1…) whose identity, kept off this phone, opens them
        #[arg(long)]
        to: String,
        /// How often, in days
        #[arg(long, default_value_t = 7)]
        every_days: u32,
        /// How many to keep, newest first
        #[arg(long, default_value_t = 3)]
        keep: u32,
    },
    /// The plan, and when the last one was written
    Show,
    /// Stop writing them (those written stay)
    Off,
    /// Write one now if one is due
    Run,
}

pub fn backups(cmd: BackupsCommand, vault: &Vault, out: &Output) -> CliResult {
    match cmd {
        BackupsCommand::Set {
            folder,
            to,
            every_days,
            keep,
        } => {
            let folder = folder
                .canonicalize()
                .map_err(|e| format!("cannot use {}: {e}", folder.display()))?;
            let plan = AutomaticBackups {
                folder: folder.to_string_lossy().into_owned(),
                every_days,
                keep,
                recipient: to,
            };
            vault.set_automatic_backups(Some(&plan)).map_err(fail)?;
            out.done(&format!(
                "A backup every {every_days} days into {}, the newest {keep} kept.",
                folder.display()
            ))
        }
        BackupsCommand::Show => {
            let plan = vault.automatic_backups().map_err(fail)?;
            let last = vault.last_automatic_backup().map_err(fail)?;
            let json = serde_json::json!({ "plan": plan, "last": last });
            out.show(&json, || match &plan {
                None => "No automatic backups.".into(),
                Some(p) => format!(
                    "A backup every {} days into {}, the newest {} kept; the last: {}.",
                    p.every_days,
                    p.folder,
                    p.keep,
                    last.map_or("none yet".into(), |t| t
                        .format("%Y-%m-%d %H:%M UTC")
                        .to_string())
                ),
            })
        }
        BackupsCommand::Off => {
            vault.set_automatic_backups(None).map_err(fail)?;
            out.done("No more automatic backups; those written stay.")
        }
        BackupsCommand::Run => {
            let written = vault.back_up_if_due(chrono::Utc::now()).map_err(fail)?;
            let json = serde_json::json!({ "written": written });
            out.show(&json, || match &written {
                Some(path) => format!("Backed up to {}.", path.display()),
                None => "None due.".into(),
            })
        }
    }
}
