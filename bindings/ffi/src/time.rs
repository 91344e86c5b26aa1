//! Instants cross the boundary as Unix milliseconds; local wall-clock times
//! as ISO 8601 text (`2026-12-05T18:00`). Both work on Android API 26 and
//! iOS 15 without extra libraries.

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::TendError;

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(ms: i64, field: &str) -> Result<DateTime<Utc>, TendError> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| invalid(field, "not a valid instant"))
}

pub(crate) use tend_core::gatherings::local_time_text as local;

pub(crate) fn parse_local(text: &str, field: &str) -> Result<NaiveDateTime, TendError> {
    tend_core::gatherings::parse_local_time(text)
        .map_err(|_| invalid(field, "not a local time like 2026-12-05T18:00"))
}

pub(crate) fn invalid(field: &str, problem: &str) -> TendError {
    TendError::Invalid {
        field: field.into(),
        problem: problem.into(),
    }
}
