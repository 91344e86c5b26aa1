//! `tend inbox`: opening envelopes of every kind, and what I received.

use std::io::Read;
use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use clap::Subcommand;
use tend_core::Vault;
use tend_core::envelope::{InboxItem, Sealed};
use tend_core::kinds;

use crate::output::Output;
use crate::render::write_envelopes;
use crate::{CliResult, fail};

#[derive(Subcommand)]
pub enum InboxCommand {
    /// Open an envelope (a file, or - for stdin) into the inbox
    Open {
        file: String,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// What I received, newest first
    List,
    /// Delete one item for good: MESSAGE_ID as `tend --json inbox list` shows it
    Delete { message_id: String },
    /// Delete the journal entries comrades shared with me that arrived longer ago than --older-than
    ClearShared {
        /// How long ago: 90m, 12h, 30d
        #[arg(long, value_name = "DURATION")]
        older_than: String,
    },
}

pub fn run(cmd: InboxCommand, vault: &Vault, out: &Output) -> CliResult {
    match cmd {
        InboxCommand::Open { file, out: dir } => {
            let bytes = if file == "-" {
                let mut buf = vec![];
                std::io::stdin()
                    .take(tend_core::envelope::MAX_ARMORED_BYTES as u64 + 1)
                    .read_to_end(&mut buf)
                    .map_err(|e| e.to_string())?;
                buf
            } else {
                std::fs::read(&file).map_err(|e| format!("cannot read {file}: {e}"))?
            };
            let opened = vault.envelopes().open(&bytes).map_err(fail)?;
            let gathering = vault.gatherings().about(&opened).map_err(fail)?;
            let about = crate::care_cmd::describe_opened(vault, &opened)
                .or_else(|| gathering.as_ref().map(crate::gatherings_cmd::describe))
                .or_else(|| crate::collective_cmd::describe_opened(vault, &opened))
                .or_else(|| crate::pulse_cmd::describe_opened(vault, &opened));
            out.show(
                &serde_json::json!({
                    "from": opened.sender.name,
                    "kind": opened.kind,
                    "message_id": opened.message_id.to_string(),
                    "gathering": gathering.as_ref().map(|g| g.id.to_string()),
                }),
                || {
                    let head = format!("Opened a {} from {}.", opened.kind, opened.sender.name);
                    match &about {
                        Some(about) => format!("{head}\n{about}"),
                        None => head,
                    }
                },
            )?;
            if opened.replies.is_empty() {
                return Ok(());
            }
            let replies: Vec<Sealed> = vault
                .envelopes()
                .outbox()
                .map_err(fail)?
                .into_iter()
                .filter(|o| opened.replies.contains(&o.sealed.message_id))
                .map(|o| o.sealed)
                .collect();
            eprintln!("Your vault sealed {} in answer:", replies.len());
            write_envelopes(&replies, dir, out)
        }
        InboxCommand::Delete { message_id } => {
            let id = message_id.parse().map_err(fail)?;
            vault.envelopes().delete_from_inbox(id).map_err(fail)?;
            out.done("Deleted from the inbox. If the same envelope comes again, it is refused.")
        }
        InboxCommand::ClearShared { older_than } => {
            let age = crate::args::duration(&older_than)?;
            let gone = vault
                .journal()
                .clear_shared_before(chrono::Utc::now() - age)
                .map_err(fail)?;
            out.done(&format!(
                "Deleted {} shared with you before then.",
                crate::output::count(gone, "entry", "entries")
            ))
        }
        InboxCommand::List => {
            let items = vault.envelopes().inbox(None).map_err(fail)?;
            let shared = vault.journal().shared_with_me().map_err(fail)?;
            let views: Vec<_> = items
                .iter()
                .map(|i| {
                    let text = std::str::from_utf8(&i.opened.body).ok();
                    serde_json::json!({
                        "from": i.opened.sender.name,
                        "kind": i.opened.kind,
                        "received_at": i.received_at.to_rfc3339(),
                        "message_id": i.opened.message_id.to_string(),
                        // Tend's kinds are JSON text; an app's own kind may be bytes.
                        "body": text,
                        "body_base64": text.is_none().then(|| BASE64.encode(&i.opened.body)),
                    })
                })
                .collect();
            out.show(&views, || {
                if items.is_empty() {
                    return "The inbox is empty.".into();
                }
                items
                    .iter()
                    .map(|i| describe_item(i, &shared))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
    }
}

fn describe_item(item: &InboxItem, shared: &[tend_core::journal::SharedEntry]) -> String {
    let head = format!(
        "{}  from {}",
        crate::render::local(item.received_at),
        item.opened.sender.name
    );
    match shared
        .iter()
        .find(|s| s.message_id == item.opened.message_id)
    {
        Some(s) if item.opened.kind == kinds::JOURNAL_ENTRY => {
            let note = s
                .note
                .as_ref()
                .map(|n| format!("\n  “{n}”"))
                .unwrap_or_default();
            format!(
                "{head}: a journal entry of {}{note}\n  {}",
                s.written_at.format("%Y-%m-%d"),
                s.body
            )
        }
        _ => format!(
            "{head}: {} ({} bytes)",
            item.opened.kind,
            item.opened.body.len()
        ),
    }
}
