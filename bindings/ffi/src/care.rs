//! Care requests: post, offer, accept, withdraw, fulfil, thank, and the
//! three views. Envelopes come back as `Sealed` for the app to deliver;
//! arriving ones go through `open_envelope`.

use chrono::{DateTime, Utc};
use tend_core::care::{
    CareRequest, Commitment, MyRequest, NewCareRequest, OfferedHelp, PostedRequest,
};
use tend_core::envelope::Sealed;

use crate::TendError;
use crate::numbers::{big_count, count, from_app};
use crate::vault::TendVault;

#[uniffi::export]
impl TendVault {
    /// Asks comrades and circles for help; the envelope is in the outbox.
    pub async fn post_care_request(
        &self,
        request: NewCareRequest,
    ) -> Result<PostedRequest, TendError> {
        self.with(move |v| Ok(v.care().post(&request)?)).await
    }

    /// Offers help; only the member who asked is told.
    pub async fn offer_help(
        &self,
        request_id: String,
        message: String,
        can_help_at: Option<DateTime<Utc>>,
    ) -> Result<OfferedHelp, TendError> {
        self.with(move |v| {
            Ok(v.care()
                .offer_help(request_id.parse()?, &message, can_help_at)?)
        })
        .await
    }

    /// Accepts one offer on my request: the accept for the helper, and
    /// "covered" for everyone asked.
    pub async fn accept_offer(&self, offer_id: String) -> Result<Vec<Sealed>, TendError> {
        self.with(move |v| Ok(v.care().accept(offer_id.parse()?)?))
            .await
    }

    /// My request: withdraws it. Someone else's: takes back my offer.
    pub async fn withdraw_care(&self, request_id: String) -> Result<Vec<Sealed>, TendError> {
        self.with(move |v| Ok(v.care().withdraw(request_id.parse()?)?))
            .await
    }

    /// Marks a matched request fulfilled: the member who asked, or the helper.
    pub async fn fulfil_care(&self, request_id: String) -> Result<Vec<Sealed>, TendError> {
        self.with(move |v| Ok(v.care().fulfil(request_id.parse()?)?))
            .await
    }

    pub async fn thank_helper(
        &self,
        request_id: String,
        note: String,
    ) -> Result<Sealed, TendError> {
        self.with(move |v| Ok(v.care().thank(request_id.parse()?, &note)?))
            .await
    }

    pub async fn care_request(&self, request_id: String) -> Result<CareRequest, TendError> {
        self.with(move |v| Ok(v.care().get(request_id.parse()?)?))
            .await
    }

    /// Requests I posted, newest first, with their offers.
    pub async fn my_care_requests(&self) -> Result<Vec<MyRequest>, TendError> {
        self.with(|v| Ok(v.care().mine()?)).await
    }

    /// Open requests I was asked about: most urgent, then longest waiting, first.
    pub async fn requests_i_could_help_with(
        &self,
        limit: i32,
    ) -> Result<Vec<CareRequest>, TendError> {
        let limit = from_app(limit, "limit")?;
        self.with(move |v| Ok(v.care().could_help(limit)?)).await
    }

    /// What I offered and may still do, or was accepted for.
    pub async fn my_commitments(&self) -> Result<Vec<Commitment>, TendError> {
        self.with(|v| Ok(v.care().commitments()?)).await
    }

    pub async fn search_care(
        &self,
        query: String,
        limit: i32,
    ) -> Result<Vec<CareRequest>, TendError> {
        let limit = from_app(limit, "limit")?;
        self.with(move |v| Ok(v.care().search(&query, limit)?))
            .await
    }

    pub async fn care_retention_days(&self) -> Result<i32, TendError> {
        self.with(|v| Ok(count(v.care().retention_days()?))).await
    }

    /// Returns how many closed requests were deleted at once.
    pub async fn set_care_retention_days(&self, days: i32) -> Result<i64, TendError> {
        let days = from_app(days, "retention days")?;
        self.with(move |v| Ok(big_count(v.care().set_retention_days(days)?)))
            .await
    }
}
