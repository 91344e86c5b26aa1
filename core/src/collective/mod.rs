//! The collective: a group its members hold in common, with no server and
//! no single owner. Each member's vault keeps the whole log of signed
//! changes (who is a member, who a steward, the agreements, its name), and
//! the state is what that log folds to, the same on every vault that holds
//! the same changes (`docs/collective.md`).

mod change;
mod state;

pub use change::{Change, ChangeError, CollectiveId, MAX_AGREEMENTS_BYTES, MAX_CHANGE_BYTES, Op};
pub use state::{Added, Agreements, Log, LogError, Outcome, Refusal, State};
