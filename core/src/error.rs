//! One rich error for the whole core.
//!
//! Messages never carry keys, passphrases or anything the member wrote:
//! they end up in logs and crash reports.

use std::io;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("wrong key or passphrase")]
    WrongKey,
    #[error("no vault here")]
    VaultNotFound,
    #[error("a vault already exists here")]
    VaultExists,
    #[error("the vault is locked")]
    Locked,
    #[error("this vault is unlocked with {expected}, not {given}")]
    WrongUnlockMethod {
        expected: &'static str,
        given: &'static str,
    },
    #[error("the vault header is damaged: {0}")]
    HeaderDamaged(&'static str),
    #[error("the vault header has version {0}, newer than this app understands")]
    UnsupportedHeaderVersion(u8),
    #[error("the vault database is damaged or is not a Tend vault")]
    DatabaseDamaged,
    #[error(
        "the vault was written by a newer Tend (schema {found}, this app knows {supported}); update the app"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("{what} not found")]
    NotFound { what: &'static str },
    #[error("invalid {field}: {problem}")]
    Invalid {
        field: &'static str,
        problem: &'static str,
    },
    #[error("mood {value} is not on the scale of {steps} steps")]
    MoodOutOfScale { value: u8, steps: u8 },
    #[error("a mood scale has 3 to 10 steps, not {0}")]
    MoodScaleSize(usize),
    #[error(
        "{entries} entries use moods above {steps}; a scale of {steps} steps would orphan them"
    )]
    MoodScaleShrink { steps: u8, entries: u64 },
    #[error("a tag with that name already exists; merge the two instead")]
    TagExists,
    #[error("another {what} already has that name")]
    NameTaken { what: &'static str },
    #[error("comrade card refused: {0}")]
    Card(#[from] crate::comrades::CardError),
    #[error("envelope refused: {0}")]
    Envelope(#[from] crate::envelope::EnvelopeError),
    #[error("care request: {0}")]
    Care(#[from] crate::care::CareError),
    #[error("gathering: {0}")]
    Gathering(#[from] crate::gatherings::GatheringError),
    #[error("collective: {0}")]
    Collective(#[from] crate::collective::CollectiveError),
    #[error("pulse: {0}")]
    Pulse(#[from] crate::pulse::PulseError),
    #[error("recovery: {0}")]
    Recovery(#[from] crate::identity::RecoveryError),
    #[error("backup refused: {0}")]
    Backup(#[from] crate::vault::BackupError),
    #[error("import, line {line}: {problem}")]
    ImportLine { line: u64, problem: String },
    #[error("import: {0}")]
    Import(&'static str),
    #[error("the backup is encrypted; a passphrase is needed")]
    PassphraseNeeded,
    /// zxcvbn's fixed words only: never the passphrase.
    #[error("that passphrase is too easy to guess. {reason} {suggestion}")]
    WeakPassphrase { reason: String, suggestion: String },
    #[error("another program is using the vault right now; try again in a moment")]
    Busy,
    #[error(
        "the vault's folder cannot be written (a read-only disk, or no permission); the vault itself is not damaged"
    )]
    ReadOnly,
    #[error(
        "a newer copy of this vault (restored from a backup, or moved to a new phone) has taken over; this one is read-only and sends nothing"
    )]
    Retired,
    #[error("storage error ({0})")]
    Storage(String),
    #[error("i/o error while {context}: {kind}")]
    Io {
        context: &'static str,
        kind: io::ErrorKind,
    },
}

impl Error {
    pub(crate) fn io(context: &'static str) -> impl FnOnce(io::Error) -> Error {
        move |e| Error::Io {
            context,
            kind: e.kind(),
        }
    }

    /// The vault itself failed (storage, a lock, retirement), rather than
    /// one input being refused: a sync stops for the first, and goes on
    /// past the second.
    pub(crate) fn is_the_vaults(&self) -> bool {
        matches!(
            self,
            Error::VaultNotFound
                | Error::Locked
                | Error::HeaderDamaged(_)
                | Error::UnsupportedHeaderVersion(_)
                | Error::DatabaseDamaged
                | Error::SchemaTooNew { .. }
                | Error::Busy
                | Error::ReadOnly
                | Error::Retired
                | Error::Storage(_)
                | Error::Io { .. }
        )
    }

    pub(crate) fn invalid(field: &'static str, problem: &'static str) -> Error {
        Error::Invalid { field, problem }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode;
        match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => {
                Error::DatabaseDamaged
            }
            Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => Error::Busy,
            // SQLite opens a read-only file for reading, then cannot make the
            // WAL's shared-memory file beside it.
            Some(ErrorCode::ReadOnly) | Some(ErrorCode::CannotOpen) => Error::ReadOnly,
            // Only the code: SQLite's message can quote a constraint's value.
            Some(code) => Error::Storage(format!("{code:?}")),
            None => match e {
                rusqlite::Error::QueryReturnedNoRows => Error::NotFound { what: "row" },
                rusqlite::Error::FromSqlConversionFailure(..)
                | rusqlite::Error::IntegralValueOutOfRange(..)
                | rusqlite::Error::InvalidColumnType(..) => Error::DatabaseDamaged,
                _ => Error::Storage("database access".into()),
            },
        }
    }
}

impl From<rusqlite::types::FromSqlError> for Error {
    fn from(_: rusqlite::types::FromSqlError) -> Self {
        Error::DatabaseDamaged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_and_read_only_storage_say_what_happened() {
        let sqlite = |code| rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None);
        assert!(matches!(
            Error::from(sqlite(rusqlite::ffi::SQLITE_BUSY)),
            Error::Busy
        ));
        assert!(matches!(
            Error::from(sqlite(rusqlite::ffi::SQLITE_READONLY)),
            Error::ReadOnly
        ));
        assert!(matches!(
            Error::from(sqlite(rusqlite::ffi::SQLITE_CANTOPEN)),
            Error::ReadOnly
        ));
        assert!(matches!(
            Error::from(sqlite(rusqlite::ffi::SQLITE_NOTADB)),
            Error::DatabaseDamaged
        ));
    }
}
