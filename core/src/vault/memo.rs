//! What a module derived from the vault's tables and may reuse while the
//! vault stays unlocked, so a long collective log is not read and folded
//! again for every envelope. Each entry is only as good as the token its
//! owner keeps beside it in the vault: a rolled-back transaction puts the
//! old token back, and the entry no longer matches. Dropped on lock.
//!
//! Modules see the memo of the vault they are called in through
//! [`take`] and [`put`]; outside a vault call there is none.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;

#[derive(Default)]
pub(crate) struct Memo {
    entries: HashMap<(TypeId, Vec<u8>), Box<dyn Any + Send>>,
}

thread_local! {
    static CURRENT: RefCell<Option<Memo>> = const { RefCell::new(None) };
}

/// Takes the `T` kept under `key`, if the current vault call has one.
pub(crate) fn take<T: Any + Send>(key: &[u8]) -> Option<T> {
    CURRENT.with_borrow_mut(|memo| {
        let entry = memo
            .as_mut()?
            .entries
            .remove(&(TypeId::of::<T>(), key.to_vec()))?;
        entry.downcast().ok().map(|value| *value)
    })
}

/// Keeps `value` under `key` for later calls to the same vault.
pub(crate) fn put<T: Any + Send>(key: Vec<u8>, value: T) {
    CURRENT.with_borrow_mut(|memo| {
        if let Some(memo) = memo {
            memo.entries
                .insert((TypeId::of::<T>(), key), Box::new(value));
        }
    });
}

/// Runs `f` with `memo` as this thread's, and gives it back afterwards,
/// even if `f` panics.
pub(super) fn within<R>(memo: &mut Memo, f: impl FnOnce() -> R) -> R {
    struct GiveBack<'a>(&'a mut Memo);
    impl Drop for GiveBack<'_> {
        fn drop(&mut self) {
            *self.0 = CURRENT.take().unwrap_or_default();
        }
    }
    CURRENT.set(Some(std::mem::take(memo)));
    let _give_back = GiveBack(memo);
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_lives_only_in_its_memo_and_only_as_its_type() {
        let mut memo = Memo::default();
        put(b"k".to_vec(), 1u32);
        assert_eq!(take::<u32>(b"k"), None, "no vault call, no memo");
        within(&mut memo, || put(b"k".to_vec(), 7u32));
        within(&mut Memo::default(), || {
            assert_eq!(take::<u32>(b"k"), None, "another vault's memo")
        });
        within(&mut memo, || {
            assert_eq!(take::<u64>(b"k"), None, "another type");
            put(b"k".to_vec(), 7u32);
            assert_eq!(take::<u32>(b"k"), Some(7));
            assert_eq!(take::<u32>(b"k"), None, "taken");
            put(b"k".to_vec(), 8u32);
        });
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            within(&mut memo, || panic!("inside a vault call"))
        }));
        within(&mut memo, || assert_eq!(take::<u32>(b"k"), Some(8)));
    }
}
