//! Receiving `pulse.*` envelopes. Every one names its collective, and only
//! members of it, by my vault's view, are heard. Shares and tallies may
//! come before the start they belong to (relays keep no order); a few are
//! kept until it does.

use chrono::{DateTime, Utc};
use rusqlite::Transaction;

use super::store::{self, Stage};
use super::wire::{CheckInBody, Share, Start, Tally};
use super::{PulseError, kinds, tally};
use crate::Result;
use crate::collective::{self, CollectiveError, CollectiveId};
use crate::comrades::IdentityKey;
use crate::envelope::{Checked, EnvelopeError, KindHandler, MessageId, Opened};

/// Shares or tallies one sender may have waiting for a start my vault
/// has not seen: enough for any order of delivery, too few to flood.
const MAX_WAITING: u32 = 4;

/// Reads `pulse.*` envelopes.
pub struct PulseKinds;

enum Message {
    Start(Start),
    Share(Share),
    Tally(Stage, Tally),
    CheckIn,
}

impl KindHandler for PulseKinds {
    fn owns(&self, kind: &str) -> bool {
        kind.starts_with("pulse.")
    }

    fn check(
        &self,
        kind: &str,
        body: &[u8],
    ) -> std::result::Result<Box<dyn Checked>, EnvelopeError> {
        let message = match kind {
            kinds::PULSE_START => Message::Start(Start::parse(body)?),
            kinds::PULSE_SHARE => Message::Share(Share::parse(body)?),
            kinds::PULSE_COUNT => Message::Tally(Stage::Count, Tally::parse(body)?),
            kinds::PULSE_SUM => Message::Tally(Stage::Sum, Tally::parse(body)?),
            kinds::PULSE_CHECK_IN => {
                let b: CheckInBody =
                    serde_json::from_slice(body).map_err(|_| EnvelopeError::Malformed)?;
                if b.v != 1
                    || b.note
                        .as_deref()
                        .is_some_and(|n| !super::wire::note_fits(n))
                {
                    return Err(EnvelopeError::Malformed);
                }
                Message::CheckIn
            }
            _ => return Err(EnvelopeError::Malformed),
        };
        Ok(Box::new(message))
    }
}

impl Checked for Message {
    fn kept(&self) -> bool {
        matches!(self, Message::CheckIn)
    }

    fn receive(
        self: Box<Self>,
        tx: &Transaction<'_>,
        opened: &Opened,
        now: DateTime<Utc>,
    ) -> Result<Vec<MessageId>> {
        let from = opened.sender.identity_key;
        let pulse = match *self {
            Message::CheckIn => return Ok(Vec::new()),
            Message::Start(start) => {
                let m = members_only(tx, start.collective, &from)?;
                if !m.stewards.contains(&from) {
                    return Err(PulseError::NotASteward.into());
                }
                if start.talliers.iter().any(|t| !m.members.contains(t)) {
                    return Err(CollectiveError::NotAMember.into());
                }
                store::insert(tx, &start)?;
                start.pulse
            }
            Message::Share(share) => {
                let m = members_only(tx, share.collective, &from)?;
                match store::pulse(tx, share.pulse)? {
                    Some(stored) => {
                        if stored.start.collective != share.collective
                            || !stored.start.talliers.contains(&m.me)
                        {
                            return Err(PulseError::NotATallier.into());
                        }
                        if stored.counting.is_some() || stored.outcome.is_some() {
                            return Err(PulseError::Closed.into());
                        }
                    }
                    None => waiting_room(tx, "pulse_shares", &from)?,
                }
                if !store::put_share(tx, share.pulse, share.collective, &from, &share.share, now)? {
                    return Err(PulseError::AlreadyAnswered.into());
                }
                share.pulse
            }
            Message::Tally(stage, tally) => {
                members_only(tx, tally.collective, &from)?;
                match store::pulse(tx, tally.pulse)? {
                    Some(stored) => {
                        if stored.start.collective != tally.collective
                            || !stored.start.talliers.contains(&from)
                        {
                            return Err(PulseError::NotFromATallier.into());
                        }
                    }
                    None => waiting_room(tx, "pulse_tallies", &from)?,
                }
                // A tallier sends each stage once; a second is not heard.
                store::put_tally(tx, stage, &from, &tally, now)?;
                tally.pulse
            }
        };
        let sealed = tally::advance(tx, pulse, now)?;
        Ok(sealed.into_iter().map(|s| s.message_id).collect())
    }
}

/// The pulse an opened `pulse.*` envelope is about (a check-in is about none).
pub fn pulse_of(opened: &Opened) -> Option<super::PulseId> {
    match opened.kind.as_str() {
        kinds::PULSE_START => Start::parse(&opened.body).ok().map(|s| s.pulse),
        kinds::PULSE_SHARE => Share::parse(&opened.body).ok().map(|s| s.pulse),
        kinds::PULSE_COUNT | kinds::PULSE_SUM => Tally::parse(&opened.body).ok().map(|t| t.pulse),
        _ => None,
    }
}

/// The note of an opened `pulse.check_in`, if it has one.
pub fn check_in_note(opened: &Opened) -> Option<String> {
    let body: CheckInBody = serde_json::from_slice(&opened.body).ok()?;
    body.note
}

/// The collective, when both the sender and I are members of it.
fn members_only(
    tx: &Transaction<'_>,
    collective: CollectiveId,
    from: &IdentityKey,
) -> Result<collective::Membership> {
    let m = collective::membership(tx, collective).map_err(|e| match e {
        crate::Error::NotFound { .. } => CollectiveError::NotInvited.into(),
        e => e,
    })?;
    if !m.members.contains(from) {
        return Err(CollectiveError::SenderNotAMember.into());
    }
    Ok(m)
}

fn waiting_room(tx: &Transaction<'_>, table: &str, from: &IdentityKey) -> Result<()> {
    if store::strays_from(tx, table, from)? >= MAX_WAITING {
        return Err(PulseError::TooManyWaiting.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example bodies in `docs/pulse.md` parse as their kinds.
    #[test]
    fn the_examples_in_the_spec_are_valid() {
        let spec = include_str!("../../../docs/pulse.md");
        let examples = crate::bytes::spec_examples(spec, "pulse.");
        for (kind, body) in &examples {
            assert!(
                PulseKinds.check(kind, body.as_bytes()).is_ok(),
                "{kind}: {body}"
            );
        }
        assert_eq!(examples.len(), 5);
    }

    #[test]
    fn hostile_bodies_are_malformed_never_a_panic() {
        let cases: &[(&str, &str)] = &[
            (
                kinds::PULSE_SHARE,
                r#"{"v":1,"collective":"09090909090909090909090909090909","pulse":"0193c2a1-7f4e-7b21-9c3d-5e6f7a8b9c0d","share":[2305843009213693951,0,0,0,0]}"#,
            ),
            (
                kinds::PULSE_SHARE,
                r#"{"v":1,"collective":"09","pulse":"0193c2a1-7f4e-7b21-9c3d-5e6f7a8b9c0d","share":[0,0,0,0,0]}"#,
            ),
            (
                kinds::PULSE_SHARE,
                r#"{"v":1,"collective":"09090909090909090909090909090909","pulse":"0193c2a1-7f4e-7b21-9c3d-5e6f7a8b9c0d","share":[0,0,0,0]}"#,
            ),
            (
                kinds::PULSE_START,
                r#"{"v":1,"collective":"09090909090909090909090909090909","pulse":"0193c2a1-7f4e-7b21-9c3d-5e6f7a8b9c0d","started_at":0,"closes_at":1000,"threshold":4,"mood_steps":5,"talliers":[]}"#,
            ),
            (
                kinds::PULSE_COUNT,
                r#"{"v":1,"collective":"09090909090909090909090909090909","pulse":"0193c2a1-7f4e-7b21-9c3d-5e6f7a8b9c0d","counted":["8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c","8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"]}"#,
            ),
            (kinds::PULSE_CHECK_IN, r#"{"v":1,"note":""}"#),
            (
                kinds::PULSE_SUM,
                r#"{"v":2,"collective":"09090909090909090909090909090909","pulse":"0193c2a1-7f4e-7b21-9c3d-5e6f7a8b9c0d","counted":[]}"#,
            ),
            ("pulse.other", "{}"),
        ];
        for (kind, body) in cases {
            assert!(
                matches!(
                    PulseKinds.check(kind, body.as_bytes()),
                    Err(EnvelopeError::Malformed)
                ),
                "{kind}: {body}"
            );
        }
    }
}
