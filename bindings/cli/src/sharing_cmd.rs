//! `tend card`, `tend comrades`, `tend safety-number`, `tend circles` and
//! `tend share`.

use std::io::Read;
use std::path::PathBuf;

use clap::Subcommand;
use serde::Serialize;
use tend_core::Vault;
use tend_core::comrades::{Added, Card, Comrade, VisitRole};
use tend_core::identity::{RecoveryKey, Replacement};
use tend_core::journal::EntryId;

use crate::args::{find, recipients};
use crate::output::Output;
use crate::render::write_envelope;
use crate::{CliResult, fail};

#[derive(Subcommand)]
pub enum CardCommand {
    /// Rotate my encryption key and write a card update for every comrade
    Rotate {
        /// Write the armored envelope into this file [default: stdout]
        #[arg(long, value_parser = crate::args::out_file)]
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
    /// After meeting in person, end an identity conflict: take the card
    /// their phone shows now (the text, or - to read it from stdin)
    Resolve {
        name: String,
        card: String,
    },
    /// Take a comrade's replacement statement (TENDR:…, or - for stdin),
    /// made with their recovery key after their phone was lost or taken:
    /// their new identity replaces the old, which is refused from then on
    Recover {
        statement: String,
    },
}

/// The recovery key: twelve words on paper that take my identity back
#[derive(Subcommand)]
pub enum RecoveryCommand {
    /// Whether it is set up; for a vault from before recovery keys, sets it
    /// up and prints its words once
    Show,
    /// On a new phone: the statement that this vault's identity replaces the
    /// old one, signed with the old one's words (TEND_RECOVERY_WORDS or a
    /// prompt). Give it to each comrade by any channel
    Replace,
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
        /// Comrades to add, by the names you gave them
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
        /// Write the armored envelope into this file [default: stdout]
        #[arg(long, value_parser = crate::args::out_file)]
        out: Option<PathBuf>,
    },
}

#[derive(Serialize)]
struct ComradeView {
    id: String,
    name: String,
    card_name: String,
    verified: bool,
    blocked: bool,
    identity_changed_at: Option<String>,
    identity_conflict_at: Option<String>,
    /// Who gave me their card, and in which collective, when I did not add them myself.
    introduced_by: Option<String>,
    introduced_in: Option<String>,
    /// Met through a visitor pass: the collective, and "visitor" or "host".
    visit: Option<String>,
    visit_role: Option<&'static str>,
    /// What goes to them through relays is sealed post-quantum.
    post_quantum: bool,
    /// When they took their identity back with their recovery key.
    recovered_at: Option<String>,
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
            identity_conflict_at: c.identity_conflict_at.map(|t| t.to_rfc3339()),
            introduced_by: c.introduced.as_ref().map(|i| i.by_name.clone()),
            introduced_in: c.introduced.as_ref().map(|i| i.collective.clone()),
            visit: c.visit.as_ref().map(|v| v.collective.clone()),
            visit_role: c.visit.as_ref().map(|v| match v.role {
                VisitRole::Visitor => "visitor",
                VisitRole::Host => "host",
            }),
            post_quantum: c.post_quantum,
            recovered_at: c.recovered_at.map(|t| t.to_rfc3339()),
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
    if let Some(i) = &c.introduced
        && !c.verified
    {
        marks.push(format!(
            "introduced by {} in {}, not verified",
            i.by_name, i.collective
        ));
    }
    if let Some(v) = &c.visit {
        marks.push(match v.role {
            VisitRole::Visitor => format!("visiting {} with your pass", v.collective),
            VisitRole::Host => format!("invited you to visit {}", v.collective),
        });
    }
    if let Some(at) = c.identity_changed_at {
        marks.push(format!("identity changed {}", at.format("%Y-%m-%d")));
    }
    if let Some(at) = c.recovered_at {
        marks.push(format!(
            "new phone {}: identity taken back with their recovery key",
            at.format("%Y-%m-%d")
        ));
    }
    if let Some(at) = c.identity_conflict_at {
        marks.push(format!(
            "IDENTITY CONFLICT since {}: meet them, then tend comrades resolve",
            at.format("%Y-%m-%d")
        ));
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
                crate::output::print_line(&qr_code(&text)?)?;
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

pub fn qr_code(text: &str) -> CliResult<String> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)
        .map_err(|e| format!("cannot draw it as a QR code: {e}"))?;
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
            let known = c.list().map_err(fail)?;
            let stranger = !known.iter().any(|k| k.identity_key == card.identity_key());
            let same_name = |n: &str| n.eq_ignore_ascii_case(card.name().trim());
            if stranger {
                // Someone new who carries a name I already know may be posing as them.
                if let Some(namesake) = known
                    .iter()
                    .find(|k| same_name(&k.name) || same_name(&k.card_name))
                {
                    if name.is_none() {
                        return Err(format!(
                            "this card is not {0:?}'s, though it carries that name: it may be \
                             someone posing as them. If {0} has a new phone, compare safety \
                             numbers in person and use `tend comrades replace {0:?} CARD`; if it \
                             is someone else, add it with --name",
                            namesake.name
                        ));
                    }
                    eprintln!(
                        "Warning: this card carries the name of your comrade {:?} but is not \
                         theirs. Compare safety numbers in person before sharing anything.",
                        namesake.name
                    );
                }
                if vault
                    .display_name()
                    .map_err(fail)?
                    .is_some_and(|me| same_name(&me))
                {
                    eprintln!(
                        "Warning: this card carries your own name. Someone may be posing as \
                         you; compare safety numbers in person before sharing anything."
                    );
                }
            }
            let added = c.add(&card, name.as_deref()).map_err(fail)?;
            let verb = match &added {
                Added::New(_) => "Added",
                Added::Updated(_) => "Updated",
                Added::Unchanged(_) => "Already a comrade, unchanged",
                Added::IdentityChanged(_) => "Identity changed",
                Added::IdentityConflict(_) => {
                    "Identity conflict: this card forks from the one you hold. Someone else \
                     may hold their identity key; nothing from them opens until you meet and \
                     run tend comrades resolve"
                }
            };
            show(added.comrade(), verb)?;
            if matches!(added, Added::New(_)) && !out.json {
                crate::output::print_line(&format!(
                    "Compare safety numbers in person: tend safety-number {:?}",
                    added.comrade().name
                ))?;
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
        ComradesCommand::Resolve { name, card } => {
            let card = Card::parse(&read_arg(&card)?).map_err(fail)?;
            let resolved = c
                .resolve_conflict(find(vault, &name)?.id, &card)
                .map_err(fail)?;
            show(&resolved, "Conflict resolved; verified")
        }
        ComradesCommand::Recover { statement } => {
            let statement =
                Replacement::parse(&read_arg(&statement)?).map_err(|e| fail(e.into()))?;
            let recovered = c.accept_replacement(&statement).map_err(fail)?;
            show(
                &recovered,
                "Took their new identity, signed with their recovery key",
            )
        }
    }
}

/// What to print of a recovery key just set up: its words, once.
pub fn recovery_words(key: &RecoveryKey) -> (serde_json::Value, String) {
    let words = key.words();
    (
        serde_json::json!({ "recovery_words": words.as_str() }),
        format!(
            "Your recovery key, twelve words. Write them down now and keep them away from \
             this phone; Tend does not keep them. With them, comrades take your identity \
             back from whoever takes this phone:\n\n    {}\n",
            words.as_str()
        ),
    )
}

pub fn recovery(cmd: RecoveryCommand, vault: &Vault, out: &Output) -> CliResult {
    match cmd {
        RecoveryCommand::Show => match vault.recovery_set_up_at().map_err(fail)? {
            Some(at) => out.show(&serde_json::json!({ "set_up_at": at.to_rfc3339() }), || {
                format!(
                    "A recovery key was set up on {}. Tend does not keep its words.",
                    at.format("%Y-%m-%d")
                )
            }),
            None => {
                let key = vault.set_up_recovery().map_err(fail)?;
                let (json, text) = recovery_words(&key);
                out.show(&json, || text)
            }
        },
        RecoveryCommand::Replace => {
            let words = crate::secrets::ask(crate::secrets::RECOVERY_ENV, "Old recovery words")?;
            let statement = vault.replacement_statement(&words).map_err(fail)?;
            let text = statement.to_text();
            out.show(&serde_json::json!({ "statement": text }), || {
                format!(
                    "Give this to each comrade, by any channel; `tend comrades recover` takes it:\n{text}"
                )
            })
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
            let circle = circle(&name)?;
            let members = comrades
                .iter()
                .map(|m| comrade(m))
                .collect::<CliResult<Vec<_>>>()?;
            c.add_all_to_circle(circle.id, &members).map_err(fail)?
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
        "{}: {}",
        changed.name,
        crate::output::count(changed.members.len() as u64, "member", "members")
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
