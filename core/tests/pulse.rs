//! The collective's pulse (issue 20, part 2): totals only, and only when
//! enough answered. Every member is a vault of its own; a post office
//! carries each envelope to the vaults it lists, answers included, until
//! nothing is left to carry.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, Utc};
use common::{befriend, member};
use rand::{Rng, SeedableRng};
use tend_core::collective::{CollectiveError, CollectiveId, PulseSettings, Settings};
use tend_core::comrades::IdentityKey;
use tend_core::envelope::MessageId;
use tend_core::pulse::{
    Capacity, CheckIn, Pulse, PulseAnswer, PulseError, PulseFailure, PulseId, PulseMood,
    PulseState, PulseTotals, TALLY_WAIT,
};
use tend_core::{Error, Vault, kinds};

struct Group {
    _dir: tempfile::TempDir,
    vaults: Vec<Vault>,
    keys: Vec<IdentityKey>,
    id: CollectiveId,
    /// Each envelope, by the vault it was carried to.
    carried: BTreeSet<(MessageId, usize)>,
}

fn key(v: &Vault) -> IdentityKey {
    v.comrades().my_identity_key().unwrap()
}

/// `n` members of one collective, founded by the first (its steward),
/// with the pulse's threshold at `threshold`.
fn group(n: usize, threshold: u8) -> Group {
    let dir = tempfile::tempdir().unwrap();
    let vaults: Vec<Vault> = (0..n)
        .map(|i| member(dir.path(), &format!("M{i}")))
        .collect();
    let mut ids = Vec::new();
    for v in &vaults[1..] {
        ids.push(befriend(&vaults[0], v).0);
    }
    let founder = &vaults[0];
    let id = founder
        .collectives()
        .create("Riverside Care", None)
        .unwrap()
        .id;
    founder.collectives().add_members(id, &ids).unwrap();
    let keys = vaults.iter().map(key).collect();
    let mut g = Group {
        _dir: dir,
        vaults,
        keys,
        id,
        carried: BTreeSet::new(),
    };
    assert!(g.post().is_empty());
    if threshold != PulseSettings::default().threshold {
        let settings = Settings {
            pulse: PulseSettings {
                threshold,
                ..PulseSettings::default()
            },
            ..Settings::default()
        };
        g.vaults[0]
            .collectives()
            .set_settings(id, &settings)
            .unwrap();
        assert!(g.post().is_empty());
    }
    for v in &g.vaults {
        assert_eq!(v.collectives().get(id).unwrap().members, n as u32);
    }
    g
}

impl Group {
    /// Carries every envelope not yet carried, and what opening them
    /// sealed, until none is left; the refusals.
    fn post(&mut self) -> Vec<Error> {
        self.post_except(&[])
    }

    /// [`Group::post`], with the vaults in `offline` neither sending nor receiving.
    fn post_except(&mut self, offline: &[usize]) -> Vec<Error> {
        let by_key: BTreeMap<IdentityKey, usize> =
            self.keys.iter().enumerate().map(|(i, k)| (*k, i)).collect();
        let mut refused = Vec::new();
        loop {
            let mut moved = false;
            for from in 0..self.vaults.len() {
                if offline.contains(&from) {
                    continue;
                }
                // Oldest first, as they were sent.
                for item in self.vaults[from].envelopes().outbox().unwrap().iter().rev() {
                    for r in &item.sealed.recipients {
                        let to = by_key[&r.identity_key];
                        if offline.contains(&to)
                            || !self.carried.insert((item.sealed.message_id, to))
                        {
                            continue;
                        }
                        moved = true;
                        if let Err(e) = self.vaults[to].envelopes().open(&item.sealed.bytes) {
                            refused.push(e);
                        }
                    }
                }
            }
            if !moved {
                return refused;
            }
        }
    }

    fn start(&mut self) -> PulseId {
        let started = self.vaults[0].pulses().start(self.id, None).unwrap();
        assert!(self.post().is_empty());
        started.pulse.id
    }

    fn pulse(&self, i: usize, id: PulseId) -> Pulse {
        self.vaults[i].pulses().get(id).unwrap()
    }

    fn talliers(&self, id: PulseId) -> Vec<usize> {
        (0..self.vaults.len())
            .filter(|&i| self.pulse(i, id).i_tally)
            .collect()
    }

    fn answer(&self, i: usize, id: PulseId, capacity: Capacity, mood: Option<u8>) {
        let mood = mood.map_or(PulseMood::Skip, |value| PulseMood::Given { value });
        let answer = PulseAnswer {
            capacity,
            mood,
            check_in: None,
        };
        self.vaults[i].pulses().answer(id, &answer).unwrap();
    }

    /// Every vault runs what is due at `at`.
    fn tend_at(&mut self, at: chrono::DateTime<Utc>) {
        for v in &self.vaults {
            v.pulses().tend_at(at).unwrap();
        }
        assert!(self.post().is_empty());
    }
}

fn shown(p: &Pulse) -> &PulseTotals {
    match &p.state {
        PulseState::Shown { totals } => totals,
        other => panic!("expected totals, got {other:?}"),
    }
}

#[test]
fn totals_are_exact_for_random_answers_from_3_to_60_members() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(20);
    for (n, threshold) in [(3, 3), (4, 4), (9, 4), (60, 4)] {
        let mut g = group(n, threshold);
        let id = g.start();
        let mut expected = [0u32; 3];
        let (mut moods, mut mood_sum) = (0u32, 0u32);
        for i in 0..n {
            let capacity = [Capacity::Green, Capacity::Yellow, Capacity::Red][rng.gen_range(0..3)];
            expected[capacity as usize] += 1;
            let mood = rng.gen_bool(0.8).then(|| rng.gen_range(1..=5u8));
            if let Some(m) = mood {
                moods += 1;
                mood_sum += u32::from(m);
            }
            g.answer(i, id, capacity, mood);
            assert!(g.pulse(i, id).answered);
        }
        assert!(g.post().is_empty());
        for i in 0..n {
            let p = g.pulse(i, id);
            let t = shown(&p);
            assert_eq!(
                (t.answers, t.green, t.yellow, t.red, t.moods),
                (n as u32, expected[0], expected[1], expected[2], moods),
                "{n} members, vault {i}"
            );
            let mean = f64::from(mood_sum) / f64::from(moods);
            if moods >= u32::from(threshold) {
                assert!((t.mean_mood.unwrap() - mean).abs() < 1e-9);
            } else {
                assert_eq!(t.mean_mood, None);
            }
        }
        assert_eq!(g.talliers(id).len(), 3);
        assert_working_rows_gone(&g);
    }
}

/// Once decided, no vault keeps a share, a list or a sum, nor its own
/// share envelopes (sealed to itself too) in its outbox.
fn assert_working_rows_gone(g: &Group) {
    for v in &g.vaults {
        assert!(common::sealed_of(v, kinds::PULSE_SHARE).is_empty());
        let rows = tend_core::testing::every_row(v).unwrap();
        let working: Vec<_> = rows
            .iter()
            .filter(|(t, _)| t == "pulse_shares" || t == "pulse_tallies")
            .collect();
        assert!(working.is_empty(), "{} rows left", working.len());
    }
}

#[test]
fn below_the_threshold_nothing_is_shown_and_nobody_is_nagged() {
    let mut g = group(6, 4);
    let id = g.start();
    let p = g.pulse(3, id);
    assert_eq!(p.state, PulseState::Open);
    assert!(!p.answered);
    for i in 0..3 {
        g.answer(i, id, Capacity::Green, Some(4));
    }
    assert!(g.post().is_empty());
    // Three of six: still open, nothing counted before it closes.
    assert_eq!(g.pulse(5, id).state, PulseState::Open);
    let after = g.pulse(0, id).closes_at + Duration::minutes(1);
    g.tend_at(after);
    for i in 0..6 {
        assert_eq!(g.pulse(i, id).state, PulseState::TooFew { answers: 3 });
    }
    assert_working_rows_gone(&g);
    // Late: the pulse is closed.
    let late = g.vaults[4].pulses().answer(
        id,
        &PulseAnswer {
            capacity: Capacity::Red,
            mood: PulseMood::Skip,
            check_in: None,
        },
    );
    assert!(
        matches!(late, Err(Error::Pulse(PulseError::Closed))),
        "{late:?}"
    );
}

#[test]
fn a_mean_mood_shows_only_when_enough_gave_one() {
    let mut g = group(5, 4);
    let id = g.start();
    g.answer(0, id, Capacity::Green, Some(5));
    g.answer(1, id, Capacity::Yellow, Some(2));
    for i in 2..5 {
        g.answer(i, id, Capacity::Yellow, None);
    }
    assert!(g.post().is_empty());
    let p = g.pulse(3, id);
    let t = shown(&p);
    assert_eq!((t.answers, t.yellow, t.moods, t.mean_mood), (5, 4, 2, None));
}

/// Each vault's every table, the talliers' included, read while the pulse
/// is counted and after: none holds any member's answer, its own aside
/// from its sealed outbox copies, and none holds two shares of one member.
#[test]
fn no_vault_holds_anyone_elses_answer() {
    let mut g = group(5, 4);
    let id = g.start();
    let answers: Vec<[u64; 5]> = vec![
        [1, 0, 0, 1, 4],
        [0, 0, 1, 1, 1],
        [0, 1, 0, 0, 0],
        [1, 0, 0, 1, 5],
        [0, 0, 1, 1, 2],
    ];
    for (i, a) in answers.iter().enumerate() {
        let capacity = [Capacity::Green, Capacity::Yellow, Capacity::Red]
            [a.iter().position(|&x| x == 1).unwrap()];
        g.answer(i, id, capacity, (a[3] == 1).then_some(a[4] as u8));
    }
    let talliers = g.talliers(id);
    // Counting stalls with one tallier away, so the shares are there to read.
    let away = talliers[0];
    assert!(g.post_except(&[away]).is_empty());
    let mut shares_seen = 0;
    for (v, vault) in g.vaults.iter().enumerate() {
        let rows = tend_core::testing::every_row(vault).unwrap();
        for a in &answers {
            let plain: Vec<u8> = a.iter().flat_map(|x| x.to_be_bytes()).collect();
            let json = serde_json::to_vec(a).unwrap();
            for (table, cells) in &rows {
                for cell in cells {
                    assert!(
                        !contains(cell, &plain) && !contains(cell, &json),
                        "vault {v}, table {table}, holds an answer"
                    );
                }
            }
        }
        let shares: Vec<_> = rows.iter().filter(|(t, _)| t == "pulse_shares").collect();
        let members: BTreeSet<&Vec<u8>> = shares.iter().map(|(_, c)| &c[2]).collect();
        assert_eq!(
            members.len(),
            shares.len(),
            "one share of each member at most"
        );
        assert!(shares.is_empty() || talliers.contains(&v));
        shares_seen += shares.len();
        // Nothing of the pulse sits in any inbox.
        assert!(
            vault
                .envelopes()
                .inbox(None)
                .unwrap()
                .iter()
                .all(|i| !i.opened.kind.starts_with("pulse.")),
        );
    }
    // The two talliers present hold one share of each member but the one
    // away, whose vault holds its own share to itself.
    assert_eq!(shares_seen, 2 * 4 + 1);
    assert!(g.post().is_empty());
    assert_eq!(shown(&g.pulse(2, id)).red, 2);
    assert_working_rows_gone(&g);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_tallier_that_names_someone_it_holds_no_share_of_changes_nothing() {
    let mut g = group(6, 4);
    let id = g.start();
    let talliers = g.talliers(id);
    let silent = (0..6).find(|i| !talliers.contains(i)).unwrap();
    for i in (0..6).filter(|&i| i != silent) {
        g.answer(i, id, Capacity::Yellow, Some(3));
    }
    // One tallier claims the member who never answered.
    tend_core::testing::pulse_share_made_up(&g.vaults[talliers[1]], id, g.keys[silent]).unwrap();
    assert!(g.post().is_empty());
    let after = g.pulse(0, id).closes_at + Duration::minutes(1);
    g.tend_at(after);
    for i in 0..6 {
        let p = g.pulse(i, id);
        let t = shown(&p);
        assert_eq!(
            (t.answers, t.yellow, t.mean_mood),
            (5, 5, Some(3.0)),
            "vault {i}"
        );
    }
}

#[test]
fn a_tallier_whose_sums_leave_out_someone_it_listed_gives_a_typed_failure() {
    let mut g = group(5, 3);
    let id = g.start();
    let talliers = g.talliers(id);
    let (away, liar) = (&talliers[..2], talliers[2]);
    let present: Vec<usize> = (0..5).filter(|i| !away.contains(i)).collect();
    for &i in &present {
        g.answer(i, id, Capacity::Green, None);
    }
    assert!(g.post_except(away).is_empty());
    // The liar lists the three it holds, then sums without one of them.
    let closes = g.pulse(liar, id).closes_at;
    g.vaults[liar]
        .pulses()
        .tend_at(closes + Duration::minutes(1))
        .unwrap();
    let dropped = *present.iter().find(|&&i| i != liar).unwrap();
    tend_core::testing::pulse_share_dropped(&g.vaults[liar], id, g.keys[dropped]).unwrap();
    for &i in away {
        g.answer(i, id, Capacity::Green, None);
    }
    // Their shares come too late for the liar, which has counted.
    let refused = g.post();
    assert_eq!(refused.len(), 2);
    assert!(
        refused
            .iter()
            .all(|e| matches!(e, Error::Pulse(PulseError::Closed)))
    );
    for i in 0..5 {
        assert_eq!(
            g.pulse(i, id).state,
            PulseState::Failed {
                reason: PulseFailure::TalliesDisagree
            },
            "vault {i}"
        );
    }
    assert_working_rows_gone(&g);
}

#[test]
fn a_tallier_that_never_answers_fails_the_pulse_and_a_new_one_can_start() {
    let mut g = group(5, 4);
    let id = g.start();
    let talliers = g.talliers(id);
    let away = talliers[1];
    for i in 0..5 {
        g.answer(i, id, Capacity::Red, None);
    }
    assert!(g.post_except(&[away]).is_empty());
    let closes = g.pulse(0, id).closes_at;
    // Nobody's vault but a tallier's can tell it is being counted.
    assert!(matches!(
        g.pulse(talliers[0], id).state,
        PulseState::Open | PulseState::Counting
    ));
    for v in &g.vaults {
        v.pulses()
            .tend_at(closes + TALLY_WAIT + Duration::hours(1))
            .unwrap();
    }
    for i in (0..5).filter(|&i| i != away) {
        assert_eq!(
            g.pulse(i, id).state,
            PulseState::Failed {
                reason: PulseFailure::TalliersSilent
            }
        );
    }
    let again = g.vaults[0].pulses().start(g.id, None).unwrap();
    assert_eq!(again.pulse.state, PulseState::Open);
    assert_eq!(g.vaults[0].pulses().list(g.id).unwrap().len(), 2);
}

#[test]
fn only_members_answer_and_only_a_steward_starts() {
    let mut g = group(4, 4);
    let outsider = member(g._dir.path(), "Eve");
    befriend(&g.vaults[1], &outsider);
    let not_steward = g.vaults[1].pulses().start(g.id, None);
    assert!(
        matches!(not_steward, Err(Error::Pulse(PulseError::NotASteward))),
        "{not_steward:?}"
    );
    let id = g.start();
    // Eve never heard of the pulse or the collective.
    assert!(matches!(
        outsider.pulses().get(id),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        outsider.pulses().list(g.id),
        Err(Error::NotFound { .. })
    ));
    // A start forwarded to her is refused: she is in no such collective.
    let start = common::sealed_of(&g.vaults[0], kinds::PULSE_START);
    assert!(
        !start[0]
            .recipients
            .iter()
            .any(|r| r.identity_key == key(&outsider))
    );
    // A share from her to a tallier is refused as from a non-member.
    let tallier = g.talliers(id)[0];
    befriend(&g.vaults[tallier], &outsider);
    let forged = tend_core::testing::seal_made_at(
        &outsider,
        &tend_core::envelope::Outgoing {
            kind: kinds::PULSE_SHARE,
            body: format!(
                r#"{{"v":1,"collective":"{}","pulse":"{id}","share":[1,0,0,0,0]}}"#,
                g.id
            )
            .as_bytes(),
            to: &[tend_core::envelope::Recipient::Comrade(
                outsider.comrades().find(&format!("M{tallier}")).unwrap().id,
            )],
            expires_at: None,
        },
        Utc::now(),
    )
    .unwrap();
    let refused = g.vaults[tallier].envelopes().open(&forged.bytes);
    assert!(
        matches!(
            refused,
            Err(Error::Collective(CollectiveError::SenderNotAMember))
        ),
        "{refused:?}"
    );
    // A member answers once.
    g.answer(2, id, Capacity::Green, None);
    let twice = g.vaults[2].pulses().answer(
        id,
        &PulseAnswer {
            capacity: Capacity::Green,
            mood: PulseMood::Skip,
            check_in: None,
        },
    );
    assert!(matches!(
        twice,
        Err(Error::Pulse(PulseError::AlreadyAnswered))
    ));
    let off_scale = g.vaults[3].pulses().answer(
        id,
        &PulseAnswer {
            capacity: Capacity::Green,
            mood: PulseMood::Given { value: 6 },
            check_in: None,
        },
    );
    assert!(matches!(
        off_scale,
        Err(Error::Pulse(PulseError::MoodOffScale { steps: 5 }))
    ));
    assert!(!g.pulse(3, id).answered, "a refused answer leaves nothing");
    assert!(g.post().is_empty());
}

#[test]
fn a_red_answer_may_ask_one_comrade_to_check_in_and_a_mood_may_come_from_the_journal() {
    let mut g = group(4, 4);
    let id = g.start();
    let today = chrono::Local::now().date_naive();
    let journal = g.vaults[1].journal();
    for mood in [2, 3] {
        let mut entry = common::entry("A hard week; the heron helped.");
        entry.mood = Some(mood);
        entry.written_at = Some(chrono::Local::now().fixed_offset());
        journal.add(entry).unwrap();
    }
    let friend = g.vaults[1].comrades().find("M0").unwrap().id;
    let sealed = g.vaults[1]
        .pulses()
        .answer(
            id,
            &PulseAnswer {
                capacity: Capacity::Red,
                mood: PulseMood::FromJournal { day: today },
                check_in: Some(CheckIn {
                    comrade: friend,
                    note: Some("Could you call me tonight?".into()),
                }),
            },
        )
        .unwrap();
    let check_in: Vec<_> = sealed
        .iter()
        .filter(|s| s.recipients.len() == 1 && s.recipients[0].identity_key == g.keys[0])
        .collect();
    assert!(!check_in.is_empty());
    let no_mood_today = g.vaults[2].pulses().answer(
        id,
        &PulseAnswer {
            capacity: Capacity::Green,
            mood: PulseMood::FromJournal { day: today },
            check_in: None,
        },
    );
    assert!(matches!(
        no_mood_today,
        Err(Error::Pulse(PulseError::NoMoodToday))
    ));
    let green_check_in = g.vaults[2].pulses().answer(
        id,
        &PulseAnswer {
            capacity: Capacity::Green,
            mood: PulseMood::Skip,
            check_in: Some(CheckIn {
                comrade: g.vaults[2].comrades().find("M0").unwrap().id,
                note: None,
            }),
        },
    );
    assert!(matches!(
        green_check_in,
        Err(Error::Pulse(PulseError::CheckInNeedsRed))
    ));
    for i in [0, 2, 3] {
        g.answer(i, id, Capacity::Green, Some(4));
    }
    assert!(g.post().is_empty());
    // Only M0 was asked, and M0 alone holds it: in the inbox, naming no pulse.
    for (i, v) in g.vaults.iter().enumerate() {
        let asked: Vec<_> = v
            .envelopes()
            .inbox(Some(kinds::PULSE_CHECK_IN))
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(asked.len(), usize::from(i == 0), "vault {i}");
    }
    let p = g.pulse(2, id);
    let t = shown(&p);
    // The journal's mean of 2.5 on a five-step scale rounds to 3.
    assert_eq!(
        (t.red, t.moods, t.mean_mood),
        (1, 4, Some((3.0 + 12.0) / 4.0))
    );
}

/// A collective that asks for a monthly pulse gets one a month, the same
/// one whichever steward's vault starts it.
#[test]
fn a_monthly_pulse_starts_once_whichever_steward_starts_it() {
    let mut g = group(4, 4);
    let steward = g.vaults[0].comrades().find("M1").unwrap().id;
    g.vaults[0]
        .collectives()
        .add_steward(g.id, steward)
        .unwrap();
    let monthly = Settings {
        pulse: PulseSettings {
            monthly: true,
            ..PulseSettings::default()
        },
        ..Settings::default()
    };
    g.vaults[0]
        .collectives()
        .set_settings(g.id, &monthly)
        .unwrap();
    assert!(g.post().is_empty());
    // Not a steward: nothing starts.
    g.vaults[2].pulses().tend().unwrap();
    assert!(g.vaults[2].pulses().list(g.id).unwrap().is_empty());
    // Both stewards' vaults start the month's pulse before hearing of the other's.
    let now = Utc::now();
    let mut started = Vec::new();
    for i in [0, 1] {
        started.extend(g.vaults[i].pulses().tend_at(now).unwrap());
    }
    // One envelope to each of the three others, from each steward.
    assert_eq!(started.len(), 2 * 3);
    assert!(g.post().is_empty());
    for v in &g.vaults {
        let pulses = v.pulses().list(g.id).unwrap();
        assert_eq!(pulses.len(), 1, "one pulse this month");
        assert_eq!(pulses[0].state, PulseState::Open);
    }
    assert!(g.vaults[0].pulses().tend_at(now).unwrap().is_empty());
    let next_month = now + Duration::days(32);
    g.vaults[1].pulses().tend_at(next_month).unwrap();
    assert!(g.post().is_empty());
    assert_eq!(g.vaults[3].pulses().list(g.id).unwrap().len(), 2);
}
