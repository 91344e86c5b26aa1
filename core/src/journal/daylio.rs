//! Import of a Daylio CSV export, the most requested import of any mood app.
//!
//! Header: `full_date,date,weekday,time,mood,activities,note_title,note`
//! (newer versions add `scales`; older ones lack `note_title`). Activities are
//! separated by ` | `; times are `21:05` or `9:05 pm`; moods are the member's
//! own labels. Daylio writes local times without an offset, so the member
//! says which time zone the export was made in.

use std::collections::HashMap;
use std::io::Read;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;
use sha2::{Digest, Sha256};

use super::entry::{CleanEntry, EntryId, NewEntry};
use super::mood::MoodScale;
use super::store;
use super::{ImportSummary, Journal, Progress};
use crate::{Error, Result};

/// Daylio's five default moods, best first.
const DAYLIO_DEFAULTS: [&str; 5] = ["rad", "good", "meh", "bad", "awful"];

#[derive(Debug, Clone)]
pub struct DaylioOptions {
    /// Where the entries were written.
    pub time_zone: Tz,
    pub unknown_moods: UnknownMoods,
}

/// What to do with a mood label that is neither Daylio's default nor on the member's scale.
#[derive(Clone, Default)]
pub enum UnknownMoods {
    /// Refuse the file, naming the first line with such a label.
    #[default]
    Report,
    /// The member's own Daylio moods, best first as Daylio lists them, spread
    /// evenly over the scale.
    ByPosition(Vec<String>),
}

impl std::fmt::Debug for UnknownMoods {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnknownMoods::Report => f.write_str("Report"),
            UnknownMoods::ByPosition(labels) => f
                .debug_tuple("ByPosition")
                .field(&crate::redact::Texts(labels))
                .finish(),
        }
    }
}

impl Journal<'_> {
    /// Imports every row or none. Rows already imported are left alone, so
    /// importing the same file twice adds nothing.
    pub fn import_daylio(
        &self,
        input: impl Read,
        options: &DaylioOptions,
        progress: Progress<'_>,
    ) -> Result<ImportSummary> {
        let scale = self.mood_scale()?;
        let moods = MoodMap::new(&scale, &options.unknown_moods);
        let rows = parse(input, &moods, options.time_zone)?;
        let total = rows.len() as u64;
        self.vault.with_tx(|tx| {
            // Daylio has no edit time; the writing time keeps re-imports unchanged.
            let rows = rows
                .iter()
                .map(|(id, entry)| (*id, entry, entry.written_at.timestamp_millis()));
            store::upsert_all(tx, rows, total, progress)
        })
    }
}

struct MoodMap {
    by_label: HashMap<String, u8>,
}

impl MoodMap {
    fn new(scale: &MoodScale, unknown: &UnknownMoods) -> MoodMap {
        let steps = scale.len();
        // Position 0 is the best of `n` labels.
        let spread = |i: usize, n: usize| -> u8 {
            let from_top = (i as f64) * f64::from(steps - 1) / ((n - 1).max(1) as f64);
            (f64::from(steps) - from_top).round() as u8
        };
        let mut by_label = HashMap::new();
        for (i, label) in DAYLIO_DEFAULTS.iter().enumerate() {
            by_label.insert((*label).to_owned(), spread(i, DAYLIO_DEFAULTS.len()));
        }
        if let UnknownMoods::ByPosition(labels) = unknown {
            for (i, label) in labels.iter().enumerate() {
                by_label.insert(label.trim().to_lowercase(), spread(i, labels.len()));
            }
        }
        for step in &scale.steps {
            by_label.insert(step.label.to_lowercase(), step.value);
        }
        MoodMap { by_label }
    }

    fn value(&self, label: &str) -> Option<u8> {
        self.by_label.get(&label.trim().to_lowercase()).copied()
    }
}

struct Columns {
    full_date: usize,
    time: usize,
    mood: usize,
    activities: Option<usize>,
    note_title: Option<usize>,
    note: Option<usize>,
}

impl Columns {
    fn find(header: &csv::StringRecord) -> Result<Columns> {
        let position = |name: &str| {
            header
                .iter()
                .position(|h| h.trim().trim_start_matches('\u{feff}') == name)
        };
        let required = |name: &'static str| {
            position(name).ok_or(Error::Import(
                "not a Daylio export: a required column is missing",
            ))
        };
        Ok(Columns {
            full_date: required("full_date")?,
            time: required("time")?,
            mood: required("mood")?,
            activities: position("activities"),
            note_title: position("note_title"),
            note: position("note"),
        })
    }
}

fn parse(input: impl Read, moods: &MoodMap, tz: Tz) -> Result<Vec<(EntryId, CleanEntry)>> {
    let mut input = std::io::BufReader::new(input);
    check_encoding(std::io::BufRead::fill_buf(&mut input).map_err(Error::io("reading the file"))?)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(input);
    let header = reader
        .headers()
        .map_err(|e| line_error(&e, "unreadable header"))?
        .clone();
    if header.len() == 1 && header[0].contains(';') {
        return Err(Error::Import(
            "the fields are separated by semicolons; Daylio's own export uses commas, so export it again from Daylio",
        ));
    }
    let columns = Columns::find(&header)?;
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(line_error(&e, csv_problem(&e))),
        }
        let line = record.position().map_or(0, |p| p.line());
        rows.push(
            parse_row(&record, &columns, moods, tz)
                .map_err(|problem| Error::ImportLine { line, problem })?,
        );
    }
    Ok(rows)
}

/// A spreadsheet that saved the export again may have changed its encoding.
fn check_encoding(start: &[u8]) -> Result<()> {
    if start.starts_with(&[0xFF, 0xFE]) || start.starts_with(&[0xFE, 0xFF]) {
        return Err(Error::Import(
            "the file is UTF-16 text; save it as UTF-8 (or export it again from Daylio)",
        ));
    }
    Ok(())
}

/// Every check an import makes, without storing anything: for the fuzzer.
#[cfg(feature = "testing")]
pub(crate) fn check(bytes: &[u8]) -> Result<()> {
    // A new vault's scale.
    let steps = ["awful", "bad", "okay", "good", "great"]
        .iter()
        .zip(1..)
        .map(|(label, value)| super::MoodStep {
            value,
            label: (*label).to_owned(),
        })
        .collect();
    let moods = MoodMap::new(&MoodScale { steps }, &UnknownMoods::Report);
    parse(bytes, &moods, chrono_tz::UTC).map(drop)
}

fn csv_problem(e: &csv::Error) -> &'static str {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { .. } => "wrong number of fields",
        csv::ErrorKind::Utf8 { .. } => {
            "not UTF-8 text; save the file as UTF-8 (or export it again from Daylio)"
        }
        _ => "unreadable CSV",
    }
}

fn line_error(e: &csv::Error, problem: &str) -> Error {
    let line = e.position().map_or(0, |p| p.line());
    Error::ImportLine {
        line,
        problem: problem.to_owned(),
    }
}

fn parse_row(
    record: &csv::StringRecord,
    columns: &Columns,
    moods: &MoodMap,
    tz: Tz,
) -> Result<(EntryId, CleanEntry), String> {
    let field = |i: usize| record.get(i).unwrap_or("").trim();
    let optional = |i: Option<usize>| i.map(field).unwrap_or("");
    let date = NaiveDate::parse_from_str(field(columns.full_date), "%Y-%m-%d")
        .map_err(|_| "the date is not a real YYYY-MM-DD date")?;
    let time = parse_time(field(columns.time)).ok_or("the time is not like 21:05 or 9:05 pm")?;
    let mood_label = field(columns.mood);
    let mood = moods.value(mood_label).ok_or(
        "the mood is not one Tend knows: list the export's own moods from best to worst \
         (the command line's --moods)",
    )?;
    if swallows_rows(optional(columns.note)) || swallows_rows(optional(columns.note_title)) {
        return Err(
            "a quote in this row is never closed, so the rows after it run into its note".into(),
        );
    }
    let activities: Vec<String> = optional(columns.activities)
        .split(" | ")
        .map(str::to_owned)
        .collect();
    let title = Some(optional(columns.note_title).to_owned());
    let body = optional(columns.note).to_owned();
    let written_at = localise(date.and_time(time), tz);

    let mut digest = Sha256::new();
    for part in [
        "daylio",
        field(columns.full_date),
        field(columns.time),
        mood_label,
        optional(columns.activities),
        optional(columns.note_title),
        &body,
    ] {
        digest.update(part.as_bytes());
        digest.update([0]);
    }
    let id = EntryId::from_digest(written_at.timestamp_millis(), &digest.finalize());
    let entry = NewEntry {
        written_at: Some(written_at),
        mood: Some(mood),
        feelings: Vec::new(),
        activities,
        title,
        body,
    }
    .clean(chrono::Utc::now())
    .map_err(|e| e.to_string())?;
    Ok((id, entry))
}

/// Whether a field holds what looks like further rows of the export: a
/// line that starts with a date and a comma.
fn swallows_rows(text: &str) -> bool {
    text.lines().skip(1).any(|line| {
        let bytes = line.as_bytes();
        bytes.len() > 11
            && bytes[10] == b','
            && NaiveDate::parse_from_str(&line[..10], "%Y-%m-%d").is_ok()
    })
}

fn parse_time(text: &str) -> Option<NaiveTime> {
    let lower = text.to_lowercase().replace('.', "");
    ["%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M%p", "%I:%M:%S %p"]
        .iter()
        .find_map(|format| NaiveTime::parse_from_str(&lower, format).ok())
}

/// A local time in `tz`. In the fall-back overlap the first (earlier)
/// instant is taken; in the spring-forward gap, the offset before the gap.
pub(crate) fn localise(local: NaiveDateTime, tz: Tz) -> DateTime<FixedOffset> {
    match tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) => t.fixed_offset(),
        chrono::LocalResult::Ambiguous(earlier, _) => earlier.fixed_offset(),
        chrono::LocalResult::None => {
            let before = tz.offset_from_utc_datetime(&(local - chrono::TimeDelta::hours(3)));
            let offset = chrono::Offset::fix(&before);
            offset
                .from_local_datetime(&local)
                .single()
                .expect("a fixed offset has no gaps")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_time_styles_parse() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0);
        assert_eq!(parse_time("21:05"), t(21, 5));
        assert_eq!(parse_time("9:05 pm"), t(21, 5));
        assert_eq!(parse_time("9:05 PM"), t(21, 5));
        assert_eq!(parse_time("12:30 am"), t(0, 30));
        assert_eq!(parse_time("9:05 p.m."), t(21, 5));
        assert_eq!(parse_time("25:00"), None);
        assert_eq!(parse_time("soon"), None);
    }

    #[test]
    fn daylio_defaults_spread_over_other_scales() {
        let scale = |n: u8| MoodScale {
            steps: (1..=n)
                .map(|value| super::super::MoodStep {
                    value,
                    label: format!("step{value}"),
                })
                .collect(),
        };
        let five = MoodMap::new(&scale(5), &UnknownMoods::Report);
        assert_eq!(five.value("RAD"), Some(5));
        assert_eq!(five.value("meh"), Some(3));
        assert_eq!(five.value("awful"), Some(1));
        let three = MoodMap::new(&scale(3), &UnknownMoods::Report);
        assert_eq!(three.value("rad"), Some(3));
        assert_eq!(three.value("meh"), Some(2));
        assert_eq!(three.value("awful"), Some(1));
        assert_eq!(three.value("ecstatic"), None);
        let custom = MoodMap::new(
            &scale(10),
            &UnknownMoods::ByPosition(vec!["Ecstatic".into(), "Terrible".into()]),
        );
        assert_eq!(custom.value("ecstatic"), Some(10));
        assert_eq!(custom.value("terrible"), Some(1));
    }

    #[test]
    fn gap_and_overlap_times_have_one_answer() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let gap = NaiveDate::from_ymd_opt(2026, 3, 29)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(localise(gap, tz).offset().local_minus_utc(), 3600);
        let overlap = NaiveDate::from_ymd_opt(2026, 10, 25)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(localise(overlap, tz).offset().local_minus_utc(), 7200);
    }
}
