//! Counting a pulse. A tallier lists whose shares it holds once every
//! member answered or the pulse closed (`pulse.count`, to the other
//! talliers); once it holds every tallier's list it sums its shares of
//! the members on all of them (`pulse.sum`, to everyone). Every vault
//! that holds all the sums adds them up and checks the result.
//!
//! Only sums over one agreed set of members are ever sent: a tallier that
//! left someone off its list learns nothing from a second sum without them.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, Utc};
use rusqlite::Connection;

use super::shares::{self, WIDTH};
use super::store::{self, Stage, Stored};
use super::wire::Tally;
use super::{
    Outcome, PulseFailure, PulseId, TALLY_WAIT, conclude, kinds, monthly, seal_each, start_in,
};
use crate::Result;
use crate::collective::{self, CollectiveId};
use crate::comrades::IdentityKey;
use crate::envelope::Sealed;

/// Shares and tallies of a pulse never heard of are dropped after this.
const STRAYS_KEPT: Duration = Duration::days(30);

/// Whatever the pulse can do next at my vault: list, sum, decide.
pub(super) fn advance(tx: &Connection, id: PulseId, now: DateTime<Utc>) -> Result<Vec<Sealed>> {
    let Some(stored) = store::pulse(tx, id)? else {
        return Ok(Vec::new());
    };
    if stored.outcome.is_some() {
        return Ok(Vec::new());
    }
    let Ok(m) = collective::membership(tx, stored.start.collective) else {
        return Ok(Vec::new());
    };
    let mut sealed = Vec::new();
    if stored.start.talliers.contains(&m.me) {
        if stored.counting.is_none() {
            sealed.extend(count(tx, &stored, &m, now)?);
        }
        if stored.summed.is_none() {
            sealed.extend(sum(tx, &stored, &m, now)?);
        }
    }
    decide(tx, &stored, now)?;
    Ok(sealed)
}

/// My list, once every member answered or the pulse closed.
fn count(
    tx: &Connection,
    stored: &Stored,
    m: &collective::Membership,
    now: DateTime<Utc>,
) -> Result<Vec<Sealed>> {
    let start = &stored.start;
    let held: BTreeSet<IdentityKey> = store::shares(tx, start.pulse, start.collective)?
        .into_iter()
        .map(|(member, _)| member)
        .filter(|member| m.members.contains(member))
        .collect();
    if held.len() < m.members.len() && now < start.closes_at {
        return Ok(Vec::new());
    }
    let tally = Tally {
        collective: start.collective,
        pulse: start.pulse,
        counted: held.into_iter().collect(),
        sums: None,
    };
    store::put_tally(tx, Stage::Count, &m.me, &tally, now)?;
    store::set_counted(tx, start.pulse, now)?;
    let others: Vec<IdentityKey> = start
        .talliers
        .iter()
        .copied()
        .filter(|t| *t != m.me)
        .collect();
    to(tx, &others, kinds::PULSE_COUNT, &tally, start.closes_at)
}

/// My sums over the members on every tallier's list, once I hold them all.
fn sum(
    tx: &Connection,
    stored: &Stored,
    m: &collective::Membership,
    now: DateTime<Utc>,
) -> Result<Vec<Sealed>> {
    let start = &stored.start;
    let lists = from_talliers(tx, stored, Stage::Count)?;
    let Some(lists) = lists else {
        return Ok(Vec::new());
    };
    let mut agreed: BTreeSet<IdentityKey> = lists[0].counted.iter().copied().collect();
    for list in &lists[1..] {
        let other: BTreeSet<IdentityKey> = list.counted.iter().copied().collect();
        agreed = &agreed & &other;
    }
    let mine = store::shares(tx, start.pulse, start.collective)?;
    let sums = (agreed.len() >= usize::from(start.threshold)).then(|| {
        mine.iter()
            .filter(|(member, _)| agreed.contains(member))
            .fold([0; WIDTH], |acc, (_, share)| shares::add(&acc, share))
    });
    let tally = Tally {
        collective: start.collective,
        pulse: start.pulse,
        counted: agreed.into_iter().collect(),
        sums,
    };
    store::put_tally(tx, Stage::Sum, &m.me, &tally, now)?;
    store::set_summed(tx, start.pulse, now)?;
    let others: Vec<IdentityKey> = m.members.iter().copied().filter(|k| *k != m.me).collect();
    to(tx, &others, kinds::PULSE_SUM, &tally, start.closes_at)
}

/// Every tallier's tally of `stage`, in the pulse's order of talliers;
/// `None` until all are in.
fn from_talliers(tx: &Connection, stored: &Stored, stage: Stage) -> Result<Option<Vec<Tally>>> {
    let mut held = store::tallies(tx, &stored.start, stage)?;
    let mut out = Vec::with_capacity(stored.start.talliers.len());
    for tallier in &stored.start.talliers {
        match held.iter().position(|(from, _)| from == tallier) {
            Some(i) => out.push(held.swap_remove(i).1),
            None => return Ok(None),
        }
    }
    Ok(Some(out))
}

/// The outcome, once every tallier's sums are in: totals only when the
/// sums agree on whom they cover, that is at least the threshold, and
/// they add up to a possible total.
fn decide(tx: &Connection, stored: &Stored, now: DateTime<Utc>) -> Result<()> {
    let start = &stored.start;
    let Some(sums) = from_talliers(tx, stored, Stage::Sum)? else {
        return Ok(());
    };
    let covered = &sums[0].counted;
    let answers = covered.len() as u64;
    let enough = covered.len() >= usize::from(start.threshold);
    let agree = sums
        .iter()
        .all(|s| s.counted == *covered && s.sums.is_some() == enough);
    let outcome = if !agree {
        Outcome::Failed(PulseFailure::TalliesDisagree)
    } else if !enough {
        Outcome::TooFew { answers }
    } else {
        let total = sums
            .iter()
            .filter_map(|s| s.sums.as_ref())
            .fold([0; WIDTH], |acc, s| shares::add(&acc, s));
        match shares::counts(&total, answers, start.mood_steps) {
            Some(counts) => Outcome::Totals { answers, counts },
            None => Outcome::Failed(PulseFailure::TalliesDisagree),
        }
    };
    conclude(tx, start.pulse, outcome, now)
}

/// Seals `tally` to each of the members among `keys` whose cards I hold.
fn to(
    tx: &Connection,
    keys: &[IdentityKey],
    kind: &str,
    tally: &Tally,
    closes_at: DateTime<Utc>,
) -> Result<Vec<Sealed>> {
    let expires = closes_at + TALLY_WAIT + TALLY_WAIT;
    seal_each(tx, keys, kind, &tally.to_bytes(), expires)
}

/// What is due at `now`: closed pulses are counted, silent ones fail,
/// a month's pulse starts where the collective asks for one, and what
/// belongs to no collective of mine is deleted.
pub(super) fn due(tx: &Connection, now: DateTime<Utc>) -> Result<Vec<Sealed>> {
    for collective in store::collectives(tx)? {
        if collective::settings_of(tx, collective)?.is_none() {
            store::forget_collective(tx, collective)?;
        }
    }
    store::forget_strays(tx, now - STRAYS_KEPT)?;
    let mut sealed = Vec::new();
    for id in store::undecided(tx)? {
        sealed.extend(advance(tx, id, now)?);
        if let Some(stored) = store::pulse(tx, id)?
            && stored.outcome.is_none()
            && now > stored.start.closes_at + TALLY_WAIT
        {
            conclude(tx, id, Outcome::Failed(PulseFailure::TalliersSilent), now)?;
        }
    }
    for collective in collective::ids(tx)? {
        sealed.extend(start_monthly(tx, collective, now)?);
    }
    Ok(sealed)
}

/// A steward's vault starts the month's pulse of a collective that asks
/// for one, unless a pulse started this month already.
fn start_monthly(
    tx: &Connection,
    collective: CollectiveId,
    now: DateTime<Utc>,
) -> Result<Vec<Sealed>> {
    let Ok(m) = collective::membership(tx, collective) else {
        return Ok(Vec::new());
    };
    let month_began = now
        .date_naive()
        .with_day(1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .unwrap_or(now);
    let started = store::latest_start(tx, collective)?;
    if !m.settings.pulse.monthly
        || !m.stewards.contains(&m.me)
        || m.members.len() < usize::from(m.settings.pulse.threshold)
        || started.is_some_and(|at| at >= month_began)
    {
        return Ok(Vec::new());
    }
    let month = format!("{:04}-{:02}", now.year(), now.month());
    Ok(start_in(
        tx,
        collective,
        &m,
        monthly(collective, &month),
        now,
        super::OPEN_FOR,
    )?
    .1)
}

/// At unlock: what is due now.
pub(crate) fn at_unlock(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    due(conn, now).map(drop)
}
