//! `tend-ffi`: Tend's core for Kotlin and Swift, through uniffi.
//!
//! The core knows nothing of this crate. The types apps see are the core's
//! own, derived for uniffi by its `uniffi` feature (written once); this
//! crate adds the vault object, the app's callbacks, [`TendError`] (which
//! names every core error), and runs every call that touches storage or
//! crypto as `async`: Kotlin `suspend`, Swift `async`. The work runs on a small thread pool (the `blocking` crate), so
//! no caller's thread, and never the UI thread, waits on disk or crypto.
//! Panics are caught here and become [`TendError::Internal`].

#[cfg(feature = "bench")]
mod bench;
mod care;
mod changes;
mod collective;
mod custody;
mod delivery;
mod error;
mod gatherings;
mod journal;
mod moving;
mod numbers;
mod pulse;
mod sharing;
mod time;
mod vault;

pub use changes::{ChangeListener, ChangeSubscription};
pub use error::TendError;
pub use tend_core::Change;
pub use vault::{KeyProvider, TendVault};

use std::any::Any;

uniffi::setup_scaffolding!();

/// Runs blocking core work off the caller's thread; a panic becomes `Internal`.
pub(crate) async fn off_thread<T, F>(work: F) -> Result<T, TendError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, TendError> + Send + 'static,
{
    let done = on_pool(Box::new(move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
            .unwrap_or(Err(TendError::Internal));
        Box::new(result)
    }))
    .await;
    done.downcast::<Result<T, TendError>>()
        .map_or(Err(TendError::Internal), |result| *result)
}

/// A job for the pool with its result type erased.
type Job = Box<dyn FnOnce() -> Box<dyn Any + Send> + Send>;

/// The one place work is handed to the pool. Not generic, so `blocking`'s
/// executor and `async-task` are compiled once rather than once for each of
/// the ~140 calls (docs/performance.md: the phone library).
async fn on_pool(job: Job) -> Box<dyn Any + Send> {
    blocking::unblock(job).await
}
