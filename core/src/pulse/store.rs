//! The pulse's tables: `pulses` (each pulse and, once decided, its
//! totals), and while one is counted, `pulse_shares` (a tallier's shares)
//! and `pulse_tallies` (the talliers' lists and sums).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use zeroize::Zeroizing;

use super::shares::{Counts, Vector, WIDTH};
use super::wire::{Start, Tally};
use super::{Outcome, PulseFailure, PulseId};
use crate::collective::CollectiveId;
use crate::comrades::IdentityKey;
use crate::time::from_ms;
use crate::{Error, Result};

/// Which of a tallier's two messages a tally row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    Count = 1,
    Sum = 2,
}

pub(super) struct Stored {
    pub start: Start,
    pub answered_at: Option<DateTime<Utc>>,
    /// When my vault, as a tallier, sent its list.
    pub counting: Option<DateTime<Utc>>,
    /// When my vault, as a tallier, sent its sums.
    pub summed: Option<DateTime<Utc>>,
    pub outcome: Option<Outcome>,
}

fn id_bytes(id: PulseId) -> [u8; 16] {
    *id.0.as_bytes()
}

fn key_list(keys: &[IdentityKey]) -> Vec<u8> {
    keys.iter().flat_map(|k| k.as_bytes().to_vec()).collect()
}

fn keys_from(bytes: &[u8]) -> Result<Vec<IdentityKey>> {
    if !bytes.len().is_multiple_of(32) {
        return Err(Error::DatabaseDamaged);
    }
    Ok(bytes
        .chunks(32)
        .map(|c| IdentityKey(c.try_into().expect("32-byte chunks")))
        .collect())
}

fn vector_bytes(v: &Vector) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(v.iter().flat_map(|x| x.to_be_bytes()).collect())
}

fn vector_from(bytes: &[u8]) -> Result<Zeroizing<Vector>> {
    if bytes.len() != WIDTH * 8 {
        return Err(Error::DatabaseDamaged);
    }
    let mut v = Zeroizing::new([0; WIDTH]);
    for (x, chunk) in v.iter_mut().zip(bytes.chunks(8)) {
        *x = u64::from_be_bytes(chunk.try_into().expect("8-byte chunks"));
    }
    Ok(v)
}

/// Keeps a pulse I started or was told of; a second start of the same
/// pulse (two stewards' months) changes nothing.
pub(super) fn insert(conn: &Connection, start: &Start) -> Result<bool> {
    let added = conn.execute(
        "INSERT OR IGNORE INTO pulses
             (id, collective, started_at, closes_at, threshold, mood_steps, talliers)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            id_bytes(start.pulse).as_slice(),
            start.collective.0.as_slice(),
            start.started_at.timestamp_millis(),
            start.closes_at.timestamp_millis(),
            start.threshold,
            start.mood_steps,
            key_list(&start.talliers)
        ],
    )?;
    Ok(added == 1)
}

const COLUMNS: &str = "collective, started_at, closes_at, threshold, mood_steps, talliers,
    answered_at, counted_at, summed_at, outcome, answers, green, yellow, red, moods, mood_sum";

type Row = (
    (Vec<u8>, i64, i64, u8, u8, Vec<u8>),
    (Option<i64>, Option<i64>, Option<i64>),
    (Option<i64>, [Option<i64>; 6]),
);

pub(super) fn pulse(conn: &Connection, id: PulseId) -> Result<Option<Stored>> {
    let row: Option<Row> = conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM pulses WHERE id = ?1"),
            [id_bytes(id).as_slice()],
            |r| {
                Ok((
                    (
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ),
                    (r.get(6)?, r.get(7)?, r.get(8)?),
                    (
                        r.get(9)?,
                        [
                            r.get(10)?,
                            r.get(11)?,
                            r.get(12)?,
                            r.get(13)?,
                            r.get(14)?,
                            r.get(15)?,
                        ],
                    ),
                ))
            },
        )
        .optional()?;
    let Some((
        (collective, started, closes, threshold, mood_steps, talliers),
        (answered, counted, summed),
        (outcome, totals),
    )) = row
    else {
        return Ok(None);
    };
    let time = |ms: Option<i64>| ms.map(from_ms).transpose();
    Ok(Some(Stored {
        start: Start {
            collective: CollectiveId(collective.try_into().map_err(|_| Error::DatabaseDamaged)?),
            pulse: id,
            started_at: from_ms(started)?,
            closes_at: from_ms(closes)?,
            threshold,
            mood_steps,
            talliers: keys_from(&talliers)?,
        },
        answered_at: time(answered)?,
        counting: time(counted)?,
        summed: time(summed)?,
        outcome: outcome.map(|code| outcome_from(code, totals)).transpose()?,
    }))
}

fn outcome_from(code: i64, totals: [Option<i64>; 6]) -> Result<Outcome> {
    let n = |i: usize| {
        totals[i]
            .and_then(|x| u64::try_from(x).ok())
            .ok_or(Error::DatabaseDamaged)
    };
    Ok(match code {
        0 => Outcome::Totals {
            answers: n(0)?,
            counts: Counts {
                green: n(1)?,
                yellow: n(2)?,
                red: n(3)?,
                moods: n(4)?,
                mood_sum: n(5)?,
            },
        },
        1 => Outcome::TooFew { answers: n(0)? },
        2 => Outcome::Failed(PulseFailure::TalliersSilent),
        3 => Outcome::Failed(PulseFailure::TalliesDisagree),
        _ => return Err(Error::DatabaseDamaged),
    })
}

/// A collective's pulses, newest first.
pub(super) fn ids_of(conn: &Connection, collective: CollectiveId) -> Result<Vec<PulseId>> {
    ids(
        conn,
        "SELECT id FROM pulses WHERE collective = ?1 ORDER BY started_at DESC, id",
        [collective.0.as_slice()],
    )
}

/// Pulses not yet decided.
pub(super) fn undecided(conn: &Connection) -> Result<Vec<PulseId>> {
    ids(conn, "SELECT id FROM pulses WHERE outcome IS NULL", [])
}

fn ids(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<Vec<PulseId>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, |r| r.get::<_, Vec<u8>>(0))?;
    rows.map(|id| {
        let id: [u8; 16] = id?.try_into().map_err(|_| Error::DatabaseDamaged)?;
        Ok(PulseId(uuid::Uuid::from_bytes(id)))
    })
    .collect()
}

/// Every collective some pulse of mine belongs to.
pub(super) fn collectives(conn: &Connection) -> Result<Vec<CollectiveId>> {
    let mut stmt = conn.prepare_cached(
        "SELECT collective FROM pulses UNION SELECT collective FROM pulse_shares
         UNION SELECT collective FROM pulse_tallies",
    )?;
    let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
    rows.map(|id| {
        Ok(CollectiveId(
            id?.try_into().map_err(|_| Error::DatabaseDamaged)?,
        ))
    })
    .collect()
}

/// When the latest pulse of a collective started.
pub(super) fn latest_start(
    conn: &Connection,
    collective: CollectiveId,
) -> Result<Option<DateTime<Utc>>> {
    let at: Option<i64> = conn.query_row(
        "SELECT MAX(started_at) FROM pulses WHERE collective = ?1",
        [collective.0.as_slice()],
        |r| r.get(0),
    )?;
    at.map(from_ms).transpose()
}

fn set_time(conn: &Connection, column: &str, id: PulseId, now: DateTime<Utc>) -> Result<()> {
    conn.execute(
        &format!("UPDATE pulses SET {column} = ?2 WHERE id = ?1"),
        params![id_bytes(id).as_slice(), now.timestamp_millis()],
    )?;
    Ok(())
}

pub(super) fn set_answered(conn: &Connection, id: PulseId, now: DateTime<Utc>) -> Result<()> {
    set_time(conn, "answered_at", id, now)
}

pub(super) fn set_counted(conn: &Connection, id: PulseId, now: DateTime<Utc>) -> Result<()> {
    set_time(conn, "counted_at", id, now)
}

pub(super) fn set_summed(conn: &Connection, id: PulseId, now: DateTime<Utc>) -> Result<()> {
    set_time(conn, "summed_at", id, now)
}

/// Keeps the outcome, and deletes every share, list and sum of the pulse.
pub(super) fn decide(
    conn: &Connection,
    id: PulseId,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> Result<()> {
    let (code, totals): (i64, [Option<u64>; 6]) = match outcome {
        Outcome::Totals { answers, counts } => (
            0,
            [
                Some(answers),
                Some(counts.green),
                Some(counts.yellow),
                Some(counts.red),
                Some(counts.moods),
                Some(counts.mood_sum),
            ],
        ),
        Outcome::TooFew { answers } => (1, [Some(answers), None, None, None, None, None]),
        Outcome::Failed(PulseFailure::TalliersSilent) => (2, [None; 6]),
        Outcome::Failed(PulseFailure::TalliesDisagree) => (3, [None; 6]),
    };
    conn.execute(
        "UPDATE pulses SET outcome = ?2, answers = ?3, green = ?4, yellow = ?5, red = ?6,
             moods = ?7, mood_sum = ?8, decided_at = ?9
         WHERE id = ?1",
        params![
            id_bytes(id).as_slice(),
            code,
            totals[0],
            totals[1],
            totals[2],
            totals[3],
            totals[4],
            totals[5],
            now.timestamp_millis()
        ],
    )?;
    forget_working(conn, id)
}

fn forget_working(conn: &Connection, id: PulseId) -> Result<()> {
    for table in ["pulse_shares", "pulse_tallies"] {
        conn.execute(
            &format!("DELETE FROM {table} WHERE pulse = ?1"),
            [id_bytes(id).as_slice()],
        )?;
    }
    Ok(())
}

/// Deletes everything of a collective's pulses: I am no longer in it.
pub(super) fn forget_collective(conn: &Connection, collective: CollectiveId) -> Result<()> {
    for table in ["pulses", "pulse_shares", "pulse_tallies"] {
        conn.execute(
            &format!("DELETE FROM {table} WHERE collective = ?1"),
            [collective.0.as_slice()],
        )?;
    }
    Ok(())
}

/// Shares and tallies of pulses my vault never heard of, from before `before`.
pub(super) fn forget_strays(conn: &Connection, before: DateTime<Utc>) -> Result<()> {
    for table in ["pulse_shares", "pulse_tallies"] {
        conn.execute(
            &format!(
                "DELETE FROM {table} WHERE received_at < ?1
                 AND pulse NOT IN (SELECT id FROM pulses)"
            ),
            [before.timestamp_millis()],
        )?;
    }
    Ok(())
}

/// Rows a sender has in `table` about pulses my vault has not heard of.
pub(super) fn strays_from(conn: &Connection, table: &str, from: &IdentityKey) -> Result<u32> {
    let column = if table == "pulse_shares" {
        "member"
    } else {
        "tallier"
    };
    Ok(conn.query_row(
        &format!(
            "SELECT COUNT(*) FROM {table} WHERE {column} = ?1
             AND pulse NOT IN (SELECT id FROM pulses)"
        ),
        [from.as_bytes().as_slice()],
        |r| r.get(0),
    )?)
}

/// A member's share, once; `false` when one is held already.
pub(super) fn put_share(
    conn: &Connection,
    id: PulseId,
    collective: CollectiveId,
    member: &IdentityKey,
    share: &Vector,
    now: DateTime<Utc>,
) -> Result<bool> {
    let added = conn.execute(
        "INSERT OR IGNORE INTO pulse_shares (pulse, collective, member, share, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            id_bytes(id).as_slice(),
            collective.0.as_slice(),
            member.as_bytes().as_slice(),
            vector_bytes(share).as_slice(),
            now.timestamp_millis()
        ],
    )?;
    Ok(added == 1)
}

#[cfg(feature = "testing")]
pub(super) fn drop_share(conn: &Connection, id: PulseId, member: &IdentityKey) -> Result<()> {
    conn.execute(
        "DELETE FROM pulse_shares WHERE pulse = ?1 AND member = ?2",
        params![id_bytes(id).as_slice(), member.as_bytes().as_slice()],
    )?;
    Ok(())
}

/// The shares I hold of a pulse, by member.
pub(super) fn shares(
    conn: &Connection,
    id: PulseId,
    collective: CollectiveId,
) -> Result<Vec<(IdentityKey, Zeroizing<Vector>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT member, share FROM pulse_shares WHERE pulse = ?1 AND collective = ?2",
    )?;
    let rows = stmt.query_map(
        params![id_bytes(id).as_slice(), collective.0.as_slice()],
        |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                Zeroizing::new(r.get::<_, Vec<u8>>(1)?),
            ))
        },
    )?;
    rows.map(|row| {
        let (member, share) = row?;
        Ok((IdentityKey::from_stored(member)?, vector_from(&share)?))
    })
    .collect()
}

/// A tallier's list (and at the second stage its sums), once per stage.
pub(super) fn put_tally(
    conn: &Connection,
    stage: Stage,
    tallier: &IdentityKey,
    tally: &Tally,
    now: DateTime<Utc>,
) -> Result<bool> {
    let added = conn.execute(
        "INSERT OR IGNORE INTO pulse_tallies
             (pulse, collective, tallier, stage, counted, sums, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            id_bytes(tally.pulse).as_slice(),
            tally.collective.0.as_slice(),
            tallier.as_bytes().as_slice(),
            stage as i64,
            key_list(&tally.counted),
            tally.sums.as_ref().map(|s| vector_bytes(s).to_vec()),
            now.timestamp_millis()
        ],
    )?;
    Ok(added == 1)
}

/// The tallies of one stage held for a pulse, by tallier.
pub(super) fn tallies(
    conn: &Connection,
    start: &Start,
    stage: Stage,
) -> Result<Vec<(IdentityKey, Tally)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT tallier, counted, sums FROM pulse_tallies
         WHERE pulse = ?1 AND collective = ?2 AND stage = ?3",
    )?;
    let rows = stmt.query_map(
        params![
            id_bytes(start.pulse).as_slice(),
            start.collective.0.as_slice(),
            stage as i64
        ],
        |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Option<Vec<u8>>>(2)?,
            ))
        },
    )?;
    rows.map(|row| {
        let (tallier, counted, sums) = row?;
        Ok((
            IdentityKey::from_stored(tallier)?,
            Tally {
                collective: start.collective,
                pulse: start.pulse,
                counted: keys_from(&counted)?,
                sums: sums.map(|s| vector_from(&s).map(|v| *v)).transpose()?,
            },
        ))
    })
    .collect()
}
