//! Which tables each commit touched, so change notices follow what really
//! changed. SQLite's pre-update hook sees every row written, in WITHOUT
//! ROWID tables too (the update hook misses those). What a commit touched
//! is handed on after the vault's lock is released; a rollback drops it.
//!
//! rusqlite wraps the hook only with bindings generated at build time
//! (libclang on every build machine, phones included), so the one C call is
//! declared here; SQLite is built with it (`.cargo/config.toml`).

use std::collections::BTreeSet;
use std::ffi::{CStr, c_char, c_int, c_void};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use rusqlite::Connection;
use rusqlite::ffi::sqlite3;

type PreUpdate = unsafe extern "C" fn(
    ctx: *mut c_void,
    db: *mut sqlite3,
    op: c_int,
    schema: *const c_char,
    table: *const c_char,
    old_rowid: i64,
    new_rowid: i64,
);

unsafe extern "C" {
    fn sqlite3_preupdate_hook(
        db: *mut sqlite3,
        hook: Option<PreUpdate>,
        ctx: *mut c_void,
    ) -> *mut c_void;
}

/// Records the table; never unwinds into SQLite.
unsafe extern "C" fn record(
    ctx: *mut c_void,
    _: *mut sqlite3,
    _: c_int,
    schema: *const c_char,
    table: *const c_char,
    _: i64,
    _: i64,
) {
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: `ctx` is the set a live `Touched` keeps (see `install`);
        // SQLite passes valid C strings for the duration of the call.
        let (set, schema, table) = unsafe {
            (
                &*(ctx as *const Mutex<BTreeSet<String>>),
                CStr::from_ptr(schema),
                CStr::from_ptr(table),
            )
        };
        if schema.to_bytes() != b"main" {
            return;
        }
        if let Ok(table) = table.to_str() {
            let mut set = lock(set);
            if !set.contains(table) {
                set.insert(table.to_owned());
            }
        }
    });
}

use crate::Result;

/// Keeps the recorded set alive as long as the connection that writes
/// into it: declared after the connection, so it is dropped after it.
pub(crate) struct Touched {
    _alive: Arc<Mutex<BTreeSet<String>>>,
}

/// Told the tables a commit touched, on the thread that committed.
pub(crate) type TableListener = Arc<dyn Fn(&BTreeSet<String>) + Send + Sync>;

#[derive(Default)]
pub(crate) struct Watch {
    touched: Arc<Mutex<BTreeSet<String>>>,
    listener: RwLock<Option<TableListener>>,
}

fn lock(set: &Mutex<BTreeSet<String>>) -> MutexGuard<'_, BTreeSet<String>> {
    set.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Watch {
    /// Records what `conn` writes from now on, for as long as the returned
    /// guard lives; keep it beside the connection and drop it after.
    pub fn install(&self, conn: &Connection) -> Result<Touched> {
        let set = self.touched.clone();
        let ctx = Arc::as_ptr(&set) as *mut c_void;
        // SAFETY: the handle is live for the borrow; `ctx` stays valid while
        // `Touched` holds the Arc, which outlives the connection.
        unsafe { sqlite3_preupdate_hook(conn.handle(), Some(record), ctx) };
        Ok(Touched { _alive: set })
    }

    /// What was touched since the last call; report it once the vault's
    /// lock is released, so a listener may call back into the vault.
    pub fn take(&self) -> BTreeSet<String> {
        std::mem::take(&mut *lock(&self.touched))
    }

    pub fn report(&self, tables: BTreeSet<String>) {
        if tables.is_empty() {
            return;
        }
        let listener = self
            .listener
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        if let Some(listener) = listener {
            listener(&tables);
        }
    }

    pub fn set_listener(&self, listener: Option<TableListener>) {
        *self
            .listener
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = listener;
    }
}
