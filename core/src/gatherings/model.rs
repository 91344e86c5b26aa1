//! What a gathering is, and the preset for the monthly restorative gathering.

use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

use super::recurrence::Schedule;
use crate::collective::CollectiveId;
use crate::redact::{MaybeText, Text};
use crate::{Error, Result};

crate::id::uuid_id!(GatheringId, "gathering id");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum GatheringKind {
    RestorativeGathering,
    Meeting,
    Action,
    Social,
    Other,
}

impl GatheringKind {
    pub fn code(self) -> &'static str {
        match self {
            GatheringKind::RestorativeGathering => "restorative_gathering",
            GatheringKind::Meeting => "meeting",
            GatheringKind::Action => "action",
            GatheringKind::Social => "social",
            GatheringKind::Other => "other",
        }
    }

    pub fn from_code(code: &str) -> Result<Self> {
        Ok(match code {
            "restorative_gathering" => GatheringKind::RestorativeGathering,
            "meeting" => GatheringKind::Meeting,
            "action" => GatheringKind::Action,
            "social" => GatheringKind::Social,
            "other" => GatheringKind::Other,
            _ => return Err(Error::invalid("kind", "not a gathering kind")),
        })
    }
}

/// How long before a start a reminder fires. Whole days count on the
/// gathering's calendar (a day before 18:00 is 18:00 the day before, even
/// across a daylight-saving change); minutes are exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ReminderOffset {
    pub days: u16,
    pub minutes: u16,
}

impl ReminderOffset {
    pub const fn days(days: u16) -> Self {
        ReminderOffset { days, minutes: 0 }
    }

    pub const fn minutes(minutes: u16) -> Self {
        ReminderOffset { days: 0, minutes }
    }

    /// The longest this offset can be, for bounding searches.
    pub(crate) fn at_most(self) -> Duration {
        Duration::days(self.days as i64)
            + Duration::hours(3)
            + Duration::minutes(self.minutes as i64)
    }
}

/// A gathering to add, or the new content when editing one.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NewGathering {
    pub title: String,
    pub kind: GatheringKind,
    pub description: String,
    pub location: String,
    /// Local wall-clock start of the first occurrence, in `time_zone`.
    pub starts_at: NaiveDateTime,
    /// An IANA zone name, such as `Europe/Berlin`.
    pub time_zone: String,
    pub duration: Duration,
    /// An RFC 5545 RRULE value, such as `FREQ=MONTHLY;BYDAY=1SA`.
    pub recurrence: Option<String>,
    pub reminders: Vec<ReminderOffset>,
}

impl fmt::Debug for NewGathering {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewGathering")
            .field("title", &Text(&self.title))
            .field("kind", &self.kind)
            .field("starts_at", &self.starts_at)
            .field("time_zone", &self.time_zone)
            .field("recurrence", &self.recurrence)
            .finish_non_exhaustive()
    }
}

pub const RESTORATIVE_DESCRIPTION: &str = "A calm, members-only evening. Each person brings \
something quiet to do alone: writing, drawing, crafting, reading. We begin with a short \
greeting round, then work side by side. Talking is welcome but stays secondary; nobody \
has to share anything.";

impl NewGathering {
    /// The monthly restorative gathering: first Saturday of each month,
    /// 18:00 for two hours, reminders a week and a day before. The first one
    /// is the first Saturday on or after `from`'s month start that is not
    /// before `from`.
    pub fn monthly_restorative(from: NaiveDate, time_zone: &str, location: &str) -> NewGathering {
        let mut month = from.with_day(1).unwrap_or(from);
        let first = loop {
            let saturday = (0..7)
                .map(|d| month + Duration::days(d))
                .find(|d| d.weekday() == Weekday::Sat)
                .unwrap_or(month);
            if saturday >= from {
                break saturday;
            }
            month = month
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(month);
        };
        NewGathering {
            title: "Monthly restorative gathering".into(),
            kind: GatheringKind::RestorativeGathering,
            description: RESTORATIVE_DESCRIPTION.into(),
            location: location.into(),
            starts_at: first.and_time(NaiveTime::from_hms_opt(18, 0, 0).unwrap_or_default()),
            time_zone: time_zone.into(),
            duration: Duration::hours(2),
            recurrence: Some("FREQ=MONTHLY;BYDAY=1SA".into()),
            reminders: vec![ReminderOffset::days(7), ReminderOffset::days(1)],
        }
    }

    /// Checks every field; the schedule comes back normalised.
    pub(crate) fn check(&self) -> Result<Schedule> {
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(Error::invalid("title", "1 to 200 characters"));
        }
        if self.description.chars().count() > 4000 {
            return Err(Error::invalid("description", "at most 4,000 characters"));
        }
        if self.location.chars().count() > 200 {
            return Err(Error::invalid("location", "at most 200 characters"));
        }
        if self.duration < Duration::minutes(1) || self.duration > Duration::days(7) {
            return Err(Error::invalid("duration", "1 minute to 7 days"));
        }
        if self.reminders.len() > 10 {
            return Err(Error::invalid("reminders", "at most 10"));
        }
        if self
            .reminders
            .iter()
            .any(|r| r.days > 28 || r.minutes >= 24 * 60)
        {
            return Err(Error::invalid("reminders", "at most 28 days before"));
        }
        on_the_minute(self.starts_at, "start")?;
        Schedule::new(self.starts_at, &self.time_zone, self.recurrence.as_deref())
    }
}

/// A gathering, as stored.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Gathering {
    pub id: GatheringId,
    pub title: String,
    pub kind: GatheringKind,
    pub description: String,
    pub location: String,
    /// The first occurrence's local start (normalised to the rule).
    pub starts_at: NaiveDateTime,
    pub time_zone: String,
    pub duration: Duration,
    pub recurrence: Option<String>,
    pub reminders: Vec<ReminderOffset>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Who invited me, as they were called then; `None` for my own. Only
    /// the organiser can change a gathering.
    pub organiser: Option<String>,
    /// The collective whose members it invites, if any.
    pub collective: Option<CollectiveId>,
    /// Whether its members' visitors see it, and may answer.
    pub visitors_welcome: bool,
}

impl fmt::Debug for Gathering {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gathering")
            .field("id", &self.id)
            .field("title", &Text(&self.title))
            .field("kind", &self.kind)
            .field("location", &MaybeText(Some(&self.location)))
            .field("starts_at", &self.starts_at)
            .field("time_zone", &self.time_zone)
            .field("recurrence", &self.recurrence)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Rsvp {
    Going,
    Maybe,
    NotGoing,
}

impl Rsvp {
    pub(crate) fn code(self) -> i64 {
        match self {
            Rsvp::Going => 0,
            Rsvp::Maybe => 1,
            Rsvp::NotGoing => 2,
        }
    }

    pub(crate) fn from_code(code: i64) -> Result<Self> {
        Ok(match code {
            0 => Rsvp::Going,
            1 => Rsvp::Maybe,
            2 => Rsvp::NotGoing,
            _ => return Err(Error::DatabaseDamaged),
        })
    }
}

/// One occurrence of a gathering.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Occurrence {
    pub gathering: GatheringId,
    pub title: String,
    pub kind: GatheringKind,
    /// The rule's local start for this occurrence: what identifies it, even
    /// after it moves (RFC 5545's RECURRENCE-ID).
    pub original_start: NaiveDateTime,
    /// When it starts: an instant, right wherever the member is.
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The local start in the gathering's zone, and that zone.
    pub local_start: NaiveDateTime,
    pub time_zone: String,
    pub moved: bool,
    pub rsvp: Option<Rsvp>,
    /// The member's private note, such as "bringing: watercolours".
    pub note: Option<String>,
    /// For shared gatherings: how many are going, and maybe. Never who is
    /// not coming.
    pub totals: Option<AttendanceTotals>,
}

/// Answers to one occurrence of a shared gathering, counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AttendanceTotals {
    pub going: u32,
    pub maybe: u32,
}

impl fmt::Debug for Occurrence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Occurrence")
            .field("gathering", &self.gathering)
            .field("title", &Text(&self.title))
            .field("original_start", &self.original_start)
            .field("starts_at", &self.starts_at)
            .field("moved", &self.moved)
            .field("rsvp", &self.rsvp)
            .field("note", &MaybeText(self.note.as_deref()))
            .finish_non_exhaustive()
    }
}

/// A notification to schedule: for an occurrence of a gathering, or for
/// the day a collective means to review its agreements.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Reminder {
    pub fires_at: DateTime<Utc>,
    /// The gathering; `None` for an agreements review.
    pub gathering: Option<GatheringId>,
    /// The collective whose agreements are to be reviewed.
    pub collective: Option<CollectiveId>,
    pub title: String,
    /// The occurrence's local start; for a review, noon on its day.
    pub original_start: NaiveDateTime,
    pub starts_at: DateTime<Utc>,
    pub offset: ReminderOffset,
}

/// Reviews are reminded a week before, and on the day, at noon UTC: a
/// collective has no time zone of its own.
pub(crate) const REVIEW_REMINDERS: [ReminderOffset; 2] = [
    ReminderOffset {
        days: 7,
        minutes: 0,
    },
    ReminderOffset {
        days: 0,
        minutes: 0,
    },
];

impl Reminder {
    /// The reminders of a review of `collective`'s agreements on `day`.
    pub(crate) fn of_review(collective: CollectiveId, name: &str, day: NaiveDate) -> [Reminder; 2] {
        let noon = day.and_time(NaiveTime::from_hms_opt(12, 0, 0).expect("noon is a time"));
        REVIEW_REMINDERS.map(|offset| Reminder {
            fires_at: (noon - Duration::days(offset.days.into())).and_utc(),
            gathering: None,
            collective: Some(collective),
            title: format!("Review the agreements of {name}"),
            original_start: noon,
            starts_at: noon.and_utc(),
            offset,
        })
    }
}

impl fmt::Debug for Reminder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reminder")
            .field("fires_at", &self.fires_at)
            .field("gathering", &self.gathering)
            .field("collective", &self.collective)
            .field("title", &Text(&self.title))
            .field("starts_at", &self.starts_at)
            .field("offset", &self.offset)
            .finish()
    }
}

/// Gatherings start on the minute: every view shows minutes, and the time a
/// member types back to name an occurrence must match what they were shown.
pub(crate) fn on_the_minute(t: NaiveDateTime, field: &'static str) -> Result<()> {
    if chrono::Timelike::second(&t) != 0 || chrono::Timelike::nanosecond(&t) != 0 {
        return Err(Error::invalid(field, "on the minute, without seconds"));
    }
    Ok(())
}
