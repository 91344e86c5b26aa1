//! Gatherings, occurrences, RSVPs, reminders and iCalendar.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use tend_core::comrades::Recipient;
use tend_core::envelope::Sealed;
use tend_core::gatherings::{
    self as core, Attendee, Gathering, NewGathering, Occurrence, Reminder, Round, Rsvp,
};

use crate::TendError;
use crate::numbers::{count, from_app};
use crate::vault::TendVault;

/// The monthly restorative gathering, first on or after `from` (`YYYY-MM-DD`).
#[uniffi::export]
pub fn monthly_restorative_gathering(
    from: NaiveDate,
    time_zone: String,
    location: String,
) -> Result<NewGathering, TendError> {
    Ok(NewGathering::monthly_restorative(
        from, &time_zone, &location,
    ))
}

/// The first `count` starts of a rule: to check a rule before saving it.
#[uniffi::export]
pub fn expand_recurrence(
    starts_at: NaiveDateTime,
    time_zone: String,
    rule: Option<String>,
    count: i32,
) -> Result<Vec<DateTime<Utc>>, TendError> {
    let starts = core::expand(
        starts_at,
        &time_zone,
        rule.as_deref(),
        from_app(count, "count")?,
    )?;
    Ok(starts.iter().map(|t| t.with_timezone(&Utc)).collect())
}

#[uniffi::export]
impl TendVault {
    pub async fn add_gathering(&self, gathering: NewGathering) -> Result<Gathering, TendError> {
        self.with(move |v| Ok(v.gatherings().add(gathering)?)).await
    }

    pub async fn update_gathering(
        &self,
        id: String,
        gathering: NewGathering,
    ) -> Result<Gathering, TendError> {
        self.with(move |v| Ok(v.gatherings().update(id.parse()?, gathering)?))
            .await
    }

    pub async fn delete_gathering(&self, id: String) -> Result<(), TendError> {
        self.with(move |v| Ok(v.gatherings().delete(id.parse()?)?))
            .await
    }

    pub async fn gatherings(&self) -> Result<Vec<Gathering>, TendError> {
        self.with(|v| Ok(v.gatherings().list()?)).await
    }

    /// Occurrences of every gathering between two instants, by start.
    pub async fn occurrences(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Occurrence>, TendError> {
        self.with(move |v| Ok(v.gatherings().occurrences(from, to)?))
            .await
    }

    /// The next `count` reminders after `now`, soonest first: schedule these.
    pub async fn next_reminders(
        &self,
        now: DateTime<Utc>,
        count: i32,
    ) -> Result<Vec<Reminder>, TendError> {
        let count = from_app(count, "count")?;
        self.with(move |v| Ok(v.gatherings().next_reminders(now, count)?))
            .await
    }

    pub async fn cancel_occurrence(
        &self,
        id: String,
        original_start: NaiveDateTime,
    ) -> Result<(), TendError> {
        self.with(move |v| {
            Ok(v.gatherings()
                .cancel_occurrence(id.parse()?, original_start)?)
        })
        .await
    }

    pub async fn move_occurrence(
        &self,
        id: String,
        original_start: NaiveDateTime,
        to: NaiveDateTime,
        duration_minutes: Option<i32>,
    ) -> Result<(), TendError> {
        let minutes: Option<u32> = duration_minutes
            .map(|m| from_app(m, "duration minutes"))
            .transpose()?;
        self.with(move |v| {
            Ok(v.gatherings().move_occurrence(
                id.parse()?,
                original_start,
                to,
                minutes.map(|m| Duration::minutes(m.into())),
            )?)
        })
        .await
    }

    pub async fn rsvp(
        &self,
        id: String,
        original_start: NaiveDateTime,
        response: Option<Rsvp>,
        note: Option<String>,
    ) -> Result<(), TendError> {
        self.with(move |v| {
            Ok(v.gatherings()
                .rsvp(id.parse()?, original_start, response, note.as_deref())?)
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
        self.with(move |v| Ok(v.gatherings().invite(id.parse()?, &to)?))
            .await
    }

    /// Makes my gathering the collective's and invites its members, and
    /// whoever joins later; where `visitors_welcome`, each member shares it
    /// with the visitors they host (totals only), whose answers reach me.
    pub async fn invite_collective_to_gathering(
        &self,
        id: String,
        collective_id: String,
        visitors_welcome: bool,
    ) -> Result<Vec<Sealed>, TendError> {
        self.with(move |v| {
            Ok(v.gatherings().invite_collective(
                id.parse()?,
                collective_id.parse()?,
                visitors_welcome,
            )?)
        })
        .await
    }

    /// Whether the visitors of my collective's gathering see it and may answer.
    pub async fn set_visitors_welcome(
        &self,
        id: String,
        welcome: bool,
    ) -> Result<Vec<Sealed>, TendError> {
        self.with(move |v| Ok(v.gatherings().set_visitors_welcome(id.parse()?, welcome)?))
            .await
    }

    /// Who is going, or maybe, to one occurrence of my gathering; never who is not.
    pub async fn attendees(
        &self,
        id: String,
        original_start: NaiveDateTime,
    ) -> Result<Vec<Attendee>, TendError> {
        self.with(move |v| Ok(v.gatherings().attendees(id.parse()?, original_start)?))
            .await
    }

    /// My line for the occurrence's greeting round, or a pass (`None`):
    /// sealed until the round opens.
    pub async fn write_round_line(
        &self,
        id: String,
        original_start: NaiveDateTime,
        line: Option<String>,
    ) -> Result<(), TendError> {
        self.with(move |v| {
            Ok(v.gatherings()
                .write_round_line(id.parse()?, original_start, line.as_deref())?)
        })
        .await
    }

    /// As organiser: opens the round now (it opens by itself at the start).
    pub async fn open_round(
        &self,
        id: String,
        original_start: NaiveDateTime,
    ) -> Result<(), TendError> {
        self.with(move |v| Ok(v.gatherings().open_round(id.parse()?, original_start)?))
            .await
    }

    /// The round as this vault holds it: its lines in order once open.
    pub async fn round(
        &self,
        id: String,
        original_start: NaiveDateTime,
    ) -> Result<Round, TendError> {
        self.with(move |v| Ok(v.gatherings().round(id.parse()?, original_start)?))
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
    pub async fn import_ics(&self, text: String, default_zone: String) -> Result<i32, TendError> {
        self.with(move |v| {
            let s = v.gatherings().import_ics(&text, &default_zone)?;
            Ok(count(s.added + s.updated))
        })
        .await
    }
}
