//! `tend journal ...`

use std::path::PathBuf;

use chrono::{Local, NaiveDate};
use clap::Subcommand;
use serde::Serialize;
use tend_core::Vault;
use tend_core::journal::{
    DaylioOptions, Entry, EntryFilter, EntryId, Insights, NewEntry, PageCursor, UnknownMoods,
    prompt_for_day,
};

use crate::args::system_time_zone;
use crate::output::{self, Output};
use crate::{CliResult, fail};

/// What an entry says, besides its text.
#[derive(clap::Args)]
pub struct EntryFields {
    /// How the day felt, on the vault's mood scale (1 is the lowest)
    #[arg(long)]
    mood: Option<u8>,
    /// A feeling, such as calm (repeat for more)
    #[arg(long = "feeling")]
    feelings: Vec<String>,
    /// Something done, such as walk (repeat for more)
    #[arg(long = "activity")]
    activities: Vec<String>,
    /// A short title
    #[arg(long)]
    title: Option<String>,
}

#[derive(Subcommand)]
pub enum JournalCommand {
    /// Write an entry. Give the text, - to read it from standard input, or
    /// --edit: then it stays out of the shell's history and `ps`
    Add {
        #[command(flatten)]
        fields: EntryFields,
        /// Write it in $EDITOR (a private file in memory where the system has one, deleted after)
        #[arg(long, conflicts_with = "text")]
        edit: bool,
        /// The text; - reads it from standard input
        #[arg(required_unless_present = "edit")]
        text: Option<String>,
    },
    /// Entries, newest first
    List {
        /// How many a page (1 to 500)
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Continue after this cursor (printed at the end of a page)
        #[arg(long)]
        after: Option<String>,
        /// From this day on (YYYY-MM-DD)
        #[arg(long)]
        from: Option<NaiveDate>,
        /// Up to and including this day (YYYY-MM-DD)
        #[arg(long)]
        to: Option<NaiveDate>,
        /// Only entries with at least this mood
        #[arg(long)]
        mood_min: Option<u8>,
        /// Only entries with at most this mood
        #[arg(long)]
        mood_max: Option<u8>,
        /// Only entries with this feeling or activity
        #[arg(long)]
        tag: Option<String>,
    },
    /// Full-text search
    Search {
        query: String,
        /// How many a page (1 to 500)
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Average moods, how they spread, and which tags go with better days
    Insights {
        /// From this day on (YYYY-MM-DD)
        #[arg(long)]
        from: Option<NaiveDate>,
        /// Up to and including this day (YYYY-MM-DD)
        #[arg(long)]
        to: Option<NaiveDate>,
    },
    /// Change an entry; what you leave out stays as it was (feelings and
    /// activities, when given, replace the old ones)
    Edit {
        id: String,
        #[command(flatten)]
        fields: EntryFields,
        /// The text; - reads it from standard input
        #[arg(long)]
        text: Option<String>,
    },
    /// Delete an entry for good
    Delete { id: String },
    /// Today's gentle prompt (skip it freely)
    Prompt,
    /// Import a Daylio CSV export
    ImportDaylio {
        file: PathBuf,
        /// The time zone the entries were written in [default: this system's]
        #[arg(long)]
        tz: Option<chrono_tz::Tz>,
        /// Your own Daylio mood names, best first, comma-separated
        #[arg(long, value_delimiter = ',')]
        moods: Vec<String>,
    },
}

pub fn run(cmd: JournalCommand, vault: &Vault, out: &Output) -> CliResult {
    let journal = vault.journal();
    match cmd {
        JournalCommand::Add { fields, edit, text } => {
            let text = match (edit, text.as_deref()) {
                (true, _) => crate::args::text_from_editor()?,
                (false, Some("-")) => crate::args::text_from_stdin()?,
                (false, text) => text.unwrap_or_default().to_owned(),
            };
            let entry = journal
                .add(NewEntry {
                    written_at: Some(Local::now().fixed_offset()),
                    mood: fields.mood,
                    feelings: fields.feelings,
                    activities: fields.activities,
                    title: fields.title,
                    body: text,
                })
                .map_err(fail)?;
            out.show(&entry, || format!("Added entry {}", entry.id))
        }
        JournalCommand::List {
            limit,
            after,
            from,
            to,
            mood_min,
            mood_max,
            tag,
        } => {
            let after = after
                .map(|c| c.parse::<PageCursor>())
                .transpose()
                .map_err(fail)?;
            let filter = EntryFilter {
                from,
                to,
                mood_min,
                mood_max,
                tag,
            };
            let page = journal.list(&filter, limit, after).map_err(fail)?;
            let next = page.next.map(|c| c.to_string());
            let scale = journal.mood_scale().map_err(fail)?;
            #[derive(Serialize)]
            struct Listing<'a> {
                entries: &'a [Entry],
                next: Option<String>,
            }
            out.show(
                &Listing {
                    entries: &page.entries,
                    next: next.clone(),
                },
                || {
                    let mut text = page
                        .entries
                        .iter()
                        .map(|e| describe(e, &scale))
                        .collect::<Vec<_>>()
                        .join("\n\n");
                    if page.entries.is_empty() {
                        text = "No entries.".into();
                    }
                    if let Some(next) = next {
                        text.push_str(&format!(
                            "\n\nMore: tend journal list{} --after {next}",
                            same_page(limit, &filter)
                        ));
                    }
                    text
                },
            )
        }
        JournalCommand::Search { query, limit } => {
            let hits = journal.search(&query, limit).map_err(fail)?;
            #[derive(Serialize)]
            struct Hit<'a> {
                entry: &'a Entry,
                snippet: &'a [tend_core::journal::SnippetPart],
            }
            let json: Vec<Hit> = hits
                .iter()
                .map(|h| Hit {
                    entry: &h.entry,
                    snippet: &h.snippet,
                })
                .collect();
            out.show(&json, || {
                if hits.is_empty() {
                    return "Nothing found.".into();
                }
                hits.iter()
                    .map(|h| {
                        format!(
                            "{}  {}\n  {}",
                            h.entry.local_date(),
                            h.entry.id,
                            highlight(&h.snippet)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        JournalCommand::Insights { from, to } => {
            let insights = journal.insights(from, to).map_err(fail)?;
            out.show(&insights, || describe_insights(&insights))
        }
        JournalCommand::Edit { id, fields, text } => {
            let id: EntryId = id.parse().map_err(fail)?;
            let old = journal.get(id).map_err(fail)?;
            let or_old =
                |new: Vec<String>, old: Vec<String>| if new.is_empty() { old } else { new };
            let entry = journal
                .update(
                    id,
                    NewEntry {
                        written_at: Some(old.written_at),
                        mood: fields.mood.or(old.mood),
                        feelings: or_old(fields.feelings, old.feelings),
                        activities: or_old(fields.activities, old.activities),
                        title: fields.title.or(old.title),
                        body: text.unwrap_or(old.body),
                    },
                )
                .map_err(fail)?;
            out.show(&entry, || format!("Updated entry {}", entry.id))
        }
        JournalCommand::Delete { id } => {
            let id: EntryId = id.parse().map_err(fail)?;
            let copies = journal.delete(id).map_err(fail)?;
            if copies == 0 {
                return out.done("Deleted, and gone from the search index too.");
            }
            out.done(&format!(
                "Deleted, and gone from the search index too, with {} of it waiting in your outbox. \
                 Copies already delivered stay with those who received them.",
                crate::output::count(copies, "shared copy", "shared copies")
            ))
        }
        JournalCommand::Prompt => {
            let prompt = prompt_for_day(Local::now().date_naive());
            out.show(&serde_json::json!({ "prompt": prompt }), || {
                prompt.to_owned()
            })
        }
        JournalCommand::ImportDaylio { file, tz, moods } => {
            let time_zone = tz.unwrap_or_else(system_time_zone);
            let options = DaylioOptions {
                time_zone,
                unknown_moods: if moods.is_empty() {
                    UnknownMoods::Report
                } else {
                    UnknownMoods::ByPosition(moods)
                },
            };
            let input = std::fs::File::open(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let bar = output::progress("Importing");
            let summary = journal
                .import_daylio(std::io::BufReader::new(input), &options, &mut |d, t| {
                    bar.update(d, t)
                })
                .map_err(fail)?;
            bar.finish();
            out.show(&summary, || {
                format!(
                    "Imported from Daylio: {} added, {} already here",
                    summary.added,
                    summary.unchanged + summary.updated
                )
            })
        }
    }
}

/// The options that gave this page, so the next one is of the same list.
fn same_page(limit: u32, filter: &EntryFilter) -> String {
    let mut args = String::new();
    if limit != 20 {
        args.push_str(&format!(" --limit {limit}"));
    }
    let options = [
        ("--from", filter.from.map(|d| d.to_string())),
        ("--to", filter.to.map(|d| d.to_string())),
        ("--mood-min", filter.mood_min.map(|m| m.to_string())),
        ("--mood-max", filter.mood_max.map(|m| m.to_string())),
        ("--tag", filter.tag.as_ref().map(|t| format!("{t:?}"))),
    ];
    for (flag, value) in options {
        if let Some(value) = value {
            args.push_str(&format!(" {flag} {value}"));
        }
    }
    args
}

pub fn describe(e: &Entry, scale: &tend_core::journal::MoodScale) -> String {
    let mut lines = vec![format!(
        "{}  {}{}",
        e.written_at.format("%a %Y-%m-%d %H:%M"),
        e.mood
            .map(|m| format!("mood {m} ({})  ", scale.label(m).unwrap_or("?")))
            .unwrap_or_default(),
        e.id
    )];
    let tags: Vec<String> = e
        .feelings
        .iter()
        .map(|f| format!("~{f}"))
        .chain(e.activities.iter().map(|a| format!("#{a}")))
        .collect();
    if !tags.is_empty() {
        lines.push(format!("  {}", tags.join(" ")));
    }
    if let Some(title) = &e.title {
        lines.push(format!("  {title}"));
    }
    for line in e.body.lines() {
        lines.push(format!("  {line}"));
    }
    lines.join("\n")
}

pub fn highlight(parts: &[tend_core::journal::SnippetPart]) -> String {
    parts
        .iter()
        .map(|p| {
            if p.matched {
                format!("[{}]", p.text)
            } else {
                p.text.clone()
            }
        })
        .collect()
}

pub fn describe_insights(i: &Insights) -> String {
    let mut out = vec![format!(
        "{} on {}{}",
        output::count(i.counts.entries, "entry", "entries"),
        output::count(i.counts.days_written, "day", "days"),
        match (i.counts.first_day, i.counts.last_day) {
            (Some(a), Some(b)) => format!(", {a} to {b}"),
            _ => String::new(),
        }
    )];
    out.push("Moods:".into());
    let most = i
        .distribution
        .iter()
        .map(|m| m.entries)
        .max()
        .unwrap_or(0)
        .max(1);
    for m in &i.distribution {
        let bar = "█".repeat((m.entries * 20 / most) as usize);
        out.push(format!(
            "  {:>2} {:<8} {:<20} {}",
            m.value, m.label, bar, m.entries
        ));
    }
    if let Some(last) = i.by_month.last() {
        out.push(format!(
            "Average mood in the month from {}: {:.1} over {}",
            last.start,
            last.average,
            output::count(last.entries, "entry", "entries")
        ));
    }
    if let Some(last) = i.by_week.last() {
        out.push(format!(
            "Average mood in the week from {}: {:.1} over {}",
            last.start,
            last.average,
            output::count(last.entries, "entry", "entries")
        ));
    }
    if !i.tags.is_empty() {
        out.push("Days with these tags felt different:".into());
        for t in &i.tags {
            out.push(format!(
                "  {:<16} {} ({} with: {:.1}, {} without: {:.1})",
                t.name,
                output::signed(t.difference()),
                output::count(t.days_with, "day", "days"),
                t.average_with,
                t.days_without,
                t.average_without
            ));
        }
    }
    out.join("\n")
}
