//! Safety numbers, after Signal's `NumericFingerprintGenerator`: 30 digits
//! from each member's identity key, the smaller half first, so both phones
//! show the same 60 digits.

use std::fmt;

use sha2::{Digest, Sha512};

use crate::identity::IdentityKey;

const ITERATIONS: usize = 5200;
const VERSION: [u8; 2] = [0, 0];
/// Signal puts the account identifier here; Tend has none but the key itself.
const STABLE_ID: &[u8] = b"tend";

/// 60 digits, compared in person before marking a comrade verified.
#[derive(Clone, PartialEq, Eq)]
pub struct SafetyNumber(String);

impl SafetyNumber {
    pub fn between(a: &IdentityKey, b: &IdentityKey) -> SafetyNumber {
        let (x, y) = (half(a), half(b));
        SafetyNumber(if x <= y { x + &y } else { y + &x })
    }

    pub fn digits(&self) -> &str {
        &self.0
    }

    /// Twelve groups of five digits, as Signal shows them.
    pub fn groups(&self) -> Vec<&str> {
        (0..12).map(|i| &self.0[i * 5..i * 5 + 5]).collect()
    }

    /// Compares a typed or scanned number, ignoring spaces.
    pub fn matches(&self, other: &str) -> bool {
        let digits: String = other.chars().filter(|c| !c.is_whitespace()).collect();
        digits == self.0
    }
}

impl fmt::Display for SafetyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.groups().join(" "))
    }
}

impl fmt::Debug for SafetyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SafetyNumber({self})")
    }
}

fn half(key: &IdentityKey) -> String {
    let mut hash = [&VERSION[..], key.as_bytes(), STABLE_ID].concat();
    for _ in 0..ITERATIONS {
        let mut digest = Sha512::new();
        digest.update(&hash);
        digest.update(key.as_bytes());
        hash = digest.finalize().to_vec();
    }
    (0..6)
        .map(|i| {
            let chunk = &hash[i * 5..i * 5 + 5];
            let value = chunk.iter().fold(0u64, |acc, &b| (acc << 8) | b as u64);
            format!("{:05}", value % 100_000)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_on_both_phones_and_sixty_digits() {
        let (a, b) = (IdentityKey([1; 32]), IdentityKey([2; 32]));
        let ab = SafetyNumber::between(&a, &b);
        assert_eq!(ab, SafetyNumber::between(&b, &a));
        assert_eq!(ab.digits().len(), 60);
        assert!(ab.digits().chars().all(|c| c.is_ascii_digit()));
        assert_ne!(ab, SafetyNumber::between(&a, &IdentityKey([3; 32])));
        assert!(ab.matches(&ab.to_string()));
    }
}
