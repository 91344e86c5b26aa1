//! Gathering speed: the reminder list apps ask for, and rule expansion.
//!
//! Run: `cargo bench -p tend-core --bench gatherings`

use std::hint::black_box;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use tend_core::gatherings::{GatheringKind, NewGathering, ReminderOffset, expand};
use tend_core::{DataKey, Vault};

const RULES: &[&str] = &[
    "FREQ=MONTHLY;BYDAY=1SA",
    "FREQ=WEEKLY;BYDAY=TU",
    "FREQ=MONTHLY;BYDAY=-1FR",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
    "FREQ=MONTHLY;BYMONTHDAY=15",
    "FREQ=YEARLY;BYMONTH=5;BYDAY=1SU",
];
const ZONES: &[&str] = &[
    "Europe/Berlin",
    "America/Chicago",
    "Australia/Sydney",
    "Asia/Kolkata",
];

fn reminders(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let vault = Vault::create_with_key(tmp.path().join("v"), &DataKey::generate()).unwrap();
    // 100 gatherings that began up to two years ago.
    let first = NaiveDate::from_ymd_opt(2024, 11, 1)
        .unwrap()
        .and_hms_opt(18, 0, 0)
        .unwrap();
    for i in 0..100 {
        vault
            .gatherings()
            .add(NewGathering {
                title: format!("Gathering {i}"),
                kind: GatheringKind::Meeting,
                description: String::new(),
                location: String::new(),
                starts_at: first + Duration::days(i * 3),
                time_zone: ZONES[i as usize % ZONES.len()].into(),
                duration: Duration::hours(2),
                recurrence: Some(RULES[i as usize % RULES.len()].into()),
                reminders: vec![ReminderOffset::days(7), ReminderOffset::days(1)],
            })
            .unwrap();
    }
    let now: DateTime<Utc> = "2026-11-26T12:00:00Z".parse().unwrap();
    c.bench_function("next_64_reminders_of_100_gatherings", |b| {
        b.iter(|| black_box(vault.gatherings().next_reminders(now, 64).unwrap()))
    });
}

fn expansion(c: &mut Criterion) {
    let start = NaiveDate::from_ymd_opt(2026, 12, 5)
        .unwrap()
        .and_hms_opt(18, 0, 0)
        .unwrap();
    c.bench_function("expand_10_years_monthly", |b| {
        b.iter(|| {
            black_box(
                expand(
                    start,
                    "America/Chicago",
                    Some("FREQ=MONTHLY;BYDAY=1SA"),
                    120,
                )
                .unwrap(),
            )
        })
    });
}

criterion_group!(
    name = benches;
    config = Criterion::default()
        .warm_up_time(StdDuration::from_secs(1))
        .measurement_time(StdDuration::from_secs(3));
    targets = reminders, expansion
);
criterion_main!(benches);
