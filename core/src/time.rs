//! Times as the vault stores them (Unix milliseconds, UTC) and local
//! wall-clock times as Tend writes and people type them.

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::{Error, Result};

/// A stored time; out of chrono's range only if the database is damaged.
pub(crate) fn from_ms(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or(Error::DatabaseDamaged)
}

pub(crate) const LOCAL: &str = "%Y-%m-%dT%H:%M:%S";

/// A local wall-clock time as Tend writes it: `2026-12-05T18:00:00`.
pub fn local_text(t: NaiveDateTime) -> String {
    t.format(LOCAL).to_string()
}

/// A local wall-clock time as people type it, `2026-12-05T18:00` (seconds
/// allowed): for the command line and the apps alike.
pub fn parse_local_time(text: &str) -> Result<NaiveDateTime> {
    let text = text.trim();
    NaiveDateTime::parse_from_str(text, LOCAL)
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
        .map_err(|_| Error::invalid("local time", "not a local time like 2026-12-05T18:00"))
}
