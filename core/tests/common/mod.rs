//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;

use tend_core::journal::NewEntry;
use tend_core::{DataKey, KdfParams, Vault};

/// Cheap Argon2 so tests stay fast; the default is measured in the benches.
pub const TEST_KDF: KdfParams = KdfParams {
    memory_kib: 256,
    iterations: 1,
    parallelism: 1,
};

pub fn key(byte: u8) -> DataKey {
    DataKey::from_bytes([byte; 32])
}

pub fn new_vault(dir: &Path) -> Vault {
    Vault::create_with_key(dir.join("v"), &key(7)).unwrap()
}

pub fn entry(body: &str) -> NewEntry {
    NewEntry {
        body: body.to_owned(),
        ..NewEntry::default()
    }
}

/// Every file in the folder, as (name, bytes).
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// Fails if any file in the folder holds any of the words, in UTF-8 or UTF-16.
pub fn assert_no_plaintext(dir: &Path, words: &[&str]) {
    use std::collections::{BTreeMap, HashSet};
    let mut needles: BTreeMap<usize, HashSet<Vec<u8>>> = BTreeMap::new();
    for word in words {
        // Shorter words turn up by chance in a megabyte of ciphertext.
        assert!(word.len() >= 5, "{word:?}: too short to search for");
        let utf16: Vec<u8> = word.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        for needle in [word.as_bytes().to_vec(), utf16] {
            needles.entry(needle.len()).or_default().insert(needle);
        }
    }
    for (name, bytes) in snapshot(dir) {
        // One pass a needle length, not one a word: vault files run to megabytes.
        for (len, set) in &needles {
            if let Some(found) = bytes.windows(*len).find(|w| set.contains(*w)) {
                panic!("{name} contains {:?}", String::from_utf8_lossy(found));
            }
        }
    }
}

/// A member with a display name, in a folder of their own.
pub fn member(dir: &Path, name: &str) -> Vault {
    let vault = Vault::create_with_key(dir.join(name), &key(7)).unwrap();
    vault.set_display_name(name).unwrap();
    vault
}

/// Each adds the other from their card.
pub fn befriend(
    a: &Vault,
    b: &Vault,
) -> (
    tend_core::comrades::ComradeId,
    tend_core::comrades::ComradeId,
) {
    let b_in_a = a
        .comrades()
        .add(&b.comrades().my_card().unwrap(), None)
        .unwrap();
    let a_in_b = b
        .comrades()
        .add(&a.comrades().my_card().unwrap(), None)
        .unwrap();
    (b_in_a.comrade().id, a_in_b.comrade().id)
}

/// Every one of these calls was refused because a newer copy took over.
pub fn all_retired(refusals: impl IntoIterator<Item = Option<tend_core::Error>>) {
    for refused in refusals {
        assert!(
            matches!(refused, Some(tend_core::Error::Retired)),
            "{refused:?}"
        );
    }
}

/// How many entries the journal lists, up to 500.
pub fn entry_count(vault: &Vault) -> usize {
    let everything = tend_core::journal::EntryFilter::default();
    vault
        .journal()
        .list(&everything, 500, None)
        .unwrap()
        .entries
        .len()
}

/// What `vault` sealed of `kind`, newest first.
pub fn sealed_of(vault: &Vault, kind: &str) -> Vec<tend_core::envelope::Sealed> {
    vault
        .envelopes()
        .outbox()
        .unwrap()
        .into_iter()
        .filter(|o| o.kind == kind)
        .map(|o| o.sealed)
        .collect()
}

/// The monthly restorative gathering from December 2026, in Chicago: its
/// first evening is 2026-12-05T18:00.
pub fn restorative_gathering(vault: &Vault) -> tend_core::gatherings::Gathering {
    vault
        .gatherings()
        .add(tend_core::gatherings::NewGathering::monthly_restorative(
            chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            "America/Chicago",
            "Community room",
        ))
        .unwrap()
}
