//! A copy of a vault that a newer copy replaced (a restore from backup, a
//! move to a new phone) is retired: kept read-only, so two copies never
//! act as one member at once. Which copy is newer is decided by when each
//! was born, the moment it was created or restored; the layers above carry
//! the news between copies (`delivery`'s move notices).

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::settings;
use crate::{Error, Result};

const RETIRED_AT: &str = "retired_at";
const REPLACED_BY_BORN_AT: &str = "retired_by_copy_born_at";

/// When this copy learnt that a newer one took over, and when that one was born.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Retirement {
    pub retired_at: DateTime<Utc>,
    pub newer_copy_born_at: DateTime<Utc>,
}

/// Which copy of the member's vault this one is.
pub(crate) struct Copy {
    pub id: String,
    pub born_at: DateTime<Utc>,
}

/// This copy's id, and when it was restored, or else created.
pub(crate) fn this_copy(conn: &Connection) -> Result<Copy> {
    let id = settings::get(conn, "vault_id")?.ok_or(Error::DatabaseDamaged)?;
    let born_at = match settings::get_time(conn, "restored_at")? {
        Some(at) => at,
        None => settings::get_time(conn, "created_at")?.unwrap_or(DateTime::<Utc>::MIN_UTC),
    };
    Ok(Copy { id, born_at })
}

/// When this copy was restored, if it was.
pub(crate) fn restored_at(conn: &Connection) -> Result<Option<DateTime<Utc>>> {
    settings::get_time(conn, "restored_at")
}

pub(crate) fn of(conn: &Connection) -> Result<Option<Retirement>> {
    let Some(retired_at) = settings::get_time(conn, RETIRED_AT)? else {
        return Ok(None);
    };
    Ok(Some(Retirement {
        retired_at,
        newer_copy_born_at: settings::get_time(conn, REPLACED_BY_BORN_AT)?
            .ok_or(Error::DatabaseDamaged)?,
    }))
}

/// Retires this copy when the copy `other`, born at `born_at`, is newer.
/// Whether it did; once retired, a copy stays so. Takes effect for the
/// connection when the transaction commits (`Vault::with_tx`).
pub(crate) fn retire_if_newer(
    conn: &Connection,
    other: &str,
    born_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let me = this_copy(conn)?;
    if other == me.id || born_at <= me.born_at || of(conn)?.is_some() {
        return Ok(false);
    }
    settings::set_time(conn, RETIRED_AT, now)?;
    settings::set_time(conn, REPLACED_BY_BORN_AT, born_at)?;
    Ok(true)
}

/// Retires this copy now: it sent itself to a new phone, which is born
/// after this moment.
pub(crate) fn retire_for_move(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    if of(conn)?.is_none() {
        settings::set_time(conn, RETIRED_AT, now)?;
        settings::set_time(conn, REPLACED_BY_BORN_AT, now)?;
    }
    Ok(())
}

/// A restored copy is not retired because the copy it came from was.
pub(crate) fn forget_on_restore(conn: &Connection) -> Result<()> {
    settings::delete(conn, RETIRED_AT)?;
    settings::delete(conn, REPLACED_BY_BORN_AT)
}

/// From now on SQLite itself refuses every write on this connection.
pub(crate) fn make_read_only(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "query_only", true)?;
    Ok(())
}

/// Runs `f`, which writes nothing to the vault itself (a copy into an
/// attached in-memory database, FTS5's check), on a retired copy too.
pub(crate) fn writing_nothing<T>(conn: &Connection, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let read_only = is_read_only(conn)?;
    if read_only {
        conn.pragma_update(None, "query_only", false)?;
    }
    let value = f();
    if read_only {
        make_read_only(conn)?;
    }
    value
}

/// Asked at every transaction, so the statement is prepared once.
pub(crate) fn is_read_only(conn: &Connection) -> Result<bool> {
    Ok(conn
        .prepare_cached("PRAGMA query_only")?
        .query_row([], |r| r.get(0))?)
}

/// What a write refused by a read-only connection means to the caller.
pub(crate) fn refused(conn: &Connection, e: Error) -> Error {
    match e {
        Error::ReadOnly if is_read_only(conn).unwrap_or(false) => Error::Retired,
        e => e,
    }
}
