//! A duress passphrase: entered at unlock, it destroys the vault as a panic
//! wipe does and leaves an empty one in its place, opened by the same
//! passphrase, so a member forced to unlock shows nothing
//! (`docs/vault-format.md`, "A duress passphrase").

use super::header::{Header, Secret};
use super::{Contents, Hooks, Unlocked, VaultFiles, make, wipe_files, wrapped};
use crate::{DataKey, Result};

/// Wipes the vault in `files` and makes an empty one under `decoy`, with a
/// header of its own (a fresh salt: nothing in it matches a copy of the old
/// one) that the same passphrase opens. In the passphrase-and-device mode
/// the device secret is kept as it was.
pub(super) fn take_over(
    files: &VaultFiles,
    header: &Header,
    decoy: DataKey,
    secret: &Secret<'_>,
    hooks: &Hooks,
) -> Result<Unlocked> {
    let params = header.kdf_params().unwrap_or_default();
    let new_header = Header::for_passphrase(&decoy, secret, params)?;
    let device = match header.needs_device() {
        true => Some(wrapped::read_wrapped(&files.wrapped_key())?),
        false => None,
    };
    wipe_files(files)?;
    let unlocked = make(files, decoy, &new_header, Contents::Fresh, hooks)?;
    if let Some(bytes) = device {
        wrapped::write_wrapped(files, &bytes)?;
    }
    Ok(unlocked)
}
