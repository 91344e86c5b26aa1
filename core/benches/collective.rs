//! A collective's fold: one change applied to a collective of 200 members
//! with a log of 5,000 changes, and a month offline caught up (500 changes
//! at once), against opening as many plain envelopes in the same run.
//!
//! And the same through real vaults: a member's vault holding that log
//! opens the envelope carrying one change (loading the log, folding it,
//! sealing what answers), against opening a plain envelope of the same size
//! in the same vault; and the sender's side, making and sealing a change.
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
    collective_of((0..MEMBERS).map(signer).collect(), total, more)
}

/// [`collective`] with these people, the first its founder.
fn collective_of(people: Vec<SigningKey>, total: usize, more: usize) -> (Log, Vec<Change>) {
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

fn in_the_vault(c: &mut Criterion) {
    use tend_core::envelope::{Outgoing, Recipient};
    use tend_core::testing::{Forger, keep_collective};
    use tend_core::{DataKey, Vault};

    let dir = tempfile::tempdir().unwrap();
    let vault = |name: &str| {
        let v =
            Vault::create_with_key(dir.path().join(name), &DataKey::from_bytes([9; 32])).unwrap();
        v.set_display_name(name).unwrap();
        v
    };
    let (alice, bob) = (vault("Alice"), vault("Bob"));
    let bob_at_alice = alice
        .comrades()
        .add(&bob.comrades().my_card().unwrap(), None)
        .unwrap()
        .comrade()
        .id;
    bob.comrades()
        .add(&alice.comrades().my_card().unwrap(), None)
        .unwrap();
    let mut people: Vec<SigningKey> = (2..MEMBERS).map(signer).collect();
    people.insert(0, Forger::from_vault(&alice).unwrap().signing_key().clone());
    people.insert(1, Forger::from_vault(&bob).unwrap().signing_key().clone());
    let (log, _) = collective_of(people, 5_000, 0);
    let id = log.collective();
    keep_collective(&alice, &log).unwrap();
    keep_collective(&bob, &log).unwrap();

    let mut group = c.benchmark_group("collective_in_the_vault_200_members_5000_changes");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(4));
    group.bench_function("open_an_envelope_of_one_change", |b| {
        b.iter_batched(
            || {
                alice.collectives().accept_agreements(id).unwrap().sealed[0]
                    .bytes
                    .clone()
            },
            |envelope| black_box(bob.envelopes().open(&envelope).unwrap()),
            BatchSize::SmallInput,
        )
    });
    let to = [Recipient::Comrade(bob_at_alice)];
    let plain = Outgoing {
        kind: "bench.note",
        body: &[b'x'; 300],
        to: &to,
        expires_at: None,
    };
    group.bench_function("open_a_plain_envelope", |b| {
        b.iter_batched(
            || alice.envelopes().seal(&plain).unwrap().bytes,
            |envelope| black_box(bob.envelopes().open(&envelope).unwrap()),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("make_and_seal_one_change", |b| {
        b.iter(|| black_box(alice.collectives().accept_agreements(id).unwrap()))
    });
    group.bench_function("seal_a_plain_envelope", |b| {
        b.iter(|| black_box(alice.envelopes().seal(&plain).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, apply_one, catch_up, in_the_vault);
criterion_main!(benches);
