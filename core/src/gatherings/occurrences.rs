//! Occurrences and reminders, computed from loaded gatherings.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

use super::model::{Occurrence, Reminder, ReminderOffset};
use super::recurrence::resolve;
use super::store::Loaded;

/// A rule's start that has not been cancelled: where and how long it is now.
struct Slot {
    original: NaiveDateTime,
    local: NaiveDateTime,
    duration: Duration,
    moved: bool,
}

impl Loaded {
    fn slot(&self, original: NaiveDateTime) -> Option<Slot> {
        if self.cancelled.contains(&original) {
            return None;
        }
        let moved = self.moved.get(&original);
        Some(Slot {
            original,
            local: moved.map_or(original, |m| m.to),
            duration: moved
                .and_then(|m| m.duration)
                .unwrap_or(self.gathering.duration),
            moved: moved.is_some(),
        })
    }

    fn starts_at(&self, local: NaiveDateTime) -> DateTime<Utc> {
        resolve(local, self.schedule.zone()).with_timezone(&Utc)
    }

    fn occurrence(&self, slot: &Slot) -> Occurrence {
        let starts_at = self.starts_at(slot.local);
        let (rsvp, note) = self
            .rsvps
            .get(&slot.original)
            .cloned()
            .unwrap_or((None, None));
        Occurrence {
            gathering: self.gathering.id,
            title: self.gathering.title.clone(),
            kind: self.gathering.kind,
            original_start: slot.original,
            starts_at,
            ends_at: starts_at + slot.duration,
            local_start: slot.local,
            time_zone: self.gathering.time_zone.clone(),
            moved: slot.moved,
            rsvp,
            note,
            totals: self
                .totals
                .as_ref()
                .map(|t| t.get(&slot.original).copied().unwrap_or_default()),
        }
    }

    /// Rule starts whose occurrence may start at or after `from`, in rule
    /// order; moved ones come separately, from [`Loaded::moved_slots`].
    fn slots_from(&self, from: DateTime<Utc>) -> impl Iterator<Item = Slot> + '_ {
        let zone = self.schedule.zone();
        // A day of slack covers any UTC offset.
        let local_from = from.with_timezone(&zone).naive_local() - Duration::days(1);
        self.schedule
            .local_starts_from(local_from)
            .filter(|s| !self.moved.contains_key(s))
            .filter_map(|s| self.slot(s))
    }

    fn moved_slots(&self) -> impl Iterator<Item = Slot> + '_ {
        self.moved
            .keys()
            .filter(|original| self.schedule.has_start(**original))
            .filter_map(|original| self.slot(*original))
    }

    /// Occurrences overlapping `[from, to)`, in start order.
    pub(crate) fn occurrences(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        cap: usize,
    ) -> Vec<Occurrence> {
        let mut out: Vec<Occurrence> = self
            .slots_from(from - Duration::days(7))
            .take_while(|slot| self.starts_at(slot.local) < to)
            .chain(self.moved_slots())
            .map(|slot| self.occurrence(&slot))
            .filter(|o| o.ends_at > from && o.starts_at < to)
            .take(cap)
            .collect();
        out.sort_by_key(|o| o.starts_at);
        out
    }

    fn fires_at(&self, slot: &Slot, offset: ReminderOffset) -> DateTime<Utc> {
        let local = slot.local - Duration::days(offset.days as i64);
        self.starts_at(local) - Duration::minutes(offset.minutes as i64)
    }

    fn reminder(&self, slot: &Slot, offset: ReminderOffset) -> Reminder {
        Reminder {
            fires_at: self.fires_at(slot, offset),
            gathering: Some(self.gathering.id),
            collective: None,
            title: self.gathering.title.clone(),
            original_start: slot.original,
            starts_at: self.starts_at(slot.local),
            offset,
        }
    }

    /// Reminders firing at or after `now`, at most `n`, none later than
    /// `bound` when one is given. Unsorted.
    pub(crate) fn reminders(
        &self,
        now: DateTime<Utc>,
        n: usize,
        bound: Option<DateTime<Utc>>,
        out: &mut Vec<Reminder>,
    ) {
        let offsets = &self.gathering.reminders;
        let Some(longest) = offsets.iter().map(|o| o.at_most()).max() else {
            return;
        };
        let push = |slot: &Slot, out: &mut Vec<Reminder>| {
            for offset in offsets {
                let r = self.reminder(slot, *offset);
                if r.fires_at >= now && bound.is_none_or(|b| r.fires_at <= b) {
                    out.push(r);
                }
            }
        };
        // Every start at least `longest` after `now` fires all its offsets,
        // so n + 1 starts after `now` are always enough.
        let mut ahead = 0;
        for slot in self.slots_from(now) {
            let start = self.starts_at(slot.local);
            if start < now {
                continue;
            }
            ahead += 1;
            if ahead > n + 1 || bound.is_some_and(|b| start - longest > b) {
                break;
            }
            push(&slot, out);
        }
        for slot in self.moved_slots() {
            if self.starts_at(slot.local) >= now {
                push(&slot, out);
            }
        }
    }
}
