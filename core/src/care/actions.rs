//! What a member does: post, offer, accept, withdraw, fulfil, thank. Each
//! is one transaction that changes my copy and seals the envelopes that
//! tell the others.

use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;

use super::kinds;
use super::model::{
    MAX_AHEAD_DAYS, MAX_DETAILS_CHARS, MAX_LOCATION_CHARS, MAX_MESSAGE_CHARS, MAX_NAME_CHARS,
    MAX_TITLE_CHARS, NewCareRequest, clean_optional, clean_text,
};
use super::store::{self, NewOffer, State, Stored};
use super::wire::{AcceptBody, Change, OfferBody, RequestBody, ThanksBody, UpdateBody};
use super::{
    Care, CareAction, CareError, CareStatus, OfferId, OfferedHelp, PostedRequest, RequestId,
    retention,
};
use crate::comrades::{self, IdentityKey};
use crate::envelope::{self, Sealed};
use crate::{Error, Result};

impl Care<'_> {
    /// Asks comrades and circles for help.
    pub fn post(&self, new: &NewCareRequest) -> Result<PostedRequest> {
        let now = Utc::now();
        let body = RequestBody {
            v: 1,
            id: RequestId::new(),
            category: new.category,
            title: clean_text(&new.title, "title", MAX_TITLE_CHARS)?,
            details: clean_optional(Some(&new.details), "details", MAX_DETAILS_CHARS)?
                .unwrap_or_default(),
            urgency: new.urgency,
            needed_by: new
                .needed_by
                .map(|t| ahead(t, now, "needed by"))
                .transpose()?,
            expires_at: ahead(new.expiry(now), now, "expiry")?,
            location: clean_optional(new.location.as_deref(), "location", MAX_LOCATION_CHARS)?,
            on_behalf_of: clean_optional(
                new.on_behalf_of.as_deref(),
                "on behalf of",
                MAX_NAME_CHARS,
            )?,
            posted_at: now,
        };
        self.vault.with_tx(|tx| {
            let peers = envelope::resolve(tx, &new.to)?;
            let audience: Vec<IdentityKey> = peers.iter().map(|p| p.identity_key).collect();
            let seq = store::insert(tx, &body, None, now)?;
            store::set_audience(tx, seq, &audience)?;
            let sealed = seal(
                tx,
                peers,
                kinds::CARE_REQUEST,
                &body,
                body.id,
                Some(body.expires_at),
            )?;
            retention::sweep(tx, now)?;
            Ok(PostedRequest {
                request: store::get(tx, body.id, now)?,
                sealed,
            })
        })
    }

    /// Offers help with a comrade's request; only they will know.
    pub fn offer_help(
        &self,
        request: RequestId,
        message: &str,
        can_help_at: Option<DateTime<Utc>>,
    ) -> Result<OfferedHelp> {
        let now = Utc::now();
        let message = clean_text(message, "message", MAX_MESSAGE_CHARS)?;
        let can_help_at = can_help_at
            .map(|t| ahead(t, now, "when you can help"))
            .transpose()?;
        self.vault.with_tx(|tx| {
            let state = known(tx, request)?;
            let Some(requester) = state.requester else {
                return Err(Error::invalid("request", "you asked for this yourself"));
            };
            expect(&state, now, CareAction::Offer, &[CareStatus::Open])?;
            let body = OfferBody {
                v: 1,
                request,
                offer: OfferId::new(),
                message,
                can_help_at,
            };
            let to = peer(tx, requester, "the member who asked")?;
            store::insert_offer(
                tx,
                &NewOffer {
                    id: body.offer,
                    request_seq: state.seq,
                    helper: None,
                    message: &body.message,
                    can_help_at,
                    made_at: now,
                },
            )?;
            let sealed = seal(tx, to, kinds::CARE_OFFER, &body, request, None)?;
            Ok(OfferedHelp {
                offer: store::get_offer(tx, body.offer)?,
                sealed,
            })
        })
    }

    /// Accepts one offer on my request. The helper is told; everyone asked
    /// (the helper too, so nobody can tell who) hears only that it is covered.
    pub fn accept(&self, offer: OfferId) -> Result<Vec<Sealed>> {
        let now = Utc::now();
        self.vault.with_tx(|tx| {
            let row = store::offer_row(tx, offer)?.ok_or(Error::NotFound { what: "offer" })?;
            let state = known(tx, row.request_id)?;
            if state.requester.is_some() {
                return Err(CareError::NotRequester {
                    action: CareAction::Accept,
                }
                .into());
            }
            expect(&state, now, CareAction::Accept, &[CareStatus::Open])?;
            let helper = row
                .helper
                .ok_or(Error::invalid("offer", "that offer is your own"))?;
            if row.withdrawn {
                return Err(Error::invalid("offer", "the helper took it back"));
            }
            let rev = state.rev + 1;
            store::set_status(tx, state.seq, Stored::Matched, rev, Some(Some(offer)), now)?;
            let accept = AcceptBody {
                v: 1,
                request: row.request_id,
                offer,
                rev,
            };
            let to = peer(tx, helper, "the helper")?;
            let mut sealed = vec![seal(
                tx,
                to,
                kinds::CARE_ACCEPT,
                &accept,
                row.request_id,
                None,
            )?];
            sealed.extend(tell_audience(
                tx,
                &state,
                row.request_id,
                Change::Matched,
                rev,
            )?);
            Ok(sealed)
        })
    }

    /// My own request: withdraws it and tells everyone asked. Someone
    /// else's: takes back my offer; if it was accepted, they reopen it.
    pub fn withdraw(&self, request: RequestId) -> Result<Vec<Sealed>> {
        let now = Utc::now();
        self.vault.with_tx(|tx| {
            let state = known(tx, request)?;
            let Some(requester) = state.requester else {
                return close_mine(tx, &state, request, Change::Withdrawn, now);
            };
            let offers = store::my_live_offers(tx, state.seq)?;
            if offers.is_empty() {
                return Err(CareError::NotTakingPart.into());
            }
            expect(
                &state,
                now,
                CareAction::Withdraw,
                &[CareStatus::Open, CareStatus::Matched],
            )?;
            let to = peer(tx, requester, "the member who asked")?;
            let mut sealed = Vec::new();
            for offer in offers {
                store::withdraw_offer(tx, offer)?;
                if state.accepted_offer == Some(offer) {
                    store::set_status(tx, state.seq, state.stored, state.rev, Some(None), now)?;
                }
                let body = from_helper(request, Change::Withdrawn, offer);
                sealed.push(seal(
                    tx,
                    to.clone(),
                    kinds::CARE_UPDATE,
                    &body,
                    request,
                    None,
                )?);
            }
            Ok(sealed)
        })
    }

    /// Marks a matched request fulfilled: by the member who asked (everyone
    /// asked is told) or by the accepted helper (the member who asked is told).
    pub fn fulfil(&self, request: RequestId) -> Result<Vec<Sealed>> {
        let now = Utc::now();
        self.vault.with_tx(|tx| {
            let state = known(tx, request)?;
            let Some(requester) = state.requester else {
                return close_mine(tx, &state, request, Change::Fulfilled, now);
            };
            let offer = my_accepted_offer(tx, &state)?.ok_or(CareError::NotTakingPart)?;
            expect(&state, now, CareAction::Fulfil, &[CareStatus::Matched])?;
            store::set_status(tx, state.seq, Stored::Fulfilled, state.rev, None, now)?;
            let to = peer(tx, requester, "the member who asked")?;
            let body = from_helper(request, Change::Fulfilled, offer);
            Ok(vec![seal(
                tx,
                to,
                kinds::CARE_UPDATE,
                &body,
                request,
                None,
            )?])
        })
    }

    /// A thank-you note to the helper of my request.
    pub fn thank(&self, request: RequestId, note: &str) -> Result<Sealed> {
        let now = Utc::now();
        let note = clean_text(note, "note", MAX_MESSAGE_CHARS)?;
        self.vault.with_tx(|tx| {
            let state = known(tx, request)?;
            if state.requester.is_some() {
                return Err(CareError::NotRequester {
                    action: CareAction::Thank,
                }
                .into());
            }
            expect(
                &state,
                now,
                CareAction::Thank,
                &[CareStatus::Matched, CareStatus::Fulfilled],
            )?;
            let offer = state
                .accepted_offer
                .and_then(|o| store::offer_row(tx, o).transpose())
                .transpose()?
                .ok_or(Error::DatabaseDamaged)?;
            let helper = offer.helper.ok_or(Error::DatabaseDamaged)?;
            let to = peer(tx, helper, "the helper")?;
            store::set_thanks(tx, state.seq, &note)?;
            let body = ThanksBody {
                v: 1,
                request,
                note,
            };
            seal(tx, to, kinds::CARE_THANKS, &body, request, None)
        })
    }
}

pub(super) fn known(conn: &Connection, id: RequestId) -> Result<State> {
    store::state(conn, id)?.ok_or(Error::NotFound {
        what: "care request",
    })
}

/// Refuses an action unless the request is in one of `allowed`.
pub(super) fn expect(
    state: &State,
    now: DateTime<Utc>,
    action: CareAction,
    allowed: &[CareStatus],
) -> Result<()> {
    let status = state.status(now);
    if !allowed.contains(&status) {
        return Err(CareError::InvalidTransition { action, status }.into());
    }
    Ok(())
}

/// My offer, if it is the accepted one.
pub(super) fn my_accepted_offer(conn: &Connection, state: &State) -> Result<Option<OfferId>> {
    let Some(offer) = state.accepted_offer else {
        return Ok(None);
    };
    Ok(store::offer_row(conn, offer)?
        .filter(|row| row.helper.is_none())
        .map(|_| offer))
}

/// Withdraws or fulfils my own request, and tells everyone I asked.
fn close_mine(
    conn: &Connection,
    state: &State,
    request: RequestId,
    change: Change,
    now: DateTime<Utc>,
) -> Result<Vec<Sealed>> {
    let (action, allowed, stored): (_, &[CareStatus], _) = match change {
        Change::Withdrawn => (
            CareAction::Withdraw,
            &[CareStatus::Open, CareStatus::Matched],
            Stored::Withdrawn,
        ),
        Change::Fulfilled => (
            CareAction::Fulfil,
            &[CareStatus::Matched],
            Stored::Fulfilled,
        ),
        _ => return Err(Error::invalid("change", "not one that closes a request")),
    };
    expect(state, now, action, allowed)?;
    let rev = state.rev + 1;
    store::set_status(conn, state.seq, stored, rev, None, now)?;
    tell_audience(conn, state, request, change, rev)
}

/// Tells everyone I asked (who is still a comrade) about a change.
pub(super) fn tell_audience(
    conn: &Connection,
    state: &State,
    request: RequestId,
    change: Change,
    rev: u32,
) -> Result<Vec<Sealed>> {
    let peers = comrades::peers_for_keys(conn, &store::audience(conn, state.seq)?)?;
    if peers.is_empty() {
        return Ok(Vec::new());
    }
    let body = UpdateBody {
        v: 1,
        request,
        status: change,
        rev: Some(rev),
        offer: None,
    };
    Ok(vec![seal(
        conn,
        peers,
        kinds::CARE_UPDATE,
        &body,
        request,
        None,
    )?])
}

fn from_helper(request: RequestId, change: Change, offer: OfferId) -> UpdateBody {
    UpdateBody {
        v: 1,
        request,
        status: change,
        rev: None,
        offer: Some(offer),
    }
}

fn peer(conn: &Connection, key: IdentityKey, who: &'static str) -> Result<Vec<comrades::Peer>> {
    let peers = comrades::peers_for_keys(conn, &[key])?;
    if peers.is_empty() {
        return Err(Error::Invalid {
            field: who,
            problem: "no longer among your comrades, or blocked",
        });
    }
    Ok(peers)
}

/// Seals a care body about `request` to `peers`; the outbox files it under
/// the request, so retention deletes it with the request.
fn seal<T: serde::Serialize>(
    conn: &Connection,
    peers: Vec<comrades::Peer>,
    kind: &str,
    body: &T,
    request: RequestId,
    expires_at: Option<DateTime<Utc>>,
) -> Result<Sealed> {
    envelope::seal_json_in(conn, peers, kind, body, &request.to_string(), expires_at)
}

/// A time that must be in the future and within a year.
fn ahead(t: DateTime<Utc>, now: DateTime<Utc>, field: &'static str) -> Result<DateTime<Utc>> {
    if t <= now {
        return Err(Error::invalid(field, "already past"));
    }
    if t > now + Duration::days(MAX_AHEAD_DAYS) {
        return Err(Error::invalid(field, "more than a year ahead"));
    }
    Ok(t)
}
