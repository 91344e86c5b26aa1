//! The bodies of `care.*` envelopes: JSON, version 1. Spec: `docs/care.md`.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::kinds;
use super::model::{
    CareCategory, CareUrgency, MAX_AHEAD_DAYS, MAX_DETAILS_CHARS, MAX_LOCATION_CHARS,
    MAX_MESSAGE_CHARS, MAX_NAME_CHARS, MAX_TITLE_CHARS,
};
use super::{OfferId, RequestId};
use crate::Result;
use crate::envelope::EnvelopeError;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequestBody {
    pub v: u8,
    pub id: RequestId,
    pub category: CareCategory,
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub details: String,
    pub urgency: CareUrgency,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needed_by: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
    pub posted_at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OfferBody {
    pub v: u8,
    pub request: RequestId,
    pub offer: OfferId,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_help_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AcceptBody {
    pub v: u8,
    pub request: RequestId,
    pub offer: OfferId,
    pub rev: u32,
}

/// A status change. From the requester it carries `rev`; from the
/// accepted helper (backing out, or done) it names their `offer`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateBody {
    pub v: u8,
    pub request: RequestId,
    pub status: Change,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<OfferId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Change {
    /// Covered: someone's offer was accepted (not saying whose).
    Matched,
    Withdrawn,
    Fulfilled,
    Reopened,
    Expired,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ThanksBody {
    pub v: u8,
    pub request: RequestId,
    pub note: String,
}

pub(crate) enum Message {
    Request(RequestBody),
    Offer(OfferBody),
    Accept(AcceptBody),
    Update(UpdateBody),
    Thanks(ThanksBody),
}

impl Message {
    pub fn request_id(&self) -> RequestId {
        match self {
            Message::Request(b) => b.id,
            Message::Offer(b) => b.request,
            Message::Accept(b) => b.request,
            Message::Update(b) => b.request,
            Message::Thanks(b) => b.request,
        }
    }
}

pub(crate) fn parse(kind: &str, body: &[u8]) -> Result<Message, EnvelopeError> {
    fn json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, EnvelopeError> {
        serde_json::from_slice(body).map_err(|_| EnvelopeError::Malformed)
    }
    let (message, fits) = match kind {
        kinds::CARE_REQUEST => {
            let b: RequestBody = json(body)?;
            let fits = b.v == 1
                && required(&b.title, MAX_TITLE_CHARS)
                && within(&b.details, MAX_DETAILS_CHARS)
                && optional(&b.location, MAX_LOCATION_CHARS)
                && optional(&b.on_behalf_of, MAX_NAME_CHARS)
                && b.expires_at > b.posted_at
                && b.expires_at <= b.posted_at + Duration::days(MAX_AHEAD_DAYS)
                && b.needed_by.is_none_or(|n| {
                    n > b.posted_at && n <= b.posted_at + Duration::days(MAX_AHEAD_DAYS)
                });
            (Message::Request(b), fits)
        }
        kinds::CARE_OFFER => {
            let b: OfferBody = json(body)?;
            let fits = b.v == 1 && required(&b.message, MAX_MESSAGE_CHARS);
            (Message::Offer(b), fits)
        }
        kinds::CARE_ACCEPT => {
            let b: AcceptBody = json(body)?;
            let fits = b.v == 1 && b.rev > 0;
            (Message::Accept(b), fits)
        }
        kinds::CARE_UPDATE => {
            let b: UpdateBody = json(body)?;
            let fits = b.v == 1
                && match (b.rev, b.offer) {
                    (Some(rev), None) => rev > 0,
                    (None, Some(_)) => matches!(b.status, Change::Withdrawn | Change::Fulfilled),
                    _ => false,
                };
            (Message::Update(b), fits)
        }
        kinds::CARE_THANKS => {
            let b: ThanksBody = json(body)?;
            let fits = b.v == 1 && required(&b.note, MAX_MESSAGE_CHARS);
            (Message::Thanks(b), fits)
        }
        _ => return Err(EnvelopeError::Malformed),
    };
    if !fits {
        return Err(EnvelopeError::Malformed);
    }
    Ok(message)
}

fn within(text: &str, max: usize) -> bool {
    text.trim() == text && text.chars().count() <= max
}

fn required(text: &str, max: usize) -> bool {
    !text.is_empty() && within(text, max)
}

fn optional(text: &Option<String>, max: usize) -> bool {
    text.as_deref().is_none_or(|t| required(t, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every example body in `docs/care.md` parses as its kind.
    #[test]
    fn the_examples_in_the_spec_are_valid() {
        let spec = include_str!("../../../docs/care.md");
        let mut checked = 0;
        for block in spec.split("```json ").skip(1) {
            let (kind, rest) = block.split_once('\n').unwrap();
            let body = rest.split("```").next().unwrap();
            assert!(
                parse(kind.trim(), body.as_bytes()).is_ok(),
                "{kind}: {body}"
            );
            checked += 1;
        }
        assert_eq!(checked, 6);
    }

    #[test]
    fn an_update_names_a_revision_or_an_offer_never_both() {
        let id = "0193a3c4-1f2e-7b6a-9c1d-2e3f4a5b6c7d";
        let both =
            format!(r#"{{"v":1,"request":"{id}","status":"withdrawn","rev":2,"offer":"{id}"}}"#);
        let neither = format!(r#"{{"v":1,"request":"{id}","status":"withdrawn"}}"#);
        let zero = format!(r#"{{"v":1,"request":"{id}","status":"matched","rev":0}}"#);
        for body in [both, neither, zero] {
            assert!(
                parse(kinds::CARE_UPDATE, body.as_bytes()).is_err(),
                "{body}"
            );
        }
    }
}
