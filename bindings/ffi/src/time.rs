//! Times cross as the core says (`tend_core`'s `uniffi_types`): instants as
//! Unix milliseconds, local wall-clock times as ISO 8601 text. Both work on
//! Android API 26 and iOS 15 without extra libraries. What people type, such
//! as an occurrence's local start, is parsed here with a typed error.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

use crate::TendError;

// The core's conversions, for this crate's own signatures too.
uniffi::use_remote_type!(tend_core::DateTime<Utc>);
uniffi::use_remote_type!(tend_core::Duration);

pub(crate) fn parse_local(text: &str, field: &str) -> Result<NaiveDateTime, TendError> {
    tend_core::gatherings::parse_local_time(text)
        .map_err(|_| invalid(field, "not a local time like 2026-12-05T18:00"))
}

pub(crate) fn invalid(field: &str, problem: &str) -> TendError {
    TendError::Invalid {
        field: field.into(),
        problem: problem.into(),
    }
}
