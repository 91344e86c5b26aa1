//! Insights: mood over time, how moods spread, and which tags go with better
//! or worse days. No streaks and no nudges: nothing here scolds.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use rusqlite::Connection;
use serde::Serialize;

use super::entry::TagKind;
use super::{Journal, mood};
use crate::{Error, Result};

/// A tag is compared only with enough days on both sides to mean anything.
pub const MIN_DAYS_EACH_SIDE: u64 = 3;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Insights {
    pub counts: Counts,
    pub distribution: Vec<MoodCount>,
    pub by_day: Vec<PeriodMood>,
    /// Weeks start on Monday.
    pub by_week: Vec<PeriodMood>,
    pub by_month: Vec<PeriodMood>,
    /// Tags by how much better days with them were, best first.
    pub tags: Vec<TagMood>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Counts {
    pub entries: u64,
    pub entries_with_mood: u64,
    pub days_written: u64,
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
}

#[derive(Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MoodCount {
    pub value: u8,
    pub label: String,
    pub entries: u64,
}

/// Mean mood of the entries in a period that starts on `start`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PeriodMood {
    pub start: NaiveDate,
    pub average: f64,
    pub entries: u64,
}

/// Mean daily mood on days with the tag against days without it.
#[derive(Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TagMood {
    pub kind: TagKind,
    pub name: String,
    pub days_with: u64,
    pub days_without: u64,
    pub average_with: f64,
    pub average_without: f64,
}

impl std::fmt::Debug for MoodCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MoodCount")
            .field("value", &self.value)
            .field("label", &crate::redact::Text(&self.label))
            .field("entries", &self.entries)
            .finish()
    }
}

impl std::fmt::Debug for TagMood {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TagMood")
            .field("kind", &self.kind)
            .field("name", &crate::redact::Text(&self.name))
            .field("days_with", &self.days_with)
            .field("days_without", &self.days_without)
            .field("average_with", &self.average_with)
            .field("average_without", &self.average_without)
            .finish()
    }
}

impl TagMood {
    pub fn difference(&self) -> f64 {
        self.average_with - self.average_without
    }
}

impl Journal<'_> {
    /// Insights over the local days `from..=to`, or everything.
    pub fn insights(&self, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<Insights> {
        if from.zip(to).is_some_and(|(f, t)| f > t) {
            return Err(Error::invalid("date range", "starts after it ends"));
        }
        let from = from.map_or_else(|| "0000-00-00".to_owned(), |d| d.to_string());
        let to = to.map_or_else(|| "9999-99-99".to_owned(), |d| d.to_string());
        self.vault.with_conn(|conn| compute(conn, &from, &to))
    }
}

#[derive(Default)]
struct Day {
    sum: u64,
    entries: u64,
}

impl Day {
    fn mean(&self) -> f64 {
        self.sum as f64 / self.entries as f64
    }
}

/// Two sequential scans (entries, then their tags) instead of a join per
/// tag: 10 years of daily entries take a few milliseconds.
fn compute(conn: &Connection, from: &str, to: &str) -> Result<Insights> {
    let scale = mood::read_scale(conn)?;
    let mut counts = Counts {
        entries: 0,
        entries_with_mood: 0,
        days_written: 0,
        first_day: None,
        last_day: None,
    };
    let mut per_value: HashMap<u8, u64> = HashMap::new();
    let mut days: BTreeMap<NaiveDate, Day> = BTreeMap::new();
    let mut all_days: HashSet<NaiveDate> = HashSet::new();
    // Days with a mood, by entry, for the tag comparison.
    let mut day_of_entry: HashMap<i64, NaiveDate> = HashMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT seq, local_day, mood FROM entries WHERE local_day BETWEEN ?1 AND ?2",
    )?;
    let mut rows = stmt.query((from, to))?;
    while let Some(row) = rows.next()? {
        let day = parse_day(row.get_ref(1)?.as_str()?)?;
        counts.entries += 1;
        all_days.insert(day);
        let Some(value) = row.get::<_, Option<u8>>(2)? else {
            continue;
        };
        counts.entries_with_mood += 1;
        *per_value.entry(value).or_default() += 1;
        let d = days.entry(day).or_default();
        d.sum += u64::from(value);
        d.entries += 1;
        day_of_entry.insert(row.get(0)?, day);
    }
    counts.days_written = all_days.len() as u64;
    counts.first_day = all_days.iter().min().copied();
    counts.last_day = all_days.iter().max().copied();

    let distribution = scale
        .steps
        .iter()
        .map(|s| MoodCount {
            value: s.value,
            label: s.label.clone(),
            entries: per_value.get(&s.value).copied().unwrap_or(0),
        })
        .collect();
    let by_day = days
        .iter()
        .map(|(&start, d)| PeriodMood {
            start,
            average: d.mean(),
            entries: d.entries,
        })
        .collect();
    let by_week = roll_up(&days, |d| {
        d - chrono::Days::new(u64::from(d.weekday().num_days_from_monday()))
    });
    let by_month = roll_up(&days, |d| d.with_day(1).expect("every month has a first"));
    let tags = tag_moods(conn, &day_of_entry, &days)?;

    Ok(Insights {
        counts,
        distribution,
        by_day,
        by_week,
        by_month,
        tags,
    })
}

/// `YYYY-MM-DD`, as stored; chrono's general parser is the slow part of a scan.
fn parse_day(text: &str) -> Result<NaiveDate> {
    let b = text.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b.get(r)?.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    (|| {
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)
    })()
    .ok_or(Error::DatabaseDamaged)
}

fn roll_up(
    days: &BTreeMap<NaiveDate, Day>,
    period: impl Fn(NaiveDate) -> NaiveDate,
) -> Vec<PeriodMood> {
    let mut periods: BTreeMap<NaiveDate, Day> = BTreeMap::new();
    for (&day, d) in days {
        let p = periods.entry(period(day)).or_default();
        p.sum += d.sum;
        p.entries += d.entries;
    }
    periods
        .into_iter()
        .map(|(start, d)| PeriodMood {
            start,
            average: d.mean(),
            entries: d.entries,
        })
        .collect()
}

fn tag_moods(
    conn: &Connection,
    day_of_entry: &HashMap<i64, NaiveDate>,
    days: &BTreeMap<NaiveDate, Day>,
) -> Result<Vec<TagMood>> {
    let mut tag_days: HashMap<i64, HashSet<NaiveDate>> = HashMap::new();
    let mut stmt = conn.prepare_cached("SELECT entry, tag FROM entry_tags")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        if let Some(day) = day_of_entry.get(&row.get(0)?) {
            tag_days.entry(row.get(1)?).or_default().insert(*day);
        }
    }
    let total_days = days.len() as u64;
    let total_sum: f64 = days.values().map(Day::mean).sum();
    let mut names = conn.prepare_cached("SELECT kind, name FROM tags WHERE id = ?1")?;
    let mut out = Vec::new();
    for (tag, with) in tag_days {
        let days_with = with.len() as u64;
        let days_without = total_days - days_with;
        if days_with < MIN_DAYS_EACH_SIDE || days_without < MIN_DAYS_EACH_SIDE {
            continue;
        }
        let (kind, name): (i64, String) = names.query_row([tag], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let sum_with: f64 = with.iter().map(|d| days[d].mean()).sum();
        out.push(TagMood {
            kind: TagKind::from_code(kind)?,
            name,
            days_with,
            days_without,
            average_with: sum_with / days_with as f64,
            average_without: (total_sum - sum_with) / days_without as f64,
        });
    }
    out.sort_by(|a, b| {
        b.difference()
            .total_cmp(&a.difference())
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(out)
}
