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
pub struct Counts {
    pub entries: u64,
    pub entries_with_mood: u64,
    pub days_written: u64,
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MoodCount {
    pub value: u8,
    pub label: String,
    pub entries: u64,
}

/// Mean mood of the entries in a period that starts on `start`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodMood {
    pub start: NaiveDate,
    pub average: f64,
    pub entries: u64,
}

/// Mean daily mood on days with the tag against days without it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TagMood {
    pub kind: TagKind,
    pub name: String,
    pub days_with: u64,
    pub days_without: u64,
    pub average_with: f64,
    pub average_without: f64,
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

struct Day {
    sum: u64,
    entries: u64,
}

impl Day {
    fn mean(&self) -> f64 {
        self.sum as f64 / self.entries as f64
    }
}

fn compute(conn: &Connection, from: &str, to: &str) -> Result<Insights> {
    let counts = conn.query_row(
        "SELECT count(*), count(mood), count(DISTINCT local_day), min(local_day), max(local_day)
         FROM entries WHERE local_day BETWEEN ?1 AND ?2",
        (from, to),
        |r| {
            Ok(Counts {
                entries: r.get(0)?,
                entries_with_mood: r.get(1)?,
                days_written: r.get(2)?,
                first_day: r.get::<_, Option<String>>(3)?.and_then(|d| d.parse().ok()),
                last_day: r.get::<_, Option<String>>(4)?.and_then(|d| d.parse().ok()),
            })
        },
    )?;

    let scale = mood::read_scale(conn)?;
    let mut per_value: HashMap<u8, u64> = HashMap::new();
    let mut days: BTreeMap<NaiveDate, Day> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT local_day, mood, count(*) FROM entries
         WHERE mood IS NOT NULL AND local_day BETWEEN ?1 AND ?2
         GROUP BY local_day, mood",
    )?;
    let mut rows = stmt.query((from, to))?;
    while let Some(row) = rows.next()? {
        let day: NaiveDate = parse_day(row.get_ref(0)?.as_str()?)?;
        let value: u8 = row.get(1)?;
        let n: u64 = row.get(2)?;
        *per_value.entry(value).or_default() += n;
        let d = days.entry(day).or_insert(Day { sum: 0, entries: 0 });
        d.sum += u64::from(value) * n;
        d.entries += n;
    }

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
    let tags = tag_moods(conn, from, to, &days)?;

    Ok(Insights {
        counts,
        distribution,
        by_day,
        by_week,
        by_month,
        tags,
    })
}

fn parse_day(text: &str) -> Result<NaiveDate> {
    text.parse().map_err(|_| Error::DatabaseDamaged)
}

fn roll_up(
    days: &BTreeMap<NaiveDate, Day>,
    period: impl Fn(NaiveDate) -> NaiveDate,
) -> Vec<PeriodMood> {
    let mut periods: BTreeMap<NaiveDate, Day> = BTreeMap::new();
    for (&day, d) in days {
        let p = periods
            .entry(period(day))
            .or_insert(Day { sum: 0, entries: 0 });
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
    from: &str,
    to: &str,
    days: &BTreeMap<NaiveDate, Day>,
) -> Result<Vec<TagMood>> {
    let mut tag_days: HashMap<(i64, i64, String), HashSet<NaiveDate>> = HashMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT t.id, t.kind, t.name, e.local_day FROM entry_tags et
         JOIN entries e ON e.seq = et.entry JOIN tags t ON t.id = et.tag
         WHERE e.mood IS NOT NULL AND e.local_day BETWEEN ?1 AND ?2",
    )?;
    let mut rows = stmt.query((from, to))?;
    while let Some(row) = rows.next()? {
        let key = (row.get(0)?, row.get(1)?, row.get(2)?);
        tag_days
            .entry(key)
            .or_default()
            .insert(parse_day(row.get_ref(3)?.as_str()?)?);
    }
    let total_days = days.len() as u64;
    let total_sum: f64 = days.values().map(Day::mean).sum();
    let mut out: Vec<TagMood> = tag_days
        .into_iter()
        .filter_map(|((_, kind, name), with)| {
            let days_with = with.len() as u64;
            let days_without = total_days - days_with;
            if days_with < MIN_DAYS_EACH_SIDE || days_without < MIN_DAYS_EACH_SIDE {
                return None;
            }
            let sum_with: f64 = with.iter().map(|d| days[d].mean()).sum();
            Some(TagMood {
                kind: if kind == 0 {
                    TagKind::Feeling
                } else {
                    TagKind::Activity
                },
                name,
                days_with,
                days_without,
                average_with: sum_with / days_with as f64,
                average_without: (total_sum - sum_with) / days_without as f64,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.difference()
            .total_cmp(&a.difference())
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(out)
}
