//! Whole numbers cross signed: Kotlin's unsigned types are awkward to use
//! and Swift's `Int` is signed. Counts and limits the app gives are checked
//! here with a typed error; counts the core gives saturate.

use crate::TendError;

/// `value` as the core takes it, or `Invalid` naming `field`.
pub(crate) fn from_app<T: TryFrom<i64>>(
    value: impl Into<i64>,
    field: &str,
) -> Result<T, TendError> {
    T::try_from(value.into()).map_err(|_| TendError::invalid(field, "negative or too large"))
}

/// A count for the app, `i32::MAX` if larger.
pub(crate) fn count<T: TryInto<i32>>(n: T) -> i32 {
    n.try_into().unwrap_or(i32::MAX)
}

/// A count for the app that may pass `i32`, `i64::MAX` if larger.
pub(crate) fn big_count<T: TryInto<i64>>(n: T) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_negative_or_oversized_count_is_refused_by_name() {
        assert_eq!(from_app::<u32>(5, "limit").unwrap(), 5);
        for bad in [-1_i64, i64::from(u32::MAX) + 1] {
            match from_app::<u32>(bad, "limit") {
                Err(TendError::Invalid { field, .. }) => assert_eq!(field, "limit"),
                other => panic!("{other:?}"),
            }
        }
        assert!(from_app::<u8>(256, "threshold").is_err());
    }

    #[test]
    fn counts_for_the_app_saturate() {
        assert_eq!(count(7_usize), 7);
        assert_eq!(count(u64::MAX), i32::MAX);
        assert_eq!(big_count(u64::MAX), i64::MAX);
        assert_eq!(big_count(3_u64), 3);
    }
}
