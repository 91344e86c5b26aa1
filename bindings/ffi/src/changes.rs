//! Change notices for any number of subscribers: each collector of Kotlin's
//! `TendVault.changes` flow or Swift's `changes` stream holds a
//! subscription of its own.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tend_core::Change;

use crate::vault::TendVault;

/// Told of changes after they are saved, on a background thread.
#[uniffi::export(with_foreign)]
pub trait ChangeListener: Send + Sync {
    fn changed(&self, what: Change);
}

/// The listeners of one vault.
#[derive(Default)]
pub(crate) struct Subscribers {
    next: AtomicU64,
    listeners: Mutex<BTreeMap<u64, Arc<dyn ChangeListener>>>,
}

impl Subscribers {
    fn subscribe(self: &Arc<Self>, listener: Arc<dyn ChangeListener>) -> ChangeSubscription {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, listener);
        ChangeSubscription {
            subscribers: Arc::downgrade(self),
            id,
        }
    }

    pub(crate) fn notify(&self, change: Change) {
        // A copy, so a listener may subscribe or cancel from its callback.
        let listeners: Vec<_> = self.lock().values().cloned().collect();
        for listener in listeners {
            // A listener that throws must not fail the write that was saved.
            let _ = catch_unwind(AssertUnwindSafe(|| listener.changed(change)));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<dyn ChangeListener>>> {
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Notices go to one listener until this is cancelled or dropped.
#[derive(uniffi::Object)]
pub struct ChangeSubscription {
    subscribers: Weak<Subscribers>,
    id: u64,
}

#[uniffi::export]
impl ChangeSubscription {
    /// No more notices for this listener; the others keep theirs.
    pub fn cancel(&self) {
        if let Some(subscribers) = self.subscribers.upgrade() {
            subscribers.lock().remove(&self.id);
        }
    }
}

impl Drop for ChangeSubscription {
    fn drop(&mut self) {
        self.cancel();
    }
}

#[uniffi::export]
impl TendVault {
    /// Changes saved from now on go to `listener`, on a background thread,
    /// until the subscription is cancelled. Any number may subscribe.
    pub fn subscribe(&self, listener: Arc<dyn ChangeListener>) -> Arc<ChangeSubscription> {
        Arc::new(self.changes.subscribe(listener))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counting(Mutex<Vec<Change>>);

    impl ChangeListener for Counting {
        fn changed(&self, what: Change) {
            self.0.lock().unwrap().push(what);
        }
    }

    struct Throwing;

    impl ChangeListener for Throwing {
        fn changed(&self, _: Change) {
            panic!("the app's listener threw");
        }
    }

    #[test]
    fn every_subscriber_hears_until_it_cancels_and_a_throwing_one_stops_no_one() {
        let hub = Arc::new(Subscribers::default());
        let first = Arc::new(Counting(Mutex::default()));
        let second = Arc::new(Counting(Mutex::default()));
        let _thrower = hub.subscribe(Arc::new(Throwing));
        let one = hub.subscribe(first.clone());
        let two = hub.subscribe(second.clone());
        hub.notify(Change::Journal);
        one.cancel();
        hub.notify(Change::Care);
        drop(two);
        hub.notify(Change::Inbox);
        assert_eq!(*first.0.lock().unwrap(), [Change::Journal]);
        assert_eq!(*second.0.lock().unwrap(), [Change::Journal, Change::Care]);
        assert_eq!(hub.lock().len(), 1, "only the thrower is left");
    }
}
