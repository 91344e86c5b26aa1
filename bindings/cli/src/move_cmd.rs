//! `tend move`: phone to phone through relays.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Subcommand;
use tend_core::Vault;
use tend_core::delivery::nostr::{Limits, NostrTransport};
use tend_core::delivery::{MoveCode, MoveReceiver, RelayUrl};

use crate::output::Output;
use crate::sharing_cmd::qr_code;
use crate::{CliResult, fail};

#[derive(Subcommand)]
pub enum MoveCommand {
    /// On the new phone: show a move code, wait for the old phone, and make
    /// the vault in --vault from what it sends
    Receive {
        /// A relay both phones reach (up to 4)
        #[arg(long = "relay", required = true)]
        relays: Vec<String>,
        /// Give up after this many seconds
        #[arg(long, default_value_t = 600)]
        wait: u64,
        /// Also write the move code here (for a second terminal, or a test)
        #[arg(long)]
        code_file: Option<PathBuf>,
    },
    /// On the old phone: send this whole vault to the new phone showing
    /// CODE; this vault then retires (read-only)
    Send {
        code: String,
        /// The six digits the new phone shows, checked before anything is
        /// sent (asked for when not given)
        #[arg(long)]
        short_code: Option<String>,
    },
}

pub fn receive(
    dir: &Path,
    relays: &[String],
    wait: u64,
    code_file: Option<&Path>,
    out: &Output,
) -> CliResult {
    if tend_core::VaultFiles::new(dir).exists() {
        return Err(format!("{} holds a vault already", dir.display()));
    }
    let relays = relays
        .iter()
        .map(|r| RelayUrl::parse(r))
        .collect::<tend_core::Result<Vec<_>>>()
        .map_err(fail)?;
    let mut receiver = MoveReceiver::new(relays).map_err(fail)?;
    let code = receiver.code().to_text();
    if let Some(path) = code_file {
        crate::files::write_bytes(path, code.as_bytes())?;
    }
    eprintln!(
        "{}\n{code}\n\nOn the old phone: tend move send CODE. Both show {}; check they match.",
        qr_code(&code)?,
        receiver.code().short_code()
    );
    let mut transport = NostrTransport::new(Limits::default());
    let deadline = Instant::now() + Duration::from_secs(wait);
    let whole = loop {
        if let Some(whole) = receiver.fetch(&mut transport).map_err(fail)? {
            break whole;
        }
        if Instant::now() >= deadline {
            return Err("nothing came in time; run tend move receive again for a new code".into());
        }
        std::thread::sleep(Duration::from_secs(2));
    };
    crate::backup_cmd::restore_from(dir, whole.as_slice(), &receiver.opener(), out, |name, _| {
        format!(
            "{name} moved here, to {}. Comrades carry on with this vault without meeting again.",
            dir.display()
        )
    })
}

pub fn send(vault: &Vault, code: &str, short_code: Option<&str>, out: &Output) -> CliResult {
    let code = MoveCode::parse(code).map_err(fail)?;
    let expected = code.short_code();
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let given = match short_code {
        Some(given) => given.to_owned(),
        None if std::io::stdin().is_terminal() => {
            eprint!("Type the six digits the new phone shows: ");
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
            line
        }
        None => return Err("give --short-code: the six digits the new phone shows".into()),
    };
    if digits(&given) != digits(&expected) {
        return Err(format!(
            "this phone shows {expected}: not what the new phone shows, so nothing was sent. \
             Scan the code again, from the new phone itself"
        ));
    }
    let mut transport = NostrTransport::new(Limits::default());
    let sent = vault
        .delivery()
        .send_move(&code, &mut transport)
        .map_err(fail)?;
    let json = serde_json::json!({
        "pieces": sent.pieces, "bytes": sent.bytes, "complete": sent.complete,
    });
    out.show(&json, || {
        format!(
            "Sent {:.1} MB in {} pieces. This vault is read-only now; wipe it with \
             `tend wipe --yes` once the new phone has everything.",
            sent.bytes as f64 / 1e6,
            sent.pieces
        )
    })?;
    if !sent.complete {
        return Err("a relay did not take every piece; try again".into());
    }
    Ok(())
}
