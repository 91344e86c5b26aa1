//! The gentle on-ramp: a member issues a visitor pass; the visitor's Tend
//! joins with it and is sent the collective's public face (its name and
//! agreements), never its members (`docs/collective.md`, "Visitors").
//!
//! The visitor's first envelope (`collective.visit`) is the only one Tend
//! opens from someone who is not a comrade: it must carry a pass my vault
//! issued, unexpired and not used by anyone else. Its sender then becomes
//! a comrade marked as my visitor, and is sent `collective.face`, again
//! whenever the face changes, until the pass expires.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::actions::{Open, open, subject};
use super::change::CollectiveId;
use super::pass::{MAX_PASS_DAYS, Pass, PassError, PassId};
use super::state::State;
use super::{CollectiveError, Collectives, kinds, store};
use crate::comrades::{self, Card, IdentityKey, Met};
use crate::envelope::{self, EnvelopeError, Outgoing, Sealed};
use crate::redact::{MaybeText, Text};
use crate::time::from_ms;
use crate::{Error, Result, identity};

/// A pass I issued, to give in person (text or QR code).
#[derive(Clone)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct IssuedPass {
    pub id: PassId,
    /// `TENDPASS:…`
    pub text: String,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for IssuedPass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedPass")
            .field("id", &self.id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A collective I visit with a pass: what its face showed me last.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct VisitedCollective {
    pub collective: CollectiveId,
    pub name: String,
    /// The member who invited me, as I call them.
    pub host: String,
    pub expires_at: DateTime<Utc>,
    pub joined_at: DateTime<Utc>,
    /// `None` until the face arrives, or if it has none.
    pub agreements_version: Option<u32>,
    pub agreements: Option<String>,
    /// Vouches from members so far, and how many make me a member; only
    /// the count, never who.
    pub vouches: Option<u32>,
    pub vouches_needed: Option<u32>,
    /// Enough vouches wait on my coming to one of its gatherings.
    pub awaiting_gathering: bool,
}

impl std::fmt::Debug for VisitedCollective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VisitedCollective")
            .field("collective", &self.collective)
            .field("name", &Text(&self.name))
            .field("host", &Text(&self.host))
            .field("agreements", &MaybeText(self.agreements.as_deref()))
            .finish_non_exhaustive()
    }
}

/// My visit, and the envelope that tells the host I came.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct JoinedVisit {
    pub visit: VisitedCollective,
    pub sealed: Sealed,
}

/// `collective.visit`: I came with this pass.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VisitBody {
    v: u8,
    collective: String,
    pass: PassId,
}

/// `collective.face`: what a visitor may see.
#[derive(Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(super) struct FaceBody {
    v: u8,
    pub collective: String,
    name: String,
    agreements: Option<FaceAgreements>,
    /// How far I am from membership, when a steward counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    progress: Option<Progress>,
}

/// How far a visitor is from membership, as a steward counted.
#[derive(Serialize, Deserialize, PartialEq, Clone, Copy, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct Progress {
    pub vouches: u32,
    pub needed: u32,
    /// The collective asks visitors to come to a gathering first, and
    /// this one has not yet.
    #[serde(default, skip_serializing_if = "is_false")]
    pub gathering: bool,
}

fn is_false(b: &bool) -> bool {
    !b
}

#[derive(Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct FaceAgreements {
    version: u32,
    text: String,
}

impl VisitBody {
    pub fn parse(body: &[u8]) -> Result<VisitBody, EnvelopeError> {
        let b: VisitBody = serde_json::from_slice(body).map_err(|_| EnvelopeError::Malformed)?;
        match b.v == 1 && b.collective.parse::<CollectiveId>().is_ok() {
            true => Ok(b),
            false => Err(EnvelopeError::Malformed),
        }
    }

    pub fn collective(&self) -> CollectiveId {
        self.collective.parse().expect("checked when parsed")
    }
}

impl FaceBody {
    pub fn parse(body: &[u8]) -> Result<FaceBody, EnvelopeError> {
        let b: FaceBody = serde_json::from_slice(body).map_err(|_| EnvelopeError::Malformed)?;
        let fits = b.v == 1
            && b.collective.parse::<CollectiveId>().is_ok()
            && crate::name::is_clean(&b.name)
            && b.agreements.as_ref().is_none_or(|a| {
                a.version > 0 && !a.text.is_empty() && a.text.len() <= super::MAX_AGREEMENTS_BYTES
            })
            && b.progress
                .is_none_or(|p| (1..=3).contains(&p.needed) && p.vouches <= 255);
        match fits {
            true => Ok(b),
            false => Err(EnvelopeError::Malformed),
        }
    }

    fn of(id: CollectiveId, state: &State, progress: Option<Progress>) -> FaceBody {
        FaceBody {
            progress,
            v: 1,
            collective: id.to_string(),
            name: state.name.clone().unwrap_or_default(),
            agreements: state.agreements.as_ref().map(|a| FaceAgreements {
                version: a.version,
                text: a.text.clone(),
            }),
        }
    }
}

impl Collectives<'_> {
    /// A pass for a prospective member, valid for `valid_for` (at most 90
    /// days). Give it in person; it opens the collective's face to one visitor.
    pub fn issue_pass(&self, id: CollectiveId, valid_for: Duration) -> Result<IssuedPass> {
        if valid_for < Duration::minutes(1) || valid_for > Duration::days(MAX_PASS_DAYS) {
            return Err(Error::invalid("valid for", "a minute to 90 days"));
        }
        let now = Utc::now();
        self.vault.with_tx(|tx| {
            let open = open(tx, id)?;
            let state = open.state();
            if !state.members.contains(&open.me) {
                return Err(CollectiveError::NotAMember.into());
            }
            let keys = identity::load(tx)?;
            let card = identity::card(tx, &keys)?;
            let name = state.name.clone().unwrap_or_default();
            let pass = Pass::issue(&keys.signing, &card, id, &name, now + valid_for);
            tx.execute(
                "INSERT INTO collective_passes (id, collective, issued_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    pass.id.0.as_bytes().as_slice(),
                    open.kept.seq,
                    now.timestamp_millis(),
                    pass.expires_at.timestamp_millis()
                ],
            )?;
            Ok(IssuedPass {
                id: pass.id,
                text: pass.to_text(),
                expires_at: pass.expires_at,
            })
        })
    }

    /// Joins a collective as a visitor with a pass a member gave me: their
    /// card becomes a comrade's (my host), and they are told I came.
    pub fn join_with_pass(&self, pass: &str) -> Result<JoinedVisit> {
        let pass = Pass::parse(pass).map_err(CollectiveError::from)?;
        let now = Utc::now();
        pass.check_not_expired(now).map_err(CollectiveError::from)?;
        self.vault.with_tx(|tx| {
            if store::kept(tx, pass.collective)?.is_some() {
                return Err(Error::invalid("pass", "you are already in this collective"));
            }
            let host = pass.host.identity_key();
            if host == identity::identity_key(tx)? {
                return Err(Error::invalid("pass", "this is your own pass"));
            }
            comrades::add_met(tx, &pass.host, Met::Host, &pass.collective_name, now)?;
            tx.execute(
                "INSERT INTO collective_visits (collective, pass, host, name, expires_at, joined_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (collective) DO UPDATE SET pass = ?2, host = ?3, name = ?4,
                     expires_at = ?5, joined_at = ?6, face = NULL",
                params![
                    pass.collective.0.as_slice(),
                    pass.as_bytes(),
                    host.as_bytes().as_slice(),
                    pass.collective_name,
                    pass.expires_at.timestamp_millis(),
                    now.timestamp_millis()
                ],
            )?;
            let body = serde_json::to_vec(&VisitBody {
                v: 1,
                collective: pass.collective.to_string(),
                pass: pass.id,
            })
            .map_err(|_| Error::Storage("encoding a message".into()))?;
            let peers = comrades::peers_for_keys(tx, &[host])?;
            if peers.is_empty() {
                return Err(Error::invalid("pass", "its member is blocked"));
            }
            let outgoing = Outgoing {
                kind: kinds::COLLECTIVE_VISIT,
                body: &body,
                to: &[],
                expires_at: Some(pass.expires_at),
            };
            let sealed = envelope::seal_in(tx, peers, &outgoing, Some(&subject(pass.collective)))?;
            Ok(JoinedVisit {
                visit: visit(tx, pass.collective)?,
                sealed,
            })
        })
    }

    /// The collectives I visit, with what their faces show.
    pub fn visits(&self) -> Result<Vec<VisitedCollective>> {
        self.vault.with_conn(|conn| {
            let ids: Vec<Vec<u8>> = conn
                .prepare("SELECT collective FROM collective_visits ORDER BY seq")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            ids.into_iter()
                .map(|id| {
                    let id = CollectiveId(id.try_into().map_err(|_| Error::DatabaseDamaged)?);
                    visit(conn, id)
                })
                .collect()
        })
    }
}

impl From<PassError> for CollectiveError {
    fn from(problem: PassError) -> Self {
        CollectiveError::Pass { problem }
    }
}

fn visit(conn: &Connection, id: CollectiveId) -> Result<VisitedCollective> {
    type Row = (Vec<u8>, String, i64, i64, Option<Vec<u8>>);
    let (host, name, expires, joined, face): Row = conn.query_row(
        "SELECT host, name, expires_at, joined_at, face FROM collective_visits
         WHERE collective = ?1",
        [id.0.as_slice()],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    let host = IdentityKey::from_stored(host)?;
    let face = face
        .map(|f| FaceBody::parse(&f).map_err(|_| Error::DatabaseDamaged))
        .transpose()?;
    let progress = face.as_ref().and_then(|f| f.progress);
    let agreements = face.and_then(|f| f.agreements);
    Ok(VisitedCollective {
        collective: id,
        name,
        host: comrades::by_identity(conn, &host)?.map_or_else(|| "?".into(), |c| c.name),
        expires_at: from_ms(expires)?,
        joined_at: from_ms(joined)?,
        agreements_version: agreements.as_ref().map(|a| a.version),
        agreements: agreements.map(|a| a.text),
        vouches: progress.map(|p| p.vouches),
        vouches_needed: progress.map(|p| p.needed),
        awaiting_gathering: progress.is_some_and(|p| p.gathering),
    })
}

/// The pass a visit names, if my vault issued it for this collective, it
/// has not expired, and nobody but `visitor` came with it.
fn pass_for(
    conn: &Connection,
    body: &VisitBody,
    visitor: &IdentityKey,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let Some(kept) = store::kept(conn, body.collective())? else {
        return Ok(None);
    };
    let row: Option<(i64, Option<Vec<u8>>)> = conn
        .prepare_cached(
            "SELECT expires_at, visitor FROM collective_passes WHERE id = ?1 AND collective = ?2",
        )?
        .query_row(params![body.pass.0.as_bytes().as_slice(), kept.seq], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    Ok(match row {
        Some((expires, used)) if expires > now.timestamp_millis() => {
            let free = used.is_none_or(|k| k.as_slice() == visitor.as_bytes().as_slice());
            free.then_some(kept.seq)
        }
        _ => None,
    })
}

/// A stranger's `collective.visit` with a pass I issued: they become a
/// comrade, my visitor, and the pass theirs alone.
pub(super) fn admit(
    tx: &Connection,
    body: &VisitBody,
    card: &Card,
    now: DateTime<Utc>,
) -> Result<bool> {
    let visitor = card.identity_key();
    if pass_for(tx, body, &visitor, now)?.is_none() {
        return Ok(false);
    }
    let open = open(tx, body.collective())?;
    let name = open.state().name.clone().unwrap_or_default();
    comrades::add_met(tx, card, Met::Visitor, &name, now)?;
    Ok(true)
}

/// A visitor's `collective.visit`, from someone my vault now knows: the
/// pass becomes theirs and they are sent the face.
pub(super) fn take_visit(
    tx: &Connection,
    visitor: &IdentityKey,
    body: &VisitBody,
    now: DateTime<Utc>,
) -> Result<Vec<Sealed>> {
    if pass_for(tx, body, visitor, now)?.is_none() {
        return Err(CollectiveError::NotInvited.into());
    }
    tx.execute(
        "UPDATE collective_passes SET visitor = ?2, face_sent = NULL WHERE id = ?1",
        params![
            body.pass.0.as_bytes().as_slice(),
            visitor.as_bytes().as_slice()
        ],
    )?;
    send_faces(tx, &open(tx, body.collective())?, now)
}

/// My visitors to a collective: their passes unexpired, and not members
/// yet. Gatherings marked visitors welcome are shared with them.
pub(crate) fn hosted_visitors(
    conn: &Connection,
    id: CollectiveId,
    now: DateTime<Utc>,
) -> Result<Vec<IdentityKey>> {
    let Some(open) = super::actions::open_kept(conn, id)? else {
        return Ok(Vec::new());
    };
    let visitors: Vec<Vec<u8>> = conn
        .prepare_cached(
            "SELECT visitor FROM collective_passes
             WHERE collective = ?1 AND visitor IS NOT NULL AND expires_at > ?2",
        )?
        .query_map(params![open.kept.seq, now.timestamp_millis()], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let members = &open.state().members;
    let mut keys = Vec::new();
    for visitor in visitors {
        let key = IdentityKey::from_stored(visitor)?;
        if !members.contains(&key) {
            keys.push(key);
        }
    }
    Ok(keys)
}

/// The face as it is now, to each visitor of mine whose pass has not
/// expired and who was last sent another.
pub(super) fn send_faces(tx: &Connection, open: &Open, now: DateTime<Utc>) -> Result<Vec<Sealed>> {
    /// A pass, its visitor, the digest of the face last sent, its expiry,
    /// and the visitor's progress.
    type Row = (
        Vec<u8>,
        Vec<u8>,
        Option<Vec<u8>>,
        i64,
        Option<u32>,
        Option<u32>,
        bool,
    );
    let rows: Vec<Row> = tx
        .prepare_cached(
            "SELECT id, visitor, face_sent, expires_at, vouches, needed, awaiting_gathering
             FROM collective_passes
             WHERE collective = ?1 AND visitor IS NOT NULL AND expires_at > ?2",
        )?
        .query_map(params![open.kept.seq, now.timestamp_millis()], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let state = open.state();
    let mut sealed = Vec::new();
    for (pass, visitor, sent, expires, vouches, needed, gathering) in rows {
        if state
            .members
            .iter()
            .any(|m| m.as_bytes().as_slice() == visitor.as_slice())
        {
            continue; // a member now: sent the collective itself
        }
        let progress = vouches.zip(needed).map(|(vouches, needed)| Progress {
            vouches,
            needed,
            gathering,
        });
        let face = serde_json::to_vec(&FaceBody::of(open.log.collective(), state, progress))
            .map_err(|_| Error::Storage("encoding a message".into()))?;
        let digest = Sha256::digest(&face).to_vec();
        if sent.as_deref() == Some(digest.as_slice()) {
            continue;
        }
        let peers = comrades::peers_for_keys(tx, &[IdentityKey::from_stored(visitor)?])?;
        if peers.is_empty() {
            continue;
        }
        let outgoing = Outgoing {
            kind: kinds::COLLECTIVE_FACE,
            body: &face,
            to: &[],
            expires_at: Some(from_ms(expires)?),
        };
        let subject = subject(open.log.collective());
        sealed.push(envelope::seal_in(tx, peers, &outgoing, Some(&subject))?);
        tx.execute(
            "UPDATE collective_passes SET face_sent = ?2 WHERE id = ?1",
            params![pass, digest],
        )?;
    }
    Ok(sealed)
}

/// A steward's count for a visitor of mine, for their next face.
pub(super) fn set_progress(
    tx: &Connection,
    open: &Open,
    visitor: &IdentityKey,
    progress: Progress,
) -> Result<()> {
    tx.execute(
        "UPDATE collective_passes SET vouches = ?3, needed = ?4, awaiting_gathering = ?5
         WHERE collective = ?1 AND visitor = ?2",
        params![
            open.kept.seq,
            visitor.as_bytes().as_slice(),
            progress.vouches,
            progress.needed,
            progress.gathering
        ],
    )?;
    Ok(())
}

/// The member hosting my visit to this collective, if I visit it.
pub(crate) fn host_of(conn: &Connection, id: CollectiveId) -> Result<Option<IdentityKey>> {
    let host: Option<Vec<u8>> = conn
        .query_row(
            "SELECT host FROM collective_visits WHERE collective = ?1",
            [id.0.as_slice()],
            |r| r.get(0),
        )
        .optional()?;
    host.map(IdentityKey::from_stored).transpose()
}

/// My visit ends: I am a member now.
pub(super) fn end_visit(conn: &Connection, id: CollectiveId) -> Result<()> {
    conn.execute(
        "DELETE FROM collective_visits WHERE collective = ?1",
        [id.0.as_slice()],
    )?;
    Ok(())
}

/// A face from the member who hosts my visit; from anyone else, refused.
pub(super) fn take_face(
    tx: &Connection,
    host: &IdentityKey,
    body: &[u8],
    face: FaceBody,
) -> Result<()> {
    let id: CollectiveId = face.collective.parse()?;
    let updated = tx.execute(
        "UPDATE collective_visits SET name = ?3, face = ?4 WHERE collective = ?1 AND host = ?2",
        params![id.0.as_slice(), host.as_bytes().as_slice(), face.name, body],
    )?;
    if updated == 0 {
        return Err(CollectiveError::NotInvited.into());
    }
    Ok(())
}
