//! Export and import of the whole journal.
//!
//! JSON is the lossless backup (`docs/export-formats.md`); CSV is for
//! spreadsheets. Exports are sealed with an age passphrase unless the member
//! explicitly asks for plaintext.

use std::io::{BufRead, BufReader, Read, Write};

use age::secrecy::SecretString;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::entry::{CleanEntry, Entry, EntryId, NewEntry};
use super::mood::{self, MoodStep};
use super::store;
use super::{Journal, Progress};
use crate::sealed::{self, OpenWith, Refused, SealWith};
use crate::{Error, Result};

pub const BACKUP_FORMAT: &str = "tend-journal";
pub const BACKUP_VERSION: u32 = 1;
/// An import larger than this is refused before it is read into memory.
pub const MAX_IMPORT_BYTES: u64 = 1 << 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Json,
    Csv,
}

pub enum ExportProtection {
    /// age, scrypt passphrase (the default).
    Passphrase(SecretString),
    /// Readable by anyone who gets the file; the member must ask for it.
    Plaintext,
}

impl std::fmt::Debug for ExportProtection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ExportProtection::Passphrase(_) => "Passphrase(<redacted>)",
            ExportProtection::Plaintext => "Plaintext",
        })
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ImportSummary {
    pub added: u64,
    /// Entries the import had a newer copy of.
    pub updated: u64,
    /// Entries already here, as new or newer.
    pub unchanged: u64,
}

#[derive(Serialize, Deserialize)]
struct BackupHead {
    format: String,
    version: u32,
    exported_at: DateTime<Utc>,
    mood_scale: Vec<MoodStep>,
}

#[derive(Deserialize)]
struct Backup {
    #[serde(flatten)]
    head: BackupHead,
    entries: Vec<Entry>,
}

const CSV_HEADER: [&str; 9] = [
    "id",
    "written_at",
    "local_date",
    "mood",
    "mood_label",
    "feelings",
    "activities",
    "title",
    "body",
];

impl Journal<'_> {
    /// Writes every entry, oldest first. Returns how many.
    pub fn export(
        &self,
        format: ExportFormat,
        protection: ExportProtection,
        out: impl Write,
        progress: Progress<'_>,
    ) -> Result<u64> {
        let mut write = |out: &mut dyn Write| self.write_export(format, out, progress);
        match protection {
            ExportProtection::Plaintext => {
                let mut out = out;
                write(&mut out)
            }
            ExportProtection::Passphrase(passphrase) => {
                let with = SealWith::Passphrase(passphrase);
                let mut sealed = sealed::seal(&with, out, "writing the export")?;
                let n = write(&mut sealed)?;
                sealed.finish().map_err(Error::io("writing the export"))?;
                Ok(n)
            }
        }
    }

    fn write_export(
        &self,
        format: ExportFormat,
        out: &mut dyn Write,
        progress: Progress<'_>,
    ) -> Result<u64> {
        let io = Error::io("writing the export");
        self.vault.with_conn(|conn| {
            let total: u64 = conn.query_row("SELECT count(*) FROM entries", [], |r| r.get(0))?;
            let scale = mood::read_scale(conn)?;
            let mut done = 0u64;
            let mut tick = |done: u64| {
                if done.is_multiple_of(1000) || done == total {
                    progress(done, total);
                }
            };
            match format {
                ExportFormat::Json => {
                    let head = BackupHead {
                        format: BACKUP_FORMAT.into(),
                        version: BACKUP_VERSION,
                        exported_at: Utc::now(),
                        mood_scale: scale.steps,
                    };
                    let mut head = serde_json::to_string(&head).expect("plain data serialises");
                    head.pop(); // reopen the object to append the entries
                    write!(out, "{head},\"entries\":[").map_err(io)?;
                    store::for_each_oldest_first(conn, |entry| {
                        if done > 0 {
                            out.write_all(b",")
                                .map_err(Error::io("writing the export"))?;
                        }
                        out.write_all(b"\n")
                            .map_err(Error::io("writing the export"))?;
                        serde_json::to_writer(&mut *out, &entry).map_err(|_| Error::Io {
                            context: "writing the export",
                            kind: std::io::ErrorKind::Other,
                        })?;
                        done += 1;
                        tick(done);
                        Ok(())
                    })?;
                    out.write_all(b"\n]}\n")
                        .map_err(Error::io("writing the export"))?;
                }
                ExportFormat::Csv => {
                    let mut csv = csv::Writer::from_writer(&mut *out);
                    let csv_io = |_| Error::Io {
                        context: "writing the export",
                        kind: std::io::ErrorKind::Other,
                    };
                    csv.write_record(CSV_HEADER).map_err(csv_io)?;
                    store::for_each_oldest_first(conn, |e| {
                        let mood = e.mood.map(|m| m.to_string()).unwrap_or_default();
                        let label = e.mood.and_then(|m| scale.label(m)).unwrap_or("");
                        csv.write_record([
                            e.id.to_string().as_str(),
                            &e.written_at
                                .to_rfc3339_opts(chrono::SecondsFormat::Millis, false),
                            &e.local_date().to_string(),
                            &mood,
                            label,
                            &e.feelings.join(" | "),
                            &e.activities.join(" | "),
                            e.title.as_deref().unwrap_or(""),
                            &e.body,
                        ])
                        .map_err(csv_io)?;
                        done += 1;
                        tick(done);
                        Ok(())
                    })?;
                    csv.flush().map_err(Error::io("writing the export"))?;
                }
            }
            progress(done, total);
            Ok(done)
        })
    }

    /// Imports a JSON backup, sealed with a passphrase or plain. All or nothing.
    ///
    /// An entry already here is replaced only by a copy edited later. The
    /// backup's mood scale is taken when the journal is empty; otherwise the
    /// two scales must have the same number of steps.
    pub fn import(
        &self,
        input: impl Read,
        passphrase: Option<SecretString>,
        progress: Progress<'_>,
    ) -> Result<ImportSummary> {
        let mut input = BufReader::new(input.take(MAX_IMPORT_BYTES + 1));
        let mut bytes = Vec::new();
        if sealed::is_age(input.fill_buf().map_err(Error::io("reading the backup"))?) {
            let passphrase = passphrase.ok_or(Error::PassphraseNeeded)?;
            sealed::open(input, &OpenWith::Passphrase(passphrase))
                .map_err(refused)?
                .take(MAX_IMPORT_BYTES + 1)
                .read_to_end(&mut bytes)
                .map_err(|_| Error::Import("the backup is damaged"))?;
        } else {
            input
                .read_to_end(&mut bytes)
                .map_err(Error::io("reading the backup"))?;
        }
        if bytes.len() as u64 > MAX_IMPORT_BYTES {
            return Err(Error::Import("the backup is larger than 1 GiB"));
        }
        let backup = parse_backup(&bytes)?;
        drop(bytes);
        let cleaned = clean_all(backup.entries)?;
        let total = cleaned.len() as u64;
        self.vault.with_tx(|tx| {
            let scale = mood::scale_from_steps(backup.head.mood_scale)?;
            let here = mood::read_scale(tx)?;
            let empty: bool =
                tx.query_row("SELECT NOT EXISTS (SELECT 1 FROM entries)", [], |r| {
                    r.get(0)
                })?;
            if empty {
                mood::write_scale(tx, &scale)?;
            } else if here.len() != scale.len() {
                return Err(Error::Import(
                    "the backup's mood scale has a different number of steps",
                ));
            }
            store::upsert_all(
                tx,
                cleaned
                    .iter()
                    .map(|(id, entry, updated_at)| (*id, entry, *updated_at)),
                total,
                progress,
            )
        })
    }
}

fn refused(refused: Refused) -> Error {
    match refused {
        Refused::WrongKey => Error::WrongKey,
        Refused::TooMuchWork => {
            Error::Import("the backup's passphrase work factor is too high for this device")
        }
        Refused::Damaged => Error::Import("the backup is damaged or not an age file"),
    }
}

/// Every entry cleaned as the journal would, refusing ids seen twice.
fn clean_all(entries: Vec<Entry>) -> Result<Vec<(EntryId, CleanEntry, i64)>> {
    let mut ids = std::collections::HashSet::with_capacity(entries.len());
    entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let updated_at = e.updated_at.timestamp_millis();
            let id = e.id;
            if !ids.insert(id) {
                // Which copy is right cannot be told; keeping either would be a guess.
                return Err(Error::ImportLine {
                    line: i as u64 + 1,
                    problem: "an entry with this id came before (entries counted from 1)".into(),
                });
            }
            NewEntry {
                written_at: Some(e.written_at),
                mood: e.mood,
                feelings: e.feelings,
                activities: e.activities,
                title: e.title,
                body: e.body,
            }
            .clean(Utc::now())
            .map(|c| (id, c, updated_at))
            .map_err(|e| Error::ImportLine {
                line: i as u64 + 1,
                problem: format!("{e} (entries counted from 1)"),
            })
        })
        .collect()
}

/// Every check an import makes, without storing anything: for the fuzzer.
#[cfg(feature = "testing")]
pub(crate) fn check(bytes: &[u8]) -> Result<()> {
    clean_all(parse_backup(bytes)?.entries).map(drop)
}

fn parse_backup(bytes: &[u8]) -> Result<Backup> {
    #[derive(Deserialize)]
    struct Probe {
        format: Option<String>,
        version: Option<u32>,
    }
    let probe: Probe = serde_json::from_slice(bytes)
        .map_err(|e| json_error(&e, "not a Tend backup (unreadable JSON)"))?;
    if probe.format.as_deref() != Some(BACKUP_FORMAT) {
        return Err(Error::Import("not a Tend journal backup"));
    }
    match probe.version {
        Some(BACKUP_VERSION) => {}
        Some(v) if v > BACKUP_VERSION => {
            return Err(Error::Import(
                "the backup was made by a newer Tend; update the app",
            ));
        }
        _ => return Err(Error::Import("unknown backup version")),
    }
    serde_json::from_slice(bytes).map_err(|e| json_error(&e, "a field has the wrong shape"))
}

fn json_error(e: &serde_json::Error, problem: &str) -> Error {
    Error::ImportLine {
        line: e.line() as u64,
        problem: problem.to_owned(),
    }
}
