//! Care requests: a member asks trusted comrades for help, comrades offer,
//! the member accepts one offer, and the helper fulfils it. No public
//! board: everything travels as envelopes, and the people who offered but
//! were not chosen learn only that it is covered. Format: `docs/care.md`.
//!
//! Each vault that knows a request keeps its own copy. The requester is the
//! authority on its status and numbers each change (`rev`), so copies
//! converge whatever order envelopes arrive in.

mod actions;
mod model;
mod receive;
mod retention;
mod store;
mod wire;

use std::fmt;

pub use model::{
    CareCategory, CareRole, CareStatus, CareUrgency, Commitment, MyRequest, NewCareRequest, Offer,
    OfferState, Person,
};
pub(crate) use receive::CareKinds;
pub use receive::request_of;
pub use retention::DEFAULT_RETENTION_DAYS;
pub(crate) use retention::sweep;
pub use store::CareRequest;

use crate::Vault;
use crate::envelope::Sealed;

/// The envelope kinds of care requests and what answers them: `docs/care.md`.
pub mod kinds {
    pub const CARE_REQUEST: &str = "care.request";
    pub const CARE_OFFER: &str = "care.offer";
    pub const CARE_ACCEPT: &str = "care.accept";
    pub const CARE_UPDATE: &str = "care.update";
    pub const CARE_THANKS: &str = "care.thanks";
}

crate::id::uuid_id!(
    /// A care request: the same id in every vault that knows it.
    RequestId,
    "request id"
);

crate::id::uuid_id!(
    /// An offer of help.
    OfferId,
    "offer id"
);

/// What someone can do to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum CareAction {
    Offer,
    Accept,
    Withdraw,
    Fulfil,
    Thank,
}

impl fmt::Display for CareAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CareAction::Offer => "offer help on",
            CareAction::Accept => "accept an offer on",
            CareAction::Withdraw => "withdraw from",
            CareAction::Fulfil => "mark fulfilled",
            CareAction::Thank => "send thanks for",
        })
    }
}

/// Why a care action, local or arriving in an envelope, was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum CareError {
    #[error("cannot {action} a request that is {status}")]
    InvalidTransition {
        action: CareAction,
        status: CareStatus,
    },
    #[error("only the member who asked can {action} it")]
    NotRequester { action: CareAction },
    #[error("from someone not taking part in this request")]
    NotTakingPart,
    #[error("too many messages are waiting for requests that have not arrived")]
    TooManyParked,
}

/// A request I posted, and the envelope that carries it to my comrades.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PostedRequest {
    pub request: CareRequest,
    pub sealed: Sealed,
}

/// An offer I made, and the envelope that carries it to the requester.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct OfferedHelp {
    pub offer: Offer,
    pub sealed: Sealed,
}

/// Care requests, offers and commitments. Borrow it with [`Vault::care`].
pub struct Care<'v> {
    vault: &'v Vault,
}

impl Vault {
    pub fn care(&self) -> Care<'_> {
        Care { vault: self }
    }
}
