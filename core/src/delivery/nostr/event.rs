//! Parcels as Nostr events and back. Each event is kind 1059 (NIP-59's
//! gift wrap), signed by a key made for it alone, tagged `p` with the
//! recipient's mailbox and `expiration` (NIP-40), and dated up to
//! [`BACKDATE_WINDOW`] in the past. Its content is Base64 of one
//! *piece*: a whole envelope, or one chunk of a large one.

use std::collections::{HashMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use std::num::NonZeroU8;

use nostr::prelude::{
    Event, EventBuilder, FinalizeEvent, FinalizeUnsignedEvent, Keys, Kind, SingleLetterTag,
    SingleThreadPow, Tag, Timestamp,
};
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::delivery::{Arrival, BACKDATE_WINDOW, EVENT_LIFETIME, MailboxKey, Parcel, RelayProblem};
use crate::envelope::MAX_ENVELOPE_BYTES;

/// Envelope bytes per event. In Base64 with the event around it this stays
/// under 64 KiB of JSON, strfry's default limit and the strictest common one.
pub const CHUNK_BYTES: usize = 46 * 1024;
const WHOLE: u8 = 1;
const CHUNK: u8 = 2;
const CHUNK_HEADER: usize = 1 + 16 + 1 + 1 + 32;
/// The most chunks an envelope within [`MAX_ENVELOPE_BYTES`] needs.
pub const MAX_CHUNKS: usize = MAX_ENVELOPE_BYTES.div_ceil(CHUNK_BYTES);
/// Event JSON longer than this is skipped unread.
pub const MAX_EVENT_JSON: usize = 96 * 1024;
/// Chunks held while waiting for the rest of their envelope, per fetch.
const MAX_PENDING_BYTES: usize = 4 * MAX_ENVELOPE_BYTES;
const MAX_PENDING_SETS: usize = 64;

/// The events carrying one parcel: one, or a chunk each. Each event draws
/// its own date and expiry, none in `used` (the values already given out),
/// so no two events share one and neither tells when it was published.
pub(crate) fn events_for(
    parcel: &Parcel,
    now: DateTime<Utc>,
    pow: u8,
    used: &mut HashSet<u64>,
) -> Vec<Event> {
    let mailbox = nostr::prelude::PublicKey::from_byte_array(*parcel.mailbox.as_bytes());
    let pieces = pieces_of(&parcel.envelope);
    let mut rng = rand::thread_rng();
    // A key for this copy alone: nothing links two copies by author, and
    // the chunks of one copy can be told from false ones (`Assembler`).
    let author = Keys::generate();
    pieces
        .into_iter()
        .map(|piece| {
            let mut draw = dates(&mut rng, now, parcel.keep_until);
            // A few seconds of choice suffice; past that, sharing is allowed.
            for _ in 0..16 {
                if !used.contains(&draw.0) && !used.contains(&draw.1) {
                    break;
                }
                draw = dates(&mut rng, now, parcel.keep_until);
            }
            let (created, expiration) = draw;
            used.extend([created, expiration]);
            let unsigned = EventBuilder::new(Kind::GiftWrap, BASE64.encode(&piece))
                .tag(Tag::public_key(mailbox))
                .tag(Tag::expiration(Timestamp::from_secs(expiration)))
                .custom_created_at(Timestamp::from_secs(created))
                .finalize_unsigned(author.public_key());
            let unsigned = match NonZeroU8::new(pow) {
                Some(bits) => unsigned
                    .mine(&SingleThreadPow, bits)
                    .expect("mining cannot fail"),
                None => unsigned,
            };
            unsigned
                .finalize(&author)
                .expect("signing with a fresh key cannot fail")
        })
        .collect()
}

/// `created_at`: now minus up to [`BACKDATE_WINDOW`]. `expiration`: that
/// plus [`EVENT_LIFETIME`] and up to another window, so their difference is
/// the same draw whenever the event is published; drawn again in the later
/// half of what is left when that would outlive `keep_until`.
fn dates(rng: &mut impl Rng, now: DateTime<Utc>, keep_until: DateTime<Utc>) -> (u64, u64) {
    let window = BACKDATE_WINDOW.num_seconds();
    let now_s = now.timestamp();
    let created = now_s - rng.gen_range(0..window);
    let mut expiration = created + EVENT_LIFETIME.num_seconds() + rng.gen_range(0..window);
    let last = keep_until.timestamp();
    if expiration > last {
        let left = (last - now_s).max(2);
        expiration = rng.gen_range(now_s + left / 2..=now_s + left);
    }
    (created.max(0) as u64, expiration.max(0) as u64)
}

/// A whole envelope when it fits, else chunks naming their set, place,
/// count and the whole envelope's SHA-256.
fn pieces_of(envelope: &[u8]) -> Vec<Vec<u8>> {
    pieces_in_set(envelope, rand::random())
}

fn pieces_in_set(envelope: &[u8], set: [u8; 16]) -> Vec<Vec<u8>> {
    if envelope.len() <= CHUNK_BYTES {
        return vec![[&[WHOLE][..], envelope].concat()];
    }
    let digest = Sha256::digest(envelope);
    let count = envelope.len().div_ceil(CHUNK_BYTES);
    envelope
        .chunks(CHUNK_BYTES)
        .enumerate()
        .map(|(index, data)| {
            let mut piece = Vec::with_capacity(CHUNK_HEADER + data.len());
            piece.push(CHUNK);
            piece.extend_from_slice(&set);
            piece.push(index as u8);
            piece.push(count as u8);
            piece.extend_from_slice(&digest);
            piece.extend_from_slice(data);
            piece
        })
        .collect()
}

/// Checks an event a relay served for `mailbox`: kind, address, size and
/// signature, in that order (cheapest first).
pub(crate) fn check(event: &Event, mailbox: &MailboxKey) -> Result<(), RelayProblem> {
    if event.kind != Kind::GiftWrap {
        return Err(RelayProblem::WrongKind);
    }
    let p = SingleLetterTag::LOWERCASE_P;
    let mut addressed = event
        .tags
        .iter()
        .filter(|t| t.single_letter_tag() == Some(p))
        .map(|t| t.content());
    if addressed.next() != Some(Some(mailbox.to_hex().as_str())) || addressed.next().is_some() {
        return Err(RelayProblem::NotAddressed);
    }
    if event.content.len() > MAX_EVENT_JSON {
        return Err(RelayProblem::Oversized);
    }
    event.verify().map_err(|_| RelayProblem::BadSignature)
}

/// Why a piece was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unfit {
    /// The piece itself is broken: its event is never worth reading again.
    Malformed,
    /// It does not fit the others of its set, or the set does not add up:
    /// which piece is false is unknown, so none is blamed.
    Conflict,
    /// Too much is pending already.
    Full,
}

impl Unfit {
    pub fn problem(self) -> RelayProblem {
        match self {
            Unfit::Malformed | Unfit::Conflict => RelayProblem::BadChunk,
            Unfit::Full => RelayProblem::Flood,
        }
    }
}

/// Puts pieces back together. Bounded: a relay serving endless partial
/// envelopes gets [`Unfit::Full`], not our memory. A chunk's header is in
/// the clear, so anyone may publish a false chunk under a real one's
/// header; but every chunk of one copy is signed by one key made for that
/// copy, so sets are told apart by author as well as id, digest and count,
/// and a false chunk only ever joins a set of its own.
#[derive(Default)]
pub(crate) struct Assembler {
    sets: HashMap<SetKey, Set>,
    pending: usize,
}

/// A set's id, the whole envelope's SHA-256, its chunk count, its author.
type SetKey = ([u8; 16], [u8; 32], usize, [u8; 32]);

struct Set {
    parts: Vec<Option<Vec<u8>>>,
    ids: Vec<String>,
}

impl Assembler {
    /// A whole envelope when this piece, from the event `id` signed by
    /// `author`, completes one.
    pub fn add(
        &mut self,
        id: String,
        author: [u8; 32],
        content: &str,
    ) -> Result<Option<Arrival>, Unfit> {
        let piece = BASE64.decode(content).map_err(|_| Unfit::Malformed)?;
        match piece.split_first() {
            Some((&WHOLE, envelope)) if envelope.len() <= CHUNK_BYTES => Ok(Some(Arrival {
                ids: vec![id],
                envelope: envelope.to_vec(),
            })),
            Some((&CHUNK, rest)) if rest.len() > CHUNK_HEADER - 1 => {
                self.add_chunk(id, author, rest)
            }
            _ => Err(Unfit::Malformed),
        }
    }

    fn add_chunk(
        &mut self,
        id: String,
        author: [u8; 32],
        rest: &[u8],
    ) -> Result<Option<Arrival>, Unfit> {
        let (header, data) = rest.split_at(CHUNK_HEADER - 1);
        let set: [u8; 16] = header[..16].try_into().expect("fixed slice");
        let (index, count) = (header[16] as usize, header[17] as usize);
        let digest: [u8; 32] = header[18..].try_into().expect("fixed slice");
        if !(2..=MAX_CHUNKS).contains(&count) || index >= count || data.len() > CHUNK_BYTES {
            return Err(Unfit::Malformed);
        }
        let key = (set, digest, count, author);
        if !self.sets.contains_key(&key) && self.sets.len() >= MAX_PENDING_SETS {
            return Err(Unfit::Full);
        }
        if self.pending + data.len() > MAX_PENDING_BYTES {
            return Err(Unfit::Full);
        }
        let entry = self.sets.entry(key).or_insert_with(|| Set {
            parts: vec![None; count],
            ids: Vec::new(),
        });
        if entry.parts[index].is_some() {
            return Ok(None); // the same chunk again, from a second relay or a retry
        }
        self.pending += data.len();
        entry.parts[index] = Some(data.to_vec());
        entry.ids.push(id);
        if entry.parts.iter().any(Option::is_none) {
            return Ok(None);
        }
        let done = self.sets.remove(&key).expect("just seen");
        let envelope: Vec<u8> = done.parts.into_iter().flatten().flatten().collect();
        self.pending -= envelope.len();
        if envelope.len() > MAX_ENVELOPE_BYTES || Sha256::digest(&envelope)[..] != digest {
            // Its author published chunks that do not add up.
            return Err(Unfit::Conflict);
        }
        Ok(Some(Arrival {
            ids: done.ids,
            envelope,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::ParcelId;

    fn parcel(size: usize) -> Parcel {
        let mailbox = Keys::generate().public_key().to_bytes();
        Parcel {
            id: ParcelId::for_tests(),
            message_id: crate::envelope::MessageId::new(),
            mailbox: MailboxKey::from_slice(&mailbox).unwrap(),
            envelope: pattern(size),
            keep_until: Utc::now() + EVENT_LIFETIME + BACKDATE_WINDOW,
            relays: vec![],
        }
    }

    fn reassemble(events: &[Event], mailbox: &MailboxKey) -> Vec<Arrival> {
        let mut assembler = Assembler::default();
        events
            .iter()
            .filter_map(|e| {
                check(e, mailbox).unwrap();
                assembler
                    .add(e.id.to_hex(), e.pubkey.to_bytes(), &e.content)
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn small_envelopes_go_whole_and_large_ones_in_chunks_that_fit_64_kib() {
        let now = Utc::now();
        for size in [1, CHUNK_BYTES, CHUNK_BYTES + 1, MAX_ENVELOPE_BYTES] {
            let p = parcel(size);
            let events = events_for(&p, now, 0, &mut HashSet::new());
            assert_eq!(events.len(), size.div_ceil(CHUNK_BYTES));
            for e in &events {
                assert!(e.as_json().len() < 64 * 1024, "{}", e.as_json().len());
                assert!(e.created_at.as_secs() <= now.timestamp() as u64);
                assert!(e.created_at.as_secs() >= (now - BACKDATE_WINDOW).timestamp() as u64);
                assert!(e.tags.expiration().unwrap().as_secs() <= p.keep_until.timestamp() as u64);
            }
            let authors: std::collections::HashSet<_> = events.iter().map(|e| e.pubkey).collect();
            assert_eq!(authors.len(), 1, "a fresh key per copy, for all its chunks");
            let mut shuffled = events.clone();
            shuffled.reverse();
            let arrivals = reassemble(&shuffled, &p.mailbox);
            assert_eq!(arrivals.len(), 1);
            assert_eq!(arrivals[0].envelope, p.envelope);
            assert_eq!(arrivals[0].ids.len(), events.len());
        }
    }

    #[test]
    fn dates_tell_nothing_of_the_publish_time_and_respect_the_expiry() {
        let mut rng = rand::thread_rng();
        let now = Utc::now();
        let far = now + crate::delivery::LONGEST_STAY;
        for _ in 0..1000 {
            let (created, expiration) = dates(&mut rng, now, far);
            let lifetime = (expiration - created) as i64;
            assert!((EVENT_LIFETIME.num_seconds()..LONGEST_SECS).contains(&lifetime));
            assert!(expiration as i64 <= far.timestamp());
            assert!(created as i64 <= now.timestamp());
        }
        // An envelope expiring in an hour: every event expires in its later half.
        let soon = now + chrono::Duration::hours(1);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..100 {
            let (_, expiration) = dates(&mut rng, now, soon);
            let expiration = expiration as i64;
            assert!(expiration <= soon.timestamp());
            assert!(expiration >= now.timestamp() + 1800);
            seen.insert(expiration);
        }
        assert!(seen.len() > 50, "copies do not share one expiry");
    }

    const LONGEST_SECS: i64 = 16 * 86_400;

    #[test]
    fn events_for_another_mailbox_or_tampered_are_refused() {
        let p = parcel(100);
        let event = events_for(&p, Utc::now(), 0, &mut HashSet::new()).remove(0);
        let other = MailboxKey::from_slice(&Keys::generate().public_key().to_bytes()).unwrap();
        assert_eq!(check(&event, &other), Err(RelayProblem::NotAddressed));
        let mut json: serde_json::Value = serde_json::from_str(&event.as_json()).unwrap();
        json["content"] = "AQID".into();
        let forged = Event::from_json(json.to_string()).unwrap();
        assert_eq!(check(&forged, &p.mailbox), Err(RelayProblem::BadSignature));
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn the_checked_in_vectors_hold() {
        let text = include_str!("../../../../docs/vectors/delivery-v1.json");
        let vectors: serde_json::Value = serde_json::from_str(text).unwrap();
        for v in vectors["pieces"].as_array().unwrap() {
            let envelope = pattern(v["envelope_len"].as_u64().unwrap() as usize);
            let set: [u8; 16] = hex::decode(v["set"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap();
            let pieces = pieces_in_set(&envelope, set);
            let expected = v["pieces"].as_array().unwrap();
            assert_eq!(pieces.len(), expected.len());
            for (piece, e) in pieces.iter().zip(expected) {
                let header = e["header"].as_str().unwrap();
                assert_eq!(hex::encode(&piece[..header.len() / 2]), header);
                assert_eq!(
                    hex::encode(Sha256::digest(piece)),
                    e["sha256"].as_str().unwrap()
                );
                assert_eq!(piece.len() as u64, e["len"].as_u64().unwrap());
            }
            let mut assembler = Assembler::default();
            let whole = pieces
                .iter()
                .filter_map(|p| {
                    assembler
                        .add(String::new(), [0; 32], &BASE64.encode(p))
                        .unwrap()
                })
                .next()
                .unwrap();
            assert_eq!(whole.envelope, envelope);
        }
    }

    #[test]
    #[ignore = "prints docs/vectors/delivery-v1.json"]
    fn print_vectors() {
        let cases = [
            (100usize, [0u8; 16]),
            (2 * CHUNK_BYTES + 10, core::array::from_fn(|i| i as u8 + 1)),
        ];
        let pieces: Vec<_> = cases
            .iter()
            .map(|(len, set)| {
                let pieces = pieces_in_set(&pattern(*len), *set);
                serde_json::json!({
                    "envelope_len": len,
                    "set": hex::encode(set),
                    "pieces": pieces.iter().map(|p| serde_json::json!({
                        "header": hex::encode(&p[..if p[0] == WHOLE { p.len().min(16) } else { CHUNK_HEADER }]),
                        "len": p.len(),
                        "sha256": hex::encode(Sha256::digest(p)),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "about": "Delivery pieces (docs/delivery.md). The envelope is bytes i*7 mod 251 for i in 0..envelope_len; a whole piece's header is its first 16 bytes.",
                "pieces": pieces,
            }))
            .unwrap()
        );
    }

    #[test]
    fn chunks_that_do_not_fit_together_are_bad_chunks() {
        let p = parcel(CHUNK_BYTES * 2 + 10);
        let events = events_for(&p, Utc::now(), 0, &mut HashSet::new());
        let sender = events[0].pubkey.to_bytes();
        assert!(
            events.iter().all(|e| e.pubkey.to_bytes() == sender),
            "one key a copy"
        );
        let forger = [9u8; 32];
        let mut assembler = Assembler::default();
        assert_eq!(
            assembler.add("a".into(), sender, &events[0].content),
            Ok(None)
        );
        // A false chunk under the real header, read first: a set of its own
        // (another author), which never completes and takes nothing from the real one.
        let mut piece = BASE64.decode(&events[1].content).unwrap();
        *piece.last_mut().unwrap() ^= 1;
        let forged = BASE64.encode(&piece);
        assert_eq!(assembler.add("f".into(), forger, &forged), Ok(None));
        // Same set id, claiming another count: a set of its own too.
        let mut piece = BASE64.decode(&events[1].content).unwrap();
        piece[18] = 9;
        assert_eq!(
            assembler.add("b".into(), sender, &BASE64.encode(&piece)),
            Ok(None)
        );
        assert_eq!(
            assembler.add("d".into(), sender, &events[2].content),
            Ok(None)
        );
        let whole = assembler
            .add("e".into(), sender, &events[1].content)
            .unwrap()
            .unwrap();
        assert_eq!(whole.envelope, p.envelope);
        assert_eq!(whole.ids, ["a", "d", "e"]);
        // Chunks one author signed that do not add up: refused once complete.
        let mut assembler = Assembler::default();
        assert_eq!(
            assembler.add("a".into(), sender, &events[0].content),
            Ok(None)
        );
        assert_eq!(assembler.add("c".into(), sender, &forged), Ok(None));
        assert_eq!(
            assembler.add("d".into(), sender, &events[2].content),
            Err(Unfit::Conflict)
        );
        for bad in ["", "!!", "AA==", &BASE64.encode([CHUNK, 1, 2])] {
            assert_eq!(
                assembler.add("e".into(), sender, bad),
                Err(Unfit::Malformed)
            );
        }
    }

    #[test]
    fn a_chunk_bomb_is_bounded() {
        let mut assembler = Assembler::default();
        let mut outcome = Ok(None);
        for i in 0..10_000u32 {
            let mut piece = vec![CHUNK];
            piece.extend_from_slice(&i.to_be_bytes().repeat(4));
            piece.extend_from_slice(&[0, MAX_CHUNKS as u8]);
            piece.extend_from_slice(&[0; 32]);
            piece.extend_from_slice(&vec![0; CHUNK_BYTES]);
            outcome = assembler.add(i.to_string(), [0; 32], &BASE64.encode(&piece));
            if outcome.is_err() {
                break;
            }
        }
        assert_eq!(outcome, Err(Unfit::Full));
        assert!(assembler.pending <= MAX_PENDING_BYTES);
    }
}
