//! `collective.*` envelopes as they are opened, inside the opening
//! transaction: a refusal leaves the vault as it was.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, Transaction};

use super::actions::{Open, open, open_kept, others, seal};
use super::admission::{self, AttendedBody, ProgressBody, VouchBody};
use super::change::{Change, Op};
use super::state::Outcome;
use super::store;
use super::visitors::{self, FaceBody, VisitBody};
use super::wire::{Ask, Changes};
use super::{CollectiveError, kinds};
use crate::comrades::{self, Card, IdentityKey};
use crate::envelope::{
    self, Checked, EnvelopeError, KindHandler, MessageId, Opened, Outgoing, Sealed,
};
use crate::{Result, identity};

/// A member who saw they lack changes asks again no sooner than this.
pub const ASK_AGAIN_AFTER: Duration = Duration::hours(1);
/// Every member asks one other this often, in case nothing they missed
/// was announced to them while they were away.
pub const CATCH_UP_EVERY: Duration = Duration::days(7);

/// The `collective.*` kinds, as `crate::registry` lists them, and what
/// follows each one taken.
pub(crate) struct CollectiveKinds {
    pub follow: super::Follow,
}

struct Received {
    body: Incoming,
    follow: super::Follow,
}

enum Incoming {
    Changes(Changes),
    Ask(Ask),
    Visit(VisitBody),
    Face(FaceBody),
    Vouch(Box<(super::CollectiveId, Card)>),
    Progress((super::CollectiveId, IdentityKey, super::visitors::Progress)),
    Attended((super::CollectiveId, IdentityKey)),
}

impl KindHandler for CollectiveKinds {
    fn owns(&self, kind: &str) -> bool {
        kind.starts_with("collective.")
    }

    fn check(&self, kind: &str, body: &[u8]) -> Result<Box<dyn Checked>, EnvelopeError> {
        let body = match kind {
            kinds::COLLECTIVE_CHANGES => Incoming::Changes(Changes::parse(body)?),
            kinds::COLLECTIVE_ASK => Incoming::Ask(Ask::parse(body)?),
            kinds::COLLECTIVE_VISIT => Incoming::Visit(VisitBody::parse(body)?),
            kinds::COLLECTIVE_FACE => Incoming::Face(FaceBody::parse(body)?),
            kinds::COLLECTIVE_VOUCH => Incoming::Vouch(Box::new(VouchBody::parse(body)?)),
            kinds::COLLECTIVE_PROGRESS => Incoming::Progress(ProgressBody::parse(body)?),
            kinds::COLLECTIVE_ATTENDED => Incoming::Attended(AttendedBody::parse(body)?),
            _ => return Err(EnvelopeError::Malformed),
        };
        Ok(Box::new(Received {
            body,
            follow: self.follow,
        }))
    }
}

impl Checked for Received {
    fn admit_stranger(
        &self,
        tx: &Transaction<'_>,
        card: &Card,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        match &self.body {
            Incoming::Visit(body) => visitors::admit(tx, body, card, now),
            Incoming::Changes(body) => admission::admit_welcome(tx, body, card, now),
            _ => Ok(false),
        }
    }

    fn receive(
        self: Box<Self>,
        tx: &Transaction<'_>,
        opened: &Opened,
        now: DateTime<Utc>,
    ) -> Result<Vec<MessageId>> {
        let from = (opened.sender.identity_key, opened.sender.name.as_str());
        let mut sealed = match self.body {
            Incoming::Changes(body) => take(tx, from, body, now)?,
            Incoming::Ask(ask) => answer(tx, &from.0, ask, now)?,
            Incoming::Visit(body) => visitors::take_visit(tx, &from.0, &body, now)?,
            Incoming::Face(face) => {
                visitors::take_face(tx, &from.0, &opened.body, face)?;
                Vec::new()
            }
            Incoming::Vouch(vouch) => admission::take_vouch(tx, &from.0, *vouch, now)?,
            Incoming::Progress(p) => admission::take_progress(tx, &from.0, p, now)?,
            Incoming::Attended(a) => admission::take_attended(tx, &from.0, a, now)?,
        };
        sealed.extend((self.follow)(tx, now)?);
        Ok(sealed.into_iter().map(|s| s.message_id).collect())
    }
}

/// Whether `data` parses as any `collective.*` body or a visitor pass:
/// the fuzzers' entry (`testing::collective_bodies`).
#[cfg(feature = "testing")]
pub(crate) fn parses_as_a_body(data: &[u8]) -> bool {
    let text = std::str::from_utf8(data).ok();
    [
        Changes::parse(data).is_ok(),
        Ask::parse(data).is_ok(),
        VisitBody::parse(data).is_ok(),
        FaceBody::parse(data).is_ok(),
        VouchBody::parse(data).is_ok(),
        ProgressBody::parse(data).is_ok(),
        AttendedBody::parse(data).is_ok(),
        super::Pass::from_bytes(data).is_ok(),
        text.is_some_and(|t| super::Pass::parse(t).is_ok()),
    ]
    .contains(&true)
}

/// The collective an opened `collective.*` envelope is about, to show it.
pub fn collective_of(opened: &Opened) -> Option<super::CollectiveId> {
    match opened.kind.as_str() {
        kinds::COLLECTIVE_CHANGES => Changes::parse(&opened.body).ok().map(|c| c.collective),
        kinds::COLLECTIVE_ASK => Ask::parse(&opened.body).ok().map(|a| a.collective),
        kinds::COLLECTIVE_VISIT => VisitBody::parse(&opened.body).ok().map(|v| v.collective()),
        kinds::COLLECTIVE_FACE => FaceBody::parse(&opened.body).ok()?.collective.parse().ok(),
        _ => None,
    }
}

/// Takes changes a comrade sent. They must be a member before or after
/// (a member leaving is one no longer); a collective I do not keep is
/// taken only if the changes add me. Cards of members come in as
/// introductions. When the sender holds more than I do, or my log has a
/// gap, I ask them for the rest.
fn take(
    tx: &Connection,
    (sender, sender_name): (IdentityKey, &str),
    body: Changes,
    now: DateTime<Utc>,
) -> Result<Vec<Sealed>> {
    let changes = body
        .changes
        .iter()
        .map(|bytes| Change::from_bytes(bytes))
        .collect::<Result<Vec<_>, _>>()
        .map_err(CollectiveError::from)?;
    if changes.iter().any(|c| c.collective != body.collective) {
        return Err(CollectiveError::WrongCollective.into());
    }
    let me = identity::identity_key(tx)?;
    let mut open = match open_kept(tx, body.collective)? {
        Some(open) => open,
        None => {
            let adds_me = changes
                .iter()
                .any(|c| matches!(c.op, Op::AddMember { member } if member == me));
            if !adds_me {
                return Err(CollectiveError::NotInvited.into());
            }
            let kept = store::insert(tx, body.collective, now)?;
            Open::new(kept, super::Log::new(body.collective), me)
        }
    };
    let was_member = open.state().members.contains(&sender);
    for change in changes {
        open.add(tx, change)?;
    }
    let state = open.state();
    if !was_member && !state.members.contains(&sender) {
        return Err(CollectiveError::SenderNotAMember.into());
    }
    if state.members.contains(&me) {
        visitors::end_visit(tx, body.collective)?;
    }
    let name = state.name.clone().unwrap_or_default();
    for bytes in &body.cards {
        let card = Card::from_bytes(bytes)?;
        if state.members.contains(&card.identity_key()) {
            let met = comrades::Met::Introduced {
                by: &sender,
                by_name: sender_name,
            };
            comrades::add_met(tx, &card, met, &name, now)?;
        }
    }
    let mut sealed = visitors::send_faces(tx, &open, now)?;
    let may_ask = state.members.contains(&me)
        && open
            .kept
            .asked_at
            .is_none_or(|at| now - at >= ASK_AGAIN_AFTER);
    // Cheapest first: the card lookups only when the counts agree.
    let behind = || -> Result<bool> {
        Ok(body.held as usize > open.log.len()
            || state.outcomes.values().any(|o| *o == Outcome::Pending)
            || !missing_cards(tx, &open)?.is_empty())
    };
    if may_ask && behind()? {
        sealed.extend(ask(tx, &open, sender, now)?);
    }
    Ok(sealed)
}

/// Members whose card I do not hold (nor am I).
fn missing_cards(conn: &Connection, open: &Open) -> Result<Vec<IdentityKey>> {
    let state = open.state();
    let mut missing = Vec::new();
    for key in others(open, state) {
        if comrades::by_identity(conn, &key)?.is_none() {
            missing.push(key);
        }
    }
    Ok(missing)
}

/// Asks `whom` for what I lack of this collective.
fn ask(
    conn: &Connection,
    open: &Open,
    whom: IdentityKey,
    now: DateTime<Utc>,
) -> Result<Vec<Sealed>> {
    let peers = comrades::peers_for_keys(conn, &[whom])?;
    store::set_asked(conn, open.kept.seq, now)?;
    if peers.is_empty() {
        return Ok(Vec::new());
    }
    let body = Ask {
        collective: open.log.collective(),
        heads: open.log.heads(),
        cards: missing_cards(conn, open)?,
    }
    .to_bytes();
    let outgoing = Outgoing {
        kind: kinds::COLLECTIVE_ASK,
        body: &body,
        to: &[],
        expires_at: Some(now + identity::LONGEST_STAY),
    };
    let subject = super::actions::subject(open.log.collective());
    Ok(vec![envelope::seal_in(
        conn,
        peers,
        &outgoing,
        Some(&subject),
    )?])
}

/// Sends a member what they asked for: the changes beyond what they hold,
/// and the cards they lack. Nothing to someone who is not a member.
fn answer(
    tx: &Connection,
    asker: &IdentityKey,
    ask: Ask,
    now: DateTime<Utc>,
) -> Result<Vec<Sealed>> {
    let Some(open) = open_kept(tx, ask.collective)? else {
        return Err(CollectiveError::NotInvited.into());
    };
    if !open.state().members.contains(asker) {
        return Err(CollectiveError::SenderNotAMember.into());
    }
    // A member who floods asks is answered once an hour: what they lack
    // would be sealed again, whole, for each.
    if store::answered_lately(tx, open.kept.seq, asker, now - ASK_AGAIN_AFTER)? {
        return Ok(Vec::new());
    }
    store::set_answered(tx, open.kept.seq, asker, now)?;
    let beyond: Vec<Change> = open.log.beyond(&ask.heads).cloned().collect();
    seal(tx, &open, (&[], &beyond), &ask.cards, &[*asker])
}

/// At unlock: each collective I am a member of that nobody was asked
/// about for [`CATCH_UP_EVERY`] asks one other member, chosen at random.
pub(crate) fn ask_if_due(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    for id in store::ids(conn)? {
        let open = open(conn, id)?;
        let since = open.kept.asked_at.unwrap_or(open.kept.joined_at);
        if now - since < CATCH_UP_EVERY {
            continue;
        }
        let state = open.state();
        if !state.members.contains(&open.me) {
            continue;
        }
        let others: Vec<IdentityKey> = others(&open, state).collect();
        let reachable = comrades::peers_for_keys(conn, &others)?;
        match rand::seq::SliceRandom::choose(reachable.as_slice(), &mut rand::thread_rng()) {
            Some(peer) => drop(ask(conn, &open, peer.identity_key, now)?),
            None => store::set_asked(conn, open.kept.seq, now)?,
        }
    }
    Ok(())
}
