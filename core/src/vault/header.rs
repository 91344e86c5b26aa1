//! The vault header: a small versioned file next to the database.
//!
//! It says how the data key is supplied and lets a wrong key be told apart
//! from a damaged database. Layout (little-endian), specified in
//! `docs/vault-format.md`:
//!
//! ```text
//! magic "TENDVLT\0" | version u8 = 1 | method u8 | body | checksum (8 bytes)
//! method 1, app key:    key_check[32] = HMAC-SHA256(data key, "tend vault key check v1")
//! method 2, passphrase: m_kib u32 | t u32 | p u32 | salt[16] | nonce[24] | wrapped[48]
//!                       wrapped = XChaCha20-Poly1305(Argon2id(passphrase), data key), AAD = all bytes before nonce
//! checksum = SHA-256(all bytes before it)[..8]: tells damage from a wrong passphrase
//! ```

use std::fs;
use std::io::Write;
use std::path::Path;

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{DataKey, Error, Result};

const MAGIC: &[u8; 8] = b"TENDVLT\0";
pub(crate) const VERSION: u8 = 1;
const METHOD_APP_KEY: u8 = 1;
const METHOD_PASSPHRASE: u8 = 2;
const PREFIX_LEN: usize = 10;
const CHECKSUM_LEN: usize = 8;
const KEY_CHECK_CONTEXT: &[u8] = b"tend vault key check v1";
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const WRAPPED_LEN: usize = DataKey::LEN + 16;
const PASSPHRASE_BODY_LEN: usize = 12 + SALT_LEN + NONCE_LEN + WRAPPED_LEN;

/// Argon2id cost of turning a passphrase into the key that wraps the data key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for KdfParams {
    /// 64 MiB, 3 passes, 1 lane: RFC 9106's second recommendation with one lane,
    /// because phones give one thread. About 0.2 s on this 2-core machine,
    /// 0.3 to 0.6 s on a mid-range phone; well above OWASP's 19 MiB, t=2 floor.
    fn default() -> Self {
        KdfParams {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        }
    }
}

impl KdfParams {
    /// Refuse costs that would let a damaged or hostile header exhaust the phone.
    const MAX_MEMORY_KIB: u32 = 1024 * 1024;
    const MAX_ITERATIONS: u32 = 64;
    const MAX_PARALLELISM: u32 = 16;

    fn check(&self) -> Result<Params> {
        if self.memory_kib > Self::MAX_MEMORY_KIB
            || self.iterations > Self::MAX_ITERATIONS
            || self.parallelism > Self::MAX_PARALLELISM
        {
            return Err(Error::invalid("key derivation cost", "too high"));
        }
        Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(DataKey::LEN),
        )
        .map_err(|_| Error::invalid("key derivation cost", "outside Argon2's limits"))
    }

    fn derive(&self, passphrase: &str, salt: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.check()?);
        let mut kek = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(passphrase.as_bytes(), salt, kek.as_mut())
            .map_err(|_| Error::invalid("passphrase", "cannot be used for key derivation"))?;
        Ok(kek)
    }
}

/// How the data key of a vault is supplied, as recorded in its header.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Header {
    AppKey {
        key_check: [u8; 32],
    },
    Passphrase {
        params: KdfParams,
        salt: [u8; SALT_LEN],
        nonce: [u8; NONCE_LEN],
        wrapped: [u8; WRAPPED_LEN],
    },
}

impl Header {
    pub(crate) fn for_app_key(key: &DataKey) -> Header {
        Header::AppKey {
            key_check: key_check(key),
        }
    }

    pub(crate) fn for_passphrase(
        key: &DataKey,
        passphrase: &str,
        params: KdfParams,
    ) -> Result<Header> {
        let mut salt = [0u8; SALT_LEN];
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        Self::seal(key, passphrase, params, salt, nonce)
    }

    /// Deterministic given salt and nonce: the test vectors use it.
    fn seal(
        key: &DataKey,
        passphrase: &str,
        params: KdfParams,
        salt: [u8; SALT_LEN],
        nonce: [u8; NONCE_LEN],
    ) -> Result<Header> {
        let kek = params.derive(passphrase, &salt)?;
        let mut header = Header::Passphrase {
            params,
            salt,
            nonce,
            wrapped: [0; WRAPPED_LEN],
        };
        let aad = header.aad();
        let sealed = XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(kek.as_ref()))
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: key.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| Error::invalid("key", "cannot be wrapped"))?;
        if let Header::Passphrase { wrapped, .. } = &mut header {
            wrapped.copy_from_slice(&sealed);
        }
        Ok(header)
    }

    pub(crate) fn method_name(&self) -> &'static str {
        match self {
            Header::AppKey { .. } => "an app-supplied key",
            Header::Passphrase { .. } => "a passphrase",
        }
    }

    /// Checks an app-supplied key against the header.
    pub(crate) fn verify_app_key(&self, key: &DataKey) -> Result<()> {
        match self {
            Header::AppKey { key_check: stored } => {
                let mut mac = hmac_for(key);
                mac.update(KEY_CHECK_CONTEXT);
                mac.verify_slice(stored).map_err(|_| Error::WrongKey)
            }
            Header::Passphrase { .. } => Err(Error::WrongUnlockMethod {
                expected: self.method_name(),
                given: "an app-supplied key",
            }),
        }
    }

    /// Unwraps the data key with a passphrase.
    pub(crate) fn unwrap_with_passphrase(&self, passphrase: &str) -> Result<DataKey> {
        match self {
            Header::Passphrase {
                params,
                salt,
                nonce,
                wrapped,
            } => {
                let kek = params.derive(passphrase, salt)?;
                let key = Zeroizing::new(
                    XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(kek.as_ref()))
                        .decrypt(
                            XNonce::from_slice(nonce),
                            Payload {
                                msg: wrapped,
                                aad: &self.aad(),
                            },
                        )
                        .map_err(|_| Error::WrongKey)?,
                );
                DataKey::from_slice(&key)
            }
            Header::AppKey { .. } => Err(Error::WrongUnlockMethod {
                expected: self.method_name(),
                given: "a passphrase",
            }),
        }
    }

    pub(crate) fn kdf_params(&self) -> Option<KdfParams> {
        match self {
            Header::Passphrase { params, .. } => Some(*params),
            Header::AppKey { .. } => None,
        }
    }

    fn aad(&self) -> Vec<u8> {
        let bytes = self.encode();
        bytes[..PREFIX_LEN + 12 + SALT_LEN].to_vec()
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PREFIX_LEN + PASSPHRASE_BODY_LEN + CHECKSUM_LEN);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        match self {
            Header::AppKey { key_check } => {
                out.push(METHOD_APP_KEY);
                out.extend_from_slice(key_check);
            }
            Header::Passphrase {
                params,
                salt,
                nonce,
                wrapped,
            } => {
                out.push(METHOD_PASSPHRASE);
                out.extend_from_slice(&params.memory_kib.to_le_bytes());
                out.extend_from_slice(&params.iterations.to_le_bytes());
                out.extend_from_slice(&params.parallelism.to_le_bytes());
                out.extend_from_slice(salt);
                out.extend_from_slice(nonce);
                out.extend_from_slice(wrapped);
            }
        }
        let checksum = Sha256::digest(&out);
        out.extend_from_slice(&checksum[..CHECKSUM_LEN]);
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Header> {
        if bytes.len() < PREFIX_LEN + CHECKSUM_LEN || &bytes[..8] != MAGIC {
            return Err(Error::HeaderDamaged("not a Tend vault header"));
        }
        if bytes[8] > VERSION {
            return Err(Error::UnsupportedHeaderVersion(bytes[8]));
        }
        if bytes[8] != VERSION {
            return Err(Error::HeaderDamaged("unknown version"));
        }
        let (content, checksum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        if Sha256::digest(content)[..CHECKSUM_LEN] != *checksum {
            return Err(Error::HeaderDamaged("checksum mismatch"));
        }
        let body = &content[PREFIX_LEN..];
        match (content[9], body.len()) {
            (METHOD_APP_KEY, 32) => Ok(Header::AppKey {
                key_check: body.try_into().expect("length checked"),
            }),
            (METHOD_PASSPHRASE, PASSPHRASE_BODY_LEN) => {
                let u32_at = |i: usize| u32::from_le_bytes(body[i..i + 4].try_into().unwrap());
                let params = KdfParams {
                    memory_kib: u32_at(0),
                    iterations: u32_at(4),
                    parallelism: u32_at(8),
                };
                params
                    .check()
                    .map_err(|_| Error::HeaderDamaged("key derivation cost out of range"))?;
                let rest = &body[12..];
                Ok(Header::Passphrase {
                    params,
                    salt: rest[..SALT_LEN].try_into().unwrap(),
                    nonce: rest[SALT_LEN..SALT_LEN + NONCE_LEN].try_into().unwrap(),
                    wrapped: rest[SALT_LEN + NONCE_LEN..].try_into().unwrap(),
                })
            }
            (METHOD_APP_KEY | METHOD_PASSPHRASE, _) => Err(Error::HeaderDamaged("wrong length")),
            _ => Err(Error::HeaderDamaged("unknown unlock method")),
        }
    }

    pub(crate) fn read(path: &Path) -> Result<Header> {
        let bytes = fs::read(path).map_err(Error::io("reading the vault header"))?;
        Header::decode(&bytes)
    }

    /// Writes via a temporary file and a rename, so a crash leaves the old or the new header.
    pub(crate) fn write_atomically(&self, path: &Path) -> Result<()> {
        write_atomically(path, &self.encode(), "writing the vault header")
    }
}

/// Writes a temporary file, syncs it and renames it over `path`: a crash
/// leaves the old file or the new one, never half of either.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8], context: &'static str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        sync_dir(path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(Error::io(context))
}

pub(crate) fn sync_dir(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) => fs::File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

fn hmac_for(key: &DataKey) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length")
}

fn key_check(key: &DataKey) -> [u8; 32] {
    let mut mac = hmac_for(key);
    mac.update(KEY_CHECK_CONTEXT);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: KdfParams = KdfParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn passphrase_header_round_trips_and_unwraps() {
        let key = DataKey::generate();
        let header = Header::for_passphrase(&key, "correct horse", CHEAP).unwrap();
        let decoded = Header::decode(&header.encode()).unwrap();
        assert!(decoded == header);
        assert_eq!(
            decoded.unwrap_with_passphrase("correct horse").unwrap(),
            key
        );
        assert!(matches!(
            decoded.unwrap_with_passphrase("wrong horse"),
            Err(Error::WrongKey)
        ));
    }

    #[test]
    fn app_key_header_checks_the_key() {
        let key = DataKey::generate();
        let header = Header::decode(&Header::for_app_key(&key).encode()).unwrap();
        header.verify_app_key(&key).unwrap();
        assert!(matches!(
            header.verify_app_key(&DataKey::generate()),
            Err(Error::WrongKey)
        ));
        assert!(matches!(
            header.unwrap_with_passphrase("x"),
            Err(Error::WrongUnlockMethod { .. })
        ));
    }

    #[test]
    fn every_single_bit_flip_is_detected_as_damage() {
        let key = DataKey::generate();
        let bytes = Header::for_passphrase(&key, "pass", CHEAP)
            .unwrap()
            .encode();
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut damaged = bytes.clone();
                damaged[i] ^= 1 << bit;
                match Header::decode(&damaged) {
                    Err(Error::HeaderDamaged(_)) | Err(Error::UnsupportedHeaderVersion(_)) => {}
                    other => panic!("flip at byte {i} bit {bit} gave {:?}", other.is_ok()),
                }
            }
        }
    }

    #[test]
    fn truncation_and_garbage_are_damage() {
        let key = DataKey::generate();
        let bytes = Header::for_app_key(&key).encode();
        for len in 0..bytes.len() {
            assert!(matches!(
                Header::decode(&bytes[..len]),
                Err(Error::HeaderDamaged(_))
            ));
        }
        assert!(matches!(
            Header::decode(b"SQLite format 3\0 and more"),
            Err(Error::HeaderDamaged(_))
        ));
    }

    #[test]
    fn future_version_is_named() {
        let mut bytes = Header::for_app_key(&DataKey::generate()).encode();
        bytes[8] = 9;
        assert!(matches!(
            Header::decode(&bytes),
            Err(Error::UnsupportedHeaderVersion(9))
        ));
    }

    #[test]
    fn hostile_costs_are_refused_before_any_work() {
        let hostile = KdfParams {
            memory_kib: u32::MAX,
            iterations: 1,
            parallelism: 1,
        };
        assert!(hostile.check().is_err());
    }

    /// `docs/vectors/vault-header-v1.json`, byte for byte.
    #[test]
    fn the_documented_vectors_hold() {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../../../docs/vectors/vault-header-v1.json"))
                .unwrap();
        let hex_of = |v: &serde_json::Value| hex::decode(v.as_str().unwrap()).unwrap();
        let app = &doc["app_key"];
        let key = DataKey::from_slice(&hex_of(&app["data_key"])).unwrap();
        assert_eq!(Header::for_app_key(&key).encode(), hex_of(&app["header"]));

        let pass = &doc["passphrase"];
        let key = DataKey::from_slice(&hex_of(&pass["data_key"])).unwrap();
        let params = KdfParams {
            memory_kib: pass["memory_kib"].as_u64().unwrap() as u32,
            iterations: pass["iterations"].as_u64().unwrap() as u32,
            parallelism: pass["parallelism"].as_u64().unwrap() as u32,
        };
        let passphrase = pass["passphrase"].as_str().unwrap();
        let header = Header::seal(
            &key,
            passphrase,
            params,
            hex_of(&pass["salt"]).try_into().unwrap(),
            hex_of(&pass["nonce"]).try_into().unwrap(),
        )
        .unwrap();
        assert_eq!(header.encode(), hex_of(&pass["header"]));
        let decoded = Header::decode(&hex_of(&pass["header"])).unwrap();
        assert_eq!(decoded.unwrap_with_passphrase(passphrase).unwrap(), key);
    }

    /// Prints fresh vectors: `cargo test -p tend-core print_vectors -- --ignored --nocapture`.
    #[test]
    #[ignore = "prints vectors for the docs"]
    fn print_vectors() {
        let key = DataKey::from_bytes(std::array::from_fn(|i| i as u8));
        println!("app {}", hex::encode(Header::for_app_key(&key).encode()));
        let key = DataKey::from_bytes(std::array::from_fn(|i| 0x80 + i as u8));
        let params = KdfParams {
            memory_kib: 1024,
            iterations: 2,
            parallelism: 1,
        };
        let header = Header::seal(
            &key,
            "correct horse battery staple",
            params,
            [0x11; 16],
            [0x22; 24],
        )
        .unwrap();
        println!("pass {}", hex::encode(header.encode()));
    }

    #[test]
    fn debug_output_has_no_key_bytes() {
        let key = DataKey::from_bytes([0xAB; 32]);
        let shown = format!("{key:?}");
        assert!(
            !shown.contains("171") && !shown.to_lowercase().contains("abab"),
            "{shown}"
        );
    }
}
