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
    let ics_depth = |depth: usize| {
        format!(
            "BEGIN:VCALENDAR\n{}{}END:VCALENDAR\n",
            "BEGIN:VEVENT\n".repeat(depth),
            "END:VEVENT\n".repeat(depth)
        )
    };
    let backup_depth = |depth: usize| {
        format!(
            r#"{{"format":"tend-journal","version":1,"x":{}{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        )
    };
    let makers: [(&str, &dyn Fn(usize) -> String); 2] =
        [("ics depth", &ics_depth), ("backup depth", &backup_depth)];
    for (name, make) in makers {
        for depth in [10_000, 20_000, 40_000] {
            let text = make(depth);
            group.throughput(Throughput::Bytes(text.len() as u64));
            group.bench_with_input(BenchmarkId::new(name, depth), &text, |b, text| {
                b.iter(|| {
                    let refused = if name == "ics depth" {
                        vault
                            .gatherings()
                            .import_ics(black_box(text), "UTC")
                            .is_err()
                    } else {
                        let bytes = black_box(text.as_bytes());
                        vault.journal().import(bytes, None, &mut |_, _| {}).is_err()
                    };
                    assert!(refused)
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, refusals);
criterion_main!(benches);
