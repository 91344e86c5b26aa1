//! The collective's pulse with 60 members in one process: every vault's
//! own work (the steward's start, each answer, the talliers' lists and
//! sums, every vault's decision), with the envelopes carried from each
//! outbox to the vaults they name. Timed per vault, carrying aside. The
//! baseline, in the same run: as many plain envelopes, each to the same
//! recipients and of the same size, sealed and opened by the same vaults.
//!
//! Run: `cargo bench -p tend-core --bench pulse`

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::befriend;
use criterion::{Criterion, criterion_group, criterion_main};
use tend_core::collective::CollectiveId;
use tend_core::comrades::{ComradeId, IdentityKey};
use tend_core::envelope::{MessageId, Outgoing, Recipient};
use tend_core::pulse::{Capacity, PulseAnswer, PulseMood, PulseState};
use tend_core::{DataKey, Vault};

const MEMBERS: usize = 60;

/// One envelope a pulse sent: who sealed it, to whom, how large.
#[derive(Clone)]
struct Shape {
    from: usize,
    to: Vec<usize>,
    body: usize,
}

struct Group {
    _dir: tempfile::TempDir,
    vaults: Vec<Vault>,
    by_key: BTreeMap<IdentityKey, usize>,
    /// Each vault's comrade id for each other vault.
    ids: Vec<BTreeMap<usize, ComradeId>>,
    collective: CollectiveId,
    carried: BTreeSet<(MessageId, usize)>,
}

fn group() -> Group {
    let dir = tempfile::tempdir().unwrap();
    let vaults: Vec<Vault> = (0..MEMBERS)
        .map(|i| {
            let v = Vault::create_with_key(
                dir.path().join(i.to_string()),
                &DataKey::from_bytes([7; 32]),
            )
            .unwrap();
            v.set_display_name(&format!("M{i}")).unwrap();
            v
        })
        .collect();
    let added: Vec<ComradeId> = vaults[1..]
        .iter()
        .map(|v| befriend(&vaults[0], v))
        .collect();
    let collective = vaults[0]
        .collectives()
        .create("Riverside Care", None)
        .unwrap()
        .id;
    vaults[0]
        .collectives()
        .add_members(collective, &added)
        .unwrap();
    let by_key = vaults
        .iter()
        .enumerate()
        .map(|(i, v)| (v.comrades().my_identity_key().unwrap(), i))
        .collect();
    let mut g = Group {
        _dir: dir,
        vaults,
        by_key,
        ids: Vec::new(),
        collective,
        carried: BTreeSet::new(),
    };
    g.carry(&mut vec![Duration::ZERO; MEMBERS]);
    g.ids = g
        .vaults
        .iter()
        .map(|v| {
            v.comrades()
                .list()
                .unwrap()
                .into_iter()
                .map(|c| (g.by_key[&c.identity_key], c.id))
                .collect()
        })
        .collect();
    g
}

impl Group {
    /// Carries every envelope not yet carried until none is left, timing
    /// each opening (and what it seals in answer) as the opener's work.
    fn carry(&mut self, work: &mut [Duration]) -> Vec<Shape> {
        let mut shapes = Vec::new();
        loop {
            let mut moved = false;
            for from in 0..self.vaults.len() {
                for item in self.vaults[from]
                    .envelopes()
                    .outbox()
                    .unwrap()
                    .into_iter()
                    .rev()
                {
                    let to: Vec<usize> = item
                        .sealed
                        .recipients
                        .iter()
                        .map(|r| self.by_key[&r.identity_key])
                        .filter(|&to| self.carried.insert((item.sealed.message_id, to)))
                        .collect();
                    if to.is_empty() {
                        continue;
                    }
                    moved = true;
                    for &i in &to {
                        let t = Instant::now();
                        let opened = self.vaults[i].envelopes().open(&item.sealed.bytes).unwrap();
                        work[i] += t.elapsed();
                        if item.kind.starts_with("pulse.") {
                            shapes.push(Shape {
                                from,
                                to: to.clone(),
                                body: opened.body.len(),
                            });
                        }
                    }
                }
            }
            if !moved {
                // One shape per envelope, not per recipient.
                shapes.dedup_by(|a, b| a.from == b.from && a.to == b.to && a.body == b.body);
                return shapes;
            }
        }
    }

    /// One whole pulse: each vault's time, the envelopes it took, and
    /// which vaults tallied.
    fn pulse(&mut self) -> (Vec<Duration>, Vec<Shape>, Vec<bool>) {
        let mut work = vec![Duration::ZERO; MEMBERS];
        let t = Instant::now();
        let started = self.vaults[0]
            .pulses()
            .start(self.collective, None)
            .unwrap();
        work[0] += t.elapsed();
        let mut shapes = self.carry(&mut work);
        for (i, v) in self.vaults.iter().enumerate() {
            let answer = PulseAnswer {
                capacity: [Capacity::Green, Capacity::Yellow, Capacity::Red][i % 3],
                mood: PulseMood::Given {
                    value: 1 + (i % 5) as u8,
                },
                check_in: None,
            };
            let t = Instant::now();
            v.pulses().answer(started.pulse.id, &answer).unwrap();
            work[i] += t.elapsed();
        }
        shapes.extend(self.carry(&mut work));
        let talliers = self
            .vaults
            .iter()
            .map(|v| {
                let p = v.pulses().get(started.pulse.id).unwrap();
                assert!(matches!(p.state, PulseState::Shown { .. }), "{:?}", p.state);
                p.i_tally
            })
            .collect();
        (work, shapes, talliers)
    }

    /// The same envelopes, plain: sealed by the same vaults to the same
    /// recipients, each with a body of the same size, and opened.
    fn plain(&mut self, shapes: &[Shape]) -> Vec<Duration> {
        let mut work = vec![Duration::ZERO; MEMBERS];
        for s in shapes {
            let to: Vec<Recipient> =
                s.to.iter()
                    .map(|i| Recipient::Comrade(self.ids[s.from][i]))
                    .collect();
            let body = vec![b'x'; s.body];
            let t = Instant::now();
            let sealed = self.vaults[s.from]
                .envelopes()
                .seal(&Outgoing {
                    kind: "test.note",
                    body: &body,
                    to: &to,
                    expires_at: None,
                })
                .unwrap();
            work[s.from] += t.elapsed();
            for &i in &s.to {
                self.carried.insert((sealed.message_id, i));
                let t = Instant::now();
                self.vaults[i].envelopes().open(&sealed.bytes).unwrap();
                work[i] += t.elapsed();
            }
        }
        work
    }
}

/// Who a vault is in a pulse: the steward who started it (vault 0), a
/// tallier, or any other member.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    Steward,
    Tallier,
    Member,
}

fn roles(talliers: &[bool]) -> Vec<Role> {
    talliers
        .iter()
        .enumerate()
        .map(|(i, &t)| match (i, t) {
            (0, _) => Role::Steward,
            (_, true) => Role::Tallier,
            _ => Role::Member,
        })
        .collect()
}

/// The slowest part among the vaults of `role`.
fn widest(work: &[Duration], roles: &[Role], role: Role) -> Duration {
    work.iter()
        .zip(roles)
        .filter(|(_, r)| **r == role)
        .map(|(w, _)| *w)
        .max()
        .unwrap_or_default()
}

fn pulse_of_60(c: &mut Criterion) {
    let mut g = group();
    let (_, shapes, _) = g.pulse();
    let mut group = c.benchmark_group("pulse_60_members");
    group.sample_size(10);
    group.bench_function("whole_pulse_every_vault", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| g.pulse().0.iter().sum::<Duration>())
                .sum()
        })
    });
    group.bench_function("same_envelopes_plain", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| g.plain(&shapes).iter().sum::<Duration>())
                .sum()
        })
    });
    group.finish();
    // Ratios from runs side by side in this process; each role's part is
    // its slowest vault's, in the worst of the runs.
    let runs = 5;
    let (mut pulse, mut plain) = (Duration::ZERO, Duration::ZERO);
    let mut parts = [[Duration::ZERO; 2]; 3];
    for _ in 0..runs {
        let (work, shapes, talliers) = g.pulse();
        let same = g.plain(&shapes);
        pulse += work.iter().sum::<Duration>();
        plain += same.iter().sum::<Duration>();
        let roles = roles(&talliers);
        for (i, role) in [Role::Member, Role::Tallier, Role::Steward]
            .into_iter()
            .enumerate()
        {
            parts[i][0] = parts[i][0].max(widest(&work, &roles, role));
            parts[i][1] = parts[i][1].max(widest(&same, &roles, role));
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "pulse of {MEMBERS}, {} envelopes: every vault's work {:.0} ms a pulse against {:.0} ms \
         for the same envelopes plain ({:.2}x)",
        shapes.len(),
        ms(pulse) / runs as f64,
        ms(plain) / runs as f64,
        pulse.as_secs_f64() / plain.as_secs_f64(),
    );
    for (name, [part, same]) in ["a member's", "a tallier's", "the steward's"]
        .iter()
        .zip(parts)
    {
        println!(
            "  {name} part at most {:.1} ms, the same envelopes plain {:.1} ms ({:.2}x)",
            ms(part),
            ms(same),
            part.as_secs_f64() / same.as_secs_f64()
        );
    }
}

criterion_group!(benches, pulse_of_60);
criterion_main!(benches);
