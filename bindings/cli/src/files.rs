//! Every file `tend` writes is written all or nothing: into a private
//! temporary file in the same folder, synced, then renamed over the target.
//! A full disk or a crash leaves the previous file whole (or no file), and
//! never a temporary one.

use std::io::Write;
use std::path::Path;

/// Writes `path` with what `fill` writes, replacing any file there only
/// once all of it is on disk. The file is readable by its owner alone.
pub fn write_atomically<T>(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> Result<T, String>,
) -> Result<T, String> {
    let cannot = |e: &dyn std::fmt::Display| format!("cannot write {}: {e}", path.display());
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // tempfile makes it 0600 and removes it if anything below fails.
    let mut tmp = tempfile::Builder::new()
        .prefix(".tend-")
        .suffix(".part")
        .tempfile_in(dir)
        .map_err(|e| cannot(&e))?;
    let value = {
        let mut buffered = std::io::BufWriter::new(tmp.as_file_mut());
        let value = fill(&mut buffered)?;
        buffered.flush().map_err(|e| cannot(&e))?;
        value
    };
    tmp.as_file().sync_all().map_err(|e| cannot(&e))?;
    tmp.persist(path).map_err(|e| cannot(&e.error))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(value)
}

/// [`write_atomically`] for bytes already in memory.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), String> {
    write_atomically(path, |w| w.write_all(bytes).map_err(|e| e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("backup.age");
        write_bytes(&path, b"the good backup").unwrap();
        let failed = write_atomically(&path, |w| {
            w.write_all(b"half of a new one").unwrap();
            Err::<(), _>("disk full".to_owned())
        });
        assert_eq!(failed.unwrap_err(), "disk full");
        assert_eq!(std::fs::read(&path).unwrap(), b"the good backup");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file is left");
        // A failure onto a new path leaves nothing at all.
        let fresh = dir.path().join("new.age");
        let _ = write_atomically(&fresh, |_| Err::<(), _>("no".to_owned()));
        assert!(!fresh.exists());
    }

    #[cfg(unix)]
    #[test]
    fn written_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("backup.json");
        write_bytes(&path, b"{}").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
