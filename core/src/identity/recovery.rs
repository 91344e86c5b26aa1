//! The recovery key: twelve words kept on paper, away from the phone. My
//! card commits to its public half; with the words, a member whose phone was
//! taken signs a statement that their identity is replaced by a new one,
//! which every comrade's vault takes without meeting again
//! (`docs/comrade-card.md`, "Recovering a stolen identity").
//!
//! The vault never keeps the words: it keeps only the commitment.

use std::fmt;

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::card::Card;
use crate::bytes::Reader;
use crate::{Error, Result};

/// Why recovery words or a replacement statement were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum RecoveryError {
    #[error("not a Tend recovery key: a word is misspelt, missing or out of order")]
    WrongWords,
    #[error("not a Tend replacement statement")]
    Malformed,
    #[error("the statement is not signed by the recovery key it names")]
    BadProof,
    #[error("no comrade of yours has that recovery key on their card")]
    NoSuchComrade,
    #[error("a recovery key is already set up; it changes only by meeting comrades again")]
    AlreadySetUp,
}

const STATEMENT_PREFIX: &str = "TENDR:";
const STATEMENT_VERSION: u8 = 1;
const KEY_CONTEXT: &[u8] = b"tend recovery key v1";
const COMMITMENT_CONTEXT: &[u8] = b"tend recovery commitment\0";
const SIGNING_CONTEXT: &[u8] = b"tend identity replaced v1\0";
/// A statement carries one card; nothing longer is read.
const MAX_STATEMENT_BYTES: usize = 1 + 32 + 2 + super::card::MAX_CARD_BYTES + 8 + 64;

/// The secret behind the words: 128 bits, as BIP-39's twelve words carry.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct RecoveryKey([u8; 16]);

impl RecoveryKey {
    pub(crate) fn generate() -> RecoveryKey {
        let mut entropy = [0; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut entropy);
        RecoveryKey(entropy)
    }

    /// Twelve English BIP-39 words; case and spacing are forgiven, and the
    /// last word's checksum catches a misspelt or swapped word.
    pub fn from_words(words: &str) -> Result<RecoveryKey, RecoveryError> {
        // Twelve words of at most eight letters, and room for spacing.
        if words.len() > 1024 {
            return Err(RecoveryError::WrongWords);
        }
        let normalized = Zeroizing::new(
            words
                .split_whitespace()
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
                .join(" "),
        );
        let mnemonic = bip39::Mnemonic::parse_normalized(&normalized)
            .map_err(|_| RecoveryError::WrongWords)?;
        let (entropy, len) = mnemonic.to_entropy_array();
        let entropy = Zeroizing::new(entropy);
        let key: [u8; 16] = entropy[..len]
            .try_into()
            .map_err(|_| RecoveryError::WrongWords)?;
        Ok(RecoveryKey(key))
    }

    /// The words to write down.
    pub fn words(&self) -> Zeroizing<String> {
        let mnemonic = bip39::Mnemonic::from_entropy(&self.0).expect("16 bytes make 12 words");
        Zeroizing::new(mnemonic.words().collect::<Vec<_>>().join(" "))
    }

    fn signing_key(&self) -> SigningKey {
        let mut seed = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(None, &self.0)
            .expand(KEY_CONTEXT, &mut seed[..])
            .expect("32 bytes is a valid length");
        SigningKey::from_bytes(&seed)
    }

    /// What a card carries of it: a hash, so the public key itself shows
    /// only when it is used.
    pub fn commitment(&self) -> [u8; 32] {
        commitment_of(self.signing_key().verifying_key().as_bytes())
    }

    /// A statement that the identity whose card commits to this key is
    /// replaced by the one `new_card` belongs to.
    pub fn replace_with(&self, new_card: &Card, now: DateTime<Utc>) -> Result<Replacement> {
        let signing = self.signing_key();
        let card = new_card.as_bytes();
        let mut bytes = Vec::with_capacity(1 + 32 + 2 + card.len() + 8 + 64);
        bytes.push(STATEMENT_VERSION);
        bytes.extend_from_slice(signing.verifying_key().as_bytes());
        bytes.extend_from_slice(&(card.len() as u16).to_be_bytes());
        bytes.extend_from_slice(card);
        bytes.extend_from_slice(&now.timestamp().to_be_bytes());
        let signature = signing.sign(&[SIGNING_CONTEXT, &bytes].concat());
        bytes.extend_from_slice(&signature.to_bytes());
        Replacement::from_bytes(&bytes).map_err(|_| Error::Storage("signing a statement".into()))
    }
}

impl fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryKey(<redacted>)")
    }
}

fn commitment_of(public: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(COMMITMENT_CONTEXT);
    h.update(public);
    h.finalize().into()
}

/// "The identity whose card commits to this recovery key is replaced by the
/// one on this card", signed with the recovery key. It authenticates itself,
/// so it may travel by any channel.
#[derive(Clone, PartialEq, Eq)]
pub struct Replacement {
    /// The commitment the replaced identity's card carries.
    commitment: [u8; 32],
    new_card: Card,
    issued_at: DateTime<Utc>,
    bytes: Vec<u8>,
}

impl Replacement {
    /// Parses and checks the signature; which comrade it replaces is for
    /// the vault to find.
    pub fn from_bytes(bytes: &[u8]) -> Result<Replacement, RecoveryError> {
        use RecoveryError::Malformed;
        if bytes.len() > MAX_STATEMENT_BYTES {
            return Err(Malformed);
        }
        let mut r = Reader::new(bytes, Malformed);
        if r.u8()? != STATEMENT_VERSION {
            return Err(Malformed);
        }
        let public: [u8; 32] = r.take(32)?.try_into().map_err(|_| Malformed)?;
        let card_len = r.u16()? as usize;
        let new_card = Card::from_bytes(r.take(card_len)?).map_err(|_| Malformed)?;
        let issued_at = DateTime::from_timestamp(r.i64()?, 0).ok_or(Malformed)?;
        let signed = bytes.len() - r.rest().len();
        let signature = Signature::from_slice(r.take(64)?).map_err(|_| Malformed)?;
        if !r.rest().is_empty() {
            return Err(Malformed);
        }
        let key = VerifyingKey::from_bytes(&public)
            .ok()
            .filter(|k| !k.is_weak())
            .ok_or(RecoveryError::BadProof)?;
        key.verify(&[SIGNING_CONTEXT, &bytes[..signed]].concat(), &signature)
            .map_err(|_| RecoveryError::BadProof)?;
        Ok(Replacement {
            commitment: commitment_of(&public),
            new_card,
            issued_at,
            bytes: bytes.to_vec(),
        })
    }

    pub fn parse(text: &str) -> Result<Replacement, RecoveryError> {
        let bytes = crate::bytes::from_text(STATEMENT_PREFIX, text, MAX_STATEMENT_BYTES)
            .ok_or(RecoveryError::Malformed)?;
        Replacement::from_bytes(&bytes)
    }

    /// `TENDR:` and Base32, like a card.
    pub fn to_text(&self) -> String {
        crate::bytes::to_text(STATEMENT_PREFIX, &self.bytes)
    }

    pub fn commitment(&self) -> [u8; 32] {
        self.commitment
    }

    pub fn new_card(&self) -> &Card {
        &self.new_card
    }

    pub fn issued_at(&self) -> DateTime<Utc> {
        self.issued_at
    }
}

impl fmt::Debug for Replacement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replacement")
            .field("new_card", &self.new_card)
            .field("issued_at", &self.issued_at)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: &str = include_str!("../../../docs/vectors/recovery-v1.json");

    /// A recovery key from fixed entropy, and the statement that replaces
    /// its identity with a card made from fixed seeds.
    fn vectors_now() -> serde_json::Value {
        let key = RecoveryKey([0x11; 16]);
        let signing = SigningKey::from_bytes(&[7; 32]);
        let encryption = super::super::keys::EncryptionSecret::from_bytes(&[9; 32]).unwrap();
        let issued = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let first = super::super::card::ChainLink {
            seq: 1,
            prev: [0; 32],
        };
        let card = Card::issue(
            &signing,
            encryption.public().into(),
            "Alice",
            None,
            issued,
            Some(first),
        )
        .unwrap();
        let statement = key.replace_with(&card, issued).unwrap();
        serde_json::json!({
            "about": "Recovery key and replacement statement vectors; see docs/comrade-card.md, \"Recovering a stolen identity\". Ed25519 signatures are deterministic, so every field is exact.",
            "entropy_hex": hex::encode(key.0),
            "words": key.words().as_str(),
            "recovery_public_hex": hex::encode(key.signing_key().verifying_key().as_bytes()),
            "commitment_hex": hex::encode(key.commitment()),
            "new_card": card.to_text(),
            "issued_at": issued.timestamp(),
            "statement": statement.to_text(),
        })
    }

    #[test]
    fn the_checked_in_recovery_vectors_hold_byte_for_byte() {
        let now = vectors_now();
        let Some(stored) = crate::bytes::checked_in_vectors("recovery-v1.json", VECTORS, &now)
        else {
            return;
        };
        assert_eq!(stored, now);
        let key = RecoveryKey::from_words(stored["words"].as_str().unwrap()).unwrap();
        assert_eq!(hex::encode(key.0), stored["entropy_hex"].as_str().unwrap());
        let statement = Replacement::parse(stored["statement"].as_str().unwrap()).unwrap();
        assert_eq!(
            hex::encode(statement.commitment()),
            stored["commitment_hex"]
        );
        assert_eq!(statement.new_card().to_text(), stored["new_card"]);
    }

    #[test]
    fn the_words_give_back_the_key_and_a_wrong_word_is_caught() {
        let key = RecoveryKey([0x5a; 16]);
        let words = key.words();
        assert_eq!(words.split(' ').count(), 12);
        let again = RecoveryKey::from_words(&format!("  {}\n", words.to_uppercase())).unwrap();
        assert_eq!(again.commitment(), key.commitment());
        let mut list: Vec<&str> = words.split(' ').collect();
        list.swap(0, 1);
        let swapped = list.join(" ");
        assert_ne!(swapped, *words);
        assert_eq!(
            RecoveryKey::from_words(&swapped).err(),
            Some(RecoveryError::WrongWords)
        );
        assert_eq!(
            RecoveryKey::from_words("abandon abandon").err(),
            Some(RecoveryError::WrongWords)
        );
        assert_eq!(
            RecoveryKey::from_words(&"abandon ".repeat(10_000)).err(),
            Some(RecoveryError::WrongWords),
            "refused before it is read"
        );
        assert_eq!(format!("{key:?}"), "RecoveryKey(<redacted>)");
    }
}
