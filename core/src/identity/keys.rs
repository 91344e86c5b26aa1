//! Public keys as they travel in cards and envelopes, the secret keys behind
//! them, and the pairwise MAC key two members share.

use std::fmt;

use ed25519_dalek::{SigningKey, VerifyingKey};
use hkdf::Hkdf;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::pq::PqSecret;
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

/// The secret of one of my epoch keys: X25519, and the post-quantum half
/// made with it (none for epochs from before post-quantum keys). Both go
/// when the epoch's key is deleted.
#[derive(Clone)]
pub(crate) struct EncryptionSecret {
    x25519: StaticSecret,
    pq: Option<PqSecret>,
}

impl EncryptionSecret {
    /// A new epoch's key, both halves.
    pub(crate) fn generate() -> Self {
        EncryptionSecret {
            x25519: StaticSecret::random_from_rng(rand::rngs::OsRng),
            pq: Some(PqSecret::generate()),
        }
    }

    /// An X25519 secret as stored; [`Self::with_pq`] adds its other half.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let array: Zeroizing<[u8; 32]> =
            Zeroizing::new(bytes.try_into().map_err(|_| Error::DatabaseDamaged)?);
        Ok(EncryptionSecret {
            x25519: StaticSecret::from(*array),
            pq: None,
        })
    }

    /// The post-quantum half as stored, if the epoch has one.
    pub(crate) fn with_pq(self, seed: Option<&[u8]>) -> Result<Self> {
        let pq = seed
            .map(|seed| PqSecret::from_slice(seed).ok_or(Error::DatabaseDamaged))
            .transpose()?;
        Ok(EncryptionSecret { pq, ..self })
    }

    /// An X25519 key alone, as epochs before post-quantum keys were.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn classic(&self) -> Self {
        EncryptionSecret {
            x25519: self.x25519.clone(),
            pq: None,
        }
    }

    pub(crate) fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.x25519.to_bytes())
    }

    pub(crate) fn public(&self) -> EncryptionKey {
        EncryptionKey(PublicKey::from(&self.x25519).to_bytes())
    }

    pub(crate) fn pq(&self) -> Option<&PqSecret> {
        self.pq.as_ref()
    }

    /// The same key as age identities, for decrypting: X25519, and the
    /// post-quantum half when there is one.
    pub(crate) fn age_identities(&self) -> Result<Vec<Box<dyn age::Identity>>> {
        let encoded = Zeroizing::new(
            bech32::encode_upper::<bech32::Bech32>(
                bech32::Hrp::parse_unchecked("age-secret-key-"),
                self.to_bytes().as_slice(),
            )
            .map_err(|_| Error::Storage("encoding a key".into()))?,
        );
        let x25519: age::x25519::Identity = encoded
            .parse()
            .map_err(|_| Error::Storage("encoding a key".into()))?;
        let mut identities: Vec<Box<dyn age::Identity>> = vec![Box::new(x25519)];
        if let Some(pq) = &self.pq {
            identities.push(Box::new(pq.age_identity()));
        }
        Ok(identities)
    }

    /// The MAC key this secret shares with the holder of `theirs`. Both sides
    /// derive the same key; nobody else can.
    pub(crate) fn pair_key(&self, theirs: &EncryptionKey) -> Result<PairKey> {
        let shared = self.x25519.diffie_hellman(&PublicKey::from(theirs.0));
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
