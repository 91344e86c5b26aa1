//! Care speed. "Requests I could help with" among 10,000 requests, in
//! SQLCipher against plain SQLite with the same schema; and handling an
//! incoming offer against opening an envelope of the same size that the
//! care module does not touch.
//!
//! Run: `cargo bench -p tend-core --features plaintext-baseline --bench care`

mod common;

use std::path::Path;
use std::time::Duration;

use common::befriend;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use tend_core::care::{CareCategory, CareUrgency, NewCareRequest};
use tend_core::envelope::{Outgoing, Recipient};
use tend_core::{DataKey, Vault};

const REQUESTS: usize = 10_000;

fn member(dir: &Path, name: &str, plain: bool) -> Vault {
    let path = dir.join(name);
    let v = if plain {
        Vault::create_plaintext_baseline(path).unwrap()
    } else {
        Vault::create_with_key(path, &DataKey::generate()).unwrap()
    };
    v.set_display_name(name).unwrap();
    v
}

fn nth_request(i: usize, to: Recipient) -> NewCareRequest {
    let categories = CareCategory::ALL;
    let urgencies = CareUrgency::ALL;
    NewCareRequest {
        details: format!("Request number {i}; details a few words long, as most are."),
        location: Some("Eastside".into()),
        ..NewCareRequest::new(
            categories[i % categories.len()],
            &format!("Help with something, {i}"),
            urgencies[i % urgencies.len()],
            vec![to],
        )
    }
}

fn could_help(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let alice = member(tmp.path(), "Alice", false);
    let mut group = c.benchmark_group("could_help_10k");
    for (name, plain) in [("sqlcipher", false), ("plain", true)] {
        let bob = member(tmp.path(), &format!("Bob-{name}"), plain);
        let to_bob = Recipient::Comrade(befriend(&alice, &bob));
        for i in 0..REQUESTS {
            let posted = alice.care().post(&nth_request(i, to_bob)).unwrap();
            bob.envelopes().open(&posted.sealed.bytes).unwrap();
        }
        assert_eq!(bob.care().could_help(50).unwrap().len(), 50);
        group.bench_function(format!("first_50/{name}"), |b| {
            b.iter(|| bob.care().could_help(50).unwrap())
        });
        group.bench_function(format!("all/{name}"), |b| {
            b.iter(|| bob.care().could_help(u32::MAX).unwrap())
        });
    }
    group.finish();
}

fn incoming_offer(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let alice = member(tmp.path(), "Alice", false);
    let bob = member(tmp.path(), "Bob", false);
    let to_bob = Recipient::Comrade(befriend(&alice, &bob));
    let to_alice = Recipient::Comrade(bob.comrades().find("Alice").unwrap().id);
    let posted = alice.care().post(&nth_request(0, to_bob)).unwrap();
    bob.envelopes().open(&posted.sealed.bytes).unwrap();
    let id = posted.request.id;
    let message = "I can help on Saturday morning, from nine until noon.";
    // About the length of the offer's JSON body, so both pad alike.
    let note = vec![b'x'; 170];

    let mut group = c.benchmark_group("incoming_offer");
    group.bench_function("care_offer", |b| {
        b.iter_batched(
            || {
                bob.care()
                    .offer_help(id, message, None)
                    .unwrap()
                    .sealed
                    .bytes
            },
            |bytes| alice.envelopes().open(&bytes).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("baseline_envelope", |b| {
        b.iter_batched(
            || {
                let sealed = bob
                    .envelopes()
                    .seal(&Outgoing {
                        kind: "bench.note",
                        body: &note,
                        to: &[to_alice],
                        expires_at: None,
                    })
                    .unwrap();
                sealed.bytes
            },
            |bytes| alice.envelopes().open(&bytes).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = could_help, incoming_offer
);
criterion_main!(benches);
