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

/// Issue 14: every parser meets input ten times past each of its limits and
/// answers with a typed error (how the refusal's time grows with size is in
/// `cargo bench --bench hostile`, not here).
#[test]
fn every_parser_refuses_ten_times_its_limits() {
    use tend_core::envelope::{EnvelopeError, MAX_ARMORED_BYTES, MAX_ENVELOPE_BYTES};
    use tend_core::gatherings::{MAX_ICS_BYTES, MAX_RULE_BYTES, Schedule};
    let dir = tempfile::tempdir().unwrap();
    let vault = common::new_vault(dir.path());

    let ics = "X".repeat(10 * MAX_ICS_BYTES);
    assert!(matches!(
        vault.gatherings().import_ics(&ics, "UTC"),
        Err(Error::Import(_))
    ));
    let rule = format!("FREQ=DAILY{}", ";COUNT=1".repeat(10 * MAX_RULE_BYTES / 8));
    let start = chrono::NaiveDate::from_ymd_opt(2026, 12, 5)
        .unwrap()
        .and_hms_opt(18, 0, 0)
        .unwrap();
    assert!(matches!(
        Schedule::new(start, "UTC", Some(&rule)),
        Err(Error::Invalid {
            field: "recurrence",
            ..
        })
    ));
    let envelope = vec![0u8; 10 * MAX_ENVELOPE_BYTES];
    assert!(matches!(
        vault.envelopes().open(&envelope),
        Err(Error::Envelope(EnvelopeError::TooLarge { .. }))
    ));
    let armored = "A".repeat(10 * MAX_ARMORED_BYTES);
    assert!(matches!(
        vault.envelopes().open(armored.as_bytes()),
        Err(Error::Envelope(EnvelopeError::TooLarge { .. }))
    ));
    let card = format!(
        "TEND:{}",
        "A".repeat(10 * tend_core::comrades::MAX_CARD_BYTES)
    );
    assert!(matches!(
        tend_core::comrades::Card::parse(&card),
        Err(Error::Card(_))
    ));
    // serde_json stops at 128 levels; ten times that is a typed error.
    let nested = format!(
        r#"{{"format":"tend-journal","version":1,"x":{}{}}}"#,
        "[".repeat(1280),
        "]".repeat(1280)
    );
    assert!(matches!(
        vault
            .journal()
            .import(nested.as_bytes(), None, &mut |_, _| {}),
        Err(Error::Import(_) | Error::ImportLine { .. })
    ));
    let options = DaylioOptions {
        time_zone: chrono_tz::UTC,
        unknown_moods: UnknownMoods::Report,
    };
    let wide = format!(
        "full_date,time,mood\n2024-01-01,10:00,{}\n",
        "x".repeat(10 << 20)
    );
    assert!(matches!(
        vault
            .journal()
            .import_daylio(wide.as_bytes(), &options, &mut |_, _| {}),
        Err(Error::ImportLine { .. })
    ));
    assert_eq!(vault.journal().count().unwrap(), 0);
}
