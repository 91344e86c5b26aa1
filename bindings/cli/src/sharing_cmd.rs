//! `tend card`, `tend comrades`, `tend safety-number`, `tend circles`,
//! `tend share` and `tend inbox`.

use std::io::Read;
use std::path::PathBuf;

use clap::Subcommand;
use serde::Serialize;
use tend_core::Vault;
use tend_core::comrades::{Added, Card, Comrade};
use tend_core::envelope::{InboxItem, Sealed, To};
use tend_core::journal::EntryId;
use tend_core::kinds;

use crate::output::Output;
use crate::{CliResult, fail, files};

#[derive(Subcommand)]
pub enum CardCommand {
    /// Rotate my encryption key and write a card update for every comrade
    Rotate {
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum ComradesCommand {
    /// Add a comrade from their card (the text, or - to read it from stdin)
    Add {
        card: String,
        /// What to call them [default: the name on the card]
        #[arg(long)]
        name: Option<String>,
    },
    /// Everyone I added
    List,
    /// After comparing safety numbers in person
    Verify {
        name: String,
    },
    Unverify {
        name: String,
    },
    Rename {
        name: String,
        new_name: String,
    },
    /// They receive nothing more, and what they send is refused
    Block {
        name: String,
    },
    Unblock {
        name: String,
    },
    /// Forget them and take them out of every circle
    Remove {
        name: String,
    },
    /// They have a new identity key (a new phone): take their new card
    Replace {
        name: String,
        card: String,
    },
}

#[derive(Subcommand)]
pub enum CirclesCommand {
    Create {
        name: String,
    },
    List,
    /// Add comrades to a circle
    Add {
        circle: String,
        #[arg(required = true)]
        comrades: Vec<String>,
    },
    /// Take a comrade out of a circle
    Remove {
        circle: String,
        comrade: String,
    },
    Rename {
        circle: String,
        new_name: String,
    },
    /// Delete the circle; its members stay comrades
    Delete {
        circle: String,
    },
}

#[derive(Subcommand)]
pub enum ShareCommand {
    /// Seal a journal entry to comrades or circles
    Entry {
        id: String,
        /// Comrade or circle names, comma-separated
        #[arg(long, required = true, value_delimiter = ',')]
        to: Vec<String>,
        /// A few words to go with it
        #[arg(long)]
        note: Option<String>,
        /// Write the armored envelope here instead of stdout
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum InboxCommand {
    /// Open an envelope (a file, or - for stdin) into the inbox
    Open {
        file: String,
        /// Where to write envelopes my vault seals in answer [default: stdout]
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// What I received, newest first
    List,
}

#[derive(Serialize)]
struct ComradeView {
    id: String,
    name: String,
    card_name: String,
    verified: bool,
    blocked: bool,
    identity_changed_at: Option<String>,
}

impl From<&Comrade> for ComradeView {
    fn from(c: &Comrade) -> Self {
        ComradeView {
            id: c.id.to_string(),
            name: c.name.clone(),
            card_name: c.card_name.clone(),
            verified: c.verified,
            blocked: c.blocked,
            identity_changed_at: c.identity_changed_at.map(|t| t.to_rfc3339()),
        }
    }
}

fn describe(c: &Comrade) -> String {
    let mut marks = vec![];
    if c.verified {
        marks.push("verified".to_owned());
    }
    if c.blocked {
        marks.push("blocked".to_owned());
    }
    if let Some(at) = c.identity_changed_at {
        marks.push(format!("identity changed {}", at.format("%Y-%m-%d")));
    }
    let card_name = if c.card_name != c.name {
        format!(" (calls themselves {})", c.card_name)
    } else {
        String::new()
    };
    format!(
        "{}{card_name}{}",
        c.name,
        if marks.is_empty() {
            String::new()
        } else {
            format!("  [{}]", marks.join(", "))
        }
    )
}

pub fn card(vault: &Vault, qr: bool, action: Option<CardCommand>, out: &Output) -> CliResult {
    match action {
        None => {
            let card = vault.comrades().my_card().map_err(fail)?;
            let text = card.to_text();
            if qr {
                println!("{}", qr_code(&text)?);
            }
            out.show(&serde_json::json!({ "card": text }), || text.clone())
        }
        Some(CardCommand::Rotate { out: path }) => {
            vault.comrades().rotate_encryption_key().map_err(fail)?;
            match vault.envelopes().seal_card_update() {
                Ok(sealed) => write_envelope(&sealed, path, out),
                Err(tend_core::Error::Invalid {
                    field: "recipients",
                    ..
                }) => out.done("New encryption key made. No comrades to tell yet."),
                Err(e) => Err(fail(e)),
            }
        }
    }
}

fn qr_code(text: &str) -> CliResult<String> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)
        .map_err(|e| format!("cannot draw the card as a QR code: {e}"))?;
    Ok(code
        .render::<qrcode::render::unicode::Dense1x2>()
        .quiet_zone(true)
        .build())
}

pub fn comrades(cmd: ComradesCommand, vault: &Vault, out: &Output) -> CliResult {
    let c = vault.comrades();
    let show = |comrade: &Comrade, verb: &str| {
        out.show(&ComradeView::from(comrade), || {
            format!("{verb}: {}", describe(comrade))
        })
    };
    match cmd {
        ComradesCommand::Add { card, name } => {
            let card = Card::parse(&read_arg(&card)?).map_err(fail)?;
            let added = c.add(&card, name.as_deref()).map_err(fail)?;
            let verb = match &added {
                Added::New(_) => "Added",
                Added::Updated(_) => "Updated",
                Added::Unchanged(_) => "Already a comrade, unchanged",
                Added::IdentityChanged(_) => "Identity changed",
            };
            show(added.comrade(), verb)?;
            if matches!(added, Added::New(_)) && !out.json {
                println!(
                    "Compare safety numbers in person: tend safety-number {:?}",
                    added.comrade().name
                );
            }
            Ok(())
        }
        ComradesCommand::List => {
            let list = c.list().map_err(fail)?;
            let views: Vec<ComradeView> = list.iter().map(ComradeView::from).collect();
            out.show(&views, || {
                if list.is_empty() {
                    "No comrades yet. Add one with: tend comrades add CARD".into()
                } else {
                    list.iter().map(describe).collect::<Vec<_>>().join("\n")
                }
            })
        }
        ComradesCommand::Verify { name } => show(
            &c.mark_verified(find(vault, &name)?.id).map_err(fail)?,
            "Verified",
        ),
        ComradesCommand::Unverify { name } => show(
            &c.mark_unverified(find(vault, &name)?.id).map_err(fail)?,
            "Unverified",
        ),
        ComradesCommand::Rename { name, new_name } => show(
            &c.rename(find(vault, &name)?.id, &new_name).map_err(fail)?,
            "Renamed",
        ),
        ComradesCommand::Block { name } => {
            show(&c.block(find(vault, &name)?.id).map_err(fail)?, "Blocked")
        }
        ComradesCommand::Unblock { name } => show(
            &c.unblock(find(vault, &name)?.id).map_err(fail)?,
            "Unblocked",
        ),
        ComradesCommand::Remove { name } => {
            c.remove(find(vault, &name)?.id).map_err(fail)?;
            out.done(&format!("Removed {name}."))
        }
        ComradesCommand::Replace { name, card } => {
            let card = Card::parse(&read_arg(&card)?).map_err(fail)?;
            let added = c
                .replace_identity(find(vault, &name)?.id, &card)
                .map_err(fail)?;
            show(added.comrade(), "Identity replaced; verify again")
        }
    }
}

pub fn safety_number(vault: &Vault, name: &str, out: &Output) -> CliResult {
    let comrade = find(vault, name)?;
    let number = vault.comrades().safety_number(comrade.id).map_err(fail)?;
    out.show(
        &serde_json::json!({ "comrade": comrade.name, "safety_number": number.digits() }),
        || {
            let groups = number.groups();
            format!(
                "Safety number with {}:\n  {}\n  {}\n  {}\nCompare it with theirs in person, then: tend comrades verify {:?}",
                comrade.name,
                groups[0..4].join(" "),
                groups[4..8].join(" "),
                groups[8..12].join(" "),
                comrade.name
            )
        },
    )
}

pub fn circles(cmd: CirclesCommand, vault: &Vault, out: &Output) -> CliResult {
    let c = vault.comrades();
    let circle = |name: &str| c.find_circle(name).map_err(fail);
    let comrade = |name: &str| find(vault, name).map(|c| c.id);
    let changed = match cmd {
        CirclesCommand::Create { name } => c.create_circle(&name).map_err(fail)?,
        CirclesCommand::Add {
            circle: name,
            comrades,
        } => {
            let mut circle = circle(&name)?;
            for member in comrades {
                circle = c
                    .add_to_circle(circle.id, comrade(&member)?)
                    .map_err(fail)?;
            }
            circle
        }
        CirclesCommand::Remove {
            circle: name,
            comrade: member,
        } => c
            .remove_from_circle(circle(&name)?.id, comrade(&member)?)
            .map_err(fail)?,
        CirclesCommand::Rename {
            circle: name,
            new_name,
        } => c
            .rename_circle(circle(&name)?.id, &new_name)
            .map_err(fail)?,
        CirclesCommand::Delete { circle: name } => {
            c.delete_circle(circle(&name)?.id).map_err(fail)?;
            return out.done(&format!(
                "Deleted the circle {name}; its members are still your comrades."
            ));
        }
        CirclesCommand::List => {
            let names = |ids: &[tend_core::comrades::ComradeId]| -> CliResult<Vec<String>> {
                ids.iter()
                    .map(|id| c.get(*id).map(|m| m.name).map_err(fail))
                    .collect()
            };
            let list = c.circles().map_err(fail)?;
            let views = list
                .iter()
                .map(|circle| Ok(serde_json::json!({ "name": circle.name, "members": names(&circle.members)? })))
                .collect::<CliResult<Vec<_>>>()?;
            return out.show(&views, || {
                if views.is_empty() {
                    return "No circles yet. Make one with: tend circles create NAME".into();
                }
                views
                    .iter()
                    .map(|v| {
                        format!(
                            "{}: {}",
                            v["name"].as_str().unwrap_or_default(),
                            v["members"]
                                .as_array()
                                .map(|m| m
                                    .iter()
                                    .filter_map(|x| x.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", "))
                                .unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    };
    out.done(&format!(
        "{}: {} members",
        changed.name,
        changed.members.len()
    ))
}

pub fn share(cmd: ShareCommand, vault: &Vault, out: &Output) -> CliResult {
    match cmd {
        ShareCommand::Entry {
            id,
            to,
            note,
            out: path,
        } => {
            let id: EntryId = id.parse().map_err(fail)?;
            let to = recipients(vault, &to)?;
            let sealed = vault
                .journal()
                .share(id, &to, note.as_deref())
                .map_err(fail)?;
            write_envelope(&sealed, path, out)
        }
    }
}

pub fn inbox(cmd: InboxCommand, vault: &Vault, out: &Output) -> CliResult {
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
            let about = crate::care_cmd::describe_opened(vault, &opened);
            out.show(
                &serde_json::json!({ "from": opened.sender.name, "kind": opened.kind, "message_id": opened.message_id.to_string() }),
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
        InboxCommand::List => {
            let items = vault.envelopes().inbox(None).map_err(fail)?;
            let shared = vault.journal().shared_with_me().map_err(fail)?;
            let views: Vec<_> = items
                .iter()
                .map(|i| serde_json::json!({ "from": i.opened.sender.name, "kind": i.opened.kind, "received_at": i.received_at.to_rfc3339(), "message_id": i.opened.message_id.to_string() }))
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
        item.received_at.format("%Y-%m-%d %H:%M"),
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

/// Names of comrades or circles; a comrade wins when both have a name.
pub fn recipients(vault: &Vault, names: &[String]) -> CliResult<Vec<To>> {
    names
        .iter()
        .map(|name| {
            let name = name.trim();
            match vault.comrades().find(name) {
                Ok(c) => Ok(To::Comrade(c.id)),
                Err(tend_core::Error::NotFound { .. }) => {
                    match vault.comrades().find_circle(name) {
                        Ok(circle) => Ok(To::Circle(circle.id)),
                        Err(tend_core::Error::NotFound { .. }) => {
                            Err(format!("no comrade or circle called {name:?}"))
                        }
                        Err(e) => Err(fail(e)),
                    }
                }
                Err(e) => Err(fail(e)),
            }
        })
        .collect()
}

fn find(vault: &Vault, name: &str) -> CliResult<Comrade> {
    match vault.comrades().find(name) {
        Err(tend_core::Error::NotFound { .. }) => Err(format!("no comrade called {name:?}")),
        other => other.map_err(fail),
    }
}

fn read_arg(arg: &str) -> CliResult<String> {
    if arg != "-" {
        return Ok(arg.to_owned());
    }
    let mut text = String::new();
    std::io::stdin()
        .take(8192)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    Ok(text)
}

fn write_envelope(sealed: &Sealed, path: Option<PathBuf>, out: &Output) -> CliResult {
    let armored = sealed.armored();
    let names = recipient_names(sealed);
    match path {
        Some(path) => {
            files::write_bytes(&path, armored.as_bytes())?;
            out.done(&format!("Sealed for {names} in {}", path.display()))
        }
        None => {
            eprintln!("Sealed for {names}:");
            out.show(
                &serde_json::json!({ "envelope": armored, "to": names }),
                || armored.trim_end().to_owned(),
            )
        }
    }
}

/// Several envelopes, each for its own recipients: into `dir` as
/// `<message id>.tend`, or armored on stdout one after another.
pub fn write_envelopes(sealed: &[Sealed], dir: Option<PathBuf>, out: &Output) -> CliResult {
    let Some(dir) = dir else {
        for s in sealed {
            write_envelope(s, None, out)?;
        }
        return Ok(());
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    let mut written = Vec::new();
    for s in sealed {
        let path = dir.join(format!("{}.tend", s.message_id));
        files::write_bytes(&path, s.armored().as_bytes())?;
        written.push((recipient_names(s), path));
    }
    let views: Vec<_> = written
        .iter()
        .map(|(to, path)| serde_json::json!({ "to": to, "file": path }))
        .collect();
    out.show(&views, || {
        written
            .iter()
            .map(|(to, path)| format!("Sealed for {to} in {}", path.display()))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

fn recipient_names(sealed: &Sealed) -> String {
    let names: Vec<&str> = sealed.recipients.iter().map(|r| r.name.as_str()).collect();
    names.join(", ")
}
