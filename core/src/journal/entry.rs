//! Journal entries and the ways to ask for them.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::redact::{MaybeText, Text, Texts};
use crate::{Error, Result};

crate::id::uuid_id!(EntryId, "entry id");

impl EntryId {
    /// A stable id made from content, so importing the same row twice is a
    /// no-op; led by the time like a UUIDv7, for the same reason.
    pub(crate) fn from_digest(written_at_ms: i64, digest: &[u8]) -> Self {
        let mut bytes = [0u8; 16];
        bytes[..6].copy_from_slice(&written_at_ms.to_be_bytes()[2..]);
        bytes[6..].copy_from_slice(&digest[..10]);
        EntryId(uuid::Builder::from_custom_bytes(bytes).into_uuid())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum TagKind {
    Feeling,
    Activity,
}

impl TagKind {
    pub(crate) fn code(self) -> i64 {
        match self {
            TagKind::Feeling => 0,
            TagKind::Activity => 1,
        }
    }

    pub(crate) fn from_code(code: i64) -> Result<Self> {
        match code {
            0 => Ok(TagKind::Feeling),
            1 => Ok(TagKind::Activity),
            _ => Err(Error::DatabaseDamaged),
        }
    }
}

/// One journal entry. Several a day are fine.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Entry {
    pub id: EntryId,
    /// When it was written, with the writer's UTC offset then, so its local day is right.
    pub written_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<Utc>,
    /// A step on the member's mood scale, 1 = lowest.
    pub mood: Option<u8>,
    pub feelings: Vec<String>,
    pub activities: Vec<String>,
    pub title: Option<String>,
    pub body: String,
}

#[cfg_attr(feature = "uniffi", uniffi::export)]
impl Entry {
    /// The calendar day where the writer was.
    pub fn local_date(&self) -> NaiveDate {
        self.written_at.date_naive()
    }
}

/// What a member writes; also the full new content when editing.
#[derive(Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NewEntry {
    /// `None` means now, in UTC; apps pass the device's local time and offset.
    pub written_at: Option<DateTime<FixedOffset>>,
    pub mood: Option<u8>,
    pub feelings: Vec<String>,
    pub activities: Vec<String>,
    pub title: Option<String>,
    pub body: String,
}

/// Narrows a listing. Every field is optional; days are the writer's local days, inclusive.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EntryFilter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub mood_min: Option<u8>,
    pub mood_max: Option<u8>,
    /// A feeling or activity, matched case-insensitively.
    pub tag: Option<String>,
}

/// What an entry says, shown by size only.
struct ContentDebug<'a> {
    mood: Option<u8>,
    feelings: &'a [String],
    activities: &'a [String],
    title: Option<&'a str>,
    body: &'a str,
}

impl<'a> ContentDebug<'a> {
    fn of(
        mood: Option<u8>,
        feelings: &'a [String],
        activities: &'a [String],
        title: &'a Option<String>,
        body: &'a str,
    ) -> Self {
        let title = title.as_deref();
        ContentDebug {
            mood,
            feelings,
            activities,
            title,
            body,
        }
    }
}

impl fmt::Debug for ContentDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Content")
            .field("mood", &self.mood)
            .field("feelings", &Texts(self.feelings))
            .field("activities", &Texts(self.activities))
            .field("title", &MaybeText(self.title))
            .field("body", &Text(self.body))
            .finish()
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let content = ContentDebug::of(
            self.mood,
            &self.feelings,
            &self.activities,
            &self.title,
            &self.body,
        );
        f.debug_struct("Entry")
            .field("id", &self.id)
            .field("written_at", &self.written_at)
            .field("updated_at", &self.updated_at)
            .field("content", &content)
            .finish()
    }
}

impl fmt::Debug for NewEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let content = ContentDebug::of(
            self.mood,
            &self.feelings,
            &self.activities,
            &self.title,
            &self.body,
        );
        f.debug_struct("NewEntry")
            .field("written_at", &self.written_at)
            .field("content", &content)
            .finish()
    }
}

impl fmt::Debug for EntryFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntryFilter")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("mood_min", &self.mood_min)
            .field("mood_max", &self.mood_max)
            .field("tag", &MaybeText(self.tag.as_deref()))
            .finish()
    }
}

/// Where the next page starts: after this entry in newest-first order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCursor {
    pub(crate) written_at_ms: i64,
    pub(crate) seq: i64,
}

impl fmt::Display for PageCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.written_at_ms, self.seq)
    }
}

#[cfg(feature = "uniffi")]
uniffi::custom_type!(PageCursor, String, {
    lower: |cursor| cursor.to_string(),
    try_lift: |text| text.parse().map_err(|e: Error| uniffi::deps::anyhow::anyhow!("{e}")),
});

impl FromStr for PageCursor {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::invalid("page cursor", "not one this app made");
        let (ms, seq) = s.split_once('.').ok_or_else(bad)?;
        Ok(PageCursor {
            written_at_ms: ms.parse().map_err(|_| bad())?,
            seq: seq.parse().map_err(|_| bad())?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct EntryPage {
    pub entries: Vec<Entry>,
    /// `None` on the last page.
    pub next: Option<PageCursor>,
}

pub(crate) const MAX_TITLE_CHARS: usize = 200;
pub(crate) const MAX_BODY_BYTES: usize = 256 * 1024;
pub(crate) const MAX_TAG_CHARS: usize = 64;
pub(crate) const MAX_TAGS: usize = 64;

/// An entry checked and normalised, ready to store.
pub(crate) struct CleanEntry {
    pub written_at: DateTime<FixedOffset>,
    pub mood: Option<u8>,
    pub feelings: Vec<String>,
    pub activities: Vec<String>,
    pub title: Option<String>,
    pub body: String,
}

impl NewEntry {
    pub(crate) fn clean(self, now: DateTime<Utc>) -> Result<CleanEntry> {
        let written_at = self.written_at.unwrap_or_else(|| now.fixed_offset());
        let written_at = truncate_to_millis(written_at);
        if !(1900..=9999).contains(&chrono::Datelike::year(&written_at)) {
            return Err(Error::invalid(
                "date",
                "must be between the years 1900 and 9999",
            ));
        }
        let title = self
            .title
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
        if title
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_TITLE_CHARS)
        {
            return Err(Error::invalid("title", "longer than 200 characters"));
        }
        if self.body.len() > MAX_BODY_BYTES {
            return Err(Error::invalid("text", "longer than 256 KiB"));
        }
        Ok(CleanEntry {
            written_at,
            mood: self.mood,
            feelings: clean_tags(self.feelings)?,
            activities: clean_tags(self.activities)?,
            title,
            body: self.body,
        })
    }
}

/// Stored instants have millisecond precision; trimming here keeps round trips exact.
pub(crate) fn truncate_to_millis<Tz: chrono::TimeZone>(t: DateTime<Tz>) -> DateTime<Tz> {
    use chrono::Timelike;
    let nanos = t.nanosecond() / 1_000_000 * 1_000_000;
    t.with_nanosecond(nanos)
        .expect("fewer nanoseconds stay valid")
}

/// Trims, drops empties and case-insensitive duplicates, keeps the member's order.
pub(crate) fn clean_tags(tags: Vec<String>) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags {
        let tag = tag.trim();
        if tag.is_empty() {
            continue;
        }
        if tag.chars().count() > MAX_TAG_CHARS || tag.chars().any(char::is_control) {
            return Err(Error::invalid("tag", "1 to 64 printable characters"));
        }
        if !out.iter().any(|t| t.to_lowercase() == tag.to_lowercase()) {
            out.push(tag.to_owned());
        }
    }
    if out.len() > MAX_TAGS {
        return Err(Error::invalid("tags", "at most 64 of each kind"));
    }
    Ok(out)
}
