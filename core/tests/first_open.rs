//! The first vaults a process opens, opened at once from many threads.
//!
//! SQLite marks itself initialised before it runs SQLCipher's own start-up
//! (`SQLITE_EXTRA_INIT`), so another thread could key a database while
//! SQLCipher was still starting, and fail with "keying failed" (one fresh
//! process in a hundred, with 16 threads). Only a fresh start shows it, so
//! the test runs itself as child processes. Each child holds SQLite's first
//! thread in that gap (through SQLite's mutex methods, where SQLite frees its
//! start-up mutex) while the other threads open their vaults.

use std::cell::Cell;
use std::process::Command;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

use rusqlite::ffi;

const CHILD: &str = "TEND_FIRST_OPEN_CHILD";
const NAME: &str = "the_first_vaults_a_process_opens_may_be_opened_at_once";
const OTHERS: usize = 7;

#[test]
fn the_first_vaults_a_process_opens_may_be_opened_at_once() {
    if std::env::var_os(CHILD).is_some() {
        return open_at_once();
    }
    let me = std::env::current_exe().unwrap();
    for _ in 0..2 {
        let out = Command::new(&me)
            .args(["--exact", NAME, "--test-threads=1"])
            .env(CHILD, "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "a child failed:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

fn open_at_once() {
    hold_the_first_thread_in_the_gap();
    let dir = tempfile::tempdir().unwrap();
    let create = |i: usize| {
        let path = dir.path().join(format!("v{i}"));
        move || {
            tend_core::Vault::create_with_key(&path, &tend_core::DataKey::from_bytes([7; 32]))
                .map(drop)
                .map_err(|e| e.to_string())
        }
    };
    let first = std::thread::spawn(create(0));
    let (reached, signal) = &GAP;
    let guard = reached.lock().unwrap();
    let (guard, wait) = signal
        .wait_timeout_while(guard, Duration::from_secs(20), |reached| !*reached)
        .unwrap();
    assert!(!wait.timed_out(), "SQLite's start-up never reached the gap");
    drop(guard);
    let others: Vec<_> = (1..=OTHERS)
        .map(|i| std::thread::spawn(create(i)))
        .collect();
    for thread in others.into_iter().chain([first]) {
        thread.join().unwrap().unwrap();
    }
}

static SYSTEM: OnceLock<ffi::sqlite3_mutex_methods> = OnceLock::new();
/// SQLite's start-up mutex, the first recursive one it allocates.
static START_UP_MUTEX: AtomicPtr<ffi::sqlite3_mutex> = AtomicPtr::new(null_mut());
static GAP: (Mutex<bool>, Condvar) = (Mutex::new(false), Condvar::new());
thread_local! {
    static FREED_START_UP_MUTEX: Cell<bool> = const { Cell::new(false) };
}

fn system() -> &'static ffi::sqlite3_mutex_methods {
    SYSTEM.get().unwrap()
}

unsafe extern "C" fn alloc(id: std::ffi::c_int) -> *mut ffi::sqlite3_mutex {
    let mutex = unsafe { system().xMutexAlloc.unwrap()(id) };
    if id == ffi::SQLITE_MUTEX_RECURSIVE {
        let _ =
            START_UP_MUTEX.compare_exchange(null_mut(), mutex, Ordering::SeqCst, Ordering::SeqCst);
    }
    mutex
}

unsafe extern "C" fn free(mutex: *mut ffi::sqlite3_mutex) {
    if !mutex.is_null()
        && START_UP_MUTEX
            .compare_exchange(mutex, null_mut(), Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    {
        FREED_START_UP_MUTEX.set(true);
    }
    unsafe { system().xMutexFree.unwrap()(mutex) }
}

/// The leave after the start-up mutex is freed is SQLite's last before it
/// calls SQLCipher's start-up: hold that thread there.
unsafe extern "C" fn leave(mutex: *mut ffi::sqlite3_mutex) {
    unsafe { system().xMutexLeave.unwrap()(mutex) };
    if FREED_START_UP_MUTEX.replace(false) {
        *GAP.0.lock().unwrap() = true;
        GAP.1.notify_all();
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// SQLite fills in its mutex methods only when it starts, so start it once
/// to read them, shut it down, and start again (in Tend's first open) with
/// the wrapped ones. Shutting down resets SQLCipher's start-up too.
fn hold_the_first_thread_in_the_gap() {
    let mut methods = std::mem::MaybeUninit::<ffi::sqlite3_mutex_methods>::zeroed();
    // SAFETY: no connection is open in this process, so SQLite may be shut
    // down and configured; SQLite copies the methods it is given.
    unsafe {
        assert_eq!(ffi::sqlite3_initialize(), ffi::SQLITE_OK);
        assert_eq!(
            ffi::sqlite3_config(ffi::SQLITE_CONFIG_GETMUTEX, methods.as_mut_ptr()),
            ffi::SQLITE_MISUSE,
            "SQLite refuses configuration once started"
        );
        assert_eq!(ffi::sqlite3_shutdown(), ffi::SQLITE_OK);
        assert_eq!(
            ffi::sqlite3_config(ffi::SQLITE_CONFIG_GETMUTEX, methods.as_mut_ptr()),
            ffi::SQLITE_OK
        );
        let system = *SYSTEM.get_or_init(|| methods.assume_init());
        assert!(
            system.xMutexAlloc.is_some(),
            "SQLite kept its mutex methods"
        );
        let wrapped = ffi::sqlite3_mutex_methods {
            xMutexAlloc: Some(alloc),
            xMutexFree: Some(free),
            xMutexLeave: Some(leave),
            ..system
        };
        assert_eq!(
            ffi::sqlite3_config(ffi::SQLITE_CONFIG_MUTEX, &wrapped as *const _),
            ffi::SQLITE_OK
        );
    }
}
