//! How the core's values cross to Kotlin and Swift, with the `uniffi`
//! feature that only tend-ffi turns on: instants as Unix milliseconds, an
//! instant with the writer's UTC offset as RFC 3339 text, dates and local
//! wall-clock times as ISO 8601 text, lengths of time in whole seconds.
//! Ids cross as their text (`id::uuid_id`). `core/uniffi.toml` turns these
//! into java.time types in Kotlin and into `Date` and `TimeInterval` in
//! Swift; the values crossing stay these.
//!
//! A value these refuse (a date past chrono's ±262,000 years, a malformed
//! id) inside a record the app built reaches the app as uniffi's internal
//! error, not a `TendError`: uniffi lifts records before Tend runs.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use uniffi::deps::anyhow::anyhow;

// The names the apps see.
type Instant = DateTime<Utc>;
type OffsetDateTime = DateTime<FixedOffset>;
type LocalDate = NaiveDate;
type LocalDateTime = NaiveDateTime;
type Seconds = Duration;

uniffi::custom_type!(Instant, i64, {
    remote,
    lower: |t| t.timestamp_millis(),
    try_lift: |ms| DateTime::from_timestamp_millis(ms).ok_or_else(|| anyhow!("not an instant")),
});

uniffi::custom_type!(OffsetDateTime, String, {
    remote,
    lower: |t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, false),
    try_lift: |text| Ok(DateTime::parse_from_rfc3339(&text)?),
});

uniffi::custom_type!(LocalDate, String, {
    remote,
    lower: |d| d.to_string(),
    try_lift: |text| Ok(text.parse::<NaiveDate>()?),
});

uniffi::custom_type!(LocalDateTime, String, {
    remote,
    lower: |t| crate::time::local_text(t),
    try_lift: |text| crate::time::parse_local_time(&text).map_err(|e| anyhow!("{e}")),
});

uniffi::custom_type!(Seconds, i64, {
    remote,
    lower: |d| d.num_seconds(),
    try_lift: |s| Duration::try_seconds(s).ok_or_else(|| anyhow!("not a length of time")),
});
