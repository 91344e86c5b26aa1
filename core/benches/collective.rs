//! A collective's fold: one change applied to a collective of 200 members
//! with a log of 5,000 changes, and a month offline caught up (500 changes
//! at once), against opening as many plain envelopes in the same run.
//!
//! Run: `cargo bench -p tend-core --features testing --bench collective`

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use tend_core::collective::{Change, CollectiveId, Log, Op};
use tend_core::identity::IdentityKey;
use tend_core::testing::FixedGroup;

const MEMBERS: usize = 200;

fn signer(i: usize) -> SigningKey {
    let mut seed = [7u8; 32];
    seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
    SigningKey::from_bytes(&seed)
}

fn key(signing: &SigningKey) -> IdentityKey {
    tend_core::testing::identity_key(signing.verifying_key().to_bytes())
}

/// A founded collective of 200 members and agreements, then members
/// accepting and stewards renaming until the log holds `total` changes;
/// and the next `more` changes, made but not yet taken.
fn collective(total: usize, more: usize) -> (Log, Vec<Change>) {
    let people: Vec<SigningKey> = (0..MEMBERS).map(signer).collect();
    let mut log = Log::new(CollectiveId([3; 16]));
    let take = |log: &mut Log, who: &SigningKey, op: Op| {
        let change = log.make(who, op).unwrap();
        log.add(change).unwrap();
    };
    take(
        &mut log,
        &people[0],
        Op::Found {
            name: "Riverside Care".into(),
        },
    );
    for p in &people[1..] {
        take(&mut log, &people[0], Op::AddMember { member: key(p) });
    }
    take(
        &mut log,
        &people[0],
        Op::Agreements {
            version: 1,
            major: true,
            text: "Members only.".into(),
        },
    );
    let mut made = Vec::new();
    for i in log.len()..total + more {
        let who = &people[i % MEMBERS];
        let op = match i % 10 {
            0 => Op::Rename {
                name: format!("Riverside {i}"),
            },
            _ => Op::Accept { version: 1 },
        };
        let author = if matches!(op, Op::Rename { .. }) {
            &people[0]
        } else {
            who
        };
        let change = log.make(author, op).unwrap();
        if i < total {
            log.add(change).unwrap();
        } else {
            made.push(change);
        }
    }
    (log, made)
}

fn apply_one(c: &mut Criterion) {
    let (log, next) = collective(5_000, 1);
    let mut group = c.benchmark_group("collective_200_members_5000_changes");
    group.sample_size(20);
    group.bench_function("apply_one_change", |b| {
        b.iter_batched(
            || log.clone(),
            |mut log| {
                log.add(next[0].clone()).unwrap();
                black_box(log.state())
            },
            BatchSize::LargeInput,
        )
    });
    let fixed = FixedGroup::new(1);
    let envelope = fixed.seal(&[b'x'; 1024]).unwrap();
    group.bench_function("open_one_plain_envelope", |b| {
        b.iter(|| black_box(fixed.open(black_box(&envelope)).unwrap()))
    });
    group.finish();
}

fn catch_up(c: &mut Criterion) {
    let (log, month) = collective(4_500, 500);
    let mut group = c.benchmark_group("collective_month_offline");
    group.sample_size(10);
    group.bench_function("take_500_changes_and_fold", |b| {
        b.iter_batched(
            || log.clone(),
            |mut log| {
                for change in &month {
                    log.add_bytes(change.as_bytes()).unwrap();
                }
                black_box(log.state())
            },
            BatchSize::LargeInput,
        )
    });
    let fixed = FixedGroup::new(1);
    let envelopes: Vec<Vec<u8>> = (0..500)
        .map(|_| fixed.seal(&[b'x'; 1024]).unwrap())
        .collect();
    group.bench_function("open_500_plain_envelopes", |b| {
        b.iter(|| {
            for envelope in &envelopes {
                black_box(fixed.open(envelope).unwrap());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, apply_one, catch_up);
criterion_main!(benches);
