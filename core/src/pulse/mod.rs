//! The collective's pulse: how the group is doing, as totals only. A
//! steward (or the month, where the collective asks) starts one; each
//! member may answer green, yellow or red, and a mood. An answer is split
//! into random shares that sum to it modulo a prime, one sealed to each
//! of three talliers drawn from the members. Each tallier lists whose
//! shares it holds; once every tallier's list is in, each sums its shares
//! of the members on every list and sends that sum to everyone. The sums
//! add up to the totals, shown only when at least the collective's
//! threshold answered. No vault ever holds another member's answer.
//! Spec: `docs/pulse.md`.

mod receive;
mod shares;
mod store;
mod tally;
mod wire;

use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rusqlite::Connection;
use sha2::{Digest, Sha256};

pub use receive::{PulseKinds, check_in_note, pulse_of};
pub(crate) use tally::at_unlock;
pub use wire::MAX_NOTE_CHARS;

use crate::collective::{self, CollectiveId};
use crate::comrades::{self, ComradeId, IdentityKey};
use crate::envelope::{self, Outgoing, Sealed};
use crate::{Error, Result, Vault, identity};
use wire::{CheckInBody, Share, Start};

crate::id::uuid_id!(
    /// One pulse of one collective.
    PulseId,
    "pulse id"
);

/// The kinds of envelope a pulse travels in: `docs/pulse.md`.
pub mod kinds {
    pub const PULSE_START: &str = "pulse.start";
    pub const PULSE_SHARE: &str = "pulse.share";
    /// A tallier's list of whose shares it holds, to the other talliers.
    pub const PULSE_COUNT: &str = "pulse.count";
    /// A tallier's sums over the members every tallier counted, to everyone.
    pub const PULSE_SUM: &str = "pulse.sum";
    /// A member who answered red asks one comrade to check in; kept in the inbox.
    pub const PULSE_CHECK_IN: &str = "pulse.check_in";
}

/// How long a pulse started by hand takes answers.
pub const OPEN_FOR: Duration = Duration::days(3);
/// Talliers drawn for each pulse (fewer only in a smaller collective).
pub const TALLIERS: usize = 3;
/// A pulse whose talliers have not all answered this long after it closed failed.
pub const TALLY_WAIT: Duration = Duration::days(7);

/// How much a member has in them this time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Capacity {
    Green,
    Yellow,
    Red,
}

impl Capacity {
    fn index(self) -> usize {
        match self {
            Capacity::Green => 0,
            Capacity::Yellow => 1,
            Capacity::Red => 2,
        }
    }
}

/// The mood part of an answer: none, a step on the collective's scale,
/// or the mean of my journal's moods that day (the entries stay here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PulseMood {
    Skip,
    Given { value: u8 },
    FromJournal { day: NaiveDate },
}

/// A member who answers red may ask one comrade to check in with them: a
/// sealed message to that comrade alone, which the collective never sees.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CheckIn {
    pub comrade: ComradeId,
    /// Up to 280 characters.
    pub note: Option<String>,
}

impl fmt::Debug for CheckIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckIn")
            .field("comrade", &self.comrade)
            .field("note", &self.note.as_deref().map(crate::redact::Text))
            .finish()
    }
}

#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PulseAnswer {
    pub capacity: Capacity,
    pub mood: PulseMood,
    pub check_in: Option<CheckIn>,
}

/// An answer is private: `Debug` shows none of it.
impl fmt::Debug for PulseAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PulseAnswer(<redacted>)")
    }
}

/// A pulse as my vault holds it.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Pulse {
    pub id: PulseId,
    pub collective: CollectiveId,
    pub started_at: DateTime<Utc>,
    /// Answers are taken until then.
    pub closes_at: DateTime<Utc>,
    /// Totals show only once this many answered.
    pub threshold: u8,
    pub mood_steps: u8,
    pub answered: bool,
    /// Whether my vault is one of its talliers.
    pub i_tally: bool,
    pub state: PulseState,
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PulseState {
    /// Taking answers.
    Open,
    /// Closed (or everyone answered), and the talliers are counting.
    Counting,
    Shown {
        totals: PulseTotals,
    },
    /// Fewer than the threshold answered: nothing is shown.
    TooFew {
        answers: u32,
    },
    Failed {
        reason: PulseFailure,
    },
}

/// Totals of one pulse.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PulseTotals {
    pub answers: u32,
    pub green: u32,
    pub yellow: u32,
    pub red: u32,
    /// How many gave a mood.
    pub moods: u32,
    /// Only when at least the threshold gave a mood, so one member's
    /// mood is never the mean.
    pub mean_mood: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PulseFailure {
    /// A tallier sent nothing within [`TALLY_WAIT`] of the close.
    TalliersSilent,
    /// The talliers' sums disagree or add up to no possible total: one
    /// counted a share it did not hold, or lied. Nothing is shown.
    TalliesDisagree,
}

/// Why a pulse refused something I did, or an envelope about one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PulseError {
    #[error("only a steward starts a pulse")]
    NotASteward,
    #[error("the collective has {members} members; a pulse needs at least {threshold}")]
    TooFewMembers { members: u32, threshold: u8 },
    #[error("the pulse has closed")]
    Closed,
    #[error("you answered this pulse already")]
    AlreadyAnswered,
    #[error("the mood is not on the collective's scale of {steps}")]
    MoodOffScale { steps: u8 },
    #[error("no journal entry of that day has a mood")]
    NoMoodToday,
    #[error("a check-in is asked for with a red answer")]
    CheckInNeedsRed,
    #[error("a tallier's card is not among your comrades")]
    TallierUnreachable,
    #[error("sent to a vault that is not one of the pulse's talliers")]
    NotATallier,
    #[error("sent by someone who is not one of the pulse's talliers")]
    NotFromATallier,
    #[error("too many envelopes about pulses this vault has not heard of")]
    TooManyWaiting,
}

/// A pulse I started, and the envelopes that tell the members.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct StartedPulse {
    pub pulse: Pulse,
    pub sealed: Vec<Sealed>,
}

/// A day's journal moods for the pulse: their mean and the member's own
/// scale (`journal::mood_of_day`, through the registry).
pub(crate) type MoodOfDay = fn(&Connection, NaiveDate) -> Result<Option<(f64, u8)>>;

/// My collectives' pulses. Borrow it with [`Vault::pulses`].
pub struct Pulses<'v> {
    vault: &'v Vault,
    mood_of_day: MoodOfDay,
}

impl<'v> Pulses<'v> {
    pub(crate) fn new(vault: &'v Vault, mood_of_day: MoodOfDay) -> Pulses<'v> {
        Pulses { vault, mood_of_day }
    }

    /// A steward starts a pulse of the collective, open for `open_for`
    /// (an hour to two weeks; [`OPEN_FOR`] when `None`). Its talliers are
    /// drawn at random from the members.
    pub fn start(
        &self,
        collective: CollectiveId,
        open_for: Option<Duration>,
    ) -> Result<StartedPulse> {
        let open_for = open_for.unwrap_or(OPEN_FOR);
        let ms = open_for.num_milliseconds();
        if !(wire::MIN_OPEN_MS..=wire::MAX_OPEN_MS).contains(&ms) {
            return Err(Error::invalid("open for", "an hour to two weeks"));
        }
        self.vault.with_tx(|tx| {
            let now = Utc::now();
            let m = collective::membership(tx, collective)?;
            if !m.stewards.contains(&m.me) {
                return Err(PulseError::NotASteward.into());
            }
            let sealed = start_in(
                tx,
                collective,
                &m,
                (PulseId::new(), rand::random()),
                now,
                open_for,
            )?;
            Ok(StartedPulse {
                pulse: view(tx, sealed.0, now)?,
                sealed: sealed.1,
            })
        })
    }

    /// My answer: split into shares, one sealed to each tallier. Once
    /// sent it cannot be changed, and my vault keeps only that I answered.
    pub fn answer(&self, pulse: PulseId, answer: &PulseAnswer) -> Result<Vec<Sealed>> {
        if answer.check_in.is_some() && answer.capacity != Capacity::Red {
            return Err(PulseError::CheckInNeedsRed.into());
        }
        if let Some(note) = answer.check_in.as_ref().and_then(|c| c.note.as_deref())
            && !wire::note_fits(note)
        {
            return Err(Error::invalid("note", "1 to 280 characters"));
        }
        self.vault.with_tx(|tx| {
            let now = Utc::now();
            let stored = store::pulse(tx, pulse)?.ok_or(Error::NotFound { what: "pulse" })?;
            let start = &stored.start;
            let m = collective::membership(tx, start.collective)?;
            if stored.answered_at.is_some() {
                return Err(PulseError::AlreadyAnswered.into());
            }
            if now >= start.closes_at || stored.outcome.is_some() {
                return Err(PulseError::Closed.into());
            }
            let mut vector = zeroize::Zeroizing::new([0; shares::WIDTH]);
            vector[answer.capacity.index()] = 1;
            if let Some(mood) = self.mood(tx, answer.mood, start.mood_steps)? {
                vector[3] = 1;
                vector[4] = mood.into();
            }
            let mut sealed = Vec::new();
            for (tallier, share) in start
                .talliers
                .iter()
                .zip(shares::split(&vector, start.talliers.len()))
            {
                if *tallier == m.me {
                    store::put_share(tx, pulse, start.collective, &m.me, &share, now)?;
                    continue;
                }
                let peers = comrades::peers_for_keys(tx, &[*tallier])?;
                if peers.is_empty() {
                    return Err(PulseError::TallierUnreachable.into());
                }
                let body = Share {
                    collective: start.collective,
                    pulse,
                    share,
                }
                .to_bytes();
                let expires = start.closes_at + TALLY_WAIT;
                let outgoing = Outgoing {
                    kind: kinds::PULSE_SHARE,
                    body: &body,
                    to: &[],
                    expires_at: Some(expires),
                };
                sealed.push(envelope::seal_in(
                    tx,
                    peers,
                    &outgoing,
                    Some(&shares_subject(pulse)),
                )?);
            }
            store::set_answered(tx, pulse, now)?;
            if let Some(check_in) = &answer.check_in {
                sealed.push(send_check_in(tx, check_in)?);
            }
            sealed.extend(tally::advance(tx, pulse, now)?);
            Ok(sealed)
        })
    }

    /// One pulse, as my vault holds it.
    pub fn get(&self, pulse: PulseId) -> Result<Pulse> {
        self.vault.with_conn(|conn| view(conn, pulse, Utc::now()))
    }

    /// A collective's pulses, newest first: its history. Totals only.
    pub fn list(&self, collective: CollectiveId) -> Result<Vec<Pulse>> {
        self.vault.with_conn(|conn| {
            collective::membership(conn, collective)?;
            let now = Utc::now();
            store::ids_of(conn, collective)?
                .into_iter()
                .map(|id| view(conn, id, now))
                .collect()
        })
    }

    /// What is due by `now`: talliers list and sum, silent ones time out.
    /// Unlocking does it; apps that stay unlocked may call it.
    pub fn tend(&self) -> Result<Vec<Sealed>> {
        self.tend_at(Utc::now())
    }

    /// [`Pulses::tend`], as if it were `now`: tests and simulations.
    pub fn tend_at(&self, now: DateTime<Utc>) -> Result<Vec<Sealed>> {
        self.vault.with_tx(|tx| tally::due(tx, now))
    }

    /// A mood on the collective's scale of `steps`, or none.
    fn mood(&self, conn: &Connection, mood: PulseMood, steps: u8) -> Result<Option<u8>> {
        match mood {
            PulseMood::Skip => Ok(None),
            PulseMood::Given { value } if (1..=steps).contains(&value) => Ok(Some(value)),
            PulseMood::Given { .. } => Err(PulseError::MoodOffScale { steps }.into()),
            PulseMood::FromJournal { day } => {
                let (mean, mine) = (self.mood_of_day)(conn, day)?.ok_or(PulseError::NoMoodToday)?;
                Ok(Some(on_scale(mean, mine, steps)))
            }
        }
    }
}

/// A mean mood on my scale of `mine` steps, on a scale of `steps`.
fn on_scale(mean: f64, mine: u8, steps: u8) -> u8 {
    let fraction = (mean - 1.0) / f64::from(mine.max(2) - 1);
    let value = 1.0 + fraction.clamp(0.0, 1.0) * f64::from(steps - 1);
    value.round() as u8
}

/// Starts a pulse `id`, its talliers drawn by `seed`, and tells the members.
fn start_in(
    tx: &Connection,
    collective: CollectiveId,
    m: &collective::Membership,
    (id, seed): (PulseId, [u8; 32]),
    now: DateTime<Utc>,
    open_for: Duration,
) -> Result<(PulseId, Vec<Sealed>)> {
    let threshold = m.settings.pulse.threshold;
    if m.members.len() < usize::from(threshold) {
        return Err(PulseError::TooFewMembers {
            members: m.members.len() as u32,
            threshold,
        }
        .into());
    }
    let start = Start {
        collective,
        pulse: id,
        started_at: now,
        closes_at: now + open_for,
        threshold,
        mood_steps: m.settings.pulse.mood_steps,
        talliers: draw_talliers(&m.members, &seed),
    };
    store::insert(tx, &start)?;
    let others: Vec<IdentityKey> = m.members.iter().copied().filter(|k| *k != m.me).collect();
    let expires = start.closes_at + TALLY_WAIT;
    let sealed = seal_each(tx, &others, kinds::PULSE_START, &start.to_bytes(), expires)?;
    Ok((id, sealed))
}

/// `body` to each of the comrades among `keys`, an envelope each: every
/// recipient of a shared envelope tries every stanza, so one to 59 costs
/// each of them about what 59 of their own would (`benches/pulse.rs`).
fn seal_each(
    tx: &Connection,
    keys: &[IdentityKey],
    kind: &str,
    body: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<Vec<Sealed>> {
    comrades::peers_for_keys(tx, keys)?
        .into_iter()
        .map(|peer| seal(tx, vec![peer], kind, body, Some(expires_at)))
        .collect()
}

/// [`TALLIERS`] members, ordered by SHA-256 of the seed and their key: a
/// draw nobody steers who does not choose the seed.
fn draw_talliers(
    members: &std::collections::BTreeSet<IdentityKey>,
    seed: &[u8; 32],
) -> Vec<IdentityKey> {
    let mut drawn: Vec<([u8; 32], IdentityKey)> = members
        .iter()
        .map(|k| {
            let place = Sha256::new()
                .chain_update(b"tend pulse talliers v1")
                .chain_update(seed)
                .chain_update(k.as_bytes())
                .finalize()
                .into();
            (place, *k)
        })
        .collect();
    drawn.sort();
    drawn.into_iter().take(TALLIERS).map(|(_, k)| k).collect()
}

/// The pulse a collective's month starts by itself: the same id and
/// talliers at every steward's vault, so two stewards start one pulse.
fn monthly(collective: CollectiveId, month: &str) -> (PulseId, [u8; 32]) {
    let seed: [u8; 32] = Sha256::new()
        .chain_update(b"tend pulse monthly v1")
        .chain_update(collective.0)
        .chain_update(month.as_bytes())
        .finalize()
        .into();
    let id = uuid::Builder::from_custom_bytes(seed[..16].try_into().expect("16 of 32 bytes"))
        .into_uuid();
    (PulseId(id), seed)
}

/// What my share envelopes of a pulse are filed under in the outbox:
/// they are sealed to me too, so they go once the pulse is decided.
fn shares_subject(pulse: PulseId) -> String {
    format!("pulse shares {pulse}")
}

/// The pulse is decided: its outcome kept, every share, list and sum
/// deleted, and my own shares' outbox copies with them.
fn conclude(tx: &Connection, pulse: PulseId, outcome: Outcome, now: DateTime<Utc>) -> Result<()> {
    store::decide(tx, pulse, outcome, now)?;
    envelope::forget_outbox_about(tx, &shares_subject(pulse)).map(drop)
}

fn seal(
    tx: &Connection,
    peers: Vec<comrades::Peer>,
    kind: &str,
    body: &[u8],
    expires_at: Option<DateTime<Utc>>,
) -> Result<Sealed> {
    envelope::seal_in(
        tx,
        peers,
        &Outgoing {
            kind,
            body,
            to: &[],
            expires_at,
        },
        Some("pulse"),
    )
}

fn send_check_in(tx: &Connection, check_in: &CheckIn) -> Result<Sealed> {
    let comrade = comrades::by_id(tx, check_in.comrade)?;
    let peers = comrades::peers_for_keys(tx, &[comrade.identity_key])?;
    if peers.is_empty() {
        return Err(Error::invalid("check-in", "that comrade is blocked"));
    }
    let body = wire::bytes(&CheckInBody {
        v: 1,
        note: check_in.note.clone(),
    });
    seal(tx, peers, kinds::PULSE_CHECK_IN, &body, None)
}

/// For the tests' lying tallier: a share nobody sent.
#[cfg(feature = "testing")]
pub(crate) fn made_up_share(tx: &Connection, pulse: PulseId, member: IdentityKey) -> Result<()> {
    let stored = store::pulse(tx, pulse)?.ok_or(Error::NotFound { what: "pulse" })?;
    let share = [1, 2, 3, 4, 5];
    store::put_share(
        tx,
        pulse,
        stored.start.collective,
        &member,
        &share,
        Utc::now(),
    )
    .map(drop)
}

/// For the tests' lying tallier: a share it held, gone.
#[cfg(feature = "testing")]
pub(crate) fn drop_share(tx: &Connection, pulse: PulseId, member: IdentityKey) -> Result<()> {
    store::drop_share(tx, pulse, &member)
}

/// A pulse as the app sees it, at `now`.
fn view(conn: &Connection, id: PulseId, now: DateTime<Utc>) -> Result<Pulse> {
    let stored = store::pulse(conn, id)?.ok_or(Error::NotFound { what: "pulse" })?;
    let me = identity::identity_key(conn)?;
    let start = stored.start;
    let state = match stored.outcome {
        Some(outcome) => outcome.state(start.threshold),
        None if now > start.closes_at + TALLY_WAIT => PulseState::Failed {
            reason: PulseFailure::TalliersSilent,
        },
        None if now < start.closes_at && stored.counting.is_none() => PulseState::Open,
        None => PulseState::Counting,
    };
    Ok(Pulse {
        id,
        collective: start.collective,
        started_at: start.started_at,
        closes_at: start.closes_at,
        threshold: start.threshold,
        mood_steps: start.mood_steps,
        answered: stored.answered_at.is_some(),
        i_tally: start.talliers.contains(&me),
        state,
    })
}

/// An outcome my vault decided and keeps: totals, or why there are none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Totals {
        answers: u64,
        counts: shares::Counts,
    },
    TooFew {
        answers: u64,
    },
    Failed(PulseFailure),
}

impl Outcome {
    fn state(self, threshold: u8) -> PulseState {
        match self {
            Outcome::Totals { answers, counts } => PulseState::Shown {
                totals: PulseTotals {
                    answers: answers as u32,
                    green: counts.green as u32,
                    yellow: counts.yellow as u32,
                    red: counts.red as u32,
                    moods: counts.moods as u32,
                    mean_mood: (counts.moods >= u64::from(threshold))
                        .then(|| counts.mood_sum as f64 / counts.moods as f64),
                },
            },
            Outcome::TooFew { answers } => PulseState::TooFew {
                answers: answers as u32,
            },
            Outcome::Failed(reason) => PulseState::Failed { reason },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_mood_lands_on_the_collectives_scale() {
        assert_eq!(on_scale(1.0, 5, 5), 1);
        assert_eq!(on_scale(5.0, 5, 5), 5);
        assert_eq!(on_scale(3.0, 5, 5), 3);
        assert_eq!(on_scale(10.0, 10, 5), 5);
        assert_eq!(on_scale(2.5, 3, 10), 8);
        assert_eq!(on_scale(1.0, 3, 3), 1);
    }

    #[test]
    fn talliers_are_drawn_by_the_seed_alone() {
        let members: std::collections::BTreeSet<IdentityKey> =
            (1..=7u8).map(|i| IdentityKey([i; 32])).collect();
        let a = draw_talliers(&members, &[1; 32]);
        assert_eq!(a.len(), TALLIERS);
        assert_eq!(a, draw_talliers(&members, &[1; 32]));
        let draws: std::collections::BTreeSet<_> = (0..20u8)
            .map(|s| draw_talliers(&members, &[s; 32]))
            .collect();
        assert!(draws.len() > 10, "seeds draw different talliers");
        let (id, seed) = monthly(CollectiveId([4; 16]), "2026-12");
        assert_eq!((id, seed), monthly(CollectiveId([4; 16]), "2026-12"));
        assert_ne!(id, monthly(CollectiveId([4; 16]), "2027-01").0);
    }
}
