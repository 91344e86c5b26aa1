//! Identity, comrade cards, safety numbers, comrades, circles, envelopes,
//! and sharing journal entries.

use tend_core::comrades::{self as core, Card};
use tend_core::envelope::{self as env, Outgoing, To};

use crate::TendError;
use crate::time::{from_ms, ms};
use crate::vault::TendVault;

#[derive(uniffi::Record)]
pub struct Comrade {
    pub id: String,
    /// What I call them.
    pub name: String,
    /// What they call themselves.
    pub card_name: String,
    pub verified: bool,
    pub blocked: bool,
    /// Set when their identity key was replaced: show a warning.
    pub identity_changed_at_ms: Option<i64>,
}

#[derive(uniffi::Record)]
pub struct Circle {
    pub id: String,
    pub name: String,
    pub member_ids: Vec<String>,
}

/// Whom to seal to.
#[derive(uniffi::Enum)]
pub enum Recipient {
    Comrade { id: String },
    Circle { id: String },
}

#[derive(uniffi::Record)]
pub struct Sealed {
    pub message_id: String,
    pub bytes: Vec<u8>,
    /// For share sheets, chat apps and files.
    pub armored: String,
    /// Names of the comrades it went to.
    pub recipients: Vec<String>,
}

#[derive(uniffi::Record)]
pub struct Opened {
    pub message_id: String,
    /// `None` when it was my own copy.
    pub sender_id: Option<String>,
    pub sender_name: String,
    pub kind: String,
    pub body: Vec<u8>,
    pub created_at_ms: i64,
    pub expires_at_ms: Option<i64>,
    /// Ids of envelopes my vault sealed in answer (now in the outbox), such
    /// as telling a circle that a request is open again.
    pub replies: Vec<String>,
}

#[derive(uniffi::Record)]
pub struct InboxItem {
    pub opened: Opened,
    pub received_at_ms: i64,
}

#[derive(uniffi::Record)]
pub struct SharedEntry {
    pub message_id: String,
    pub sender_name: String,
    pub received_at_ms: i64,
    pub note: Option<String>,
    pub written_at_ms: i64,
    pub utc_offset_seconds: i32,
    pub mood_label: Option<String>,
    pub feelings: Vec<String>,
    pub activities: Vec<String>,
    pub title: Option<String>,
    pub body: String,
}

impl From<core::Comrade> for Comrade {
    fn from(c: core::Comrade) -> Self {
        Comrade {
            id: c.id.to_string(),
            name: c.name,
            card_name: c.card_name,
            verified: c.verified,
            blocked: c.blocked,
            identity_changed_at_ms: c.identity_changed_at.map(ms),
        }
    }
}

impl From<core::Circle> for Circle {
    fn from(c: core::Circle) -> Self {
        Circle {
            id: c.id.to_string(),
            name: c.name,
            member_ids: c.members.iter().map(|m| m.to_string()).collect(),
        }
    }
}

impl From<env::Sealed> for Sealed {
    fn from(s: env::Sealed) -> Self {
        Sealed {
            message_id: s.message_id.to_string(),
            armored: s.armored(),
            recipients: s.recipients.into_iter().map(|r| r.name).collect(),
            bytes: s.bytes,
        }
    }
}

impl From<env::Opened> for Opened {
    fn from(o: env::Opened) -> Self {
        Opened {
            message_id: o.message_id.to_string(),
            sender_id: o.sender.comrade.map(|c| c.to_string()),
            sender_name: o.sender.name,
            kind: o.kind,
            body: o.body,
            created_at_ms: ms(o.created_at),
            expires_at_ms: o.expires_at.map(ms),
            replies: o.replies.iter().map(|r| r.to_string()).collect(),
        }
    }
}

pub(crate) fn targets(to: Vec<Recipient>) -> Result<Vec<To>, TendError> {
    to.into_iter()
        .map(|r| {
            Ok(match r {
                Recipient::Comrade { id } => To::Comrade(id.parse()?),
                Recipient::Circle { id } => To::Circle(id.parse()?),
            })
        })
        .collect()
}

/// Parses a card's text form; the app shows its name before adding it.
#[uniffi::export]
pub fn card_name(card: String) -> Result<String, TendError> {
    Ok(Card::parse(&card)?.name().to_owned())
}

#[uniffi::export]
impl TendVault {
    /// My card as text (`TEND:…`), for a QR code or a message.
    pub async fn my_card(&self) -> Result<String, TendError> {
        self.with(|v| Ok(v.comrades().my_card()?.to_text())).await
    }

    /// Adds (or refreshes) a comrade from their card.
    pub async fn add_comrade(
        &self,
        card: String,
        name: Option<String>,
    ) -> Result<Comrade, TendError> {
        self.with(move |v| {
            let card = Card::parse(&card)?;
            Ok(v.comrades()
                .add(&card, name.as_deref())?
                .comrade()
                .clone()
                .into())
        })
        .await
    }

    /// Whom a typed name means: a comrade, else a circle (the comrade wins
    /// when both have it), ignoring case; `NotFound` if neither.
    pub async fn recipient_named(&self, name: String) -> Result<Recipient, TendError> {
        self.with(move |v| {
            Ok(match v.comrades().recipient_named(&name)? {
                To::Comrade(id) => Recipient::Comrade { id: id.to_string() },
                To::Circle(id) => Recipient::Circle { id: id.to_string() },
            })
        })
        .await
    }

    pub async fn comrades(&self) -> Result<Vec<Comrade>, TendError> {
        self.with(|v| {
            Ok(v.comrades()
                .list()?
                .into_iter()
                .map(Comrade::from)
                .collect())
        })
        .await
    }

    /// 60 digits, in 12 groups of 5 separated by spaces.
    pub async fn safety_number(&self, comrade_id: String) -> Result<String, TendError> {
        self.with(move |v| Ok(v.comrades().safety_number(comrade_id.parse()?)?.to_string()))
            .await
    }

    pub async fn mark_verified(&self, comrade_id: String) -> Result<Comrade, TendError> {
        self.with(move |v| Ok(v.comrades().mark_verified(comrade_id.parse()?)?.into()))
            .await
    }

    pub async fn block_comrade(&self, comrade_id: String) -> Result<Comrade, TendError> {
        self.with(move |v| Ok(v.comrades().block(comrade_id.parse()?)?.into()))
            .await
    }

    pub async fn remove_comrade(&self, comrade_id: String) -> Result<(), TendError> {
        self.with(move |v| Ok(v.comrades().remove(comrade_id.parse()?)?))
            .await
    }

    pub async fn create_circle(&self, name: String) -> Result<Circle, TendError> {
        self.with(move |v| Ok(v.comrades().create_circle(&name)?.into()))
            .await
    }

    pub async fn add_to_circle(
        &self,
        circle_id: String,
        comrade_id: String,
    ) -> Result<Circle, TendError> {
        self.with(move |v| {
            Ok(v.comrades()
                .add_to_circle(circle_id.parse()?, comrade_id.parse()?)?
                .into())
        })
        .await
    }

    pub async fn circles(&self) -> Result<Vec<Circle>, TendError> {
        self.with(|v| {
            Ok(v.comrades()
                .circles()?
                .into_iter()
                .map(Circle::from)
                .collect())
        })
        .await
    }

    /// Seals `body` of `kind` to comrades and circles; kept in the outbox.
    pub async fn seal(
        &self,
        kind: String,
        body: Vec<u8>,
        to: Vec<Recipient>,
        expires_at_ms: Option<i64>,
    ) -> Result<Sealed, TendError> {
        self.with(move |v| {
            let to = targets(to)?;
            let expires_at = expires_at_ms.map(|t| from_ms(t, "expiry")).transpose()?;
            Ok(v.envelopes()
                .seal(&Outgoing {
                    kind: &kind,
                    body: &body,
                    to: &to,
                    expires_at,
                })?
                .into())
        })
        .await
    }

    /// Opens an envelope, binary or armored: into the inbox, or for care and
    /// gathering kinds into those (whose rules may refuse it).
    pub async fn open_envelope(&self, envelope: Vec<u8>) -> Result<Opened, TendError> {
        self.with(move |v| Ok(v.envelopes().open(&envelope)?.into()))
            .await
    }

    pub async fn inbox(&self, kind: Option<String>) -> Result<Vec<InboxItem>, TendError> {
        self.with(move |v| {
            Ok(v.envelopes()
                .inbox(kind.as_deref())?
                .into_iter()
                .map(|i| InboxItem {
                    received_at_ms: ms(i.received_at),
                    opened: i.opened.into(),
                })
                .collect())
        })
        .await
    }

    pub async fn outbox(&self) -> Result<Vec<Sealed>, TendError> {
        self.with(|v| {
            Ok(v.envelopes()
                .outbox()?
                .into_iter()
                .map(|o| o.sealed.into())
                .collect())
        })
        .await
    }

    /// Shares a journal entry, with an optional note.
    pub async fn share_entry(
        &self,
        entry_id: String,
        to: Vec<Recipient>,
        note: Option<String>,
    ) -> Result<Sealed, TendError> {
        self.with(move |v| {
            Ok(v.journal()
                .share(entry_id.parse()?, &targets(to)?, note.as_deref())?
                .into())
        })
        .await
    }

    /// Entries comrades shared with me, newest first; never in my journal.
    pub async fn shared_with_me(&self) -> Result<Vec<SharedEntry>, TendError> {
        self.with(|v| {
            Ok(v.journal()
                .shared_with_me()?
                .into_iter()
                .map(|s| SharedEntry {
                    message_id: s.message_id.to_string(),
                    sender_name: s.from.name,
                    received_at_ms: ms(s.received_at),
                    note: s.note,
                    written_at_ms: s.written_at.timestamp_millis(),
                    utc_offset_seconds: s.written_at.offset().local_minus_utc(),
                    mood_label: s.mood.map(|m| m.label),
                    feelings: s.feelings,
                    activities: s.activities,
                    title: s.title,
                    body: s.body,
                })
                .collect())
        })
        .await
    }
}
