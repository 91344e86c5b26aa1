//! The vault's small named settings (the `meta` table), for the modules
//! that keep a value or two: my display name, my card's date, care's
//! retention. Each module names its own keys.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};

use crate::{Error, Result};

pub(crate) fn get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

pub(crate) fn set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute([key, value])?;
    Ok(())
}

pub(crate) fn delete(conn: &Connection, key: &str) -> Result<()> {
    conn.execute("DELETE FROM meta WHERE key = ?1", [key])?;
    Ok(())
}

/// A setting kept as an RFC 3339 instant; one that does not parse is damage.
pub(crate) fn get_time(conn: &Connection, key: &str) -> Result<Option<DateTime<Utc>>> {
    get(conn, key)?
        .map(|v| {
            DateTime::parse_from_rfc3339(&v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| Error::DatabaseDamaged)
        })
        .transpose()
}

pub(crate) fn set_time(conn: &Connection, key: &str, at: DateTime<Utc>) -> Result<()> {
    set(conn, key, &at.to_rfc3339())
}
