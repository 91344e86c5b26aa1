//! Tend's core: an encrypted vault per member, the journal, comrades, care
//! requests and gatherings inside it, and the envelopes that carry them.
//!
//! This crate knows nothing of FFI. Apps reach it through `bindings/`; the
//! `uniffi` feature, which only `tend-ffi` turns on, derives uniffi on the
//! types apps see so they are written once (`uniffi_types` says how times
//! and ids cross).
//!
//! # Module map
//! Each module imports only modules on lower rows, and owns its tables:
//! others reach them through its typed functions, never by SQL
//! (`core/tests/module_graph.rs` checks both; only the vault's numbered
//! migrations touch every table).
//!
//! | Row | Module | Owns | May import |
//! |---|---|---|---|
//! | 7 | `registry`, `testing` | the lists that fill every seam below; the public vault constructors | everything |
//! | 6 | `care`, `gatherings`, `journal` | requests and offers; gatherings, RSVPs, .ics; entries, search, backups | rows 0–5 |
//! | 6 | `custody` | custodians of my backup key, and the shares I keep for others | rows 0–5 |
//! | 6 | `pulse` | a collective's pulses: shares a tallier holds, the talliers' sums, totals | rows 0–5 |
//! | 6 | `delivery` | relays' outbox state, cursors, the Nostr transport | rows 0–5 |
//! | 5 | `collective` | a collective's log of signed changes and the state it folds to | rows 0–4 |
//! | 4 | `envelope` | sealing and opening, inbox, outbox, replay records; the `KindHandler` seam | rows 0–3 |
//! | 3 | `comrades` | comrades, circles, safety numbers; reports `ComradeChange` | rows 0–2 |
//! | 2 | `identity` | my keys, mailboxes and relays, my card; the key, card and address types | rows 0–1 |
//! | 1 | `vault` | the database, its header and migrations, named settings; the `Hooks` seam | row 0 |
//! | 0 | `error`, `id`, `name`, `passphrase`, `time`, `redact`, `secret`, `sealed`, `fts`, `bytes`, `uniffi_types` | shared values and helpers | nothing above |
//!
//! The modules on row 6 do not import each other.
//!
//! `Vault`, as the registry builds it, is the one session both the command
//! line and `tend-ffi` drive: it holds the open database and the lists of
//! handlers, parses what people type (`gatherings::parse_local_time`,
//! `Comrades::recipient_named`) and reports each commit's [`Change`]s to
//! the listener the app sets, so neither binding lists them by hand.

mod bytes;
pub mod care;
pub mod collective;
pub mod comrades;
pub mod custody;
pub mod delivery;
pub mod envelope;
mod error;
mod fts;
pub mod gatherings;
mod id;
pub mod identity;
pub mod journal;
mod name;
pub mod passphrase;
pub mod pulse;
mod redact;
mod registry;
pub mod sealed;
mod secret;
#[cfg(feature = "testing")]
pub mod testing;
mod time;
#[cfg(feature = "uniffi")]
mod uniffi_types;
pub mod vault;

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!("tend_core");

/// Passphrases for sealed backups; zeroized on drop.
pub use age::secrecy::{ExposeSecret, SecretString};
pub use error::{Error, Result};
pub use registry::{Change, kinds};
pub use secret::DataKey;
pub use vault::{KdfParams, Vault, VaultFiles};
