//! Where each mailbox was read up to on each relay, and which transport
//! items were taken in already (relays serve the same event twice, and
//! several relays serve the same event).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{LONGEST_STAY, Mailbox, RelayUrl};
use crate::Result;
use crate::time::from_ms;

/// When the last complete fetch of this mailbox on this relay began.
pub(crate) fn cursor(
    conn: &Connection,
    mailbox: &Mailbox,
    relay: &RelayUrl,
) -> Result<Option<DateTime<Utc>>> {
    let at: Option<i64> = conn
        .query_row(
            "SELECT fetched_until FROM relay_cursors WHERE mailbox = ?1 AND relay = ?2",
            params![mailbox.seq, relay.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    at.map(from_ms).transpose()
}

pub(crate) fn set_cursor(
    conn: &Connection,
    mailbox: &Mailbox,
    relay: &RelayUrl,
    until: DateTime<Utc>,
) -> Result<()> {
    conn.execute(
        "INSERT INTO relay_cursors (mailbox, relay, fetched_until) VALUES (?1, ?2, ?3)
         ON CONFLICT DO UPDATE SET fetched_until = max(fetched_until, excluded.fetched_until)",
        params![mailbox.seq, relay.as_str(), until.timestamp_millis()],
    )?;
    Ok(())
}

/// Where I had read up to on a relay I no longer receive on.
pub(crate) fn forget_relay(conn: &Connection, relay: &RelayUrl) -> Result<()> {
    conn.execute(
        "DELETE FROM relay_cursors WHERE relay = ?1",
        [relay.as_str()],
    )?;
    Ok(())
}

pub(crate) fn is_seen(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM delivery_seen WHERE id = ?1)")?
        .query_row([id], |r| r.get(0))?)
}

/// Whether every item that carried an envelope was taken in already.
pub(crate) fn all_seen(conn: &Connection, ids: &[String]) -> Result<bool> {
    for id in ids {
        if !is_seen(conn, id)? {
            return Ok(false);
        }
    }
    Ok(true)
}

pub(crate) fn mark_seen(conn: &Connection, ids: &[String], now: DateTime<Utc>) -> Result<()> {
    let mut insert =
        conn.prepare_cached("INSERT OR IGNORE INTO delivery_seen (id, seen_at) VALUES (?1, ?2)")?;
    for id in ids {
        insert.execute(params![id, now.timestamp_millis()])?;
    }
    Ok(())
}

/// Ids older than anything a relay may still serve are forgotten.
pub(crate) fn prune_seen(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    conn.execute(
        "DELETE FROM delivery_seen WHERE seen_at < ?1",
        [(now - LONGEST_STAY).timestamp_millis()],
    )?;
    Ok(())
}
