//! How long a hostile input takes to be refused, as it grows: the time per
//! byte should stay flat (linear growth). Baseline in the same run: reading
//! the same bytes once as UTF-8 lines, which any refusal must at least do.
//!
//! Run: `cargo bench -p tend-core --bench hostile`

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tend_core::{DataKey, Vault};

fn event(i: usize) -> String {
    format!("BEGIN:VEVENT\nUID:e{i}\nDTSTART:20261205T180000Z\nSUMMARY:x\nEND:VEVENT\n")
}

fn refusals(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let vault = Vault::create_with_key(tmp.path().join("v"), &DataKey::generate()).unwrap();
    let mut group = c.benchmark_group("refusal");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3));
    for events in [10_000, 20_000, 40_000] {
        let many = format!(
            "BEGIN:VCALENDAR\n{}END:VCALENDAR\n",
            (0..events).map(event).collect::<String>()
        );
        group.throughput(Throughput::Bytes(many.len() as u64));
        group.bench_with_input(BenchmarkId::new("ics events", events), &many, |b, text| {
            b.iter(|| {
                assert!(
                    vault
                        .gatherings()
                        .import_ics(black_box(text), "UTC")
                        .is_err()
                )
            })
        });
        group.bench_with_input(
            BenchmarkId::new("baseline: lines", events),
            &many,
            |b, text| b.iter(|| black_box(text).lines().count()),
        );
    }
    for depth in [10_000, 20_000, 40_000] {
        let nested = format!(
            "BEGIN:VCALENDAR\n{}{}END:VCALENDAR\n",
            "BEGIN:VEVENT\n".repeat(depth),
            "END:VEVENT\n".repeat(depth)
        );
        group.throughput(Throughput::Bytes(nested.len() as u64));
        group.bench_with_input(BenchmarkId::new("ics depth", depth), &nested, |b, text| {
            b.iter(|| {
                assert!(
                    vault
                        .gatherings()
                        .import_ics(black_box(text), "UTC")
                        .is_err()
                )
            })
        });
    }
    for depth in [10_000, 20_000, 40_000] {
        let nested = format!(
            r#"{{"format":"tend-journal","version":1,"x":{}{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        group.throughput(Throughput::Bytes(nested.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("backup depth", depth),
            &nested,
            |b, text| {
                b.iter(|| {
                    assert!(
                        vault
                            .journal()
                            .import(black_box(text.as_bytes()), None, &mut |_, _| {})
                            .is_err()
                    )
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, refusals);
criterion_main!(benches);
