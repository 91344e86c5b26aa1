//! Vault and journal speed, each against plain SQLite doing the same work in
//! the same run, so the cost of encryption shows as a ratio.
//!
//! Run: `cargo bench -p tend-core --features plaintext-baseline,testing --bench vault`

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use chrono::{FixedOffset, TimeZone};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tend_core::journal::{DaylioOptions, NewEntry, UnknownMoods};
use tend_core::{DataKey, KdfParams, Vault, VaultFiles};

#[derive(Clone, Copy)]
enum Kind {
    SqlCipher,
    Plain,
}

impl Kind {
    const BOTH: [Kind; 2] = [Kind::SqlCipher, Kind::Plain];

    fn name(self) -> &'static str {
        match self {
            Kind::SqlCipher => "sqlcipher",
            Kind::Plain => "plain",
        }
    }

    fn create(self, dir: &Path) -> Vault {
        match self {
            Kind::SqlCipher => Vault::create_with_key(dir, &key()).unwrap(),
            Kind::Plain => Vault::create_plaintext_baseline(dir).unwrap(),
        }
    }

    fn open(self, dir: &Path) -> Vault {
        match self {
            Kind::SqlCipher => Vault::open_with_key(dir, &key()).unwrap(),
            Kind::Plain => Vault::open_plaintext_baseline(dir).unwrap(),
        }
    }
}

fn key() -> DataKey {
    DataKey::from_bytes([42; 32])
}

const WORDS: &[&str] = &[
    "walk", "rain", "tired", "kettle", "garden", "bus", "shift", "friend", "river", "bread",
    "call", "sleep", "rent", "meeting", "painting", "soup", "quiet", "laugh", "clinic", "letter",
];

fn nth_entry(i: usize) -> NewEntry {
    let start = FixedOffset::east_opt(3600)
        .unwrap()
        .with_ymd_and_hms(2016, 1, 1, 20, 0, 0)
        .unwrap();
    let body = (0..30)
        .map(|k| WORDS[(i * 7 + k * 13) % WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ");
    NewEntry {
        written_at: Some(start + chrono::Duration::hours(i as i64)),
        mood: Some((i % 5 + 1) as u8),
        feelings: vec![WORDS[i % 7].into()],
        activities: vec![WORDS[(i % 5) + 7].into(), WORDS[(i % 3) + 12].into()],
        title: None,
        body: format!("{body} n{i}"),
    }
}

/// A Daylio-shaped CSV: the fastest bulk path, one transaction.
fn daylio_csv(n: usize, per_day: usize) -> Vec<u8> {
    let mut out = String::from("full_date,date,weekday,time,mood,activities,note_title,note\n");
    let start = chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap();
    for i in 0..n {
        let day = start + chrono::Days::new((i / per_day) as u64);
        let mood = ["awful", "bad", "meh", "good", "rad"][i % 5];
        let note: String = (0..20)
            .map(|k| WORDS[(i + k * 3) % WORDS.len()])
            .collect::<Vec<_>>()
            .join(" ");
        out.push_str(&format!(
            "{day},x,x,{}:{:02},{mood},{} | {},,{note} n{i}\n",
            8 + (i % 3) * 5,
            i % 60,
            WORDS[i % 7],
            WORDS[7 + i % 5]
        ));
    }
    out.into_bytes()
}

fn filled(kind: Kind, dir: &Path, n: usize, per_day: usize) -> Vault {
    let vault = kind.create(dir);
    let opts = DaylioOptions {
        time_zone: chrono_tz::Europe::Berlin,
        unknown_moods: UnknownMoods::Report,
    };
    vault
        .journal()
        .import_daylio(daylio_csv(n, per_day).as_slice(), &opts, &mut |_, _| {})
        .unwrap();
    vault
}

fn open(c: &mut Criterion) {
    let mut group = c.benchmark_group("open");
    for kind in Kind::BOTH {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("v");
        drop(filled(kind, &dir, 1000, 3));
        group.bench_function(kind.name(), |b| b.iter(|| black_box(kind.open(&dir))));
    }
    group.finish();
}

fn add_one(c: &mut Criterion) {
    let mut group = c.benchmark_group("add_entry_committed");
    for kind in Kind::BOTH {
        let tmp = tempfile::tempdir().unwrap();
        let vault = filled(kind, &tmp.path().join("v"), 1000, 3);
        let mut i = 0;
        group.bench_function(kind.name(), |b| {
            b.iter(|| {
                i += 1;
                vault.journal().add(nth_entry(i)).unwrap()
            })
        });
    }
    group.finish();
}

fn bulk_import(c: &mut Criterion) {
    let mut group = c.benchmark_group("bulk_import_100k");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.throughput(criterion::Throughput::Elements(100_000));
    let csv = daylio_csv(100_000, 3);
    let opts = DaylioOptions {
        time_zone: chrono_tz::Europe::Berlin,
        unknown_moods: UnknownMoods::Report,
    };
    for kind in Kind::BOTH {
        group.bench_function(kind.name(), |b| {
            b.iter_batched(
                || {
                    let tmp = tempfile::tempdir().unwrap();
                    let vault = kind.create(&tmp.path().join("v"));
                    (tmp, vault)
                },
                |(tmp, vault)| {
                    vault
                        .journal()
                        .import_daylio(csv.as_slice(), &opts, &mut |_, _| {})
                        .unwrap();
                    (tmp, vault)
                },
                criterion::BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn search_and_insights(c: &mut Criterion) {
    let mut search = c.benchmark_group("search_100k");
    let vaults: Vec<_> = Kind::BOTH
        .iter()
        .map(|&kind| {
            let tmp = tempfile::tempdir().unwrap();
            let vault = filled(kind, &tmp.path().join("v"), 100_000, 3);
            (kind, tmp, vault)
        })
        .collect();
    for (kind, _, vault) in &vaults {
        search.bench_with_input(
            BenchmarkId::new(kind.name(), "rare word, 20 hits"),
            &(),
            |b, _| b.iter(|| vault.journal().search("n4242", 20).unwrap()),
        );
        search.bench_with_input(
            BenchmarkId::new(kind.name(), "two common words, 20 hits"),
            &(),
            |b, _| b.iter(|| vault.journal().search("kettle river", 20).unwrap()),
        );
    }
    search.finish();
    drop(vaults);

    let mut insights = c.benchmark_group("insights_10_years_daily");
    for kind in Kind::BOTH {
        let tmp = tempfile::tempdir().unwrap();
        // Daily for ten years, and three a day: the heaviest plausible journal.
        for per_day in [1, 3] {
            let dir = tmp.path().join(format!("v{per_day}"));
            let vault = filled(kind, &dir, per_day * 3653, per_day);
            let id = BenchmarkId::new(kind.name(), format!("{per_day} a day"));
            insights.bench_with_input(id, &(), |b, _| {
                b.iter(|| vault.journal().insights(None, None).unwrap())
            });
        }
    }
    insights.finish();
}

fn unlock_with_passphrase(c: &mut Criterion) {
    let mut group = c.benchmark_group("unlock_passphrase_argon2id_default");
    group.sample_size(10);
    let tmp = tempfile::tempdir().unwrap();
    let vault =
        Vault::create_with_passphrase(tmp.path(), "benchmark passphrase", KdfParams::default())
            .unwrap();
    group.bench_function("m64MiB_t3_p1", |b| {
        b.iter(|| {
            vault.lock();
            vault
                .unlock_with_passphrase("benchmark passphrase")
                .unwrap()
        })
    });
    group.finish();
}

/// Issue 18: a duress slot must not change what an unlock costs. The key
/// derivation and slot checks alone, in one run: a version 1 header (one
/// slot, today's unlock before duress slots), version 2 without and with a
/// duress passphrase set, entered with the passphrase, the duress one and a
/// wrong one; then whole unlocks without and with a duress slot.
fn unlock_with_a_duress_slot(c: &mut Criterion) {
    let mut group = c.benchmark_group("unlock_duress_slot");
    group.sample_size(10);
    let (real, duress) = ("benchmark passphrase heron", "another one for bad days");
    let plain = tempfile::tempdir().unwrap();
    let vault = Vault::create_with_passphrase(plain.path(), real, KdfParams::default()).unwrap();
    let with = tempfile::tempdir().unwrap();
    let guarded = Vault::create_with_passphrase(with.path(), real, KdfParams::default()).unwrap();
    guarded.set_duress_passphrase(real, duress).unwrap();
    let header = |dir: &Path| std::fs::read(VaultFiles::new(dir).header()).unwrap();
    let v1 = tend_core::testing::version_1_header(plain.path(), real).unwrap();
    let cases = [
        ("header_v1", v1, real, true),
        ("header_v2", header(plain.path()), real, true),
        ("header_v2_duress_set", header(with.path()), real, true),
        (
            "header_v2_duress_entered",
            header(with.path()),
            duress,
            true,
        ),
        (
            "header_v2_wrong",
            header(with.path()),
            "not the one at all",
            false,
        ),
    ];
    for (name, bytes, passphrase, opens) in cases {
        group.bench_function(name, |b| {
            b.iter(|| assert_eq!(tend_core::testing::opens_header(&bytes, passphrase), opens))
        });
    }
    for (name, vault) in [("unlock", &vault), ("unlock_duress_set", &guarded)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                vault.lock();
                vault.unlock_with_passphrase(real).unwrap()
            })
        });
    }
    // The duress passphrase entered: the wipe and the empty vault included.
    group.bench_function("unlock_duress_entered", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let v =
                    Vault::create_with_passphrase(dir.path(), real, KdfParams::default()).unwrap();
                v.set_duress_passphrase(real, duress).unwrap();
                dir
            },
            |dir| {
                Vault::open_with_passphrase(dir.path(), duress).unwrap();
                dir
            },
            criterion::BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// Issue 18: a new passphrase and a new data key, every page re-encrypted.
/// Each run swaps between two passphrases; both Argon2id runs (checking the
/// old, wrapping under the new) are in the figure.
fn change_passphrase_and_rekey(c: &mut Criterion) {
    let mut group = c.benchmark_group("passphrase_change_rekey");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    let opts = DaylioOptions {
        time_zone: chrono_tz::Europe::Berlin,
        unknown_moods: UnknownMoods::Report,
    };
    let passphrases = ["heron lock canal winter", "kingfisher dusk lantern tea"];
    for n in [10_000, 100_000] {
        let tmp = tempfile::tempdir().unwrap();
        let vault = Vault::create_with_passphrase(tmp.path(), passphrases[0], KdfParams::default())
            .unwrap();
        vault
            .journal()
            .import_daylio(daylio_csv(n, 3).as_slice(), &opts, &mut |_, _| {})
            .unwrap();
        let mut turn = 0;
        group.bench_function(BenchmarkId::new("entries", n), |b| {
            b.iter(|| {
                let (old, new) = (passphrases[turn % 2], passphrases[(turn + 1) % 2]);
                vault.change_passphrase_and_rekey(old, new).unwrap();
                turn += 1;
            })
        });
    }
    group.finish();
}

/// Issue 21: the whole vault (100k entries, 200 comrades) backed up and
/// restored, against the journal-only export of the same vault. The backup
/// is sealed to an age X25519 recipient and the export is plain JSON, so
/// neither figure carries scrypt's deliberate second.
fn whole_vault_backup(c: &mut Criterion) {
    use tend_core::sealed::{OpenWith, SealWith};
    let mut group = c.benchmark_group("whole_vault_backup_100k_entries_200_comrades");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(40));
    let tmp = tempfile::tempdir().unwrap();
    let vault = Vault::create_with_key(tmp.path().join("alice"), &key()).unwrap();
    let opts = DaylioOptions {
        time_zone: chrono_tz::Europe::Berlin,
        unknown_moods: UnknownMoods::Report,
    };
    vault
        .journal()
        .import_daylio(daylio_csv(100_000, 3).as_slice(), &opts, &mut |_, _| {})
        .unwrap();
    for i in 0..200 {
        let comrade = Vault::create_with_key(tmp.path().join(format!("c{i}")), &key()).unwrap();
        comrade.set_display_name(&format!("Comrade {i}")).unwrap();
        let card = comrade.comrades().my_card().unwrap();
        vault
            .comrades()
            .add(&card, Some(&format!("Comrade {i}")))
            .unwrap();
    }
    let identity = age::x25519::Identity::generate();
    let seal = SealWith::Recipient(identity.to_public());
    let mut backup = Vec::new();
    vault.write_backup(&seal, &mut backup).unwrap();
    eprintln!("whole-vault backup: {} bytes", backup.len());

    group.bench_function("journal_export_json", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            vault
                .journal()
                .export(
                    tend_core::journal::ExportFormat::Json,
                    tend_core::journal::ExportProtection::Plaintext,
                    &mut out,
                    &mut |_, _| {},
                )
                .unwrap();
            black_box(out.len())
        })
    });
    group.bench_function("backup", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(backup.len());
            black_box(vault.write_backup(&seal, &mut out).unwrap())
        })
    });
    let open = OpenWith::Identity(identity.clone());
    group.bench_function("restore", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| {
                let (restored, _) =
                    Vault::restore_with_key(dir.path().join("v"), backup.as_slice(), &open, &key())
                        .unwrap();
                drop(restored);
                dir
            },
            criterion::BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(
    benches,
    whole_vault_backup,
    open,
    add_one,
    bulk_import,
    search_and_insights,
    unlock_with_passphrase,
    unlock_with_a_duress_slot,
    change_passphrase_and_rekey
);
criterion_main!(benches);
