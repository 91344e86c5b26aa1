//! Applying `care.*` envelopes as they are opened, inside the opening
//! transaction: a refusal leaves the vault as it was.
//!
//! Out-of-order delivery: anything about a request I do not have yet is
//! parked and replayed when the request arrives. Requester changes carry a
//! revision, so a late or repeated one never undoes a newer one.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction, params};

use super::actions::{expect, my_accepted_offer, tell_audience};
use super::store::{self, NewOffer, State, Stored};
use super::wire::{self, Change, Message};
use super::{CareAction, CareError, CareStatus, OfferId, RequestId, retention};
use crate::comrades::{self, IdentityKey};
use crate::envelope::{Checked, EnvelopeError, KindHandler, MessageId, Opened};
use crate::{Error, Result};

/// Parked messages one comrade may have waiting; bounds a flood.
pub(crate) const MAX_PARKED_PER_SENDER: i64 = 64;

/// The `care.*` kinds, as `crate::registry` lists them.
pub(crate) struct CareKinds;

impl KindHandler for CareKinds {
    fn owns(&self, kind: &str) -> bool {
        kind.starts_with("care.")
    }

    fn check(&self, kind: &str, body: &[u8]) -> Result<Box<dyn Checked>, EnvelopeError> {
        Ok(Box::new(wire::parse(kind, body)?))
    }
}

/// The request an opened care envelope is about, to show it.
pub fn request_of(opened: &Opened) -> Option<RequestId> {
    wire::parse(&opened.kind, &opened.body)
        .ok()
        .map(|m| m.request_id())
}

impl Checked for Message {
    /// Applies a care envelope a comrade sent; returns the envelopes sealed in answer.
    fn receive(
        self: Box<Self>,
        tx: &Transaction<'_>,
        opened: &Opened,
        now: DateTime<Utc>,
    ) -> Result<Vec<MessageId>> {
        let from = Sender {
            key: opened.sender.identity_key,
            name: &opened.sender.name,
        };
        let replies = apply(tx, &from, &opened.kind, &opened.body, *self, now)?;
        retention::sweep(tx, now)?;
        Ok(replies)
    }
}

struct Sender<'a> {
    key: IdentityKey,
    name: &'a str,
}

fn apply(
    tx: &Connection,
    from: &Sender<'_>,
    kind: &str,
    raw: &[u8],
    message: Message,
    now: DateTime<Utc>,
) -> Result<Vec<MessageId>> {
    let request = message.request_id();
    if let Message::Request(body) = message {
        if let Some(known) = store::state(tx, request)? {
            // The same request again from the same member changes nothing.
            return match known.requester {
                Some(k) if k == from.key => Ok(Vec::new()),
                _ => Err(CareError::NotTakingPart.into()),
            };
        }
        store::insert(tx, &body, Some((&from.key, from.name)), now)?;
        return replay_parked(tx, request, now);
    }
    let Some(state) = store::state(tx, request)? else {
        park(tx, request, &from.key, kind, raw, now)?;
        return Ok(Vec::new());
    };
    let from_requester = state.requester == Some(from.key);
    let i_asked = state.requester.is_none();
    match message {
        Message::Request(_) => unreachable!("handled above"),
        Message::Offer(b) => {
            if !i_asked || !store::audience(tx, state.seq)?.contains(&from.key) {
                return Err(CareError::NotTakingPart.into());
            }
            expect(&state, now, CareAction::Offer, &[CareStatus::Open])?;
            if let Some(row) = store::offer_row(tx, b.offer)? {
                return match row.helper {
                    Some(k) if k == from.key => Ok(Vec::new()),
                    _ => Err(CareError::NotTakingPart.into()),
                };
            }
            store::insert_offer(
                tx,
                &NewOffer {
                    id: b.offer,
                    request_seq: state.seq,
                    helper: Some((&from.key, from.name)),
                    message: &b.message,
                    can_help_at: b.can_help_at,
                    made_at: now,
                },
            )?;
            Ok(Vec::new())
        }
        Message::Accept(b) => {
            if !from_requester {
                return Err(CareError::NotRequester {
                    action: CareAction::Accept,
                }
                .into());
            }
            let row = store::offer_row(tx, b.offer)?
                .filter(|row| row.helper.is_none() && row.request_seq == state.seq)
                .ok_or(CareError::NotTakingPart)?;
            // The "covered" update of the same revision may have come first.
            let covered_first = b.rev == state.rev
                && state.stored == Stored::Matched
                && state.accepted_offer.is_none();
            if (b.rev > state.rev || covered_first) && !row.withdrawn {
                store::set_status(
                    tx,
                    state.seq,
                    Stored::Matched,
                    b.rev,
                    Some(Some(b.offer)),
                    now,
                )?;
            }
            Ok(Vec::new())
        }
        Message::Update(b) => match (b.rev, b.offer) {
            (Some(rev), _) => {
                if !from_requester {
                    return Err(CareError::NotTakingPart.into());
                }
                if rev > state.rev {
                    from_the_requester(tx, &state, b.status, rev, now)?;
                }
                Ok(Vec::new())
            }
            (None, Some(offer)) => {
                let row = store::offer_row(tx, offer)?
                    .filter(|row| {
                        i_asked && row.helper == Some(from.key) && row.request_seq == state.seq
                    })
                    .ok_or(CareError::NotTakingPart)?;
                from_a_helper(tx, &state, request, b.status, offer, row.withdrawn, now)
            }
            (None, None) => Err(crate::envelope::EnvelopeError::Malformed.into()),
        },
        Message::Thanks(b) => {
            if !from_requester || my_accepted_offer(tx, &state)?.is_none() {
                return Err(CareError::NotTakingPart.into());
            }
            store::set_thanks(tx, state.seq, &b.note)?;
            Ok(Vec::new())
        }
    }
}

fn from_the_requester(
    tx: &Connection,
    state: &State,
    change: Change,
    rev: u32,
    now: DateTime<Utc>,
) -> Result<()> {
    let (stored, accepted) = match change {
        Change::Matched => (Stored::Matched, None),
        Change::Withdrawn => (Stored::Withdrawn, None),
        Change::Fulfilled => (Stored::Fulfilled, None),
        Change::Reopened => (Stored::Open, Some(None)),
        Change::Expired => {
            tx.execute(
                "UPDATE care_requests SET expires_at = min(expires_at, ?2) WHERE seq = ?1",
                params![state.seq, now.timestamp_millis()],
            )?;
            (Stored::Open, Some(None))
        }
    };
    store::set_status(tx, state.seq, stored, rev, accepted, now)
}

/// At the member who asked: a helper backs out or says it is done.
fn from_a_helper(
    tx: &Connection,
    state: &State,
    request: RequestId,
    change: Change,
    offer: OfferId,
    withdrawn: bool,
    now: DateTime<Utc>,
) -> Result<Vec<MessageId>> {
    let accepted = state.accepted_offer == Some(offer);
    match change {
        Change::Withdrawn if withdrawn => Ok(Vec::new()),
        Change::Withdrawn => {
            store::withdraw_offer(tx, offer)?;
            if !(accepted && state.stored == Stored::Matched) {
                return Ok(Vec::new());
            }
            // Open again, unless its time has passed; everyone asked hears.
            let rev = state.rev + 1;
            let change = if state.expires_at <= now.timestamp_millis() {
                Change::Expired
            } else {
                Change::Reopened
            };
            store::set_status(tx, state.seq, Stored::Open, rev, Some(None), now)?;
            Ok(tell_audience(tx, state, request, change, rev)?
                .into_iter()
                .map(|s| s.message_id)
                .collect())
        }
        Change::Fulfilled if !accepted => Err(CareError::NotTakingPart.into()),
        Change::Fulfilled if state.stored == Stored::Fulfilled => Ok(Vec::new()),
        Change::Fulfilled => {
            expect(state, now, CareAction::Fulfil, &[CareStatus::Matched])?;
            store::set_status(tx, state.seq, Stored::Fulfilled, state.rev + 1, None, now)?;
            Ok(Vec::new())
        }
        _ => Err(crate::envelope::EnvelopeError::Malformed.into()),
    }
}

fn park(
    tx: &Connection,
    request: RequestId,
    from: &IdentityKey,
    kind: &str,
    raw: &[u8],
    now: DateTime<Utc>,
) -> Result<()> {
    let waiting: i64 = tx.query_row(
        "SELECT count(*) FROM care_parked WHERE sender = ?1",
        [from.as_bytes().as_slice()],
        |r| r.get(0),
    )?;
    if waiting >= MAX_PARKED_PER_SENDER {
        return Err(CareError::TooManyParked.into());
    }
    tx.execute(
        "INSERT INTO care_parked (request_id, sender, kind, body, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            request.0.as_bytes().as_slice(),
            from.as_bytes().as_slice(),
            kind,
            raw,
            now.timestamp_millis()
        ],
    )?;
    Ok(())
}

/// Applies what waited for this request, oldest first. One that no longer
/// fits (its sender was removed, or it breaks a rule) is dropped alone.
fn replay_parked(
    tx: &Connection,
    request: RequestId,
    now: DateTime<Utc>,
) -> Result<Vec<MessageId>> {
    let parked: Vec<(i64, Vec<u8>, String, Vec<u8>)> = tx
        .prepare_cached(
            "SELECT seq, sender, kind, body FROM care_parked WHERE request_id = ?1 ORDER BY seq",
        )?
        .query_map([request.0.as_bytes().as_slice()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut replies = Vec::new();
    for (seq, sender, kind, body) in parked {
        tx.execute("DELETE FROM care_parked WHERE seq = ?1", [seq])?;
        let key = IdentityKey::from_stored(sender)?;
        let Some(name) = comrades::name_of(tx, &key)? else {
            continue;
        };
        let Ok(message) = wire::parse(&kind, &body) else {
            continue;
        };
        let from = Sender { key, name: &name };
        tx.execute_batch("SAVEPOINT care_replay")?;
        match apply(tx, &from, &kind, &body, message, now) {
            Ok(more) => {
                tx.execute_batch("RELEASE care_replay")?;
                replies.extend(more);
            }
            Err(Error::Care(_) | Error::Envelope(_)) => {
                tx.execute_batch("ROLLBACK TO care_replay; RELEASE care_replay")?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(replies)
}
