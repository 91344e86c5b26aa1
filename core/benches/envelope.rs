//! Envelope speed against raw age encrypting to the same keys in the same
//! run, so our layer shows as a ratio; and a vault's whole seal and open,
//! outbox and inbox writes included.
//!
//! Run: `cargo bench -p tend-core --features testing --bench envelope`

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::befriend;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tend_core::envelope::{Outgoing, Recipient};
use tend_core::testing::FixedGroup;
use tend_core::{DataKey, Vault};

const KIB: usize = 1024;

fn seal(c: &mut Criterion) {
    let body = vec![b'x'; KIB];
    let mut group = c.benchmark_group("seal_1KiB");
    for n in [1, 10, 50] {
        let fixed = FixedGroup::new(n);
        group.bench_with_input(BenchmarkId::new("envelope", n), &n, |b, _| {
            b.iter(|| black_box(fixed.seal(black_box(&body)).unwrap()))
        });
        group.bench_with_input(BenchmarkId::new("raw_age", n), &n, |b, _| {
            b.iter(|| black_box(fixed.seal_raw_age(black_box(&body))))
        });
    }
    group.finish();
}

fn open(c: &mut Criterion) {
    let body = vec![b'x'; KIB];
    let mut group = c.benchmark_group("open_1KiB");
    for n in [1, 50] {
        let fixed = FixedGroup::new(n);
        let envelope = fixed.seal(&body).unwrap();
        let raw = fixed.seal_raw_age(&body);
        group.bench_with_input(BenchmarkId::new("envelope", n), &n, |b, _| {
            b.iter(|| black_box(fixed.open(black_box(&envelope)).unwrap()))
        });
        group.bench_with_input(BenchmarkId::new("raw_age", n), &n, |b, _| {
            b.iter(|| black_box(fixed.open_raw_age(black_box(&raw))))
        });
    }
    group.finish();
}

/// Hybrid epoch keys (an mlkem768x25519 stanza per recipient) against
/// X25519 alone, the envelope before them, in the same run; with the sizes.
fn post_quantum(c: &mut Criterion) {
    let body = vec![b'x'; KIB];
    let mut group = c.benchmark_group("post_quantum_1KiB");
    for n in [1, 10, 50] {
        let (hybrid, classic) = (FixedGroup::hybrid(n), FixedGroup::new(n));
        let (h, x) = (hybrid.seal(&body).unwrap(), classic.seal(&body).unwrap());
        eprintln!(
            "to {n} and the sender: hybrid {} bytes, X25519 {} bytes, {} more a recipient",
            h.len(),
            x.len(),
            (h.len() - x.len()) / (n + 1)
        );
        group.bench_with_input(BenchmarkId::new("seal/hybrid", n), &n, |b, _| {
            b.iter(|| black_box(hybrid.seal(black_box(&body)).unwrap()))
        });
        group.bench_with_input(BenchmarkId::new("seal/x25519", n), &n, |b, _| {
            b.iter(|| black_box(classic.seal(black_box(&body)).unwrap()))
        });
        if n != 10 {
            group.bench_with_input(BenchmarkId::new("open/hybrid", n), &n, |b, _| {
                b.iter(|| black_box(hybrid.open(black_box(&h)).unwrap()))
            });
            group.bench_with_input(BenchmarkId::new("open/x25519", n), &n, |b, _| {
                b.iter(|| black_box(classic.open(black_box(&x)).unwrap()))
            });
        }
    }
    group.finish();
}

fn one_mebibyte(c: &mut Criterion) {
    let body = vec![b'x'; 1024 * KIB];
    let fixed = FixedGroup::new(1);
    let envelope = fixed.seal(&body).unwrap();
    let raw = fixed.seal_raw_age(&body);
    let mut group = c.benchmark_group("1MiB");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.sample_size(20);
    group.bench_function("seal/envelope", |b| {
        b.iter(|| black_box(fixed.seal(&body).unwrap()))
    });
    group.bench_function("seal/raw_age", |b| {
        b.iter(|| black_box(fixed.seal_raw_age(&body)))
    });
    group.bench_function("open/envelope", |b| {
        b.iter(|| black_box(fixed.open(&envelope).unwrap()))
    });
    group.bench_function("open/raw_age", |b| {
        b.iter(|| black_box(fixed.open_raw_age(&raw)))
    });
    group.finish();
}

/// What a member waits for: keys loaded, recipients resolved, outbox or
/// inbox written, in one transaction.
fn in_a_vault(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let member = |name: &str| {
        let v = Vault::create_with_key(tmp.path().join(name), &DataKey::generate()).unwrap();
        v.set_display_name(name).unwrap();
        v
    };
    let alice = member("Alice");
    let bob = member("Bob");
    let bob_id = befriend(&alice, &bob);
    let circle = alice.comrades().create_circle("Fifty").unwrap();
    alice.comrades().add_to_circle(circle.id, bob_id).unwrap();
    for i in 1..50 {
        let other = member(&format!("M{i}"));
        let added = alice
            .comrades()
            .add(&other.comrades().my_card().unwrap(), None)
            .unwrap();
        alice
            .comrades()
            .add_to_circle(circle.id, added.comrade().id)
            .unwrap();
    }
    let body = vec![b'x'; KIB];
    let outgoing = |to| Outgoing {
        kind: "bench.note",
        body: &body,
        to,
        expires_at: None,
    };
    let to_bob = [Recipient::Comrade(bob_id)];
    let to_circle = [Recipient::Circle(circle.id)];
    let mut group = c.benchmark_group("vault_1KiB");
    group.bench_function("seal/1", |b| {
        b.iter(|| alice.envelopes().seal(&outgoing(&to_bob)).unwrap())
    });
    group.bench_function("seal/50", |b| {
        b.iter(|| alice.envelopes().seal(&outgoing(&to_circle)).unwrap())
    });
    group.bench_function("open/1", |b| {
        b.iter_batched(
            || alice.envelopes().seal(&outgoing(&to_bob)).unwrap().bytes,
            |bytes| bob.envelopes().open(&bytes).unwrap(),
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
    targets = seal, open, post_quantum, one_mebibyte, in_a_vault
);
criterion_main!(benches);
