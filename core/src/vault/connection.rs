//! Opening a SQLCipher connection: the key, the key check, then the pragmas.

use std::ffi::CStr;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::{DataKey, Error, Result};

pub(crate) enum Create {
    Yes,
    No,
}

/// Opens and keys the database, proves the key, and refuses newer schemas,
/// all before anything is written.
pub(crate) fn open(path: &Path, key: Option<&DataKey>, create: Create) -> Result<Connection> {
    tend_page_crypto::linked();
    initialize_once()?;
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_PRIVATE_CACHE;
    if let Create::Yes = create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags)?;
    // SQLCipher logs "hmac check failed" and the like to stderr by default.
    conn.query_row("PRAGMA cipher_log_level = NONE", [], |_| Ok(()))?;
    // Not `cipher_memory_security`: wiping every allocation made a search
    // 585 times slower (docs/performance.md, issue 18). SQLCipher keeps its
    // keys in a private heap it overwrites on free regardless, and the page
    // cipher (ours) wipes its AES keys (the `zeroize` features).
    if let Some(key) = key {
        key_database(&conn, c"main", key)?;
    }
    // The first read proves the key: a wrong one fails here as "not a database".
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
        .map_err(|e| match Error::from(e) {
            Error::Storage(_) => Error::DatabaseDamaged,
            other => other,
        })?;
    super::schema::check_not_newer(&conn)?;
    configure(&conn)?;
    Ok(conn)
}

/// A plain database in memory, for reading what nobody vouches for: a
/// backup's image. SQLite's defensive mode, and no function or virtual
/// table the schema names runs unless SQLite trusts it.
pub(crate) fn open_in_memory() -> Result<Connection> {
    initialize_once()?;
    let conn = Connection::open_in_memory()?;
    conn.query_row("PRAGMA cipher_log_level = NONE", [], |_| Ok(()))?;
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA,
        false,
    )?;
    Ok(conn)
}

/// SQLite marks itself initialised before it runs SQLCipher's start-up
/// (`SQLITE_EXTRA_INIT`), so a second thread's first open could key its
/// database while SQLCipher was still starting, and fail ("keying failed",
/// `tests/first_open.rs`). Every thread waits here for the whole start-up.
fn initialize_once() -> Result<()> {
    static STARTED: std::sync::OnceLock<std::ffi::c_int> = std::sync::OnceLock::new();
    // SAFETY: sqlite3_initialize may be called at any time, from any thread.
    let rc = *STARTED.get_or_init(|| unsafe { rusqlite::ffi::sqlite3_initialize() });
    if rc != rusqlite::ffi::SQLITE_OK {
        return Err(Error::Storage(format!("SQLite did not start (code {rc})")));
    }
    Ok(())
}

fn configure(conn: &Connection) -> Result<()> {
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA secure_delete = ON;
         PRAGMA temp_store = MEMORY;",
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}

/// Keys the database `schema` (main, or one just attached) before its first read.
fn key_database(conn: &Connection, schema: &CStr, key: &DataKey) -> Result<()> {
    apply_key(conn, key, KeyCall::Key(schema))?;
    // Page HMACs with SHA-256: phones' ARMv8 crypto extensions accelerate
    // it, few accelerate SHA-512 (SQLCipher's default). Add one entry:
    // 2.3x plain SQLite with SHA-512, about 1.7x with SHA-256.
    let schema = schema.to_str().expect("schema names are ASCII");
    conn.execute_batch(&format!(
        "PRAGMA {schema}.cipher_hmac_algorithm = HMAC_SHA256;"
    ))?;
    Ok(())
}

/// Attaches a new vault database at `path` as `schema`, keyed as `open` keys one.
pub(crate) fn attach_new(
    conn: &Connection,
    schema: &CStr,
    path: &Path,
    key: &DataKey,
) -> Result<()> {
    let name = schema.to_str().expect("schema names are ASCII");
    let path = path
        .to_str()
        .ok_or(Error::invalid("vault folder", "must be valid UTF-8"))?;
    conn.execute(&format!("ATTACH ?1 AS {name}"), [path])?;
    key_database(conn, schema, key)
}

/// Changes the database key in place (SQLCipher rewrites every page).
pub(crate) fn rekey(conn: &Connection, new_key: &DataKey) -> Result<()> {
    apply_key(conn, new_key, KeyCall::Rekey)
}

enum KeyCall<'a> {
    Key(&'a CStr),
    Rekey,
}

/// Through the C API rather than `PRAGMA key = ...`, so the only copy of the
/// key text is our zeroized buffer, not an SQL string inside rusqlite.
fn apply_key(conn: &Connection, key: &DataKey, call: KeyCall) -> Result<()> {
    let text = key.sqlcipher_pragma_value();
    let len = text.len() as std::ffi::c_int;
    // SAFETY: the handle is live for the borrow of `conn`; SQLCipher copies the key.
    let rc = unsafe {
        let db = conn.handle();
        match call {
            KeyCall::Key(schema) => {
                rusqlite::ffi::sqlite3_key_v2(db, schema.as_ptr(), text.as_ptr().cast(), len)
            }
            KeyCall::Rekey => rusqlite::ffi::sqlite3_rekey(db, text.as_ptr().cast(), len),
        }
    };
    if rc != rusqlite::ffi::SQLITE_OK {
        // What SQLite says of it (never the key).
        // SAFETY: the handle is live; the message is copied before any other call.
        let said = unsafe {
            let db = conn.handle();
            let message = std::ffi::CStr::from_ptr(rusqlite::ffi::sqlite3_errmsg(db));
            format!(
                "{} (extended {})",
                message.to_string_lossy(),
                rusqlite::ffi::sqlite3_extended_errcode(db)
            )
        };
        return Err(Error::Storage(format!("keying failed (code {rc}: {said})")));
    }
    Ok(())
}

/// A transaction that takes the write lock at `BEGIN`, so another process
/// holding it makes this one wait (the busy timeout) rather than fail: a
/// deferred transaction that starts reading and then writes cannot wait.
pub(crate) fn write_transaction(conn: &mut Connection) -> Result<rusqlite::Transaction<'_>> {
    Ok(conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
}

#[cfg(test)]
mod tests {
    /// Fails if SQLCipher was built without `.cargo/config.toml`'s flags.
    #[test]
    fn sqlcipher_uses_tends_page_crypto() {
        let dir = tempfile::tempdir().unwrap();
        let vault = crate::Vault::create_with_key(dir.path(), &crate::DataKey::from_bytes([1; 32]))
            .unwrap();
        let provider: String = vault
            .with_conn(|c| Ok(c.query_row("PRAGMA cipher_provider", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(provider, "rustcrypto");
    }
}
