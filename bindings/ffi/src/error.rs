//! The one error apps see: small and stable. Kotlin gets exceptions, Swift
//! `throws`. It maps the core's richer errors and carries no secrets or
//! member content: only fixed words, field names and line numbers.

use tend_core::care::{Action, CareError, Status};
use tend_core::comrades::CardError;
use tend_core::envelope::EnvelopeError;
use tend_core::gatherings::InviteError;

#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum TendError {
    #[error("wrong key or passphrase")]
    WrongKey,
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
    #[error("another {what} already has that name")]
    NameTaken { what: String },
    #[error("envelope refused: {problem:?}")]
    Envelope { problem: EnvelopeProblem },
    #[error("comrade card refused: {problem:?}")]
    Card { problem: CardProblem },
    #[error("care request: {problem:?}")]
    Care { problem: CareProblem },
    #[error("gathering: {problem:?}")]
    Invite { problem: InviteError },
    /// `line` is the file's line, where one is known.
    #[error("import failed: {problem}")]
    Import { line: Option<u64>, problem: String },
    /// The app's key store refused, or failed.
    #[error("the key provider failed: {reason}")]
    KeyProvider { reason: String },
    #[error("another program is using the vault right now; try again in a moment")]
    Busy,
    #[error("the vault's folder cannot be written (a read-only disk, or no permission)")]
    ReadOnly,
    #[error("storage failed")]
    Storage,
    /// A bug in Tend: a panic caught at the boundary.
    #[error("internal error")]
    Internal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum EnvelopeProblem {
    UnknownSender,
    BlockedSender,
    NotForMe,
    Tampered,
    Replayed,
    Expired,
    TooLarge,
    Malformed,
    UnsupportedVersion,
}

/// The core's own enum: why a gathering change or envelope was refused.
#[uniffi::remote(Enum)]
pub enum InviteError {
    NotOrganiser,
    NotInvited,
    UnknownGathering,
}

/// Why a care action, or a care envelope, was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CareProblem {
    InvalidTransition { action: Action, status: Status },
    NotRequester { action: Action },
    NotTakingPart,
    TooManyParked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CardProblem {
    Malformed,
    Truncated,
    Checksum,
    UnsupportedVersion,
    BadKey,
    BadProof,
}

impl From<tend_core::Error> for TendError {
    fn from(e: tend_core::Error) -> Self {
        use tend_core::Error as E;
        match e {
            E::WrongKey => TendError::WrongKey,
            E::VaultNotFound => TendError::VaultNotFound,
            E::VaultExists => TendError::VaultExists,
            E::Locked => TendError::Locked,
            E::HeaderDamaged(_) | E::DatabaseDamaged => TendError::Damaged,
            E::UnsupportedHeaderVersion(_) | E::SchemaTooNew { .. } => TendError::NewerVersion,
            E::NotFound { what } => TendError::NotFound { what: what.into() },
            E::NameTaken { what } => TendError::NameTaken { what: what.into() },
            E::TagExists => TendError::NameTaken { what: "tag".into() },
            E::Envelope(e) => TendError::Envelope { problem: e.into() },
            E::Card(e) => TendError::Card { problem: e.into() },
            E::Care(e) => TendError::Care { problem: e.into() },
            E::Invite(problem) => TendError::Invite { problem },
            E::ImportLine { line, problem } => TendError::Import {
                line: Some(line),
                problem,
            },
            E::Import(problem) => TendError::Import {
                line: None,
                problem: problem.into(),
            },
            E::PassphraseNeeded => TendError::Invalid {
                field: "passphrase".into(),
                problem: "this backup needs one".into(),
            },
            E::Busy => TendError::Busy,
            E::ReadOnly => TendError::ReadOnly,
            E::Storage(_) | E::Io { .. } => TendError::Storage,
            E::Invalid { field, problem } => TendError::Invalid {
                field: field.into(),
                problem: problem.into(),
            },
            other => TendError::Invalid {
                field: "input".into(),
                problem: other.to_string(),
            },
        }
    }
}

impl From<EnvelopeError> for EnvelopeProblem {
    fn from(e: EnvelopeError) -> Self {
        match e {
            EnvelopeError::UnknownSender => EnvelopeProblem::UnknownSender,
            EnvelopeError::BlockedSender => EnvelopeProblem::BlockedSender,
            EnvelopeError::NotForMe => EnvelopeProblem::NotForMe,
            EnvelopeError::Tampered => EnvelopeProblem::Tampered,
            EnvelopeError::Replayed => EnvelopeProblem::Replayed,
            EnvelopeError::Expired => EnvelopeProblem::Expired,
            EnvelopeError::TooLarge { .. } => EnvelopeProblem::TooLarge,
            EnvelopeError::Malformed => EnvelopeProblem::Malformed,
            EnvelopeError::UnsupportedVersion(_) => EnvelopeProblem::UnsupportedVersion,
        }
    }
}

impl From<CareError> for CareProblem {
    fn from(e: CareError) -> Self {
        match e {
            CareError::InvalidTransition { action, status } => {
                CareProblem::InvalidTransition { action, status }
            }
            CareError::NotRequester(action) => CareProblem::NotRequester { action },
            CareError::NotTakingPart => CareProblem::NotTakingPart,
            CareError::TooManyParked => CareProblem::TooManyParked,
        }
    }
}

impl From<CardError> for CardProblem {
    fn from(e: CardError) -> Self {
        match e {
            CardError::Malformed => CardProblem::Malformed,
            CardError::Truncated => CardProblem::Truncated,
            CardError::Checksum => CardProblem::Checksum,
            CardError::UnsupportedVersion(_) => CardProblem::UnsupportedVersion,
            CardError::BadKey => CardProblem::BadKey,
            CardError::BadProof => CardProblem::BadProof,
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
