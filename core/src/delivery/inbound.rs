//! Where each mailbox was read up to on each relay, and which transport
//! items were taken in already (relays serve the same event twice, and
//! several relays serve the same event).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{
    BACKDATE_WINDOW, CLOCK_SKEW, LONGEST_STAY, Mailbox, RelayUrl, week_closes, week_start,
};
use crate::Result;
use crate::time::from_ms;

/// When the last complete fetch of this mailbox on this relay began.
fn cursor(conn: &Connection, mailbox: &Mailbox, relay: &RelayUrl) -> Result<Option<DateTime<Utc>>> {
    let at: Option<i64> = conn
        .prepare_cached(
            "SELECT fetched_until FROM mailbox_cursors
             WHERE mailbox = ?1 AND week = ?2 AND relay = ?3",
        )?
        .query_row(params![mailbox.seq, week(mailbox), relay.as_str()], |r| {
            r.get(0)
        })
        .optional()?;
    at.map(from_ms).transpose()
}

/// The week a cursor is kept under: -1 for a mailbox from before weeks.
fn week(mailbox: &Mailbox) -> i64 {
    mailbox.week.unwrap_or(-1)
}

/// Where a fetch of this mailbox on this relay begins, or `None` when it
/// need not be fetched at all: a past week's mailbox that a complete fetch
/// read after it closed holds nothing new. Events are dated up to
/// [`BACKDATE_WINDOW`] before they are published.
pub(crate) fn fetch_from(
    conn: &Connection,
    mailbox: &Mailbox,
    relay: &RelayUrl,
) -> Result<Option<Option<DateTime<Utc>>>> {
    let cursor = cursor(conn, mailbox, relay)?;
    let Some(week) = mailbox.week else {
        return Ok(Some(cursor.map(|c| c - BACKDATE_WINDOW)));
    };
    if cursor.is_some_and(|c| c > week_closes(week)) {
        return Ok(None);
    }
    let opened = week_start(week) - CLOCK_SKEW;
    Ok(Some(Some(
        cursor.unwrap_or(opened).max(opened) - BACKDATE_WINDOW,
    )))
}

pub(crate) fn set_cursor(
    conn: &Connection,
    mailbox: &Mailbox,
    relay: &RelayUrl,
    until: DateTime<Utc>,
) -> Result<()> {
    conn.execute(
        "INSERT INTO mailbox_cursors (mailbox, week, relay, fetched_until) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT DO UPDATE SET fetched_until = max(fetched_until, excluded.fetched_until)",
        params![
            mailbox.seq,
            week(mailbox),
            relay.as_str(),
            until.timestamp_millis()
        ],
    )?;
    Ok(())
}

/// Where I had read up to on a relay I no longer receive on.
pub(crate) fn forget_relay(conn: &Connection, relay: &RelayUrl) -> Result<()> {
    conn.execute(
        "DELETE FROM mailbox_cursors WHERE relay = ?1",
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

/// Ids older than anything a relay may still serve are forgotten, and so
/// are the cursors of weeks no longer read.
pub(crate) fn prune_seen(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    conn.execute(
        "DELETE FROM delivery_seen WHERE seen_at < ?1",
        [(now - LONGEST_STAY).timestamp_millis()],
    )?;
    conn.execute(
        "DELETE FROM mailbox_cursors WHERE week >= 0 AND week < ?1",
        [crate::identity::week_of(now - LONGEST_STAY - CLOCK_SKEW)],
    )?;
    Ok(())
}
