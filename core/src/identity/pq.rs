//! The post-quantum half of an epoch key, and age's `mlkem768x25519`
//! recipient stanza over it (C2SP age, "mlkem768x25519 recipient stanza").
//!
//! The KEM is X-Wing (draft-connolly-cfrg-xwing-kem-06; HPKE's
//! MLKEM768-X25519, KEM id 0x647a), composed from RustCrypto's `ml-kem` and
//! `x25519-dalek`, which age already brings, and handed to the `hpke` crate
//! for the key schedule. The `x-wing` crate would pull a second ML-KEM, a
//! second X25519 and a second `rand_core` into the phone library.

use std::collections::HashSet;
use std::fmt;

use age_core::format::{FileKey, Stanza};
use age_core::secrecy::ExposeSecret;
use base64::Engine;
use base64::prelude::BASE64_STANDARD_NO_PAD;
use hpke::generic_array::GenericArray;
use hpke::generic_array::typenum::{Sum, U32, U96, U192, U1024};
use hpke::{Deserializable, HpkeError, Serializable};
use ml_kem::kem::Decapsulate;
use ml_kem::{EncapsulateDeterministic, EncodedSizeUser, KemCore, MlKem768};
use sha2::{Digest, Sha256};
use sha3::digest::{ExtendableOutput, Update, XofReader};
use sha3::{Sha3_256, Shake256};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// An X-Wing public key: ML-KEM-768's encapsulation key, then X25519's.
pub const PQ_KEY_BYTES: usize = 1216;
/// An X-Wing ciphertext: ML-KEM-768's, then an X25519 ephemeral key.
pub const PQ_CIPHERTEXT_BYTES: usize = 1120;
const MLKEM_KEY_BYTES: usize = 1184;
const MLKEM_CIPHERTEXT_BYTES: usize = 1088;
/// The combiner's label, `\.//^\`.
const XWING_LABEL: &[u8] = b"\\.//^\\";
const STANZA_TAG: &str = "mlkem768x25519";
const STANZA_INFO: &[u8] = b"age-encryption.org/mlkem768x25519";
/// age refuses to mix recipients whose labels differ: a file sealed to a
/// post-quantum key and to a plain X25519 one is only as strong as the latter.
const POST_QUANTUM_LABEL: &str = "postquantum";

/// The post-quantum half of a member's epoch key, as cards commit to it and
/// envelopes carry it.
#[derive(Clone, PartialEq, Eq)]
pub struct PqKey(Box<[u8; PQ_KEY_BYTES]>);

impl PqKey {
    pub fn from_slice(bytes: &[u8]) -> Option<PqKey> {
        let array: [u8; PQ_KEY_BYTES] = bytes.try_into().ok()?;
        Some(PqKey(Box::new(array)))
    }

    pub fn as_bytes(&self) -> &[u8; PQ_KEY_BYTES] {
        &self.0
    }

    /// What a card carries of it: too large for a QR code itself.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(&self.0[..]).into()
    }

    pub(crate) fn age_recipient(&self) -> PqRecipient {
        PqRecipient(self.clone())
    }
}

impl fmt::Debug for PqKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PqKey({}…)", hex::encode(&self.digest()[..4]))
    }
}

/// The secret behind a [`PqKey`]: X-Wing's 32-byte seed, from which both
/// halves are expanded each time.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub(crate) struct PqSecret([u8; 32]);

impl PqSecret {
    pub fn generate() -> PqSecret {
        let mut seed = [0; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
        PqSecret(seed)
    }

    pub fn from_slice(bytes: &[u8]) -> Option<PqSecret> {
        Some(PqSecret(bytes.try_into().ok()?))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn public(&self) -> PqKey {
        let expanded = Expanded::from_seed(&self.0);
        PqKey(Box::new(expanded.public))
    }

    /// Expanded once here, not at every stanza it is tried on.
    pub(crate) fn age_identity(&self) -> PqIdentity {
        PqIdentity(HpkeSecret::from(self))
    }
}

impl fmt::Debug for PqSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PqSecret(<redacted>)")
    }
}

/// Both halves of an X-Wing key pair, expanded from its seed with SHAKE256.
struct Expanded {
    mlkem: <MlKem768 as KemCore>::DecapsulationKey,
    x25519: StaticSecret,
    public: [u8; PQ_KEY_BYTES],
}

impl Expanded {
    fn from_seed(seed: &[u8; 32]) -> Expanded {
        let mut wide = Zeroizing::new([0u8; 96]);
        let mut shake = Shake256::default();
        shake.update(seed);
        shake.finalize_xof().read(&mut wide[..]);
        let d = ml_kem::B32::try_from(&wide[..32]).expect("32 bytes");
        let z = ml_kem::B32::try_from(&wide[32..64]).expect("32 bytes");
        let (mlkem, encapsulation) = MlKem768::generate_deterministic(&d, &z);
        let x25519 = StaticSecret::from(<[u8; 32]>::try_from(&wide[64..]).expect("32 bytes"));
        let mut public = [0; PQ_KEY_BYTES];
        public[..MLKEM_KEY_BYTES].copy_from_slice(&encapsulation.as_bytes());
        public[MLKEM_KEY_BYTES..].copy_from_slice(PublicKey::from(&x25519).as_bytes());
        Expanded {
            mlkem,
            x25519,
            public,
        }
    }
}

/// X-Wing's combiner: SHA3-256 of both shared secrets, the X25519 ciphertext
/// and public key, and the label.
fn combine(mlkem: &[u8], x25519: &[u8; 32], ct_x: &[u8], pk_x: &[u8]) -> [u8; 32] {
    let mut h = Sha3_256::default();
    Digest::update(&mut h, mlkem);
    Digest::update(&mut h, x25519);
    Digest::update(&mut h, ct_x);
    Digest::update(&mut h, pk_x);
    Digest::update(&mut h, XWING_LABEL);
    h.finalize().into()
}

/// Encapsulates to `public` with 64 bytes of randomness: 32 for ML-KEM's
/// message, 32 for the X25519 ephemeral secret. `None` for a key ML-KEM
/// cannot read.
fn encapsulate(
    public: &[u8; PQ_KEY_BYTES],
    randomness: &[u8; 64],
) -> Option<([u8; 32], [u8; PQ_CIPHERTEXT_BYTES])> {
    let (pk_m, pk_x) = public.split_at(MLKEM_KEY_BYTES);
    let encoded =
        ml_kem::Encoded::<<MlKem768 as KemCore>::EncapsulationKey>::try_from(pk_m).ok()?;
    let ek = <MlKem768 as KemCore>::EncapsulationKey::from_bytes(&encoded);
    let m = ml_kem::B32::try_from(&randomness[..32]).ok()?;
    let (ct_m, ss_m) = ek.encapsulate_deterministic(&m).ok()?;
    let ephemeral = StaticSecret::from(<[u8; 32]>::try_from(&randomness[32..]).ok()?);
    let ct_x = PublicKey::from(&ephemeral);
    let pk_x: [u8; 32] = pk_x.try_into().ok()?;
    let ss_x = ephemeral.diffie_hellman(&PublicKey::from(pk_x));
    let mut ciphertext = [0; PQ_CIPHERTEXT_BYTES];
    ciphertext[..MLKEM_CIPHERTEXT_BYTES].copy_from_slice(&ct_m);
    ciphertext[MLKEM_CIPHERTEXT_BYTES..].copy_from_slice(ct_x.as_bytes());
    let shared = combine(&ss_m, ss_x.as_bytes(), ct_x.as_bytes(), &pk_x);
    Some((shared, ciphertext))
}

fn decapsulate(expanded: &Expanded, ciphertext: &[u8; PQ_CIPHERTEXT_BYTES]) -> Option<[u8; 32]> {
    let (ct_m, ct_x) = ciphertext.split_at(MLKEM_CIPHERTEXT_BYTES);
    let ct_m = ml_kem::Ciphertext::<MlKem768>::try_from(ct_m).ok()?;
    let ss_m = expanded.mlkem.decapsulate(&ct_m).ok()?;
    let ct_x: [u8; 32] = ct_x.try_into().ok()?;
    let ss_x = expanded.x25519.diffie_hellman(&PublicKey::from(ct_x));
    Some(combine(
        &ss_m,
        ss_x.as_bytes(),
        &ct_x,
        &expanded.public[MLKEM_KEY_BYTES..],
    ))
}

/// X-Wing as an HPKE KEM, so the `hpke` crate runs the key schedule.
pub(crate) struct XWing;

type U1216 = Sum<U1024, U192>;
type U1120 = Sum<U1024, U96>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HpkePublic(PqKey);

/// The seed, and both halves expanded from it.
#[derive(Clone)]
pub(crate) struct HpkeSecret {
    seed: PqSecret,
    expanded: std::sync::Arc<Expanded>,
}

impl From<&PqSecret> for HpkeSecret {
    fn from(seed: &PqSecret) -> HpkeSecret {
        HpkeSecret {
            seed: seed.clone(),
            expanded: std::sync::Arc::new(Expanded::from_seed(&seed.0)),
        }
    }
}

impl PartialEq for HpkeSecret {
    fn eq(&self, other: &Self) -> bool {
        self.seed == other.seed
    }
}

impl Eq for HpkeSecret {}

#[derive(Clone)]
pub(crate) struct Encapsulated([u8; PQ_CIPHERTEXT_BYTES]);

impl Serializable for HpkePublic {
    type OutputSize = U1216;
    fn write_exact(&self, buf: &mut [u8]) {
        buf.copy_from_slice(&self.0.0[..]);
    }
}

impl Deserializable for HpkePublic {
    fn from_bytes(encoded: &[u8]) -> Result<Self, HpkeError> {
        PqKey::from_slice(encoded)
            .map(HpkePublic)
            .ok_or(HpkeError::IncorrectInputLength(PQ_KEY_BYTES, encoded.len()))
    }
}

impl Serializable for HpkeSecret {
    type OutputSize = U32;
    fn write_exact(&self, buf: &mut [u8]) {
        buf.copy_from_slice(&self.seed.0);
    }
}

impl Deserializable for HpkeSecret {
    fn from_bytes(encoded: &[u8]) -> Result<Self, HpkeError> {
        PqSecret::from_slice(encoded)
            .map(|seed| HpkeSecret::from(&seed))
            .ok_or(HpkeError::IncorrectInputLength(32, encoded.len()))
    }
}

impl Serializable for Encapsulated {
    type OutputSize = U1120;
    fn write_exact(&self, buf: &mut [u8]) {
        buf.copy_from_slice(&self.0);
    }
}

impl Deserializable for Encapsulated {
    fn from_bytes(encoded: &[u8]) -> Result<Self, HpkeError> {
        encoded
            .try_into()
            .map(Encapsulated)
            .map_err(|_| HpkeError::IncorrectInputLength(PQ_CIPHERTEXT_BYTES, encoded.len()))
    }
}

impl hpke::Kem for XWing {
    type PublicKey = HpkePublic;
    type PrivateKey = HpkeSecret;
    type EncappedKey = Encapsulated;
    type NSecret = U32;
    const KEM_ID: u16 = 0x647a;

    fn sk_to_pk(sk: &HpkeSecret) -> HpkePublic {
        HpkePublic(PqKey(Box::new(sk.expanded.public)))
    }

    /// draft-ietf-hpke-pq: the seed is SHAKE256 of the input keying material.
    fn derive_keypair(ikm: &[u8]) -> (HpkeSecret, HpkePublic) {
        let mut seed = [0; 32];
        let mut shake = Shake256::default();
        shake.update(ikm);
        shake.finalize_xof().read(&mut seed);
        let secret = HpkeSecret::from(&PqSecret(seed));
        let public = Self::sk_to_pk(&secret);
        (secret, public)
    }

    fn decap(
        sk_recip: &HpkeSecret,
        pk_sender_id: Option<&HpkePublic>,
        encapped_key: &Encapsulated,
    ) -> Result<hpke::kem::SharedSecret<Self>, HpkeError> {
        if pk_sender_id.is_some() {
            return Err(HpkeError::DecapError);
        }
        let shared = Zeroizing::new(
            decapsulate(&sk_recip.expanded, &encapped_key.0).ok_or(HpkeError::DecapError)?,
        );
        Ok(hpke::kem::SharedSecret(GenericArray::clone_from_slice(
            &shared[..],
        )))
    }

    fn encap<R: hpke::rand_core::CryptoRng + hpke::rand_core::RngCore>(
        pk_recip: &HpkePublic,
        sender_id_keypair: Option<(&HpkeSecret, &HpkePublic)>,
        csprng: &mut R,
    ) -> Result<(hpke::kem::SharedSecret<Self>, Encapsulated), HpkeError> {
        if sender_id_keypair.is_some() {
            return Err(HpkeError::EncapError);
        }
        let mut randomness = Zeroizing::new([0u8; 64]);
        csprng.fill_bytes(&mut randomness[..]);
        let (shared, ciphertext) =
            encapsulate(&pk_recip.0.0, &randomness).ok_or(HpkeError::EncapError)?;
        let shared = Zeroizing::new(shared);
        Ok((
            hpke::kem::SharedSecret(GenericArray::clone_from_slice(&shared[..])),
            Encapsulated(ciphertext),
        ))
    }
}

/// age's `mlkem768x25519` recipient: the file key sealed with HPKE to an
/// X-Wing key. Any age 1.3 or later opens it with the matching identity.
pub(crate) struct PqRecipient(PqKey);

impl age::Recipient for PqRecipient {
    fn wrap_file_key(
        &self,
        file_key: &FileKey,
    ) -> Result<(Vec<Stanza>, HashSet<String>), age::EncryptError> {
        let (enc, sealed) = age_core::primitives::hpke_seal::<XWing, _>(
            &HpkePublic(self.0.clone()),
            STANZA_INFO,
            file_key.expose_secret(),
            &mut rand::rngs::OsRng,
        );
        Ok((
            vec![Stanza {
                tag: STANZA_TAG.to_owned(),
                args: vec![BASE64_STANDARD_NO_PAD.encode(enc.0)],
                body: sealed,
            }],
            HashSet::from([POST_QUANTUM_LABEL.to_owned()]),
        ))
    }
}

/// Opens `mlkem768x25519` stanzas sealed to one of my epoch keys.
pub(crate) struct PqIdentity(HpkeSecret);

impl age::Identity for PqIdentity {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, age::DecryptError>> {
        if stanza.tag != STANZA_TAG {
            return None;
        }
        // One canonical base64 argument of exactly the ciphertext's length,
        // and a body of a sealed 16-byte file key.
        let enc = match &stanza.args[..] {
            [arg] => BASE64_STANDARD_NO_PAD
                .decode(arg)
                .ok()
                .and_then(|bytes| <[u8; PQ_CIPHERTEXT_BYTES]>::try_from(bytes).ok()),
            _ => None,
        };
        let (Some(enc), 32) = (enc, stanza.body.len()) else {
            return Some(Err(age::DecryptError::InvalidHeader));
        };
        // A stanza for someone else fails to open: not mine, try the next.
        let opened = age_core::primitives::hpke_open::<XWing>(
            &Encapsulated(enc),
            &self.0,
            STANZA_INFO,
            &stanza.body,
        )
        .ok()?;
        let opened = Zeroizing::new(opened);
        let key: [u8; 16] = opened[..].try_into().ok()?;
        Some(Ok(FileKey::new(Box::new(key))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex32(s: &str) -> [u8; 32] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    /// The first test vector of draft-connolly-cfrg-xwing-kem-06, appendix C.
    #[test]
    fn xwing_matches_the_drafts_first_vector() {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../../docs/vectors/xwing-draft06.json")).unwrap();
        let seed = hex32(v["seed"].as_str().unwrap());
        let secret = PqSecret(seed);
        let public = secret.public();
        assert_eq!(hex::encode(public.as_bytes()), v["pk"].as_str().unwrap());
        let randomness: [u8; 64] = hex::decode(v["eseed"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let (shared, ct) = encapsulate(public.as_bytes(), &randomness).unwrap();
        assert_eq!(hex::encode(ct), v["ct"].as_str().unwrap());
        assert_eq!(hex::encode(shared), v["ss"].as_str().unwrap());
        assert_eq!(decapsulate(&Expanded::from_seed(&seed), &ct), Some(shared));
    }

    /// A file Go age 1.3.2 sealed to a hybrid identity opens here.
    #[test]
    fn a_file_go_age_sealed_to_a_hybrid_key_opens() {
        let v: serde_json::Value = serde_json::from_str(include_str!(
            "../../../docs/vectors/age-mlkem768x25519.json"
        ))
        .unwrap();
        let (hrp, seed) = bech32::decode(v["identity"].as_str().unwrap()).unwrap();
        assert_eq!(hrp.to_lowercase(), "age-secret-key-pq-");
        let identity = PqSecret::from_slice(&seed).unwrap().age_identity();
        let file = hex::decode(v["file_hex"].as_str().unwrap()).unwrap();
        let decryptor = age::Decryptor::new_buffered(&file[..]).unwrap();
        let mut reader = decryptor
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .unwrap();
        let mut plain = String::new();
        std::io::Read::read_to_string(&mut reader, &mut plain).unwrap();
        assert_eq!(plain, v["plaintext"].as_str().unwrap());
    }

    #[test]
    fn a_stanza_opens_for_its_key_only_and_mixing_with_x25519_is_refused() {
        let mine = PqSecret::generate();
        let other = PqSecret::generate();
        let file_key = FileKey::new(Box::new([7; 16]));
        let (stanzas, labels) =
            age::Recipient::wrap_file_key(&mine.public().age_recipient(), &file_key).unwrap();
        assert!(labels.contains(POST_QUANTUM_LABEL));
        let stanza = &stanzas[0];
        assert_eq!(stanza.args[0].len(), 1494, "1,120 bytes in base64");
        let opened = age::Identity::unwrap_stanza(&mine.age_identity(), stanza)
            .unwrap()
            .unwrap();
        assert_eq!(opened.expose_secret(), &[7; 16]);
        assert!(age::Identity::unwrap_stanza(&other.age_identity(), stanza).is_none());
        // A non-canonical or short argument is a bad header, not a crash.
        let mut bad = Stanza {
            tag: stanza.tag.clone(),
            args: vec![format!("{}A", stanza.args[0])],
            body: stanza.body.clone(),
        };
        assert!(matches!(
            age::Identity::unwrap_stanza(&mine.age_identity(), &bad),
            Some(Err(age::DecryptError::InvalidHeader))
        ));
        bad.args = vec![stanza.args[0][..100].to_owned()];
        assert!(matches!(
            age::Identity::unwrap_stanza(&mine.age_identity(), &bad),
            Some(Err(age::DecryptError::InvalidHeader))
        ));
        let classic = age::x25519::Identity::generate().to_public();
        let pq = mine.public().age_recipient();
        let mixed = [&classic as &dyn age::Recipient, &pq as &dyn age::Recipient];
        assert!(
            age::Encryptor::with_recipients(mixed.into_iter()).is_err(),
            "age keeps post-quantum files post-quantum"
        );
    }
}
