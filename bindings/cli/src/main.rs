//! `tend`: Tend's command line. The demo, scripting and inspection of a vault.

mod args;
mod backup_cmd;
mod care_cmd;
mod collective_cmd;
mod custody_cmd;
mod delivery_cmd;
mod demo;
mod files;
mod gatherings_cmd;
mod inbox_cmd;
mod journal_cmd;
mod move_cmd;
mod output;
mod pulse_cmd;
mod render;
mod secrets;
mod sharing_cmd;
mod visitor_cmd;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tend_core::journal::{ExportFormat, ExportProtection};
use tend_core::{KdfParams, Vault};

#[derive(Parser)]
#[command(
    name = "tend",
    version,
    about = "Tend: a private journal and care for your comrades",
    after_help = "Passphrases come from a prompt without echo, or for scripts from \
                  TEND_PASSPHRASE (the vault's, also for init), TEND_NEW_PASSPHRASE (the new one, \
                  for passphrase change), TEND_DURESS_PASSPHRASE (passphrase duress set), \
                  TEND_BACKUP_PASSPHRASE (export, import, backup and restore) and TEND_RECOVERY_WORDS \
                  (recovery replace)."
)]
struct Cli {
    /// The vault folder [default: the platform data folder, e.g. ~/.local/share/tend]
    #[arg(long, global = true, env = "TEND_VAULT")]
    vault: Option<PathBuf>,
    /// Machine-readable output
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a vault, sealed by a passphrase
    Init {
        /// Your name, as comrades will see it on your card
        #[arg(long)]
        name: String,
    },
    /// Write, find and reflect on journal entries
    #[command(subcommand)]
    Journal(journal_cmd::JournalCommand),
    /// Export the whole journal (sealed with a passphrase unless --plaintext)
    Export {
        /// The file to write, replaced whole
        #[arg(long, value_parser = crate::args::out_file)]
        out: PathBuf,
        /// json keeps everything; csv is for spreadsheets
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
        /// Write it readable by anyone who gets the file
        #[arg(long)]
        plaintext: bool,
    },
    /// Import a JSON backup made by `tend export`
    Import { file: PathBuf },
    /// Back up the whole vault (identity, keys, comrades, everything), to
    /// restore on a new phone; sealed with a passphrase unless --to
    Backup {
        /// The file to write, replaced whole
        #[arg(long, value_parser = crate::args::out_file)]
        out: PathBuf,
        /// Seal it to this age recipient (age1…) instead of a passphrase
        #[arg(long)]
        to: Option<String>,
    },
    /// Automatic whole-vault backups into a folder, sealed to an age recipient
    #[command(subcommand)]
    Backups(backup_cmd::BackupsCommand),
    /// Move phone to phone through relays: `receive` on the new phone,
    /// `send CODE` on the old one
    #[command(subcommand)]
    Move(move_cmd::MoveCommand),
    /// Make a new vault (in --vault) from a whole-vault backup: the same
    /// member, carrying on with every comrade
    Restore {
        file: PathBuf,
        /// An age identity file (AGE-SECRET-KEY-1…), for a backup sealed --to its recipient
        #[arg(long)]
        identity: Option<PathBuf>,
    },
    /// Change the vault passphrase
    #[command(subcommand)]
    Passphrase(PassphraseCommand),
    /// Panic wipe: destroy the key and delete every vault file
    Wipe {
        /// Yes, destroy it: there is no undo
        #[arg(long)]
        yes: bool,
    },
    /// My comrade card, to show or send (--qr draws it)
    Card {
        /// Also draw it as a QR code to scan
        #[arg(long)]
        qr: bool,
        #[command(subcommand)]
        action: Option<sharing_cmd::CardCommand>,
    },
    /// The comrades I share with
    #[command(subcommand)]
    Comrades(sharing_cmd::ComradesCommand),
    /// Comrades who keep shares of my backup key, for when everything is lost
    #[command(subcommand)]
    Custodians(custody_cmd::CustodiansCommand),
    /// My recovery key: twelve words that take my identity back if this
    /// phone is lost or taken
    #[command(subcommand)]
    Recovery(sharing_cmd::RecoveryCommand),
    /// The 60 digits to compare with a comrade in person
    SafetyNumber { name: String },
    /// Named groups of comrades
    #[command(subcommand)]
    Circles(sharing_cmd::CirclesCommand),
    /// Seal something for comrades
    #[command(subcommand)]
    Share(sharing_cmd::ShareCommand),
    /// Open envelopes and see what comrades sent
    #[command(subcommand)]
    Inbox(inbox_cmd::InboxCommand),
    /// Care requests: ask comrades for help, offer, accept, fulfil, thank
    #[command(subcommand)]
    Care(care_cmd::CareCommand),
    /// The collectives you belong to: members, stewards, agreements
    #[command(subcommand)]
    Collective(collective_cmd::CollectiveCommand),
    /// Visitor passes: a member's for a prospective member, and joining with one
    #[command(subcommand)]
    Visitor(visitor_cmd::VisitorCommand),
    /// Gatherings, their occurrences, RSVPs and reminders
    #[command(subcommand)]
    Gatherings(gatherings_cmd::GatheringsCommand),
    /// The Nostr relays you receive on
    #[command(subcommand)]
    Relays(delivery_cmd::RelaysCommand),
    /// Send the outbox through relays and fetch what waits for you
    Sync {
        /// Seconds to spread the sync's connections over, at random moments,
        /// so their timing ties nothing together (0: all at once)
        #[arg(long, default_value_t = tend_core::delivery::DEFAULT_DELAY_BUDGET.as_secs())]
        spread: u64,
    },
    /// Tell Tend's story in a temporary folder
    Demo {
        /// Carry every envelope of the care story through this relay (ws://127.0.0.1:PORT)
        #[arg(long)]
        relay: Option<String>,
    },
}

#[derive(Subcommand)]
enum PassphraseCommand {
    /// A new passphrase (TEND_NEW_PASSPHRASE, or a prompt) for the old one
    /// (TEND_PASSPHRASE, or a prompt); the key is rewrapped, the database
    /// is not rewritten unless --rekey
    Change {
        /// Also replace the data key and re-encrypt every page, for when an
        /// old copy of the header may have been taken
        #[arg(long)]
        rekey: bool,
    },
    /// Print a new passphrase of seven random words (77 bits), to use
    /// with init or change
    Generate,
    /// A second passphrase (TEND_DURESS_PASSPHRASE, or a prompt) that,
    /// entered instead of the real one at any unlock, destroys this vault
    /// and opens an empty one in its place
    Duress {
        #[command(subcommand)]
        action: DuressCommand,
    },
}

#[derive(Subcommand)]
enum DuressCommand {
    /// Set it, or replace the one set before
    Set,
    /// Remove it; the header then looks as if none was ever set
    Clear,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Json,
    Csv,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tend: {}", output::for_terminal(&message));
            ExitCode::FAILURE
        }
    }
}

pub type CliResult<T = ()> = Result<T, String>;

fn run(cli: Cli) -> CliResult {
    let dir = match cli.vault {
        Some(dir) => dir,
        None => dirs::data_dir()
            .ok_or("no data folder on this system; pass --vault")?
            .join("tend"),
    };
    let out = output::Output { json: cli.json };
    match cli.command {
        Command::Demo { relay } => demo::run(relay.as_deref()),
        Command::Relays(cmd) => delivery_cmd::relays(cmd, &open(&dir)?, &out),
        Command::Sync { spread } => {
            delivery_cmd::sync(&open(&dir)?, Duration::from_secs(spread), &out)
        }
        Command::Init { name } => {
            let passphrase = secrets::ask_new(secrets::VAULT_ENV, "New vault passphrase")?;
            let vault = Vault::create_with_passphrase(&dir, &passphrase, KdfParams::default())
                .map_err(fail)?;
            // All or nothing: a vault without a name is no use and would block a second init.
            let key = match vault
                .set_display_name(&name)
                .and_then(|()| vault.set_up_recovery())
            {
                Ok(key) => key,
                Err(e) => {
                    let _ = vault.wipe();
                    return Err(fail(e));
                }
            };
            let created = format!("Created a vault for {name} in {}", dir.display());
            let (mut json, words) = sharing_cmd::recovery_words(&key);
            json["ok"] = true.into();
            json["message"] = created.clone().into();
            out.show(&json, || format!("{created}.\n\n{words}"))
        }
        Command::Journal(cmd) => journal_cmd::run(cmd, &open(&dir)?, &out),
        Command::Card { qr, action } => sharing_cmd::card(&open(&dir)?, qr, action, &out),
        Command::Comrades(cmd) => sharing_cmd::comrades(cmd, &open(&dir)?, &out),
        Command::Recovery(cmd) => sharing_cmd::recovery(cmd, &open(&dir)?, &out),
        Command::Custodians(cmd) => custody_cmd::custodians(cmd, &dir, &out),
        Command::SafetyNumber { name } => sharing_cmd::safety_number(&open(&dir)?, &name, &out),
        Command::Circles(cmd) => sharing_cmd::circles(cmd, &open(&dir)?, &out),
        Command::Share(cmd) => sharing_cmd::share(cmd, &open(&dir)?, &out),
        Command::Inbox(cmd) => inbox_cmd::run(cmd, &open(&dir)?, &out),
        Command::Care(cmd) => care_cmd::run(cmd, &open(&dir)?, &out),
        Command::Collective(cmd) => collective_cmd::run(cmd, &open(&dir)?, &out),
        Command::Visitor(cmd) => visitor_cmd::run(cmd, &open(&dir)?, &out),
        Command::Gatherings(cmd) => {
            let vault = if gatherings_cmd::needs_vault(&cmd) {
                Some(open(&dir)?)
            } else {
                None
            };
            gatherings_cmd::run(cmd, vault.as_ref(), &out)
        }
        Command::Export {
            out: path,
            format,
            plaintext,
        } => {
            let vault = open(&dir)?;
            let protection = if plaintext {
                ExportProtection::Plaintext
            } else {
                let p = secrets::ask_new(secrets::BACKUP_ENV, "Backup passphrase")?;
                ExportProtection::Passphrase(secrets::secret(&p))
            };
            let format = match format {
                Format::Json => ExportFormat::Json,
                Format::Csv => ExportFormat::Csv,
            };
            let replacing = path.exists();
            let bar = output::progress("Exporting");
            let n = files::write_atomically(&path, |file| {
                vault
                    .journal()
                    .export(format, protection, file, &mut |d, t| bar.update(d, t))
                    .map_err(fail)
            })?;
            bar.finish();
            let replaced = if replacing {
                " (it replaced the file that was there)"
            } else {
                ""
            };
            out.show(
                &serde_json::json!({ "entries": n, "file": path, "replaced": replacing }),
                || {
                    format!(
                        "Exported {} to {}{replaced}",
                        output::count(n, "entry", "entries"),
                        path.display()
                    )
                },
            )
        }
        Command::Backup { out: path, to } => {
            backup_cmd::backup(&open(&dir)?, &path, to.as_deref(), &out)
        }
        Command::Backups(cmd) => backup_cmd::backups(cmd, &open(&dir)?, &out),
        Command::Move(move_cmd::MoveCommand::Receive {
            relays,
            wait,
            code_file,
        }) => move_cmd::receive(&dir, &relays, wait, code_file.as_deref(), &out),
        Command::Move(move_cmd::MoveCommand::Send { code, short_code }) => {
            move_cmd::send(&open(&dir)?, &code, short_code.as_deref(), &out)
        }
        Command::Restore { file, identity } => {
            backup_cmd::restore(&dir, &file, identity.as_deref(), &out)
        }
        Command::Import { file } => {
            let vault = open(&dir)?;
            let read = || {
                std::fs::File::open(&file)
                    .map_err(|e| format!("cannot read {}: {e}", file.display()))
            };
            let bar = output::progress("Importing");
            let result = vault
                .journal()
                .import(read()?, None, &mut |d, t| bar.update(d, t));
            let summary = match result {
                Err(tend_core::Error::PassphraseNeeded) => {
                    let p = secrets::ask(secrets::BACKUP_ENV, "Backup passphrase")?;
                    vault
                        .journal()
                        .import(read()?, Some(secrets::secret(&p)), &mut |d, t| {
                            bar.update(d, t)
                        })
                }
                other => other,
            }
            .map_err(fail)?;
            bar.finish();
            out.show(&summary, || {
                format!(
                    "Imported: {} added, {} updated, {} already here",
                    summary.added, summary.updated, summary.unchanged
                )
            })
        }
        Command::Passphrase(PassphraseCommand::Change { rekey }) => {
            let old = secrets::ask(secrets::VAULT_ENV, "Current passphrase")?;
            let vault = Vault::open_with_passphrase(&dir, &old).map_err(fail)?;
            let new = secrets::ask_new(secrets::NEW_ENV, "New passphrase")?;
            if rekey {
                vault
                    .change_passphrase_and_rekey(&old, &new)
                    .map_err(fail)?;
                return out.done(
                    "Passphrase changed, and the database re-encrypted under a new key: \
                     an old copy of the header opens nothing now.",
                );
            }
            vault.change_passphrase(&old, &new, None).map_err(fail)?;
            out.done("Passphrase changed. The database was not rewritten.")
        }
        Command::Passphrase(PassphraseCommand::Duress { action }) => {
            let passphrase = secrets::ask(secrets::VAULT_ENV, "Vault passphrase")?;
            let vault = Vault::open_with_passphrase(&dir, &passphrase).map_err(fail)?;
            match action {
                DuressCommand::Set => {
                    let duress = secrets::ask_new(secrets::DURESS_ENV, "Duress passphrase")?;
                    vault
                        .set_duress_passphrase(&passphrase, &duress)
                        .map_err(fail)?;
                    out.done(
                        "Duress passphrase set. Entered instead of yours, it destroys this \
                         vault for good and opens an empty one.",
                    )
                }
                DuressCommand::Clear => {
                    vault.clear_duress_passphrase(&passphrase).map_err(fail)?;
                    out.done("Duress passphrase cleared.")
                }
            }
        }
        Command::Passphrase(PassphraseCommand::Generate) => {
            use tend_core::ExposeSecret;
            let generated = tend_core::passphrase::generate();
            let words = generated.expose_secret();
            out.show(&serde_json::json!({ "passphrase": words }), || {
                format!(
                    "{words}\nWrite it down and keep it apart from the phone; Tend keeps no copy."
                )
            })
        }
        Command::Wipe { yes } => {
            if !yes {
                return Err("wipe destroys the vault for good; add --yes".into());
            }
            if !tend_core::VaultFiles::new(&dir).exists() {
                return Err(format!(
                    "there is no vault in {}; nothing was wiped",
                    dir.display()
                ));
            }
            Vault::wipe_at(&dir).map_err(fail)?;
            out.done("Wiped. Nothing of the vault is left in that folder.")
        }
    }
}

pub(crate) fn open(dir: &std::path::Path) -> CliResult<Vault> {
    if !tend_core::VaultFiles::new(dir).exists() {
        return Err(format!(
            "no vault in {}; run `tend init --name NAME`",
            dir.display()
        ));
    }
    let passphrase = secrets::ask(secrets::VAULT_ENV, "Vault passphrase")?;
    Vault::open_with_passphrase(dir, &passphrase).map_err(fail)
}

pub fn fail(e: tend_core::Error) -> String {
    match e {
        tend_core::Error::WeakPassphrase { .. } => {
            format!("{e} `tend passphrase generate` makes a strong one.")
        }
        e => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Issue 14: every option of every command says what it is (positional
    /// arguments are named in the usage line).
    #[test]
    fn every_option_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                let option = !arg.is_positional() && !["help", "version"].contains(&id);
                if option && arg.get_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "tend", &mut missing);
        assert!(missing.is_empty(), "options without help: {missing:#?}");
    }
}
