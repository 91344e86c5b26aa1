//! Gatherings, occurrences, RSVPs, reminders and iCalendar.

use chrono::{Duration, NaiveDate};
use tend_core::gatherings::{self as core, AttendanceTotals, GatheringKind, ReminderOffset, Rsvp};

use crate::TendError;
use crate::sharing::{Recipient, Sealed, targets};
use crate::time::{from_ms, invalid, local, ms, parse_local};
use crate::vault::TendVault;

#[derive(uniffi::Record)]
pub struct NewGathering {
    pub title: String,
    pub kind: GatheringKind,
    pub description: String,
    pub location: String,
    /// Local wall-clock start, `2026-12-05T18:00`, in `time_zone`.
    pub starts_at: String,
    /// IANA, such as `America/Chicago`.
    pub time_zone: String,
    pub duration_minutes: u32,
    /// An RFC 5545 RRULE value, such as `FREQ=MONTHLY;BYDAY=1SA`.
    pub recurrence: Option<String>,
    pub reminders: Vec<ReminderOffset>,
}

#[derive(uniffi::Record)]
pub struct Gathering {
    pub id: String,
    pub title: String,
    pub kind: GatheringKind,
    pub description: String,
    pub location: String,
    pub starts_at: String,
    pub time_zone: String,
    pub duration_minutes: u32,
    pub recurrence: Option<String>,
    pub reminders: Vec<ReminderOffset>,
    /// Who invited me; `None` for my own. Only the organiser can change it.
    pub organiser_name: Option<String>,
}

#[derive(uniffi::Record)]
pub struct Occurrence {
    pub gathering_id: String,
    pub title: String,
    /// Names this occurrence, even after it moves.
    pub original_start: String,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub local_start: String,
    pub time_zone: String,
    pub moved: bool,
    pub rsvp: Option<Rsvp>,
    pub note: Option<String>,
    /// For shared gatherings: how many are going, and maybe.
    pub totals: Option<AttendanceTotals>,
}

/// Someone going, or maybe, to an occurrence of my gathering.
#[derive(uniffi::Record)]
pub struct Attendee {
    /// `None` for me.
    pub name: Option<String>,
    pub rsvp: Rsvp,
}

#[derive(uniffi::Record)]
pub struct Reminder {
    pub fires_at_ms: i64,
    pub gathering_id: String,
    pub title: String,
    pub original_start: String,
    pub starts_at_ms: i64,
    pub offset: ReminderOffset,
}

impl TryFrom<NewGathering> for core::NewGathering {
    type Error = TendError;

    fn try_from(g: NewGathering) -> Result<Self, TendError> {
        Ok(core::NewGathering {
            title: g.title,
            kind: g.kind,
            description: g.description,
            location: g.location,
            starts_at: parse_local(&g.starts_at, "start")?,
            time_zone: g.time_zone,
            duration: Duration::minutes(g.duration_minutes as i64),
            recurrence: g.recurrence,
            reminders: g.reminders,
        })
    }
}

impl From<core::Gathering> for Gathering {
    fn from(g: core::Gathering) -> Self {
        Gathering {
            id: g.id.to_string(),
            title: g.title,
            kind: g.kind,
            description: g.description,
            location: g.location,
            starts_at: local(g.starts_at),
            time_zone: g.time_zone,
            duration_minutes: g.duration.num_minutes() as u32,
            recurrence: g.recurrence,
            reminders: g.reminders,
            organiser_name: g.organiser,
        }
    }
}

impl From<core::Occurrence> for Occurrence {
    fn from(o: core::Occurrence) -> Self {
        Occurrence {
            gathering_id: o.gathering.to_string(),
            title: o.title,
            original_start: local(o.original_start),
            starts_at_ms: ms(o.starts_at),
            ends_at_ms: ms(o.ends_at),
            local_start: local(o.local_start),
            time_zone: o.time_zone,
            moved: o.moved,
            rsvp: o.rsvp,
            note: o.note,
            totals: o.totals,
        }
    }
}

/// The monthly restorative gathering, first on or after `from` (`YYYY-MM-DD`).
#[uniffi::export]
pub fn monthly_restorative_gathering(
    from: String,
    time_zone: String,
    location: String,
) -> Result<NewGathering, TendError> {
    let from: NaiveDate = from
        .parse()
        .map_err(|_| invalid("from", "not a date like 2026-11-26"))?;
    let g = core::NewGathering::monthly_restorative(from, &time_zone, &location);
    Ok(NewGathering {
        title: g.title,
        kind: g.kind,
        description: g.description,
        location: g.location,
        starts_at: local(g.starts_at),
        time_zone: g.time_zone,
        duration_minutes: g.duration.num_minutes() as u32,
        recurrence: g.recurrence,
        reminders: g.reminders,
    })
}

/// The first `count` starts of a rule, as Unix milliseconds: to check a rule
/// before saving it.
#[uniffi::export]
pub fn expand_recurrence(
    starts_at: String,
    time_zone: String,
    rule: Option<String>,
    count: u32,
) -> Result<Vec<i64>, TendError> {
    let starts = core::expand(
        parse_local(&starts_at, "start")?,
        &time_zone,
        rule.as_deref(),
        count as usize,
    )?;
    Ok(starts.into_iter().map(|t| t.timestamp_millis()).collect())
}

#[uniffi::export]
impl TendVault {
    pub async fn add_gathering(&self, gathering: NewGathering) -> Result<Gathering, TendError> {
        self.with(move |v| Ok(v.gatherings().add(gathering.try_into()?)?.into()))
            .await
    }

    pub async fn update_gathering(
        &self,
        id: String,
        gathering: NewGathering,
    ) -> Result<Gathering, TendError> {
        self.with(move |v| {
            Ok(v.gatherings()
                .update(id.parse()?, gathering.try_into()?)?
                .into())
        })
        .await
    }

    pub async fn delete_gathering(&self, id: String) -> Result<(), TendError> {
        self.with(move |v| Ok(v.gatherings().delete(id.parse()?)?))
            .await
    }

    pub async fn gatherings(&self) -> Result<Vec<Gathering>, TendError> {
        self.with(|v| {
            Ok(v.gatherings()
                .list()?
                .into_iter()
                .map(Gathering::from)
                .collect())
        })
        .await
    }

    /// Occurrences of every gathering between two instants, by start.
    pub async fn occurrences(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<Occurrence>, TendError> {
        self.with(move |v| {
            let (from, to) = (from_ms_checked(from_ms)?, from_ms_checked(to_ms)?);
            Ok(v.gatherings()
                .occurrences(from, to)?
                .into_iter()
                .map(Occurrence::from)
                .collect())
        })
        .await
    }

    /// The next `count` reminders after `now_ms`, soonest first: schedule these.
    pub async fn next_reminders(
        &self,
        now_ms: i64,
        count: u32,
    ) -> Result<Vec<Reminder>, TendError> {
        self.with(move |v| {
            Ok(v.gatherings()
                .next_reminders(from_ms_checked(now_ms)?, count as usize)?
                .into_iter()
                .map(|r| Reminder {
                    fires_at_ms: ms(r.fires_at),
                    gathering_id: r.gathering.to_string(),
                    title: r.title,
                    original_start: local(r.original_start),
                    starts_at_ms: ms(r.starts_at),
                    offset: r.offset,
                })
                .collect())
        })
        .await
    }

    pub async fn cancel_occurrence(
        &self,
        id: String,
        original_start: String,
    ) -> Result<(), TendError> {
        self.with(move |v| {
            Ok(v.gatherings()
                .cancel_occurrence(id.parse()?, parse_local(&original_start, "occurrence")?)?)
        })
        .await
    }

    pub async fn move_occurrence(
        &self,
        id: String,
        original_start: String,
        to: String,
        duration_minutes: Option<u32>,
    ) -> Result<(), TendError> {
        self.with(move |v| {
            Ok(v.gatherings().move_occurrence(
                id.parse()?,
                parse_local(&original_start, "occurrence")?,
                parse_local(&to, "new start")?,
                duration_minutes.map(|m| Duration::minutes(m as i64)),
            )?)
        })
        .await
    }

    pub async fn rsvp(
        &self,
        id: String,
        original_start: String,
        response: Option<Rsvp>,
        note: Option<String>,
    ) -> Result<(), TendError> {
        self.with(move |v| {
            Ok(v.gatherings().rsvp(
                id.parse()?,
                parse_local(&original_start, "occurrence")?,
                response,
                note.as_deref(),
            )?)
        })
        .await
    }

    /// Invites comrades and circles to my gathering: they get all of it
    /// now, and every change after (sealed into the outbox as it happens).
    pub async fn invite_to_gathering(
        &self,
        id: String,
        to: Vec<Recipient>,
    ) -> Result<Sealed, TendError> {
        self.with(move |v| Ok(v.gatherings().invite(id.parse()?, &targets(to)?)?.into()))
            .await
    }

    /// Who is going, or maybe, to one occurrence of my gathering; never who is not.
    pub async fn attendees(
        &self,
        id: String,
        original_start: String,
    ) -> Result<Vec<Attendee>, TendError> {
        self.with(move |v| {
            Ok(v.gatherings()
                .attendees(id.parse()?, parse_local(&original_start, "occurrence")?)?
                .into_iter()
                .map(|a| Attendee {
                    name: a.name,
                    rsvp: a.rsvp,
                })
                .collect())
        })
        .await
    }

    /// One gathering, or all, as `.ics` text.
    pub async fn export_ics(&self, id: Option<String>) -> Result<String, TendError> {
        self.with(move |v| {
            Ok(v.gatherings()
                .export_ics(id.map(|i| i.parse()).transpose()?)?)
        })
        .await
    }

    /// All events of an `.ics` file, or none; floating times in `default_zone`.
    pub async fn import_ics(&self, text: String, default_zone: String) -> Result<u32, TendError> {
        self.with(move |v| {
            let s = v.gatherings().import_ics(&text, &default_zone)?;
            Ok((s.added + s.updated) as u32)
        })
        .await
    }
}

fn from_ms_checked(t: i64) -> Result<chrono::DateTime<chrono::Utc>, TendError> {
    from_ms(t, "time")
}
