//! The relays I receive on. My card names them, so comrades publish there.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::RelayUrl;
use crate::{Error, Result};

/// More relays than this multiplies every fetch for little gain.
pub const MAX_RELAYS: usize = 8;

pub(crate) fn list(conn: &Connection) -> Result<Vec<RelayUrl>> {
    let mut stmt = conn.prepare_cached("SELECT url FROM relays ORDER BY added_at, url")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    rows.map(|url| RelayUrl::from_stored(url?)).collect()
}

/// Whether it was new.
pub(crate) fn add(conn: &Connection, url: &RelayUrl, now: DateTime<Utc>) -> Result<bool> {
    let count: usize = conn.query_row("SELECT count(*) FROM relays", [], |r| r.get(0))?;
    let added = conn.execute(
        "INSERT OR IGNORE INTO relays (url, added_at) VALUES (?1, ?2)",
        params![url.as_str(), now.timestamp_millis()],
    )? > 0;
    if added && count >= MAX_RELAYS {
        return Err(Error::invalid("relays", "at most 8"));
    }
    Ok(added)
}

/// Forgets a relay; delivery forgets where it had read up to on it.
pub(crate) fn remove(conn: &Connection, url: &RelayUrl) -> Result<()> {
    let removed = conn.execute("DELETE FROM relays WHERE url = ?1", [url.as_str()])?;
    if removed == 0 {
        return Err(Error::NotFound { what: "relay" });
    }
    Ok(())
}
