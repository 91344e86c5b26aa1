//! From visitor to member (`docs/collective.md`, "Admission"). A member
//! vouches for a visitor to the stewards alone (`collective.vouch`); a
//! steward's vault that holds enough vouches from distinct members adds the
//! visitor and welcomes them. Members hear only the count
//! (`collective.progress`), and a visitor's host passes it on in the face.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

use super::actions::{Open, add_members, open, others, subject};
use super::change::{Change, CollectiveId, Op};
use super::state::Log;
use super::visitors::Progress;
use super::wire::Changes;
use super::{CollectiveError, Collectives, MadeChange, Refusal, kinds, store};
use crate::comrades::{self, Card, ComradeId, IdentityKey, Met};
use crate::envelope::{self, EnvelopeError, Outgoing, Sealed};
use crate::{Error, Result, identity};

/// Vouches a visitor needs: half the members, rounded up, at most 3
/// (Karrot's rule).
pub fn vouches_needed(members: usize) -> u32 {
    members.div_ceil(2).clamp(1, 3) as u32
}

/// `collective.vouch`: I vouch for this visitor.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VouchBody {
    v: u8,
    collective: String,
    /// The visitor's card, `TEND:…`, so a steward can welcome them.
    visitor: String,
}

/// `collective.progress`: how far a visitor is, with no names.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProgressBody {
    v: u8,
    collective: String,
    /// Their identity key, 64 hex digits.
    visitor: String,
    vouches: u32,
    needed: u32,
    /// Enough vouches wait on a gathering attended.
    #[serde(default, skip_serializing_if = "is_false")]
    gathering: bool,
}

fn is_false(b: &bool) -> bool {
    !b
}

/// `collective.attended`: from a gathering's organiser to the stewards, a
/// visitor who said they were going to an occurrence that has passed.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AttendedBody {
    v: u8,
    collective: String,
    visitor: String,
}

fn visitor_key(hex_key: &str) -> Result<IdentityKey, EnvelopeError> {
    let mut visitor = [0; 32];
    hex::decode_to_slice(hex_key, &mut visitor).map_err(|_| EnvelopeError::Malformed)?;
    Ok(IdentityKey(visitor))
}

impl AttendedBody {
    pub fn parse(body: &[u8]) -> Result<(CollectiveId, IdentityKey), EnvelopeError> {
        let b: AttendedBody = serde_json::from_slice(body).map_err(|_| EnvelopeError::Malformed)?;
        let id = b.collective.parse().map_err(|_| EnvelopeError::Malformed)?;
        match b.v {
            1 => Ok((id, visitor_key(&b.visitor)?)),
            _ => Err(EnvelopeError::Malformed),
        }
    }
}

impl VouchBody {
    pub fn parse(body: &[u8]) -> Result<(CollectiveId, Card), EnvelopeError> {
        let b: VouchBody = serde_json::from_slice(body).map_err(|_| EnvelopeError::Malformed)?;
        let id = b.collective.parse().map_err(|_| EnvelopeError::Malformed)?;
        let card = Card::parse(&b.visitor).map_err(|_| EnvelopeError::Malformed)?;
        match b.v {
            1 => Ok((id, card)),
            _ => Err(EnvelopeError::Malformed),
        }
    }
}

impl ProgressBody {
    pub fn parse(body: &[u8]) -> Result<(CollectiveId, IdentityKey, Progress), EnvelopeError> {
        let b: ProgressBody = serde_json::from_slice(body).map_err(|_| EnvelopeError::Malformed)?;
        let id = b.collective.parse().map_err(|_| EnvelopeError::Malformed)?;
        let p = Progress {
            vouches: b.vouches,
            needed: b.needed,
            gathering: b.gathering,
        };
        match b.v == 1 && p.needed > 0 && p.needed <= 3 && p.vouches <= 255 {
            true => Ok((id, visitor_key(&b.visitor)?, p)),
            false => Err(EnvelopeError::Malformed),
        }
    }
}

impl Collectives<'_> {
    /// I vouch for a visitor I hold the card of: the stewards are told,
    /// and nobody else learns who vouched. A steward's own vouch counts at once.
    pub fn vouch(&self, id: CollectiveId, visitor: ComradeId) -> Result<Vec<Sealed>> {
        let now = Utc::now();
        self.changing(|tx| {
            let mut open = open(tx, id)?;
            let state = open.state();
            if !state.members.contains(&open.me) {
                return Err(CollectiveError::NotAMember.into());
            }
            let comrade = comrades::by_id(tx, visitor)?;
            if state.members.contains(&comrade.identity_key) {
                return Err(Error::invalid("visitor", "already a member"));
            }
            let card = comrades::card_of_unblocked(tx, &comrade.identity_key)?
                .ok_or(Error::invalid("visitor", "that comrade is blocked"))?;
            let card = Card::from_bytes(&card).map_err(|_| Error::DatabaseDamaged)?;
            let body = json(&VouchBody {
                v: 1,
                collective: id.to_string(),
                visitor: card.to_text(),
            })?;
            tell_stewards(
                tx,
                &mut open,
                kinds::COLLECTIVE_VOUCH,
                &body,
                |tx, open, me| record(tx, open, &card, me, now),
            )
        })
    }

    /// A steward admits a visitor (any comrade) directly.
    pub fn admit(&self, id: CollectiveId, visitor: ComradeId) -> Result<MadeChange> {
        self.add_members(id, &[visitor])
    }
}

/// A vouch, at a steward's vault: kept, and the visitor considered.
fn record(
    tx: &Connection,
    open: &mut Open,
    visitor: &Card,
    voucher: &IdentityKey,
    now: DateTime<Utc>,
) -> Result<Vec<Sealed>> {
    tx.execute(
        "INSERT OR IGNORE INTO collective_vouches (collective, visitor, voucher, card, vouched_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            open.kept.seq,
            visitor.identity_key().as_bytes().as_slice(),
            voucher.as_bytes().as_slice(),
            visitor.as_bytes(),
            now.timestamp_millis()
        ],
    )?;
    consider(tx, open, &visitor.identity_key(), now)
}

/// At a steward: the visitor is added once the collective's rule is met
/// (enough vouches from members, and a gathering attended where the
/// settings ask it); otherwise the members hear how far they are.
fn consider(
    tx: &Connection,
    open: &mut Open,
    key: &IdentityKey,
    now: DateTime<Utc>,
) -> Result<Vec<Sealed>> {
    let state = open.state();
    if state.members.contains(key) {
        return Ok(Vec::new());
    }
    let vouchers: Vec<(Vec<u8>, Vec<u8>)> = tx
        .prepare_cached(
            "SELECT voucher, card FROM collective_vouches
             WHERE collective = ?1 AND visitor = ?2 ORDER BY vouched_at",
        )?
        .query_map(params![open.kept.seq, key.as_bytes().as_slice()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let counted: Vec<IdentityKey> = vouchers
        .iter()
        .filter_map(|(v, _)| state.members.iter().find(|m| m.as_bytes().as_slice() == v))
        .copied()
        .collect();
    let Some((_, card)) = vouchers.first() else {
        return Ok(Vec::new());
    };
    let attended = !state.settings.gathering_required || attended_here(tx, open, key)?;
    let progress = Progress {
        vouches: counted.len() as u32,
        needed: vouches_needed(state.members.len()),
        gathering: !attended,
    };
    if progress.vouches < progress.needed || !attended {
        let body = json(&ProgressBody {
            v: 1,
            collective: open.log.collective().to_string(),
            visitor: hex::encode(key.as_bytes()),
            vouches: progress.vouches,
            needed: progress.needed,
            gathering: progress.gathering,
        })?;
        let to: Vec<IdentityKey> = others(open, state).collect();
        let peers = comrades::peers_for_keys(tx, &to)?;
        let mut sealed = Vec::new();
        if !peers.is_empty() {
            let outgoing = Outgoing {
                kind: kinds::COLLECTIVE_PROGRESS,
                body: &body,
                to: &[],
                expires_at: None,
            };
            let subject = subject(open.log.collective());
            sealed.push(envelope::seal_in(tx, peers, &outgoing, Some(&subject))?);
        }
        super::visitors::set_progress(tx, open, key, progress)?;
        sealed.extend(super::visitors::send_faces(tx, open, now)?);
        return Ok(sealed);
    }
    let card = Card::from_bytes(card).map_err(|_| Error::DatabaseDamaged)?;
    let voucher = counted[0];
    let by_name = comrades::by_identity(tx, &voucher)?.map_or_else(|| "you".into(), |c| c.name);
    let met = Met::Introduced {
        by: &voucher,
        by_name: &by_name,
    };
    let name = state.name.clone().unwrap_or_default();
    comrades::add_met(tx, &card, met, &name, now)?;
    Ok(add_members(tx, open, &[*key])?.sealed)
}

fn attended_here(tx: &Connection, open: &Open, visitor: &IdentityKey) -> Result<bool> {
    Ok(tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM collective_attended WHERE collective = ?1 AND visitor = ?2)",
        )?
        .query_row(params![open.kept.seq, visitor.as_bytes().as_slice()], |r| {
            r.get(0)
        })?)
}

/// A visitor came to a gathering of the collective, as `told_by`, its
/// organiser, says: kept at a steward, and the visitor considered again.
fn keep_attended(
    tx: &Connection,
    open: &mut Open,
    visitor: &IdentityKey,
    told_by: &IdentityKey,
    now: DateTime<Utc>,
) -> Result<Vec<Sealed>> {
    tx.execute(
        "INSERT OR IGNORE INTO collective_attended (collective, visitor, told_by, at)
         VALUES (?1, ?2, ?3, ?4)",
        params![
            open.kept.seq,
            visitor.as_bytes().as_slice(),
            told_by.as_bytes().as_slice(),
            now.timestamp_millis()
        ],
    )?;
    consider(tx, open, visitor, now)
}

/// At a gathering's organiser: `visitor` said they were going to an
/// occurrence that has passed. The stewards are told (and, if I am one,
/// my vault counts it at once).
pub(crate) fn attended(
    tx: &Connection,
    id: CollectiveId,
    visitor: &IdentityKey,
    now: DateTime<Utc>,
) -> Result<Vec<Sealed>> {
    let Some(mut open) = super::actions::open_kept(tx, id)? else {
        return Ok(Vec::new());
    };
    let state = open.state();
    if !state.members.contains(&open.me) || state.members.contains(visitor) {
        return Ok(Vec::new());
    }
    let body = json(&AttendedBody {
        v: 1,
        collective: id.to_string(),
        visitor: hex::encode(visitor.as_bytes()),
    })?;
    tell_stewards(
        tx,
        &mut open,
        kinds::COLLECTIVE_ATTENDED,
        &body,
        |tx, open, me| keep_attended(tx, open, visitor, me, now),
    )
}

/// What I know of a visitor, for the stewards alone: kept by my vault at
/// once if I am one (`keep`, with my key), and sealed as `kind` to the others.
fn tell_stewards(
    tx: &Connection,
    open: &mut Open,
    kind: &str,
    body: &[u8],
    keep: impl FnOnce(&Connection, &mut Open, &IdentityKey) -> Result<Vec<Sealed>>,
) -> Result<Vec<Sealed>> {
    let me = open.me;
    let state = open.state();
    let others: Vec<IdentityKey> = state
        .stewards
        .iter()
        .copied()
        .filter(|k| *k != me)
        .collect();
    let mut sealed = Vec::new();
    if state.stewards.contains(&me) {
        sealed.extend(keep(tx, open, &me)?);
    }
    let peers = comrades::peers_for_keys(tx, &others)?;
    if !peers.is_empty() {
        let outgoing = Outgoing {
            kind,
            body,
            to: &[],
            expires_at: None,
        };
        let subject = subject(open.log.collective());
        sealed.push(envelope::seal_in(tx, peers, &outgoing, Some(&subject))?);
    }
    Ok(sealed)
}

/// The collective, at a steward's vault, for what `sender` tells the
/// stewards: they must be a member, and I a steward.
fn open_as_steward(tx: &Connection, id: CollectiveId, sender: &IdentityKey) -> Result<Open> {
    let open = open(tx, id)?;
    let state = open.state();
    if !state.members.contains(sender) {
        return Err(CollectiveError::SenderNotAMember.into());
    }
    if !state.stewards.contains(&open.me) {
        return Err(CollectiveError::Refused {
            refusal: Refusal::NotASteward,
        }
        .into());
    }
    Ok(open)
}

/// An organiser's word that a visitor came, at my vault: only a steward
/// takes one, from a member.
pub(super) fn take_attended(
    tx: &Connection,
    organiser: &IdentityKey,
    (id, visitor): (CollectiveId, IdentityKey),
    now: DateTime<Utc>,
) -> Result<Vec<Sealed>> {
    let mut open = open_as_steward(tx, id, organiser)?;
    keep_attended(tx, &mut open, &visitor, organiser, now)
}

/// A member's vouch, at my vault: only a steward takes one.
pub(super) fn take_vouch(
    tx: &Connection,
    voucher: &IdentityKey,
    (id, visitor): (CollectiveId, Card),
    now: DateTime<Utc>,
) -> Result<Vec<Sealed>> {
    let mut open = open_as_steward(tx, id, voucher)?;
    visitor.check_not_ahead(now)?;
    record(tx, &mut open, &visitor, voucher, now)
}

/// A steward's count for a visitor, at a member's vault: kept for the face
/// of a visitor I host.
pub(super) fn take_progress(
    tx: &Connection,
    steward: &IdentityKey,
    (id, visitor, progress): (CollectiveId, IdentityKey, Progress),
    now: DateTime<Utc>,
) -> Result<Vec<Sealed>> {
    let open = open(tx, id)?;
    if !open.state().stewards.contains(steward) {
        return Err(CollectiveError::Refused {
            refusal: Refusal::NotASteward,
        }
        .into());
    }
    super::visitors::set_progress(tx, &open, &visitor, progress)?;
    super::visitors::send_faces(tx, &open, now)
}

/// Whether changes from a stranger are my welcome: I visit this collective,
/// the changes add me, and both the sender and my host are members once
/// they are taken (so only someone my host's collective counts can write).
/// The sender then becomes a comrade, introduced in the collective.
pub(super) fn admit_welcome(
    tx: &Connection,
    body: &Changes,
    card: &Card,
    now: DateTime<Utc>,
) -> Result<bool> {
    let Some(host) = super::visitors::host_of(tx, body.collective)? else {
        return Ok(false);
    };
    let me = identity::identity_key(tx)?;
    let mut log = Log::new(body.collective);
    let mut adds_me = false;
    for bytes in &body.changes {
        let Ok(change) = Change::from_bytes(bytes) else {
            return Ok(false);
        };
        adds_me |= matches!(change.op, Op::AddMember { member } if member == me);
        if log.add(change).is_err() {
            return Ok(false);
        }
    }
    let state = log.state();
    let sender = card.identity_key();
    if !adds_me || !state.members.contains(&host) || !state.members.contains(&sender) {
        return Ok(false);
    }
    let name = state.name.clone().unwrap_or_default();
    let met = Met::Introduced {
        by: &sender,
        by_name: card.name(),
    };
    comrades::add_met(tx, card, met, &name, now)?;
    Ok(store::kept(tx, body.collective)?.is_none())
}

fn json<T: Serialize>(body: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(body).map_err(|_| Error::Storage("encoding a message".into()))
}
