//! The vault: one SQLCipher database per member, and the header that says
//! how its data key is supplied.
//!
//! Create or open it with a raw 32-byte data key (phone apps: the key is
//! wrapped by the Keystore or Keychain), with a passphrase (Argon2id wraps
//! the data key in the header), or with both a passphrase and the device's
//! key store. Lock it, change the passphrase, rotate the data key, set a
//! duress passphrase, or wipe it in a panic.
//!
//! The vault knows no domain. What the layers above need at every open
//! (my keys made, expired care swept) and from an integrity check arrives
//! as `Hooks`, which `crate::registry` assembles; the public constructors
//! live there too, so every vault is opened with them.

pub(crate) mod automatic_backups;
mod backup;
mod connection;
mod duress;
mod header;
pub(crate) mod memo;
pub(crate) mod retirement;
mod schema;
pub(crate) mod settings;
mod watch;
mod wrapped;

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rand::RngCore;
use rusqlite::{Connection, Transaction};

use crate::{DataKey, Error, Result};
pub use automatic_backups::AutomaticBackups;
pub(crate) use backup::{Backup, read as read_backup};
pub use backup::{
    BackupError, BackupSummary, MAX_VAULT_BACKUP_BYTES, VAULT_BACKUP_FORMAT, VAULT_BACKUP_VERSION,
};
use connection::Create;
pub use header::KdfParams;
use header::{Header, Secret, Slot};
pub use retirement::Retirement;
pub use schema::CURRENT as SCHEMA_VERSION;
#[cfg(test)]
pub(crate) use schema::{at_version, migrate};
pub(crate) use watch::TableListener;
pub use wrapped::KeyWrapper;
pub(crate) use wrapped::{create_with_passphrase_and_device, create_wrapped, open_wrapped};

/// The files of one vault, all inside one folder.
#[derive(Debug, Clone)]
pub struct VaultFiles {
    dir: PathBuf,
}

impl VaultFiles {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        VaultFiles { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn database(&self) -> PathBuf {
        self.dir.join("vault.db")
    }

    pub fn header(&self) -> PathBuf {
        self.dir.join("vault.header")
    }

    /// The header of a data-key rotation in progress.
    fn pending_header(&self) -> PathBuf {
        self.dir.join("vault.header.next")
    }

    /// The data key as the app's Keystore or Keychain wrapped it.
    pub fn wrapped_key(&self) -> PathBuf {
        self.dir.join("wrapped.key")
    }

    /// The wrapped key of a rekey in progress.
    fn pending_wrapped_key(&self) -> PathBuf {
        self.dir.join("wrapped.key.next")
    }

    /// Every file a vault can leave on disk, present or not.
    pub fn all(&self) -> Vec<PathBuf> {
        let db = self.database();
        let with_suffix = |suffix: &str| {
            let mut name = db.clone().into_os_string();
            name.push(suffix);
            PathBuf::from(name)
        };
        vec![
            db.clone(),
            with_suffix("-wal"),
            with_suffix("-shm"),
            with_suffix("-journal"),
            self.header(),
            self.pending_header(),
            self.header().with_extension("tmp"),
            self.pending_header().with_extension("tmp"),
            self.wrapped_key(),
            self.pending_wrapped_key(),
            self.wrapped_key().with_extension("tmp"),
            self.pending_wrapped_key().with_extension("tmp"),
        ]
    }

    pub fn exists(&self) -> bool {
        self.header().exists() || self.database().exists()
    }
}

/// A step run at every open, after the migrations, in one transaction
/// (application-services' `ConnectionInitializer::finish`).
pub(crate) type OpenStep = fn(&Connection, chrono::DateTime<chrono::Utc>) -> Result<()>;

/// Whether what a layer above keeps is sound (its search index, say).
pub(crate) type IntegrityCheck = fn(&Connection) -> Result<bool>;

/// What the layers above register with the vault.
pub(crate) struct Hooks {
    pub on_open: &'static [OpenStep],
    pub integrity: &'static [IntegrityCheck],
}

impl Hooks {
    fn open(&self, conn: &mut Connection) -> Result<()> {
        schema::migrate(conn)?;
        // A retired copy changes nothing, so nothing runs at its open.
        if retirement::of(conn)?.is_some() {
            return retirement::make_read_only(conn);
        }
        let tx = connection::write_transaction(conn)?;
        let now = chrono::Utc::now();
        for step in self.on_open {
            step(&tx, now)?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// What a new vault's database starts with.
#[derive(Clone, Copy)]
pub(crate) enum Contents<'a> {
    /// Tend's tables, empty.
    Fresh,
    /// Everything a backup holds (`backup::read` checked it).
    Backup(&'a Backup),
}

/// How the data key is supplied.
pub(crate) enum Unlock<'a> {
    AppKey(&'a DataKey),
    Passphrase(&'a str),
    /// The passphrase, and the key store that unwraps the device secret.
    PassphraseAndDevice(&'a str, &'a dyn KeyWrapper),
}

struct Unlocked {
    conn: Connection,
    key: DataKey,
    /// The device secret of a vault opened with a passphrase and the device
    /// key, kept while unlocked so the passphrase can be changed.
    device: Option<DataKey>,
    /// Dropped after `conn`, which writes into it.
    touched: Option<watch::Touched>,
    memo: memo::Memo,
}

impl Unlocked {
    fn new(conn: Connection, key: DataKey) -> Unlocked {
        Unlocked {
            conn,
            key,
            device: None,
            touched: None,
            memo: memo::Memo::default(),
        }
    }

    fn secret<'a>(&'a self, passphrase: &'a str) -> Secret<'a> {
        Secret {
            passphrase,
            device: self.device.as_ref(),
        }
    }
}

/// An open (or locked) vault. Safe to share between threads.
pub struct Vault {
    files: VaultFiles,
    state: Mutex<Option<Unlocked>>,
    hooks: &'static Hooks,
    watch: watch::Watch,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("dir", &self.files.dir)
            .field("locked", &self.is_locked())
            .finish()
    }
}

/// Creates a vault whose data key the app keeps (wrapped by Keystore or Keychain).
pub(crate) fn create_with_key(
    dir: impl Into<PathBuf>,
    key: &DataKey,
    from: Contents<'_>,
    hooks: &'static Hooks,
) -> Result<Vault> {
    Vault::create(
        VaultFiles::new(dir),
        key.clone(),
        Header::for_app_key(key),
        from,
        hooks,
    )
}

/// Creates a vault with a fresh random data key, wrapped by the passphrase.
pub(crate) fn create_with_passphrase(
    dir: impl Into<PathBuf>,
    passphrase: &str,
    params: KdfParams,
    from: Contents<'_>,
    hooks: &'static Hooks,
) -> Result<Vault> {
    check_passphrase(passphrase)?;
    let key = DataKey::generate();
    let secret = Secret {
        passphrase,
        device: None,
    };
    let header = Header::for_passphrase(&key, &secret, params)?;
    Vault::create(VaultFiles::new(dir), key, header, from, hooks)
}

pub(crate) fn open(
    dir: impl Into<PathBuf>,
    how: Unlock<'_>,
    hooks: &'static Hooks,
) -> Result<Vault> {
    let files = VaultFiles::new(dir);
    let unlocked = unlock(&files, how, hooks)?;
    Vault::from_parts(files, unlocked, hooks)
}

/// An unencrypted vault with the same schema and pragmas, so benchmarks
/// can show what encryption costs. Never used by the apps.
#[cfg(feature = "plaintext-baseline")]
pub(crate) fn plaintext_baseline(
    dir: impl Into<PathBuf>,
    create: bool,
    hooks: &'static Hooks,
) -> Result<Vault> {
    let files = VaultFiles::new(dir);
    let create = if create {
        fs::create_dir_all(files.dir()).map_err(Error::io("creating the vault folder"))?;
        Create::Yes
    } else {
        Create::No
    };
    let mut conn = connection::open(&files.database(), None, create)?;
    hooks.open(&mut conn)?;
    let key = DataKey::from_bytes([0; 32]);
    Vault::from_parts(files, Unlocked::new(conn, key), hooks)
}

impl Vault {
    /// Whether the header asks for a passphrase (`Some(true)`) or an app key.
    pub fn uses_passphrase(dir: impl Into<PathBuf>) -> Result<bool> {
        let files = VaultFiles::new(dir);
        Ok(read_header(&files)?.kdf_params().is_some())
    }

    fn create(
        files: VaultFiles,
        key: DataKey,
        header: Header,
        from: Contents<'_>,
        hooks: &'static Hooks,
    ) -> Result<Vault> {
        let unlocked = make(&files, key, &header, from, hooks)?;
        Self::from_parts(files, unlocked, hooks)
    }
    fn from_parts(files: VaultFiles, unlocked: Unlocked, hooks: &'static Hooks) -> Result<Vault> {
        let vault = Vault::locked(files, hooks);
        *vault.guard() = Some(vault.watched(unlocked)?);
        Ok(vault)
    }

    fn locked(files: VaultFiles, hooks: &'static Hooks) -> Vault {
        Vault {
            files,
            state: Mutex::new(None),
            hooks,
            watch: watch::Watch::default(),
        }
    }

    /// Watches what the connection writes from now on (not what opening it did).
    fn watched(&self, mut unlocked: Unlocked) -> Result<Unlocked> {
        unlocked.touched = Some(self.watch.install(&unlocked.conn)?);
        Ok(unlocked)
    }

    /// Told the tables each commit touched, after it commits; `None` stops it.
    pub(crate) fn set_table_listener(&self, listener: Option<TableListener>) {
        self.watch.set_listener(listener);
    }

    pub fn files(&self) -> &VaultFiles {
        &self.files
    }

    /// Closes the database and zeroizes the key. Every call but unlock and
    /// wipe then fails with [`Error::Locked`].
    pub fn lock(&self) {
        // Dropping the connection checkpoints the WAL; dropping the key zeroizes it.
        self.guard().take();
    }

    pub fn is_locked(&self) -> bool {
        self.guard().is_none()
    }

    /// This copy went to a new phone: read-only from now on. Writes
    /// nothing else, so a copy already retired stays as it is.
    pub(crate) fn retire_for_move(&self) -> Result<()> {
        let mut state = self.guard();
        let unlocked = state.as_mut().ok_or(Error::Locked)?;
        retirement::writing_nothing(&unlocked.conn, || {
            // Both settings, or neither.
            let tx = unlocked.conn.unchecked_transaction()?;
            retirement::retire_for_move(&tx, chrono::Utc::now())?;
            Ok(tx.commit()?)
        })?;
        retirement::make_read_only(&unlocked.conn)
    }

    /// Set once a newer copy of this vault (restored from a backup, or moved
    /// to a new phone) has taken over: this one is then read-only, and every
    /// change or send is refused with [`Error::Retired`].
    pub fn retirement(&self) -> Result<Option<Retirement>> {
        self.with_conn(retirement::of)
    }

    pub fn unlock_with_key(&self, key: &DataKey) -> Result<()> {
        let mut state = self.guard();
        if state.is_none() {
            *state = Some(self.watched(unlock(&self.files, Unlock::AppKey(key), self.hooks)?)?);
        }
        Ok(())
    }

    pub fn unlock_with_passphrase(&self, passphrase: &str) -> Result<()> {
        self.unlock_as(Unlock::Passphrase(passphrase))
    }

    /// For a vault made with [`Vault::create_with_passphrase_and_device`]:
    /// the key store unwraps the device secret, then the passphrase opens
    /// the header with it.
    pub fn unlock_with_passphrase_and_device(
        &self,
        passphrase: &str,
        wrapper: &dyn KeyWrapper,
    ) -> Result<()> {
        self.unlock_as(Unlock::PassphraseAndDevice(passphrase, wrapper))
    }

    fn unlock_as(&self, how: Unlock<'_>) -> Result<()> {
        let mut state = self.guard();
        if state.is_none() {
            let unlocked = unlock(&self.files, how, self.hooks)?;
            *state = Some(self.watched(unlocked)?);
        }
        Ok(())
    }

    /// Rewraps the data key under a new passphrase (the device secret, in
    /// that mode, stays). The database is untouched. A duress passphrase
    /// stays set, unless `params` change the key derivation's cost: then it
    /// is cleared, and must be set again.
    pub fn change_passphrase(&self, old: &str, new: &str, params: Option<KdfParams>) -> Result<()> {
        check_passphrase(new)?;
        let state = self.guard();
        let unlocked = state.as_ref().ok_or(Error::Locked)?;
        let header = self.real_header(unlocked, old)?;
        let new_header = match params.filter(|p| Some(*p) != header.kdf_params()) {
            Some(params) => Header::for_passphrase(&unlocked.key, &unlocked.secret(new), params)?,
            None => header.sealing(0, &unlocked.key, &unlocked.secret(new))?,
        };
        new_header.write_atomically(&self.files.header())
    }

    /// A second passphrase that, entered at unlock, destroys this vault and
    /// opens an empty one in its place (`docs/vault-format.md`, "A duress
    /// passphrase"). Replaces one set before. Refused if weak, or if it is
    /// the passphrase itself.
    pub fn set_duress_passphrase(&self, passphrase: &str, duress: &str) -> Result<()> {
        check_passphrase(duress)?;
        if duress == passphrase {
            return Err(Error::invalid(
                "duress passphrase",
                "must differ from the passphrase",
            ));
        }
        let state = self.guard();
        let unlocked = state.as_ref().ok_or(Error::Locked)?;
        let header = self.real_header(unlocked, passphrase)?;
        header
            .sealing(1, &DataKey::generate(), &unlocked.secret(duress))?
            .write_atomically(&self.files.header())
    }

    /// No duress passphrase any more; the header looks as it did before one
    /// was set.
    pub fn clear_duress_passphrase(&self, passphrase: &str) -> Result<()> {
        let state = self.guard();
        let unlocked = state.as_ref().ok_or(Error::Locked)?;
        self.real_header(unlocked, passphrase)?
            .without_duress()
            .write_atomically(&self.files.header())
    }

    /// The header, once `passphrase` is shown to open its data key; a
    /// duress passphrase here is only a wrong one.
    fn real_header(&self, unlocked: &Unlocked, passphrase: &str) -> Result<Header> {
        let header = read_header(&self.files)?;
        if header.data_key(&unlocked.secret(passphrase))? != unlocked.key {
            return Err(Error::WrongKey);
        }
        Ok(header)
    }

    /// Re-encrypts the database under a new app-supplied key.
    ///
    /// The app must keep the old key until this returns: a crash midway leaves
    /// a vault that opens with one key or the other, never neither.
    pub fn rekey(&self, new_key: &DataKey) -> Result<()> {
        let mut state = self.guard();
        let unlocked = state.as_mut().ok_or(Error::Locked)?;
        let header = read_header(&self.files)?;
        header.verify_app_key(&unlocked.key)?;
        self.rotate(unlocked, new_key.clone(), Header::for_app_key(new_key))
    }

    /// Re-encrypts the database under a fresh random data key, wrapped by the
    /// same passphrase.
    pub fn rotate_data_key(&self, passphrase: &str) -> Result<()> {
        self.rotate_under_passphrase(passphrase, passphrase)
    }

    /// Changes the passphrase and replaces the data key, re-encrypting every
    /// page: for when an old copy of the header may have been taken. With
    /// the old passphrase it still yields the old key, which then opens
    /// nothing. A duress passphrase stays set.
    pub fn change_passphrase_and_rekey(&self, old: &str, new: &str) -> Result<()> {
        check_passphrase(new)?;
        self.rotate_under_passphrase(old, new)
    }

    fn rotate_under_passphrase(&self, old: &str, new: &str) -> Result<()> {
        let mut state = self.guard();
        let unlocked = state.as_mut().ok_or(Error::Locked)?;
        let header = self.real_header(unlocked, old)?;
        let new_key = DataKey::generate();
        let new_header = header.sealing(0, &new_key, &unlocked.secret(new))?;
        self.rotate(unlocked, new_key, new_header)
    }

    /// Pending header first, then the rekey, then the header swap, so a crash
    /// at any point leaves one header whose key opens the database.
    fn rotate(&self, unlocked: &mut Unlocked, new_key: DataKey, new_header: Header) -> Result<()> {
        let pending = self.files.pending_header();
        new_header.write_atomically(&pending)?;
        if let Err(e) = connection::rekey(&unlocked.conn, &new_key) {
            let _ = fs::remove_file(&pending);
            return Err(e);
        }
        unlocked.key = new_key;
        fs::rename(&pending, self.files.header())
            .and_then(|()| header::sync_dir(&self.files.header()))
            .map_err(Error::io("replacing the vault header"))
    }

    /// Panic wipe: locks, destroys the wrapped key, deletes every vault file,
    /// and returns only once none is left.
    pub fn wipe(&self) -> Result<()> {
        let mut state = self.guard();
        state.take();
        wipe_files(&self.files)
    }

    /// Panic wipe without unlocking: a member under duress may not be able to.
    pub fn wipe_at(dir: impl Into<PathBuf>) -> Result<()> {
        wipe_files(&VaultFiles::new(dir))
    }

    /// `PRAGMA integrity_check`, SQLCipher's page HMAC check, and the
    /// registered checks (that the search index matches the entries it
    /// indexes).
    pub fn integrity_check(&self) -> Result<bool> {
        self.with_conn(|conn| {
            let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            let mut stmt = conn.prepare("PRAGMA cipher_integrity_check")?;
            let cipher_problems = stmt.query_map([], |_| Ok(()))?.count();
            let mut sound = ok == "ok" && cipher_problems == 0;
            // FTS5 checks itself through an INSERT.
            retirement::writing_nothing(conn, || {
                for check in self.hooks.integrity {
                    sound &= check(conn)?;
                }
                Ok(sound)
            })
        })
    }

    pub(crate) fn with_conn<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let mut state = self.guard();
        let unlocked = state.as_mut().ok_or(Error::Locked)?;
        let value = memo::within(&mut unlocked.memo, || f(&unlocked.conn))
            .map_err(|e| retirement::refused(&unlocked.conn, e));
        let touched = self.watch.take();
        drop(state);
        self.watch.report(touched);
        value
    }

    /// Runs `f` in one transaction: all of it commits, or none of it. What
    /// it touched is reported once it has committed. On a retired copy it
    /// may read; any write is refused with [`Error::Retired`].
    pub(crate) fn with_tx<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut state = self.guard();
        let unlocked = state.as_mut().ok_or(Error::Locked)?;
        let read_only = retirement::is_read_only(&unlocked.conn)?;
        let committed = memo::within(&mut unlocked.memo, || {
            let tx = match read_only {
                true => unlocked.conn.transaction()?,
                false => connection::write_transaction(&mut unlocked.conn)?,
            };
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        })
        .map_err(|e| retirement::refused(&unlocked.conn, e));
        let touched = self.watch.take();
        if committed.is_ok()
            && touched.contains("meta")
            && retirement::of(&unlocked.conn)?.is_some()
        {
            retirement::make_read_only(&unlocked.conn)?;
        }
        drop(state);
        if committed.is_ok() {
            self.watch.report(touched);
        }
        committed
    }

    fn guard(&self) -> MutexGuard<'_, Option<Unlocked>> {
        // A panic inside a transaction rolled it back; the connection is still sound.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A new database under `key` with `header` beside it, in a folder with no
/// vault files; nothing is left behind if it fails.
fn make(
    files: &VaultFiles,
    key: DataKey,
    header: &Header,
    from: Contents<'_>,
    hooks: &Hooks,
) -> Result<Unlocked> {
    if files.all().iter().any(|p| p.exists()) {
        return Err(Error::VaultExists);
    }
    let new_folder = !files.dir().exists();
    fs::create_dir_all(files.dir()).map_err(Error::io("creating the vault folder"))?;
    #[cfg(unix)]
    if new_folder {
        // Others on a shared desktop need not even see the file sizes.
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(files.dir(), fs::Permissions::from_mode(0o700))
            .map_err(Error::io("creating the vault folder"))?;
    }
    let made = (|| {
        if let Contents::Backup(backup) = from {
            backup::fill(&files.database(), &key, backup)?;
        }
        let mut conn = connection::open(&files.database(), Some(&key), Create::Yes)?;
        if let Contents::Backup(_) = from {
            retirement::forget_on_restore(&conn)?;
        }
        hooks.open(&mut conn)?;
        // A restored vault is another copy: an id of its own, and its
        // first vault's day of creation kept.
        let vault_id = uuid::Uuid::now_v7().to_string();
        let now = chrono::Utc::now().to_rfc3339();
        match from {
            Contents::Fresh => conn.execute(
                "INSERT INTO meta (key, value) VALUES ('vault_id', ?1), ('created_at', ?2)",
                (vault_id, now),
            )?,
            Contents::Backup(_) => {
                automatic_backups::forget_on_restore(&conn)?;
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('vault_id', ?1), ('restored_at', ?2)",
                    (vault_id, now),
                )?
            }
        };
        // The header is written last: a vault without one was never finished.
        header.write_atomically(&files.header())?;
        Ok(conn)
    })();
    match made {
        Ok(conn) => Ok(Unlocked::new(conn, key)),
        Err(e) => {
            for path in files.all() {
                let _ = fs::remove_file(path);
            }
            Err(e)
        }
    }
}

/// Before anything is written: a passphrase a guesser would find soon is
/// refused (`passphrase::check`).
fn check_passphrase(passphrase: &str) -> Result<()> {
    if passphrase.is_empty() {
        return Err(Error::invalid("passphrase", "must not be empty"));
    }
    crate::passphrase::check(passphrase, &[])
}

fn read_header(files: &VaultFiles) -> Result<Header> {
    match Header::read(&files.header()) {
        Err(Error::Io {
            kind: ErrorKind::NotFound,
            ..
        }) if files.database().exists() => Err(Error::HeaderDamaged("missing")),
        Err(Error::Io {
            kind: ErrorKind::NotFound,
            ..
        }) => Err(Error::VaultNotFound),
        other => other,
    }
}

#[derive(PartialEq)]
enum KeySource {
    Current,
    Pending,
}

fn unlock(files: &VaultFiles, how: Unlock<'_>, hooks: &Hooks) -> Result<Unlocked> {
    let header = read_header(files)?;
    let pending = files
        .pending_header()
        .exists()
        .then(|| Header::read(&files.pending_header()).ok())
        .flatten();
    // The device secret first: its failure says nothing of the passphrase.
    let (passphrase, device) = match &how {
        Unlock::AppKey(_) => (None, None),
        Unlock::Passphrase(p) => (Some(*p), None),
        Unlock::PassphraseAndDevice(p, wrapper) => {
            (Some(*p), Some(wrapped::device_secret(files, *wrapper)?))
        }
    };
    let secret = passphrase.map(|passphrase| Secret {
        passphrase,
        device: device.as_ref(),
    });
    let key_for = |h: &Header| match (&how, &secret) {
        (Unlock::AppKey(key), _) => h
            .verify_app_key(key)
            .map(|()| (Slot::Real((*key).clone()), None)),
        (_, Some(secret)) => h.open_slot(secret).map(|(slot, kek)| (slot, Some(kek))),
        (_, None) => Err(Error::WrongKey),
    };
    let current = key_for(&header);
    if let (Ok((Slot::Duress(decoy), _)), Some(secret)) = (&current, &secret) {
        let mut unlocked = duress::take_over(files, &header, decoy.clone(), secret, hooks)?;
        unlocked.device = device;
        return Ok(unlocked);
    }
    let mut candidates = Vec::new();
    if let Ok((Slot::Real(key), kek)) = &current {
        candidates.push((key.clone(), KeySource::Current, kek.clone()));
    }
    if let Some((Slot::Real(key), kek)) = pending.as_ref().and_then(|p| key_for(p).ok()) {
        candidates.push((key, KeySource::Pending, kek));
    }
    if candidates.is_empty() {
        return Err(current.err().unwrap_or(Error::WrongKey));
    }
    // Never let SQLite create a fresh empty database in place of a lost one.
    match fs::metadata(files.database()) {
        Ok(meta) if meta.len() > 0 => {}
        _ => return Err(Error::DatabaseDamaged),
    }
    let mut first_error = None;
    for (key, source, kek) in candidates {
        match connection::open(&files.database(), Some(&key), Create::No) {
            Ok(mut conn) => {
                finish_interrupted_rotation(files, &source)?;
                upgrade_header(files, &key, kek.as_ref())?;
                hooks.open(&mut conn)?;
                let mut unlocked = Unlocked::new(conn, key);
                unlocked.device = device;
                return Ok(unlocked);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        // The key fits a header but not the database: a rotation moved on without it.
        Some(Error::DatabaseDamaged) if pending.is_some() => Err(Error::WrongKey),
        Some(e) => Err(e),
        None => Err(Error::WrongKey),
    }
}

/// The header of the passphrase vault in `dir` as version 1 held its key.
#[cfg(feature = "testing")]
pub(crate) fn version_1_header(dir: &Path, passphrase: &str) -> Result<Vec<u8>> {
    let header = read_header(&VaultFiles::new(dir))?;
    let secret = Secret {
        passphrase,
        device: None,
    };
    match header.open_slot(&secret)? {
        (Slot::Real(key), kek) => Ok(header.as_version_1(&key, &kek)?.encode()),
        (Slot::Duress(_), _) => Err(Error::WrongKey),
    }
}

/// What every passphrase unlock does first: the header decoded and its
/// slots tried. Whether one opened.
#[cfg(feature = "testing")]
pub(crate) fn opens_header(bytes: &[u8], passphrase: &str) -> bool {
    let secret = Secret {
        passphrase,
        device: None,
    };
    Header::decode(bytes).is_ok_and(|h| h.open_slot(&secret).is_ok())
}

/// A hostile header, decoded, and if it decodes, encoded back unchanged:
/// for the fuzzer.
#[cfg(feature = "testing")]
pub(crate) fn check_header(bytes: &[u8]) {
    if let Ok(header) = Header::decode(bytes) {
        assert_eq!(
            header.encode(),
            bytes,
            "a header that decodes is read as written"
        );
    }
}

/// A passphrase header from before duress slots is rewritten in the
/// current layout, so every vault's header looks alike.
fn upgrade_header(files: &VaultFiles, key: &DataKey, kek: Option<&header::SlotKey>) -> Result<()> {
    let header = read_header(files)?;
    match kek {
        Some(kek) if header.version() < header::VERSION => header
            .sealing_under(0, key, kek)?
            .write_atomically(&files.header()),
        _ => Ok(()),
    }
}

fn finish_interrupted_rotation(files: &VaultFiles, source: &KeySource) -> Result<()> {
    let pending = files.pending_header();
    if !pending.exists() {
        return Ok(());
    }
    let result = match source {
        KeySource::Pending => fs::rename(&pending, files.header()),
        KeySource::Current => fs::remove_file(&pending),
    };
    result
        .and_then(|()| header::sync_dir(&pending))
        .map_err(Error::io("finishing an interrupted key rotation"))
}

fn wipe_files(files: &VaultFiles) -> Result<()> {
    // Crypto-erase first: without the wrapped key the database is noise.
    for header in [files.header(), files.pending_header()] {
        if let Ok(meta) = fs::metadata(&header) {
            let mut noise = vec![0u8; meta.len() as usize];
            rand::rngs::OsRng.fill_bytes(&mut noise);
            let _ = fs::write(&header, &noise)
                .and_then(|()| fs::File::open(&header).and_then(|f| f.sync_all()));
        }
    }
    for path in files.all() {
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("deleting vault files")(e)),
        }
    }
    let _ = header::sync_dir(&files.header());
    if files.all().iter().any(|p| p.exists()) {
        return Err(Error::Io {
            context: "deleting vault files",
            kind: ErrorKind::Other,
        });
    }
    Ok(())
}
