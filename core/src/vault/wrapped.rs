//! Vaults whose data key the platform keeps: the app's Keystore (Android)
//! or Keychain (iOS) wraps it, and only the wrapped bytes are on disk, in
//! `wrapped.key` beside the database. Rust never stores the raw key.
//!
//! In the passphrase-and-device mode the same file holds a wrapped device
//! secret instead, which the header's slot key is derived with, beside the
//! passphrase: the header cannot be guessed against off the device.

use std::fs;
use std::io::Read;
use std::path::PathBuf;

use super::header::{Header, Secret, sync_dir, write_atomically};
use super::{Contents, Hooks, KdfParams, Vault, VaultFiles, check_passphrase};
use crate::{DataKey, Error, Result};

/// Larger wrapped keys are refused unread: a wrapped 32-byte key is small.
const MAX_WRAPPED_BYTES: u64 = 64 * 1024;

/// What the app's key store does with a vault's data key.
pub trait KeyWrapper {
    fn wrap(&self, key: &DataKey) -> Result<Vec<u8>>;
    fn unwrap(&self, wrapped: &[u8]) -> Result<DataKey>;
}

/// A new vault with a fresh random data key that only `wrapper` can unwrap.
pub(crate) fn create_wrapped(
    dir: impl Into<PathBuf>,
    wrapper: &dyn KeyWrapper,
    from: Contents<'_>,
    hooks: &'static Hooks,
) -> Result<Vault> {
    let files = VaultFiles::new(dir);
    let key = DataKey::generate();
    create_beside_wrapped(&files, wrapper, &key, || {
        super::create_with_key(files.dir(), &key, from, hooks)
    })
}

/// `create`, with what `wrapper` makes of `secret` written beside the
/// vault: wrapped first, so a key store that refuses leaves nothing, and
/// the vault undone if the file cannot be written (without it the vault
/// cannot be opened).
fn create_beside_wrapped(
    files: &VaultFiles,
    wrapper: &dyn KeyWrapper,
    secret: &DataKey,
    create: impl FnOnce() -> Result<Vault>,
) -> Result<Vault> {
    if files.all().iter().any(|p| p.exists()) {
        return Err(Error::VaultExists);
    }
    let wrapped = wrapper.wrap(secret)?;
    let vault = create()?;
    if let Err(e) = write_wrapped(files, &wrapped) {
        let _ = vault.wipe();
        return Err(e);
    }
    Ok(vault)
}

/// A new vault whose header opens only with `passphrase` and the device
/// secret `wrapper` unwraps: a fresh random 32 bytes, wrapped, in
/// `wrapped.key`.
pub(crate) fn create_with_passphrase_and_device(
    dir: impl Into<PathBuf>,
    passphrase: &str,
    wrapper: &dyn KeyWrapper,
    params: KdfParams,
    from: Contents<'_>,
    hooks: &'static Hooks,
) -> Result<Vault> {
    check_passphrase(passphrase)?;
    let files = VaultFiles::new(dir);
    let device = DataKey::generate();
    let vault = create_beside_wrapped(&files, wrapper, &device, || {
        let key = DataKey::generate();
        let secret = Secret {
            passphrase,
            device: Some(&device),
        };
        let header = Header::for_passphrase(&key, &secret, params)?;
        Vault::create(files.clone(), key, header, from, hooks)
    })?;
    if let Some(unlocked) = vault.guard().as_mut() {
        unlocked.device = Some(device);
    }
    Ok(vault)
}

/// The device secret of a passphrase-and-device vault, unwrapped.
pub(super) fn device_secret(files: &VaultFiles, wrapper: &dyn KeyWrapper) -> Result<DataKey> {
    wrapper.unwrap(&read_wrapped(&files.wrapped_key())?)
}

pub(super) fn write_wrapped(files: &VaultFiles, wrapped: &[u8]) -> Result<()> {
    write_atomically(&files.wrapped_key(), wrapped, "writing the wrapped key")
}

pub(crate) fn open_wrapped(
    dir: impl Into<PathBuf>,
    wrapper: &dyn KeyWrapper,
    hooks: &'static Hooks,
) -> Result<Vault> {
    let vault = Vault::locked(VaultFiles::new(dir), hooks);
    vault.unlock_wrapped(wrapper)?;
    Ok(vault)
}

impl Vault {
    /// Unwraps the key and opens the database. After a crash mid-rekey the
    /// staged key is tried too, and kept if it is the one that opens it.
    pub fn unlock_wrapped(&self, wrapper: &dyn KeyWrapper) -> Result<()> {
        let current = read_wrapped(&self.files.wrapped_key());
        let staged = read_wrapped(&self.files.pending_wrapped_key()).ok();
        let mut first_error = None;
        for (wrapped, is_staged) in [(current, false), (staged.ok_or(Error::WrongKey), true)] {
            let attempt = wrapped
                .and_then(|w| wrapper.unwrap(&w))
                .and_then(|key| self.unlock_with_key(&key));
            match attempt {
                Ok(()) => return self.settle_rekey(is_staged),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or(Error::WrongKey))
    }

    /// Re-encrypts the database under a fresh key that `wrapper` wraps. The
    /// wrapped key is staged first, so a crash leaves one that opens it.
    pub fn rekey_wrapped(&self, wrapper: &dyn KeyWrapper) -> Result<()> {
        let key = DataKey::generate();
        let wrapped = wrapper.wrap(&key)?;
        let staged = self.files.pending_wrapped_key();
        write_atomically(&staged, &wrapped, "writing the wrapped key")?;
        if let Err(e) = self.rekey(&key) {
            let _ = fs::remove_file(&staged);
            return Err(e);
        }
        self.settle_rekey(true)
    }

    fn settle_rekey(&self, staged_won: bool) -> Result<()> {
        let staged = self.files.pending_wrapped_key();
        if !staged.exists() {
            return Ok(());
        }
        let result = if staged_won {
            fs::rename(&staged, self.files.wrapped_key())
        } else {
            fs::remove_file(&staged)
        };
        result
            .and_then(|()| sync_dir(&staged))
            .map_err(Error::io("finishing a rekey"))
    }
}

pub(super) fn read_wrapped(path: &std::path::Path) -> Result<Vec<u8>> {
    let file = fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::VaultNotFound,
        _ => Error::io("reading the wrapped key")(e),
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_WRAPPED_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(Error::io("reading the wrapped key"))?;
    if bytes.len() as u64 > MAX_WRAPPED_BYTES {
        return Err(Error::HeaderDamaged("the wrapped key is too large"));
    }
    Ok(bytes)
}
