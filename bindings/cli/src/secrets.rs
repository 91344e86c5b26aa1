//! Passphrases: from the environment for scripts, else a prompt without echo.

use tend_core::SecretString;
use zeroize::Zeroizing;

pub const VAULT_ENV: &str = "TEND_PASSPHRASE";
pub const NEW_ENV: &str = "TEND_NEW_PASSPHRASE";
pub const BACKUP_ENV: &str = "TEND_BACKUP_PASSPHRASE";
pub const DURESS_ENV: &str = "TEND_DURESS_PASSPHRASE";
pub const RECOVERY_ENV: &str = "TEND_RECOVERY_WORDS";

pub fn ask(env: &str, prompt: &str) -> Result<Zeroizing<String>, String> {
    if let Ok(value) = std::env::var(env) {
        return Ok(Zeroizing::new(value));
    }
    rpassword::prompt_password(format!("{prompt}: "))
        .map(Zeroizing::new)
        .map_err(|_| format!("nothing typed: set {env} or run in a terminal"))
}

/// A new passphrase: from the environment, or typed twice.
pub fn ask_new(env: &str, prompt: &str) -> Result<Zeroizing<String>, String> {
    if let Ok(value) = std::env::var(env) {
        return Ok(Zeroizing::new(value));
    }
    let first = ask(env, prompt)?;
    let again = ask(env, "Again, to be sure")?;
    if *first != *again {
        return Err("the two passphrases differ".into());
    }
    Ok(first)
}

pub fn secret(text: &str) -> SecretString {
    SecretString::from(text.to_owned())
}
