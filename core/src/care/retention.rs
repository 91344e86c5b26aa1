//! Closed requests do not linger: fulfilled, withdrawn and expired ones,
//! and copies that were covered by someone else, are deleted after a
//! retention period, with their offers, their envelopes in the outbox and
//! their words in the search index.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, params};

use super::{Care, RequestId};
use crate::envelope;
use crate::vault::settings;
use crate::{Error, Result};

const RETENTION_SETTING: &str = "care_retention_days";

pub const DEFAULT_RETENTION_DAYS: u32 = 30;
const MAX_RETENTION_DAYS: u32 = 3_650;

impl Care<'_> {
    /// Days a closed request is kept before it is deleted.
    pub fn retention_days(&self) -> Result<u32> {
        self.vault.with_conn(retention_days)
    }

    /// Sets the retention period (1 to 3,650 days) and deletes what is
    /// already older than it.
    pub fn set_retention_days(&self, days: u32) -> Result<u64> {
        if !(1..=MAX_RETENTION_DAYS).contains(&days) {
            return Err(Error::invalid("retention", "1 to 3,650 days"));
        }
        self.vault.with_tx(|tx| {
            settings::set(tx, RETENTION_SETTING, &days.to_string())?;
            sweep(tx, Utc::now())
        })
    }

    /// Deletes what retention says is due; returns how many requests went.
    /// The vault also does this when it unlocks and as care envelopes arrive.
    pub fn sweep(&self) -> Result<u64> {
        self.vault.with_tx(|tx| sweep(tx, Utc::now()))
    }
}

fn retention_days(conn: &Connection) -> Result<u32> {
    match settings::get(conn, RETENTION_SETTING)? {
        Some(v) => v.parse().map_err(|_| Error::DatabaseDamaged),
        None => Ok(DEFAULT_RETENTION_DAYS),
    }
}

pub(crate) fn sweep(conn: &Connection, now: DateTime<Utc>) -> Result<u64> {
    let cutoff = (now - Duration::days(retention_days(conn)?.into())).timestamp_millis();
    // Covered copies: matched, and neither mine nor accepted from me.
    let due: Vec<(i64, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT seq, id FROM care_requests WHERE status IN (2, 3) AND changed_at <= ?1
             UNION ALL
             SELECT seq, id FROM care_requests INDEXED BY care_open_by_expiry
             WHERE status = 0 AND expires_at <= ?1
             UNION ALL
             SELECT seq, id FROM care_requests r
             WHERE status = 1 AND changed_at <= ?1 AND requester IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM care_offers o
                               WHERE o.id = r.accepted_offer AND o.helper IS NULL)",
        )?
        .query_map([cutoff], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (seq, id) in &due {
        let id = RequestId(uuid::Uuid::from_slice(id).map_err(|_| Error::DatabaseDamaged)?);
        conn.execute(
            "INSERT INTO care_fts (care_fts, rowid, title, details, location)
             SELECT 'delete', seq, title, details, coalesce(location, '')
             FROM care_requests WHERE seq = ?1",
            [seq],
        )?;
        envelope::forget_outbox_about(conn, &id.to_string())?;
        conn.execute("DELETE FROM care_requests WHERE seq = ?1", [seq])?;
    }
    conn.execute(
        "DELETE FROM care_parked WHERE received_at <= ?1",
        params![cutoff],
    )?;
    Ok(due.len() as u64)
}
