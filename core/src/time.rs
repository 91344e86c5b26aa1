//! Times as the vault stores them: Unix milliseconds, UTC.

use chrono::{DateTime, Utc};

use crate::{Error, Result};

/// A stored time; out of chrono's range only if the database is damaged.
pub(crate) fn from_ms(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or(Error::DatabaseDamaged)
}
