//! The whole-vault backup: the database as one plain SQLite image, behind a
//! one-line head, sealed with age (`docs/export-formats.md`, "Whole-vault
//! backup"). The vault knows no tables, so the image holds every table a
//! module owns, now and later. A restore makes a new vault, with a data key
//! and a header of its own, from an image checked to be exactly Tend's
//! schema; the layers above then carry on as after any open.

use std::ffi::CStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use rusqlite::ffi;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{Vault, connection, schema};
use crate::sealed::{self, OpenWith, Refused, SealWith};
use crate::{DataKey, Error, Result};

pub const VAULT_BACKUP_FORMAT: &str = "tend-vault";
pub const VAULT_BACKUP_VERSION: u32 = 1;
/// A backup whose database is larger is refused before it is read.
pub const MAX_VAULT_BACKUP_BYTES: u64 = 2 << 30;
/// The head is one line of JSON; nothing longer is read as one.
const MAX_HEAD_BYTES: u64 = 4096;
/// The image's name while attached to the vault's connection.
const ATTACHED: &CStr = c"tend_backup";

/// Why a whole-vault backup was refused. A wrong passphrase or identity is
/// [`Error::WrongKey`]; one from a newer Tend is [`Error::SchemaTooNew`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum BackupError {
    #[error("not a Tend vault backup")]
    NotABackup,
    #[error("the backup is damaged or cut short")]
    Damaged,
    #[error("the backup was made by a newer Tend; update the app")]
    NewerFormat,
    #[error("the backup is larger than 2 GiB")]
    TooLarge,
    #[error("the backup's passphrase work factor is too high for this device")]
    TooMuchWork,
    #[error("the backup holds a database that is not a Tend vault's")]
    ForeignDatabase,
}

/// What a backup says of itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct BackupSummary {
    pub made_at: DateTime<Utc>,
    /// The vault's schema version when it was made.
    pub schema: i64,
    /// The database image's size.
    pub database_bytes: u64,
}

#[derive(Serialize, Deserialize)]
struct Head {
    format: String,
    version: u32,
    schema: i64,
    made_at: DateTime<Utc>,
    database_bytes: u64,
}

/// A backup read whole, its age seal and its database checked.
pub(crate) struct Backup {
    head: Head,
    image: Zeroizing<Vec<u8>>,
}

impl Backup {
    pub(crate) fn summary(&self) -> BackupSummary {
        summary(&self.head)
    }
}

fn summary(head: &Head) -> BackupSummary {
    BackupSummary {
        made_at: head.made_at,
        schema: head.schema,
        database_bytes: head.database_bytes,
    }
}

impl Vault {
    /// Writes everything this vault holds (identity, every key, comrades,
    /// circles, collectives, gatherings, care, inbox and outbox, relays,
    /// settings, the journal) sealed as `with` says. A passphrase must be
    /// as strong as a vault's.
    pub fn write_backup(&self, with: &SealWith, out: impl Write) -> Result<BackupSummary> {
        if let SealWith::Passphrase(passphrase) = with {
            use age::secrecy::ExposeSecret;
            crate::passphrase::check(passphrase.expose_secret(), &[])?;
        }
        // A retired copy may be backed up too: its restore is the newest copy.
        let (schema, image) =
            self.with_conn(|conn| super::retirement::writing_nothing(conn, || export(conn)))?;
        let head = Head {
            format: VAULT_BACKUP_FORMAT.into(),
            version: VAULT_BACKUP_VERSION,
            schema,
            made_at: Utc::now(),
            database_bytes: image.bytes().len() as u64,
        };
        let io = || Error::io("writing the backup");
        let mut out = sealed::seal(with, out, "writing the backup")?;
        let mut line = serde_json::to_string(&head).expect("plain data serialises");
        line.push('\n');
        out.write_all(line.as_bytes()).map_err(io())?;
        out.write_all(image.bytes()).map_err(io())?;
        out.finish().map_err(io())?;
        Ok(summary(&head))
    }
}

impl Vault {
    /// [`Vault::write_backup`] into the file `path`, replaced only once the
    /// whole backup is on disk. The temporary file beside it has a random
    /// name, so no file of the member's is ever overwritten on the way.
    pub fn write_backup_file(&self, with: &SealWith, path: &Path) -> Result<BackupSummary> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("backup");
        let tmp = path.with_file_name(format!(".{name}.{}.part", uuid::Uuid::now_v7().simple()));
        super::header::write_file_atomically(path, &tmp, "writing the backup", |file| {
            let mut out = std::io::BufWriter::new(file);
            let summary = self.write_backup(with, &mut out)?;
            out.flush().map_err(Error::io("writing the backup"))?;
            Ok(summary)
        })
    }
}

/// Reads a backup whole and checks it, before any vault is made from it.
pub(crate) fn read(input: impl Read, with: &OpenWith) -> Result<Backup> {
    let mut input = BufReader::new(input);
    let start = input.fill_buf().map_err(Error::io("reading the backup"))?;
    if !sealed::is_age(start) {
        return Err(BackupError::NotABackup.into());
    }
    let mut plain = BufReader::new(sealed::open(input, with).map_err(|refused| match refused {
        Refused::WrongKey => Error::WrongKey,
        Refused::TooMuchWork => BackupError::TooMuchWork.into(),
        Refused::Damaged => BackupError::Damaged.into(),
    })?);
    let head = read_head(&mut plain)?;
    // Reserved whole, so no copy is left unwiped by growing; untouched
    // pages cost nothing, so a head that lies costs only what follows it.
    let mut image = Zeroizing::new(Vec::new());
    image
        .try_reserve_exact(head.database_bytes as usize)
        .map_err(|_| BackupError::TooLarge)?;
    (&mut plain)
        .take(head.database_bytes)
        .read_to_end(&mut image)
        .map_err(|_| BackupError::Damaged)?;
    // age checks its last chunk only at the end: read to it.
    let mut after = [0u8; 1];
    if image.len() as u64 != head.database_bytes || !matches!(plain.read(&mut after), Ok(0)) {
        return Err(BackupError::Damaged.into());
    }
    check_image(&image, head.schema)?;
    Ok(Backup { head, image })
}

fn read_head(plain: &mut impl BufRead) -> Result<Head> {
    let mut line = Vec::new();
    plain
        .take(MAX_HEAD_BYTES)
        .read_until(b'\n', &mut line)
        .map_err(|_| BackupError::Damaged)?;
    if line.pop() != Some(b'\n') {
        return Err(BackupError::NotABackup.into());
    }
    let head: Head = serde_json::from_slice(&line).map_err(|_| BackupError::NotABackup)?;
    if head.format != VAULT_BACKUP_FORMAT {
        return Err(BackupError::NotABackup.into());
    }
    if head.version > VAULT_BACKUP_VERSION {
        return Err(BackupError::NewerFormat.into());
    }
    if head.version == 0 || head.schema < 1 {
        return Err(BackupError::NotABackup.into());
    }
    if head.schema > schema::CURRENT {
        return Err(Error::SchemaTooNew {
            found: head.schema,
            supported: schema::CURRENT,
        });
    }
    if head.database_bytes > MAX_VAULT_BACKUP_BYTES {
        return Err(BackupError::TooLarge.into());
    }
    Ok(head)
}

/// The image must be a sound SQLite database whose schema is exactly what
/// Tend's migrations make at its version: no trigger, view or table of
/// anyone else's ever reaches a vault.
fn check_image(image: &[u8], version: i64) -> Result<()> {
    let checker = connection::open_in_memory()?;
    fn damaged<E>(_: E) -> Error {
        BackupError::Damaged.into()
    }
    // SAFETY: the image outlives `checker`, which reads it and never writes.
    unsafe { lend(&checker, c"main", image) }.map_err(damaged)?;
    let sound: String = checker
        .query_row("PRAGMA integrity_check(1)", [], |r| r.get(0))
        .map_err(damaged)?;
    if sound != "ok" {
        return Err(BackupError::Damaged.into());
    }
    let found = schema::version(&checker).map_err(damaged)?;
    let mut expected = connection::open_in_memory()?;
    schema::migrate_to(&mut expected, version)?;
    if found != version || schema_of(&checker).map_err(damaged)? != schema_of(&expected)? {
        return Err(BackupError::ForeignDatabase.into());
    }
    let orphans: i64 = checker
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .map_err(damaged)?;
    if orphans != 0 {
        return Err(BackupError::Damaged.into());
    }
    Ok(())
}

fn schema_of(conn: &Connection) -> Result<Vec<[Option<String>; 4]>> {
    let mut statement = conn.prepare(
        "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name, tbl_name",
    )?;
    let rows = statement.query_map([], |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Writes the new database at `path`, under `key`, with the backup's
/// tables at the backup's schema version (the migrations then carry it on).
pub(crate) fn fill(path: &Path, key: &DataKey, backup: &Backup) -> Result<()> {
    let conn = connection::open_in_memory()?;
    // SAFETY: the image outlives `conn`, which only reads it.
    unsafe { lend(&conn, c"main", &backup.image) }?;
    connection::attach_new(&conn, c"tend_restored", path, key)?;
    conn.query_row("SELECT sqlcipher_export('tend_restored')", [], |_| Ok(()))?;
    conn.pragma_update(Some("tend_restored"), "user_version", backup.head.schema)?;
    conn.execute_batch("DETACH tend_restored")?;
    Ok(())
}

/// A plain copy of the whole database, and its schema version.
fn export(conn: &Connection) -> Result<(i64, Serialized)> {
    attach_plain(conn)?;
    let copied = (|| {
        // One read transaction, so another process's write cannot land halfway.
        conn.execute_batch("BEGIN")?;
        let copy = (|| {
            conn.query_row("SELECT sqlcipher_export('tend_backup')", [], |_| Ok(()))?;
            schema::version(conn)
        })();
        match copy {
            Ok(version) => {
                conn.execute_batch("COMMIT")?;
                conn.pragma_update(Some("tend_backup"), "user_version", version)?;
                Ok((version, Serialized::of(conn, ATTACHED)?))
            }
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    })();
    conn.execute_batch("DETACH tend_backup")?;
    copied
}

/// An empty in-memory database beside the vault's, without a key.
fn attach_plain(conn: &Connection) -> Result<()> {
    Ok(conn.execute_batch("ATTACH ':memory:' AS tend_backup KEY ''")?)
}

/// Lets SQLite read `image` as the attached database `schema`, read-only,
/// without copying it.
///
/// # Safety
/// `image` must outlive the database's use on `conn`.
unsafe fn lend(conn: &Connection, schema: &CStr, image: &[u8]) -> rusqlite::Result<()> {
    let len = image.len() as i64;
    // SAFETY: the handle is live for the borrow of `conn`; read-only and
    // without FREEONCLOSE, SQLite neither writes nor frees the buffer.
    let rc = unsafe {
        ffi::sqlite3_deserialize(
            conn.handle(),
            schema.as_ptr(),
            image.as_ptr().cast_mut(),
            len,
            len,
            ffi::SQLITE_DESERIALIZE_READONLY,
        )
    };
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(rusqlite::Error::SqliteFailure(ffi::Error::new(rc), None))
    }
}

/// A database image SQLite copied out; wiped and freed on drop.
struct Serialized {
    ptr: *mut u8,
    len: usize,
}

impl Serialized {
    fn of(conn: &Connection, schema: &CStr) -> Result<Serialized> {
        let mut len: i64 = 0;
        // SAFETY: the handle is live; SQLite returns a buffer of `len` bytes
        // from sqlite3_malloc, or null.
        let ptr = unsafe { ffi::sqlite3_serialize(conn.handle(), schema.as_ptr(), &mut len, 0) };
        if ptr.is_null() || len < 0 {
            return Err(Error::Storage("the vault could not be copied".into()));
        }
        Ok(Serialized {
            ptr,
            len: len as usize,
        })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` holds `len` bytes until drop.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for Serialized {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        // SAFETY: as in `bytes`; the buffer is SQLite's to free.
        unsafe {
            std::slice::from_raw_parts_mut(self.ptr, self.len).zeroize();
            ffi::sqlite3_free(self.ptr.cast());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passphrase() -> SealWith {
        SealWith::Passphrase("heron lantern under the river bridge".to_owned().into())
    }

    #[test]
    fn an_image_of_a_vault_passes_its_own_checks() {
        let dir = tempfile::tempdir().unwrap();
        let vault =
            Vault::create_with_key(dir.path().join("v"), &DataKey::from_bytes([3; 32])).unwrap();
        let (version, image) = vault.with_conn(export).unwrap();
        assert_eq!(version, schema::CURRENT);
        check_image(image.bytes(), version).unwrap();
        let mut out = Vec::new();
        vault.write_backup(&passphrase(), &mut out).unwrap();
        let with = OpenWith::Passphrase("heron lantern under the river bridge".to_owned().into());
        let backup = read(out.as_slice(), &with).unwrap();
        let path = dir.path().join("restored.db");
        let key = DataKey::from_bytes([4; 32]);
        fill(&path, &key, &backup).unwrap();
        let conn = connection::open(&path, Some(&key), connection::Create::No).unwrap();
        assert_eq!(schema::version(&conn).unwrap(), schema::CURRENT);
    }
}
