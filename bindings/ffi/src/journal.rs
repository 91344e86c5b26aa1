//! The journal: entries, search, insights, mood scale, backups and Daylio.

use chrono::{FixedOffset, NaiveDate, TimeZone};
use tend_core::SecretString;
use tend_core::journal::{
    self as core, DaylioOptions, ExportFormat, ExportProtection, UnknownMoods,
};

use crate::TendError;
use crate::time::{from_ms, invalid, ms};
use crate::vault::TendVault;

/// What a member writes.
#[derive(uniffi::Record)]
pub struct NewEntry {
    /// When it was written; `None` is now.
    pub written_at_ms: Option<i64>,
    /// The writer's UTC offset then, seconds east; `None` is UTC.
    pub utc_offset_seconds: Option<i32>,
    /// A step on the member's mood scale, 1 = lowest.
    pub mood: Option<u8>,
    pub feelings: Vec<String>,
    pub activities: Vec<String>,
    pub title: Option<String>,
    pub body: String,
}

#[derive(uniffi::Record)]
pub struct Entry {
    pub id: String,
    pub written_at_ms: i64,
    pub utc_offset_seconds: i32,
    /// `YYYY-MM-DD` where the writer was.
    pub local_date: String,
    pub updated_at_ms: i64,
    pub mood: Option<u8>,
    pub feelings: Vec<String>,
    pub activities: Vec<String>,
    pub title: Option<String>,
    pub body: String,
}

#[derive(uniffi::Record)]
pub struct EntryPage {
    pub entries: Vec<Entry>,
    /// Pass to the next call; `None` on the last page.
    pub next: Option<String>,
}

#[derive(uniffi::Record)]
pub struct SnippetPart {
    pub text: String,
    pub matched: bool,
}

#[derive(uniffi::Record)]
pub struct SearchHit {
    pub entry: Entry,
    pub snippet: Vec<SnippetPart>,
}

#[derive(uniffi::Record)]
pub struct MoodStep {
    pub value: u8,
    pub label: String,
}

#[derive(uniffi::Record)]
pub struct PeriodMood {
    /// `YYYY-MM-DD`, the period's first day.
    pub start: String,
    pub average: f64,
    pub entries: u64,
}

#[derive(uniffi::Record)]
pub struct TagMood {
    pub name: String,
    pub is_activity: bool,
    pub days_with: u64,
    pub days_without: u64,
    pub average_with: f64,
    pub average_without: f64,
}

#[derive(uniffi::Record)]
pub struct Insights {
    pub entries: u64,
    pub entries_with_mood: u64,
    pub days_written: u64,
    /// Entries per mood value.
    pub distribution: Vec<MoodStepCount>,
    pub by_day: Vec<PeriodMood>,
    pub by_week: Vec<PeriodMood>,
    pub by_month: Vec<PeriodMood>,
    pub tags: Vec<TagMood>,
}

#[derive(uniffi::Record)]
pub struct MoodStepCount {
    pub value: u8,
    pub label: String,
    pub entries: u64,
}

#[derive(uniffi::Record)]
pub struct ImportSummary {
    pub added: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl From<core::Entry> for Entry {
    fn from(e: core::Entry) -> Self {
        Entry {
            id: e.id.to_string(),
            written_at_ms: e.written_at.timestamp_millis(),
            utc_offset_seconds: e.written_at.offset().local_minus_utc(),
            local_date: e.local_date().to_string(),
            updated_at_ms: ms(e.updated_at),
            mood: e.mood,
            feelings: e.feelings,
            activities: e.activities,
            title: e.title,
            body: e.body,
        }
    }
}

impl TryFrom<NewEntry> for core::NewEntry {
    type Error = TendError;

    fn try_from(e: NewEntry) -> Result<Self, TendError> {
        let written_at = match e.written_at_ms {
            None => None,
            Some(at) => {
                let offset = FixedOffset::east_opt(e.utc_offset_seconds.unwrap_or(0))
                    .ok_or_else(|| invalid("utc offset", "out of range"))?;
                Some(offset.from_utc_datetime(&from_ms(at, "written at")?.naive_utc()))
            }
        };
        Ok(core::NewEntry {
            written_at,
            mood: e.mood,
            feelings: e.feelings,
            activities: e.activities,
            title: e.title,
            body: e.body,
        })
    }
}

fn periods(list: Vec<core::PeriodMood>) -> Vec<PeriodMood> {
    list.into_iter()
        .map(|p| PeriodMood {
            start: p.start.to_string(),
            average: p.average,
            entries: p.entries,
        })
        .collect()
}

fn date(text: Option<String>, field: &str) -> Result<Option<NaiveDate>, TendError> {
    text.map(|t| {
        t.parse()
            .map_err(|_| invalid(field, "not a date like 2026-11-26"))
    })
    .transpose()
}

fn summary(s: core::ImportSummary) -> ImportSummary {
    ImportSummary {
        added: s.added,
        updated: s.updated,
        unchanged: s.unchanged,
    }
}

#[uniffi::export]
impl TendVault {
    pub async fn add_entry(&self, entry: NewEntry) -> Result<Entry, TendError> {
        self.with(move |v| Ok(v.journal().add(entry.try_into()?)?.into()))
            .await
    }

    pub async fn get_entry(&self, id: String) -> Result<Entry, TendError> {
        self.with(move |v| Ok(v.journal().get(id.parse()?)?.into()))
            .await
    }

    /// Replaces an entry's content; its id stays.
    pub async fn update_entry(&self, id: String, entry: NewEntry) -> Result<Entry, TendError> {
        self.with(move |v| Ok(v.journal().update(id.parse()?, entry.try_into()?)?.into()))
            .await
    }

    pub async fn delete_entry(&self, id: String) -> Result<(), TendError> {
        self.with(move |v| Ok(v.journal().delete(id.parse()?)?))
            .await
    }

    /// Newest first; `limit` at most 500. `from` and `to` are local dates.
    pub async fn list_entries(
        &self,
        limit: u32,
        after: Option<String>,
        from: Option<String>,
        to: Option<String>,
        tag: Option<String>,
    ) -> Result<EntryPage, TendError> {
        self.with(move |v| {
            let filter = core::EntryFilter {
                from: date(from, "from")?,
                to: date(to, "to")?,
                tag,
                ..Default::default()
            };
            let after = after.map(|a| a.parse()).transpose()?;
            let page = v.journal().list(&filter, limit, after)?;
            Ok(EntryPage {
                entries: page.entries.into_iter().map(Entry::from).collect(),
                next: page.next.map(|c| c.to_string()),
            })
        })
        .await
    }

    pub async fn search(&self, query: String, limit: u32) -> Result<Vec<SearchHit>, TendError> {
        self.with(move |v| {
            Ok(v.journal()
                .search(&query, limit)?
                .into_iter()
                .map(|h| SearchHit {
                    entry: h.entry.into(),
                    snippet: h
                        .snippet
                        .into_iter()
                        .map(|p| SnippetPart {
                            text: p.text,
                            matched: p.matched,
                        })
                        .collect(),
                })
                .collect())
        })
        .await
    }

    pub async fn insights(
        &self,
        from: Option<String>,
        to: Option<String>,
    ) -> Result<Insights, TendError> {
        self.with(move |v| {
            let i = v.journal().insights(date(from, "from")?, date(to, "to")?)?;
            Ok(Insights {
                entries: i.counts.entries,
                entries_with_mood: i.counts.entries_with_mood,
                days_written: i.counts.days_written,
                distribution: i
                    .distribution
                    .into_iter()
                    .map(|d| MoodStepCount {
                        value: d.value,
                        label: d.label,
                        entries: d.entries,
                    })
                    .collect(),
                by_day: periods(i.by_day),
                by_week: periods(i.by_week),
                by_month: periods(i.by_month),
                tags: i
                    .tags
                    .into_iter()
                    .map(|t| TagMood {
                        name: t.name,
                        is_activity: t.kind == core::TagKind::Activity,
                        days_with: t.days_with,
                        days_without: t.days_without,
                        average_with: t.average_with,
                        average_without: t.average_without,
                    })
                    .collect(),
            })
        })
        .await
    }

    pub async fn mood_scale(&self) -> Result<Vec<MoodStep>, TendError> {
        self.with(|v| {
            Ok(v.journal()
                .mood_scale()?
                .steps
                .into_iter()
                .map(|s| MoodStep {
                    value: s.value,
                    label: s.label,
                })
                .collect())
        })
        .await
    }

    /// The whole journal as a JSON backup, sealed with an age passphrase
    /// unless `passphrase` is `None` (then readable by anyone who gets it).
    pub async fn export_journal(&self, passphrase: Option<String>) -> Result<Vec<u8>, TendError> {
        self.with(move |v| {
            let protection = match passphrase {
                Some(p) => ExportProtection::Passphrase(SecretString::from(p)),
                None => ExportProtection::Plaintext,
            };
            let mut out = Vec::new();
            v.journal()
                .export(ExportFormat::Json, protection, &mut out, &mut |_, _| {})?;
            Ok(out)
        })
        .await
    }

    /// A backup from `export_journal`; all of it or none.
    pub async fn import_journal(
        &self,
        backup: Vec<u8>,
        passphrase: Option<String>,
    ) -> Result<ImportSummary, TendError> {
        self.with(move |v| {
            let passphrase = passphrase.map(SecretString::from);
            Ok(summary(v.journal().import(
                backup.as_slice(),
                passphrase,
                &mut |_, _| {},
            )?))
        })
        .await
    }

    /// A Daylio CSV export, written in `time_zone` (IANA).
    pub async fn import_daylio(
        &self,
        csv: Vec<u8>,
        time_zone: String,
    ) -> Result<ImportSummary, TendError> {
        self.with(move |v| {
            let options = DaylioOptions {
                time_zone: time_zone
                    .parse()
                    .map_err(|_| invalid("time zone", "not an IANA zone name"))?,
                unknown_moods: UnknownMoods::Report,
            };
            Ok(summary(v.journal().import_daylio(
                csv.as_slice(),
                &options,
                &mut |_, _| {},
            )?))
        })
        .await
    }
}
