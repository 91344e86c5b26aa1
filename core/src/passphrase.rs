//! How hard a passphrase is to guess, and passphrases made for members.
//!
//! A vault's header can be attacked offline, one Argon2id guess at a time
//! (about 0.45 s of a core each, `docs/vault-format.md`), so a passphrase
//! must hold out for many guesses: zxcvbn's score 3, "more than 10^8
//! guesses" (about 1.4 core-years at that cost). A six-digit PIN, a
//! dictionary word or a name scores 0 or 1.

use age::secrecy::SecretString;
use rand::Rng;

use crate::{Error, Result};

/// zxcvbn's score a passphrase must reach (0 to 4).
pub const MIN_SCORE: u8 = 3;

/// Words in a generated passphrase: 7 × log2(2,048) = 77 bits.
pub const GENERATED_WORDS: usize = 7;

/// Refuses a passphrase that is quick to guess, saying why and what would
/// help; zxcvbn's words only, never the passphrase. `context` holds words
/// an attacker would try first (the member's name, say).
pub fn check(passphrase: &str, context: &[&str]) -> Result<()> {
    let estimate = zxcvbn::zxcvbn(passphrase, context);
    if u8::from(estimate.score()) >= MIN_SCORE {
        return Ok(());
    }
    let feedback = estimate.feedback();
    let reason = feedback
        .and_then(|f| f.warning())
        .map_or_else(|| "It is quick to guess.".to_owned(), |w| w.to_string());
    let suggestion = feedback
        .and_then(|f| f.suggestions().first())
        .map_or_else(|| "Add another word or two.".to_owned(), |s| s.to_string());
    Err(Error::WeakPassphrase { reason, suggestion })
}

/// Seven words from BIP-39's English list, picked with the system's
/// randomness. The list recovery words use (identity::recovery): already in
/// the library, where EFF's 7,776 words cost 0.26 MB of it.
pub fn generate() -> SecretString {
    let list = bip39::Language::English.word_list();
    let mut rng = rand::rngs::OsRng;
    let words: Vec<&str> = (0..GENERATED_WORDS)
        .map(|_| list[rng.gen_range(0..list.len())])
        .collect();
    SecretString::from(words.join(" "))
}

#[cfg(test)]
mod tests {
    use age::secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn pins_words_and_names_are_refused_with_a_reason() {
        for weak in [
            "123456",
            "482910",
            "sunshine",
            "Maria",
            "qwertyuiop",
            "letmein",
        ] {
            match check(weak, &[]) {
                Err(Error::WeakPassphrase { reason, suggestion }) => {
                    assert!(!reason.is_empty() && !suggestion.is_empty());
                    assert!(!reason.contains(weak) && !suggestion.contains(weak));
                }
                other => panic!("{weak}: {other:?}"),
            }
        }
        assert!(check("password", &[]).is_err());
        assert!(
            check("Alice1987", &["Alice"]).is_err(),
            "the member's own name"
        );
    }

    #[test]
    fn long_passphrases_pass() {
        for strong in [
            "correct horse battery staple",
            "heron lock canal winter 1987 tea",
        ] {
            check(strong, &[]).unwrap();
        }
    }

    #[test]
    fn generated_passphrases_are_seven_listed_words_and_pass() {
        let a = generate();
        let words: Vec<&str> = a.expose_secret().split(' ').collect();
        assert_eq!(words.len(), GENERATED_WORDS);
        assert!(
            words
                .iter()
                .all(|w| bip39::Language::English.find_word(w).is_some())
        );
        check(a.expose_secret(), &[]).unwrap();
        assert_ne!(a.expose_secret(), generate().expose_secret());
    }
}
