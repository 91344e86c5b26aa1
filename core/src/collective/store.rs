//! Collectives in SQL: each one's log, change by change as it arrived.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::change::{Change, CollectiveId};
use super::state::{Added, Log};
use crate::identity::IdentityKey;
use crate::time::from_ms;
use crate::{Error, Result};

/// No collective's log holds more changes: a member who floods one is
/// refused past it (`CollectiveError::LogFull`).
pub const MAX_LOG_CHANGES: usize = 50_000;
/// Nor more of one author's: a steward's years of work, not a flood.
pub const MAX_CHANGES_PER_AUTHOR: usize = 5_000;

/// A collective as this vault keeps it.
pub(crate) struct Kept {
    pub seq: i64,
    pub joined_at: DateTime<Utc>,
    pub asked_at: Option<DateTime<Utc>>,
    /// Taken anew at every change to the log (`crate::vault::memo`).
    pub log_token: i64,
}

pub(crate) fn kept(conn: &Connection, id: CollectiveId) -> Result<Option<Kept>> {
    let row: Option<(i64, i64, Option<i64>, i64)> = conn
        .prepare_cached(
            "SELECT seq, joined_at, asked_at, log_token FROM collectives WHERE id = ?1",
        )?
        .query_row([id.0.as_slice()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    row.map(|(seq, joined, asked, log_token)| {
        Ok(Kept {
            seq,
            joined_at: from_ms(joined)?,
            asked_at: asked.map(from_ms).transpose()?,
            log_token,
        })
    })
    .transpose()
}

/// Starts keeping a collective I join or found, its log empty.
pub(crate) fn insert(conn: &Connection, id: CollectiveId, now: DateTime<Utc>) -> Result<Kept> {
    let log_token: i64 = rand::random();
    conn.execute(
        "INSERT INTO collectives (id, joined_at, log_token) VALUES (?1, ?2, ?3)",
        params![id.0.as_slice(), now.timestamp_millis(), log_token],
    )?;
    Ok(Kept {
        seq: conn.last_insert_rowid(),
        joined_at: now,
        asked_at: None,
        log_token,
    })
}

/// Every collective I keep, oldest first.
pub(crate) fn ids(conn: &Connection) -> Result<Vec<CollectiveId>> {
    let mut stmt = conn.prepare_cached("SELECT id FROM collectives ORDER BY seq")?;
    let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
    rows.map(|id| {
        Ok(CollectiveId(
            id?.try_into().map_err(|_| Error::DatabaseDamaged)?,
        ))
    })
    .collect()
}

pub(crate) fn log(conn: &Connection, seq: i64, id: CollectiveId) -> Result<Log> {
    let mut log = Log::new(id);
    let mut stmt =
        conn.prepare_cached("SELECT change FROM collective_changes WHERE collective = ?1")?;
    let rows = stmt.query_map([seq], |r| r.get::<_, Vec<u8>>(0))?;
    for bytes in rows {
        log.add_stored(&bytes?)
            .map_err(|_| Error::DatabaseDamaged)?;
    }
    Ok(log)
}

/// Takes `change` into `log` and the vault; whether it was new. A full log
/// refuses it before anything is written. A new change gives the log a
/// new token, which `kept.log_token` follows.
pub(crate) fn add(
    conn: &Connection,
    kept: &mut Kept,
    log: &mut Log,
    change: Change,
) -> Result<bool> {
    if log.len() >= MAX_LOG_CHANGES || log.count_by(&change.author) >= MAX_CHANGES_PER_AUTHOR {
        return Err(super::CollectiveError::LogFull.into());
    }
    let row = (
        change.author,
        change.seq,
        change.digest(),
        change.as_bytes().to_vec(),
    );
    let added = log.add(change).map_err(super::CollectiveError::from)?;
    if added == Added::Duplicate {
        return Ok(false);
    }
    conn.prepare_cached(
        "INSERT INTO collective_changes (collective, author, seq, digest, change)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        kept.seq,
        row.0.as_bytes().as_slice(),
        row.1 as i64,
        row.2.as_slice(),
        row.3
    ])?;
    let token: i64 = rand::random();
    conn.prepare_cached("UPDATE collectives SET log_token = ?2 WHERE seq = ?1")?
        .execute(params![kept.seq, token])?;
    kept.log_token = token;
    Ok(true)
}

pub(crate) fn set_asked(conn: &Connection, seq: i64, at: DateTime<Utc>) -> Result<()> {
    conn.execute(
        "UPDATE collectives SET asked_at = ?2 WHERE seq = ?1",
        params![seq, at.timestamp_millis()],
    )?;
    Ok(())
}

/// Whether I answered `asker` about this collective after `since`.
pub(crate) fn answered_lately(
    conn: &Connection,
    seq: i64,
    asker: &IdentityKey,
    since: DateTime<Utc>,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM collective_answers
             WHERE collective = ?1 AND asker = ?2 AND answered_at > ?3)",
        )?
        .query_row(
            params![seq, asker.as_bytes().as_slice(), since.timestamp_millis()],
            |r| r.get(0),
        )?)
}

pub(crate) fn set_answered(
    conn: &Connection,
    seq: i64,
    asker: &IdentityKey,
    at: DateTime<Utc>,
) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO collective_answers (collective, asker, answered_at)
         VALUES (?1, ?2, ?3)",
        params![seq, asker.as_bytes().as_slice(), at.timestamp_millis()],
    )?;
    Ok(())
}

/// Forgets a collective and its log: after leaving it.
pub(crate) fn delete(conn: &Connection, seq: i64) -> Result<()> {
    conn.execute("DELETE FROM collectives WHERE seq = ?1", [seq])?;
    Ok(())
}

/// Keeps a whole log as if every change had arrived (testing).
#[cfg(feature = "testing")]
pub(crate) fn keep(conn: &Connection, log: &Log, now: DateTime<Utc>) -> Result<()> {
    let mut kept = insert(conn, log.collective(), now)?;
    let mut copy = Log::new(log.collective());
    for change in log.changes() {
        add(conn, &mut kept, &mut copy, change.clone())?;
    }
    Ok(())
}
