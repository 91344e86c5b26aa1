//! `tend backup` and `tend restore`: the whole vault, to carry on as the
//! same member on a new phone (`docs/export-formats.md`).

use std::path::Path;

use tend_core::sealed::{OpenWith, SealWith};
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
    let passphrase = secrets::ask_new(secrets::VAULT_ENV, "New vault passphrase")?;
    let (vault, summary) =
        Vault::restore_with_passphrase(dir, backup, &with, &passphrase, KdfParams::default())
            .map_err(fail)?;
    let name = vault
        .display_name()
        .map_err(fail)?
        .unwrap_or_else(|| "the member".into());
    out.show(&summary, || {
        format!(
            "Restored {name} in {} from the backup made {}. Comrades carry on with this vault \
             without meeting again.",
            dir.display(),
            summary.made_at.format("%Y-%m-%d %H:%M UTC")
        )
    })
}

fn size(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}
