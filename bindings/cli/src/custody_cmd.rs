//! `tend custodians`: recovery through comrades.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde_json::json;
use tend_core::custody::{RecoveryRequest, RequestCode};
use tend_core::sealed::OpenWith;

use crate::output::Output;
use crate::{CliResult, args, fail, secrets};

/// Where a recovery request waits in --vault until it is used.
const REQUEST_FILE: &str = "recovery-request.age";

#[derive(Subcommand)]
pub enum CustodiansCommand {
    /// Split a new backup key among these comrades, any THRESHOLD of whom
    /// can open your automatic backups if every device and passphrase is lost
    Choose {
        /// How many custodians together can open the backups (at least 2)
        #[arg(long)]
        threshold: u8,
        /// The comrades, by name: 2 to 16
        #[arg(required = true)]
        comrades: Vec<String>,
        /// Write each share's envelope into this folder, to hand over
        /// (without it they go with your next sync)
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Who keeps a share, and whether recovery would work today
    Status,
    /// The shares you keep for comrades who chose you
    Held,
    /// With everything lost: a code to show each custodian in person (kept
    /// in --vault, under the new vault's passphrase, until `recover`)
    Request,
    /// For a comrade who lost everything and shows you their code in
    /// person: your share of their key, sealed to that code alone
    Release {
        code: String,
        /// Whose share, when you keep several
        #[arg(long = "for")]
        owner: Option<String>,
        /// Where to write the release, to hand to them
        #[arg(long, value_parser = crate::args::out_file)]
        out: PathBuf,
    },
    /// Rebuild your backup key from custodians' releases and make the vault
    /// in --vault from your newest automatic backup it opens
    Recover {
        /// The files custodians released to your request
        #[arg(required = true)]
        releases: Vec<PathBuf>,
        /// An automatic backup, or the folder they were written to
        #[arg(long)]
        backup: PathBuf,
    },
}

pub fn custodians(cmd: CustodiansCommand, dir: &Path, out: &Output) -> CliResult {
    match cmd {
        CustodiansCommand::Request => request(dir, out),
        CustodiansCommand::Recover { releases, backup } => recover(dir, &releases, &backup, out),
        CustodiansCommand::Release {
            code,
            owner,
            out: path,
        } => {
            let vault = &crate::open(dir)?;
            let code = RequestCode::parse(&code).map_err(fail)?;
            let owner = match owner {
                None => None,
                Some(name) => Some(
                    vault
                        .custody()
                        .held()
                        .map_err(fail)?
                        .into_iter()
                        .find(|h| h.owner == name)
                        .ok_or_else(|| format!("you keep no share of {name}'s"))?
                        .owner_key,
                ),
            };
            let release = vault
                .custody()
                .release(&code, owner.as_ref())
                .map_err(fail)?;
            crate::files::write_bytes(&path, &release)?;
            out.done(&format!(
                "Wrote your share to {}, sealed to the code you scanned: give it to them.",
                path.display()
            ))
        }
        CustodiansCommand::Choose {
            threshold,
            comrades,
            out: folder,
        } => {
            let vault = &crate::open(dir)?;
            let ids = comrades
                .iter()
                .map(|name| args::find(vault, name).map(|c| c.id))
                .collect::<CliResult<Vec<_>>>()?;
            let chosen = vault.custody().choose(threshold, &ids).map_err(fail)?;
            if folder.is_some() {
                return crate::render::write_envelopes(&chosen.sealed, folder, out);
            }
            out.done(&format!(
                "A new backup key, split among {} comrades: any {threshold} of them can open \
                 your automatic backups from now on. Their shares go with your next sync.",
                chosen.status.custodians.len()
            ))
        }
        CustodiansCommand::Status => {
            let vault = &crate::open(dir)?;
            let status = vault.custody().status().map_err(fail)?;
            let shown = status.as_ref().map(|s| {
                json!({
                    "threshold": s.threshold,
                    "recoverable": s.recoverable,
                    "custodians": s.custodians.iter().map(|c| json!({
                        "name": c.name,
                        "confirmed_at": c.confirmed_at,
                    })).collect::<Vec<_>>(),
                })
            });
            out.show(&shown, || match &status {
                None => {
                    "No custodians chosen: `tend custodians choose --threshold 3 A B C D E`.".into()
                }
                Some(s) => {
                    let mut lines = vec![format!(
                        "Any {} of {} can open your automatic backups; {}.",
                        s.threshold,
                        s.custodians.len(),
                        if s.recoverable {
                            "enough have confirmed they keep their share"
                        } else {
                            "not enough have confirmed yet"
                        }
                    )];
                    for c in &s.custodians {
                        lines.push(format!(
                            "  {}: {}",
                            c.name,
                            c.confirmed_at
                                .map_or("not confirmed yet".into(), |t| format!(
                                    "keeps it (confirmed {})",
                                    t.format("%Y-%m-%d")
                                ))
                        ));
                    }
                    lines.join("\n")
                }
            })
        }
        CustodiansCommand::Held => {
            let vault = &crate::open(dir)?;
            let held = vault.custody().held().map_err(fail)?;
            let shown: Vec<_> = held
                .iter()
                .map(|h| json!({"owner": h.owner, "threshold": h.threshold, "count": h.count}))
                .collect();
            out.show(&shown, || {
                if held.is_empty() {
                    return "You keep no comrade's share.".into();
                }
                held.iter()
                    .map(|h| {
                        format!(
                            "  {}: one share of {} (any {} open their backups)",
                            h.owner, h.count, h.threshold
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
    }
}

/// Makes a request, or shows again the one kept in `dir`.
fn request(dir: &Path, out: &Output) -> CliResult {
    if tend_core::VaultFiles::new(dir).exists() {
        return Err(format!("{} holds a vault already", dir.display()));
    }
    let path = dir.join(REQUEST_FILE);
    let request = if path.exists() {
        load_request(&path)?.0
    } else {
        let passphrase = secrets::ask_new(secrets::VAULT_ENV, "New vault passphrase")?;
        let request = RecoveryRequest::new();
        let saved = request.save(&secrets::secret(&passphrase)).map_err(fail)?;
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot use {}: {e}", dir.display()))?;
        crate::files::write_bytes(&path, &saved)?;
        request
    };
    let code = request.code().to_text();
    out.show(&json!({ "code": code }), || {
        format!(
            "{}\n{code}\n\nShow this to each custodian in person. They run \
             `tend custodians release CODE --out FILE` and give you the file; with enough, \
             run `tend custodians recover FILE… --backup BACKUP`.",
            crate::sharing_cmd::qr_code(&code).unwrap_or_default()
        )
    })
}

/// The request kept at `path`, and the passphrase that opened it.
fn load_request(path: &Path) -> CliResult<(RecoveryRequest, zeroize::Zeroizing<String>)> {
    let saved = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let passphrase = secrets::ask(secrets::VAULT_ENV, "New vault passphrase")?;
    let request = RecoveryRequest::load(&saved, &secrets::secret(&passphrase)).map_err(fail)?;
    Ok((request, passphrase))
}

fn recover(dir: &Path, releases: &[PathBuf], backup: &Path, out: &Output) -> CliResult {
    let path = dir.join(REQUEST_FILE);
    if !path.exists() {
        return Err(format!(
            "no recovery request in {}; run `tend custodians request` first",
            dir.display()
        ));
    }
    let (request, passphrase) = load_request(&path)?;
    let releases = releases
        .iter()
        .map(|p| std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display())))
        .collect::<CliResult<Vec<_>>>()?;
    let recovered = request.recover(&releases).map_err(fail)?;
    let set_aside = recovered.set_aside.len();
    for candidate in newest_first(backup)? {
        let file = std::fs::File::open(&candidate)
            .map_err(|e| format!("cannot read {}: {e}", candidate.display()))?;
        match restore(dir, file, &recovered.opener, &passphrase, out, set_aside) {
            Err(tend_core::Error::WrongKey) => continue, // sealed before this plan
            done => {
                done.map_err(fail)??;
                let _ = std::fs::remove_file(&path);
                return Ok(());
            }
        }
    }
    Err("the key your custodians rebuilt opens none of those backups".into())
}

fn restore(
    dir: &Path,
    backup: std::fs::File,
    opener: &OpenWith,
    passphrase: &str,
    out: &Output,
    set_aside: usize,
) -> tend_core::Result<CliResult> {
    crate::backup_cmd::restore_into(dir, backup, opener, passphrase, out, |name, summary| {
        let aside = match set_aside {
            0 => String::new(),
            n => format!(" {n} release(s) did not fit the others and were set aside."),
        };
        format!(
            "Welcome back, {name}: restored in {} from the backup made {}.{aside} Comrades \
             carry on with this vault without meeting again.",
            dir.display(),
            summary.made_at.format("%Y-%m-%d %H:%M UTC")
        )
    })
}

/// `path` itself, or the automatic backups in that folder, newest first.
fn newest_first(path: &Path) -> CliResult<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tendbackup"))
        .collect();
    found.sort();
    found.reverse();
    if found.is_empty() {
        return Err(format!("no .tendbackup file in {}", path.display()));
    }
    Ok(found)
}
