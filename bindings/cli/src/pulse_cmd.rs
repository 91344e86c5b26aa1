//! `tend collective pulse ...`: how the collective is doing, as totals
//! only. Answers go to the talliers as envelopes, by `tend sync` or `--out`.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use serde::Serialize;
use tend_core::Vault;
use tend_core::pulse::{
    Capacity, CheckIn, Pulse, PulseAnswer, PulseFailure, PulseMood, PulseState, PulseTotals,
};

use crate::args::{collective, find};

use crate::output::{Output, count};
use crate::render::{local, sent};
use crate::{CliResult, fail};

#[derive(Subcommand)]
pub enum PulseCommand {
    /// A steward starts a pulse: every member may answer, privately
    Start {
        name: String,
        /// How long it takes answers: 90m, 12h, 3d (an hour to two weeks) [default: 3d]
        #[arg(long, value_name = "DURATION")]
        open_for: Option<String>,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// Answer the open pulse; nobody, not even a tallier, sees your answer
    Answer {
        name: String,
        capacity: CapacityArg,
        /// Your mood on the collective's scale (1 is the lowest)
        #[arg(long, conflicts_with = "mood_from_journal")]
        mood: Option<u8>,
        /// The mean mood of today's journal entries; the entries stay here
        #[arg(long)]
        mood_from_journal: bool,
        /// With red: ask this comrade, privately, to check in with you
        #[arg(long, value_name = "COMRADE")]
        check_in: Option<String>,
        /// A few words for them (up to 280 characters)
        #[arg(long, requires = "check_in")]
        note: Option<String>,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// The latest pulse: totals once enough answered, never who said what
    Show { name: String },
    /// Every pulse's totals, oldest first, as a small chart
    History { name: String },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum CapacityArg {
    Green,
    Yellow,
    Red,
}

#[derive(Serialize)]
struct PulseView {
    id: String,
    started_at: String,
    closes_at: String,
    threshold: u8,
    mood_steps: u8,
    answered: bool,
    i_tally: bool,
    /// open, counting, shown, too_few or failed
    state: &'static str,
    totals: Option<TotalsView>,
    /// With too_few: how many answered.
    answers: Option<u32>,
    /// With failed: talliers_silent or tallies_disagree.
    failure: Option<&'static str>,
}

#[derive(Serialize)]
struct TotalsView {
    answers: u32,
    green: u32,
    yellow: u32,
    red: u32,
    moods: u32,
    mean_mood: Option<f64>,
}

fn view(p: &Pulse) -> PulseView {
    let (state, totals, answers, failure) = match &p.state {
        PulseState::Open => ("open", None, None, None),
        PulseState::Counting => ("counting", None, None, None),
        PulseState::Shown { totals: t } => (
            "shown",
            Some(TotalsView {
                answers: t.answers,
                green: t.green,
                yellow: t.yellow,
                red: t.red,
                moods: t.moods,
                mean_mood: t.mean_mood,
            }),
            None,
            None,
        ),
        PulseState::TooFew { answers } => ("too_few", None, Some(*answers), None),
        PulseState::Failed { reason } => ("failed", None, None, Some(failure_name(*reason))),
    };
    PulseView {
        id: p.id.to_string(),
        started_at: p.started_at.to_rfc3339(),
        closes_at: p.closes_at.to_rfc3339(),
        threshold: p.threshold,
        mood_steps: p.mood_steps,
        answered: p.answered,
        i_tally: p.i_tally,
        state,
        totals,
        answers,
        failure,
    }
}

fn failure_name(reason: PulseFailure) -> &'static str {
    match reason {
        PulseFailure::TalliersSilent => "talliers_silent",
        PulseFailure::TalliesDisagree => "tallies_disagree",
    }
}

fn totals_text(t: &PulseTotals) -> String {
    let mood = match t.mean_mood {
        Some(m) => format!("; mean mood {m:.1}"),
        None if t.moods > 0 => format!("; {} gave a mood, too few to show", t.moods),
        None => String::new(),
    };
    format!(
        "{}: {} green, {} yellow, {} red{mood}",
        count(t.answers, "answer", "answers"),
        t.green,
        t.yellow,
        t.red
    )
}

fn describe(p: &Pulse) -> String {
    let state = match &p.state {
        PulseState::Open => format!(
            "open until {}; {}",
            local(p.closes_at),
            match p.answered {
                true => "you answered",
                false => "answering is up to you",
            }
        ),
        PulseState::Counting => "closed; the talliers are counting".into(),
        PulseState::Shown { totals } => totals_text(totals),
        PulseState::TooFew { answers } => format!(
            "{} of the {} needed: nothing is shown",
            count(*answers, "answer", "answers"),
            p.threshold
        ),
        PulseState::Failed {
            reason: PulseFailure::TalliersSilent,
        } => "a tallier never answered: nothing is shown; a steward may start another".into(),
        PulseState::Failed {
            reason: PulseFailure::TalliesDisagree,
        } => "the talliers' sums do not add up: nothing is shown".into(),
    };
    format!("Pulse of {}: {state}", local(p.started_at))
}

/// A bar of `WIDTH` characters: green █, yellow ▒, red ░, in proportion.
fn bar(t: &PulseTotals) -> String {
    const WIDTH: u32 = 20;
    let answers = t.answers.max(1);
    let green = (t.green * WIDTH + answers / 2) / answers;
    let yellow = ((t.green + t.yellow) * WIDTH + answers / 2) / answers - green;
    let red = WIDTH - green - yellow;
    [
        "█".repeat(green as usize),
        "▒".repeat(yellow as usize),
        "░".repeat(red as usize),
    ]
    .concat()
}

/// A mean mood as one of eight rising blocks.
fn spark(mean: f64, steps: u8) -> char {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let fraction = (mean - 1.0) / f64::from(steps.max(2) - 1);
    BLOCKS[((fraction.clamp(0.0, 1.0) * 7.0).round()) as usize]
}

pub fn history(name: &str, pulses: &[Pulse]) -> String {
    if pulses.is_empty() {
        return format!("{name} has taken no pulse yet.");
    }
    let mut lines = vec![format!(
        "{name}, oldest first (█ green, ▒ yellow, ░ red; totals only):"
    )];
    let mut trend = String::new();
    for p in pulses.iter().rev() {
        let day = p.started_at.format("%Y-%m-%d");
        let line = match &p.state {
            PulseState::Shown { totals } => {
                if let Some(m) = totals.mean_mood {
                    trend.push(spark(m, p.mood_steps));
                }
                format!("{day}  {}  {}", bar(totals), totals_text(totals))
            }
            PulseState::TooFew { answers } => {
                format!("{day}  {:20}  too few answered ({answers})", "")
            }
            PulseState::Open | PulseState::Counting => format!("{day}  {:20}  not counted yet", ""),
            PulseState::Failed { .. } => format!("{day}  {:20}  not counted (failed)", ""),
        };
        lines.push(line);
    }
    if trend.chars().count() > 1 {
        lines.push(format!("Mean mood over time: {trend}"));
    }
    lines.join("\n")
}

/// What an opened pulse envelope leaves the pulse as.
pub fn describe_opened(vault: &Vault, opened: &tend_core::envelope::Opened) -> Option<String> {
    if opened.kind == tend_core::kinds::PULSE_CHECK_IN {
        let note = tend_core::pulse::check_in_note(opened)
            .map(|n| format!(" They wrote: {n}"))
            .unwrap_or_default();
        return Some(format!(
            "{} asks you to check in with them. Nobody else was told.{note}",
            opened.sender.name
        ));
    }
    let id = tend_core::pulse::pulse_of(opened)?;
    vault.pulses().get(id).ok().map(|p| describe(&p))
}

pub fn run(cmd: PulseCommand, vault: &Vault, out: &Output) -> CliResult {
    let pulses = vault.pulses();
    match cmd {
        PulseCommand::Start {
            name,
            open_for,
            out: dir,
        } => {
            let c = collective(vault, &name)?;
            let open_for = open_for.as_deref().map(crate::args::duration).transpose()?;
            let started = pulses.start(c.id, open_for).map_err(fail)?;
            eprintln!(
                "Started a pulse of {}, open until {}. Totals show once {} answered.",
                c.name,
                local(started.pulse.closes_at),
                started.pulse.threshold
            );
            sent(&started.sealed, dir, out)
        }
        PulseCommand::Answer {
            name,
            capacity,
            mood,
            mood_from_journal,
            check_in,
            note,
            out: dir,
        } => {
            let c = collective(vault, &name)?;
            let latest = pulses.list(c.id).map_err(fail)?;
            let open = latest
                .iter()
                .find(|p| p.state == PulseState::Open)
                .ok_or_else(|| format!("{} has no open pulse", c.name))?;
            let mood = match (mood, mood_from_journal) {
                (Some(value), _) => PulseMood::Given { value },
                (None, true) => PulseMood::FromJournal {
                    day: chrono::Local::now().date_naive(),
                },
                (None, false) => PulseMood::Skip,
            };
            let check_in = check_in
                .map(|n| {
                    find(vault, &n).map(|c| CheckIn {
                        comrade: c.id,
                        note,
                    })
                })
                .transpose()?;
            let answer = PulseAnswer {
                capacity: match capacity {
                    CapacityArg::Green => Capacity::Green,
                    CapacityArg::Yellow => Capacity::Yellow,
                    CapacityArg::Red => Capacity::Red,
                },
                mood,
                check_in,
            };
            let sealed = pulses.answer(open.id, &answer).map_err(fail)?;
            eprintln!("Answered. Your vault keeps only that you did, not what you said.");
            sent(&sealed, dir, out)
        }
        PulseCommand::Show { name } => {
            let c = collective(vault, &name)?;
            let all = pulses.list(c.id).map_err(fail)?;
            let latest = all.first().map(view);
            out.show(&latest, || match all.first() {
                Some(p) => describe(p),
                None => format!("{} has taken no pulse yet.", c.name),
            })
        }
        PulseCommand::History { name } => {
            let c = collective(vault, &name)?;
            let all = pulses.list(c.id).map_err(fail)?;
            let views: Vec<_> = all.iter().rev().map(view).collect();
            out.show(&views, || history(&c.name, &all))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(green: u32, yellow: u32, red: u32) -> PulseTotals {
        PulseTotals {
            answers: green + yellow + red,
            green,
            yellow,
            red,
            moods: 0,
            mean_mood: None,
        }
    }

    #[test]
    fn a_bar_is_twenty_characters_in_proportion() {
        assert_eq!(bar(&totals(4, 0, 0)), "█".repeat(20));
        assert_eq!(bar(&totals(1, 1, 2)), "█████▒▒▒▒▒░░░░░░░░░░");
        assert_eq!(bar(&totals(1, 1, 1)).chars().count(), 20);
        assert_eq!(spark(1.0, 5), '▁');
        assert_eq!(spark(5.0, 5), '█');
        assert_eq!(spark(3.0, 5), '▅');
    }
}
