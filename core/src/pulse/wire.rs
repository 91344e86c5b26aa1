//! The bodies of `pulse.*` envelopes (`docs/pulse.md`, "Envelopes"): JSON,
//! keys and ids in hex, checked whole before anything is stored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::PulseId;
use super::shares::{Vector, fits};
use crate::collective::CollectiveId;
use crate::comrades::IdentityKey;
use crate::envelope::EnvelopeError;
use crate::time::from_ms;

/// At most this many talliers; Tend draws three.
pub(crate) const MAX_TALLIERS: usize = 5;
/// A list of who was counted names at most this many members.
const MAX_COUNTED: usize = 256;
/// A pulse is open for an hour at least and two weeks at most.
pub(crate) const MIN_OPEN_MS: i64 = 60 * 60 * 1000;
pub(crate) const MAX_OPEN_MS: i64 = 14 * 24 * 60 * 60 * 1000;
/// A check-in's note, in characters.
pub const MAX_NOTE_CHARS: usize = 280;

/// `pulse.start`: a steward's vault, to every member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Start {
    pub collective: CollectiveId,
    pub pulse: PulseId,
    pub started_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub threshold: u8,
    pub mood_steps: u8,
    pub talliers: Vec<IdentityKey>,
}

/// `pulse.share`: one share of a member's answer, to one tallier.
pub(crate) struct Share {
    pub collective: CollectiveId,
    pub pulse: PulseId,
    pub share: Zeroizing<Vector>,
}

/// `pulse.count` (to the other talliers: whose shares a tallier holds) and
/// `pulse.sum` (to every member: its sums over the members every tallier
/// counted, or none when fewer than the threshold).
pub(crate) struct Tally {
    pub collective: CollectiveId,
    pub pulse: PulseId,
    pub counted: Vec<IdentityKey>,
    pub sums: Option<Vector>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    v: u8,
    collective: String,
    pulse: PulseId,
    started_at: i64,
    closes_at: i64,
    threshold: u8,
    mood_steps: u8,
    talliers: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShareBody {
    v: u8,
    collective: String,
    pulse: PulseId,
    share: Vector,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TallyBody {
    v: u8,
    collective: String,
    pulse: PulseId,
    counted: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sums: Option<Vector>,
}

/// `pulse.check_in`: a member asks one comrade to check in with them. It
/// names no collective and no pulse; the inbox keeps it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckInBody {
    pub v: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

pub(crate) fn note_fits(note: &str) -> bool {
    let chars = note.chars().count();
    (1..=MAX_NOTE_CHARS).contains(&chars)
        && note.trim() == note
        && !note.chars().any(|c| c.is_control() && c != '\n')
}

fn collective_hex(id: CollectiveId) -> String {
    hex::encode(id.0)
}

fn collective_of(text: &str) -> Result<CollectiveId, EnvelopeError> {
    let mut id = [0; 16];
    hex::decode_to_slice(text, &mut id).map_err(|_| EnvelopeError::Malformed)?;
    Ok(CollectiveId(id))
}

fn key_of(text: &str) -> Result<IdentityKey, EnvelopeError> {
    let mut key = [0; 32];
    hex::decode_to_slice(text, &mut key).map_err(|_| EnvelopeError::Malformed)?;
    let key = IdentityKey(key);
    key.verifying_key().ok_or(EnvelopeError::Malformed)?;
    Ok(key)
}

/// Keys, each once, within `max`.
fn keys_of(texts: &[String], max: usize) -> Result<Vec<IdentityKey>, EnvelopeError> {
    if texts.len() > max {
        return Err(EnvelopeError::Malformed);
    }
    let keys = texts
        .iter()
        .map(|t| key_of(t))
        .collect::<Result<Vec<_>, _>>()?;
    let distinct: std::collections::BTreeSet<_> = keys.iter().collect();
    if distinct.len() != keys.len() {
        return Err(EnvelopeError::Malformed);
    }
    Ok(keys)
}

fn hexes(keys: &[IdentityKey]) -> Vec<String> {
    keys.iter().map(|k| hex::encode(k.as_bytes())).collect()
}

/// Bodies hold shares: the encoding is wiped once sealed.
pub(crate) fn bytes<T: Serialize>(body: &T) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(serde_json::to_vec(body).expect("plain structs always encode"))
}

fn json<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, EnvelopeError> {
    serde_json::from_slice(body).map_err(|_| EnvelopeError::Malformed)
}

impl Start {
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        bytes(&StartBody {
            v: 1,
            collective: collective_hex(self.collective),
            pulse: self.pulse,
            started_at: self.started_at.timestamp_millis(),
            closes_at: self.closes_at.timestamp_millis(),
            threshold: self.threshold,
            mood_steps: self.mood_steps,
            talliers: hexes(&self.talliers),
        })
    }

    pub fn parse(body: &[u8]) -> Result<Start, EnvelopeError> {
        let b: StartBody = json(body)?;
        let open_for = b.closes_at.saturating_sub(b.started_at);
        let talliers = keys_of(&b.talliers, MAX_TALLIERS)?;
        if b.v != 1
            || !(MIN_OPEN_MS..=MAX_OPEN_MS).contains(&open_for)
            || b.threshold < crate::collective::MIN_PULSE_THRESHOLD
            || !(3..=10).contains(&b.mood_steps)
            || talliers.len() < 2
        {
            return Err(EnvelopeError::Malformed);
        }
        let time = |ms| from_ms(ms).map_err(|_| EnvelopeError::Malformed);
        Ok(Start {
            collective: collective_of(&b.collective)?,
            pulse: b.pulse,
            started_at: time(b.started_at)?,
            closes_at: time(b.closes_at)?,
            threshold: b.threshold,
            mood_steps: b.mood_steps,
            talliers,
        })
    }
}

impl Share {
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        bytes(&ShareBody {
            v: 1,
            collective: collective_hex(self.collective),
            pulse: self.pulse,
            share: *self.share,
        })
    }

    pub fn parse(body: &[u8]) -> Result<Share, EnvelopeError> {
        let b: ShareBody = json(body)?;
        let share = Zeroizing::new(b.share);
        if b.v != 1 || !fits(&share) {
            return Err(EnvelopeError::Malformed);
        }
        Ok(Share {
            collective: collective_of(&b.collective)?,
            pulse: b.pulse,
            share,
        })
    }
}

impl Tally {
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        bytes(&TallyBody {
            v: 1,
            collective: collective_hex(self.collective),
            pulse: self.pulse,
            counted: hexes(&self.counted),
            sums: self.sums,
        })
    }

    pub fn parse(body: &[u8]) -> Result<Tally, EnvelopeError> {
        let b: TallyBody = json(body)?;
        if b.v != 1 || b.sums.as_ref().is_some_and(|s| !fits(s)) {
            return Err(EnvelopeError::Malformed);
        }
        Ok(Tally {
            collective: collective_of(&b.collective)?,
            pulse: b.pulse,
            counted: keys_of(&b.counted, MAX_COUNTED)?,
            sums: b.sums,
        })
    }
}
