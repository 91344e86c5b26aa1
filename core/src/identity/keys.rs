//! Public keys as they travel in cards and envelopes, the secret keys behind
//! them, and the pairwise MAC key two members share.

use std::fmt;

use ed25519_dalek::{SigningKey, VerifyingKey};
use hkdf::Hkdf;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{Error, Result};

/// A member's long-term identity key (Ed25519). It signs their card, and
/// safety numbers are computed from it. It never changes for a vault.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityKey(pub(crate) [u8; 32]);

/// A member's current X25519 key: age encrypts to it, and envelope MACs come
/// from a Diffie-Hellman with it. It can be rotated.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EncryptionKey(pub(crate) [u8; 32]);

// Apps see it as 64 hex digits.
#[cfg(feature = "uniffi")]
uniffi::custom_type!(IdentityKey, String, {
    lower: |key| hex::encode(key.0),
    try_lift: |text| {
        let bytes: [u8; 32] = hex::decode(text)?
            .try_into()
            .map_err(|_| uniffi::deps::anyhow::anyhow!("not 32 bytes"))?;
        Ok(IdentityKey(bytes))
    },
});

impl IdentityKey {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A key as a vault column holds it; any other length is damage.
    pub(crate) fn from_stored(bytes: Vec<u8>) -> Result<IdentityKey> {
        Ok(IdentityKey(
            bytes.try_into().map_err(|_| Error::DatabaseDamaged)?,
        ))
    }

    /// Refuses points that are not on the curve and the weak small-order ones.
    pub(crate) fn verifying_key(&self) -> Option<VerifyingKey> {
        VerifyingKey::from_bytes(&self.0)
            .ok()
            .filter(|k| !k.is_weak())
    }
}

impl EncryptionKey {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Small-order points would make every Diffie-Hellman result public.
    pub(crate) fn is_usable(&self) -> bool {
        curve25519_dalek::montgomery::MontgomeryPoint(self.0)
            .to_edwards(0)
            .is_some_and(|p| !p.is_small_order())
    }

    /// The same key as age writes it (`age1...`).
    pub fn to_age(&self) -> String {
        bech32::encode::<bech32::Bech32>(bech32::Hrp::parse_unchecked("age"), &self.0)
            .unwrap_or_default()
    }

    pub(crate) fn age_recipient(&self) -> Result<age::x25519::Recipient> {
        self.to_age()
            .parse()
            .map_err(|_| Error::invalid("encryption key", "not an X25519 key"))
    }
}

/// Public keys print as a short fingerprint: enough to tell them apart in a log.
macro_rules! short_debug {
    ($name:ident) => {
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({}…)", stringify!($name), hex::encode(&self.0[..4]))
            }
        }
    };
}
short_debug!(IdentityKey);
short_debug!(EncryptionKey);

/// An X25519 secret key of mine.
#[derive(Clone)]
pub(crate) struct EncryptionSecret(StaticSecret);

impl EncryptionSecret {
    pub(crate) fn generate() -> Self {
        EncryptionSecret(StaticSecret::random_from_rng(rand::rngs::OsRng))
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let array: Zeroizing<[u8; 32]> =
            Zeroizing::new(bytes.try_into().map_err(|_| Error::DatabaseDamaged)?);
        Ok(EncryptionSecret(StaticSecret::from(*array)))
    }

    pub(crate) fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    pub(crate) fn public(&self) -> EncryptionKey {
        EncryptionKey(PublicKey::from(&self.0).to_bytes())
    }

    /// The same key as an age identity, for decrypting.
    pub(crate) fn age_identity(&self) -> Result<age::x25519::Identity> {
        let encoded = Zeroizing::new(
            bech32::encode_upper::<bech32::Bech32>(
                bech32::Hrp::parse_unchecked("age-secret-key-"),
                self.to_bytes().as_slice(),
            )
            .map_err(|_| Error::Storage("encoding a key".into()))?,
        );
        encoded
            .parse()
            .map_err(|_| Error::Storage("encoding a key".into()))
    }

    /// The MAC key this secret shares with the holder of `theirs`. Both sides
    /// derive the same key; nobody else can.
    pub(crate) fn pair_key(&self, theirs: &EncryptionKey) -> Result<PairKey> {
        let shared = self.0.diffie_hellman(&PublicKey::from(theirs.0));
        if !shared.was_contributory() {
            return Err(Error::invalid("encryption key", "a small-order point"));
        }
        let mine = self.public();
        let (low, high) = if mine.0 <= theirs.0 {
            (mine.0, theirs.0)
        } else {
            (theirs.0, mine.0)
        };
        let mut salt = [0u8; 64];
        salt[..32].copy_from_slice(&low);
        salt[32..].copy_from_slice(&high);
        let mut key = PairKey([0; 32]);
        Hkdf::<Sha256>::new(Some(&salt), shared.as_bytes())
            .expand(b"tend envelope v1 pair key", &mut key.0)
            .map_err(|_| Error::Storage("deriving a key".into()))?;
        Ok(key)
    }
}

impl fmt::Debug for EncryptionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionSecret(<redacted>)")
    }
}

/// The MAC key two members share: HKDF of their static X25519
/// Diffie-Hellman. Either of them can compute any MAC with it, which is what
/// makes envelope authentication deniable.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct PairKey(pub(crate) [u8; 32]);

impl PairKey {
    pub(crate) fn from_slice(bytes: &[u8]) -> Result<Self> {
        Ok(PairKey(
            bytes.try_into().map_err(|_| Error::DatabaseDamaged)?,
        ))
    }
}

impl fmt::Debug for PairKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PairKey(<redacted>)")
    }
}

pub(crate) fn signing_key_from(bytes: &[u8]) -> Result<SigningKey> {
    let array: Zeroizing<[u8; 32]> =
        Zeroizing::new(bytes.try_into().map_err(|_| Error::DatabaseDamaged)?);
    Ok(SigningKey::from_bytes(&array))
}
