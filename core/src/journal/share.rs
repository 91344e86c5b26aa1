//! Sharing a journal entry with comrades. Recipients see it under "shared
//! with me", never in their own journal. Body format: `docs/envelope.md`.

use std::fmt;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use super::entry::{MAX_BODY_BYTES, MAX_TITLE_CHARS, clean_tags};
use super::{EntryId, Journal};
use crate::envelope::{
    self, Addressee, Checked, EnvelopeError, KindHandler, MessageId, Outgoing, Recipient, Sealed,
    Sender,
};
use crate::redact::{MaybeText, Text, Texts};
use crate::{Error, Result};

const MAX_NOTE_CHARS: usize = 500;

/// A mood as the sender's scale had it: scales differ between members.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SharedMood {
    pub value: u8,
    pub steps: u8,
    pub label: String,
}

/// An entry a comrade shared with me.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SharedEntry {
    pub message_id: MessageId,
    pub from: Sender,
    pub received_at: DateTime<Utc>,
    /// What the sender wrote alongside, if anything.
    pub note: Option<String>,
    pub written_at: DateTime<FixedOffset>,
    pub mood: Option<SharedMood>,
    pub feelings: Vec<String>,
    pub activities: Vec<String>,
    pub title: Option<String>,
    pub body: String,
}

impl fmt::Debug for SharedEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedEntry")
            .field("message_id", &self.message_id)
            .field("from", &self.from)
            .field("note", &MaybeText(self.note.as_deref()))
            .field("feelings", &Texts(&self.feelings))
            .field("title", &MaybeText(self.title.as_deref()))
            .field("body", &Text(&self.body))
            .finish_non_exhaustive()
    }
}

/// One time I shared an entry, and with whom.
#[derive(Debug, Clone)]
pub struct Share {
    pub message_id: MessageId,
    pub shared_at: DateTime<Utc>,
    pub recipients: Vec<Addressee>,
}

/// The body of a `journal.entry` envelope.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    v: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    entry: BodyEntry,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BodyEntry {
    written_at: DateTime<FixedOffset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mood: Option<SharedMood>,
    #[serde(default)]
    feelings: Vec<String>,
    #[serde(default)]
    activities: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    body: String,
}

impl Journal<'_> {
    /// Seals an entry to comrades and circles, with an optional note.
    pub fn share(&self, id: EntryId, to: &[Recipient], note: Option<&str>) -> Result<Sealed> {
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
            return Err(Error::invalid("note", "at most 500 characters"));
        }
        let entry = self.get(id)?;
        let scale = self.mood_scale()?;
        let body = Body {
            v: 1,
            note: note.map(str::to_owned),
            entry: BodyEntry {
                written_at: entry.written_at,
                mood: entry.mood.map(|value| SharedMood {
                    value,
                    steps: scale.len(),
                    label: scale.label(value).unwrap_or_default().to_owned(),
                }),
                feelings: entry.feelings,
                activities: entry.activities,
                title: entry.title,
                body: entry.body,
            },
        };
        let json = zeroize::Zeroizing::new(
            serde_json::to_vec(&body).map_err(|_| Error::Storage("encoding an entry".into()))?,
        );
        envelope::seal_about(
            self.vault,
            &Outgoing {
                kind: JOURNAL_ENTRY,
                body: &json,
                to,
                expires_at: None,
            },
            Some(&id.to_string()),
        )
    }

    /// Deletes the entries comrades shared with me that arrived before
    /// `before`; how many went.
    pub fn clear_shared_before(&self, before: DateTime<Utc>) -> Result<u64> {
        self.vault
            .with_tx(|tx| envelope::clear_inbox(tx, JOURNAL_ENTRY, before))
    }

    /// Entries comrades shared with me, newest first.
    pub fn shared_with_me(&self) -> Result<Vec<SharedEntry>> {
        let items = envelope::inbox(self.vault, Some(JOURNAL_ENTRY))?;
        items
            .into_iter()
            .map(|item| {
                let body = parse(&item.opened.body).map_err(|_| Error::DatabaseDamaged)?;
                Ok(SharedEntry {
                    message_id: item.opened.message_id,
                    from: item.opened.sender,
                    received_at: item.received_at,
                    note: body.note,
                    written_at: body.entry.written_at,
                    mood: body.entry.mood,
                    feelings: body.entry.feelings,
                    activities: body.entry.activities,
                    title: body.entry.title,
                    body: body.entry.body,
                })
            })
            .collect()
    }

    /// Whom I shared an entry with, newest first.
    pub fn shared_with(&self, id: EntryId) -> Result<Vec<Share>> {
        let items = envelope::outbox_about(self.vault, &id.to_string())?;
        Ok(items
            .into_iter()
            .map(|item| Share {
                message_id: item.sealed.message_id,
                shared_at: item.created_at,
                recipients: item.sealed.recipients,
            })
            .collect())
    }
}

/// The envelope kind of a journal entry shared with comrades.
pub const JOURNAL_ENTRY: &str = "journal.entry";

/// Shared entries, as `crate::registry` lists them: checked as strictly as
/// the sender's journal would, and kept in the inbox as "shared with me".
pub(crate) struct SharedEntries;

impl KindHandler for SharedEntries {
    fn owns(&self, kind: &str) -> bool {
        kind == JOURNAL_ENTRY
    }

    fn check(&self, _: &str, body: &[u8]) -> Result<Box<dyn Checked>, EnvelopeError> {
        parse(body)?;
        Ok(Box::new(Kept))
    }
}

struct Kept;

impl Checked for Kept {
    fn kept(&self) -> bool {
        true
    }
}

fn parse(body: &[u8]) -> Result<Body, EnvelopeError> {
    let body: Body = serde_json::from_slice(body).map_err(|_| EnvelopeError::Malformed)?;
    let e = &body.entry;
    let fits = body.v == 1
        && body
            .note
            .as_ref()
            .is_none_or(|n| n.chars().count() <= MAX_NOTE_CHARS)
        && e.title
            .as_ref()
            .is_none_or(|t| t.chars().count() <= MAX_TITLE_CHARS)
        && e.body.len() <= MAX_BODY_BYTES
        && e.mood.as_ref().is_none_or(|m| {
            (1..=m.steps).contains(&m.value) && m.steps <= 10 && m.label.chars().count() <= 64
        })
        && clean_tags(e.feelings.clone()).is_ok_and(|t| t == e.feelings)
        && clean_tags(e.activities.clone()).is_ok_and(|t| t == e.activities);
    if !fits {
        return Err(EnvelopeError::Malformed);
    }
    Ok(body)
}
