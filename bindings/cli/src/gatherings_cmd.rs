//! `tend gatherings ...`

use std::collections::HashSet;
use std::path::PathBuf;
use std::str::FromStr;

use chrono::{Duration, Local, Utc};
use clap::Subcommand;
use serde::Serialize;
use tend_core::Vault;
use tend_core::gatherings::{
    AttendanceTotals, Gathering, GatheringId, GatheringKind, NewGathering, Occurrence, Reminder,
    ReminderOffset, Rsvp, Said,
};

use crate::args::recipients;
use crate::args::{local_time, system_time_zone};
use crate::output::Output;
use crate::render::write_envelopes;
use crate::{CliResult, fail};

#[derive(Subcommand)]
pub enum GatheringsCommand {
    /// Add a gathering, or the monthly restorative gathering with --preset
    /// (whose title, kind, length, rule, reminders and description any of
    /// these options replace)
    Add {
        /// Start from a preset
        #[arg(long, value_enum)]
        preset: Option<Preset>,
        /// What it is called
        #[arg(long, required_unless_present = "preset")]
        title: Option<String>,
        /// [default: meeting; preset: restorative]
        #[arg(long, value_enum)]
        kind: Option<Kind>,
        /// Local start of the first one, e.g. 2026-12-05T18:00 [preset: the next first Saturday]
        #[arg(long, required_unless_present = "preset")]
        start: Option<String>,
        /// IANA time zone [default: this computer's]
        #[arg(long)]
        tz: Option<String>,
        /// Length in minutes [default: 120]
        #[arg(long)]
        minutes: Option<u32>,
        /// An RFC 5545 RRULE, e.g. 'FREQ=MONTHLY;BYDAY=1SA'
        #[arg(long)]
        rrule: Option<String>,
        /// Reminders before the start: 7d, 1d, 90m
        #[arg(long = "remind")]
        reminders: Vec<String>,
        /// What happens there and how it goes
        #[arg(long, default_value = "")]
        description: String,
        /// Where it is
        #[arg(long, default_value = "")]
        location: String,
        /// Invite the members of this collective, and print their envelopes
        #[arg(long)]
        collective: Option<String>,
        /// With --collective: its visitors see it too (time, place, totals) and may answer
        #[arg(long, requires = "collective")]
        visitors_welcome: bool,
        /// With --collective: write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder, requires = "collective")]
        out: Option<PathBuf>,
    },
    /// Every gathering
    List,
    /// What is coming, across all gatherings
    Upcoming {
        /// How many days ahead
        #[arg(long, default_value_t = 30)]
        days: u32,
    },
    /// The next reminders to schedule
    Reminders {
        /// How many reminders
        #[arg(long, default_value_t = 10)]
        next: usize,
    },
    /// Going, maybe or not going to one occurrence, with a private note
    Rsvp {
        id: String,
        /// The occurrence's local start, as listed by `upcoming`
        #[arg(long)]
        occurrence: String,
        /// Going, maybe or not going
        #[arg(value_enum)]
        response: Response,
        /// A private note for yourself (never sent)
        #[arg(long)]
        note: Option<String>,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// Cancel one occurrence
    Skip {
        id: String,
        /// Which occurrence: its local start, e.g. 2026-12-05T18:00
        #[arg(long)]
        occurrence: String,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// Move one occurrence to a new local start
    Move {
        id: String,
        /// Which occurrence: its local start, e.g. 2026-12-05T18:00
        #[arg(long)]
        occurrence: String,
        /// The new local start, e.g. 2027-02-07T17:00
        #[arg(long)]
        to: String,
        /// Its new length in minutes [default: unchanged]
        #[arg(long)]
        minutes: Option<u32>,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// Undo a skip or a move
    Restore {
        id: String,
        /// Which occurrence: its local start, e.g. 2026-12-05T18:00
        #[arg(long)]
        occurrence: String,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// Delete a gathering (invitees are told it is called off), or my copy of one I was invited to
    Delete {
        id: String,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// Invite comrades or circles: they get the gathering, and every change after
    Invite {
        id: String,
        /// Comrade or circle names, comma-separated
        #[arg(long, required_unless_present = "collective", value_delimiter = ',')]
        to: Vec<String>,
        /// Or every other member of this collective
        #[arg(long, conflicts_with = "to")]
        collective: Option<String>,
        /// With --collective: its visitors see it too (time, place, totals) and may answer
        #[arg(long, requires = "collective")]
        visitors_welcome: bool,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// The greeting round of one occurrence: one line each, or a pass,
    /// read by nobody until it opens, shown in an order nobody chose
    Round {
        id: String,
        /// Which occurrence: its local start, e.g. 2026-12-05T18:00
        #[arg(long)]
        occurrence: String,
        #[command(subcommand)]
        action: RoundAction,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// Who is going, or maybe, to one occurrence of my gathering (never who is not)
    Attendees {
        id: String,
        /// Which occurrence: its local start, e.g. 2026-12-05T18:00
        #[arg(long)]
        occurrence: String,
    },
    /// Write one gathering, or all, as an .ics calendar file
    ExportIcs {
        id: Option<String>,
        /// The file to write, replaced whole
        #[arg(long, value_parser = crate::args::out_file)]
        out: std::path::PathBuf,
    },
    /// Add the events of an .ics file (from Google, Apple, Outlook...) as gatherings
    ImportIcs {
        file: std::path::PathBuf,
        /// Zone for floating times and all-day events [default: this computer's]
        #[arg(long)]
        tz: Option<String>,
    },
    /// Print a rule's occurrences, to check it before saving (no vault needed)
    Expand {
        /// The local start of the first, e.g. 2026-12-05T18:00
        #[arg(long)]
        dtstart: String,
        /// IANA time zone, e.g. America/Chicago
        #[arg(long)]
        tz: String,
        /// An RFC 5545 RRULE, e.g. 'FREQ=MONTHLY;BYDAY=1SA'
        #[arg(long)]
        rrule: Option<String>,
        /// How many occurrences
        #[arg(long, default_value_t = 10)]
        count: usize,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Preset {
    MonthlyRestorative,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Kind {
    Restorative,
    Meeting,
    Action,
    Social,
    Other,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Response {
    Going,
    Maybe,
    NotGoing,
}

/// `expand` needs no vault; everything else does.
pub fn needs_vault(cmd: &GatheringsCommand) -> bool {
    !matches!(cmd, GatheringsCommand::Expand { .. })
}

pub fn run(cmd: GatheringsCommand, vault: Option<&Vault>, out: &Output) -> CliResult {
    if let GatheringsCommand::Expand {
        dtstart,
        tz,
        rrule,
        count,
    } = &cmd
    {
        return expand(dtstart, tz, rrule.as_deref(), *count, out);
    }
    let vault = vault.ok_or("this needs a vault")?;
    let g = vault.gatherings();
    match cmd {
        GatheringsCommand::Add {
            preset,
            title,
            kind,
            start,
            tz,
            minutes,
            rrule,
            reminders,
            description,
            location,
            collective,
            visitors_welcome,
            out: dir,
        } => {
            let tz = tz.unwrap_or_else(|| system_time_zone().name().to_owned());
            let kind = kind.map(|kind| match kind {
                Kind::Restorative => GatheringKind::RestorativeGathering,
                Kind::Meeting => GatheringKind::Meeting,
                Kind::Action => GatheringKind::Action,
                Kind::Social => GatheringKind::Social,
                Kind::Other => GatheringKind::Other,
            });
            let reminders = reminders
                .iter()
                .map(|r| offset(r))
                .collect::<CliResult<Vec<_>>>()?;
            let new = match preset {
                // What the member gave replaces the preset's; nothing is ignored.
                Some(Preset::MonthlyRestorative) => {
                    let mut new = NewGathering::monthly_restorative(
                        Local::now().date_naive(),
                        &tz,
                        &location,
                    );
                    if let Some(start) = start {
                        new.starts_at = local_time(&start)?;
                    }
                    new.title = title.unwrap_or(new.title);
                    new.kind = kind.unwrap_or(new.kind);
                    if let Some(minutes) = minutes {
                        new.duration = Duration::minutes(minutes.into());
                    }
                    new.recurrence = rrule.or(new.recurrence);
                    if !reminders.is_empty() {
                        new.reminders = reminders;
                    }
                    if !description.is_empty() {
                        new.description = description;
                    }
                    new
                }
                None => NewGathering {
                    title: title.unwrap_or_default(),
                    kind: kind.unwrap_or(GatheringKind::Meeting),
                    description,
                    location,
                    starts_at: local_time(start.as_deref().unwrap_or_default())?,
                    time_zone: tz,
                    duration: Duration::minutes(minutes.unwrap_or(120).into()),
                    recurrence: rrule,
                    reminders,
                },
            };
            let added = g.add(new).map_err(fail)?;
            let Some(name) = collective else {
                return out.show(&GatheringView::from(&added), || {
                    format!("Added: {}", describe(&added))
                });
            };
            let c = crate::args::collective(vault, &name)?;
            eprintln!("Added {}: {}", added.id, describe(&added));
            let sealed = g
                .invite_collective(added.id, c.id, visitors_welcome)
                .map_err(fail)?;
            write_envelopes(&sealed, dir, out)
        }
        GatheringsCommand::List => {
            let all = g.list().map_err(fail)?;
            let views: Vec<_> = all.iter().map(GatheringView::from).collect();
            out.show(&views, || {
                if all.is_empty() {
                    return "No gatherings yet. Try: tend gatherings add --preset monthly-restorative".into();
                }
                all.iter().map(describe).collect::<Vec<_>>().join("\n")
            })
        }
        GatheringsCommand::Upcoming { days } => {
            let now = Utc::now();
            let list = g
                .occurrences(now, now + Duration::days(days as i64))
                .map_err(fail)?;
            let views: Vec<_> = list.iter().map(OccurrenceView::from).collect();
            out.show(&views, || {
                if list.is_empty() {
                    return format!(
                        "Nothing in the next {}.",
                        crate::output::count(days, "day", "days")
                    );
                }
                list.iter()
                    .map(describe_occurrence)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        GatheringsCommand::Reminders { next } => {
            let list = g.next_reminders(Utc::now(), next).map_err(fail)?;
            let views: Vec<_> = list.iter().map(ReminderView::from).collect();
            out.show(&views, || {
                if list.is_empty() {
                    return "No reminders ahead.".into();
                }
                list.iter()
                    .map(describe_reminder)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        GatheringsCommand::Rsvp {
            id,
            occurrence,
            response,
            note,
            out: dir,
        } => {
            let response = match response {
                Response::Going => Rsvp::Going,
                Response::Maybe => Rsvp::Maybe,
                Response::NotGoing => Rsvp::NotGoing,
            };
            let (id, at) = (gathering_id(&id)?, local_time(&occurrence)?);
            sending(vault, dir, out, "Noted.", || {
                g.rsvp(id, at, Some(response), note.as_deref())
            })
        }
        GatheringsCommand::Skip {
            id,
            occurrence,
            out: dir,
        } => {
            let (id, at) = (gathering_id(&id)?, local_time(&occurrence)?);
            let done = format!("Skipped the one of {occurrence}.");
            sending(vault, dir, out, &done, || g.cancel_occurrence(id, at))
        }
        GatheringsCommand::Move {
            id,
            occurrence,
            to,
            minutes,
            out: dir,
        } => {
            let (id, at, to_at) = (
                gathering_id(&id)?,
                local_time(&occurrence)?,
                local_time(&to)?,
            );
            let done = format!("Moved the one of {occurrence} to {to}.");
            sending(vault, dir, out, &done, || {
                g.move_occurrence(id, at, to_at, minutes.map(|m| Duration::minutes(m as i64)))
            })
        }
        GatheringsCommand::Restore {
            id,
            occurrence,
            out: dir,
        } => {
            let (id, at) = (gathering_id(&id)?, local_time(&occurrence)?);
            let done = format!("The one of {occurrence} is back as planned.");
            sending(vault, dir, out, &done, || g.restore_occurrence(id, at))
        }
        GatheringsCommand::Delete { id, out: dir } => {
            let id = gathering_id(&id)?;
            sending(vault, dir, out, "Deleted.", || g.delete(id))
        }
        GatheringsCommand::Invite {
            id,
            to,
            collective,
            visitors_welcome,
            out: dir,
        } => {
            let id = gathering_id(&id)?;
            let sealed = match collective {
                Some(name) => {
                    let c = crate::args::collective(vault, &name)?;
                    g.invite_collective(id, c.id, visitors_welcome)
                        .map_err(fail)?
                }
                None => vec![g.invite(id, &recipients(vault, &to)?).map_err(fail)?],
            };
            write_envelopes(&sealed, dir, out)
        }
        GatheringsCommand::Round {
            id,
            occurrence,
            action,
            out: dir,
        } => round(
            vault,
            gathering_id(&id)?,
            local_time(&occurrence)?,
            action,
            dir,
            out,
        ),
        GatheringsCommand::Attendees { id, occurrence } => {
            let list = g
                .attendees(gathering_id(&id)?, local_time(&occurrence)?)
                .map_err(fail)?;
            let views: Vec<_> = list
                .iter()
                .map(|a| {
                    serde_json::json!({
                        "name": a.name, "rsvp": a.rsvp, "visitor": a.visitor, "host": a.host
                    })
                })
                .collect();
            out.show(&views, || {
                if list.is_empty() {
                    return "Nobody has said they are coming yet.".into();
                }
                list.iter()
                    .map(|a| {
                        let mut who = a.name.as_deref().unwrap_or("me").to_owned();
                        if a.visitor {
                            let host = a.host.as_deref().unwrap_or("you");
                            who = format!("{who}, a visitor {host} invited");
                        }
                        match a.rsvp {
                            Rsvp::Maybe => format!("  {who} (maybe)"),
                            _ => format!("  {who}"),
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        GatheringsCommand::ExportIcs { id, out: path } => {
            let id = id.as_deref().map(gathering_id).transpose()?;
            let ics = g.export_ics(id).map_err(fail)?;
            crate::files::write_bytes(&path, ics.as_bytes())?;
            out.done(&format!("Wrote {}", path.display()))
        }
        GatheringsCommand::ImportIcs { file, tz } => {
            let bytes =
                std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| format!("{} is not UTF-8 text", file.display()))?;
            let tz = tz.unwrap_or_else(|| system_time_zone().name().to_owned());
            let summary = g.import_ics(&text, &tz).map_err(fail)?;
            out.show(
                &serde_json::json!({ "added": summary.added, "updated": summary.updated }),
                || {
                    format!(
                        "Imported: {} added, {} updated",
                        summary.added, summary.updated
                    )
                },
            )
        }
        GatheringsCommand::Expand { .. } => unreachable!("handled above"),
    }
}

/// Runs a change, then writes the envelopes it made the vault seal: an
/// update for invitees, or an answer for the organiser.
#[derive(clap::Subcommand)]
pub enum RoundAction {
    /// My line (up to 140 characters), sealed until the round opens
    Write { line: String },
    /// No line: a pass counts as a full answer
    Pass,
    /// As organiser: open it now (it opens by itself at the start)
    Open,
    /// The lines in their order once it opens; nothing before
    Show,
}

fn round(
    vault: &Vault,
    id: GatheringId,
    at: chrono::NaiveDateTime,
    action: RoundAction,
    dir: Option<PathBuf>,
    out: &Output,
) -> CliResult {
    let g = vault.gatherings();
    match action {
        RoundAction::Write { line } => sending(
            vault,
            dir,
            out,
            "Your line is sealed until the round opens.",
            || g.write_round_line(id, at, Some(&line)),
        ),
        RoundAction::Pass => sending(vault, dir, out, "You pass; that is a full answer.", || {
            g.write_round_line(id, at, None)
        }),
        RoundAction::Open => sending(
            vault,
            dir,
            out,
            "The round is open: every line is fixed.",
            || g.open_round(id, at),
        ),
        RoundAction::Show => {
            let round = g.round(id, at).map_err(fail)?;
            let said = |s: &Said| match s {
                Said::Line { text } => serde_json::json!({ "line": text }),
                Said::Pass => serde_json::json!({ "pass": true }),
                Said::Unreleased => serde_json::json!({ "unreleased": true }),
            };
            let lines: Vec<_> = round
                .lines
                .iter()
                .map(|l| {
                    let mut v = said(&l.said);
                    v["name"] = serde_json::json!(l.name);
                    v
                })
                .collect();
            let json = serde_json::json!({
                "open": round.opened_at.is_some(),
                "check": round.check,
                "written": round.written,
                "lines": lines,
            });
            out.show(&json, || {
                let Some(check) = &round.check else {
                    return format!(
                        "The round has not opened: {} written so far, none readable.{}",
                        round.written,
                        match &round.mine {
                            Some(Said::Line { text }) => format!(" Yours: “{text}”."),
                            Some(_) => " You pass.".into(),
                            None => String::new(),
                        }
                    );
                };
                let mut text = vec![format!(
                    "The round (check {check}, the same on every phone):"
                )];
                for l in &round.lines {
                    let who = l.name.as_deref().unwrap_or("me");
                    text.push(match &l.said {
                        Said::Line { text } => format!("  {who}: {text}"),
                        Said::Pass => format!("  {who} passes"),
                        Said::Unreleased => format!("  {who}: (their phone has not released it)"),
                    });
                }
                text.join("\n")
            })
        }
    }
}

fn sending(
    vault: &Vault,
    dir: Option<PathBuf>,
    out: &Output,
    done: &str,
    change: impl FnOnce() -> tend_core::Result<()>,
) -> CliResult {
    let before: HashSet<_> = outbox_ids(vault)?;
    change().map_err(fail)?;
    let sealed: Vec<_> = vault
        .envelopes()
        .outbox()
        .map_err(fail)?
        .into_iter()
        .filter(|o| !before.contains(&o.sealed.message_id))
        .map(|o| o.sealed)
        .collect();
    if sealed.is_empty() {
        return out.done(done);
    }
    eprintln!("{}", crate::output::for_terminal(done));
    write_envelopes(&sealed, dir, out)
}

fn outbox_ids(vault: &Vault) -> CliResult<HashSet<tend_core::envelope::MessageId>> {
    Ok(vault
        .envelopes()
        .outbox()
        .map_err(fail)?
        .into_iter()
        .map(|o| o.sealed.message_id)
        .collect())
}

fn expand(dtstart: &str, tz: &str, rrule: Option<&str>, count: usize, out: &Output) -> CliResult {
    let starts =
        tend_core::gatherings::expand(local_time(dtstart)?, tz, rrule, count).map_err(fail)?;
    let texts: Vec<String> = starts.iter().map(|t| t.to_rfc3339()).collect();
    out.show(&texts, || texts.join("\n"))
}

fn gathering_id(text: &str) -> CliResult<GatheringId> {
    GatheringId::from_str(text).map_err(fail)
}

/// `7d`, `1d`, `90m`, `2h`.
fn offset(text: &str) -> CliResult<ReminderOffset> {
    let bad = || format!("{text:?} is not a reminder like 7d, 1d, 2h or 30m");
    let (number, unit) = text.trim().split_at(text.trim().len().saturating_sub(1));
    let n: u16 = number.parse().map_err(|_| bad())?;
    match unit {
        "d" => Ok(ReminderOffset::days(n)),
        "h" => Ok(ReminderOffset::minutes(n.checked_mul(60).ok_or_else(bad)?)),
        "m" => Ok(ReminderOffset::minutes(n)),
        _ => Err(bad()),
    }
}

fn offset_text(o: &ReminderOffset) -> String {
    match (o.days, o.minutes) {
        (0, m) if m % 60 == 0 && m > 0 => format!("{}h", m / 60),
        (0, m) => format!("{m}m"),
        (d, 0) => format!("{d}d"),
        (d, m) => format!("{d}d{m}m"),
    }
}

#[derive(Serialize)]
pub struct GatheringView {
    id: String,
    title: String,
    kind: GatheringKind,
    starts_at: String,
    time_zone: String,
    minutes: i64,
    recurrence: Option<String>,
    reminders: Vec<String>,
    location: String,
    collective: Option<String>,
    visitors_welcome: bool,
}

impl From<&Gathering> for GatheringView {
    fn from(g: &Gathering) -> Self {
        GatheringView {
            id: g.id.to_string(),
            title: g.title.clone(),
            kind: g.kind,
            starts_at: g.starts_at.format("%Y-%m-%dT%H:%M").to_string(),
            time_zone: g.time_zone.clone(),
            minutes: g.duration.num_minutes(),
            recurrence: g.recurrence.clone(),
            reminders: g.reminders.iter().map(offset_text).collect(),
            location: g.location.clone(),
            collective: g.collective.map(|c| c.to_string()),
            visitors_welcome: g.visitors_welcome,
        }
    }
}

pub fn describe(g: &Gathering) -> String {
    format!(
        "{}  {}{}{}  from {} {} for {} min{}{}",
        g.id,
        g.title,
        g.organiser
            .as_ref()
            .map(|o| format!(" (organised by {o})"))
            .unwrap_or_default(),
        if g.visitors_welcome {
            ", visitors welcome"
        } else {
            ""
        },
        g.starts_at.format("%Y-%m-%d %H:%M"),
        g.time_zone,
        g.duration.num_minutes(),
        g.recurrence
            .as_ref()
            .map(|r| format!(", {r}"))
            .unwrap_or_default(),
        if g.reminders.is_empty() {
            String::new()
        } else {
            format!(
                ", reminders {}",
                g.reminders
                    .iter()
                    .map(offset_text)
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
    )
}

#[derive(Serialize)]
struct OccurrenceView {
    gathering: String,
    title: String,
    occurrence: String,
    starts_at: String,
    ends_at: String,
    local_start: String,
    time_zone: String,
    moved: bool,
    rsvp: Option<Rsvp>,
    note: Option<String>,
    totals: Option<AttendanceTotals>,
}

impl From<&Occurrence> for OccurrenceView {
    fn from(o: &Occurrence) -> Self {
        OccurrenceView {
            gathering: o.gathering.to_string(),
            title: o.title.clone(),
            occurrence: o.original_start.format("%Y-%m-%dT%H:%M").to_string(),
            starts_at: o.starts_at.to_rfc3339(),
            ends_at: o.ends_at.to_rfc3339(),
            local_start: o.local_start.format("%Y-%m-%dT%H:%M").to_string(),
            time_zone: o.time_zone.clone(),
            moved: o.moved,
            rsvp: o.rsvp,
            note: o.note.clone(),
            totals: o.totals,
        }
    }
}

fn describe_occurrence(o: &Occurrence) -> String {
    let rsvp = match o.rsvp {
        Some(Rsvp::Going) => "  [going]",
        Some(Rsvp::Maybe) => "  [maybe]",
        Some(Rsvp::NotGoing) => "  [not going]",
        None => "",
    };
    let totals = o
        .totals
        .map(|t| format!("  {} going, {} maybe", t.going, t.maybe))
        .unwrap_or_default();
    format!(
        "{}  {}{}{}{}{}  (occurrence {}, gathering {})",
        crate::render::local(o.starts_at),
        o.title,
        if o.moved { "  (moved)" } else { "" },
        rsvp,
        totals,
        o.note
            .as_ref()
            .map(|n| format!("  “{n}”"))
            .unwrap_or_default(),
        o.original_start.format("%Y-%m-%dT%H:%M"),
        o.gathering
    )
}

#[derive(Serialize)]
struct ReminderView {
    fires_at: String,
    gathering: Option<String>,
    collective: Option<String>,
    title: String,
    starts_at: String,
    before: String,
}

impl From<&Reminder> for ReminderView {
    fn from(r: &Reminder) -> Self {
        ReminderView {
            fires_at: r.fires_at.to_rfc3339(),
            gathering: r.gathering.map(|g| g.to_string()),
            collective: r.collective.map(|c| c.to_string()),
            title: r.title.clone(),
            starts_at: r.starts_at.to_rfc3339(),
            before: offset_text(&r.offset),
        }
    }
}

pub fn describe_reminder(r: &Reminder) -> String {
    format!(
        "{}  {} before {} ({})",
        crate::render::local(r.fires_at),
        offset_text(&r.offset),
        r.title,
        crate::render::local(r.starts_at)
    )
}
