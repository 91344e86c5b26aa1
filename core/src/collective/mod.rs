//! The collective: a group its members hold in common, with no server and
//! no single owner. Each member's vault keeps the whole log of signed
//! changes (who is a member, who a steward, the agreements, its name), and
//! the state is what that log folds to, the same on every vault that holds
//! the same changes (`docs/collective.md`).
//!
//! Changes travel as `collective.changes` envelopes to every member; a
//! newcomer is sent the whole log and the members' cards (introductions).
//! A member who holds fewer changes than a sender, or whose log has a gap,
//! asks for the rest (`collective.ask`), and every member asks one other
//! weekly, so a phone away for longer than relays keep events catches up.

mod actions;
mod admission;
mod change;
mod pass;
mod receive;
mod state;
mod store;
mod visitors;
pub(crate) mod wire;

use std::fmt;

use chrono::{DateTime, Utc};

pub use actions::STARTER_AGREEMENTS;
pub(crate) use actions::{
    Membership, fellow_members, membership, relays_asked, reviews, settings_of,
};
pub(crate) use admission::attended;
pub use admission::vouches_needed;
pub use change::{
    Change, ChangeError, CollectiveId, MAX_AGREEMENTS_BYTES, MAX_CHANGE_BYTES, MIN_PULSE_THRESHOLD,
    Op, PulseSettings, Settings,
};
pub use pass::{MAX_PASS_BYTES, MAX_PASS_DAYS, Pass, PassError, PassId};
#[cfg(feature = "testing")]
pub(crate) use receive::parses_as_a_body;
pub use receive::{ASK_AGAIN_AFTER, CATCH_UP_EVERY, collective_of};
pub(crate) use receive::{CollectiveKinds, ask_if_due};
pub use state::{Added, Agreements, Log, LogError, Outcome, Refusal, State};
pub(crate) use store::ids;
#[cfg(feature = "testing")]
pub(crate) use store::keep;
pub use store::{MAX_CHANGES_PER_AUTHOR, MAX_LOG_CHANGES};
pub use visitors::{IssuedPass, JoinedVisit, VisitedCollective};
pub(crate) use visitors::{host_of, hosted_visitors};

use rusqlite::{Connection, Transaction};

use crate::comrades::{ComradeId, IdentityKey};
use crate::envelope::Sealed;
use crate::redact::Text;
use crate::{Result, Vault};

/// The envelope kinds a collective travels in: `docs/collective.md`.
pub mod kinds {
    pub const COLLECTIVE_CHANGES: &str = "collective.changes";
    pub const COLLECTIVE_ASK: &str = "collective.ask";
    /// A visitor's first envelope to the member whose pass they hold.
    pub const COLLECTIVE_VISIT: &str = "collective.visit";
    /// The collective's public face, to a visitor.
    pub const COLLECTIVE_FACE: &str = "collective.face";
    /// A member vouches for a visitor, to the stewards alone.
    pub const COLLECTIVE_VOUCH: &str = "collective.vouch";
    /// A steward tells the members how many vouches a visitor has.
    pub const COLLECTIVE_PROGRESS: &str = "collective.progress";
    pub const COLLECTIVE_ATTENDED: &str = "collective.attended";
}

/// Why a collective refused something I did, or an envelope about one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum CollectiveError {
    #[error("the collective's rules refuse it ({refusal:?})")]
    Refused { refusal: Refusal },
    #[error("you are not a member of this collective")]
    NotAMember,
    #[error("sent by someone who is not a member of this collective")]
    SenderNotAMember,
    #[error("about a collective you were not added to")]
    NotInvited,
    #[error("the collective holds as many changes as it may")]
    LogFull,
    #[error("a change in it was refused: {problem}")]
    Change { problem: ChangeError },
    #[error("a change in it belongs to another collective")]
    WrongCollective,
    #[error("visitor pass refused: {problem}")]
    Pass { problem: PassError },
}

impl From<LogError> for CollectiveError {
    fn from(e: LogError) -> Self {
        match e {
            LogError::Change(problem) => CollectiveError::Change { problem },
            LogError::WrongCollective => CollectiveError::WrongCollective,
        }
    }
}

impl From<ChangeError> for CollectiveError {
    fn from(problem: ChangeError) -> Self {
        CollectiveError::Change { problem }
    }
}

/// A collective as my vault folds it.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Collective {
    pub id: CollectiveId,
    pub name: String,
    pub members: u32,
    pub stewards: u32,
    pub i_am_member: bool,
    pub i_am_steward: bool,
    pub agreements: Option<CollectiveAgreements>,
    pub joined_at: DateTime<Utc>,
    /// Changes held that wait on an earlier one of their author's.
    pub waiting: u32,
    pub settings: Settings,
}

impl fmt::Debug for Collective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collective")
            .field("id", &self.id)
            .field("name", &Text(&self.name))
            .field("members", &self.members)
            .field("i_am_steward", &self.i_am_steward)
            .field("agreements", &self.agreements)
            .finish_non_exhaustive()
    }
}

/// The agreements as members see them: who has not accepted is only a count.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CollectiveAgreements {
    pub version: u32,
    /// Accepting a version before this one no longer counts.
    pub major_version: u32,
    pub text: String,
    pub i_accepted: bool,
    pub not_yet_accepted: u32,
}

impl fmt::Debug for CollectiveAgreements {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CollectiveAgreements")
            .field("version", &self.version)
            .field("major_version", &self.major_version)
            .field("text", &Text(&self.text))
            .field("not_yet_accepted", &self.not_yet_accepted)
            .finish_non_exhaustive()
    }
}

/// A member of a collective, as my vault knows them.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Member {
    pub identity_key: IdentityKey,
    /// What I call them; the start of their key when I hold no card of theirs yet.
    pub name: String,
    /// `None` for me, and for a member whose card has not reached me.
    pub comrade: Option<ComradeId>,
    pub me: bool,
    pub steward: bool,
    /// Safety numbers compared in person.
    pub verified: bool,
}

impl fmt::Debug for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Member")
            .field("identity_key", &self.identity_key)
            .field("name", &Text(&self.name))
            .field("me", &self.me)
            .field("steward", &self.steward)
            .finish_non_exhaustive()
    }
}

/// A change I made, and the envelopes that tell the members.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MadeChange {
    pub collective: Collective,
    pub sealed: Vec<Sealed>,
}

/// What a module above does, in the same transaction, once a collective
/// changed (gatherings invite new members and share with visitors);
/// returns what it sealed.
pub(crate) type Follow = fn(&Connection, DateTime<Utc>) -> Result<Vec<Sealed>>;

/// The collectives I belong to. Borrow it with [`Vault::collectives`].
pub struct Collectives<'v> {
    vault: &'v Vault,
    follow: Follow,
}

impl<'v> Collectives<'v> {
    pub(crate) fn new(vault: &'v Vault, follow: Follow) -> Collectives<'v> {
        Collectives { vault, follow }
    }

    /// Runs `f` in one transaction, and then what follows a change.
    fn changing<T: Carries>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        self.vault.with_tx(|tx| {
            let mut made = f(tx)?;
            made.sealed().extend((self.follow)(tx, Utc::now())?);
            Ok(made)
        })
    }
}

/// What an action returns, with the envelopes it sealed.
trait Carries {
    fn sealed(&mut self) -> &mut Vec<Sealed>;
}

impl Carries for MadeChange {
    fn sealed(&mut self) -> &mut Vec<Sealed> {
        &mut self.sealed
    }
}

impl Carries for Vec<Sealed> {
    fn sealed(&mut self) -> &mut Vec<Sealed> {
        self
    }
}
