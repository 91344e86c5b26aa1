//! `tend custodians`: recovery through comrades.

use clap::Subcommand;
use serde_json::json;
use tend_core::Vault;

use crate::output::Output;
use crate::{CliResult, args, fail};

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
}

pub fn custodians(cmd: CustodiansCommand, vault: &Vault, out: &Output) -> CliResult {
    match cmd {
        CustodiansCommand::Choose {
            threshold,
            comrades,
            out: dir,
        } => {
            let ids = comrades
                .iter()
                .map(|name| args::find(vault, name).map(|c| c.id))
                .collect::<CliResult<Vec<_>>>()?;
            let chosen = vault.custody().choose(threshold, &ids).map_err(fail)?;
            if dir.is_some() {
                return crate::render::write_envelopes(&chosen.sealed, dir, out);
            }
            out.done(&format!(
                "A new backup key, split among {} comrades: any {threshold} of them can open \
                 your automatic backups from now on. Their shares go with your next sync.",
                chosen.status.custodians.len()
            ))
        }
        CustodiansCommand::Status => {
            let status = vault.custody().status().map_err(fail)?;
            let shown = status.as_ref().map(|s| {
                json!({
                    "threshold": s.threshold,
                    "recoverable": s.recoverable(),
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
                        if s.recoverable() {
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
