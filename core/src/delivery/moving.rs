//! Moving phone to phone. The new phone makes a one-time age key and a
//! move code (a QR: the key's public half, a secret and relays); the old
//! phone scans it, writes a whole-vault backup sealed to that key, and
//! sends it in pieces through the relays to a mailbox the secret alone
//! names, each piece under a MAC the secret keys. Both show a short code
//! from the move code, so a swapped code is seen before anything leaves.
//! The old phone then retires. Spec: `docs/delivery.md`, "Moving to a new
//! phone".

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::outbound::ParcelId;
use super::{Delivery, Parcel, Transport};
use crate::identity::{EncryptionKey, Mailbox, MailboxKey, RelayUrl};
use crate::sealed::{OpenWith, SealWith};
use crate::vault::{BackupError, MAX_VAULT_BACKUP_BYTES};
use crate::{Error, Result};

const CODE_PREFIX: &str = "TENDM:";
const CODE_VERSION: u8 = 1;
/// Relays a move code names at most.
pub const MAX_MOVE_RELAYS: usize = 4;
const MAX_CODE_BYTES: usize = 1 + 32 + 32 + 1 + MAX_MOVE_RELAYS * 256;
const _: () = assert!(crate::identity::MAX_RELAY_URL_BYTES <= u8::MAX as usize);
const PIECE_MAGIC: &[u8; 8] = b"TENDMV1\0";
/// Backup bytes per piece: each travels as one envelope of Nostr chunks.
pub const MOVE_PIECE_BYTES: usize = 256 * 1024;
const HEAD_BYTES: usize = 8 + 4 + 4 + 8 + 32;
const MAC_BYTES: usize = 32;
/// How long relays are asked to keep the pieces.
const PIECES_KEPT: Duration = Duration::days(1);
/// Fetch rounds per relay in one [`MoveReceiver::fetch`].
const FETCH_ROUNDS: usize = 64;

/// What the new phone shows and the old one scans.
#[derive(Clone, PartialEq, Eq)]
pub struct MoveCode {
    recipient: [u8; 32],
    secret: Zeroizing<[u8; 32]>,
    relays: Vec<RelayUrl>,
}

impl fmt::Debug for MoveCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MoveCode")
            .field("relays", &self.relays)
            .finish_non_exhaustive()
    }
}

fn bad_code(problem: &'static str) -> Error {
    Error::invalid("move code", problem)
}

impl MoveCode {
    /// `TENDM:` and Base32, within QR's alphanumeric set, like a card.
    pub fn to_text(&self) -> String {
        let mut bytes = Zeroizing::new(vec![CODE_VERSION]);
        bytes.extend_from_slice(&self.recipient);
        bytes.extend_from_slice(self.secret.as_slice());
        bytes.push(self.relays.len() as u8);
        for relay in &self.relays {
            bytes.push(relay.as_str().len() as u8);
            bytes.extend_from_slice(relay.as_str().as_bytes());
        }
        crate::bytes::to_text(CODE_PREFIX, &bytes)
    }

    pub fn parse(text: &str) -> Result<MoveCode> {
        let bytes = Zeroizing::new(
            crate::bytes::from_text(CODE_PREFIX, text, MAX_CODE_BYTES)
                .ok_or(bad_code("not a Tend move code"))?,
        );
        let mut rest: &[u8] = &bytes;
        let mut take = |n: usize| -> Result<&[u8]> {
            if rest.len() < n {
                return Err(bad_code("cut short"));
            }
            let (head, tail) = rest.split_at(n);
            rest = tail;
            Ok(head)
        };
        if take(1)?[0] != CODE_VERSION {
            return Err(bad_code("from a newer Tend"));
        }
        let recipient: [u8; 32] = take(32)?.try_into().expect("32 bytes");
        let secret = Zeroizing::new(<[u8; 32]>::try_from(take(32)?).expect("32 bytes"));
        let count = take(1)?[0] as usize;
        if count == 0 || count > MAX_MOVE_RELAYS {
            return Err(bad_code("names no relay, or too many"));
        }
        let mut relays = Vec::with_capacity(count);
        for _ in 0..count {
            let len = take(1)?[0] as usize;
            let url =
                std::str::from_utf8(take(len)?).map_err(|_| bad_code("a relay is not text"))?;
            relays.push(RelayUrl::parse(url)?);
        }
        if !rest_is_empty(&bytes, &relays) {
            return Err(bad_code("has bytes past its end"));
        }
        Ok(MoveCode {
            recipient,
            secret,
            relays,
        })
    }

    pub fn relays(&self) -> &[RelayUrl] {
        &self.relays
    }

    /// Six digits both phones show: the member compares them before the
    /// old phone sends, so a code swapped on the way is seen.
    pub fn short_code(&self) -> String {
        let digest = Sha256::new()
            .chain_update(b"tend move short code")
            .chain_update(self.to_text().as_bytes())
            .finalize();
        let n = u32::from_be_bytes(digest[..4].try_into().expect("4 bytes")) % 1_000_000;
        format!("{:03} {:03}", n / 1000, n % 1000)
    }

    fn derived(&self, label: &[u8]) -> Zeroizing<[u8; 32]> {
        let hk = hkdf::Hkdf::<Sha256>::new(Some(b"tend move v1"), self.secret.as_slice());
        let mut out = Zeroizing::new([0u8; 32]);
        hk.expand(label, out.as_mut_slice())
            .expect("32 bytes is a valid length");
        out
    }

    fn mailbox(&self) -> Result<Mailbox> {
        Mailbox::one_time(&self.derived(b"mailbox"))
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(self.derived(b"mac").as_slice()).expect("any key length")
    }
}

/// Exactly the relays parsed, and nothing more, were in `bytes`.
fn rest_is_empty(bytes: &[u8], relays: &[RelayUrl]) -> bool {
    let used = 1 + 32 + 32 + 1 + relays.iter().map(|r| 1 + r.as_str().len()).sum::<usize>();
    bytes.len() == used
}

/// The new phone's side of a move.
pub struct MoveReceiver {
    identity: age::x25519::Identity,
    code: MoveCode,
    pieces: BTreeMap<u32, Vec<u8>>,
    /// Count, total and digest, as the first sound piece gave them.
    whole: Option<(u32, u64, [u8; 32])>,
    seen: std::collections::HashSet<String>,
}

impl fmt::Debug for MoveReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MoveReceiver")
            .field("code", &self.code)
            .field("pieces", &self.pieces.len())
            .finish_non_exhaustive()
    }
}

/// Where a move stands on the new phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoveProgress {
    pub pieces: u32,
    /// `None` until the first piece came.
    pub of: Option<u32>,
}

impl MoveReceiver {
    /// A one-time key, and a code naming 1 to [`MAX_MOVE_RELAYS`] relays.
    pub fn new(relays: Vec<RelayUrl>) -> Result<MoveReceiver> {
        if relays.is_empty() || relays.len() > MAX_MOVE_RELAYS {
            return Err(bad_code("names no relay, or too many"));
        }
        let identity = age::x25519::Identity::generate();
        let recipient = recipient_bytes(&identity.to_public())?;
        Ok(MoveReceiver {
            identity,
            code: MoveCode {
                recipient,
                secret: Zeroizing::new(rand::random()),
                relays,
            },
            pieces: BTreeMap::new(),
            whole: None,
            seen: Default::default(),
        })
    }

    pub fn code(&self) -> &MoveCode {
        &self.code
    }

    /// What opens the backup once it is whole, for `Vault::restore_*`.
    pub fn opener(&self) -> OpenWith {
        OpenWith::Identity(self.identity.clone())
    }

    pub fn progress(&self) -> MoveProgress {
        MoveProgress {
            pieces: self.pieces.len() as u32,
            of: self.whole.map(|(count, ..)| count),
        }
    }

    /// Fetches what the relays hold; the sealed backup once every piece
    /// came, else `None` (call again). Pieces without the code's MAC (a
    /// relay's, anyone's) are skipped; sound pieces that disagree, or a
    /// whole that does not match its digest, are `Backup(Damaged)`.
    pub fn fetch(&mut self, transport: &mut dyn Transport) -> Result<Option<Vec<u8>>> {
        let mailbox = self.code.mailbox()?;
        for relay in self.code.relays.clone() {
            for _ in 0..FETCH_ROUNDS {
                let seen = self.seen.clone();
                let Ok(fetched) = transport.fetch(&relay, &mailbox, None, &|id| seen.contains(id))
                else {
                    break; // another relay may have them
                };
                let mut progressed = false;
                for arrival in fetched.arrivals {
                    self.seen.extend(arrival.ids);
                    progressed |= self.take(&arrival.envelope)?;
                }
                if let Some(whole) = self.whole()? {
                    return Ok(Some(whole));
                }
                if fetched.complete || !progressed {
                    break;
                }
            }
        }
        Ok(None)
    }

    /// Keeps one piece if it is sound and new.
    fn take(&mut self, piece: &[u8]) -> Result<bool> {
        let Some(piece) = Piece::open(&self.code, piece) else {
            return Ok(false);
        };
        let shape = (piece.count, piece.total, piece.digest);
        let max_count = MAX_VAULT_BACKUP_BYTES.div_ceil(MOVE_PIECE_BYTES as u64);
        if piece.total > MAX_VAULT_BACKUP_BYTES || u64::from(piece.count) > max_count {
            return Err(BackupError::TooLarge.into());
        }
        if *self.whole.get_or_insert(shape) != shape
            || piece.count != piece.total.div_ceil(MOVE_PIECE_BYTES as u64) as u32
            || piece.index >= piece.count
        {
            return Err(BackupError::Damaged.into());
        }
        Ok(self.pieces.insert(piece.index, piece.data).is_none())
    }

    fn whole(&self) -> Result<Option<Vec<u8>>> {
        let Some((count, total, digest)) = self.whole else {
            return Ok(None);
        };
        if self.pieces.len() < count as usize {
            return Ok(None);
        }
        let whole: Vec<u8> = self.pieces.values().flatten().copied().collect();
        if whole.len() as u64 != total || Sha256::digest(&whole)[..] != digest {
            return Err(BackupError::Damaged.into());
        }
        Ok(Some(whole))
    }
}

fn recipient_bytes(recipient: &age::x25519::Recipient) -> Result<[u8; 32]> {
    let (_, data) = bech32::decode(&recipient.to_string()).map_err(|_| Error::DatabaseDamaged)?;
    data.try_into().map_err(|_| Error::DatabaseDamaged)
}

fn recipient_of(code: &MoveCode) -> Result<age::x25519::Recipient> {
    let key = EncryptionKey(code.recipient);
    if !key.is_usable() {
        return Err(bad_code("its key is unusable"));
    }
    key.age_recipient()
}

/// One piece of a move, as sent.
struct Piece {
    index: u32,
    count: u32,
    total: u64,
    digest: [u8; 32],
    data: Vec<u8>,
}

impl Piece {
    fn seal(&self, code: &MoveCode) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(HEAD_BYTES + self.data.len() + MAC_BYTES);
        bytes.extend_from_slice(PIECE_MAGIC);
        bytes.extend_from_slice(&self.index.to_be_bytes());
        bytes.extend_from_slice(&self.count.to_be_bytes());
        bytes.extend_from_slice(&self.total.to_be_bytes());
        bytes.extend_from_slice(&self.digest);
        bytes.extend_from_slice(&self.data);
        let tag = code.mac().chain_update(&bytes).finalize().into_bytes();
        bytes.extend_from_slice(&tag);
        bytes
    }

    /// `None` unless it is a piece under this code's MAC.
    fn open(code: &MoveCode, bytes: &[u8]) -> Option<Piece> {
        if bytes.len() < HEAD_BYTES + MAC_BYTES
            || bytes.len() > HEAD_BYTES + MOVE_PIECE_BYTES + MAC_BYTES
        {
            return None;
        }
        let (body, tag) = bytes.split_at(bytes.len() - MAC_BYTES);
        code.mac().chain_update(body).verify_slice(tag).ok()?;
        if &body[..8] != PIECE_MAGIC {
            return None;
        }
        let u32_at = |at: usize| u32::from_be_bytes(body[at..at + 4].try_into().expect("4 bytes"));
        Some(Piece {
            index: u32_at(8),
            count: u32_at(12),
            total: u64::from_be_bytes(body[16..24].try_into().expect("8 bytes")),
            digest: body[24..56].try_into().expect("32 bytes"),
            data: body[HEAD_BYTES..].to_vec(),
        })
    }
}

/// What the old phone sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveSent {
    pub pieces: u32,
    pub bytes: u64,
    /// Every piece reached at least one relay: the vault then retired.
    pub complete: bool,
}

impl Delivery<'_> {
    /// The old phone's side: the whole vault, sealed to the code's key, in
    /// pieces to the code's relays. Once every piece reached a relay this
    /// copy retires (read-only; the member may wipe it). A copy already
    /// retired may send too: the new phone will be the newest copy.
    pub fn send_move(&self, code: &MoveCode, transport: &mut dyn Transport) -> Result<MoveSent> {
        let mut sealed = Zeroizing::new(Vec::new());
        self.vault
            .write_backup(&SealWith::Recipient(recipient_of(code)?), &mut *sealed)?;
        let mailbox: MailboxKey = code.mailbox()?.key;
        let digest: [u8; 32] = Sha256::digest(sealed.as_slice()).into();
        let count = sealed.len().div_ceil(MOVE_PIECE_BYTES) as u32;
        let me = self
            .vault
            .with_conn(|conn| Ok(crate::identity::load(conn)?.identity_key()))?;
        let mut complete = true;
        for (index, data) in sealed.chunks(MOVE_PIECE_BYTES).enumerate() {
            let piece = Piece {
                index: index as u32,
                count,
                total: sealed.len() as u64,
                digest,
                data: data.to_vec(),
            };
            let parcel = Parcel {
                id: ParcelId::new(index as i64, me),
                message_id: crate::envelope::MessageId::new(),
                mailbox,
                envelope: piece.seal(code),
                keep_until: Utc::now() + PIECES_KEPT,
                relays: code.relays.clone(),
            };
            let reached = code
                .relays
                .iter()
                .filter(|relay| matches!(transport.publish(relay, &parcel), Ok(Ok(()))))
                .count();
            complete &= reached > 0;
        }
        if complete {
            self.vault.retire_for_move()?;
        }
        Ok(MoveSent {
            pieces: count,
            bytes: sealed.len() as u64,
            complete,
        })
    }
}
