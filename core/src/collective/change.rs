//! One signed change to a collective, in its binary form
//! (`docs/collective.md`, "Change format").

use std::fmt;

use chrono::NaiveDate;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier};
use sha2::{Digest, Sha256};

use crate::bytes::Reader;
use crate::identity::{IdentityKey, MAX_RELAYS, RelayUrl};
use crate::redact::Text;

/// Why bytes were refused as a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ChangeError {
    #[error("not a collective change")]
    Malformed,
    #[error("the change is cut short")]
    Truncated,
    #[error("the change is larger than a change may be")]
    TooLarge,
    #[error("change version {0} is newer than this app understands")]
    UnsupportedVersion(u8),
    #[error("the change names an invalid key")]
    BadKey,
    #[error("the change is not signed by its author")]
    BadSignature,
}

/// Names a collective in every change made to it: chosen at random by its
/// founder.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct CollectiveId(pub [u8; 16]);

impl CollectiveId {
    pub fn random() -> CollectiveId {
        CollectiveId(rand::random())
    }
}

/// 32 lowercase hex digits, as the command line and the apps show it.
impl fmt::Display for CollectiveId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl std::str::FromStr for CollectiveId {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        let mut id = [0; 16];
        hex::decode_to_slice(s, &mut id)
            .map_err(|_| crate::Error::invalid("collective id", "not 32 hex digits"))?;
        Ok(CollectiveId(id))
    }
}

#[cfg(feature = "uniffi")]
uniffi::custom_type!(CollectiveId, String, {
    lower: |id| id.to_string(),
    try_lift: |text| text.parse().map_err(|e: crate::Error| uniffi::deps::anyhow::anyhow!("{e}")),
});

/// What a change does. Who may make each is in [`super::state`].
#[derive(Clone, PartialEq, Eq)]
pub enum Op {
    /// The first change: I found the collective and am its first steward.
    Found {
        name: String,
    },
    AddMember {
        member: IdentityKey,
    },
    /// By a steward, or by the member themselves (leaving). `seen` is the
    /// last of their changes the author had: later ones are refused.
    RemoveMember {
        member: IdentityKey,
        seen: u64,
    },
    AddSteward {
        member: IdentityKey,
    },
    RemoveSteward {
        member: IdentityKey,
    },
    /// A new version of the agreements; a major one asks everyone to accept again.
    Agreements {
        version: u32,
        major: bool,
        text: String,
    },
    /// I accept this version of the agreements.
    Accept {
        version: u32,
    },
    Rename {
        name: String,
    },
    /// The collective's own settings, replaced whole.
    Settings(Settings),
}

/// What a collective decides for itself; a steward changes it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Settings {
    /// The relays its members are asked to receive on, so one set reaches
    /// everyone (`Delivery::use_collective_relays`, at most 8).
    pub relays: Vec<RelayUrl>,
    /// When the members mean to review their agreements: each is reminded.
    pub review_agreements_on: Option<NaiveDate>,
    /// Vouches admit a visitor only once they have been to a gathering of
    /// the collective (answered going to an occurrence that has passed).
    pub gathering_required: bool,
    /// How the collective takes its pulse (`docs/pulse.md`).
    pub pulse: PulseSettings,
    /// Days a gathering's greeting-round lines are kept after its
    /// occurrence, 1 to 365.
    pub round_kept_days: u16,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            relays: Vec::new(),
            review_agreements_on: None,
            gathering_required: false,
            pulse: PulseSettings::default(),
            round_kept_days: DEFAULT_ROUND_KEPT_DAYS,
        }
    }
}

/// The pulse: totals show only once `threshold` members answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PulseSettings {
    /// At least [`MIN_PULSE_THRESHOLD`].
    pub threshold: u8,
    /// Steps of the collective's mood scale, 3 to 10; 1 is the lowest.
    pub mood_steps: u8,
    /// Whether a steward's vault starts one each month by itself.
    pub monthly: bool,
}

/// No pulse shows totals of fewer answers.
pub const MIN_PULSE_THRESHOLD: u8 = 3;
const DEFAULT_ROUND_KEPT_DAYS: u16 = 30;

impl Default for PulseSettings {
    fn default() -> Self {
        PulseSettings {
            threshold: 4,
            mood_steps: 5,
            monthly: false,
        }
    }
}

impl Settings {
    /// Whether every value is within its bounds.
    pub(crate) fn fits(&self) -> bool {
        self.relays.len() <= MAX_RELAYS
            && self.pulse.threshold >= MIN_PULSE_THRESHOLD
            && (3..=10).contains(&self.pulse.mood_steps)
            && (1..=365).contains(&self.round_kept_days)
    }
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Found { name } => f.debug_struct("Found").field("name", &Text(name)).finish(),
            Op::AddMember { member } => f.debug_tuple("AddMember").field(member).finish(),
            Op::RemoveMember { member, seen } => f
                .debug_struct("RemoveMember")
                .field("member", member)
                .field("seen", seen)
                .finish(),
            Op::AddSteward { member } => f.debug_tuple("AddSteward").field(member).finish(),
            Op::RemoveSteward { member } => f.debug_tuple("RemoveSteward").field(member).finish(),
            Op::Agreements {
                version,
                major,
                text,
            } => f
                .debug_struct("Agreements")
                .field("version", version)
                .field("major", major)
                .field("text", &Text(text))
                .finish(),
            Op::Accept { version } => f.debug_tuple("Accept").field(version).finish(),
            Op::Rename { name } => f.debug_struct("Rename").field("name", &Text(name)).finish(),
            Op::Settings(settings) => f.debug_tuple("Settings").field(settings).finish(),
        }
    }
}

const VERSION: u8 = 1;
const SIGNING_CONTEXT: &[u8] = b"tend collective change v1\0";
const FIXED: usize = 1 + 16 + 32 + 8 + 8 + 1; // version, collective, author, seq, lamport, op
const SIGNATURE: usize = 64;
/// Agreements longer than this are refused: several pages of text.
pub const MAX_AGREEMENTS_BYTES: usize = 16 * 1024;
/// No change is larger: the largest agreements and everything around them.
pub const MAX_CHANGE_BYTES: usize = FIXED + 4 + 1 + 2 + MAX_AGREEMENTS_BYTES + SIGNATURE;

/// A change as its author signed it.
#[derive(Clone, PartialEq, Eq)]
pub struct Change {
    pub collective: CollectiveId,
    pub author: IdentityKey,
    /// The author's own count of their changes to this collective, from 1.
    pub seq: u64,
    /// Greater than that of every change the author had when making it.
    pub lamport: u64,
    pub op: Op,
    bytes: Vec<u8>,
}

impl fmt::Debug for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Change")
            .field("author", &self.author)
            .field("seq", &self.seq)
            .field("lamport", &self.lamport)
            .field("op", &self.op)
            .finish()
    }
}

impl Change {
    /// Signs `op` as the holder of `signing`.
    pub(crate) fn sign(
        signing: &SigningKey,
        collective: CollectiveId,
        seq: u64,
        lamport: u64,
        op: Op,
    ) -> Result<Change, ChangeError> {
        let mut bytes = vec![VERSION];
        bytes.extend_from_slice(&collective.0);
        bytes.extend_from_slice(signing.verifying_key().as_bytes());
        bytes.extend_from_slice(&seq.to_be_bytes());
        bytes.extend_from_slice(&lamport.to_be_bytes());
        encode_op(&op, &mut bytes)?;
        let signature = signing.sign(&[SIGNING_CONTEXT, &bytes].concat());
        bytes.extend_from_slice(&signature.to_bytes());
        Change::from_bytes(&bytes)
    }

    /// Parses and checks a change: its limits, its fields, its signature.
    pub fn from_bytes(bytes: &[u8]) -> Result<Change, ChangeError> {
        Change::parse(bytes, true)
    }

    /// A change my vault checked when it arrived: the signature is not
    /// verified again, which folding a long log would spend most time on.
    pub(crate) fn from_stored(bytes: &[u8]) -> Result<Change, ChangeError> {
        Change::parse(bytes, false)
    }

    fn parse(bytes: &[u8], verify: bool) -> Result<Change, ChangeError> {
        if bytes.len() > MAX_CHANGE_BYTES {
            return Err(ChangeError::TooLarge);
        }
        let (&version, _) = bytes.split_first().ok_or(ChangeError::Truncated)?;
        if version != VERSION {
            return Err(ChangeError::UnsupportedVersion(version));
        }
        if bytes.len() < FIXED + SIGNATURE {
            return Err(ChangeError::Truncated);
        }
        let (signed, signature) = bytes.split_at(bytes.len() - SIGNATURE);
        let mut r = Reader::new(&signed[1..], ChangeError::Truncated);
        let collective = CollectiveId(r.array()?);
        let author = IdentityKey(r.array()?);
        let seq = r.u64()?;
        let lamport = r.u64()?;
        let op = decode_op(&mut r)?;
        if !r.rest().is_empty() || seq == 0 || lamport == 0 {
            return Err(ChangeError::Malformed);
        }
        if verify {
            let verifying = author.verifying_key().ok_or(ChangeError::BadKey)?;
            let signature =
                Signature::from_slice(signature).map_err(|_| ChangeError::BadSignature)?;
            verifying
                .verify(&[SIGNING_CONTEXT, signed].concat(), &signature)
                .map_err(|_| ChangeError::BadSignature)?;
        }
        Ok(Change {
            collective,
            author,
            seq,
            lamport,
            op,
            bytes: bytes.to_vec(),
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// SHA-256 of its bytes: which of two changes an author made with one
    /// number counts (the lower).
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(&self.bytes).into()
    }
}

const FOUND: u8 = 1;
const ADD_MEMBER: u8 = 2;
const REMOVE_MEMBER: u8 = 3;
const ADD_STEWARD: u8 = 4;
const REMOVE_STEWARD: u8 = 5;
const AGREEMENTS: u8 = 6;
const ACCEPT: u8 = 7;
const RENAME: u8 = 8;
const SETTINGS: u8 = 9;
/// Flags of a settings change; any other bit is refused.
const REVIEW_DATE: u8 = 1;
const GATHERING_REQUIRED: u8 = 2;
const PULSE: u8 = 4;
const ROUND_KEPT: u8 = 8;

fn encode_op(op: &Op, out: &mut Vec<u8>) -> Result<(), ChangeError> {
    let name = |name: &str, out: &mut Vec<u8>| {
        if !crate::name::is_clean(name) {
            return Err(ChangeError::Malformed);
        }
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
        Ok(())
    };
    match op {
        Op::Found { name: n } => {
            out.push(FOUND);
            name(n, out)?;
        }
        Op::AddMember { member } => {
            out.push(ADD_MEMBER);
            out.extend_from_slice(member.as_bytes());
        }
        Op::RemoveMember { member, seen } => {
            out.push(REMOVE_MEMBER);
            out.extend_from_slice(member.as_bytes());
            out.extend_from_slice(&seen.to_be_bytes());
        }
        Op::AddSteward { member } => {
            out.push(ADD_STEWARD);
            out.extend_from_slice(member.as_bytes());
        }
        Op::RemoveSteward { member } => {
            out.push(REMOVE_STEWARD);
            out.extend_from_slice(member.as_bytes());
        }
        Op::Agreements {
            version,
            major,
            text,
        } => {
            if text.len() > MAX_AGREEMENTS_BYTES {
                return Err(ChangeError::TooLarge);
            }
            out.push(AGREEMENTS);
            out.extend_from_slice(&version.to_be_bytes());
            out.push(u8::from(*major));
            out.extend_from_slice(&(text.len() as u16).to_be_bytes());
            out.extend_from_slice(text.as_bytes());
        }
        Op::Accept { version } => {
            out.push(ACCEPT);
            out.extend_from_slice(&version.to_be_bytes());
        }
        Op::Rename { name: n } => {
            out.push(RENAME);
            name(n, out)?;
        }
        Op::Settings(settings) => {
            out.push(SETTINGS);
            let mut flags = 0;
            if settings.review_agreements_on.is_some() {
                flags |= REVIEW_DATE;
            }
            if settings.gathering_required {
                flags |= GATHERING_REQUIRED;
            }
            // Defaults are not written, so older settings keep their bytes.
            let pulse = settings.pulse != PulseSettings::default();
            let round_kept = settings.round_kept_days != DEFAULT_ROUND_KEPT_DAYS;
            if pulse {
                flags |= PULSE;
            }
            if round_kept {
                flags |= ROUND_KEPT;
            }
            out.push(flags);
            if let Some(day) = settings.review_agreements_on {
                let days = day.signed_duration_since(NaiveDate::default()).num_days();
                let days = i32::try_from(days).map_err(|_| ChangeError::Malformed)?;
                out.extend_from_slice(&days.to_be_bytes());
            }
            if !settings.fits() {
                return Err(ChangeError::Malformed);
            }
            out.push(settings.relays.len() as u8);
            for relay in &settings.relays {
                out.push(relay.as_str().len() as u8);
                out.extend_from_slice(relay.as_str().as_bytes());
            }
            if pulse {
                let p = settings.pulse;
                out.extend_from_slice(&[p.threshold, p.mood_steps, u8::from(p.monthly)]);
            }
            if round_kept {
                out.extend_from_slice(&settings.round_kept_days.to_be_bytes());
            }
        }
    }
    Ok(())
}

fn decode_op(r: &mut Reader<ChangeError>) -> Result<Op, ChangeError> {
    let key = |r: &mut Reader<ChangeError>| -> Result<IdentityKey, ChangeError> {
        let key = IdentityKey(r.array()?);
        key.verifying_key().ok_or(ChangeError::BadKey)?;
        Ok(key)
    };
    let name = |r: &mut Reader<ChangeError>| -> Result<String, ChangeError> {
        let len = r.u8()? as usize;
        let text = std::str::from_utf8(r.take(len)?).map_err(|_| ChangeError::Malformed)?;
        crate::name::is_clean(text)
            .then(|| text.to_owned())
            .ok_or(ChangeError::Malformed)
    };
    Ok(match r.u8()? {
        FOUND => Op::Found { name: name(r)? },
        ADD_MEMBER => Op::AddMember { member: key(r)? },
        REMOVE_MEMBER => Op::RemoveMember {
            member: key(r)?,
            seen: r.u64()?,
        },
        ADD_STEWARD => Op::AddSteward { member: key(r)? },
        REMOVE_STEWARD => Op::RemoveSteward { member: key(r)? },
        AGREEMENTS => {
            let version = r.u32()?;
            let major = match r.u8()? {
                0 => false,
                1 => true,
                _ => return Err(ChangeError::Malformed),
            };
            let len = r.u16()? as usize;
            if len > MAX_AGREEMENTS_BYTES {
                return Err(ChangeError::TooLarge);
            }
            let text = std::str::from_utf8(r.take(len)?).map_err(|_| ChangeError::Malformed)?;
            if version == 0 {
                return Err(ChangeError::Malformed);
            }
            Op::Agreements {
                version,
                major,
                text: text.to_owned(),
            }
        }
        ACCEPT => Op::Accept { version: r.u32()? },
        RENAME => Op::Rename { name: name(r)? },
        SETTINGS => {
            let flags = r.u8()?;
            if flags & !(REVIEW_DATE | GATHERING_REQUIRED | PULSE | ROUND_KEPT) != 0 {
                return Err(ChangeError::Malformed);
            }
            let review_agreements_on = match flags & REVIEW_DATE {
                0 => None,
                _ => {
                    let days = i32::from_be_bytes(r.array()?);
                    let day = NaiveDate::default()
                        .checked_add_signed(chrono::Duration::days(days.into()));
                    Some(day.ok_or(ChangeError::Malformed)?)
                }
            };
            let count = r.u8()? as usize;
            if count > MAX_RELAYS {
                return Err(ChangeError::Malformed);
            }
            let mut relays = Vec::with_capacity(count);
            for _ in 0..count {
                let len = r.u8()? as usize;
                let text = std::str::from_utf8(r.take(len)?).map_err(|_| ChangeError::Malformed)?;
                // Only the canonical form, so every vault reads the same settings.
                match RelayUrl::parse(text) {
                    Ok(url) if url.as_str() == text && !relays.contains(&url) => relays.push(url),
                    _ => return Err(ChangeError::Malformed),
                }
            }
            let pulse = match flags & PULSE {
                0 => PulseSettings::default(),
                _ => PulseSettings {
                    threshold: r.u8()?,
                    mood_steps: r.u8()?,
                    monthly: match r.u8()? {
                        0 => false,
                        1 => true,
                        _ => return Err(ChangeError::Malformed),
                    },
                },
            };
            let round_kept_days = match flags & ROUND_KEPT {
                0 => DEFAULT_ROUND_KEPT_DAYS,
                _ => r.u16()?,
            };
            let settings = Settings {
                relays,
                review_agreements_on,
                gathering_required: flags & GATHERING_REQUIRED != 0,
                pulse,
                round_kept_days,
            };
            // Only the canonical form: a default written out is refused.
            let canonical = (flags & PULSE == 0 || pulse != PulseSettings::default())
                && (flags & ROUND_KEPT == 0 || round_kept_days != DEFAULT_ROUND_KEPT_DAYS);
            if !settings.fits() || !canonical {
                return Err(ChangeError::Malformed);
            }
            Op::Settings(settings)
        }
        _ => return Err(ChangeError::Malformed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(op: Op) -> Change {
        let key = SigningKey::from_bytes(&[3; 32]);
        Change::sign(&key, CollectiveId([9; 16]), 1, 1, op).unwrap()
    }

    #[test]
    fn every_kind_of_change_round_trips() {
        let member = IdentityKey(SigningKey::from_bytes(&[4; 32]).verifying_key().to_bytes());
        for op in [
            Op::Found {
                name: "Riverside Care".into(),
            },
            Op::AddMember { member },
            Op::RemoveMember { member, seen: 7 },
            Op::AddSteward { member },
            Op::RemoveSteward { member },
            Op::Agreements {
                version: 2,
                major: true,
                text: "Members only.\nQuiet activities side by side.".into(),
            },
            Op::Accept { version: 2 },
            Op::Rename {
                name: "Riverside".into(),
            },
            Op::Settings(Settings::default()),
            Op::Settings(Settings {
                relays: Vec::new(),
                review_agreements_on: NaiveDate::from_ymd_opt(1969, 12, 31),
                ..Settings::default()
            }),
            Op::Settings(Settings {
                pulse: PulseSettings {
                    threshold: 3,
                    mood_steps: 10,
                    monthly: true,
                },
                round_kept_days: 365,
                ..Settings::default()
            }),
            Op::Settings(Settings {
                relays: vec![
                    RelayUrl::parse("wss://relay.example.org").unwrap(),
                    RelayUrl::parse("wss://nos.example.net:4443/tend").unwrap(),
                ],
                review_agreements_on: NaiveDate::from_ymd_opt(2031, 2, 28),
                gathering_required: true,
                ..Settings::default()
            }),
        ] {
            let change = signed(op.clone());
            assert_eq!(Change::from_bytes(change.as_bytes()).unwrap().op, op);
        }
    }

    /// A settings change with a flag this version does not know is
    /// refused, whoever signed it.
    #[test]
    fn settings_with_an_unknown_flag_are_malformed() {
        assert_eq!(
            Change::from_bytes(&signed_settings(&[16, 0])),
            Err(ChangeError::Malformed)
        );
    }

    /// A settings change signed over raw `settings` bytes.
    fn signed_settings(settings: &[u8]) -> Vec<u8> {
        let key = SigningKey::from_bytes(&[3; 32]);
        let mut signed = vec![VERSION];
        signed.extend_from_slice(&[9; 16]);
        signed.extend_from_slice(&key.verifying_key().to_bytes());
        signed.extend_from_slice(&1u64.to_be_bytes());
        signed.extend_from_slice(&1u64.to_be_bytes());
        signed.push(SETTINGS);
        signed.extend_from_slice(settings);
        let signature = key.sign(&[SIGNING_CONTEXT, &signed].concat());
        signed.extend_from_slice(&signature.to_bytes());
        signed
    }

    /// Every vault must read the same settings from the same bytes: a
    /// default written out, or a value out of bounds, is refused.
    #[test]
    fn pulse_settings_are_canonical_and_bounded() {
        let ok = signed_settings(&[PULSE, 0, 3, 10, 1]);
        assert!(Change::from_bytes(&ok).is_ok());
        for bad in [
            &[PULSE, 0, 4, 5, 0][..],
            &[PULSE, 0, 2, 5, 0],
            &[PULSE, 0, 4, 11, 0],
            &[PULSE, 0, 4, 5, 2],
            &[ROUND_KEPT, 0, 0, 30],
            &[ROUND_KEPT, 0, 0, 0],
            &[ROUND_KEPT, 0, 1, 110],
        ] {
            assert_eq!(
                Change::from_bytes(&signed_settings(bad)),
                Err(ChangeError::Malformed),
                "{bad:?}"
            );
        }
        let two = Settings {
            pulse: PulseSettings {
                threshold: 2,
                ..PulseSettings::default()
            },
            ..Settings::default()
        };
        let key = SigningKey::from_bytes(&[3; 32]);
        assert!(Change::sign(&key, CollectiveId([9; 16]), 1, 1, Op::Settings(two)).is_err());
    }

    #[test]
    fn damage_of_any_kind_is_a_typed_refusal_never_a_panic() {
        let change = signed(Op::Agreements {
            version: 1,
            major: false,
            text: "Nobody has to share anything.".into(),
        });
        let bytes = change.as_bytes();
        for len in 0..bytes.len() {
            assert!(Change::from_bytes(&bytes[..len]).is_err(), "cut at {len}");
        }
        for i in 0..bytes.len() {
            let mut bad = bytes.to_vec();
            bad[i] ^= 0x20;
            assert!(Change::from_bytes(&bad).is_err(), "flipped byte {i}");
        }
        let huge = vec![1u8; MAX_CHANGE_BYTES + 1];
        assert_eq!(Change::from_bytes(&huge), Err(ChangeError::TooLarge));
        let key = SigningKey::from_bytes(&[3; 32]);
        let too_long = Op::Agreements {
            version: 1,
            major: false,
            text: "x".repeat(MAX_AGREEMENTS_BYTES + 1),
        };
        assert_eq!(
            Change::sign(&key, CollectiveId([9; 16]), 1, 1, too_long),
            Err(ChangeError::TooLarge)
        );
    }

    const VECTORS: &str = include_str!("../../../docs/vectors/collective-v1.json");

    /// Alice (Ed25519 secret 1 × 32) founds collective 9 × 16 and adds Bob
    /// (secret 2 × 32); Ed25519 signatures are deterministic, so every
    /// byte is fixed.
    fn vectors_now() -> serde_json::Value {
        let alice = SigningKey::from_bytes(&[1; 32]);
        let bob = IdentityKey(SigningKey::from_bytes(&[2; 32]).verifying_key().to_bytes());
        let collective = CollectiveId([9; 16]);
        let found = Change::sign(
            &alice,
            collective,
            1,
            1,
            Op::Found {
                name: "Riverside Care".into(),
            },
        )
        .unwrap();
        let add = Change::sign(&alice, collective, 2, 2, Op::AddMember { member: bob }).unwrap();
        let settings = Op::Settings(Settings {
            relays: vec![RelayUrl::parse("wss://relay.example.org").unwrap()],
            review_agreements_on: NaiveDate::from_ymd_opt(2027, 6, 1),
            gathering_required: true,
            ..Settings::default()
        });
        let settings = Change::sign(&alice, collective, 3, 3, settings).unwrap();
        let pulse = Op::Settings(Settings {
            pulse: PulseSettings {
                threshold: 5,
                mood_steps: 7,
                monthly: true,
            },
            round_kept_days: 14,
            ..Settings::default()
        });
        let pulse = Change::sign(&alice, collective, 4, 4, pulse).unwrap();
        serde_json::json!({
            "about": "Collective change v1 test vectors; see docs/collective.md. Every byte is fixed.",
            "collective": hex::encode(collective.0),
            "founder_ed25519_secret": hex::encode([1u8; 32]),
            "member_ed25519_secret": hex::encode([2u8; 32]),
            "changes": [
                {"op": "Found", "name": "Riverside Care", "seq": 1, "lamport": 1, "hex": hex::encode(found.as_bytes())},
                {"op": "AddMember", "member": hex::encode(bob.as_bytes()), "seq": 2, "lamport": 2, "hex": hex::encode(add.as_bytes())},
                {"op": "Settings", "relays": ["wss://relay.example.org"], "review_agreements_on": "2027-06-01", "gathering_required": true, "seq": 3, "lamport": 3, "hex": hex::encode(settings.as_bytes())},
                {"op": "Settings", "relays": [], "pulse": {"threshold": 5, "mood_steps": 7, "monthly": true}, "round_kept_days": 14, "seq": 4, "lamport": 4, "hex": hex::encode(pulse.as_bytes())},
            ],
        })
    }

    #[test]
    fn the_checked_in_vectors_hold_byte_for_byte() {
        let now = vectors_now();
        let Some(stored) = crate::bytes::checked_in_vectors("collective-v1.json", VECTORS, &now)
        else {
            return;
        };
        assert_eq!(stored, now);
        for change in stored["changes"].as_array().unwrap() {
            let bytes = hex::decode(change["hex"].as_str().unwrap()).unwrap();
            let parsed = Change::from_bytes(&bytes).unwrap();
            assert_eq!(parsed.seq, change["seq"].as_u64().unwrap());
        }
    }
}
