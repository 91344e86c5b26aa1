//! The greeting round: before or at a gathering each attendee writes one
//! line ("I'll sketch the heron") or passes. Each line is sealed under a
//! key of its own and sent to the organiser with a commitment to that key
//! and ciphertext; nobody, the organiser included, reads a line before the
//! round opens. When it opens, the organiser's vault sends every commitment
//! to the attendees, and each attendee's vault then releases its key. The
//! lines show in an order derived from all the commitments together, the
//! same on every phone. Spec: `docs/gatherings.md`, "The greeting round".

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::invites::{GatheringError, organiser, seal};
use super::kinds;
use super::recurrence::Schedule;
use super::store::{self, local_from};
use super::{GatheringId, Gatherings};
use crate::comrades::{self, IdentityKey};
use crate::envelope::{EnvelopeError, MessageId};
use crate::time::{from_ms, local_text};
use crate::{Error, Result, identity};

/// A line is at most this many characters.
pub const MAX_LINE_CHARS: usize = 140;
/// Lines of one round at most: bounds a hostile `round.open`.
const MAX_LINES: usize = 500;
/// A sealed line: a tag byte, 140 characters of UTF-8 at most, the AEAD tag.
const MAX_SEALED_BYTES: usize = 1 + 4 * MAX_LINE_CHARS + 16;
/// Lines are deleted this long after their occurrence, unless the
/// gathering's collective sets its own time (`Settings::round_kept_days`).
pub const ROUND_KEPT: Duration = Duration::days(30);

/// A round as my vault holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Round {
    /// When it opened; before that no line but mine is shown.
    pub opened_at: Option<DateTime<Utc>>,
    /// Lines this vault holds: at the organiser before it opens, how many
    /// have been written (never what).
    pub written: u32,
    /// My own line, as I wrote it.
    pub mine: Option<Said>,
    /// Once open: every line, in the round's order.
    pub lines: Vec<RoundLine>,
    /// Eight characters every phone shows for the same round; compare them
    /// at the gathering to know everyone saw the same lines.
    pub check: Option<String>,
}

#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RoundLine {
    /// As I call them; `None` for me.
    pub name: Option<String>,
    pub said: Said,
}

impl std::fmt::Debug for RoundLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoundLine")
            .field("name", &self.name.as_deref().map(crate::redact::Text))
            .field("said", &self.said)
            .finish()
    }
}

#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Said {
    Line {
        text: String,
    },
    Pass,
    /// Their phone has not released its key (yet).
    Unreleased,
}

impl std::fmt::Debug for Said {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Said::Line { .. } => "Line(<redacted>)",
            Said::Pass => "Pass",
            Said::Unreleased => "Unreleased",
        })
    }
}

/// `gathering.round.line`: an attendee's sealed line, to the organiser.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LineBody {
    v: u8,
    uid: String,
    start: String,
    /// Hex of SHA-256("tend round line v1" ‖ key ‖ sealed).
    commitment: String,
    /// Base64 of the line under ChaCha20-Poly1305 with its own key.
    sealed: String,
}

/// `gathering.round.open`: every line, fixed, to each attendee going, with
/// every key released so far. Sent when the round opens and again after
/// each key comes, so each one is whole whatever order they arrive in.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OpenBody {
    v: u8,
    uid: String,
    start: String,
    lines: Vec<OpenLine>,
    #[serde(default)]
    keys: Vec<KeyBody>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenLine {
    /// The author's identity key, hex.
    author: String,
    /// What the organiser calls them.
    name: String,
    commitment: String,
    sealed: String,
}

/// `gathering.round.key`: an attendee's own line key, to the organiser.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KeyReleaseBody {
    v: u8,
    uid: String,
    start: String,
    /// Hex of the round's digest, as the attendee computed it.
    digest: String,
    key: KeyBody,
}

#[derive(Serialize, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct KeyBody {
    commitment: String,
    /// Hex of the line's 32-byte key.
    key: String,
}

pub(super) enum RoundMessage {
    Line(LineBody),
    Open(OpenBody),
    Key(KeyReleaseBody),
}

impl RoundMessage {
    pub(super) fn uid(&self) -> &str {
        match self {
            RoundMessage::Line(b) => &b.uid,
            RoundMessage::Open(b) => &b.uid,
            RoundMessage::Key(b) => &b.uid,
        }
    }
}

fn commitment_of(key: &[u8; 32], sealed: &[u8]) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"tend round line v1")
        .chain_update(key)
        .chain_update(sealed)
        .finalize()
        .into()
}

/// A line (or a pass, `None`) under a fresh key: the key, the sealed
/// bytes and their commitment. The key seals one line only, so a fixed
/// nonce is safe.
fn seal_line(line: Option<&str>) -> (Zeroizing<[u8; 32]>, Vec<u8>, [u8; 32]) {
    let key = Zeroizing::new(rand::random::<[u8; 32]>());
    let mut plain = Zeroizing::new(Vec::new());
    match line {
        None => plain.push(0),
        Some(text) => {
            plain.push(1);
            plain.extend_from_slice(text.as_bytes());
        }
    }
    let sealed = ChaCha20Poly1305::new(Key::from_slice(key.as_slice()))
        .encrypt(Nonce::from_slice(&[0; 12]), plain.as_slice())
        .expect("in-memory encryption cannot fail");
    let commitment = commitment_of(&key, &sealed);
    (key, sealed, commitment)
}

/// What a released key opens; `None` when it is not the committed one.
fn open_line(key: &[u8; 32], sealed: &[u8], commitment: &[u8; 32]) -> Option<Said> {
    if commitment_of(key, sealed) != *commitment {
        return None;
    }
    let plain = Zeroizing::new(
        ChaCha20Poly1305::new(Key::from_slice(key))
            .decrypt(Nonce::from_slice(&[0; 12]), sealed)
            .ok()?,
    );
    match plain.split_first()? {
        (0, []) => Some(Said::Pass),
        (1, text) => {
            let text = std::str::from_utf8(text).ok()?;
            line_fits(text).then(|| Said::Line { text: text.into() })
        }
        _ => None,
    }
}

fn line_fits(text: &str) -> bool {
    let chars = text.chars().count();
    (1..=MAX_LINE_CHARS).contains(&chars)
        && text.trim() == text
        && !text.chars().any(char::is_control)
}

/// The round's digest: of its commitments, sorted, so it is the same
/// whatever order they came in.
fn digest_of(commitments: &[[u8; 32]]) -> [u8; 32] {
    let mut sorted = commitments.to_vec();
    sorted.sort();
    let mut h = Sha256::new().chain_update(b"tend round order v1");
    for c in &sorted {
        h.update(c);
    }
    h.finalize().into()
}

/// Where each line goes: by SHA-256(digest ‖ its commitment), so no
/// writer alone, who knows only their own commitment, can pick a place.
fn order(commitments: &[[u8; 32]]) -> Vec<usize> {
    let digest = digest_of(commitments);
    let mut places: Vec<([u8; 32], usize)> = commitments
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let place: [u8; 32] = Sha256::new()
                .chain_update(digest)
                .chain_update(c)
                .finalize()
                .into();
            (place, i)
        })
        .collect();
    places.sort();
    places.into_iter().map(|(_, i)| i).collect()
}

fn check_code(digest: &[u8; 32]) -> String {
    let text = data_encoding::BASE32_NOPAD.encode(&digest[..5]);
    format!("{} {}", &text[..4], &text[4..])
}

fn hex32(text: &str) -> Option<[u8; 32]> {
    let mut out = [0; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

fn sealed_bytes(text: &str) -> Option<Vec<u8>> {
    let bytes = data_encoding::BASE64.decode(text.as_bytes()).ok()?;
    (bytes.len() <= MAX_SEALED_BYTES).then_some(bytes)
}

fn fits(uid: &str, start: &str) -> bool {
    (1..=255).contains(&uid.len()) && local_from(start).is_ok()
}

/// Parses a `gathering.round.*` body.
pub(super) fn parse(kind: &str, body: &[u8]) -> Result<RoundMessage, EnvelopeError> {
    let malformed = |_| EnvelopeError::Malformed;
    let message = match kind {
        kinds::GATHERING_ROUND_LINE => {
            let b: LineBody = serde_json::from_slice(body).map_err(malformed)?;
            if b.v != 1
                || !fits(&b.uid, &b.start)
                || hex32(&b.commitment).is_none()
                || sealed_bytes(&b.sealed).is_none()
            {
                return Err(EnvelopeError::Malformed);
            }
            RoundMessage::Line(b)
        }
        kinds::GATHERING_ROUND_OPEN => {
            let b: OpenBody = serde_json::from_slice(body).map_err(malformed)?;
            let lines_fit = b.lines.len() <= MAX_LINES
                && b.lines.iter().all(|l| {
                    hex32(&l.author).is_some()
                        && crate::name::is_clean(&l.name)
                        && hex32(&l.commitment).is_some()
                        && sealed_bytes(&l.sealed).is_some()
                });
            if b.v != 1
                || !fits(&b.uid, &b.start)
                || !lines_fit
                || b.keys.len() > b.lines.len()
                || !key_fits(b.keys.iter())
            {
                return Err(EnvelopeError::Malformed);
            }
            RoundMessage::Open(b)
        }
        kinds::GATHERING_ROUND_KEY => {
            let b: KeyReleaseBody = serde_json::from_slice(body).map_err(malformed)?;
            if b.v != 1
                || !fits(&b.uid, &b.start)
                || hex32(&b.digest).is_none()
                || !key_fits(std::iter::once(&b.key))
            {
                return Err(EnvelopeError::Malformed);
            }
            RoundMessage::Key(b)
        }
        _ => return Err(EnvelopeError::Malformed),
    };
    Ok(message)
}

fn key_fits<'a>(mut keys: impl Iterator<Item = &'a KeyBody>) -> bool {
    keys.all(|k| hex32(&k.commitment).is_some() && hex32(&k.key).is_some())
}

impl Gatherings<'_> {
    /// My line for one occurrence's greeting round, or a pass (`None`):
    /// sealed under a key of its own and sent to the organiser, who cannot
    /// read it before the round opens. Writing again replaces it. Only the
    /// organiser and those who said they are going write; not once it opened.
    pub fn write_round_line(
        &self,
        id: GatheringId,
        original_start: NaiveDateTime,
        line: Option<&str>,
    ) -> Result<()> {
        let line = line.map(str::trim).filter(|l| !l.is_empty());
        if line.is_some_and(|l| !line_fits(l)) {
            return Err(Error::invalid(
                "line",
                "at most 140 characters, on one line",
            ));
        }
        self.with_occurrence(id, original_start, |tx, seq, start| {
            if opened(tx, seq, &start)?.is_some() {
                return Err(Error::invalid("round", "has opened: lines are fixed"));
            }
            let organiser = organiser(tx, seq)?;
            if organiser.is_some() && !going(tx, seq, &start)? {
                return Err(Error::invalid(
                    "round",
                    "is for those going: answer going first",
                ));
            }
            let (key, sealed, commitment) = seal_line(line);
            let mine = Stored {
                author: identity::identity_key(tx)?,
                name: String::new(),
                commitment,
                sealed,
                key: Some(key),
            };
            put_line(tx, seq, &start, &mine)?;
            if let Some(organiser) = organiser {
                let peers = comrades::peers_for_keys(tx, &[organiser])?;
                if peers.is_empty() {
                    return Err(Error::NotFound {
                        what: "the organiser among your comrades",
                    });
                }
                let body = LineBody {
                    v: 1,
                    uid: store::uid_of(tx, seq)?,
                    start,
                    commitment: hex::encode(mine.commitment),
                    sealed: data_encoding::BASE64.encode(&mine.sealed),
                };
                seal(tx, peers, kinds::GATHERING_ROUND_LINE, &body, id)?;
            }
            Ok(())
        })
    }

    /// Opens the round of my gathering's occurrence now: every line
    /// written so far is fixed and sent, with their commitments, to those
    /// going; their phones then release their keys. It also opens by itself
    /// at the occurrence's start, at the first unlock after.
    pub fn open_round(&self, id: GatheringId, original_start: NaiveDateTime) -> Result<()> {
        self.with_occurrence(id, original_start, |tx, seq, start| {
            super::invites::ensure_mine(tx, seq)?;
            open_in(tx, seq, &start, Utc::now()).map(drop)
        })
    }

    /// The round of one occurrence, as this vault holds it.
    pub fn round(&self, id: GatheringId, original_start: NaiveDateTime) -> Result<Round> {
        self.vault.with_conn(|conn| {
            let seq = store::seq_of(conn, id)?;
            round_in(conn, seq, &local_text(original_start))
        })
    }
}

struct Stored {
    author: IdentityKey,
    name: String,
    commitment: [u8; 32],
    sealed: Vec<u8>,
    key: Option<Zeroizing<[u8; 32]>>,
}

fn lines(conn: &Connection, seq: i64, start: &str) -> Result<Vec<Stored>> {
    let mut stmt = conn.prepare_cached(
        "SELECT author, author_name, commitment, sealed, line_key FROM gathering_round_lines
         WHERE gathering = ?1 AND original_start = ?2",
    )?;
    let rows = stmt.query_map(params![seq, start], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Vec<u8>>(2)?,
            r.get::<_, Vec<u8>>(3)?,
            r.get::<_, Option<Vec<u8>>>(4)?,
        ))
    })?;
    rows.map(|row| {
        let (author, name, commitment, sealed, key) = row?;
        let key = key
            .map(|k| <[u8; 32]>::try_from(k.as_slice()).map(Zeroizing::new))
            .transpose()
            .map_err(|_| Error::DatabaseDamaged)?;
        Ok(Stored {
            author: IdentityKey::from_stored(author)?,
            name,
            commitment: commitment.try_into().map_err(|_| Error::DatabaseDamaged)?,
            sealed,
            key,
        })
    })
    .collect()
}

fn put_line(conn: &Connection, seq: i64, start: &str, line: &Stored) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO gathering_round_lines
             (gathering, original_start, author, author_name, commitment, sealed, line_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            seq,
            start,
            line.author.as_bytes().as_slice(),
            line.name,
            line.commitment.as_slice(),
            line.sealed,
            line.key.as_ref().map(|k| k.as_slice())
        ],
    )?;
    Ok(())
}

/// When the round opened here, and its digest.
fn opened(conn: &Connection, seq: i64, start: &str) -> Result<Option<(DateTime<Utc>, [u8; 32])>> {
    let row: Option<(i64, Vec<u8>)> = conn
        .query_row(
            "SELECT opened_at, digest FROM gathering_rounds
             WHERE gathering = ?1 AND original_start = ?2",
            params![seq, start],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    row.map(|(at, digest)| {
        Ok((
            from_ms(at)?,
            digest.try_into().map_err(|_| Error::DatabaseDamaged)?,
        ))
    })
    .transpose()
}

fn mark_opened(
    conn: &Connection,
    seq: i64,
    start: &str,
    digest: &[u8; 32],
    now: DateTime<Utc>,
) -> Result<()> {
    conn.execute(
        "INSERT INTO gathering_rounds (gathering, original_start, opened_at, digest)
         VALUES (?1, ?2, ?3, ?4)",
        params![seq, start, now.timestamp_millis(), digest.as_slice()],
    )?;
    Ok(())
}

/// Whether I answered going to this occurrence.
fn going(conn: &Connection, seq: i64, start: &str) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT response FROM gathering_rsvps WHERE gathering = ?1 AND original_start = ?2",
            params![seq, start],
            |r| r.get::<_, Option<i64>>(0),
        )
        .optional()?
        .flatten()
        == Some(super::Rsvp::Going.code()))
}

/// Members going to my gathering's occurrence (visitors answer through
/// their host, and take no part in the round).
fn going_at_organiser(conn: &Connection, seq: i64, start: &str) -> Result<Vec<IdentityKey>> {
    let mut stmt = conn.prepare_cached(
        "SELECT identity_key FROM gathering_answers
         WHERE gathering = ?1 AND original_start = ?2 AND response = ?3 AND visitor_name IS NULL",
    )?;
    let rows = stmt.query_map(params![seq, start, super::Rsvp::Going.code()], |r| {
        r.get::<_, Vec<u8>>(0)
    })?;
    rows.map(|k| IdentityKey::from_stored(k?)).collect()
}

/// The organiser's side of opening: nothing when it opened already.
fn open_in(conn: &Connection, seq: i64, start: &str, now: DateTime<Utc>) -> Result<Vec<MessageId>> {
    if opened(conn, seq, start)?.is_some() {
        return Ok(Vec::new());
    }
    let going = going_at_organiser(conn, seq, start)?;
    let me = identity::identity_key(conn)?;
    // Lines from someone no longer going stay out.
    let (held, gone): (Vec<Stored>, Vec<Stored>) = lines(conn, seq, start)?
        .into_iter()
        .partition(|l| l.author == me || going.contains(&l.author));
    if held.is_empty() {
        return Err(Error::invalid("round", "has no line yet"));
    }
    for l in &gone {
        conn.execute(
            "DELETE FROM gathering_round_lines
             WHERE gathering = ?1 AND original_start = ?2 AND author = ?3",
            params![seq, start, l.author.as_bytes().as_slice()],
        )?;
    }
    let commitments: Vec<[u8; 32]> = held.iter().map(|l| l.commitment).collect();
    mark_opened(conn, seq, start, &digest_of(&commitments), now)?;
    send_open(conn, seq, start, &going)
}

/// The round as it stands, lines and every key held, to `to`.
fn send_open(
    conn: &Connection,
    seq: i64,
    start: &str,
    to: &[IdentityKey],
) -> Result<Vec<MessageId>> {
    let peers = comrades::peers_for_keys(conn, to)?;
    if peers.is_empty() {
        return Ok(Vec::new());
    }
    let me = identity::identity_key(conn)?;
    let my_name = identity::display_name(conn)?.unwrap_or_else(|| "the organiser".into());
    let held = lines(conn, seq, start)?;
    let body = OpenBody {
        v: 1,
        uid: store::uid_of(conn, seq)?,
        start: start.to_owned(),
        lines: held
            .iter()
            .map(|l| OpenLine {
                author: hex::encode(l.author.as_bytes()),
                name: match l.author == me {
                    true => my_name.clone(),
                    false => l.name.clone(),
                },
                commitment: hex::encode(l.commitment),
                sealed: data_encoding::BASE64.encode(&l.sealed),
            })
            .collect(),
        keys: held
            .iter()
            .filter_map(|l| {
                l.key.as_ref().map(|k| KeyBody {
                    commitment: hex::encode(l.commitment),
                    key: hex::encode(k.as_slice()),
                })
            })
            .collect(),
    };
    let id = store::load(conn, seq)?.id;
    Ok(vec![
        seal(conn, peers, kinds::GATHERING_ROUND_OPEN, &body, id)?.message_id,
    ])
}

fn round_in(conn: &Connection, seq: i64, start: &str) -> Result<Round> {
    let held = lines(conn, seq, start)?;
    let me = identity::identity_key(conn)?;
    let said = |l: &Stored| match &l.key {
        Some(key) => open_line(key, &l.sealed, &l.commitment).ok_or(Error::DatabaseDamaged),
        None => Ok(Said::Unreleased),
    };
    let mine = held.iter().find(|l| l.author == me).map(said).transpose()?;
    let Some((opened_at, digest)) = opened(conn, seq, start)? else {
        return Ok(Round {
            opened_at: None,
            written: held.len() as u32,
            mine,
            lines: Vec::new(),
            check: None,
        });
    };
    let commitments: Vec<[u8; 32]> = held.iter().map(|l| l.commitment).collect();
    let mut lines = Vec::with_capacity(held.len());
    for i in order(&commitments) {
        let l = &held[i];
        let name = match l.author == me {
            true => None,
            false => Some(
                comrades::known(conn, &l.author)?
                    .map(|k| k.name)
                    .unwrap_or_else(|| l.name.clone()),
            ),
        };
        lines.push(RoundLine {
            name,
            said: said(l)?,
        });
    }
    Ok(Round {
        opened_at: Some(opened_at),
        written: held.len() as u32,
        mine,
        lines,
        check: Some(check_code(&digest)),
    })
}

/// Applies a round message from `from`; what it sealed in answer.
pub(super) fn receive(
    tx: &Connection,
    (from, from_name): (&IdentityKey, &str),
    message: RoundMessage,
    now: DateTime<Utc>,
) -> Result<Vec<MessageId>> {
    let seq = store::seq_by_uid(tx, message.uid())?.ok_or(GatheringError::UnknownGathering)?;
    let g = store::load(tx, seq)?;
    let schedule = Schedule::stored(g.starts_at, &g.time_zone, g.recurrence.as_deref())?;
    let start = match &message {
        RoundMessage::Line(b) => &b.start,
        RoundMessage::Open(b) => &b.start,
        RoundMessage::Key(b) => &b.start,
    };
    let start_time = local_from(start)?;
    if !schedule.has_start(start_time) {
        return Err(EnvelopeError::Malformed.into());
    }
    let start = local_text(start_time);
    let organiser = organiser(tx, seq)?;
    let from_organiser = organiser == Some(*from);
    match message {
        RoundMessage::Line(b) => {
            // To me as organiser, from an invitee, before it opened. Their
            // answer may come after their line: only lines of those going
            // are kept when it opens.
            if organiser.is_some() {
                return Err(GatheringError::NotOrganiser.into());
            }
            if !super::invites::invitees(tx, seq)?.contains(from) {
                return Err(GatheringError::NotInvited.into());
            }
            if opened(tx, seq, &start)?.is_some() {
                return Ok(Vec::new()); // too late: the lines are fixed
            }
            let commitment = hex32(&b.commitment).ok_or(EnvelopeError::Malformed)?;
            let sealed = sealed_bytes(&b.sealed).ok_or(EnvelopeError::Malformed)?;
            let line = Stored {
                author: *from,
                name: from_name.to_owned(),
                commitment,
                sealed,
                key: None,
            };
            put_line(tx, seq, &start, &line)?;
            Ok(Vec::new())
        }
        RoundMessage::Open(b) => {
            if !from_organiser {
                return Err(GatheringError::NotOrganiser.into());
            }
            let mut commitments = Vec::with_capacity(b.lines.len());
            for l in &b.lines {
                let commitment = hex32(&l.commitment).ok_or(EnvelopeError::Malformed)?;
                if commitments.contains(&commitment) {
                    return Err(EnvelopeError::Malformed.into());
                }
                commitments.push(commitment);
            }
            let digest = digest_of(&commitments);
            let first = match opened(tx, seq, &start)? {
                None => true,
                Some((_, held)) if held == digest => false,
                // Other lines than it opened with: the organiser's doing.
                Some(_) => return Err(EnvelopeError::Malformed.into()),
            };
            let released = match first {
                true => fix_lines(tx, seq, &start, &b.lines, &digest, now)?,
                false => None,
            };
            let held = lines(tx, seq, &start)?;
            for key in &b.keys {
                take_key(tx, seq, &start, &held, key, None)?;
            }
            let Some(key) = released else {
                return Ok(Vec::new()); // I wrote nothing, it came too late, or I released already
            };
            let body = KeyReleaseBody {
                v: 1,
                uid: b.uid,
                start,
                digest: hex::encode(digest),
                key,
            };
            let peers = comrades::peers_for_keys(tx, &[*from])?;
            Ok(vec![
                seal(tx, peers, kinds::GATHERING_ROUND_KEY, &body, g.id)?.message_id,
            ])
        }
        RoundMessage::Key(b) => {
            if organiser.is_some() {
                return Err(GatheringError::NotOrganiser.into());
            }
            same_round(tx, seq, &start, &b.digest)?;
            take_key(
                tx,
                seq,
                &start,
                &lines(tx, seq, &start)?,
                &b.key,
                Some(from),
            )?;
            // Everyone else going gets the round with it.
            let others: Vec<IdentityKey> = going_at_organiser(tx, seq, &start)?
                .into_iter()
                .filter(|k| k != from)
                .collect();
            send_open(tx, seq, &start, &others)
        }
    }
}

/// An attendee's side of the first `round.open`: its lines replace what I
/// held, and my key, if my line is among them, is what I release.
fn fix_lines(
    tx: &Connection,
    seq: i64,
    start: &str,
    fixed: &[OpenLine],
    digest: &[u8; 32],
    now: DateTime<Utc>,
) -> Result<Option<KeyBody>> {
    let me = identity::identity_key(tx)?;
    let mine = lines(tx, seq, start)?.into_iter().find(|l| l.author == me);
    tx.execute(
        "DELETE FROM gathering_round_lines WHERE gathering = ?1 AND original_start = ?2",
        params![seq, start],
    )?;
    let mut released = None;
    for l in fixed {
        let author = IdentityKey(hex32(&l.author).ok_or(EnvelopeError::Malformed)?);
        let commitment = hex32(&l.commitment).ok_or(EnvelopeError::Malformed)?;
        // My line keeps my key, if it is the one I wrote.
        let key = mine
            .as_ref()
            .filter(|m| author == me && m.commitment == commitment)
            .and_then(|m| m.key.clone());
        if let Some(key) = &key {
            released = Some(KeyBody {
                commitment: hex::encode(commitment),
                key: hex::encode(key.as_slice()),
            });
        }
        let line = Stored {
            author,
            name: l.name.clone(),
            commitment,
            sealed: sealed_bytes(&l.sealed).ok_or(EnvelopeError::Malformed)?,
            key,
        };
        put_line(tx, seq, start, &line)?;
    }
    mark_opened(tx, seq, start, digest, now)?;
    Ok(released)
}

/// Refuses keys for a round other than the one opened here: the organiser
/// sent the attendees different lines.
fn same_round(conn: &Connection, seq: i64, start: &str, digest: &str) -> Result<()> {
    match opened(conn, seq, start)? {
        Some((_, mine)) if hex32(digest) == Some(mine) => Ok(()),
        _ => Err(EnvelopeError::Malformed.into()),
    }
}

/// Keeps a released key if it opens its line among `held` (the round's
/// lines as stored); from `author` only, when given. A key held already
/// is not checked again: each `round.open` repeats them all.
fn take_key(
    conn: &Connection,
    seq: i64,
    start: &str,
    held: &[Stored],
    k: &KeyBody,
    author: Option<&IdentityKey>,
) -> Result<()> {
    let commitment = hex32(&k.commitment).ok_or(EnvelopeError::Malformed)?;
    let key = Zeroizing::new(hex32(&k.key).ok_or(EnvelopeError::Malformed)?);
    let line = held
        .iter()
        .find(|l| l.commitment == commitment)
        .ok_or(EnvelopeError::Malformed)?;
    if author.is_some_and(|a| *a != line.author) {
        return Err(EnvelopeError::Malformed.into());
    }
    if line.key.as_deref() == Some(&*key) {
        return Ok(());
    }
    if line.key.is_some() || open_line(&key, &line.sealed, &commitment).is_none() {
        return Err(EnvelopeError::Malformed.into());
    }
    conn.execute(
        "UPDATE gathering_round_lines SET line_key = ?4
         WHERE gathering = ?1 AND original_start = ?2 AND commitment = ?3",
        params![seq, start, commitment.as_slice(), key.as_slice()],
    )?;
    Ok(())
}

/// At unlock: my gatherings' rounds open at their occurrence's start, and
/// rounds are deleted as long after it as their collective keeps them
/// ([`ROUND_KEPT`] outside one).
pub(crate) fn at_unlock(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT l.gathering, l.original_start FROM gathering_round_lines l
         JOIN gatherings g ON g.seq = l.gathering
         WHERE g.organiser IS NULL AND NOT EXISTS (
             SELECT 1 FROM gathering_rounds r
             WHERE r.gathering = l.gathering AND r.original_start = l.original_start)",
    )?;
    let waiting = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (seq, start) in waiting {
        let g = store::load(conn, seq)?;
        let schedule = Schedule::stored(g.starts_at, &g.time_zone, g.recurrence.as_deref())?;
        if schedule.instant(local_from(&start)?) <= now {
            open_in(conn, seq, &start, now)?;
        }
    }
    let held = conn
        .prepare(
            "SELECT seq, collective FROM gatherings WHERE seq IN
               (SELECT gathering FROM gathering_round_lines
                UNION SELECT gathering FROM gathering_rounds)",
        )?
        .query_map([], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Option<Vec<u8>>>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (seq, of) in held {
        let kept = match of.and_then(|id| <[u8; 16]>::try_from(id).ok()) {
            Some(id) => crate::collective::settings_of(conn, crate::collective::CollectiveId(id))?
                .map_or(ROUND_KEPT, |s| Duration::days(s.round_kept_days.into())),
            None => ROUND_KEPT,
        };
        // Local times: a day's slack covers any zone's offset.
        let before = local_text((now - kept - Duration::days(1)).naive_utc());
        for table in ["gathering_round_lines", "gathering_rounds"] {
            conn.execute(
                &format!("DELETE FROM {table} WHERE gathering = ?1 AND original_start < ?2"),
                params![seq, before],
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_opens_only_with_its_key_and_a_pass_is_an_answer() {
        let (key, sealed, commitment) = seal_line(Some("I'll sketch the heron"));
        assert!(!sealed.windows(5).any(|w| w == b"heron"));
        assert_eq!(
            open_line(&key, &sealed, &commitment),
            Some(Said::Line {
                text: "I'll sketch the heron".into()
            })
        );
        let other = [9u8; 32];
        assert_eq!(open_line(&other, &sealed, &commitment), None);
        // A second key that opened the same bytes would not match the commitment.
        assert_eq!(open_line(&key, &sealed, &[0; 32]), None);
        let (key, sealed, commitment) = seal_line(None);
        assert_eq!(open_line(&key, &sealed, &commitment), Some(Said::Pass));
        let shown = RoundLine {
            name: Some("Bob".into()),
            said: Said::Line {
                text: "the heron".into(),
            },
        };
        let debug = format!("{shown:?}");
        assert!(
            !debug.contains("heron") && !debug.contains("Bob"),
            "{debug}"
        );
    }

    #[test]
    fn the_order_is_the_same_for_any_arrival_and_changes_with_any_commitment() {
        let commitments: Vec<[u8; 32]> = (0..8u8).map(|i| [i * 31 + 1; 32]).collect();
        let names = |c: &[[u8; 32]]| -> Vec<u8> { order(c).iter().map(|&i| c[i][0]).collect() };
        let first = names(&commitments);
        let mut reversed = commitments.clone();
        reversed.reverse();
        assert_eq!(names(&reversed), first, "arrival order does not matter");
        assert_ne!(
            first,
            (0..8u8).map(|i| i * 31 + 1).collect::<Vec<_>>(),
            "not the order they were given in"
        );
        let mut changed = commitments.clone();
        changed[3][31] ^= 1;
        let second: Vec<u8> = order(&changed).iter().map(|&i| changed[i][0]).collect();
        assert_ne!(second, first, "one commitment changed moves the others");
        assert_ne!(
            check_code(&digest_of(&changed)),
            check_code(&digest_of(&commitments))
        );
    }
}
