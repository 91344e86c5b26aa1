//! Replays the fuzzers' corpus (`fuzz/corpus`): seeds and every input the
//! fuzzers kept. None may panic.
#![cfg(feature = "testing")]

use std::path::Path;

fn replay<T>(target: &str, run: fn(&[u8]) -> T) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut count = 0;
    for file in std::fs::read_dir(&dir).unwrap() {
        let path = file.unwrap().path();
        run(&std::fs::read(&path).unwrap());
        count += 1;
    }
    assert!(
        count >= 5,
        "{target}: only {count} inputs in {}",
        dir.display()
    );
}

#[test]
fn the_envelope_corpus_opens_without_panics() {
    replay("open_envelope", |data| {
        tend_core::testing::open_envelope(data);
        tend_core::testing::open_inner(data)
    });
}

#[test]
fn the_seeds_reach_past_decryption() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/open_envelope");
    for (seed, opens) in [
        ("entry-to-bob", true),
        ("entry-to-bob-armored", true),
        ("not-for-bob", false),
    ] {
        let bytes = std::fs::read(seeds.join(seed)).unwrap();
        assert_eq!(tend_core::testing::open_envelope(&bytes), opens, "{seed}");
    }
}

#[test]
fn the_card_corpus_parses_without_panics() {
    replay("parse_card", tend_core::testing::parse_card);
}

#[test]
fn the_import_corpora_read_without_panics() {
    replay("import_ics", tend_core::testing::import_ics);
    replay("parse_rrule", tend_core::testing::parse_rrule);
    replay("import_daylio", tend_core::testing::import_daylio);
    replay("import_backup", tend_core::testing::import_backup);
}

#[test]
fn the_seeds_are_accepted_where_they_should_be() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let read = |path: &str| std::fs::read(seeds.join(path)).unwrap();
    assert!(tend_core::testing::import_ics(&read(
        "import_ics/google.ics"
    )));
    assert!(tend_core::testing::parse_rrule(&read("parse_rrule/rule-1")));
    assert!(tend_core::testing::import_daylio(&read(
        "import_daylio/quoted.csv"
    )));
    assert!(tend_core::testing::import_backup(&read(
        "import_backup/two-entries.json"
    )));
    assert!(!tend_core::testing::import_backup(&read(
        "import_backup/duplicate-id.json"
    )));
}

#[cfg(feature = "network")]
#[test]
fn the_relay_corpora_read_without_panics() {
    replay("relay_message", tend_core::testing::relay_message);
    replay("relay_pieces", tend_core::testing::relay_pieces);
}

#[test]
fn the_relay_document_corpus_reads_without_panics() {
    replay("relay_document", tend_core::testing::relay_document);
}

#[test]
fn the_vault_header_corpus_decodes_without_panics_and_round_trips() {
    replay("vault_header", tend_core::testing::vault_header);
}

#[test]
fn the_collective_change_corpus_parses_without_panics_and_the_seeds_are_taken() {
    replay("collective_change", tend_core::testing::collective_change);
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/collective_change");
    for seed in ["found.bin", "add-member.bin"] {
        let bytes = std::fs::read(seeds.join(seed)).unwrap();
        assert!(tend_core::testing::collective_change(&bytes), "{seed}");
    }
}

#[test]
fn the_collective_bodies_corpus_parses_without_panics_and_every_seed_is_taken() {
    replay("collective_bodies", tend_core::testing::collective_bodies);
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/collective_bodies");
    for seed in [
        "changes.bin",
        "ask.bin",
        "visit.json",
        "face.json",
        "vouch.json",
        "progress.json",
        "progress-gathering.json",
        "attended.json",
        "pass.bin",
        "pass.txt",
    ] {
        let bytes = std::fs::read(seeds.join(seed)).unwrap();
        assert!(tend_core::testing::collective_bodies(&bytes), "{seed}");
    }
}
