//! Times cross as the core says (`tend_core`'s `uniffi_types`, mapped to
//! java.time in Kotlin and to `Date` and `TimeInterval` in Swift by
//! core/uniffi.toml), for this crate's own signatures too.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

uniffi::use_remote_type!(tend_core::DateTime<Utc>);
uniffi::use_remote_type!(tend_core::Duration);
uniffi::use_remote_type!(tend_core::NaiveDate);
uniffi::use_remote_type!(tend_core::NaiveDateTime);
