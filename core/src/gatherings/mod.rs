//! Gatherings: the group's monthly restorative gathering, meetings and
//! actions. Recurrence in wall-clock time, single occurrences cancelled or
//! moved, RSVPs, and the reminders an app schedules. See `docs/gatherings.md`.

mod collectives;
mod ics;
mod invites;
mod model;
mod occurrences;
mod recurrence;
mod round;
mod rule_text;
mod store;
mod vtimezone;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;
use rusqlite::params;

pub use crate::time::{local_text as local_time_text, parse_local_time};
pub(crate) use collectives::follow_collectives;
#[cfg(feature = "testing")]
pub(crate) use ics::check_ics;
pub use ics::{IcsImport, MAX_ICS_BYTES, MAX_ICS_EVENTS};
pub(crate) use invites::GatheringKinds;
pub use invites::{Attendee, GatheringError};
pub use model::{
    AttendanceTotals, Gathering, GatheringId, GatheringKind, NewGathering, Occurrence,
    RESTORATIVE_DESCRIPTION, Reminder, ReminderOffset, Rsvp,
};
pub use recurrence::{MAX_EXPANSION, MAX_RULE_BYTES, Schedule};
pub(crate) use round::at_unlock as rounds_at_unlock;
pub use round::{MAX_LINE_CHARS, ROUND_KEPT, Round, RoundLine, Said};

use crate::time::local_text;
use crate::{Error, Result, Vault};

/// The envelope kinds of gatherings shared with invitees, and their answers:
/// `docs/gatherings.md`.
pub mod kinds {
    pub const GATHERING_INVITE: &str = "gathering.invite";
    pub const GATHERING_UPDATE: &str = "gathering.update";
    pub const GATHERING_RSVP: &str = "gathering.rsvp";
    /// The greeting round: a sealed line, to the organiser.
    pub const GATHERING_ROUND_LINE: &str = "gathering.round.line";
    /// Every line of a round, fixed, and the keys released so far, to those going.
    pub const GATHERING_ROUND_OPEN: &str = "gathering.round.open";
    /// An attendee's line key, to the organiser once the round opened.
    pub const GATHERING_ROUND_KEY: &str = "gathering.round.key";
}

/// Reminders one call returns at most; iOS keeps 64 pending.
pub const MAX_REMINDERS: usize = 1000;
const MAX_NOTE_CHARS: usize = 500;

/// The gatherings in a vault. Borrow it with [`Vault::gatherings`].
pub struct Gatherings<'v> {
    vault: &'v Vault,
}

impl Vault {
    pub fn gatherings(&self) -> Gatherings<'_> {
        Gatherings { vault: self }
    }
}

/// The first `count` starts of a rule, as instants in its zone: what
/// `tend gatherings expand` prints. Needs no vault.
pub fn expand(
    start: NaiveDateTime,
    zone: &str,
    rule: Option<&str>,
    count: usize,
) -> Result<Vec<DateTime<Tz>>> {
    if count > MAX_EXPANSION {
        return Err(Error::invalid("count", "at most 10,000"));
    }
    let schedule = Schedule::new(start, zone, rule)?;
    Ok(schedule
        .local_starts_from(schedule.start())
        .take(count)
        .map(|local| schedule.instant(local))
        .collect())
}

impl Gatherings<'_> {
    pub fn add(&self, gathering: NewGathering) -> Result<Gathering> {
        let schedule = gathering.check()?;
        self.vault.with_tx(|tx| {
            let seq = store::insert(
                tx,
                &gathering,
                &schedule,
                Utc::now().timestamp_millis(),
                None,
            )?;
            store::load(tx, seq)
        })
    }

    /// Replaces a gathering's content. Cancelled and moved occurrences, and
    /// RSVPs, stay with the starts they name: if the new schedule no longer
    /// has that start, they no longer apply.
    pub fn update(&self, id: GatheringId, gathering: NewGathering) -> Result<Gathering> {
        let schedule = gathering.check()?;
        self.vault.with_tx(|tx| {
            let seq = store::seq_of(tx, id)?;
            invites::ensure_mine(tx, seq)?;
            store::update(
                tx,
                seq,
                &gathering,
                &schedule,
                Utc::now().timestamp_millis(),
            )?;
            invites::announce(tx, seq, false)?;
            store::load(tx, seq)
        })
    }

    /// Deletes my gathering (invitees are told it is called off), or my
    /// copy of one I was invited to.
    pub fn delete(&self, id: GatheringId) -> Result<()> {
        self.vault.with_tx(|tx| {
            let seq = store::seq_of(tx, id)?;
            invites::announce(tx, seq, true)?;
            tx.execute("DELETE FROM gatherings WHERE seq = ?1", [seq])?;
            Ok(())
        })
    }

    pub fn get(&self, id: GatheringId) -> Result<Gathering> {
        self.vault
            .with_conn(|conn| store::load(conn, store::seq_of(conn, id)?))
    }

    /// In the order they were added.
    pub fn list(&self) -> Result<Vec<Gathering>> {
        self.vault
            .with_conn(|conn| Ok(store::list(conn)?.into_iter().map(|(_, g)| g).collect()))
    }

    /// Skips one occurrence (RFC 5545 EXDATE).
    pub fn cancel_occurrence(&self, id: GatheringId, original_start: NaiveDateTime) -> Result<()> {
        self.set_override(id, original_start, true, None, None)
    }

    /// Moves one occurrence to a new local start, and optionally a new length.
    pub fn move_occurrence(
        &self,
        id: GatheringId,
        original_start: NaiveDateTime,
        to: NaiveDateTime,
        duration: Option<Duration>,
    ) -> Result<()> {
        if duration.is_some_and(|d| d < Duration::minutes(1) || d > Duration::days(7)) {
            return Err(Error::invalid("duration", "1 minute to 7 days"));
        }
        model::on_the_minute(to, "new start")?;
        self.set_override(id, original_start, false, Some(to), duration)
    }

    /// Undoes a cancellation or a move.
    pub fn restore_occurrence(&self, id: GatheringId, original_start: NaiveDateTime) -> Result<()> {
        self.with_occurrence(id, original_start, |tx, seq, key| {
            invites::ensure_mine(tx, seq)?;
            tx.execute(
                "DELETE FROM gathering_overrides WHERE gathering = ?1 AND original_start = ?2",
                params![seq, key],
            )?;
            invites::announce(tx, seq, false)?;
            Ok(())
        })
    }

    /// My answer and private note for one occurrence; `None` clears either.
    /// For a gathering I was invited to, the answer (never the note) goes
    /// to its organiser; for my shared one, new totals go to invitees.
    pub fn rsvp(
        &self,
        id: GatheringId,
        original_start: NaiveDateTime,
        response: Option<Rsvp>,
        note: Option<&str>,
    ) -> Result<()> {
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
            return Err(Error::invalid("note", "at most 500 characters"));
        }
        self.with_occurrence(id, original_start, |tx, seq, key| {
            tx.execute(
                "INSERT INTO gathering_rsvps (gathering, original_start, response, note)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (gathering, original_start)
                 DO UPDATE SET response = excluded.response, note = excluded.note",
                params![seq, key, response.map(Rsvp::code), note],
            )?;
            invites::send_rsvp(tx, seq, original_start, response)?;
            Ok(())
        })
    }

    /// Occurrences of every gathering that overlap `[from, to)`, by start.
    /// Cancelled ones are left out; moved ones appear at their new time.
    pub fn occurrences(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Occurrence>> {
        if to < from {
            return Err(Error::invalid("range", "ends before it starts"));
        }
        let loaded = self.vault.with_conn(store::load_all_with_totals)?;
        let mut all: Vec<Occurrence> = loaded
            .iter()
            .flat_map(|l| l.occurrences(from, to, MAX_EXPANSION))
            .collect();
        all.sort_by_key(|o| o.starts_at);
        all.truncate(MAX_EXPANSION);
        Ok(all)
    }

    /// The next `n` reminders across all gatherings, firing at or after
    /// `now`, soonest first: what an app hands to the system's notification
    /// scheduler (iOS keeps at most 64 pending).
    pub fn next_reminders(&self, now: DateTime<Utc>, n: usize) -> Result<Vec<Reminder>> {
        if n > MAX_REMINDERS {
            return Err(Error::invalid("count", "at most 1,000 reminders"));
        }
        let (loaded, reviews) = self
            .vault
            .with_conn(|conn| Ok((store::load_all(conn)?, crate::collective::reviews(conn)?)))?;
        let mut found: Vec<Reminder> = reviews
            .into_iter()
            .flat_map(|(id, name, day)| Reminder::of_review(id, &name, day))
            .filter(|r| r.fires_at >= now)
            .collect();
        found.sort_by_key(|r| (r.fires_at, r.starts_at));
        found.truncate(n);
        let mut bound = (found.len() == n)
            .then(|| found.last().map(|r| r.fires_at))
            .flatten();
        for l in &loaded {
            l.reminders(now, n, bound, &mut found);
            found.sort_by_key(|r| (r.fires_at, r.starts_at));
            found.truncate(n);
            if found.len() == n {
                bound = found.last().map(|r| r.fires_at);
            }
        }
        Ok(found)
    }

    fn set_override(
        &self,
        id: GatheringId,
        original_start: NaiveDateTime,
        cancelled: bool,
        moved_to: Option<NaiveDateTime>,
        duration: Option<Duration>,
    ) -> Result<()> {
        self.with_occurrence(id, original_start, |tx, seq, key| {
            invites::ensure_mine(tx, seq)?;
            tx.execute(
                "INSERT INTO gathering_overrides (gathering, original_start, cancelled, moved_to, duration_s)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (gathering, original_start) DO UPDATE
                 SET cancelled = excluded.cancelled, moved_to = excluded.moved_to,
                     duration_s = excluded.duration_s",
                params![seq, key, cancelled, moved_to.map(local_text), duration.map(|d| d.num_seconds())],
            )?;
            tx.execute(
                "UPDATE gatherings SET updated_at = ?2 WHERE seq = ?1",
                params![seq, Utc::now().timestamp_millis()],
            )?;
            invites::announce(tx, seq, false)?;
            Ok(())
        })
    }

    /// Runs `change` for an occurrence the schedule really has.
    fn with_occurrence(
        &self,
        id: GatheringId,
        original_start: NaiveDateTime,
        change: impl FnOnce(&rusqlite::Connection, i64, String) -> Result<()>,
    ) -> Result<()> {
        self.vault.with_tx(|tx| {
            let seq = store::seq_of(tx, id)?;
            let g = store::load(tx, seq)?;
            let schedule = Schedule::stored(g.starts_at, &g.time_zone, g.recurrence.as_deref())?;
            if !schedule.has_start(original_start) {
                return Err(Error::NotFound { what: "occurrence" });
            }
            change(tx, seq, local_text(original_start))
        })
    }
}
