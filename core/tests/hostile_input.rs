//! Mutated and random inputs to every parser that reads what others wrote:
//! each returns a value or a typed error, never panics, and a failure leaves
//! the journal as it was.

mod common;

use tend_core::Error;
use tend_core::journal::{DaylioOptions, UnknownMoods};

/// A small deterministic generator, so a failure can be replayed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: &[&[u8]] = &[
    b"\"",
    b",",
    b"\n",
    b"\r\n",
    b" | ",
    b"\0",
    b"\xff",
    b"\xf0\x9f",
    b"{",
    b"}",
    b"[",
    b"]",
    b"null",
    b"-1",
    b"99999999999999999999",
    b"1e308",
    b"2024-02-30",
    b"24:61",
    b"\\u0000",
];

fn mutate(seed: &[u8], rng: &mut XorShift) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(4) {
            0 if !bytes.is_empty() => {
                let i = at.min(bytes.len() - 1);
                bytes[i] ^= 1 << rng.below(8);
            }
            1 => {
                let piece = INTERESTING[rng.below(INTERESTING.len())];
                bytes.splice(at..at, piece.iter().copied());
            }
            2 => bytes.truncate(at),
            _ => {
                let end = (at + rng.below(32)).min(bytes.len());
                bytes.drain(at..end);
            }
        }
    }
    bytes
}

fn typed(e: &Error) -> bool {
    matches!(
        e,
        Error::Import(_)
            | Error::ImportLine { .. }
            | Error::Invalid { .. }
            | Error::MoodOutOfScale { .. }
            | Error::MoodScaleSize(_)
    )
}

#[test]
fn mutated_daylio_files_never_panic_or_half_import() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = common::new_vault(tmp.path());
    let j = vault.journal();
    let seed = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/daylio-v2.csv"
    ))
    .unwrap();
    let options = DaylioOptions {
        time_zone: chrono_tz::Europe::Berlin,
        unknown_moods: UnknownMoods::Report,
    };
    let mut rng = XorShift(0x7e4d_0001);
    let mut refused = 0;
    for _ in 0..1500 {
        let bytes = mutate(&seed, &mut rng);
        let before = j.count().unwrap();
        match j.import_daylio(bytes.as_slice(), &options, &mut |_, _| {}) {
            Ok(_) => {}
            Err(e) => {
                assert!(typed(&e), "untyped error {e:?}");
                assert_eq!(
                    j.count().unwrap(),
                    before,
                    "a refused file imported something"
                );
                refused += 1;
            }
        }
    }
    assert!(
        refused > 100,
        "the mutations should break most files ({refused})"
    );
    assert!(vault.integrity_check().unwrap());
}

#[test]
fn mutated_backups_never_panic_or_half_import() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = common::new_vault(tmp.path());
    let j = vault.journal();
    let seed = include_bytes!("../../docs/vectors/journal-backup-v1.json");
    let mut rng = XorShift(0x7e4d_0002);
    for _ in 0..1500 {
        let bytes = mutate(seed, &mut rng);
        let before = j.count().unwrap();
        if let Err(e) = j.import(bytes.as_slice(), None, &mut |_, _| {}) {
            assert!(typed(&e), "untyped error {e:?}");
            assert_eq!(j.count().unwrap(), before);
        }
    }
    assert!(vault.integrity_check().unwrap());
}

#[test]
fn random_bytes_as_vault_headers_are_typed_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    drop(tend_core::Vault::create_with_key(&dir, &common::key(1)).unwrap());
    let header = std::fs::read(dir.join("vault.header")).unwrap();
    let mut rng = XorShift(0x7e4d_0003);
    for _ in 0..300 {
        let bytes = mutate(&header, &mut rng);
        std::fs::write(dir.join("vault.header"), &bytes).unwrap();
        match tend_core::Vault::open_with_key(&dir, &common::key(1)) {
            Ok(_) => assert_eq!(bytes, header),
            Err(Error::HeaderDamaged(_) | Error::UnsupportedHeaderVersion(_) | Error::WrongKey) => {
            }
            Err(other) => panic!("header gave {other:?}"),
        }
    }
}
