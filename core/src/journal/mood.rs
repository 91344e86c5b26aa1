//! The member's mood scale: 3 to 10 steps, 1 the lowest. Labels can change;
//! the numbers entries store never do.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::Journal;
use crate::{Error, Result};

pub const MIN_STEPS: usize = 3;
pub const MAX_STEPS: usize = 10;

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MoodStep {
    pub value: u8,
    pub label: String,
}

impl std::fmt::Debug for MoodStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MoodStep")
            .field("value", &self.value)
            .field("label", &crate::redact::Text(&self.label))
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MoodScale {
    pub steps: Vec<MoodStep>,
}

impl MoodScale {
    pub fn len(&self) -> u8 {
        self.steps.len() as u8
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    pub fn label(&self, value: u8) -> Option<&str> {
        self.steps
            .iter()
            .find(|s| s.value == value)
            .map(|s| s.label.as_str())
    }

    /// The step whose label matches, ignoring case and surrounding space.
    pub fn value_of(&self, label: &str) -> Option<u8> {
        let label = label.trim().to_lowercase();
        self.steps
            .iter()
            .find(|s| s.label.to_lowercase() == label)
            .map(|s| s.value)
    }

    fn from_labels(labels: Vec<String>) -> Result<MoodScale> {
        if !(MIN_STEPS..=MAX_STEPS).contains(&labels.len()) {
            return Err(Error::MoodScaleSize(labels.len()));
        }
        let steps = labels
            .into_iter()
            .zip(1u8..)
            .map(|(label, value)| {
                Ok(MoodStep {
                    value,
                    label: clean_label(&label)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(MoodScale { steps })
    }
}

fn clean_label(label: &str) -> Result<String> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 32 || label.chars().any(char::is_control) {
        return Err(Error::invalid("mood label", "1 to 32 printable characters"));
    }
    Ok(label.to_owned())
}

impl Journal<'_> {
    pub fn mood_scale(&self) -> Result<MoodScale> {
        self.vault.with_conn(read_scale)
    }

    /// Sets the labels, lowest first; their count is the number of steps.
    /// Shrinking is refused while entries use the steps that would go.
    pub fn set_mood_scale(&self, labels_lowest_first: Vec<String>) -> Result<MoodScale> {
        let scale = MoodScale::from_labels(labels_lowest_first)?;
        self.vault.with_tx(|tx| {
            let orphans: u64 = tx.query_row(
                "SELECT count(*) FROM entries WHERE mood > ?1",
                [scale.len()],
                |r| r.get(0),
            )?;
            if orphans > 0 {
                return Err(Error::MoodScaleShrink {
                    steps: scale.len(),
                    entries: orphans,
                });
            }
            write_scale(tx, &scale)?;
            Ok(scale.clone())
        })
    }

    /// Renames one step; entries keep their number.
    pub fn rename_mood(&self, value: u8, label: &str) -> Result<MoodScale> {
        let label = clean_label(label)?;
        self.vault.with_tx(|tx| {
            let changed = tx.execute(
                "UPDATE mood_scale SET label = ?2 WHERE value = ?1",
                (value, &label),
            )?;
            if changed == 0 {
                return Err(Error::NotFound { what: "mood step" });
            }
            read_scale(tx)
        })
    }
}

/// The mean mood of a local day's entries and the steps of my scale, for
/// a pulse answer; `None` when no entry of that day has a mood. Only the
/// mean leaves the journal.
pub(crate) fn mood_of_day(conn: &Connection, day: chrono::NaiveDate) -> Result<Option<(f64, u8)>> {
    let mean: Option<f64> = conn.query_row(
        "SELECT AVG(mood) FROM entries WHERE local_day = ?1 AND mood IS NOT NULL",
        [day.format("%Y-%m-%d").to_string()],
        |r| r.get(0),
    )?;
    Ok(mean.map(|m| (m, read_scale(conn).map_or(5, |s| s.len()))))
}

pub(crate) fn read_scale(conn: &Connection) -> Result<MoodScale> {
    let mut stmt = conn.prepare_cached("SELECT value, label FROM mood_scale ORDER BY value")?;
    let steps = stmt
        .query_map([], |r| {
            Ok(MoodStep {
                value: r.get(0)?,
                label: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(MoodScale { steps })
}

pub(crate) fn write_scale(conn: &Connection, scale: &MoodScale) -> Result<()> {
    conn.execute("DELETE FROM mood_scale", [])?;
    for step in &scale.steps {
        conn.execute(
            "INSERT INTO mood_scale (value, label) VALUES (?1, ?2)",
            (step.value, &step.label),
        )?;
    }
    Ok(())
}

pub(crate) fn check_on_scale(conn: &Connection, mood: Option<u8>) -> Result<()> {
    if mood.is_none() {
        return Ok(());
    }
    let steps: u8 = conn
        .prepare_cached("SELECT count(*) FROM mood_scale")?
        .query_row([], |r| r.get(0))?;
    check_on_steps(mood, steps)
}

/// The same check against a step count already read (bulk imports).
pub(crate) fn check_on_steps(mood: Option<u8>, steps: u8) -> Result<()> {
    match mood {
        Some(value) if value == 0 || value > steps => Err(Error::MoodOutOfScale { value, steps }),
        _ => Ok(()),
    }
}

/// A validated scale from an import.
pub(crate) fn scale_from_steps(steps: Vec<MoodStep>) -> Result<MoodScale> {
    let in_order = steps.iter().zip(1u8..).all(|(s, v)| s.value == v);
    if !in_order {
        return Err(Error::Import(
            "mood scale steps must be numbered 1, 2, 3, ...",
        ));
    }
    MoodScale::from_labels(steps.into_iter().map(|s| s.label).collect())
}
