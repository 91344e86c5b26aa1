//! The vault's lifecycle: create, open, lock, passphrase, rekey, panic
//! wipe; and the app's key provider.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tend_core::sealed::{OpenWith, SealWith};
use tend_core::vault::{AutomaticBackups, BackupSummary, KeyWrapper, Retirement};
use tend_core::{DataKey, KdfParams, Vault};

use crate::changes::Subscribers;
use crate::{TendError, off_thread};

/// The app's key store: Android Keystore or iOS Keychain wraps the vault's
/// data key, so Rust never keeps a raw key on disk.
#[uniffi::export(with_foreign)]
pub trait KeyProvider: Send + Sync {
    fn wrap_key(&self, key: Vec<u8>) -> Result<Vec<u8>, TendError>;
    fn unwrap_key(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, TendError>;
}

/// Seven random words from BIP-39's English list (77 bits): to offer a member
/// who is choosing a passphrase.
#[uniffi::export]
pub fn generate_passphrase() -> String {
    use tend_core::ExposeSecret;
    tend_core::passphrase::generate().expose_secret().to_owned()
}

/// The app's provider seen as the core's `KeyWrapper`. The core only knows
/// "wrong key"; the app's own error is kept and reported instead.
struct Provider {
    app: Arc<dyn KeyProvider>,
    failure: Mutex<Option<TendError>>,
}

impl Provider {
    fn run<T>(
        app: Arc<dyn KeyProvider>,
        work: impl FnOnce(&Provider) -> tend_core::Result<T>,
    ) -> Result<T, TendError> {
        let provider = Provider {
            app,
            failure: Mutex::new(None),
        };
        work(&provider).map_err(|e| provider.take_failure().unwrap_or(e.into()))
    }

    fn take_failure(&self) -> Option<TendError> {
        self.failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }

    fn keep(&self, e: TendError) -> tend_core::Error {
        *self
            .failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(e);
        tend_core::Error::WrongKey
    }
}

impl KeyWrapper for Provider {
    fn wrap(&self, key: &DataKey) -> tend_core::Result<Vec<u8>> {
        self.app
            .wrap_key(key.as_bytes().to_vec())
            .map_err(|e| self.keep(e))
    }

    fn unwrap(&self, wrapped: &[u8]) -> tend_core::Result<DataKey> {
        let mut key = self
            .app
            .unwrap_key(wrapped.to_vec())
            .map_err(|e| self.keep(e))?;
        let result = DataKey::from_slice(&key);
        zeroize(&mut key);
        result
    }
}

fn zeroize(bytes: &mut [u8]) {
    bytes.iter_mut().for_each(|b| *b = 0);
    std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
}

/// One member's vault. Every method may be called from any thread.
#[derive(uniffi::Object)]
pub struct TendVault {
    pub(crate) vault: Arc<Vault>,
    pub(crate) changes: Arc<Subscribers>,
}

impl TendVault {
    pub(crate) fn wrap(vault: Vault) -> Arc<TendVault> {
        let changes = Arc::new(Subscribers::default());
        let hub = changes.clone();
        vault.set_change_listener(Some(Arc::new(move |change| hub.notify(change))));
        Arc::new(TendVault {
            vault: Arc::new(vault),
            changes,
        })
    }

    /// Runs `work` on the vault off the caller's thread.
    pub(crate) async fn with<T, F>(&self, work: F) -> Result<T, TendError>
    where
        T: Send + 'static,
        F: FnOnce(&Vault) -> Result<T, TendError> + Send + 'static,
    {
        let vault = self.vault.clone();
        off_thread(move || work(&vault)).await
    }
}

/// A new vault whose key the app's key store wraps.
#[uniffi::export]
pub async fn create_vault(
    dir: String,
    provider: Arc<dyn KeyProvider>,
) -> Result<Arc<TendVault>, TendError> {
    off_thread(move || {
        let vault = Provider::run(provider, |p| Vault::create_wrapped(PathBuf::from(dir), p))?;
        Ok(TendVault::wrap(vault))
    })
    .await
}

#[uniffi::export]
pub async fn open_vault(
    dir: String,
    provider: Arc<dyn KeyProvider>,
) -> Result<Arc<TendVault>, TendError> {
    off_thread(move || {
        let vault = Provider::run(provider, |p| Vault::open_wrapped(PathBuf::from(dir), p))?;
        Ok(TendVault::wrap(vault))
    })
    .await
}

/// A new vault sealed by a passphrase (Argon2id, m=64 MiB, t=3, p=1).
#[uniffi::export]
pub async fn create_vault_with_passphrase(
    dir: String,
    passphrase: String,
) -> Result<Arc<TendVault>, TendError> {
    off_thread(move || {
        Ok(TendVault::wrap(Vault::create_with_passphrase(
            PathBuf::from(dir),
            &passphrase,
            KdfParams::default(),
        )?))
    })
    .await
}

#[uniffi::export]
pub async fn open_vault_with_passphrase(
    dir: String,
    passphrase: String,
) -> Result<Arc<TendVault>, TendError> {
    off_thread(move || {
        Ok(TendVault::wrap(Vault::open_with_passphrase(
            PathBuf::from(dir),
            &passphrase,
        )?))
    })
    .await
}

/// A new vault that opens only with the passphrase and a device secret the
/// key store wraps: a copy of its files cannot be guessed against.
#[uniffi::export]
pub async fn create_vault_with_passphrase_and_device(
    dir: String,
    passphrase: String,
    provider: Arc<dyn KeyProvider>,
) -> Result<Arc<TendVault>, TendError> {
    off_thread(move || {
        let vault = Provider::run(provider, |p| {
            Vault::create_with_passphrase_and_device(
                PathBuf::from(dir),
                &passphrase,
                p,
                KdfParams::default(),
            )
        })?;
        Ok(TendVault::wrap(vault))
    })
    .await
}

#[uniffi::export]
pub async fn open_vault_with_passphrase_and_device(
    dir: String,
    passphrase: String,
    provider: Arc<dyn KeyProvider>,
) -> Result<Arc<TendVault>, TendError> {
    off_thread(move || {
        let vault = Provider::run(provider, |p| {
            Vault::open_with_passphrase_and_device(PathBuf::from(dir), &passphrase, p)
        })?;
        Ok(TendVault::wrap(vault))
    })
    .await
}

/// How a whole-vault backup is sealed.
#[derive(uniffi::Enum)]
pub enum BackupSeal {
    /// At least as strong as a vault passphrase.
    Passphrase { passphrase: String },
    /// An age X25519 recipient, `age1…`.
    Recipient { recipient: String },
}

/// What opens a whole-vault backup.
#[derive(uniffi::Enum)]
pub enum BackupOpener {
    Passphrase {
        passphrase: String,
    },
    /// An age X25519 identity, `AGE-SECRET-KEY-1…`.
    Identity {
        identity: String,
    },
}

impl BackupSeal {
    fn core(self) -> Result<SealWith, TendError> {
        Ok(match self {
            BackupSeal::Passphrase { passphrase } => SealWith::Passphrase(passphrase.into()),
            BackupSeal::Recipient { recipient } => SealWith::recipient(&recipient)?,
        })
    }
}

impl BackupOpener {
    fn core(self) -> Result<OpenWith, TendError> {
        Ok(match self {
            BackupOpener::Passphrase { passphrase } => OpenWith::Passphrase(passphrase.into()),
            BackupOpener::Identity { identity } => OpenWith::identity(&identity)?,
        })
    }
}

pub(crate) fn backup_file(path: &str) -> Result<std::fs::File, TendError> {
    std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => TendError::NotFound {
            what: "backup file".into(),
        },
        _ => TendError::Storage,
    })
}

/// A new vault, its key wrapped by the key store, holding everything the
/// whole-vault backup at `backup_path` holds: the same member, carrying on.
#[uniffi::export]
pub async fn restore_vault(
    dir: String,
    backup_path: String,
    opener: BackupOpener,
    provider: Arc<dyn KeyProvider>,
) -> Result<Arc<TendVault>, TendError> {
    off_thread(move || {
        let (opener, backup) = (opener.core()?, backup_file(&backup_path)?);
        restore_wrapped(dir, backup, &opener, provider)
    })
    .await
}

/// [`restore_vault`] from any reader (a move's pieces, say).
pub(crate) fn restore_wrapped(
    dir: String,
    backup: impl std::io::Read,
    opener: &OpenWith,
    provider: Arc<dyn KeyProvider>,
) -> Result<Arc<TendVault>, TendError> {
    let (vault, _) = Provider::run(provider, |p| {
        Vault::restore_wrapped(PathBuf::from(dir), backup, opener, p)
    })?;
    Ok(TendVault::wrap(vault))
}

/// [`restore_vault_with_passphrase`] from any reader.
pub(crate) fn restore_with_passphrase(
    dir: String,
    backup: impl std::io::Read,
    opener: &OpenWith,
    passphrase: &str,
) -> Result<Arc<TendVault>, TendError> {
    let (vault, _) = Vault::restore_with_passphrase(
        PathBuf::from(dir),
        backup,
        opener,
        passphrase,
        KdfParams::default(),
    )?;
    Ok(TendVault::wrap(vault))
}

/// As [`restore_vault`], the new vault sealed by a passphrase of its own.
#[uniffi::export]
pub async fn restore_vault_with_passphrase(
    dir: String,
    backup_path: String,
    opener: BackupOpener,
    passphrase: String,
) -> Result<Arc<TendVault>, TendError> {
    off_thread(move || {
        let (opener, backup) = (opener.core()?, backup_file(&backup_path)?);
        restore_with_passphrase(dir, backup, &opener, &passphrase)
    })
    .await
}

/// As [`restore_vault`], the new vault opening with a passphrase and the device secret.
#[uniffi::export]
pub async fn restore_vault_with_passphrase_and_device(
    dir: String,
    backup_path: String,
    opener: BackupOpener,
    passphrase: String,
    provider: Arc<dyn KeyProvider>,
) -> Result<Arc<TendVault>, TendError> {
    off_thread(move || {
        let (opener, backup) = (opener.core()?, backup_file(&backup_path)?);
        let (vault, _) = Provider::run(provider, |p| {
            Vault::restore_with_passphrase_and_device(
                PathBuf::from(dir),
                backup,
                &opener,
                &passphrase,
                p,
                KdfParams::default(),
            )
        })?;
        Ok(TendVault::wrap(vault))
    })
    .await
}

/// Panic wipe without unlocking: destroys the key and deletes every vault file.
#[uniffi::export]
pub async fn wipe_vault(dir: String) -> Result<(), TendError> {
    off_thread(move || Ok(Vault::wipe_at(PathBuf::from(dir))?)).await
}

#[uniffi::export]
impl TendVault {
    /// Everything this vault holds, sealed, written to `path` (replaced only
    /// once the whole backup is on disk): what a new phone restores from.
    pub async fn write_backup(
        &self,
        path: String,
        seal: BackupSeal,
    ) -> Result<BackupSummary, TendError> {
        self.with(move |v| Ok(v.write_backup_file(&seal.core()?, Path::new(&path))?))
            .await
    }

    /// Backups written on their own into a folder the app chose, sealed to
    /// an age recipient; `None` ends them. See `back_up_if_due`.
    pub async fn set_automatic_backups(
        &self,
        plan: Option<AutomaticBackups>,
    ) -> Result<(), TendError> {
        self.with(move |v| Ok(v.set_automatic_backups(plan.as_ref())?))
            .await
    }

    pub async fn automatic_backups(&self) -> Result<Option<AutomaticBackups>, TendError> {
        self.with(|v| Ok(v.automatic_backups()?)).await
    }

    /// Set once a newer copy of this vault took over (`TendError.Retired`
    /// for every change from then on).
    pub async fn retirement(&self) -> Result<Option<Retirement>, TendError> {
        self.with(|v| Ok(v.retirement()?)).await
    }

    /// For the app's background work (WorkManager, BGTaskScheduler): writes
    /// a backup if one is due, keeps the newest, and returns its path.
    pub async fn back_up_if_due(&self) -> Result<Option<String>, TendError> {
        self.with(|v| {
            let path = v.back_up_if_due(chrono::Utc::now())?;
            Ok(path.map(|p| p.to_string_lossy().into_owned()))
        })
        .await
    }

    /// Closes the database and forgets the key.
    pub fn lock(&self) {
        self.vault.lock();
    }

    pub fn is_locked(&self) -> bool {
        self.vault.is_locked()
    }

    pub async fn unlock(&self, provider: Arc<dyn KeyProvider>) -> Result<(), TendError> {
        self.with(move |v| Provider::run(provider, |p| v.unlock_wrapped(p)))
            .await
    }

    pub async fn unlock_with_passphrase(&self, passphrase: String) -> Result<(), TendError> {
        self.with(move |v| Ok(v.unlock_with_passphrase(&passphrase)?))
            .await
    }

    pub async fn unlock_with_passphrase_and_device(
        &self,
        passphrase: String,
        provider: Arc<dyn KeyProvider>,
    ) -> Result<(), TendError> {
        self.with(move |v| {
            Provider::run(provider, |p| {
                v.unlock_with_passphrase_and_device(&passphrase, p)
            })
        })
        .await
    }

    /// A second passphrase that, entered at unlock instead of the real one,
    /// destroys this vault and opens an empty one in its place.
    pub async fn set_duress_passphrase(
        &self,
        passphrase: String,
        duress: String,
    ) -> Result<(), TendError> {
        self.with(move |v| Ok(v.set_duress_passphrase(&passphrase, &duress)?))
            .await
    }

    pub async fn clear_duress_passphrase(&self, passphrase: String) -> Result<(), TendError> {
        self.with(move |v| Ok(v.clear_duress_passphrase(&passphrase)?))
            .await
    }

    /// Rewraps the key; the database is not rewritten.
    pub async fn change_passphrase(&self, old: String, new: String) -> Result<(), TendError> {
        self.with(move |v| Ok(v.change_passphrase(&old, &new, None)?))
            .await
    }

    /// Changes the passphrase and re-encrypts the database under a new data
    /// key, so an old copy of the header opens nothing.
    pub async fn change_passphrase_and_rekey(
        &self,
        old: String,
        new: String,
    ) -> Result<(), TendError> {
        self.with(move |v| Ok(v.change_passphrase_and_rekey(&old, &new)?))
            .await
    }

    /// Re-encrypts the database under a fresh key the provider wraps.
    pub async fn rekey(&self, provider: Arc<dyn KeyProvider>) -> Result<(), TendError> {
        self.with(move |v| Provider::run(provider, |p| v.rekey_wrapped(p)))
            .await
    }

    /// Panic wipe: locks, destroys the key and deletes every vault file.
    pub async fn wipe(&self) -> Result<(), TendError> {
        self.with(|v| Ok(v.wipe()?)).await
    }

    pub async fn display_name(&self) -> Result<Option<String>, TendError> {
        self.with(|v| Ok(v.display_name()?)).await
    }

    pub async fn set_display_name(&self, name: String) -> Result<(), TendError> {
        self.with(move |v| Ok(v.set_display_name(&name)?)).await
    }
}
