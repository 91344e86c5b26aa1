//! Gatherings of a collective: its members are invited, and so is each
//! member who joins later. One marked visitors welcome is also shared by
//! every member with the visitors they host (`docs/gatherings.md`,
//! "Visitors"): a copy with totals only, never who answered. A visitor
//! answers their host, who passes the answer on to the organiser.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};

use super::invites::{StateBody, ensure_mine, invite_peers, invitees, organiser, seal, state};
use super::model::Gathering;
use super::recurrence::Schedule;
use super::store::local_from;
use super::{GatheringId, Gatherings, kinds, store};
use crate::collective::{self, CollectiveError, CollectiveId};
use crate::comrades::{self, IdentityKey};
use crate::envelope::Sealed;
use crate::{Error, Result};

impl Gatherings<'_> {
    /// Makes my gathering the collective's, and invites its members: those
    /// whose card I hold (a collective introduces its members to each
    /// other), and whoever joins later. Where `visitors_welcome`, each
    /// member shares it with the visitors they host.
    pub fn invite_collective(
        &self,
        id: GatheringId,
        collective: CollectiveId,
        visitors_welcome: bool,
    ) -> Result<Vec<Sealed>> {
        self.vault.with_tx(|tx| {
            let seq = store::seq_of(tx, id)?;
            ensure_mine(tx, seq)?;
            let peers = comrades::peers_for_keys(tx, &collective::fellow_members(tx, collective)?)?;
            if peers.is_empty() {
                return Err(Error::invalid("recipients", "no other member to invite"));
            }
            tx.execute(
                "UPDATE gatherings SET collective = ?2, visitors_welcome = ?3 WHERE seq = ?1",
                params![seq, collective.0.as_slice(), visitors_welcome],
            )?;
            let mut sealed = vec![invite_peers(tx, seq, id, peers)?];
            sealed.extend(to_visitors(tx, seq, None, Utc::now())?);
            Ok(sealed)
        })
    }

    /// Whether the visitors of my collective's gathering see it: its time,
    /// place, description and totals, and may answer. Members are told,
    /// and each shares it with the visitors they host.
    pub fn set_visitors_welcome(&self, id: GatheringId, welcome: bool) -> Result<Vec<Sealed>> {
        self.vault.with_tx(|tx| {
            let seq = store::seq_of(tx, id)?;
            ensure_mine(tx, seq)?;
            if store::load(tx, seq)?.collective.is_none() {
                return Err(Error::invalid(
                    "gathering",
                    "invite a collective to it first",
                ));
            }
            tx.execute(
                "UPDATE gatherings SET visitors_welcome = ?2 WHERE seq = ?1",
                params![seq, welcome],
            )?;
            super::invites::announce(tx, seq, false)
        })
    }
}

/// After a collective changed: members who joined are invited to my
/// gatherings of it, and visitors who came are sent those that welcome
/// them (`collective::Follow`).
pub(crate) fn follow_collectives(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<Sealed>> {
    let rows: Vec<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT seq, collective FROM gatherings WHERE collective IS NOT NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut sealed = Vec::new();
    for (seq, collective) in rows {
        let collective = CollectiveId(collective.try_into().map_err(|_| Error::DatabaseDamaged)?);
        if organiser(conn, seq)?.is_none() {
            let fellows = match collective::fellow_members(conn, collective) {
                Ok(fellows) => fellows,
                Err(Error::NotFound { .. } | Error::Collective(CollectiveError::NotAMember)) => {
                    continue;
                }
                Err(e) => return Err(e),
            };
            let invited = invitees(conn, seq)?;
            let new: Vec<IdentityKey> = fellows
                .iter()
                .filter(|k| !invited.contains(k))
                .copied()
                .collect();
            let peers = comrades::peers_for_keys(conn, &new)?;
            if !peers.is_empty() {
                let id = store::load(conn, seq)?.id;
                sealed.push(invite_peers(conn, seq, id, peers)?);
            }
            let gone: Vec<IdentityKey> = invited
                .into_iter()
                .filter(|k| !fellows.contains(k))
                .collect();
            sealed.extend(uninvite(conn, seq, &gone)?);
        }
        sealed.extend(to_visitors(conn, seq, None, now)?);
    }
    sealed.extend(tell_attendance(conn, now)?);
    Ok(sealed)
}

/// At the organiser: each visitor who said they were going to an
/// occurrence of my collective's gathering that has now passed is told to
/// the stewards, once (a collective may ask it before vouches admit them).
pub(super) fn tell_attendance(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<Sealed>> {
    type Row = (i64, String, Vec<u8>, Vec<u8>);
    let rows: Vec<Row> = conn
        .prepare_cached(
            "SELECT a.gathering, a.original_start, a.identity_key, g.collective
             FROM gathering_answers a JOIN gatherings g ON g.seq = a.gathering
             WHERE g.organiser IS NULL AND g.collective IS NOT NULL
               AND a.visitor_name IS NOT NULL AND a.response = 0 AND a.attendance_told = 0",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut sealed = Vec::new();
    for (seq, start, visitor, collective) in rows {
        let g = store::load(conn, seq)?;
        let schedule = Schedule::stored(g.starts_at, &g.time_zone, g.recurrence.as_deref())?;
        if schedule.instant(local_from(&start)?) > now {
            continue;
        }
        let collective = CollectiveId(collective.try_into().map_err(|_| Error::DatabaseDamaged)?);
        let visitor = IdentityKey::from_stored(visitor)?;
        sealed.extend(collective::attended(conn, collective, &visitor, now)?);
        conn.execute(
            "UPDATE gathering_answers SET attendance_told = 1
             WHERE gathering = ?1 AND original_start = ?2 AND identity_key = ?3",
            params![seq, start, visitor.as_bytes().as_slice()],
        )?;
    }
    Ok(sealed)
}

/// Those no longer members are invited no more: their copy is called off,
/// and they are sent nothing after.
fn uninvite(conn: &Connection, seq: i64, gone: &[IdentityKey]) -> Result<Vec<Sealed>> {
    if gone.is_empty() {
        return Ok(Vec::new());
    }
    let mut forget = conn.prepare_cached(
        "DELETE FROM gathering_invitees WHERE gathering = ?1 AND identity_key = ?2",
    )?;
    for key in gone {
        forget.execute(params![seq, key.as_bytes().as_slice()])?;
    }
    let peers = comrades::peers_for_keys(conn, gone)?;
    if peers.is_empty() {
        return Ok(Vec::new());
    }
    conn.execute("UPDATE gatherings SET rev = rev + 1 WHERE seq = ?1", [seq])?;
    let (id, cancelled) = state(conn, seq, true)?;
    Ok(vec![seal(
        conn,
        peers,
        kinds::GATHERING_UPDATE,
        &cancelled,
        id,
    )?])
}

/// `body`, the gathering as it now is (`None`: as my vault holds it, built
/// only if someone is to be sent it), to each visitor I host who was last
/// sent another; if it is cancelled or no longer welcomes them, to those
/// who were sent it, cancelled. Visitors who became members or whose pass
/// expired are sent nothing more.
pub(super) fn to_visitors(
    conn: &Connection,
    seq: i64,
    body: Option<&StateBody>,
    now: DateTime<Utc>,
) -> Result<Vec<Sealed>> {
    let g = store::load(conn, seq)?;
    let Some(collective) = g.collective else {
        return Ok(Vec::new());
    };
    let sent: Vec<(Vec<u8>, Vec<u8>)> = conn
        .prepare_cached("SELECT visitor, sent FROM gathering_visitors WHERE gathering = ?1")?
        .query_map([seq], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let welcome = g.visitors_welcome && !body.is_some_and(StateBody::is_cancelled);
    if !welcome && sent.is_empty() {
        return Ok(Vec::new());
    }
    let visitors = match welcome {
        true => collective::hosted_visitors(conn, collective, now)?,
        false => Vec::new(),
    };
    let current;
    let body = match body {
        Some(body) => body,
        None => {
            current = state(conn, seq, false)?.1;
            &current
        }
    };
    let encoded =
        serde_json::to_vec(body).map_err(|_| Error::Storage("encoding a message".into()))?;
    let digest = Sha256::digest(&encoded).to_vec();
    let mut to = Vec::new();
    for visitor in &visitors {
        let last = sent
            .iter()
            .find(|(k, _)| k.as_slice() == visitor.as_bytes());
        if last.is_none_or(|(_, d)| *d != digest) {
            to.push(*visitor);
        }
    }
    let mut gone = Vec::new();
    for (key, _) in &sent {
        let key = IdentityKey::from_stored(key.clone())?;
        if !visitors.contains(&key) {
            gone.push(key);
        }
    }
    let mut sealed = Vec::new();
    let peers = comrades::peers_for_keys(conn, &to)?;
    if !peers.is_empty() {
        sealed.push(seal(conn, peers, kinds::GATHERING_UPDATE, body, g.id)?);
    }
    for key in &to {
        conn.execute(
            "INSERT OR REPLACE INTO gathering_visitors (gathering, visitor, sent) VALUES (?1, ?2, ?3)",
            params![seq, key.as_bytes().as_slice(), digest],
        )?;
    }
    if !gone.is_empty() && !welcome {
        // Those who saw it see it go.
        let cancelled = state(conn, seq, true)?.1;
        let peers = comrades::peers_for_keys(conn, &gone)?;
        if !peers.is_empty() {
            sealed.push(seal(
                conn,
                peers,
                kinds::GATHERING_UPDATE,
                &cancelled,
                g.id,
            )?);
        }
    }
    for key in &gone {
        conn.execute(
            "DELETE FROM gathering_visitors WHERE gathering = ?1 AND visitor = ?2",
            params![seq, key.as_bytes().as_slice()],
        )?;
    }
    Ok(sealed)
}

/// Whether `visitor` is a visitor I host to the gathering's collective,
/// and the gathering welcomes them.
pub(super) fn hosts(
    conn: &Connection,
    g: &Gathering,
    visitor: &IdentityKey,
    now: DateTime<Utc>,
) -> Result<bool> {
    Ok(match (g.collective, g.visitors_welcome) {
        (Some(c), true) => collective::hosted_visitors(conn, c, now)?.contains(visitor),
        _ => false,
    })
}

/// Whether `from` may replace my copy of a gathering someone else sent:
/// only a copy my host passed on while I visited, once I am a member of
/// its collective and `from` is one too (its organiser inviting me).
pub(super) fn may_take_over(
    conn: &Connection,
    seq: i64,
    from: &IdentityKey,
    collective: Option<CollectiveId>,
) -> Result<bool> {
    let (visiting, mine): (bool, Option<Vec<u8>>) = conn.query_row(
        "SELECT visiting, collective FROM gatherings WHERE seq = ?1",
        [seq],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let Some(c) = collective.filter(|c| visiting && mine.as_deref() == Some(c.0.as_slice())) else {
        return Ok(false);
    };
    Ok(match collective::fellow_members(conn, c) {
        Ok(fellows) => fellows.contains(from),
        Err(_) => false,
    })
}
