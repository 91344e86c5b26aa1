//! Collectives: found one, add and remove members and stewards, propose
//! and accept agreements, leave. Changes come back as `Sealed` for the app
//! to deliver; arriving ones go through `open_envelope`, and the listener
//! hears `Change.COLLECTIVES`.

use chrono::Duration;
use tend_core::collective::{
    Collective, IssuedPass, JoinedVisit, MadeChange, Member, Settings, VisitedCollective,
};
use tend_core::envelope::Sealed;

use crate::TendError;
use crate::vault::TendVault;

#[uniffi::export]
impl TendVault {
    /// Founds a collective with me as its first member and steward;
    /// `agreements` is its first version (accepted by me), or none.
    pub async fn create_collective(
        &self,
        name: String,
        agreements: Option<String>,
    ) -> Result<Collective, TendError> {
        self.with(move |v| Ok(v.collectives().create(&name, agreements.as_deref())?))
            .await
    }

    /// The agreements a new collective may start with (the zine's
    /// restorative gathering).
    pub fn starter_agreements(&self) -> String {
        tend_core::collective::STARTER_AGREEMENTS.to_owned()
    }

    /// The collectives I keep, in the order I joined them.
    pub async fn collectives(&self) -> Result<Vec<Collective>, TendError> {
        self.with(|v| Ok(v.collectives().list()?)).await
    }

    pub async fn collective(&self, collective_id: String) -> Result<Collective, TendError> {
        self.with(move |v| Ok(v.collectives().get(collective_id.parse()?)?))
            .await
    }

    /// Stewards first, then by name.
    pub async fn collective_members(
        &self,
        collective_id: String,
    ) -> Result<Vec<Member>, TendError> {
        self.with(move |v| Ok(v.collectives().members(collective_id.parse()?)?))
            .await
    }

    /// A steward adds comrades; they are sent the collective and the
    /// members' cards.
    pub async fn add_collective_members(
        &self,
        collective_id: String,
        comrade_ids: Vec<String>,
    ) -> Result<MadeChange, TendError> {
        self.with(move |v| {
            let ids = comrade_ids
                .iter()
                .map(|id| id.parse())
                .collect::<Result<Vec<_>, _>>()?;
            Ok(v.collectives().add_members(collective_id.parse()?, &ids)?)
        })
        .await
    }

    pub async fn remove_collective_member(
        &self,
        collective_id: String,
        comrade_id: String,
    ) -> Result<MadeChange, TendError> {
        self.with(move |v| {
            Ok(v.collectives()
                .remove_member(collective_id.parse()?, comrade_id.parse()?)?)
        })
        .await
    }

    /// Leaves: the members are told, and this vault forgets the collective.
    pub async fn leave_collective(&self, collective_id: String) -> Result<Vec<Sealed>, TendError> {
        self.with(move |v| Ok(v.collectives().leave(collective_id.parse()?)?))
            .await
    }

    pub async fn add_steward(
        &self,
        collective_id: String,
        comrade_id: String,
    ) -> Result<MadeChange, TendError> {
        self.with(move |v| {
            Ok(v.collectives()
                .add_steward(collective_id.parse()?, comrade_id.parse()?)?)
        })
        .await
    }

    pub async fn remove_steward(
        &self,
        collective_id: String,
        comrade_id: String,
    ) -> Result<MadeChange, TendError> {
        self.with(move |v| {
            Ok(v.collectives()
                .remove_steward(collective_id.parse()?, comrade_id.parse()?)?)
        })
        .await
    }

    /// A steward's next version of the agreements; `major` asks every
    /// member to accept again.
    pub async fn propose_agreements(
        &self,
        collective_id: String,
        text: String,
        major: bool,
    ) -> Result<MadeChange, TendError> {
        self.with(move |v| {
            Ok(v.collectives()
                .propose_agreements(collective_id.parse()?, &text, major)?)
        })
        .await
    }

    pub async fn accept_agreements(&self, collective_id: String) -> Result<MadeChange, TendError> {
        self.with(move |v| Ok(v.collectives().accept_agreements(collective_id.parse()?)?))
            .await
    }

    pub async fn rename_collective(
        &self,
        collective_id: String,
        name: String,
    ) -> Result<MadeChange, TendError> {
        self.with(move |v| Ok(v.collectives().rename(collective_id.parse()?, &name)?))
            .await
    }

    /// A steward changes the collective's settings, all at once: the day
    /// to review the agreements (every member is reminded through
    /// `nextReminders`), and whether visitors must come to a gathering.
    pub async fn set_collective_settings(
        &self,
        collective_id: String,
        settings: Settings,
    ) -> Result<MadeChange, TendError> {
        self.with(move |v| {
            Ok(v.collectives()
                .set_settings(collective_id.parse()?, &settings)?)
        })
        .await
    }

    /// Receives on the relays the collective asks its members to use, as
    /// well as mine; comrades are sent my new card. The relays added.
    pub async fn use_collective_relays(
        &self,
        collective_id: String,
    ) -> Result<Vec<String>, TendError> {
        self.with(move |v| {
            Ok(v.delivery()
                .use_collective_relays(collective_id.parse()?)?
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect())
        })
        .await
    }

    /// A visitor pass for someone who may join, valid for `valid_for` (at
    /// most 90 days): show its text as a QR code. It opens the collective's
    /// face (name, agreements) to one visitor, never its members.
    pub async fn issue_visitor_pass(
        &self,
        collective_id: String,
        valid_for: Duration,
    ) -> Result<IssuedPass, TendError> {
        self.with(move |v| {
            Ok(v.collectives()
                .issue_pass(collective_id.parse()?, valid_for)?)
        })
        .await
    }

    /// In the visitor's vault: joins with a pass (`TENDPASS:…`); the envelope
    /// tells its member, whose vault sends back the collective's face.
    pub async fn join_with_pass(&self, pass: String) -> Result<JoinedVisit, TendError> {
        self.with(move |v| Ok(v.collectives().join_with_pass(&pass)?))
            .await
    }

    /// The collectives I visit with a pass, and what their faces show.
    pub async fn visited_collectives(&self) -> Result<Vec<VisitedCollective>, TendError> {
        self.with(|v| Ok(v.collectives().visits()?)).await
    }

    /// I vouch for a visitor I hold the card of; only the stewards learn who.
    pub async fn vouch_for_visitor(
        &self,
        collective_id: String,
        comrade_id: String,
    ) -> Result<Vec<Sealed>, TendError> {
        self.with(move |v| {
            Ok(v.collectives()
                .vouch(collective_id.parse()?, comrade_id.parse()?)?)
        })
        .await
    }

    /// A steward admits a visitor directly.
    pub async fn admit_visitor(
        &self,
        collective_id: String,
        comrade_id: String,
    ) -> Result<MadeChange, TendError> {
        self.with(move |v| {
            Ok(v.collectives()
                .admit(collective_id.parse()?, comrade_id.parse()?)?)
        })
        .await
    }
}
