//! The envelope format (`docs/envelope.md`): an age file whose plaintext
//! carries the sender's card (with the digests of the cards before it, and
//! since version 3 the post-quantum half of their epoch key), the sorted
//! recipients, a deniable MAC for each of them, and padding. Versions 1
//! and 2 still open.

use std::io::{Read, Write};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::EnvelopeError;
use crate::bytes::Reader;
use crate::identity::chain::MAX_LINKS;
use crate::identity::{
    Card, CardError, EncryptionKey, EncryptionSecret, PQ_KEY_BYTES, PairKey, PqKey,
};

/// What this build seals: version 3, for a chained card with the digest
/// of a post-quantum key, which the envelope carries.
pub const VERSION: u8 = 3;
/// Envelopes from vaults before post-quantum epochs: a chained card, no key.
pub const CLASSIC_VERSION: u8 = 2;
/// Envelopes from vaults before card chains: a version 1 card, no digests.
pub const UNCHAINED_VERSION: u8 = 1;
/// The largest body an envelope carries.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Recipients of one envelope, the sender's own copy included.
pub const MAX_RECIPIENTS: usize = 256;
/// Larger binary envelopes are refused before any decryption: a 1 MiB body
/// to the most recipients, each with a ~1.6 KB post-quantum stanza.
pub const MAX_ENVELOPE_BYTES: usize = 1536 * 1024;
/// Larger armored envelopes are refused before any decoding: base64 of the
/// largest binary one, with its line breaks.
pub const MAX_ARMORED_BYTES: usize = 2112 * 1024;
const MAX_KIND_BYTES: usize = 32;
const MIN_PADDED: usize = 1024;
const MAC_BYTES: usize = 32;
/// Version, card, id, times, kind, recipients and body at their largest.
const MAX_INNER_BYTES: usize = 1
    + 2
    + 1024
    + 1
    + MAX_LINKS * 32
    + 2
    + PQ_KEY_BYTES
    + 16
    + 16
    + 1
    + MAX_KIND_BYTES
    + 2
    + MAX_RECIPIENTS * (32 + MAC_BYTES)
    + 4
    + MAX_BODY_BYTES;

type HmacSha256 = Hmac<Sha256>;

/// What a sender puts in an envelope, apart from keys.
pub struct Message<'a> {
    pub id: [u8; 16],
    pub created_ms: i64,
    pub expires_ms: Option<i64>,
    pub kind: &'a str,
    pub body: &'a [u8],
    /// Digests of my cards before the one sealed with, oldest first.
    pub links: &'a [[u8; 32]],
    /// Padded to at least this many bytes: a decoy the size of the real one.
    pub pad_to: usize,
}

/// One recipient: their key, the MAC key I share with them, and the
/// post-quantum half of their key when I hold it.
pub struct Recipient<'a> {
    pub key: EncryptionKey,
    pub pair_key: &'a PairKey,
    pub pq: Option<&'a PqKey>,
}

/// Whom an age layer is sealed to: an X25519 key, and the post-quantum key
/// of the same epoch when I hold it. The layer is post-quantum only when
/// every one of them has one: age refuses to mix the two, since a file is
/// only as strong as its weakest stanza.
#[derive(Clone, Copy)]
pub struct SealTo<'a> {
    pub key: EncryptionKey,
    pub pq: Option<&'a PqKey>,
}

/// A decrypted, authenticated envelope.
pub struct Unsealed {
    pub card: Card,
    /// Digests of the sender's cards before `card`, oldest first.
    pub links: Vec<[u8; 32]>,
    /// The post-quantum half of the sender's key, matching their card.
    pub pq_key: Option<PqKey>,
    pub id: [u8; 16],
    pub created_ms: i64,
    pub expires_ms: Option<i64>,
    pub kind: String,
    pub body: Vec<u8>,
}

/// Kinds are short, lowercase and dotted, like `journal.entry`.
pub fn check_kind(kind: &str) -> bool {
    (1..=MAX_KIND_BYTES).contains(&kind.len())
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// The plaintext inside the age layer, padded. `recipients` must include
/// the sender's own key.
pub fn encode_inner(
    (card, sender_pq): (&Card, Option<&PqKey>),
    recipients: &[Recipient<'_>],
    message: &Message<'_>,
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    if message.body.len() > MAX_BODY_BYTES {
        return Err(EnvelopeError::TooLarge {
            size: message.body.len() as u64,
            max: MAX_BODY_BYTES as u64,
        });
    }
    let chained = card.chain();
    let version = inner_version(card);
    let pq_key = match (card.pq_digest(), sender_pq) {
        (None, _) => None,
        (Some(digest), Some(key)) if key.digest() == digest => Some(key),
        (Some(_), _) => return Err(EnvelopeError::Malformed),
    };
    // Digests only of cards before this one, and none for an unchained card.
    let links_fit = match chained {
        Some(c) => message.links.len() <= MAX_LINKS && message.links.len() < c.seq as usize,
        None => message.links.is_empty(),
    };
    if !check_kind(message.kind)
        || recipients.is_empty()
        || recipients.len() > MAX_RECIPIENTS
        || !links_fit
    {
        return Err(EnvelopeError::Malformed);
    }
    let mut sorted: Vec<&Recipient> = recipients.iter().collect();
    sorted.sort_by_key(|r| r.key);
    sorted.dedup_by_key(|r| r.key);
    let capacity = inner_len(
        card,
        message.links.len(),
        sorted.len(),
        message.kind,
        message.body.len(),
    );
    let mut out = Zeroizing::new(Vec::with_capacity(padded_len(capacity.max(message.pad_to))));
    let card_bytes = card.as_bytes();
    out.push(version);
    out.extend_from_slice(&(card_bytes.len() as u16).to_be_bytes());
    out.extend_from_slice(card_bytes);
    if chained.is_some() {
        out.push(message.links.len() as u8);
        for link in message.links {
            out.extend_from_slice(link);
        }
    }
    if let Some(key) = pq_key {
        out.extend_from_slice(&(PQ_KEY_BYTES as u16).to_be_bytes());
        out.extend_from_slice(key.as_bytes());
    }
    out.extend_from_slice(&message.id);
    out.extend_from_slice(&message.created_ms.to_be_bytes());
    out.extend_from_slice(&message.expires_ms.unwrap_or(0).to_be_bytes());
    out.push(message.kind.len() as u8);
    out.extend_from_slice(message.kind.as_bytes());
    out.extend_from_slice(&(sorted.len() as u16).to_be_bytes());
    for r in &sorted {
        out.extend_from_slice(r.key.as_bytes());
    }
    out.extend_from_slice(&(message.body.len() as u32).to_be_bytes());
    out.extend_from_slice(message.body);
    let transcript = Sha256::digest(&out[..]);
    for r in &sorted {
        out.extend_from_slice(&mac(r.pair_key, &transcript));
    }
    let padded = padded_len(out.len().max(message.pad_to));
    out.resize(padded, 0);
    Ok(out)
}

/// The unpadded length of an inner layer: `card` with `links` digests,
/// `recipients` recipients (the sender's own included), `kind` and a body
/// of `body_len` bytes.
pub fn inner_len(
    card: &Card,
    links: usize,
    recipients: usize,
    kind: &str,
    body_len: usize,
) -> usize {
    let links = match card.chain() {
        Some(_) => 1 + links * 32,
        None => 0,
    };
    let pq = match inner_version(card) {
        VERSION => 2 + PQ_KEY_BYTES,
        _ => 0,
    };
    1 + 2
        + pq
        + card.as_bytes().len()
        + links
        + 16
        + 8
        + 8
        + 1
        + kind.len()
        + 2
        + recipients * (32 + MAC_BYTES)
        + 4
        + body_len
}

/// The version an envelope with `card` is: the card says what it carries.
fn inner_version(card: &Card) -> u8 {
    match (card.chain(), card.pq_digest()) {
        (None, _) => UNCHAINED_VERSION,
        (Some(_), None) => CLASSIC_VERSION,
        (Some(_), Some(_)) => VERSION,
    }
}

/// Seals to every recipient with age; binary form. `sender` is my card and
/// the post-quantum key its digest names.
pub fn seal(
    sender: (&Card, Option<&PqKey>),
    recipients: &[Recipient<'_>],
    message: &Message<'_>,
) -> Result<Vec<u8>, EnvelopeError> {
    let inner = encode_inner(sender, recipients, message)?;
    let to: Vec<SealTo> = recipients
        .iter()
        .map(|r| SealTo {
            key: r.key,
            pq: r.pq,
        })
        .collect();
    encrypt(&inner, &to)
}

/// The same message re-sealed for one recipient alone, from my own copy:
/// what a relay carries, so no two recipients' copies share a byte. The
/// inner layer, and so the sender's proof, is unchanged.
/// One copy per key in `to`, in order.
pub fn rewrap(
    my_keys: &[&EncryptionSecret],
    bytes: &[u8],
    to: &[SealTo<'_>],
) -> Result<Vec<Vec<u8>>, EnvelopeError> {
    let inner = decrypt(&identities(my_keys)?, bytes)?;
    to.iter()
        .map(|target| encrypt(&inner, std::slice::from_ref(target)))
        .collect()
}

fn encrypt(inner: &[u8], to: &[SealTo<'_>]) -> Result<Vec<u8>, EnvelopeError> {
    let age_recipients: Vec<Box<dyn age::Recipient>> =
        match to.iter().map(|t| t.pq).collect::<Option<Vec<&PqKey>>>() {
            Some(pq) => pq
                .into_iter()
                .map(|k| Box::new(k.age_recipient()) as Box<dyn age::Recipient>)
                .collect(),
            None => to
                .iter()
                .map(|t| {
                    t.key
                        .age_recipient()
                        .map(|r| Box::new(r) as Box<dyn age::Recipient>)
                })
                .collect::<crate::Result<_>>()
                .map_err(|_| EnvelopeError::Malformed)?,
        };
    let encryptor = age::Encryptor::with_recipients(age_recipients.iter().map(|r| r.as_ref()))
        .map_err(|_| EnvelopeError::Malformed)?;
    // age adds a 16-byte tag per 64 KiB chunk, a nonce, and per stanza ~100
    // bytes (X25519) or ~1,560 (post-quantum).
    let mut sealed = Vec::with_capacity(inner.len() + inner.len() / 4096 + 1600 * to.len() + 512);
    let mut writer = encryptor
        .wrap_output(&mut sealed)
        .map_err(|_| EnvelopeError::Malformed)?;
    writer
        .write_all(inner)
        .and_then(|()| writer.finish().map(|_| ()))
        .map_err(|_| EnvelopeError::Malformed)?;
    Ok(sealed)
}

/// The inner layer, for any of my keys; sizes and stanzas checked first.
fn identities(my_keys: &[&EncryptionSecret]) -> Result<Vec<Box<dyn age::Identity>>, EnvelopeError> {
    let mut all = Vec::with_capacity(my_keys.len() * 2);
    for key in my_keys {
        all.extend(key.age_identities().map_err(|_| EnvelopeError::Malformed)?);
    }
    Ok(all)
}

fn decrypt(
    identities: &[Box<dyn age::Identity>],
    bytes: &[u8],
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    check_size(bytes.len(), MAX_ENVELOPE_BYTES)?;
    check_stanza_count(bytes)?;
    let decryptor = age::Decryptor::new_buffered(bytes).map_err(age_error)?;
    let mut reader = decryptor
        .decrypt(identities.iter().map(|i| i.as_ref()))
        .map_err(age_error)?;
    let mut inner = Zeroizing::new(Vec::new());
    (&mut reader)
        .take(MAX_INNER_BYTES as u64 * 2)
        .read_to_end(&mut inner)
        .map_err(|_| EnvelopeError::Tampered)?;
    Ok(inner)
}

/// The armored text form of a binary envelope.
pub fn armor(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() * 4 / 3 + 128);
    let written = age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor)
        .and_then(|mut w| w.write_all(bytes).and_then(|()| w.finish().map(|_| ())));
    match written {
        // Base64 and fixed header lines: always ASCII.
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Armored text or binary in, binary out. Sizes are checked first.
pub fn dearmor(input: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    let start = input
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    if !input[start..].starts_with(b"-----BEGIN") {
        check_size(input.len(), MAX_ENVELOPE_BYTES)?;
        return Ok(input.to_vec());
    }
    check_size(input.len(), MAX_ARMORED_BYTES)?;
    let mut bytes = Vec::new();
    age::armor::ArmoredReader::new(&input[start..])
        .take(MAX_ENVELOPE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|_| EnvelopeError::Malformed)?;
    check_size(bytes.len(), MAX_ENVELOPE_BYTES)?;
    Ok(bytes)
}

/// Decrypts with any of my keys and authenticates the sender.
#[cfg(any(test, feature = "testing"))]
pub fn open(my_keys: &[&EncryptionSecret], bytes: &[u8]) -> Result<Unsealed, EnvelopeError> {
    Opener::new(my_keys)?.open(bytes)
}

/// Opens many envelopes with the same keys, doing once what does not
/// change between them: my public keys and age identities, each sender's
/// card check (by its exact bytes), each pair key. For a fetched batch.
pub(crate) struct Opener<'k> {
    mine: Vec<(&'k EncryptionSecret, EncryptionKey)>,
    identities: Vec<Box<dyn age::Identity>>,
    cards: std::collections::HashMap<[u8; 32], Card>,
    pairs: std::collections::HashMap<(usize, EncryptionKey), PairKey>,
}

impl<'k> Opener<'k> {
    pub fn new(my_keys: &[&'k EncryptionSecret]) -> Result<Opener<'k>, EnvelopeError> {
        Ok(Opener {
            mine: my_keys.iter().map(|k| (*k, k.public())).collect(),
            identities: identities(my_keys)?,
            cards: Default::default(),
            pairs: Default::default(),
        })
    }

    pub fn open(&mut self, bytes: &[u8]) -> Result<Unsealed, EnvelopeError> {
        let inner = decrypt(&self.identities, bytes)?;
        let parsed = parse_inner(&inner, &mut self.cards)?;
        // Which of my keys it names; a copy re-sealed to someone else names none.
        let (mine, index) = self
            .mine
            .iter()
            .enumerate()
            .find_map(|(k, (_, public))| {
                parsed
                    .recipients
                    .iter()
                    .position(|r| r == public)
                    .map(|i| (k, i))
            })
            .ok_or(EnvelopeError::NotForMe)?;
        let theirs = parsed.card.encryption_key();
        let pair_key = match self.pairs.get(&(mine, theirs)) {
            Some(key) => key.clone(),
            None => {
                let key = self.mine[mine]
                    .0
                    .pair_key(&theirs)
                    .map_err(|_| EnvelopeError::Tampered)?;
                self.pairs.insert((mine, theirs), key.clone());
                key
            }
        };
        let given = &parsed.macs[index * MAC_BYTES..(index + 1) * MAC_BYTES];
        // verify_slice compares in constant time.
        let mut check = <HmacSha256 as Mac>::new_from_slice(&pair_key.0).expect("any key length");
        check.update(&parsed.transcript);
        check
            .verify_slice(given)
            .map_err(|_| EnvelopeError::Tampered)?;
        Ok(Unsealed {
            card: parsed.card,
            links: parsed.links,
            pq_key: parsed.pq_key,
            id: parsed.id,
            created_ms: parsed.created_ms,
            expires_ms: parsed.expires_ms,
            kind: parsed.kind,
            body: parsed.body.to_vec(),
        })
    }
}

struct Parsed<'a> {
    card: Card,
    links: Vec<[u8; 32]>,
    pq_key: Option<PqKey>,
    id: [u8; 16],
    created_ms: i64,
    expires_ms: Option<i64>,
    kind: String,
    recipients: Vec<EncryptionKey>,
    body: &'a [u8],
    transcript: [u8; 32],
    macs: &'a [u8],
}

/// `cards` holds cards already checked, by the SHA-256 of their bytes.
fn parse_inner<'a>(
    inner: &'a [u8],
    cards: &mut std::collections::HashMap<[u8; 32], Card>,
) -> Result<Parsed<'a>, EnvelopeError> {
    use EnvelopeError::Malformed;
    let mut r = Reader::new(inner, Malformed);
    let version = r.u8()?;
    if version > VERSION {
        return Err(EnvelopeError::UnsupportedVersion(version));
    }
    if version < UNCHAINED_VERSION {
        return Err(Malformed);
    }
    let card_len = r.u16()? as usize;
    let card_bytes = r.take(card_len)?;
    let digest: [u8; 32] = Sha256::digest(card_bytes).into();
    let card = match cards.get(&digest) {
        Some(card) => card.clone(),
        None => {
            let card = Card::from_bytes(card_bytes).map_err(|e| match e {
                CardError::BadProof => EnvelopeError::Tampered,
                _ => Malformed,
            })?;
            cards.insert(digest, card.clone());
            card
        }
    };
    // A card says which version carries it: unchained in 1, chained in 2,
    // chained with a post-quantum digest in 3.
    if version != inner_version(&card) {
        return Err(Malformed);
    }
    let links = match card.chain() {
        Some(link) => {
            let count = r.u8()? as usize;
            if count > MAX_LINKS || count >= link.seq as usize {
                return Err(Malformed);
            }
            r.take(count * 32)?
                .chunks_exact(32)
                .map(|c| c.try_into().expect("32-byte chunks"))
                .collect()
        }
        None => Vec::new(),
    };
    let pq_key = match card.pq_digest() {
        Some(digest) => {
            let len = r.u16()? as usize;
            let key = PqKey::from_slice(r.take(len)?).ok_or(Malformed)?;
            if key.digest() != digest {
                return Err(Malformed);
            }
            Some(key)
        }
        None => None,
    };
    let id: [u8; 16] = r.take(16)?.try_into().map_err(|_| Malformed)?;
    let created_ms = r.i64()?;
    let expires_ms = Some(r.i64()?).filter(|&t| t != 0);
    let kind_len = r.u8()? as usize;
    let kind = std::str::from_utf8(r.take(kind_len)?).map_err(|_| Malformed)?;
    if !check_kind(kind) || expires_ms.is_some_and(|e| e < created_ms) {
        return Err(Malformed);
    }
    let count = r.u16()? as usize;
    if count == 0 || count > MAX_RECIPIENTS {
        return Err(Malformed);
    }
    let recipients: Vec<EncryptionKey> = r
        .take(count * 32)?
        .chunks_exact(32)
        .map(|c| EncryptionKey(c.try_into().expect("32-byte chunks")))
        .collect();
    if recipients.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Malformed);
    }
    let body_len = r.u32()? as usize;
    if body_len > MAX_BODY_BYTES {
        return Err(Malformed);
    }
    let body = r.take(body_len)?;
    let authenticated = inner.len() - r.rest().len();
    let transcript: [u8; 32] = Sha256::digest(&inner[..authenticated]).into();
    let macs = r.take(count * MAC_BYTES)?;
    let used = inner.len() - r.rest().len();
    if inner.len() < padded_len(used)
        || padded_len(inner.len()) != inner.len()
        || r.rest().iter().any(|&b| b != 0)
    {
        return Err(Malformed);
    }
    Ok(Parsed {
        card,
        links,
        pq_key,
        id,
        created_ms,
        expires_ms,
        kind: kind.to_owned(),
        recipients,
        body,
        transcript,
        macs,
    })
}

fn mac(key: &PairKey, transcript: &[u8]) -> [u8; MAC_BYTES] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(&key.0).expect("any key length");
    mac.update(transcript);
    mac.finalize().into_bytes().into()
}

/// Padmé (Nikitin et al., PURBs): a length leaks O(log log n) bits and
/// padding costs at most 12 %. Nothing is smaller than 1 KiB.
pub fn padded_len(len: usize) -> usize {
    let len = len.max(MIN_PADDED);
    let e = usize::BITS - 1 - len.leading_zeros();
    let s = u32::BITS - e.leading_zeros();
    let mask = (1usize << (e - s)) - 1;
    (len + mask) & !mask
}

fn check_size(size: usize, max: usize) -> Result<(), EnvelopeError> {
    if size > max {
        return Err(EnvelopeError::TooLarge {
            size: size as u64,
            max: max as u64,
        });
    }
    Ok(())
}

/// Each age stanza costs a Diffie-Hellman to try; count them before trying.
fn check_stanza_count(bytes: &[u8]) -> Result<(), EnvelopeError> {
    let header_end = bytes
        .windows(5)
        .position(|w| w == b"\n--- ")
        .ok_or(EnvelopeError::Malformed)?;
    let stanzas = bytes[..header_end]
        .windows(4)
        .filter(|w| *w == b"\n-> ")
        .count();
    // age adds a random "grease" stanza of its own to every file.
    if stanzas > MAX_RECIPIENTS + 1 {
        return Err(EnvelopeError::Malformed);
    }
    Ok(())
}

fn age_error(e: age::DecryptError) -> EnvelopeError {
    match e {
        age::DecryptError::NoMatchingKeys => EnvelopeError::NotForMe,
        age::DecryptError::DecryptionFailed
        | age::DecryptError::InvalidMac
        | age::DecryptError::KeyDecryptionFailed => EnvelopeError::Tampered,
        _ => EnvelopeError::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use ed25519_dalek::SigningKey;
    use serde_json::{Value, json};

    use super::*;
    use crate::identity::CardKeys;

    struct Member {
        signing: SigningKey,
        secret: EncryptionSecret,
        card: Card,
    }

    fn member(seed: u8, name: &str) -> Member {
        let signing = SigningKey::from_bytes(&[seed; 32]);
        let secret = EncryptionSecret::from_bytes(&[seed.wrapping_add(100); 32]).unwrap();
        let issued = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let card = Card::issue(&signing, secret.public().into(), name, None, issued, None).unwrap();
        Member {
            signing,
            secret,
            card,
        }
    }

    fn message(body: &[u8]) -> Message<'_> {
        Message {
            id: [0x42; 16],
            created_ms: 1_790_000_000_000,
            expires_ms: None,
            kind: "journal.entry",
            body,
            links: &[],
            pad_to: 0,
        }
    }

    /// `from` seals `body` to `to` (and itself); returns the envelope and its plaintext.
    fn seal_between(from: &Member, to: &[&Member], body: &[u8]) -> (Vec<u8>, Vec<u8>) {
        seal_with_links(from, to, body, &[])
    }

    /// [`seal_between`], carrying the digests of `from`'s earlier cards.
    fn seal_with_links(
        from: &Member,
        to: &[&Member],
        body: &[u8],
        links: &[[u8; 32]],
    ) -> (Vec<u8>, Vec<u8>) {
        let pairs: Vec<(EncryptionKey, PairKey, Option<PqKey>)> = to
            .iter()
            .copied()
            .chain([from])
            .map(|m| {
                let k = m.secret.public();
                let pq = m.secret.pq().map(|s| s.public());
                (k, from.secret.pair_key(&k).unwrap(), pq)
            })
            .collect();
        let recipients: Vec<Recipient> = pairs
            .iter()
            .map(|(key, pair_key, pq)| Recipient {
                key: *key,
                pair_key,
                pq: pq.as_ref(),
            })
            .collect();
        let msg = Message {
            links,
            ..message(body)
        };
        let pq = from.secret.pq().map(|s| s.public());
        let sender = (&from.card, pq.as_ref());
        let inner = encode_inner(sender, &recipients, &msg).unwrap().to_vec();
        (seal(sender, &recipients, &msg).unwrap(), inner)
    }

    /// Encrypts any plaintext with plain age, as a dishonest recipient could.
    fn age_to(plaintext: &[u8], to: &[&Member]) -> Vec<u8> {
        let recipients: Vec<_> = to
            .iter()
            .map(|m| m.secret.public().age_recipient().unwrap())
            .collect();
        let encryptor =
            age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
                .unwrap();
        let mut out = vec![];
        let mut w = encryptor.wrap_output(&mut out).unwrap();
        w.write_all(plaintext).unwrap();
        w.finish().unwrap();
        out
    }

    #[test]
    fn a_copy_forwarded_to_a_non_recipient_does_not_open() {
        let (alice, bob, carol) = (member(1, "Alice"), member(2, "Bob"), member(3, "Carol"));
        let (sealed, inner) = seal_between(&alice, &[&bob], b"for bob only");
        assert_eq!(open(&[&bob.secret], &sealed).unwrap().body, b"for bob only");
        assert_eq!(
            open(&[&carol.secret], &sealed).err(),
            Some(EnvelopeError::NotForMe)
        );
        // Bob re-encrypts the plaintext to Carol.
        let forwarded = age_to(&inner, &[&carol]);
        assert_eq!(
            open(&[&carol.secret], &forwarded).err(),
            Some(EnvelopeError::NotForMe)
        );
        // Bob also swaps Carol's key in for his own: her MAC cannot match.
        let mut swapped = inner.clone();
        let at = swapped
            .windows(32)
            .position(|w| w == bob.secret.public().as_bytes())
            .unwrap();
        swapped[at..at + 32].copy_from_slice(carol.secret.public().as_bytes());
        let forged = age_to(&swapped, &[&carol]);
        let result = open(&[&carol.secret], &forged).err();
        assert!(
            matches!(
                result,
                Some(EnvelopeError::Tampered | EnvelopeError::Malformed)
            ),
            "{result:?}"
        );
    }

    #[test]
    fn a_changed_body_fails_the_mac() {
        let (alice, bob) = (member(1, "Alice"), member(2, "Bob"));
        let (_, inner) = seal_between(&alice, &[&bob], b"see you at six");
        let mut changed = inner.clone();
        let at = changed.windows(3).position(|w| w == b"six").unwrap();
        changed[at..at + 3].copy_from_slice(b"ten");
        let resealed = age_to(&changed, &[&bob]);
        assert_eq!(
            open(&[&bob.secret], &resealed).err(),
            Some(EnvelopeError::Tampered)
        );
    }

    #[test]
    fn a_recipient_can_forge_what_they_received_so_it_proves_nothing_to_others() {
        // Deniability: Bob holds the Alice-Bob pair key, so he could have
        // written any envelope "from Alice" to himself.
        let (alice, bob) = (member(1, "Alice"), member(2, "Bob"));
        let pair = bob.secret.pair_key(&alice.secret.public()).unwrap();
        let fake = seal(
            (&alice.card, None),
            &[Recipient {
                key: bob.secret.public(),
                pair_key: &pair,
                pq: None,
            }],
            &message(b"words Alice never wrote"),
        )
        .unwrap();
        let opened = open(&[&bob.secret], &fake).unwrap();
        assert_eq!(opened.card.identity_key(), alice.card.identity_key());
        let _ = alice.signing;
    }

    #[test]
    fn a_newer_inner_version_is_reported_as_such() {
        let (alice, bob) = (member(1, "Alice"), member(2, "Bob"));
        let (_, mut inner) = seal_between(&alice, &[&bob], b"x");
        inner[0] = 4;
        let resealed = age_to(&inner, &[&bob]);
        assert_eq!(
            open(&[&bob.secret], &resealed).err(),
            Some(EnvelopeError::UnsupportedVersion(4))
        );
    }

    #[test]
    fn padding_fills_buckets_and_must_be_zero() {
        assert_eq!(padded_len(1), 1024);
        assert_eq!(padded_len(1024), 1024);
        assert_eq!(padded_len(1025), 1088);
        for len in [2_000, 50_000, 1_000_000] {
            let padded = padded_len(len);
            assert!(
                padded >= len && padded - len <= len / 8,
                "{len} -> {padded}"
            );
        }
        let (alice, bob) = (member(1, "Alice"), member(2, "Bob"));
        let (_, mut inner) = seal_between(&alice, &[&bob], b"x");
        *inner.last_mut().unwrap() = 1;
        let resealed = age_to(&inner, &[&bob]);
        assert_eq!(
            open(&[&bob.secret], &resealed).err(),
            Some(EnvelopeError::Malformed)
        );
    }

    #[test]
    fn too_many_stanzas_are_refused_before_any_key_is_tried() {
        let mut fake = b"age-encryption.org/v1\n".to_vec();
        for _ in 0..=MAX_RECIPIENTS {
            fake.extend_from_slice(b"-> X25519 AAAA\nAAAA\n");
        }
        fake.extend_from_slice(b"--- AAAA\n");
        let bob = member(2, "Bob");
        assert_eq!(
            open(&[&bob.secret], &fake).err(),
            Some(EnvelopeError::Malformed)
        );
    }

    /// `TEND_WRITE_CORPUS=1 cargo test -p tend-core --lib fuzz_seeds` refreshes
    /// the seeds in `fuzz/corpus`; tests replay them (`core/tests/fuzz_corpus.rs`).
    #[test]
    fn fuzz_seeds() {
        let Some(_) = std::env::var_os("TEND_WRITE_CORPUS") else {
            return;
        };
        let (alice, bob, carol) = (member(1, "Alice"), member(2, "Bob"), member(3, "Carol"));
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus");
        let write = |target: &str, name: &str, bytes: &[u8]| {
            let dir = format!("{root}/{target}");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(format!("{dir}/{name}"), bytes).unwrap();
        };
        let entry = br#"{"v":1,"note":"hi","entry":{"written_at":"2026-11-07T18:30:00+01:00","mood":{"value":4,"steps":5,"label":"good"},"feelings":["calm"],"activities":["walk"],"title":"Sat","body":"We painted."}}"#;
        let (one, _) = seal_between(&alice, &[&bob], entry);
        write("open_envelope", "entry-to-bob", &one);
        write(
            "open_envelope",
            "entry-to-bob-armored",
            armor(&one).as_bytes(),
        );
        let (three, _) = seal_between(&alice, &[&bob, &carol], b"to two comrades");
        write("open_envelope", "to-bob-and-carol", &three);
        let (big, _) = seal_between(&alice, &[&bob], &[b'x'; 5000]);
        write("open_envelope", "five-thousand-bytes", &big);
        let (not_me, _) = seal_between(&alice, &[&carol], b"not for bob");
        write("open_envelope", "not-for-bob", &not_me);
        let (_, inner) = seal_between(&alice, &[&bob], b"plain");
        write(
            "open_envelope",
            "inner-in-plain-age",
            &age_to(&inner, &[&bob]),
        );
        for m in [&alice, &bob] {
            write("parse_card", m.card.name(), m.card.to_text().as_bytes());
            write(
                "parse_card",
                &format!("{}-binary", m.card.name()),
                m.card.as_bytes(),
            );
        }
        write(
            "parse_card",
            "lowercase",
            alice.card.to_text().to_lowercase().as_bytes(),
        );
    }

    const VECTORS: &str = include_str!("../../../docs/vectors/envelope-v1.json");

    /// The message every version's vectors carry, as [`message`] makes it.
    fn vector_message(body: &[u8]) -> Value {
        json!({
            "id": hex::encode([0x42; 16]),
            "created_ms": 1_790_000_000_000i64,
            "expires_ms": 0,
            "kind": "journal.entry",
            "body_utf8": std::str::from_utf8(body).unwrap(),
        })
    }

    /// With `TEND_WRITE_VECTORS` set, writes `now` to `docs/vectors/<file>`
    /// and gives nothing; otherwise checks `fields` of the checked-in
    /// `stored` against `now`, and gives it with its sample opened by Bob.
    fn vectors_hold(
        file: &str,
        stored: &str,
        now: &Value,
        fields: &[&str],
    ) -> Option<(Value, Unsealed)> {
        vectors_hold_for(&member(2, "Bob"), file, stored, now, fields)
    }

    /// [`vectors_hold`], the sample opened by `bob`.
    fn vectors_hold_for(
        bob: &Member,
        file: &str,
        stored: &str,
        now: &Value,
        fields: &[&str],
    ) -> Option<(Value, Unsealed)> {
        let stored = crate::bytes::checked_in_vectors(file, stored, now)?;
        for field in fields {
            assert_eq!(stored[field], now[field], "{field}");
        }
        let sealed = dearmor(stored["sealed_armored"].as_str().unwrap().as_bytes()).unwrap();
        let opened = open(&[&bob.secret], &sealed).unwrap();
        Some((stored, opened))
    }

    fn vectors_now() -> Value {
        let (alice, bob) = (member(1, "Alice"), member(2, "Bob"));
        let body = br#"{"v":1,"entry":{"written_at":"2026-11-07T18:30:00+01:00","body":"We painted side by side."}}"#;
        let (sealed, inner) = seal_between(&alice, &[&bob], body);
        let safety = crate::comrades::SafetyNumber::between(
            &alice.card.identity_key(),
            &bob.card.identity_key(),
        );
        let keys = |m: &Member| {
            json!({
                "ed25519_secret": hex::encode(m.signing.to_bytes()),
                "x25519_secret": hex::encode(*m.secret.to_bytes()),
                "x25519_public": hex::encode(m.secret.public().as_bytes()),
                "card": m.card.to_text(),
            })
        };
        json!({
            "about": "Envelope v1 test vectors; see docs/envelope.md. Inner bytes are exact; the age layer is randomised, so `sealed` is one sample that must open to `inner`.",
            "sender": keys(&alice),
            "recipient": keys(&bob),
            "pair_key": hex::encode(alice.secret.pair_key(&bob.secret.public()).unwrap().0),
            "message": vector_message(body),
            "inner_hex": hex::encode(&inner),
            "sealed_armored": armor(&sealed),
            "safety_number": safety.digits(),
        })
    }

    #[test]
    fn the_checked_in_vectors_hold_byte_for_byte() {
        let fields = [
            "sender",
            "recipient",
            "pair_key",
            "message",
            "inner_hex",
            "safety_number",
        ];
        let Some((stored, opened)) =
            vectors_hold("envelope-v1.json", VECTORS, &vectors_now(), &fields)
        else {
            return;
        };
        assert_eq!(
            opened.body,
            stored["message"]["body_utf8"].as_str().unwrap().as_bytes()
        );
        assert_eq!(opened.card.name(), "Alice");
        let inner = hex::decode(stored["inner_hex"].as_str().unwrap()).unwrap();
        let parsed = parse_inner(&inner, &mut Default::default()).unwrap();
        assert_eq!(parsed.body, opened.body.as_slice());
    }

    const VECTORS_V2: &str = include_str!("../../../docs/vectors/envelope-v2.json");

    /// Alice of the version 1 vectors with a chain of three cards, a day
    /// apart; she seals with the third.
    fn chained_alice() -> (Member, Vec<Card>) {
        let alice = member(1, "Alice");
        let mut chain: Vec<Card> = Vec::new();
        for seq in 1..=3u32 {
            let prev = chain.last().map_or([0; 32], |c| c.chain_hash().unwrap());
            let issued =
                DateTime::from_timestamp(1_790_000_000 + i64::from(seq) * 86_400, 0).unwrap();
            let link = crate::identity::ChainLink { seq, prev };
            let key = alice.secret.public();
            chain.push(
                Card::issue(
                    &alice.signing,
                    key.into(),
                    "Alice",
                    None,
                    issued,
                    Some(link),
                )
                .unwrap(),
            );
        }
        let card = chain[2].clone();
        (Member { card, ..alice }, chain)
    }

    fn vectors_v2_now() -> Value {
        let (alice, chain) = chained_alice();
        let bob = member(2, "Bob");
        let links: Vec<[u8; 32]> = chain[..2].iter().map(Card::digest).collect();
        let body = br#"{"v":1,"entry":{"written_at":"2026-11-07T18:30:00+01:00","body":"We painted side by side."}}"#;
        let (sealed, inner) = seal_with_links(&alice, &[&bob], body, &links);
        let cards: Vec<Value> = chain
            .iter()
            .map(|c| {
                json!({
                    "seq": c.chain().unwrap().seq,
                    "card": c.to_text(),
                    "digest": hex::encode(c.digest()),
                    "chain_hash": hex::encode(c.chain_hash().unwrap()),
                })
            })
            .collect();
        json!({
            "about": "Envelope v2 test vectors; see docs/envelope.md and docs/comrade-card.md. The sender's chain of three version 2 cards (same keys as the v1 vectors, issued a day apart); the envelope carries the third and the digests of the first two. Inner bytes are exact; `sealed` is one sample that must open to `inner`.",
            "sender_chain": cards,
            "recipient_x25519_secret": hex::encode(*bob.secret.to_bytes()),
            "message": vector_message(body),
            "inner_hex": hex::encode(&inner),
            "sealed_armored": armor(&sealed),
        })
    }

    #[test]
    fn the_checked_in_version_2_vectors_hold_byte_for_byte() {
        let fields = [
            "sender_chain",
            "recipient_x25519_secret",
            "message",
            "inner_hex",
        ];
        let Some((_, opened)) =
            vectors_hold("envelope-v2.json", VECTORS_V2, &vectors_v2_now(), &fields)
        else {
            return;
        };
        assert_eq!(opened.card.chain().unwrap().seq, 3);
        let (_, chain) = chained_alice();
        let digests: Vec<[u8; 32]> = chain[..2].iter().map(Card::digest).collect();
        assert_eq!(opened.links, digests);
        // The digests lead from the first card's hash to the third card's `prev`.
        let second = crate::identity::chain_hash(2, &chain[0].chain_hash().unwrap(), &digests[1]);
        assert_eq!(opened.card.chain().unwrap().prev, second);
    }

    #[test]
    fn a_decoy_padded_to_a_larger_bucket_opens_and_any_other_length_is_refused() {
        let (alice, bob) = (member(1, "Alice"), member(2, "Bob"));
        let (_, inner) = seal_between(&alice, &[&bob], b"x");
        let bigger = padded_len(inner.len() + 1);
        let mut padded = inner.clone();
        padded.resize(bigger, 0);
        assert!(open(&[&bob.secret], &age_to(&padded, &[&bob])).is_ok());
        padded.push(0);
        assert_eq!(
            open(&[&bob.secret], &age_to(&padded, &[&bob])).err(),
            Some(EnvelopeError::Malformed),
            "not a bucket"
        );
    }

    /// A member of the version 1 vectors with the post-quantum half of
    /// their epoch key (seeded from theirs) and a first chained card that
    /// names it: what vaults issue now.
    fn hybrid_member(seed: u8, name: &str) -> Member {
        let plain = member(seed, name);
        let secret = plain
            .secret
            .with_pq(Some(&[seed.wrapping_add(200); 32]))
            .unwrap();
        let pq = secret.pq().map(|s| s.public());
        let issued = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let first = crate::identity::ChainLink {
            seq: 1,
            prev: [0; 32],
        };
        let card = Card::issue(
            &plain.signing,
            CardKeys {
                encryption: secret.public(),
                pq: pq.as_ref(),
                recovery: None,
            },
            name,
            None,
            issued,
            Some(first),
        )
        .unwrap();
        Member {
            signing: plain.signing,
            secret,
            card,
        }
    }

    const VECTORS_V3: &str = include_str!("../../../docs/vectors/envelope-v3.json");

    fn vectors_v3_now() -> Value {
        let (alice, bob) = (hybrid_member(1, "Alice"), hybrid_member(2, "Bob"));
        let body = br#"{"v":1,"entry":{"written_at":"2026-11-07T18:30:00+01:00","body":"We painted side by side."}}"#;
        let (sealed, inner) = seal_between(&alice, &[&bob], body);
        let keys = |m: &Member| {
            let pq = m.secret.pq().unwrap();
            json!({
                "x25519_secret": hex::encode(*m.secret.to_bytes()),
                "pq_seed": hex::encode(pq.as_bytes()),
                "pq_public": hex::encode(pq.public().as_bytes()),
                "pq_digest": hex::encode(pq.public().digest()),
                "card": m.card.to_text(),
            })
        };
        json!({
            "about": "Envelope v3 test vectors; see docs/envelope.md. The members of the v1 vectors with the post-quantum halves of their epoch keys (X-Wing seeds) and first chained cards naming them; the envelope carries Alice's X-Wing public key after her card's links, and its age layer is one mlkem768x25519 stanza per recipient. Inner bytes are exact; `sealed` is one sample that must open to `inner`.",
            "sender": keys(&alice),
            "recipient": keys(&bob),
            "message": vector_message(body),
            "inner_hex": hex::encode(&inner),
            "sealed_armored": armor(&sealed),
        })
    }

    #[test]
    fn the_checked_in_version_3_vectors_hold_byte_for_byte() {
        let bob = hybrid_member(2, "Bob");
        let fields = ["sender", "recipient", "message", "inner_hex"];
        let Some((stored, opened)) = vectors_hold_for(
            &bob,
            "envelope-v3.json",
            VECTORS_V3,
            &vectors_v3_now(),
            &fields,
        ) else {
            return;
        };
        let alice = hybrid_member(1, "Alice");
        assert_eq!(opened.pq_key, alice.secret.pq().map(|s| s.public()));
        // The sample's age layer is post-quantum only: X25519 alone opens nothing.
        let sealed = dearmor(stored["sealed_armored"].as_str().unwrap().as_bytes()).unwrap();
        assert_eq!(
            open(&[&bob.secret.classic()], &sealed).err(),
            Some(EnvelopeError::NotForMe)
        );
    }

    #[test]
    fn a_post_quantum_key_that_is_not_the_one_the_card_names_is_refused() {
        let (alice, bob) = (hybrid_member(1, "Alice"), hybrid_member(2, "Bob"));
        let (_, inner) = seal_between(&alice, &[&bob], b"x");
        let key = alice.secret.pq().unwrap().public();
        let at = inner
            .windows(PQ_KEY_BYTES)
            .position(|w| w == key.as_bytes())
            .unwrap();
        let mut swapped = inner.clone();
        swapped[at..at + PQ_KEY_BYTES]
            .copy_from_slice(bob.secret.pq().unwrap().public().as_bytes());
        assert_eq!(
            open(&[&bob.secret], &age_to(&swapped, &[&bob])).err(),
            Some(EnvelopeError::Malformed)
        );
        // A card naming a key, in the version before keys travelled: refused.
        let mut older = inner.clone();
        older[0] = CLASSIC_VERSION;
        assert_eq!(
            open(&[&bob.secret], &age_to(&older, &[&bob])).err(),
            Some(EnvelopeError::Malformed)
        );
        // Sealing with a key the card does not name is refused too.
        let other = bob.secret.pq().unwrap().public();
        let pair = alice.secret.pair_key(&bob.secret.public()).unwrap();
        let to = [Recipient {
            key: bob.secret.public(),
            pair_key: &pair,
            pq: None,
        }];
        assert!(matches!(
            seal((&alice.card, Some(&other)), &to, &message(b"x")),
            Err(EnvelopeError::Malformed)
        ));
    }

    #[test]
    fn the_age_layer_is_post_quantum_only_when_every_recipient_has_a_key() {
        let (alice, bob) = (hybrid_member(1, "Alice"), hybrid_member(2, "Bob"));
        let carol = member(3, "Carol");
        let stanzas = |sealed: &[u8]| -> Vec<String> {
            let text = String::from_utf8_lossy(sealed);
            text.lines()
                .filter_map(|l| l.strip_prefix("-> "))
                .map(|l| l.split(' ').next().unwrap().to_owned())
                .filter(|t| t == "X25519" || t == "mlkem768x25519")
                .collect()
        };
        let (both, _) = seal_between(&alice, &[&bob], b"x");
        assert_eq!(stanzas(&both), ["mlkem768x25519"; 2]);
        let (mixed, _) = seal_between(&alice, &[&bob, &carol], b"x");
        assert_eq!(stanzas(&mixed), ["X25519"; 3], "never both in one file");
        assert!(open(&[&carol.secret], &mixed).is_ok());
        assert!(open(&[&bob.secret], &mixed).is_ok());
    }

    #[test]
    fn a_mebibyte_to_the_most_recipients_fits_the_limits_post_quantum_too() {
        let alice = hybrid_member(1, "Alice");
        let others: Vec<Member> = (0..=u8::MAX)
            .filter(|&i| i != 1)
            .map(|i| hybrid_member(i, "Bob"))
            .collect();
        assert_eq!(others.len() + 1, MAX_RECIPIENTS);
        let to: Vec<&Member> = others.iter().collect();
        let body = vec![0x5a; MAX_BODY_BYTES];
        let (sealed, _) = seal_between(&alice, &to, &body);
        assert!(sealed.len() <= MAX_ENVELOPE_BYTES, "{}", sealed.len());
        let armored = armor(&sealed);
        assert!(armored.len() <= MAX_ARMORED_BYTES, "{}", armored.len());
        let last = others.last().unwrap();
        let bytes = dearmor(armored.as_bytes()).unwrap();
        assert_eq!(open(&[&last.secret], &bytes).unwrap().body, body);
    }
}
