//! Reading what people type: names of comrades and circles, local times,
//! the zone this machine is in. Shared by the command modules.

use std::path::PathBuf;

use chrono::{Duration, NaiveDateTime};
use tend_core::Vault;
use tend_core::comrades::Comrade;
use tend_core::envelope::Recipient;

use crate::{CliResult, fail};

/// Names of comrades or circles; a comrade wins when both have a name.
pub fn recipients(vault: &Vault, names: &[String]) -> CliResult<Vec<Recipient>> {
    names
        .iter()
        .map(|name| match vault.comrades().recipient_named(name) {
            Err(tend_core::Error::NotFound { .. }) => {
                Err(format!("no comrade or circle called {:?}", name.trim()))
            }
            other => other.map_err(fail),
        })
        .collect()
}

pub fn find(vault: &Vault, name: &str) -> CliResult<Comrade> {
    match vault.comrades().find(name) {
        Err(tend_core::Error::NotFound { .. }) => Err(format!("no comrade called {name:?}")),
        other => other.map_err(fail),
    }
}

/// A collective I keep, by name (ignoring case) or id.
pub fn collective(vault: &Vault, name: &str) -> CliResult<tend_core::collective::Collective> {
    match vault.collectives().find(name) {
        Err(tend_core::Error::NotFound { .. }) => Err(format!("no collective called {name:?}")),
        other => other.map_err(fail),
    }
}

pub fn local_time(text: &str) -> CliResult<NaiveDateTime> {
    tend_core::gatherings::parse_local_time(text).map_err(|_| {
        format!(
            "{:?} is not a local time like 2026-12-05T18:00",
            text.trim()
        )
    })
}

pub fn system_time_zone() -> chrono_tz::Tz {
    iana_time_zone::get_timezone()
        .ok()
        .and_then(|name| name.parse().ok())
        .unwrap_or(chrono_tz::UTC)
}

/// `--out` for one envelope or file: a file in a folder that exists. Checked
/// when the arguments are read, so a bad path fails before anything changes.
pub fn out_file(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    if path.is_dir() {
        return Err(format!("{text} is a folder; --out here takes a file"));
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !folder.is_dir() {
        return Err(format!("there is no folder {}", folder.display()));
    }
    Ok(path)
}

/// `--out` for several envelopes: a folder, made if missing. Checked when
/// the arguments are read, so a bad path fails before anything changes.
pub fn out_folder(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    let mut at = Some(path.as_path());
    while let Some(p) = at {
        if p.exists() {
            return if p.is_dir() {
                Ok(path)
            } else {
                Err(format!(
                    "{} is a file; --out here takes a folder",
                    p.display()
                ))
            };
        }
        at = p.parent().filter(|p| !p.as_os_str().is_empty());
    }
    Ok(path)
}

/// Longest text read from standard input or an editor: the journal's own limit.
const MAX_TEXT_BYTES: u64 = 256 * 1024;

/// What standard input holds, up to the journal's limit.
pub fn text_from_stdin() -> CliResult<String> {
    use std::io::Read;
    let mut text = String::new();
    std::io::stdin()
        .take(MAX_TEXT_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read standard input as text: {e}"))?;
    Ok(text)
}

/// What the member writes in `$EDITOR` (or `vi`), in a file only they can
/// read, in memory where the system has `/dev/shm`; the file is
/// overwritten and deleted afterwards. The editor may keep its own swap or
/// backup files: that is beyond what Tend can see.
pub fn text_from_editor() -> CliResult<String> {
    use std::io::Write;
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    let shm = std::path::Path::new("/dev/shm");
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tend-entry-").suffix(".txt");
    let file = if shm.is_dir() {
        builder.tempfile_in(shm)
    } else {
        builder.tempfile()
    }
    .map_err(|e| format!("cannot make a file for the editor: {e}"))?;
    let mut words = editor.split_whitespace();
    let program = words.next().ok_or("$EDITOR is empty")?;
    let status = std::process::Command::new(program)
        .args(words)
        .arg(file.path())
        .status()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    let text = std::fs::read_to_string(file.path())
        .map_err(|e| format!("cannot read what was written: {e}"));
    // Overwrite before deleting: on disk-backed temp folders the words would linger.
    if let Ok(len) = std::fs::metadata(file.path()).map(|m| m.len()) {
        let _ = file
            .as_file()
            .write_all(&vec![0; len as usize])
            .and_then(|()| file.as_file().sync_all());
    }
    drop(file);
    if !status.success() {
        return Err(format!(
            "{program} did not finish cleanly; nothing was saved"
        ));
    }
    let text = text?;
    if text.trim().is_empty() {
        return Err("nothing was written; nothing was saved".into());
    }
    Ok(text)
}

/// `12h`, `3d`, `90m`.
pub fn duration(text: &str) -> CliResult<Duration> {
    let bad = || format!("{text:?} is not a duration like 90m, 12h or 3d");
    let text = text.trim();
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number.parse().map_err(|_| bad())?;
    match unit {
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        _ => None,
    }
    .ok_or_else(bad)
}
