//! When, within a sync, each connection is made. Jobs run in a shuffled
//! order at random moments inside the caller's delay budget, so a relay
//! watching when connections come cannot group one member's copies, nor tie
//! the mailboxes they fetch: each of my mailboxes gets a slice of the
//! budget of its own, and is fetched only in the middle half of it.

use std::time::Duration;

use rand::Rng;
use rand::seq::SliceRandom;

/// One connection's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Job {
    /// One recipient's parcel to one relay.
    Publish { parcel: usize, relay: usize },
    /// One of my mailboxes on one relay.
    Fetch { mailbox: usize, relay: usize },
}

/// Each job with how long after the start of the sync it runs, earliest
/// first. `publishes` counts each parcel's relays, `fetches` each of my
/// mailboxes' relays; jobs name them by index.
pub(crate) fn plan(
    rng: &mut impl Rng,
    budget: Duration,
    publishes: &[usize],
    fetches: &[usize],
) -> Vec<(Duration, Job)> {
    let mailboxes = fetches.len();
    let mut jobs = Vec::new();
    for (parcel, &relays) in publishes.iter().enumerate() {
        for relay in 0..relays {
            jobs.push((at(rng, budget, 0.0, 1.0), Job::Publish { parcel, relay }));
        }
    }
    let mut slices: Vec<usize> = (0..mailboxes).collect();
    slices.shuffle(rng);
    for (mailbox, slice) in slices.into_iter().enumerate() {
        let width = 1.0 / mailboxes as f64;
        let start = (slice as f64 + 0.25) * width;
        for relay in 0..fetches[mailbox] {
            let offset = at(rng, budget, start, start + width / 2.0);
            jobs.push((offset, Job::Fetch { mailbox, relay }));
        }
    }
    // Shuffled first, so jobs at the same moment (no budget) run in no set order.
    jobs.shuffle(rng);
    jobs.sort_by_key(|(offset, _)| *offset);
    jobs
}

/// A moment drawn uniformly between two fractions of the budget.
fn at(rng: &mut impl Rng, budget: Duration, from: f64, to: f64) -> Duration {
    budget.mul_f64(rng.gen_range(from..=to))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetches(plan: &[(Duration, Job)], of: usize) -> Vec<Duration> {
        plan.iter()
            .filter(|(_, j)| matches!(j, Job::Fetch { mailbox, .. } if *mailbox == of))
            .map(|(t, _)| *t)
            .collect()
    }

    #[test]
    fn every_job_runs_once_inside_the_budget() {
        let budget = Duration::from_secs(10);
        let publishes = [2, 1, 0];
        let plan = plan(&mut rand::thread_rng(), budget, &publishes, &[2, 2]);
        assert_eq!(plan.len(), 3 + 4);
        assert!(plan.windows(2).all(|w| w[0].0 <= w[1].0));
        assert!(plan.iter().all(|(t, _)| *t <= budget));
        for (parcel, relay) in [(0, 0), (0, 1), (1, 0)] {
            assert_eq!(
                plan.iter()
                    .filter(|(_, j)| *j == Job::Publish { parcel, relay })
                    .count(),
                1
            );
        }
    }

    #[test]
    fn my_mailboxes_are_fetched_far_apart_in_no_set_order() {
        let budget = Duration::from_secs(12);
        let mut first = [0; 3];
        for _ in 0..200 {
            let plan = plan(&mut rand::thread_rng(), budget, &[], &[2; 3]);
            let times: Vec<Vec<Duration>> = (0..3).map(|m| fetches(&plan, m)).collect();
            for a in 0..3 {
                for b in 0..3 {
                    if a == b {
                        continue;
                    }
                    for ta in &times[a] {
                        for tb in &times[b] {
                            // Slices of 4 s, fetched in their middle 2 s.
                            assert!(ta.abs_diff(*tb) >= Duration::from_secs(2));
                        }
                    }
                }
            }
            let Job::Fetch { mailbox, .. } = plan[0].1 else {
                unreachable!()
            };
            first[mailbox] += 1;
        }
        assert!(first.iter().all(|n| *n > 20), "{first:?}");
    }

    #[test]
    fn publishing_is_shuffled() {
        let publishes = [1; 20];
        let plan = plan(
            &mut rand::thread_rng(),
            Duration::from_secs(5),
            &publishes,
            &[],
        );
        let order: Vec<usize> = plan
            .iter()
            .map(|(_, j)| match j {
                Job::Publish { parcel, .. } => *parcel,
                Job::Fetch { .. } => unreachable!(),
            })
            .collect();
        assert_ne!(order, (0..20).collect::<Vec<_>>());
        let no_budget = super::plan(&mut rand::thread_rng(), Duration::ZERO, &publishes, &[]);
        assert!(no_budget.iter().all(|(t, _)| t.is_zero()));
        assert_ne!(
            no_budget.iter().map(|(_, j)| *j).collect::<Vec<_>>(),
            (0..20)
                .map(|parcel| Job::Publish { parcel, relay: 0 })
                .collect::<Vec<_>>()
        );
    }
}
