//! A visitor pass: what a member gives a prospective member so their Tend
//! can reach the collective's public face (`docs/collective.md`, "Visitor
//! pass"). It names the collective and carries the host's card, signed by
//! the host; it holds no key that opens anything sealed to the members.

use std::fmt;

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier};

use super::change::CollectiveId;
use crate::bytes::{self, Reader};
use crate::identity::{Card, MAX_CARD_BYTES};
use crate::redact::Text;

const VERSION: u8 = 1;
const PREFIX: &str = "TENDPASS:";
const SIGNING_CONTEXT: &[u8] = b"tend visitor pass v1\0";
/// No pass is larger: a full card and a long name.
pub const MAX_PASS_BYTES: usize = 1 + 16 + 16 + 8 + 1 + 255 + 2 + MAX_CARD_BYTES + 64;
/// The longest a pass may be valid for.
pub const MAX_PASS_DAYS: i64 = 90;

/// Why a pass was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PassError {
    #[error("not a visitor pass")]
    Malformed,
    #[error("visitor pass version {0} is newer than this app understands")]
    UnsupportedVersion(u8),
    #[error("the pass is not signed by the member it names")]
    BadSignature,
    #[error("the pass has expired")]
    Expired,
}

crate::id::uuid_id!(
    /// One pass: the same id in the host's and the visitor's vault.
    PassId,
    "pass id"
);

/// A pass as its host signed it.
#[derive(Clone)]
pub struct Pass {
    pub id: PassId,
    pub collective: CollectiveId,
    pub collective_name: String,
    pub expires_at: DateTime<Utc>,
    /// The member who issued it: their card, so the visitor can write to them.
    pub host: Card,
    bytes: Vec<u8>,
}

impl fmt::Debug for Pass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pass")
            .field("id", &self.id)
            .field("collective_name", &Text(&self.collective_name))
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl Pass {
    pub(crate) fn issue(
        signing: &SigningKey,
        host: &Card,
        collective: CollectiveId,
        collective_name: &str,
        expires_at: DateTime<Utc>,
    ) -> Pass {
        Pass::issue_as(
            PassId::new(),
            signing,
            host,
            collective,
            collective_name,
            expires_at,
        )
    }

    fn issue_as(
        id: PassId,
        signing: &SigningKey,
        host: &Card,
        collective: CollectiveId,
        collective_name: &str,
        expires_at: DateTime<Utc>,
    ) -> Pass {
        let mut bytes = vec![VERSION];
        bytes.extend_from_slice(&collective.0);
        bytes.extend_from_slice(id.0.as_bytes());
        bytes.extend_from_slice(&expires_at.timestamp().to_be_bytes());
        bytes.push(collective_name.len() as u8);
        bytes.extend_from_slice(collective_name.as_bytes());
        bytes.extend_from_slice(&(host.as_bytes().len() as u16).to_be_bytes());
        bytes.extend_from_slice(host.as_bytes());
        let signature = signing.sign(&[SIGNING_CONTEXT, &bytes].concat());
        bytes.extend_from_slice(&signature.to_bytes());
        Pass {
            id,
            collective,
            collective_name: collective_name.to_owned(),
            expires_at,
            host: host.clone(),
            bytes,
        }
    }

    /// Parses and checks a pass's bytes: its fields, the host's card, and
    /// that the card's identity key signed it. Expiry is the caller's.
    pub fn from_bytes(bytes: &[u8]) -> Result<Pass, PassError> {
        if bytes.len() > MAX_PASS_BYTES {
            return Err(PassError::Malformed);
        }
        match bytes.first() {
            Some(&VERSION) => {}
            Some(&other) => return Err(PassError::UnsupportedVersion(other)),
            None => return Err(PassError::Malformed),
        }
        if bytes.len() <= 64 {
            return Err(PassError::Malformed);
        }
        let (signed, signature) = bytes.split_at(bytes.len() - 64);
        let mut r = Reader::new(&signed[1..], PassError::Malformed);
        let collective = CollectiveId(r.array()?);
        let id = PassId(uuid::Uuid::from_bytes(r.array()?));
        let expires_at = DateTime::from_timestamp(r.i64()?, 0).ok_or(PassError::Malformed)?;
        let name_len = usize::from(r.u8()?);
        let collective_name = std::str::from_utf8(r.take(name_len)?)
            .ok()
            .filter(|n| crate::name::is_clean(n))
            .ok_or(PassError::Malformed)?
            .to_owned();
        let card_len = usize::from(r.u16()?);
        let host = Card::from_bytes(r.take(card_len)?).map_err(|_| PassError::Malformed)?;
        if !r.rest().is_empty() {
            return Err(PassError::Malformed);
        }
        let verifying = host
            .identity_key()
            .verifying_key()
            .ok_or(PassError::BadSignature)?;
        let signature = Signature::from_slice(signature).map_err(|_| PassError::BadSignature)?;
        verifying
            .verify(&[SIGNING_CONTEXT, signed].concat(), &signature)
            .map_err(|_| PassError::BadSignature)?;
        Ok(Pass {
            id,
            collective,
            collective_name,
            expires_at,
            host,
            bytes: bytes.to_vec(),
        })
    }

    /// Parses the text form, `TENDPASS:` then Base32; case and whitespace forgiven.
    pub fn parse(text: &str) -> Result<Pass, PassError> {
        let bytes = bytes::from_text(PREFIX, text, MAX_PASS_BYTES).ok_or(PassError::Malformed)?;
        Pass::from_bytes(&bytes)
    }

    /// `TENDPASS:` then Base32, within QR's alphanumeric set.
    pub fn to_text(&self) -> String {
        bytes::to_text(PREFIX, &self.bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn check_not_expired(&self, now: DateTime<Utc>) -> Result<(), PassError> {
        if self.expires_at <= now {
            return Err(PassError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: &str = include_str!("../../../docs/vectors/visitor-pass-v1.json");

    fn host() -> (SigningKey, Card) {
        let signing = SigningKey::from_bytes(&[5; 32]);
        let encryption = crate::identity::EncryptionSecret::from_bytes(&[6; 32])
            .unwrap()
            .public();
        let issued = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let card = Card::issue(&signing, encryption.into(), "Alice", None, issued, None).unwrap();
        (signing, card)
    }

    #[test]
    fn a_pass_round_trips_as_text_and_every_damage_is_refused() {
        let (signing, card) = host();
        let expires = DateTime::from_timestamp(1_900_000_000, 0).unwrap();
        let pass = Pass::issue(
            &signing,
            &card,
            CollectiveId([3; 16]),
            "Riverside Care",
            expires,
        );
        let back = Pass::parse(&pass.to_text().to_lowercase()).unwrap();
        assert_eq!(
            (back.id, back.collective_name.as_str()),
            (pass.id, "Riverside Care")
        );
        assert_eq!(back.host.identity_key(), card.identity_key());
        let bytes = pass.as_bytes();
        for cut in 0..bytes.len() {
            assert!(Pass::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..bytes.len() {
            let mut flipped = bytes.to_vec();
            flipped[i] ^= 0x10;
            assert!(Pass::from_bytes(&flipped).is_err(), "flip at {i}");
        }
        assert_eq!(back.check_not_expired(expires), Err(PassError::Expired));
    }

    #[test]
    fn a_pass_signed_by_anyone_but_its_host_is_refused() {
        let (_, card) = host();
        let other = SigningKey::from_bytes(&[6; 32]);
        let expires = DateTime::from_timestamp(1_900_000_000, 0).unwrap();
        let forged = Pass::issue(
            &other,
            &card,
            CollectiveId([3; 16]),
            "Riverside Care",
            expires,
        );
        assert_eq!(
            Pass::from_bytes(forged.as_bytes()).unwrap_err(),
            PassError::BadSignature
        );
    }

    fn vectors_now() -> serde_json::Value {
        let (signing, card) = host();
        let id = PassId(uuid::Uuid::from_bytes([0x42; 16]));
        let expires = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let pass = Pass::issue_as(
            id,
            &signing,
            &card,
            CollectiveId([9; 16]),
            "Riverside Care",
            expires,
        );
        serde_json::json!({
            "about": "Visitor pass v1 test vectors; see docs/collective.md. Every byte is fixed.",
            "host_ed25519_secret": hex::encode([5u8; 32]),
            "host_x25519_secret": hex::encode([6u8; 32]),
            "host_card_hex": hex::encode(card.as_bytes()),
            "collective": hex::encode([9u8; 16]),
            "collective_name": "Riverside Care",
            "pass_id": id.to_string(),
            "expires_at_unix": 1_800_000_000,
            "hex": hex::encode(pass.as_bytes()),
            "text": pass.to_text(),
        })
    }

    #[test]
    fn the_checked_in_vectors_hold_byte_for_byte() {
        let now = vectors_now();
        let Some(stored) = bytes::checked_in_vectors("visitor-pass-v1.json", VECTORS, &now) else {
            return;
        };
        assert_eq!(stored, now);
        let pass = Pass::parse(stored["text"].as_str().unwrap()).unwrap();
        assert_eq!(pass.id.to_string(), stored["pass_id"]);
    }
}
