//! Identity, comrade cards, safety numbers, comrades, circles, envelopes,
//! and sharing journal entries.

use chrono::{DateTime, Utc};
use tend_core::comrades::{Card, Circle, Comrade, Recipient};
use tend_core::envelope::{InboxItem, Opened, Outgoing, Sealed};
use tend_core::journal::SharedEntry;

use crate::TendError;
use crate::vault::TendVault;

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
            Ok(v.comrades().add(&card, name.as_deref())?.comrade().clone())
        })
        .await
    }

    /// Whom a typed name means: a comrade, else a circle (the comrade wins
    /// when both have it), ignoring case; `NotFound` if neither.
    pub async fn recipient_named(&self, name: String) -> Result<Recipient, TendError> {
        self.with(move |v| Ok(v.comrades().recipient_named(&name)?))
            .await
    }

    pub async fn comrades(&self) -> Result<Vec<Comrade>, TendError> {
        self.with(|v| Ok(v.comrades().list()?)).await
    }

    /// 60 digits, in 12 groups of 5 separated by spaces.
    pub async fn safety_number(&self, comrade_id: String) -> Result<String, TendError> {
        self.with(move |v| Ok(v.comrades().safety_number(comrade_id.parse()?)?.to_string()))
            .await
    }

    /// After meeting in person, ends an identity conflict (two of their
    /// cards forked): `card` is what their phone shows now. Verified again.
    pub async fn resolve_identity_conflict(
        &self,
        comrade_id: String,
        card: String,
    ) -> Result<Comrade, TendError> {
        self.with(move |v| {
            let card = Card::parse(&card)?;
            Ok(v.comrades().resolve_conflict(comrade_id.parse()?, &card)?)
        })
        .await
    }

    /// Sets up my recovery key, once (at creation, or as an upgrade step the
    /// app shows): its twelve words, to show the member once and never keep.
    pub async fn set_up_recovery(&self) -> Result<String, TendError> {
        self.with(|v| Ok(v.set_up_recovery()?.words().to_string()))
            .await
    }

    /// When my recovery key was set up; `None` until it is.
    pub async fn recovery_set_up_at(&self) -> Result<Option<DateTime<Utc>>, TendError> {
        self.with(|v| Ok(v.recovery_set_up_at()?)).await
    }

    /// On a new phone: the statement (`TENDR:…`), signed with the old
    /// identity's recovery words, that this vault's identity replaces it.
    pub async fn replacement_statement(&self, words: String) -> Result<String, TendError> {
        self.with(move |v| Ok(v.replacement_statement(&words)?.to_text()))
            .await
    }

    /// Takes a comrade's replacement statement: their new identity replaces
    /// the one whose card commits to the recovery key that signed it.
    pub async fn accept_replacement(&self, statement: String) -> Result<Comrade, TendError> {
        self.with(move |v| {
            let statement = tend_core::identity::Replacement::parse(&statement)
                .map_err(tend_core::Error::from)?;
            Ok(v.comrades().accept_replacement(&statement)?)
        })
        .await
    }

    pub async fn mark_verified(&self, comrade_id: String) -> Result<Comrade, TendError> {
        self.with(move |v| Ok(v.comrades().mark_verified(comrade_id.parse()?)?))
            .await
    }

    pub async fn block_comrade(&self, comrade_id: String) -> Result<Comrade, TendError> {
        self.with(move |v| Ok(v.comrades().block(comrade_id.parse()?)?))
            .await
    }

    pub async fn remove_comrade(&self, comrade_id: String) -> Result<(), TendError> {
        self.with(move |v| Ok(v.comrades().remove(comrade_id.parse()?)?))
            .await
    }

    pub async fn create_circle(&self, name: String) -> Result<Circle, TendError> {
        self.with(move |v| Ok(v.comrades().create_circle(&name)?))
            .await
    }

    pub async fn add_to_circle(
        &self,
        circle_id: String,
        comrade_id: String,
    ) -> Result<Circle, TendError> {
        self.with(move |v| {
            Ok(v.comrades()
                .add_to_circle(circle_id.parse()?, comrade_id.parse()?)?)
        })
        .await
    }

    pub async fn circles(&self) -> Result<Vec<Circle>, TendError> {
        self.with(|v| Ok(v.comrades().circles()?)).await
    }

    /// Seals `body` of `kind` to comrades and circles; kept in the outbox.
    pub async fn seal(
        &self,
        kind: String,
        body: Vec<u8>,
        to: Vec<Recipient>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<Sealed, TendError> {
        self.with(move |v| {
            Ok(v.envelopes().seal(&Outgoing {
                kind: &kind,
                body: &body,
                to: &to,
                expires_at,
            })?)
        })
        .await
    }

    /// Opens an envelope, binary or armored: into the inbox, or for care and
    /// gathering kinds into those (whose rules may refuse it).
    pub async fn open_envelope(&self, envelope: Vec<u8>) -> Result<Opened, TendError> {
        self.with(move |v| Ok(v.envelopes().open(&envelope)?)).await
    }

    pub async fn inbox(&self, kind: Option<String>) -> Result<Vec<InboxItem>, TendError> {
        self.with(move |v| Ok(v.envelopes().inbox(kind.as_deref())?))
            .await
    }

    /// Deletes one inbox item for good; the same envelope arriving again is refused.
    pub async fn delete_from_inbox(&self, message_id: String) -> Result<(), TendError> {
        self.with(move |v| Ok(v.envelopes().delete_from_inbox(message_id.parse()?)?))
            .await
    }

    pub async fn outbox(&self) -> Result<Vec<Sealed>, TendError> {
        self.with(|v| {
            Ok(v.envelopes()
                .outbox()?
                .into_iter()
                .map(|o| o.sealed)
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
        self.with(move |v| Ok(v.journal().share(entry_id.parse()?, &to, note.as_deref())?))
            .await
    }

    /// Entries comrades shared with me, newest first; never in my journal.
    pub async fn shared_with_me(&self) -> Result<Vec<SharedEntry>, TendError> {
        self.with(|v| Ok(v.journal().shared_with_me()?)).await
    }
}
