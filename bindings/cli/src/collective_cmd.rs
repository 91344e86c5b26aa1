//! `tend collective ...`: the collectives I belong to, their members,
//! stewards and agreements. Changes go to the members as envelopes, by
//! `tend sync` or `--out`.

use std::path::PathBuf;

use clap::Subcommand;
use serde::Serialize;
use tend_core::Vault;
use tend_core::collective::{Collective, MadeChange, Member, STARTER_AGREEMENTS};
use tend_core::envelope::Opened;

use crate::args::{collective, find};
use crate::output::{Output, count};
use crate::render::sent;
use crate::{CliResult, fail};

#[derive(Subcommand)]
pub enum CollectiveCommand {
    /// Found a collective: you are its first member and steward
    Create {
        name: String,
        /// Its first agreements [default: the restorative gathering's, from the zine]
        #[arg(long, conflicts_with = "no_agreements")]
        agreements: Option<String>,
        /// Start without agreements
        #[arg(long)]
        no_agreements: bool,
    },
    /// The collectives you belong to
    List,
    /// A collective: its members, stewards and agreements, in numbers
    Show { name: String },
    /// Who is a member (stewards first)
    Members { name: String },
    /// A steward adds comrades as members; they are sent the collective
    Add {
        name: String,
        #[arg(required = true)]
        comrades: Vec<String>,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// A steward removes a member; they are sent nothing more
    Remove {
        name: String,
        comrade: String,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// Leave the collective; this vault forgets it
    Leave {
        name: String,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// Vouch for a visitor you hold the card of; only the stewards learn it was you
    Vouch {
        name: String,
        visitor: String,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// A steward admits a visitor (any comrade) directly
    Admit {
        name: String,
        visitor: String,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// A steward renames it
    Rename {
        name: String,
        new_name: String,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// A steward changes its settings: when to review the agreements, and
    /// whether visitors must have come to a gathering before vouches admit them
    Settings {
        name: String,
        /// Review the agreements on this day (YYYY-MM-DD): every member is reminded
        #[arg(long, conflicts_with = "no_review")]
        review_on: Option<chrono::NaiveDate>,
        /// No review day
        #[arg(long)]
        no_review: bool,
        /// Vouches admit a visitor only after a gathering they said they would come to
        #[arg(long)]
        gathering_required: Option<bool>,
        /// The relays members are asked to receive on (repeat it; replaces the list)
        #[arg(long = "relay", conflicts_with = "no_relays")]
        relays: Vec<String>,
        /// Ask members to use no particular relays
        #[arg(long)]
        no_relays: bool,
        /// A pulse shows totals only once this many answered (3 or more)
        #[arg(long)]
        pulse_threshold: Option<u8>,
        /// Steps of the collective's mood scale, 3 to 10
        #[arg(long)]
        mood_steps: Option<u8>,
        /// A steward's vault starts a pulse each month by itself
        #[arg(long)]
        monthly_pulse: Option<bool>,
        /// Days greeting-round lines are kept after their gathering, 1 to 365
        #[arg(long)]
        rounds_kept_days: Option<u16>,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// Receive on the relays the collective asks its members to use, too
    UseRelays { name: String },
    /// Make or unmake a steward
    Steward {
        #[command(subcommand)]
        action: StewardCommand,
    },
    /// Read, accept or propose the agreements
    Agreements {
        #[command(subcommand)]
        action: AgreementsCommand,
    },
    /// How the collective is doing: private answers, totals only
    Pulse {
        #[command(subcommand)]
        action: crate::pulse_cmd::PulseCommand,
    },
}

#[derive(Subcommand)]
pub enum StewardCommand {
    /// Make a member a steward
    Add {
        name: String,
        comrade: String,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// A steward no longer (a collective keeps at least one)
    Remove {
        name: String,
        comrade: String,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum AgreementsCommand {
    /// The current agreements, and how many have not accepted them
    Show { name: String },
    /// Accept the current agreements
    Accept {
        name: String,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// A steward proposes the next version (and accepts it)
    Propose {
        name: String,
        /// The whole text of the new version
        #[arg(long)]
        text: String,
        /// Ask every member to accept again
        #[arg(long)]
        major: bool,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
}

#[derive(Serialize)]
struct CollectiveView {
    id: String,
    name: String,
    members: u32,
    stewards: u32,
    i_am_member: bool,
    i_am_steward: bool,
    agreements: Option<AgreementsView>,
    joined_at: String,
    waiting: u32,
    settings: SettingsView,
}

#[derive(Serialize)]
struct SettingsView {
    relays: Vec<String>,
    review_agreements_on: Option<String>,
    gathering_required: bool,
    pulse_threshold: u8,
    mood_steps: u8,
    monthly_pulse: bool,
    rounds_kept_days: u16,
}

#[derive(Serialize)]
struct AgreementsView {
    version: u32,
    major_version: u32,
    text: String,
    i_accepted: bool,
    not_yet_accepted: u32,
}

#[derive(Serialize)]
struct MemberView {
    name: String,
    identity_key: String,
    me: bool,
    steward: bool,
    verified: bool,
    comrade: bool,
}

fn view(c: &Collective) -> CollectiveView {
    CollectiveView {
        id: c.id.to_string(),
        name: c.name.clone(),
        members: c.members,
        stewards: c.stewards,
        i_am_member: c.i_am_member,
        i_am_steward: c.i_am_steward,
        agreements: c.agreements.as_ref().map(|a| AgreementsView {
            version: a.version,
            major_version: a.major_version,
            text: a.text.clone(),
            i_accepted: a.i_accepted,
            not_yet_accepted: a.not_yet_accepted,
        }),
        joined_at: c.joined_at.to_rfc3339(),
        waiting: c.waiting,
        settings: SettingsView {
            relays: c
                .settings
                .relays
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
            review_agreements_on: c.settings.review_agreements_on.map(|d| d.to_string()),
            gathering_required: c.settings.gathering_required,
            pulse_threshold: c.settings.pulse.threshold,
            mood_steps: c.settings.pulse.mood_steps,
            monthly_pulse: c.settings.pulse.monthly,
            rounds_kept_days: c.settings.round_kept_days,
        },
    }
}

fn member_view(m: &Member) -> MemberView {
    MemberView {
        name: m.name.clone(),
        identity_key: hex::encode(m.identity_key.as_bytes()),
        me: m.me,
        steward: m.steward,
        verified: m.verified,
        comrade: m.comrade.is_some(),
    }
}

fn summary(c: &Collective) -> String {
    let role = match (c.i_am_member, c.i_am_steward) {
        (_, true) => "you are a steward",
        (true, false) => "you are a member",
        (false, false) => "you are no longer a member",
    };
    let agreements = match &c.agreements {
        None => "no agreements yet".to_owned(),
        Some(a) => format!(
            "agreements version {}{}, {} not yet accepted",
            a.version,
            if a.i_accepted {
                " (accepted by you)"
            } else {
                ""
            },
            a.not_yet_accepted
        ),
    };
    let agreements = match c.settings.review_agreements_on {
        Some(day) => format!("{agreements}, to be reviewed on {day}"),
        None => agreements,
    };
    let agreements = match c.settings.gathering_required {
        true => format!("{agreements}; visitors come to a gathering before vouches admit them"),
        false => agreements,
    };
    format!(
        "{} ({}): {}, {}; {role}; {agreements}",
        c.name,
        c.id,
        count(c.members, "member", "members"),
        count(c.stewards, "steward", "stewards"),
    )
}

/// What an opened collective envelope leaves the collective as.
pub fn describe_opened(vault: &Vault, opened: &Opened) -> Option<String> {
    let id = tend_core::collective::collective_of(opened)?;
    if let Ok(c) = vault.collectives().get(id) {
        return Some(summary(&c));
    }
    let visits = vault.collectives().visits().ok()?;
    let visit = visits.iter().find(|v| v.collective == id)?;
    let gatherings = vault.gatherings().list().ok()?;
    Some(crate::visitor_cmd::describe(visit, &gatherings))
}

fn made(made: MadeChange, dir: Option<PathBuf>, out: &Output) -> CliResult {
    eprintln!("{}", summary(&made.collective));
    sent(&made.sealed, dir, out)
}

pub fn run(cmd: CollectiveCommand, vault: &Vault, out: &Output) -> CliResult {
    let collectives = vault.collectives();
    match cmd {
        CollectiveCommand::Create {
            name,
            agreements,
            no_agreements,
        } => {
            let text = match (no_agreements, &agreements) {
                (true, _) => None,
                (false, Some(t)) => Some(t.as_str()),
                (false, None) => Some(STARTER_AGREEMENTS),
            };
            let c = collectives.create(&name, text).map_err(fail)?;
            out.show(&view(&c), || format!("Founded {}", summary(&c)))
        }
        CollectiveCommand::List => {
            let all = collectives.list().map_err(fail)?;
            let views: Vec<_> = all.iter().map(view).collect();
            out.show(&views, || {
                if all.is_empty() {
                    return "You belong to no collective yet.".into();
                }
                all.iter().map(summary).collect::<Vec<_>>().join("\n")
            })
        }
        CollectiveCommand::Show { name } => {
            let c = collective(vault, &name)?;
            out.show(&view(&c), || summary(&c))
        }
        CollectiveCommand::Members { name } => {
            let c = collective(vault, &name)?;
            let members = collectives.members(c.id).map_err(fail)?;
            let views: Vec<_> = members.iter().map(member_view).collect();
            out.show(&views, || {
                members
                    .iter()
                    .map(|m| {
                        let mut marks = Vec::new();
                        if m.steward {
                            marks.push("steward");
                        }
                        if !m.me && m.verified {
                            marks.push("verified");
                        }
                        if !m.me && m.comrade.is_none() {
                            marks.push("no card yet");
                        }
                        match marks.is_empty() {
                            true => m.name.clone(),
                            false => format!("{} ({})", m.name, marks.join(", ")),
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        CollectiveCommand::Add {
            name,
            comrades,
            out: dir,
        } => {
            let c = collective(vault, &name)?;
            let ids = comrades
                .iter()
                .map(|n| find(vault, n).map(|c| c.id))
                .collect::<CliResult<Vec<_>>>()?;
            made(collectives.add_members(c.id, &ids).map_err(fail)?, dir, out)
        }
        CollectiveCommand::Remove {
            name,
            comrade,
            out: dir,
        } => {
            let c = collective(vault, &name)?;
            let who = find(vault, &comrade)?.id;
            made(
                collectives.remove_member(c.id, who).map_err(fail)?,
                dir,
                out,
            )
        }
        CollectiveCommand::Leave { name, out: dir } => {
            let c = collective(vault, &name)?;
            let sealed = collectives.leave(c.id).map_err(fail)?;
            eprintln!("You left {}; this vault no longer keeps it.", c.name);
            sent(&sealed, dir, out)
        }
        CollectiveCommand::Vouch {
            name,
            visitor,
            out: dir,
        } => {
            let c = collective(vault, &name)?;
            let who = find(vault, &visitor)?.id;
            let sealed = collectives.vouch(c.id, who).map_err(fail)?;
            eprintln!(
                "You vouched for {visitor}; {} need {}.",
                c.name,
                tend_core::collective::vouches_needed(c.members as usize)
            );
            sent(&sealed, dir, out)
        }
        CollectiveCommand::Admit {
            name,
            visitor,
            out: dir,
        } => {
            let c = collective(vault, &name)?;
            let who = find(vault, &visitor)?.id;
            made(collectives.admit(c.id, who).map_err(fail)?, dir, out)
        }
        CollectiveCommand::Settings {
            name,
            review_on,
            no_review,
            gathering_required,
            relays,
            no_relays,
            pulse_threshold,
            mood_steps,
            monthly_pulse,
            rounds_kept_days,
            out: dir,
        } => {
            let c = collective(vault, &name)?;
            let mut settings = c.settings;
            let pulse = &mut settings.pulse;
            pulse.threshold = pulse_threshold.unwrap_or(pulse.threshold);
            pulse.mood_steps = mood_steps.unwrap_or(pulse.mood_steps);
            pulse.monthly = monthly_pulse.unwrap_or(pulse.monthly);
            settings.round_kept_days = rounds_kept_days.unwrap_or(settings.round_kept_days);
            if !relays.is_empty() || no_relays {
                settings.relays = relays
                    .iter()
                    .map(|r| tend_core::delivery::RelayUrl::parse(r))
                    .collect::<Result<_, _>>()
                    .map_err(fail)?;
            }
            if review_on.is_some() || no_review {
                settings.review_agreements_on = review_on;
            }
            settings.gathering_required = gathering_required.unwrap_or(settings.gathering_required);
            made(
                collectives.set_settings(c.id, &settings).map_err(fail)?,
                dir,
                out,
            )
        }
        CollectiveCommand::UseRelays { name } => {
            let c = collective(vault, &name)?;
            let added = vault.delivery().use_collective_relays(c.id).map_err(fail)?;
            let added: Vec<&str> = added.iter().map(|r| r.as_str()).collect();
            out.show(&serde_json::json!({ "added": added }), || {
                match added.is_empty() {
                    true => format!("You already receive on every relay {} asks for.", c.name),
                    false => format!(
                        "Now receiving on {} too; your comrades are sent your new card.",
                        added.join(", ")
                    ),
                }
            })
        }
        CollectiveCommand::Rename {
            name,
            new_name,
            out: dir,
        } => {
            let c = collective(vault, &name)?;
            made(collectives.rename(c.id, &new_name).map_err(fail)?, dir, out)
        }
        CollectiveCommand::Steward { action } => {
            let (name, comrade, dir, add) = match action {
                StewardCommand::Add { name, comrade, out } => (name, comrade, out, true),
                StewardCommand::Remove { name, comrade, out } => (name, comrade, out, false),
            };
            let c = collective(vault, &name)?;
            let who = find(vault, &comrade)?.id;
            let change = if add {
                collectives.add_steward(c.id, who)
            } else {
                collectives.remove_steward(c.id, who)
            };
            made(change.map_err(fail)?, dir, out)
        }
        CollectiveCommand::Pulse { action } => crate::pulse_cmd::run(action, vault, out),
        CollectiveCommand::Agreements { action } => match action {
            AgreementsCommand::Show { name } => {
                let c = collective(vault, &name)?;
                let view = view(&c);
                out.show(&view.agreements, || match &c.agreements {
                    None => format!("{} has no agreements yet.", c.name),
                    Some(a) => format!(
                        "{} agreements, version {} ({} not yet accepted{}):\n\n{}",
                        c.name,
                        a.version,
                        a.not_yet_accepted,
                        if a.i_accepted {
                            "; you accepted them"
                        } else {
                            "; you have not accepted them"
                        },
                        a.text
                    ),
                })
            }
            AgreementsCommand::Accept { name, out: dir } => {
                let c = collective(vault, &name)?;
                made(collectives.accept_agreements(c.id).map_err(fail)?, dir, out)
            }
            AgreementsCommand::Propose {
                name,
                text,
                major,
                out: dir,
            } => {
                let c = collective(vault, &name)?;
                let change = collectives.propose_agreements(c.id, &text, major);
                made(change.map_err(fail)?, dir, out)
            }
        },
    }
}
