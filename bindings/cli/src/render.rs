//! Writing sealed envelopes out, to files or the terminal. Shared by the
//! command modules.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use tend_core::envelope::Sealed;

use crate::CliResult;
use crate::files;
use crate::output::Output;

pub fn write_envelope(sealed: &Sealed, path: Option<PathBuf>, out: &Output) -> CliResult {
    let armored = sealed.armored();
    let names = recipient_names(sealed);
    match path {
        Some(path) => {
            files::write_bytes(&path, armored.as_bytes())?;
            out.done(&format!("Sealed for {names} in {}", path.display()))
        }
        None => {
            eprintln!("Sealed for {names}:");
            out.show(
                &serde_json::json!({ "envelope": armored, "to": names }),
                || armored.trim_end().to_owned(),
            )
        }
    }
}

/// Several envelopes, each for its own recipients: into `dir` as
/// `<message id>.tend`, or armored on stdout one after another.
/// What an action sealed, written; or that there was nobody to tell.
pub fn sent(sealed: &[Sealed], dir: Option<PathBuf>, out: &Output) -> CliResult {
    if sealed.is_empty() {
        return out.done("Nobody to tell yet.");
    }
    write_envelopes(sealed, dir, out)
}

pub fn write_envelopes(sealed: &[Sealed], dir: Option<PathBuf>, out: &Output) -> CliResult {
    let Some(dir) = dir else {
        for s in sealed {
            write_envelope(s, None, out)?;
        }
        return Ok(());
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    let mut written = Vec::new();
    for s in sealed {
        let path = dir.join(format!("{}.tend", s.message_id));
        files::write_bytes(&path, s.armored().as_bytes())?;
        written.push((recipient_names(s), path));
    }
    let views: Vec<_> = written
        .iter()
        .map(|(to, path)| serde_json::json!({ "to": to, "file": path }))
        .collect();
    out.show(&views, || {
        written
            .iter()
            .map(|(to, path)| format!("Sealed for {to} in {}", path.display()))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

fn recipient_names(sealed: &Sealed) -> String {
    let names: Vec<&str> = sealed.recipients.iter().map(|r| r.name.as_str()).collect();
    names.join(", ")
}

/// An instant as this machine's clock shows it, with the zone, so a time
/// read on a laptop that travelled is not mistaken: `Sat 2026-12-05 18:00 CST`.
pub fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&crate::args::system_time_zone())
        .format("%a %Y-%m-%d %H:%M %Z")
        .to_string()
}
