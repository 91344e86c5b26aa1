//! Reading what people type: names of comrades and circles, local times,
//! the zone this machine is in. Shared by the command modules.

use std::path::PathBuf;

use chrono::NaiveDateTime;
use tend_core::Vault;
use tend_core::comrades::Comrade;
use tend_core::envelope::To;

use crate::{CliResult, fail};

/// Names of comrades or circles; a comrade wins when both have a name.
pub fn recipients(vault: &Vault, names: &[String]) -> CliResult<Vec<To>> {
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
