//! Files sealed with age, to a passphrase or to a recipient's key: the
//! journal's export and the whole-vault backup (`docs/export-formats.md`).

use std::io::{BufRead, Write};
use std::str::FromStr;

use age::secrecy::SecretString;

use crate::{Error, Result};

/// How a file is sealed.
pub enum SealWith {
    /// age's scrypt passphrase recipient.
    Passphrase(SecretString),
    /// An age X25519 recipient, `age1…`: whoever holds its identity opens it.
    Recipient(age::x25519::Recipient),
    /// Several: whoever holds any one's identity opens it.
    Recipients(Vec<age::x25519::Recipient>),
}

/// What opens a sealed file.
pub enum OpenWith {
    Passphrase(SecretString),
    /// An age X25519 identity, `AGE-SECRET-KEY-1…`.
    Identity(age::x25519::Identity),
}

impl SealWith {
    /// An `age1…` recipient, as `age-keygen` prints it.
    pub fn recipient(text: &str) -> Result<SealWith> {
        parse_recipient(text).map(SealWith::Recipient)
    }
}

/// An `age1…` X25519 recipient.
pub(crate) fn parse_recipient(text: &str) -> Result<age::x25519::Recipient> {
    age::x25519::Recipient::from_str(text.trim())
        .map_err(|_| Error::invalid("recipient", "is not an age1… X25519 recipient"))
}

impl OpenWith {
    /// An `AGE-SECRET-KEY-1…` identity, as `age-keygen` writes it.
    pub fn identity(text: &str) -> Result<OpenWith> {
        age::x25519::Identity::from_str(text.trim())
            .map(OpenWith::Identity)
            .map_err(|_| Error::invalid("identity", "is not an AGE-SECRET-KEY-1… identity"))
    }
}

impl std::fmt::Debug for SealWith {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SealWith::Passphrase(_) => "Passphrase(<redacted>)",
            SealWith::Recipient(_) => "Recipient",
            SealWith::Recipients(_) => "Recipients",
        })
    }
}

impl std::fmt::Debug for OpenWith {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OpenWith::Passphrase(_) => "Passphrase(<redacted>)",
            OpenWith::Identity(_) => "Identity(<redacted>)",
        })
    }
}

/// Why an age file did not open.
pub(crate) enum Refused {
    /// Another passphrase or key seals it.
    WrongKey,
    /// Its scrypt work factor is beyond what this device should spend.
    TooMuchWork,
    /// Not age, or cut short or changed.
    Damaged,
}

pub(crate) fn seal<W: Write>(
    with: &SealWith,
    out: W,
    context: &'static str,
) -> Result<age::stream::StreamWriter<W>> {
    let encryptor = match with {
        SealWith::Passphrase(passphrase) => {
            age::Encryptor::with_user_passphrase(passphrase.clone())
        }
        SealWith::Recipient(recipient) => {
            age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient))
                .expect("one recipient")
        }
        SealWith::Recipients(recipients) => {
            age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
                .map_err(|_| Error::invalid("recipients", "none given"))?
        }
    };
    encryptor.wrap_output(out).map_err(Error::io(context))
}

pub(crate) fn is_age(start: &[u8]) -> bool {
    start.starts_with(b"age-encryption.org/")
}

pub(crate) fn open<R: BufRead>(
    input: R,
    with: &OpenWith,
) -> std::result::Result<age::stream::StreamReader<R>, Refused> {
    let decryptor = age::Decryptor::new_buffered(input).map_err(refused)?;
    let scrypt;
    let identity: &dyn age::Identity = match with {
        OpenWith::Passphrase(passphrase) => {
            scrypt = age::scrypt::Identity::new(passphrase.clone());
            &scrypt
        }
        OpenWith::Identity(identity) => identity,
    };
    decryptor
        .decrypt(std::iter::once(identity))
        .map_err(refused)
}

fn refused(e: age::DecryptError) -> Refused {
    match e {
        age::DecryptError::DecryptionFailed
        | age::DecryptError::KeyDecryptionFailed
        | age::DecryptError::NoMatchingKeys => Refused::WrongKey,
        age::DecryptError::ExcessiveWork { .. } => Refused::TooMuchWork,
        _ => Refused::Damaged,
    }
}
