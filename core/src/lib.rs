//! Tend's core: an encrypted vault per member and the mood journal inside it.
//!
//! This crate knows nothing of FFI. Apps reach it through `bindings/`.

pub mod care;
pub mod comrades;
pub mod delivery;
pub mod envelope;
mod error;
pub mod gatherings;
mod id;
pub mod journal;
pub mod name;
mod redact;
mod secret;
#[cfg(feature = "testing")]
pub mod testing;
mod time;
pub mod vault;

/// Passphrases for sealed backups; zeroized on drop.
pub use age::secrecy::SecretString;
pub use error::{Error, Result};
pub use secret::DataKey;
pub use vault::{KdfParams, Vault, VaultFiles};
