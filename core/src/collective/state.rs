//! A collective's log of changes and the state it folds to: the same on
//! every vault that holds the same changes, whatever order they came in
//! (`docs/collective.md`, "Rules" and "Merge").

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::SigningKey;

use super::change::{Change, ChangeError, CollectiveId, Op, Settings};
use crate::identity::IdentityKey;

/// Why a change in the log does not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Refusal {
    /// It comes before the collective was founded, or is a second founding.
    NotFounded,
    AlreadyFounded,
    NotAMember,
    NotASteward,
    /// Its author was removed by a change that had not seen it.
    RemovedConcurrently,
    /// It would leave the collective without a steward.
    LastSteward,
    /// The member it names already is, or is not, what it asks.
    NoChange,
    /// Agreements whose version is not the next, or acceptance of one that does not exist.
    StaleVersion,
}

/// What became of one change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// An earlier change of its author is missing; it counts once that arrives.
    Pending,
    Refused(Refusal),
}

/// Why the log did not take a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    #[error(transparent)]
    Change(#[from] ChangeError),
    #[error("the change belongs to another collective")]
    WrongCollective,
}

/// Versioned text the collective keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreements {
    pub version: u32,
    /// The last major version: accepting an older one no longer counts.
    pub major_version: u32,
    pub text: String,
}

/// What a collective is, as its log folds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub name: Option<String>,
    pub founder: Option<IdentityKey>,
    pub members: BTreeSet<IdentityKey>,
    pub stewards: BTreeSet<IdentityKey>,
    pub agreements: Option<Agreements>,
    /// The last version each member accepted.
    pub accepted: BTreeMap<IdentityKey, u32>,
    /// Every change's outcome, by author and number.
    pub outcomes: BTreeMap<(IdentityKey, u64), Outcome>,
    pub settings: Settings,
}

impl State {
    /// Members who have not accepted the agreements since their last major
    /// version: shown only as a count.
    pub fn not_yet_accepted(&self) -> usize {
        let Some(agreements) = &self.agreements else {
            return 0;
        };
        self.members
            .iter()
            .filter(|m| {
                self.accepted
                    .get(m)
                    .is_none_or(|&v| v < agreements.major_version)
            })
            .count()
    }
}

/// Every change a vault holds of one collective.
#[derive(Debug, Clone)]
pub struct Log {
    collective: CollectiveId,
    /// By author and number; an author who signed two changes with one
    /// number has both here, the lower digest first.
    changes: BTreeMap<(IdentityKey, u64), Vec<Change>>,
    /// How many changes in all: asked at every change taken.
    len: usize,
}

/// Whether [`Log::add`] had the change already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    New,
    Duplicate,
}

impl Log {
    pub fn new(collective: CollectiveId) -> Log {
        Log {
            collective,
            changes: BTreeMap::new(),
            len: 0,
        }
    }

    pub fn collective(&self) -> CollectiveId {
        self.collective
    }

    /// Takes a change as it arrived; the same change again is a duplicate.
    pub fn add(&mut self, change: Change) -> Result<Added, LogError> {
        if change.collective != self.collective {
            return Err(LogError::WrongCollective);
        }
        let variants = self.changes.entry((change.author, change.seq)).or_default();
        if variants.iter().any(|c| c.as_bytes() == change.as_bytes()) {
            return Ok(Added::Duplicate);
        }
        variants.push(change);
        variants.sort_by_key(Change::digest);
        self.len += 1;
        Ok(Added::New)
    }

    /// Parses and takes a change.
    pub fn add_bytes(&mut self, bytes: &[u8]) -> Result<Added, LogError> {
        self.add(Change::from_bytes(bytes)?)
    }

    /// Takes a change my vault checked when it arrived.
    pub(crate) fn add_stored(&mut self, bytes: &[u8]) -> Result<Added, LogError> {
        self.add(Change::from_stored(bytes)?)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// How many changes of `author` are held.
    pub fn count_by(&self, author: &IdentityKey) -> usize {
        self.changes
            .range((*author, 0)..=(*author, u64::MAX))
            .map(|(_, v)| v.len())
            .sum()
    }

    /// For each author, how many of their changes in a row from 1 I hold:
    /// what I ask a member for the rest of.
    pub fn heads(&self) -> BTreeMap<IdentityKey, u64> {
        let mut heads = BTreeMap::new();
        for (who, seq) in self.changes.keys() {
            let head = heads.entry(*who).or_insert(0);
            if *seq == *head + 1 {
                *head = *seq;
            }
        }
        heads
    }

    /// The changes someone holding `heads` lacks (all variants of a number).
    pub fn beyond<'a>(
        &'a self,
        heads: &'a BTreeMap<IdentityKey, u64>,
    ) -> impl Iterator<Item = &'a Change> + 'a {
        self.changes
            .iter()
            .filter(|((who, seq), _)| heads.get(who).is_none_or(|h| seq > h))
            .flat_map(|(_, v)| v)
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Every change held, each once.
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.changes.values().flatten()
    }

    /// The next change by the holder of `signing`: numbered after their
    /// last, and later than every change held.
    pub fn make(&self, signing: &SigningKey, op: Op) -> Result<Change, ChangeError> {
        let me = IdentityKey(signing.verifying_key().to_bytes());
        let seq = self.last_seq(&me) + 1;
        let lamport = self.changes().map(|c| c.lamport).max().unwrap_or(0) + 1;
        Change::sign(signing, self.collective, seq, lamport, op)
    }

    /// The last number of `author`'s changes held, 0 for none: what a
    /// removal of them says it has seen.
    pub fn last_seq(&self, author: &IdentityKey) -> u64 {
        self.changes
            .range((*author, 0)..=(*author, u64::MAX))
            .next_back()
            .map_or(0, |((_, seq), _)| *seq)
    }

    /// The state every vault holding these changes agrees on. Changes are
    /// applied in one total order, by Lamport time, then author, then
    /// number, which follows causality; a change whose author was removed
    /// by a removal that had not seen it is then refused, and the order
    /// folded again until nothing more is refused.
    pub fn state(&self) -> State {
        let (order, pending) = self.order();
        let mut excluded: BTreeSet<(IdentityKey, u64)> = BTreeSet::new();
        loop {
            let folded = fold(&order, &excluded);
            let mut more = excluded.clone();
            for cut in &folded.removals {
                let until = folded
                    .additions
                    .iter()
                    .filter(|(member, at)| *member == cut.member && *at > cut.at)
                    .map(|(_, at)| *at)
                    .min()
                    .unwrap_or(u64::MAX);
                more.extend(
                    order
                        .iter()
                        .filter(|c| c.author == cut.member && c.seq > cut.seen && c.lamport < until)
                        .map(|c| (c.author, c.seq)),
                );
            }
            if more == excluded {
                let mut state = folded.state;
                for key in pending {
                    state.outcomes.insert(key, Outcome::Pending);
                }
                return state;
            }
            excluded = more;
        }
    }

    /// The changes that count, in fold order, and those waiting on an
    /// earlier change of their author. Of two changes an author signed with
    /// one number, the one with the lower digest counts, on every vault.
    fn order(&self) -> (Vec<&Change>, Vec<(IdentityKey, u64)>) {
        let mut order = Vec::with_capacity(self.changes.len());
        let mut pending = Vec::new();
        let mut author: Option<IdentityKey> = None;
        let mut next = 1;
        for ((who, seq), variants) in &self.changes {
            if author != Some(*who) {
                author = Some(*who);
                next = 1;
            }
            if *seq == next {
                order.push(&variants[0]);
                next += 1;
            } else {
                pending.push((*who, *seq));
            }
        }
        order.sort_by_key(|c| (c.lamport, c.author, c.seq));
        (order, pending)
    }
}

/// A removal as the fold applied it.
struct Cut {
    member: IdentityKey,
    seen: u64,
    at: u64,
}

struct Folded {
    state: State,
    removals: Vec<Cut>,
    /// Members added, by Lamport time: a removal's reach ends where they
    /// were added again.
    additions: Vec<(IdentityKey, u64)>,
}

fn fold(order: &[&Change], excluded: &BTreeSet<(IdentityKey, u64)>) -> Folded {
    let mut folded = Folded {
        state: State::default(),
        removals: Vec::new(),
        additions: Vec::new(),
    };
    for change in order {
        let key = (change.author, change.seq);
        let outcome = if excluded.contains(&key) {
            Outcome::Refused(Refusal::RemovedConcurrently)
        } else {
            match apply(&mut folded, change) {
                Ok(()) => Outcome::Applied,
                Err(refusal) => Outcome::Refused(refusal),
            }
        };
        folded.state.outcomes.insert(key, outcome);
    }
    folded
}

/// One change against the state so far, by the rules of `docs/collective.md`.
fn apply(folded: &mut Folded, change: &Change) -> Result<(), Refusal> {
    let state = &mut folded.state;
    let author = change.author;
    if let Op::Found { name } = &change.op {
        if state.founder.is_some() {
            return Err(Refusal::AlreadyFounded);
        }
        if change.seq != 1 {
            return Err(Refusal::NotFounded);
        }
        state.name = Some(name.clone());
        state.founder = Some(author);
        state.members.insert(author);
        state.stewards.insert(author);
        folded.additions.push((author, change.lamport));
        return Ok(());
    }
    if state.founder.is_none() {
        return Err(Refusal::NotFounded);
    }
    if !state.members.contains(&author) {
        return Err(Refusal::NotAMember);
    }
    let steward = state.stewards.contains(&author);
    // Any member may accept or leave; everything else is a steward's.
    let leaving = matches!(&change.op, Op::RemoveMember { member, .. } if *member == author);
    let needs_steward = !leaving && !matches!(&change.op, Op::Accept { .. });
    if needs_steward && !steward {
        return Err(Refusal::NotASteward);
    }
    match &change.op {
        Op::Found { .. } => unreachable!("handled above"),
        Op::AddMember { member } => {
            if !state.members.insert(*member) {
                return Err(Refusal::NoChange);
            }
            folded.additions.push((*member, change.lamport));
        }
        Op::RemoveMember { member, seen } => {
            if !state.members.contains(member) {
                return Err(Refusal::NoChange);
            }
            if state.stewards.len() == 1 && state.stewards.contains(member) {
                return Err(Refusal::LastSteward);
            }
            state.members.remove(member);
            state.stewards.remove(member);
            state.accepted.remove(member);
            folded.removals.push(Cut {
                member: *member,
                seen: *seen,
                at: change.lamport,
            });
        }
        Op::AddSteward { member } => {
            if !state.members.contains(member) || !state.stewards.insert(*member) {
                return Err(Refusal::NoChange);
            }
        }
        Op::RemoveSteward { member } => {
            if !state.stewards.contains(member) {
                return Err(Refusal::NoChange);
            }
            if state.stewards.len() == 1 {
                return Err(Refusal::LastSteward);
            }
            state.stewards.remove(member);
        }
        Op::Agreements {
            version,
            major,
            text,
        } => {
            let current = state.agreements.as_ref().map_or(0, |a| a.version);
            if *version != current + 1 {
                return Err(Refusal::StaleVersion);
            }
            let major_version = match (major, &state.agreements) {
                (false, Some(a)) => a.major_version,
                _ => *version,
            };
            state.agreements = Some(Agreements {
                version: *version,
                major_version,
                text: text.clone(),
            });
        }
        Op::Accept { version } => {
            let current = state.agreements.as_ref().map_or(0, |a| a.version);
            if *version == 0 || *version > current {
                return Err(Refusal::StaleVersion);
            }
            let accepted = state.accepted.entry(author).or_default();
            *accepted = (*accepted).max(*version);
        }
        Op::Rename { name } => state.name = Some(name.clone()),
        Op::Settings(settings) => {
            if state.settings == *settings {
                return Err(Refusal::NoChange);
            }
            state.settings = settings.clone();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};

    use super::*;

    struct Member {
        signing: SigningKey,
        key: IdentityKey,
    }

    fn member(seed: u8) -> Member {
        let signing = SigningKey::from_bytes(&[seed; 32]);
        let key = IdentityKey(signing.verifying_key().to_bytes());
        Member { signing, key }
    }

    /// `who` makes `op` on `log` and the log takes it.
    fn make(log: &mut Log, who: &Member, op: Op) -> Change {
        let change = log.make(&who.signing, op).unwrap();
        log.add(change.clone()).unwrap();
        change
    }

    fn founded(founder: &Member) -> Log {
        let mut log = Log::new(CollectiveId([1; 16]));
        make(
            &mut log,
            founder,
            Op::Found {
                name: "Riverside Care".into(),
            },
        );
        log
    }

    fn outcome(log: &Log, change: &Change) -> Outcome {
        log.state().outcomes[&(change.author, change.seq)]
    }

    #[test]
    fn only_stewards_change_the_membership_and_only_members_accept() {
        let (alice, bob, carol) = (member(1), member(2), member(3));
        let mut log = founded(&alice);
        make(&mut log, &alice, Op::AddMember { member: bob.key });
        let by_bob = make(&mut log, &bob, Op::AddMember { member: carol.key });
        assert_eq!(
            outcome(&log, &by_bob),
            Outcome::Refused(Refusal::NotASteward)
        );
        let by_carol = make(&mut log, &carol, Op::Accept { version: 1 });
        assert_eq!(
            outcome(&log, &by_carol),
            Outcome::Refused(Refusal::NotAMember)
        );
        make(
            &mut log,
            &alice,
            Op::Agreements {
                version: 1,
                major: true,
                text: "Members only.".into(),
            },
        );
        let accepted = make(&mut log, &bob, Op::Accept { version: 1 });
        assert_eq!(outcome(&log, &accepted), Outcome::Applied);
        let state = log.state();
        assert_eq!(state.not_yet_accepted(), 1, "Alice has not");
        assert_eq!(state.members.len(), 2);
    }

    #[test]
    fn a_major_version_asks_everyone_again_and_a_minor_one_does_not() {
        let (alice, bob) = (member(1), member(2));
        let mut log = founded(&alice);
        make(&mut log, &alice, Op::AddMember { member: bob.key });
        let text = |t: &str| t.to_owned();
        let first = Op::Agreements {
            version: 1,
            major: true,
            text: text("v1"),
        };
        make(&mut log, &alice, first);
        make(&mut log, &alice, Op::Accept { version: 1 });
        make(&mut log, &bob, Op::Accept { version: 1 });
        make(
            &mut log,
            &alice,
            Op::Agreements {
                version: 2,
                major: false,
                text: text("v2"),
            },
        );
        assert_eq!(log.state().not_yet_accepted(), 0, "a minor change");
        make(
            &mut log,
            &alice,
            Op::Agreements {
                version: 3,
                major: true,
                text: text("v3"),
            },
        );
        assert_eq!(log.state().not_yet_accepted(), 2, "a major change");
        let stale = make(
            &mut log,
            &alice,
            Op::Agreements {
                version: 3,
                major: false,
                text: text("again"),
            },
        );
        assert_eq!(
            outcome(&log, &stale),
            Outcome::Refused(Refusal::StaleVersion)
        );
    }

    #[test]
    fn a_removal_wins_over_what_the_removed_member_did_unseen() {
        let (alice, bob) = (member(1), member(2));
        let mut log = founded(&alice);
        make(&mut log, &alice, Op::AddMember { member: bob.key });
        make(&mut log, &alice, Op::AddSteward { member: bob.key });
        // Bob, offline, renames; Alice, not having seen it, removes him.
        let mut bobs = log.clone();
        let rename = make(
            &mut bobs,
            &bob,
            Op::Rename {
                name: "Bob's".into(),
            },
        );
        let seen = log.last_seq(&bob.key);
        let removal = make(
            &mut log,
            &alice,
            Op::RemoveMember {
                member: bob.key,
                seen,
            },
        );
        for order in [[&rename, &removal], [&removal, &rename]] {
            let mut merged = founded(&alice);
            for change in log.changes().chain(bobs.changes()) {
                merged.add(change.clone()).unwrap();
            }
            for change in order {
                merged.add((*change).clone()).unwrap();
            }
            let state = merged.state();
            assert_eq!(state.name.as_deref(), Some("Riverside Care"));
            assert!(!state.members.contains(&bob.key));
            assert_eq!(
                state.outcomes[&(bob.key, rename.seq)],
                Outcome::Refused(Refusal::RemovedConcurrently)
            );
        }
    }

    #[test]
    fn the_last_steward_cannot_leave_and_two_stewards_renaming_at_once_agree() {
        let (alice, bob) = (member(1), member(2));
        let mut log = founded(&alice);
        let leave = make(
            &mut log,
            &alice,
            Op::RemoveMember {
                member: alice.key,
                seen: 1,
            },
        );
        assert_eq!(
            outcome(&log, &leave),
            Outcome::Refused(Refusal::LastSteward)
        );
        make(&mut log, &alice, Op::AddMember { member: bob.key });
        make(&mut log, &alice, Op::AddSteward { member: bob.key });
        let base = log.clone();
        let (mut a, mut b) = (base.clone(), base.clone());
        make(
            &mut a,
            &alice,
            Op::Rename {
                name: "Alder".into(),
            },
        );
        make(
            &mut b,
            &bob,
            Op::Rename {
                name: "Birch".into(),
            },
        );
        for change in b.changes() {
            a.add(change.clone()).unwrap();
        }
        for change in base.changes().chain(a.changes()) {
            b.add(change.clone()).unwrap();
        }
        assert_eq!(a.state(), b.state());
    }

    #[test]
    fn a_gap_waits_and_two_changes_with_one_number_resolve_the_same_everywhere() {
        let (alice, bob) = (member(1), member(2));
        let mut log = founded(&alice);
        let add = log
            .make(&alice.signing, Op::AddMember { member: bob.key })
            .unwrap();
        let mut ahead = log.clone();
        ahead.add(add.clone()).unwrap();
        let steward = ahead
            .make(&alice.signing, Op::AddSteward { member: bob.key })
            .unwrap();
        log.add(steward.clone()).unwrap();
        assert_eq!(outcome(&log, &steward), Outcome::Pending);
        log.add(add.clone()).unwrap();
        assert_eq!(outcome(&log, &steward), Outcome::Applied);

        // Alice signs two different changes numbered the same.
        let one = log
            .make(&alice.signing, Op::Rename { name: "One".into() })
            .unwrap();
        let two = log
            .make(&alice.signing, Op::Rename { name: "Two".into() })
            .unwrap();
        let (mut x, mut y) = (log.clone(), log.clone());
        x.add(one.clone()).unwrap();
        x.add(two.clone()).unwrap();
        y.add(two).unwrap();
        y.add(one).unwrap();
        assert_eq!(x.state(), y.state());
        assert_eq!(
            x.state().outcomes[&(alice.key, 4)],
            Outcome::Applied,
            "one of them counts"
        );
    }

    /// Five members each keep a log, make changes on what they hold and
    /// pass changes on at random; five more vaults get every change in
    /// their own shuffled order, with duplicates, drops retried later and
    /// one that hears nothing for a month, and all agree.
    #[test]
    fn random_interleavings_of_hundreds_of_changes_converge_on_every_vault() {
        for seed in 0..12u64 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let people: Vec<Member> = (1..=5).map(member).collect();
            let mut logs: Vec<Log> = vec![founded(&people[0]); 5];
            let mut made = 0;
            while made < 300 {
                let who = rng.gen_range(0..5);
                let state = logs[who].state();
                let me = &people[who];
                let other = &people[rng.gen_range(0..5)];
                // Members act as their own vault shows them; stewards mostly
                // on the membership, others mostly accept.
                let choice = match (
                    state.members.contains(&me.key),
                    state.stewards.contains(&me.key),
                ) {
                    (false, _) => None,
                    (true, true) => Some(rng.gen_range(0..8)),
                    (true, false) => Some(if rng.gen_bool(0.8) {
                        5
                    } else {
                        rng.gen_range(0..8)
                    }),
                };
                let op = match choice {
                    None => {
                        gossip(&mut logs, &mut rng);
                        continue;
                    }
                    Some(op) => op,
                };
                let op = match op {
                    0 => Op::AddMember { member: other.key },
                    1 => Op::RemoveMember {
                        member: other.key,
                        seen: logs[who].last_seq(&other.key),
                    },
                    2 => Op::AddSteward { member: other.key },
                    3 => Op::RemoveSteward { member: other.key },
                    4 => Op::Agreements {
                        version: state.agreements.as_ref().map_or(1, |a| a.version + 1),
                        major: rng.gen_bool(0.3),
                        text: format!("version by {who}"),
                    },
                    5 => Op::Accept {
                        version: state.agreements.as_ref().map_or(1, |a| a.version),
                    },
                    _ if rng.gen_bool(0.5) => Op::Rename {
                        name: format!("Circle {}", rng.gen_range(0..100)),
                    },
                    _ => Op::Settings(Settings {
                        relays: Vec::new(),
                        review_agreements_on: chrono::NaiveDate::from_ymd_opt(
                            2027,
                            rng.gen_range(1..13),
                            1,
                        ),
                        gathering_required: rng.gen_bool(0.5),
                        ..Settings::default()
                    }),
                };
                make(&mut logs[who], me, op);
                made += 1;
                gossip(&mut logs, &mut rng);
            }
            let everything: Vec<Change> = logs.iter().flat_map(|l| l.changes().cloned()).collect();
            let mut states = Vec::new();
            for vault in 0..5 {
                let mut deliveries = everything.clone();
                deliveries.shuffle(&mut rng);
                let (now, later) =
                    deliveries.split_at(deliveries.len() * rng.gen_range(1..=9) / 10);
                let mut log = Log::new(CollectiveId([1; 16]));
                for change in now {
                    log.add(change.clone()).unwrap();
                    if rng.gen_bool(0.1) {
                        assert_eq!(log.add(change.clone()).unwrap(), Added::Duplicate);
                    }
                }
                if vault == 4 {
                    let _ = log.state(); // a month away, then everything at once
                }
                for change in later {
                    log.add(change.clone()).unwrap();
                }
                states.push(log.state());
            }
            for log in &mut logs {
                for change in &everything {
                    log.add(change.clone()).unwrap();
                }
                states.push(log.state());
            }
            for state in &states[1..] {
                assert_eq!(state, &states[0], "seed {seed}");
            }
            let applied = states[0]
                .outcomes
                .values()
                .filter(|o| **o == Outcome::Applied)
                .count();
            assert!(applied > 50, "seed {seed}: only {applied} applied");
        }
    }

    /// One member passes about half of what they hold to another.
    fn gossip(logs: &mut [Log], rng: &mut impl Rng) {
        let (from, to) = (rng.gen_range(0..logs.len()), rng.gen_range(0..logs.len()));
        let passed: Vec<Change> = logs[from]
            .changes()
            .filter(|_| rng.gen_bool(0.5))
            .cloned()
            .collect();
        for change in passed {
            logs[to].add(change).unwrap();
        }
    }

    #[test]
    fn a_change_for_another_collective_is_refused() {
        let alice = member(1);
        let log = founded(&alice);
        let mut other = Log::new(CollectiveId([2; 16]));
        let change = log.changes().next().unwrap().clone();
        assert_eq!(other.add(change), Err(LogError::WrongCollective));
        assert!(other.is_empty());
    }
}
