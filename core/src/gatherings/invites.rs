//! Inviting comrades to a gathering. The organiser's vault sends the whole
//! gathering, numbered (`rev`), at the invitation and after every change;
//! invitees keep a read-only copy, so their reminders follow it. RSVPs go
//! to the organiser alone; invitees see totals of going and maybe, and
//! nobody ever sees who is not coming. Format: `docs/gatherings.md`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use super::kinds;
use super::model::{AttendanceTotals, GatheringKind, NewGathering, ReminderOffset, Rsvp};
use super::recurrence::Schedule;
use super::store::{self, Moved, local_from};
use super::{GatheringId, Gatherings};
use crate::collective::{self, CollectiveId};
use crate::comrades::{self, IdentityKey, Peer};
use crate::envelope::{
    self, Checked, EnvelopeError, KindHandler, MessageId, Opened, Recipient, Sealed,
};
use crate::redact::Text;
use crate::time::local_text;
use crate::{Error, Result, identity};

/// Why a gathering change, or a gathering envelope, was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum GatheringError {
    #[error("only the organiser can change this gathering")]
    NotOrganiser,
    #[error("from someone who was not invited")]
    NotInvited,
    #[error("about a gathering this vault does not know")]
    UnknownGathering,
}

/// Someone going (or maybe) to an occurrence of my gathering.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Attendee {
    /// `None` for me.
    pub name: Option<String>,
    pub rsvp: Rsvp,
    /// A visitor to the gathering's collective: not a member yet.
    pub visitor: bool,
    /// A visitor's host, the member whose pass brought them, as I call
    /// them; `None` when that is me, or for a member.
    pub host: Option<String>,
}

impl fmt::Debug for Attendee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attendee")
            .field("name", &self.name.as_deref().map(Text))
            .field("rsvp", &self.rsvp)
            .field("visitor", &self.visitor)
            .finish_non_exhaustive()
    }
}

/// `gathering.invite` and `gathering.update`: the whole gathering.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StateBody {
    v: u8,
    uid: String,
    rev: u32,
    /// The collective whose members it invites.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    collective: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    visitors_welcome: bool,
    /// The organiser called it off altogether.
    #[serde(default, skip_serializing_if = "is_false")]
    cancelled: bool,
    title: String,
    kind: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    location: String,
    /// Local wall-clock time in `time_zone`.
    starts_at: String,
    time_zone: String,
    duration_minutes: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recurrence: Option<String>,
    #[serde(default)]
    reminders: Vec<ReminderOffset>,
    #[serde(default)]
    overrides: Vec<OverrideBody>,
    #[serde(default)]
    totals: Vec<TotalBody>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideBody {
    start: String,
    #[serde(default, skip_serializing_if = "is_false")]
    cancelled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    moved_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    minutes: Option<u32>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TotalBody {
    start: String,
    going: u32,
    maybe: u32,
}

/// `gathering.rsvp`: one invitee's answer for one occurrence. The private
/// note never leaves the vault.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RsvpBody {
    v: u8,
    uid: String,
    start: String,
    response: Option<Rsvp>,
    /// Milliseconds; a later answer replaces an earlier one.
    at: i64,
    /// A visitor's answer, as their host passes it on to the organiser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    visitor: Option<VisitorBody>,
}

#[derive(Serialize, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct VisitorBody {
    /// Their identity key, hex.
    key: String,
    name: String,
}

impl VisitorBody {
    fn key(&self) -> Option<IdentityKey> {
        let mut key = [0; 32];
        hex::decode_to_slice(&self.key, &mut key).ok()?;
        Some(IdentityKey(key))
    }
}

impl StateBody {
    pub(super) fn is_cancelled(&self) -> bool {
        self.cancelled
    }
}

fn is_false(b: &bool) -> bool {
    !b
}

/// Many enough for years of weekly changes; bounds a hostile body.
const MAX_LISTED: usize = 1_000;

impl Gatherings<'_> {
    /// Invites comrades and circles to my gathering: they get all of it now,
    /// and every change after.
    pub fn invite(&self, id: GatheringId, to: &[Recipient]) -> Result<Sealed> {
        self.vault.with_tx(|tx| {
            let seq = store::seq_of(tx, id)?;
            ensure_mine(tx, seq)?;
            if store::load(tx, seq)?.collective.is_some() {
                return Err(Error::invalid(
                    "gathering",
                    "it is a collective's, for its members: they are invited as they join",
                ));
            }
            invite_peers(tx, seq, id, envelope::resolve(tx, to)?)
        })
    }

    /// Who is going, or maybe, to one occurrence of my shared gathering.
    /// Those not coming are never listed.
    pub fn attendees(
        &self,
        id: GatheringId,
        original_start: NaiveDateTime,
    ) -> Result<Vec<Attendee>> {
        self.vault.with_conn(|conn| {
            let seq = store::seq_of(conn, id)?;
            ensure_mine(conn, seq)?;
            let start = local_text(original_start);
            let mut out = Vec::new();
            let mine: Option<Option<i64>> = conn
                .query_row(
                    "SELECT response FROM gathering_rsvps WHERE gathering = ?1 AND original_start = ?2",
                    params![seq, start],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(rsvp) = mine.flatten().map(Rsvp::from_code).transpose()?
                && rsvp != Rsvp::NotGoing
            {
                out.push(Attendee {
                    name: None,
                    rsvp,
                    visitor: false,
                    host: None,
                });
            }
            let mut stmt = conn.prepare_cached(
                "SELECT identity_key, response, visitor_name, visitor_host FROM gathering_answers
                 WHERE gathering = ?1 AND original_start = ?2 AND response IS NOT NULL",
            )?;
            type Row = (Vec<u8>, i64, Option<String>, Option<Vec<u8>>);
            let rows: Vec<Row> = stmt
                .query_map(params![seq, start], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let me = identity::identity_key(conn)?;
            let name_of = |key: Vec<u8>| -> Result<Option<String>> {
                Ok(comrades::known(conn, &IdentityKey::from_stored(key)?)?.map(|k| k.name))
            };
            let mut answers = Vec::new();
            for (key, code, visitor_name, host) in rows {
                let (name, host) = match (visitor_name, host) {
                    (Some(name), Some(host)) if host == me.as_bytes() => (Some(name), Some(None)),
                    (Some(name), Some(host)) => (Some(name), Some(name_of(host)?)),
                    _ => (name_of(key)?, None),
                };
                answers.push((code, name, host));
            }
            // Going before maybe, then by name; someone no longer a comrade first, as "?".
            answers.sort();
            for (code, name, host) in answers {
                out.push(Attendee {
                    name: Some(name.unwrap_or_else(|| "?".into())),
                    rsvp: Rsvp::from_code(code)?,
                    visitor: host.is_some(),
                    host: host.flatten(),
                });
            }
            Ok(out)
        })
    }
}

pub(super) fn invite_peers(
    tx: &Connection,
    seq: i64,
    id: GatheringId,
    peers: Vec<Peer>,
) -> Result<Sealed> {
    let mut add = tx.prepare_cached(
        "INSERT OR IGNORE INTO gathering_invitees (gathering, identity_key) VALUES (?1, ?2)",
    )?;
    for p in &peers {
        add.execute(params![seq, p.identity_key.as_bytes().as_slice()])?;
    }
    let (_, body) = state(tx, seq, false)?;
    seal(tx, peers, kinds::GATHERING_INVITE, &body, id)
}

/// Refuses a change to someone else's gathering.
pub(crate) fn ensure_mine(conn: &Connection, seq: i64) -> Result<()> {
    match organiser(conn, seq)? {
        None => Ok(()),
        Some(_) => Err(GatheringError::NotOrganiser.into()),
    }
}

pub(super) fn organiser(conn: &Connection, seq: i64) -> Result<Option<IdentityKey>> {
    let key: Option<Vec<u8>> = conn.query_row(
        "SELECT organiser FROM gatherings WHERE seq = ?1",
        [seq],
        |r| r.get(0),
    )?;
    key.map(IdentityKey::from_stored).transpose()
}

pub(super) fn invitees(conn: &Connection, seq: i64) -> Result<Vec<IdentityKey>> {
    let mut stmt =
        conn.prepare_cached("SELECT identity_key FROM gathering_invitees WHERE gathering = ?1")?;
    let rows = stmt.query_map([seq], |r| r.get::<_, Vec<u8>>(0))?;
    rows.map(|k| IdentityKey::from_stored(k?)).collect()
}

/// After a change to my gathering, every invitee who is still a comrade
/// gets its new state. Nothing when it has no invitees.
/// And my visitors, where it welcomes them.
pub(crate) fn announce(conn: &Connection, seq: i64, cancelled: bool) -> Result<Vec<Sealed>> {
    let peers = comrades::peers_for_keys(conn, &invitees(conn, seq)?)?;
    if organiser(conn, seq)?.is_some() {
        return Ok(Vec::new());
    }
    let visited = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM gathering_visitors WHERE gathering = ?1)",
        [seq],
        |r| r.get::<_, bool>(0),
    )?;
    if peers.is_empty() && !visited {
        return Ok(Vec::new());
    }
    conn.execute("UPDATE gatherings SET rev = rev + 1 WHERE seq = ?1", [seq])?;
    let (id, body) = state(conn, seq, cancelled)?;
    let mut sealed = Vec::new();
    if !peers.is_empty() {
        sealed.push(seal(conn, peers, kinds::GATHERING_UPDATE, &body, id)?);
    }
    sealed.extend(super::collectives::to_visitors(
        conn,
        seq,
        Some(&body),
        Utc::now(),
    )?);
    Ok(sealed)
}

/// My answer to someone else's gathering goes to its organiser, if they are
/// still a comrade.
pub(crate) fn send_rsvp(
    conn: &Connection,
    seq: i64,
    original_start: NaiveDateTime,
    response: Option<Rsvp>,
) -> Result<Vec<Sealed>> {
    let Some(key) = organiser(conn, seq)? else {
        return announce(conn, seq, false);
    };
    let peers = comrades::peers_for_keys(conn, &[key])?;
    if peers.is_empty() {
        return Ok(Vec::new());
    }
    let body = RsvpBody {
        v: 1,
        uid: store::uid_of(conn, seq)?,
        start: local_text(original_start),
        response,
        at: Utc::now().timestamp_millis(),
        visitor: None,
    };
    let id = store::load(conn, seq)?.id;
    Ok(vec![seal(conn, peers, kinds::GATHERING_RSVP, &body, id)?])
}

pub(super) fn seal<T: Serialize>(
    conn: &Connection,
    peers: Vec<comrades::Peer>,
    kind: &str,
    body: &T,
    about: GatheringId,
) -> Result<Sealed> {
    envelope::seal_json_in(conn, peers, kind, body, &about.to_string(), None)
}

/// A gathering as invitees receive it (a copy, as my visitors do), and
/// its id here.
pub(super) fn state(
    conn: &Connection,
    seq: i64,
    cancelled: bool,
) -> Result<(GatheringId, StateBody)> {
    let g = store::load(conn, seq)?;
    let (uid, rev): (String, u32) = conn.query_row(
        "SELECT uid, rev FROM gatherings WHERE seq = ?1",
        [seq],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut overrides = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT original_start, cancelled, moved_to, duration_s FROM gathering_overrides
         WHERE gathering = ?1 ORDER BY original_start",
    )?;
    let mut rows = stmt.query([seq])?;
    while let Some(r) = rows.next()? {
        overrides.push(OverrideBody {
            start: r.get(0)?,
            cancelled: r.get(1)?,
            moved_to: r.get(2)?,
            minutes: r.get::<_, Option<i64>>(3)?.map(|s| (s / 60) as u32),
        });
    }
    let totals = totals(conn, seq)?
        .into_iter()
        .map(|(start, t)| TotalBody {
            start: local_text(start),
            going: t.going,
            maybe: t.maybe,
        })
        .collect();
    let body = StateBody {
        v: 1,
        uid,
        rev,
        collective: g.collective.map(|c| c.to_string()),
        visitors_welcome: g.visitors_welcome,
        cancelled,
        title: g.title,
        kind: g.kind.code().to_owned(),
        description: g.description,
        location: g.location,
        starts_at: local_text(g.starts_at),
        time_zone: g.time_zone,
        duration_minutes: (g.duration.num_minutes()) as u32,
        recurrence: g.recurrence,
        reminders: g.reminders,
        overrides,
        totals,
    };
    Ok((g.id, body))
}

/// Going and maybe per occurrence: invitees' answers and mine.
fn totals_at_organiser(
    conn: &Connection,
    seq: i64,
) -> Result<BTreeMap<NaiveDateTime, AttendanceTotals>> {
    let mut out: BTreeMap<NaiveDateTime, AttendanceTotals> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT original_start, response FROM gathering_answers
         WHERE gathering = ?1 AND response IS NOT NULL
         UNION ALL
         SELECT original_start, response FROM gathering_rsvps
         WHERE gathering = ?1 AND response IN (0, 1)",
    )?;
    let mut rows = stmt.query([seq])?;
    while let Some(r) = rows.next()? {
        let t = out.entry(local_from(&r.get::<_, String>(0)?)?).or_default();
        match Rsvp::from_code(r.get(1)?)? {
            Rsvp::Going => t.going += 1,
            Rsvp::Maybe => t.maybe += 1,
            Rsvp::NotGoing => {}
        }
    }
    Ok(out)
}

/// Going and maybe per occurrence: counted where I organise, as told
/// where I was invited.
fn totals(conn: &Connection, seq: i64) -> Result<BTreeMap<NaiveDateTime, AttendanceTotals>> {
    if organiser(conn, seq)?.is_none() {
        return totals_at_organiser(conn, seq);
    }
    let mut told = conn.prepare_cached(
        "SELECT original_start, going, maybe FROM gathering_totals WHERE gathering = ?1",
    )?;
    let mut rows = told.query([seq])?;
    let mut map = BTreeMap::new();
    while let Some(r) = rows.next()? {
        map.insert(
            local_from(&r.get::<_, String>(0)?)?,
            AttendanceTotals {
                going: r.get(1)?,
                maybe: r.get(2)?,
            },
        );
    }
    Ok(map)
}

/// Totals for every shared gathering.
pub(crate) fn all_totals(
    conn: &Connection,
) -> Result<Vec<(i64, HashMap<NaiveDateTime, AttendanceTotals>)>> {
    let mut shared = conn.prepare_cached(
        "SELECT seq FROM gatherings g
         WHERE organiser IS NOT NULL
            OR EXISTS (SELECT 1 FROM gathering_invitees i WHERE i.gathering = g.seq)",
    )?;
    let rows: Vec<i64> = shared
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter()
        .map(|seq| Ok((seq, totals(conn, seq)?.into_iter().collect())))
        .collect()
}

/// The `gathering.*` kinds, as `crate::registry` lists them.
pub(crate) struct GatheringKinds;

impl KindHandler for GatheringKinds {
    fn owns(&self, kind: &str) -> bool {
        kind.starts_with("gathering.")
    }

    fn check(&self, kind: &str, body: &[u8]) -> Result<Box<dyn Checked>, EnvelopeError> {
        Ok(Box::new(parse(kind, body)?))
    }
}

enum Message {
    State(Box<StateBody>),
    Rsvp(RsvpBody),
    Round(super::round::RoundMessage),
}

impl Message {
    fn uid(&self) -> &str {
        match self {
            Message::State(b) => &b.uid,
            Message::Rsvp(b) => &b.uid,
            Message::Round(m) => m.uid(),
        }
    }
}

impl Gatherings<'_> {
    /// The gathering an opened `gathering.*` envelope is about, as my vault
    /// now holds it: for showing it, with the id to answer with.
    pub fn about(&self, opened: &Opened) -> Result<Option<super::Gathering>> {
        let Ok(message) = parse(&opened.kind, &opened.body) else {
            return Ok(None);
        };
        self.vault.with_conn(|conn| {
            store::seq_by_uid(conn, message.uid())?
                .map(|seq| store::load(conn, seq))
                .transpose()
        })
    }
}

fn parse(kind: &str, body: &[u8]) -> Result<Message, EnvelopeError> {
    let malformed = |_| EnvelopeError::Malformed;
    let message = match kind {
        kinds::GATHERING_INVITE | kinds::GATHERING_UPDATE => {
            let b: StateBody = serde_json::from_slice(body).map_err(malformed)?;
            let fits = b.v == 1
                && (1..=255).contains(&b.uid.len())
                && b.overrides.len() <= MAX_LISTED
                && b.totals.len() <= MAX_LISTED
                && new_gathering(&b).is_ok_and(|(g, _)| g.check().is_ok())
                && b.overrides.iter().all(|o| {
                    local_from(&o.start).is_ok()
                        && o.moved_to.as_deref().is_none_or(|t| local_from(t).is_ok())
                        && o.minutes.is_none_or(|m| (1..=7 * 24 * 60).contains(&m))
                })
                && b.totals.iter().all(|t| local_from(&t.start).is_ok())
                && b.collective
                    .as_deref()
                    .is_none_or(|c| c.parse::<CollectiveId>().is_ok())
                && (b.collective.is_some() || !b.visitors_welcome);
            if !fits {
                return Err(EnvelopeError::Malformed);
            }
            Message::State(Box::new(b))
        }
        kinds::GATHERING_RSVP => {
            let b: RsvpBody = serde_json::from_slice(body).map_err(malformed)?;
            let visitor_fits = b
                .visitor
                .as_ref()
                .is_none_or(|v| v.key().is_some() && crate::name::is_clean(&v.name));
            if b.v != 1 || b.uid.len() > 255 || local_from(&b.start).is_err() || !visitor_fits {
                return Err(EnvelopeError::Malformed);
            }
            Message::Rsvp(b)
        }
        k if k.starts_with("gathering.round.") => Message::Round(super::round::parse(k, body)?),
        _ => return Err(EnvelopeError::Malformed),
    };
    Ok(message)
}

/// The gathering a state body describes, and its overrides.
fn new_gathering(b: &StateBody) -> Result<(NewGathering, BTreeMap<NaiveDateTime, Moved>)> {
    let mut moved = BTreeMap::new();
    for o in &b.overrides {
        if let Some(to) = &o.moved_to {
            moved.insert(
                local_from(&o.start)?,
                Moved {
                    to: local_from(to)?,
                    duration: o.minutes.map(|m| Duration::minutes(m.into())),
                },
            );
        }
    }
    Ok((
        NewGathering {
            title: b.title.clone(),
            kind: GatheringKind::from_code(&b.kind)?,
            description: b.description.clone(),
            location: b.location.clone(),
            starts_at: local_from(&b.starts_at)?,
            time_zone: b.time_zone.clone(),
            duration: Duration::minutes(b.duration_minutes.into()),
            recurrence: b.recurrence.clone(),
            reminders: b.reminders.clone(),
        },
        moved,
    ))
}

impl Checked for Message {
    /// Applies a gathering envelope a comrade sent; returns what was sealed in answer.
    fn receive(
        self: Box<Self>,
        tx: &Transaction<'_>,
        opened: &Opened,
        now: DateTime<Utc>,
    ) -> Result<Vec<MessageId>> {
        let from = opened.sender.identity_key;
        match *self {
            Message::State(b) => receive_state(tx, &from, &opened.sender.name, &b, now),
            Message::Rsvp(b) => receive_rsvp(tx, (&from, &opened.sender.name), b, now),
            Message::Round(m) => super::round::receive(tx, (&from, &opened.sender.name), m, now),
        }
    }
}

/// A gathering's state from its organiser, or, at a visitor, from their
/// host. My visitors get a copy where it welcomes them.
fn receive_state(
    tx: &Connection,
    from: &IdentityKey,
    name: &str,
    b: &StateBody,
    now: DateTime<Utc>,
) -> Result<Vec<MessageId>> {
    let collective = b.collective.as_deref().map(|c| c.parse::<CollectiveId>());
    let collective = collective
        .transpose()
        .map_err(|_| EnvelopeError::Malformed)?;
    let existing = store::seq_by_uid(tx, &b.uid)?;
    if let Some(seq) = existing {
        let taken_over = organiser(tx, seq)? != Some(*from);
        if taken_over && !super::collectives::may_take_over(tx, seq, from, collective)? {
            return Err(GatheringError::NotOrganiser.into());
        }
        let rev: u32 = tx.query_row("SELECT rev FROM gatherings WHERE seq = ?1", [seq], |r| {
            r.get(0)
        })?;
        if b.rev <= rev && !taken_over {
            return Ok(Vec::new());
        }
        if b.cancelled {
            tx.execute(
                "UPDATE gatherings SET rev = ?2 WHERE seq = ?1",
                params![seq, b.rev],
            )?;
            let sealed = super::collectives::to_visitors(tx, seq, Some(b), now)?;
            tx.execute("DELETE FROM gatherings WHERE seq = ?1", [seq])?;
            return Ok(ids(sealed));
        }
    } else if b.cancelled {
        return Ok(Vec::new());
    }
    let (gathering, moved) = new_gathering(b).map_err(|_| EnvelopeError::Malformed)?;
    let schedule: Schedule = gathering.check().map_err(|_| EnvelopeError::Malformed)?;
    let cancelled: Vec<NaiveDateTime> = b
        .overrides
        .iter()
        .filter(|o| o.cancelled)
        .map(|o| local_from(&o.start))
        .collect::<Result<_>>()?;
    let (seq, _) = store::put(
        tx,
        &b.uid,
        &gathering,
        &schedule,
        &cancelled,
        &moved,
        now.timestamp_millis(),
    )?;
    let visiting = match collective {
        Some(c) => collective::host_of(tx, c)? == Some(*from),
        None => false,
    };
    tx.execute(
        "UPDATE gatherings SET organiser = ?2, organiser_name = ?3, rev = ?4, collective = ?5,
             visitors_welcome = ?6, visiting = ?7
         WHERE seq = ?1",
        params![
            seq,
            from.as_bytes().as_slice(),
            name,
            b.rev,
            collective.map(|c| c.0.to_vec()),
            b.visitors_welcome,
            visiting
        ],
    )?;
    tx.execute("DELETE FROM gathering_totals WHERE gathering = ?1", [seq])?;
    let mut insert = tx.prepare_cached(
        "INSERT OR REPLACE INTO gathering_totals (gathering, original_start, going, maybe)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for t in &b.totals {
        insert.execute(params![seq, t.start, t.going, t.maybe])?;
    }
    Ok(ids(super::collectives::to_visitors(tx, seq, Some(b), now)?))
}

fn ids(sealed: Vec<Sealed>) -> Vec<MessageId> {
    sealed.into_iter().map(|s| s.message_id).collect()
}

/// An answer, at the organiser: from an invitee, from a visitor I host,
/// or a visitor's passed on by their host, an invitee. At a host, a
/// visitor's answer is passed on to the organiser. Totals that change
/// reach every invitee.
fn receive_rsvp(
    tx: &Connection,
    (from, from_name): (&IdentityKey, &str),
    mut b: RsvpBody,
    now: DateTime<Utc>,
) -> Result<Vec<MessageId>> {
    let seq = store::seq_by_uid(tx, &b.uid)?.ok_or(GatheringError::UnknownGathering)?;
    let start = local_from(&b.start)?;
    let g = store::load(tx, seq)?;
    let schedule = Schedule::stored(g.starts_at, &g.time_zone, g.recurrence.as_deref())?;
    if !schedule.has_start(start) {
        return Err(EnvelopeError::Malformed.into());
    }
    let hosted = b.visitor.is_none() && super::collectives::hosts(tx, &g, from, now)?;
    if let Some(organiser) = organiser(tx, seq)? {
        if !hosted {
            return Err(GatheringError::NotOrganiser.into());
        }
        let peers = comrades::peers_for_keys(tx, &[organiser])?;
        b.visitor = Some(VisitorBody {
            key: hex::encode(from.as_bytes()),
            name: from_name.to_owned(),
        });
        return Ok(ids(vec![seal(tx, peers, kinds::GATHERING_RSVP, &b, g.id)?]));
    }
    let invitees = invitees(tx, seq)?;
    let invited = invitees.contains(from);
    let (answerer, visitor) = match &b.visitor {
        None if invited => (*from, None),
        None if hosted => (
            *from,
            Some((from_name.to_owned(), identity::identity_key(tx)?)),
        ),
        Some(v) if invited && g.visitors_welcome => {
            let key = v.key().ok_or(EnvelopeError::Malformed)?;
            // Nobody answers for a member, or for me.
            if invitees.contains(&key) || key == identity::identity_key(tx)? {
                return Err(GatheringError::NotInvited.into());
            }
            (key, Some((v.name.clone(), *from)))
        }
        _ => return Err(GatheringError::NotInvited.into()),
    };
    let before = totals_at_organiser(tx, seq)?.get(&start).copied();
    let response = match b.response {
        Some(Rsvp::Going) => Some(0),
        Some(Rsvp::Maybe) => Some(1),
        Some(Rsvp::NotGoing) | None => None,
    };
    let (visitor_name, visitor_host) = visitor.unzip();
    tx.execute(
        "INSERT INTO gathering_answers
             (gathering, original_start, identity_key, response, answered_at, visitor_name,
              visitor_host)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (gathering, original_start, identity_key) DO UPDATE
         SET response = excluded.response, answered_at = excluded.answered_at,
             visitor_name = excluded.visitor_name, visitor_host = excluded.visitor_host
         WHERE excluded.answered_at > gathering_answers.answered_at",
        params![
            seq,
            local_text(start),
            answerer.as_bytes().as_slice(),
            response,
            b.at,
            visitor_name,
            visitor_host.map(|k| k.as_bytes().to_vec())
        ],
    )?;
    // An answer to an occurrence that has passed may be a visitor's attendance.
    let mut sealed = super::collectives::tell_attendance(tx, now)?;
    if totals_at_organiser(tx, seq)?.get(&start).copied() != before {
        sealed.extend(announce(tx, seq, false)?);
    }
    Ok(ids(sealed))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example bodies in `docs/gatherings.md` parse as their kinds.
    #[test]
    fn the_examples_in_the_spec_are_valid() {
        let spec = include_str!("../../../docs/gatherings.md");
        let examples = crate::bytes::spec_examples(spec, "gathering.");
        for (kind, body) in &examples {
            assert!(parse(kind, body.as_bytes()).is_ok(), "{kind}: {body}");
        }
        assert_eq!(examples.len(), 6);
    }
}
