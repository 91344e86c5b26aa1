//! The one error apps see. Kotlin gets exceptions, Swift `throws`. Each of
//! the core's errors keeps its own kind; the core's envelope, card, care,
//! gathering, collective, recovery and backup errors cross as they are. No variant carries secrets or member
//! content: only fixed words, field names, numbers and line numbers.

use tend_core::care::CareError;
use tend_core::collective::CollectiveError;
use tend_core::comrades::CardError;
use tend_core::envelope::EnvelopeError;
use tend_core::gatherings::GatheringError;
use tend_core::identity::RecoveryError;
use tend_core::pulse::PulseError;
use tend_core::vault::BackupError;

use crate::numbers::big_count;

/// `Display` crosses too: Kotlin's `message` and Swift's `errorDescription`
/// carry these texts (see generate.sh).
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
pub enum TendError {
    #[error("wrong key or passphrase")]
    WrongKey,
    #[error("this vault is unlocked with {expected}, not {given}")]
    WrongUnlockMethod { expected: String, given: String },
    #[error("no vault there")]
    VaultNotFound,
    #[error("a vault already exists there")]
    VaultExists,
    #[error("the vault is locked")]
    Locked,
    #[error("the vault is damaged")]
    Damaged,
    #[error("made by a newer Tend; update the app")]
    NewerVersion,
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("invalid {field}: {problem}")]
    Invalid { field: String, problem: String },
    #[error("mood {value} is not on the scale of {steps} steps")]
    MoodOutOfScale { value: i32, steps: i32 },
    /// A scale has 3 to 10 steps.
    #[error("a mood scale has 3 to 10 steps, not {steps}")]
    MoodScaleSize { steps: i64 },
    #[error("{entries} entries use moods above {steps}")]
    MoodScaleShrink { steps: i32, entries: i64 },
    #[error("another {what} already has that name")]
    NameTaken { what: String },
    #[error("envelope refused: {problem}")]
    Envelope { problem: EnvelopeError },
    #[error("comrade card refused: {problem}")]
    Card { problem: CardError },
    #[error("care request: {problem}")]
    Care { problem: CareError },
    #[error("gathering: {problem}")]
    Gathering { problem: GatheringError },
    #[error("collective: {problem}")]
    Collective { problem: CollectiveError },
    #[error("pulse: {problem}")]
    Pulse { problem: PulseError },
    #[error("recovery: {problem}")]
    Recovery { problem: RecoveryError },
    #[error("backup refused: {problem}")]
    Backup { problem: BackupError },
    /// `line` is the file's line, where one is known.
    #[error("import failed: {problem}")]
    Import { line: Option<i64>, problem: String },
    #[error("this backup needs a passphrase")]
    PassphraseNeeded,
    /// zxcvbn's words: why, and what would help. Never the passphrase.
    #[error("that passphrase is too easy to guess. {reason} {suggestion}")]
    WeakPassphrase { reason: String, suggestion: String },
    /// The app's key store refused, or failed.
    #[error("the key provider failed: {reason}")]
    KeyProvider { reason: String },
    #[error("another program is using the vault right now; try again in a moment")]
    Busy,
    #[error("the vault's folder cannot be written (a read-only disk, or no permission)")]
    ReadOnly,
    /// A newer copy of this vault (restored on a new phone) took over.
    #[error("a newer copy of this vault has taken over; this one is read-only")]
    Retired,
    #[error("storage failed")]
    Storage,
    /// A bug in Tend: a panic caught at the boundary.
    #[error("internal error")]
    Internal,
}

/// Every core error by name, so a new one does not compile until it has a kind here.
impl TendError {
    /// What the app gave for `field` was refused, and why.
    pub(crate) fn invalid(field: &str, problem: &str) -> TendError {
        TendError::Invalid {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

impl From<tend_core::Error> for TendError {
    fn from(e: tend_core::Error) -> Self {
        use tend_core::Error as E;
        match e {
            E::WrongKey => TendError::WrongKey,
            E::WrongUnlockMethod { expected, given } => TendError::WrongUnlockMethod {
                expected: expected.into(),
                given: given.into(),
            },
            E::VaultNotFound => TendError::VaultNotFound,
            E::VaultExists => TendError::VaultExists,
            E::Locked => TendError::Locked,
            E::HeaderDamaged(_) | E::DatabaseDamaged => TendError::Damaged,
            E::UnsupportedHeaderVersion(_) | E::SchemaTooNew { .. } => TendError::NewerVersion,
            E::NotFound { what } => TendError::NotFound { what: what.into() },
            E::Invalid { field, problem } => TendError::Invalid {
                field: field.into(),
                problem: problem.into(),
            },
            E::MoodOutOfScale { value, steps } => TendError::MoodOutOfScale {
                value: value.into(),
                steps: steps.into(),
            },
            E::MoodScaleSize(steps) => TendError::MoodScaleSize {
                steps: big_count(steps),
            },
            E::MoodScaleShrink { steps, entries } => TendError::MoodScaleShrink {
                steps: steps.into(),
                entries: big_count(entries),
            },
            E::NameTaken { what } => TendError::NameTaken { what: what.into() },
            E::TagExists => TendError::NameTaken { what: "tag".into() },
            E::Envelope(problem) => TendError::Envelope { problem },
            E::Card(problem) => TendError::Card { problem },
            E::Care(problem) => TendError::Care { problem },
            E::Gathering(problem) => TendError::Gathering { problem },
            E::Collective(problem) => TendError::Collective { problem },
            E::Pulse(problem) => TendError::Pulse { problem },
            E::Recovery(problem) => TendError::Recovery { problem },
            E::Backup(problem) => TendError::Backup { problem },
            E::ImportLine { line, problem } => TendError::Import {
                line: Some(big_count(line)),
                problem,
            },
            E::Import(problem) => TendError::Import {
                line: None,
                problem: problem.into(),
            },
            E::PassphraseNeeded => TendError::PassphraseNeeded,
            E::WeakPassphrase { reason, suggestion } => {
                TendError::WeakPassphrase { reason, suggestion }
            }
            E::Busy => TendError::Busy,
            E::ReadOnly => TendError::ReadOnly,
            E::Retired => TendError::Retired,
            E::Storage(_) | E::Io { .. } => TendError::Storage,
        }
    }
}

/// A foreign callback (the app's key provider or listener) failed in a way
/// its declared errors do not cover.
impl From<uniffi::UnexpectedUniFFICallbackError> for TendError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        let _ = e;
        TendError::KeyProvider {
            reason: "the app's callback failed".into(),
        }
    }
}
