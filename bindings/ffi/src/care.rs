//! Care requests: post, offer, accept, withdraw, fulfil, thank, and the
//! three views. Envelopes come back as [`Sealed`] for the app to deliver;
//! arriving ones go through `open_envelope`.

use tend_core::care::{self as core, CareCategory, CareRole, CareStatus, CareUrgency, OfferState};

use crate::TendError;
use crate::sharing::{Recipient, Sealed, targets};
use crate::time::{from_ms, ms};
use crate::vault::TendVault;

#[derive(uniffi::Record)]
pub struct NewCareRequest {
    pub category: CareCategory,
    pub title: String,
    pub details: String,
    pub urgency: CareUrgency,
    pub needed_by_ms: Option<i64>,
    /// Defaults to the urgency's lifetime, or `needed_by_ms` if sooner.
    pub expires_at_ms: Option<i64>,
    /// Coarse, such as a neighbourhood.
    pub location: Option<String>,
    /// Someone without a phone the member asks for.
    pub on_behalf_of: Option<String>,
    pub to: Vec<Recipient>,
}

#[derive(uniffi::Record)]
pub struct CareRequest {
    pub id: String,
    /// `None` when I asked.
    pub requester_name: Option<String>,
    pub requester_id: Option<String>,
    pub category: CareCategory,
    pub title: String,
    pub details: String,
    pub urgency: CareUrgency,
    pub needed_by_ms: Option<i64>,
    pub expires_at_ms: i64,
    pub location: Option<String>,
    pub on_behalf_of: Option<String>,
    pub posted_at_ms: i64,
    pub status: CareStatus,
    pub role: CareRole,
    /// Someone else's offer was accepted: show "covered, thank you".
    pub covered: bool,
    /// The helper I accepted; only on my own requests.
    pub helper_name: Option<String>,
    pub thanks: Option<String>,
}

#[derive(uniffi::Record)]
pub struct Offer {
    pub id: String,
    pub request_id: String,
    /// `None` when I offered.
    pub helper_name: Option<String>,
    pub message: String,
    pub can_help_at_ms: Option<i64>,
    pub made_at_ms: i64,
    pub state: OfferState,
}

#[derive(uniffi::Record)]
pub struct MyRequest {
    pub request: CareRequest,
    pub offers: Vec<Offer>,
}

#[derive(uniffi::Record)]
pub struct Commitment {
    pub request: CareRequest,
    pub offer: Offer,
}

#[derive(uniffi::Record)]
pub struct PostedRequest {
    pub request: CareRequest,
    pub sealed: Sealed,
}

#[derive(uniffi::Record)]
pub struct OfferedHelp {
    pub offer: Offer,
    pub sealed: Sealed,
}

impl From<core::CareRequest> for CareRequest {
    fn from(r: core::CareRequest) -> Self {
        CareRequest {
            id: r.id.to_string(),
            covered: r.is_covered(),
            requester_id: r
                .requester
                .as_ref()
                .and_then(|p| p.comrade.map(|c| c.to_string())),
            requester_name: r.requester.map(|p| p.name),
            category: r.category,
            title: r.title,
            details: r.details,
            urgency: r.urgency,
            needed_by_ms: r.needed_by.map(ms),
            expires_at_ms: ms(r.expires_at),
            location: r.location,
            on_behalf_of: r.on_behalf_of,
            posted_at_ms: ms(r.posted_at),
            status: r.status,
            role: r.role,
            helper_name: r.helper.map(|p| p.name),
            thanks: r.thanks,
        }
    }
}

impl From<core::Offer> for Offer {
    fn from(o: core::Offer) -> Self {
        Offer {
            id: o.id.to_string(),
            request_id: o.request.to_string(),
            helper_name: o.helper.map(|p| p.name),
            message: o.message,
            can_help_at_ms: o.can_help_at.map(ms),
            made_at_ms: ms(o.made_at),
            state: o.state,
        }
    }
}

fn sealed_all(sealed: Vec<tend_core::envelope::Sealed>) -> Vec<Sealed> {
    sealed.into_iter().map(Sealed::from).collect()
}

#[uniffi::export]
impl TendVault {
    /// Asks comrades and circles for help; the envelope is in the outbox.
    pub async fn post_care_request(
        &self,
        request: NewCareRequest,
    ) -> Result<PostedRequest, TendError> {
        self.with(move |v| {
            let new = core::NewRequest {
                category: request.category,
                title: request.title,
                details: request.details,
                urgency: request.urgency,
                needed_by: request
                    .needed_by_ms
                    .map(|t| from_ms(t, "needed by"))
                    .transpose()?,
                expires_at: request
                    .expires_at_ms
                    .map(|t| from_ms(t, "expiry"))
                    .transpose()?,
                location: request.location,
                on_behalf_of: request.on_behalf_of,
                to: targets(request.to)?,
            };
            let posted = v.care().post(&new)?;
            Ok(PostedRequest {
                request: posted.request.into(),
                sealed: posted.sealed.into(),
            })
        })
        .await
    }

    /// Offers help; only the member who asked is told.
    pub async fn offer_help(
        &self,
        request_id: String,
        message: String,
        can_help_at_ms: Option<i64>,
    ) -> Result<OfferedHelp, TendError> {
        self.with(move |v| {
            let when = can_help_at_ms
                .map(|t| from_ms(t, "when you can help"))
                .transpose()?;
            let offered = v.care().offer_help(request_id.parse()?, &message, when)?;
            Ok(OfferedHelp {
                offer: offered.offer.into(),
                sealed: offered.sealed.into(),
            })
        })
        .await
    }

    /// Accepts one offer on my request: the accept for the helper, and
    /// "covered" for everyone asked.
    pub async fn accept_offer(&self, offer_id: String) -> Result<Vec<Sealed>, TendError> {
        self.with(move |v| Ok(sealed_all(v.care().accept(offer_id.parse()?)?)))
            .await
    }

    /// My request: withdraws it. Someone else's: takes back my offer.
    pub async fn withdraw_care(&self, request_id: String) -> Result<Vec<Sealed>, TendError> {
        self.with(move |v| Ok(sealed_all(v.care().withdraw(request_id.parse()?)?)))
            .await
    }

    /// Marks a matched request fulfilled: the member who asked, or the helper.
    pub async fn fulfil_care(&self, request_id: String) -> Result<Vec<Sealed>, TendError> {
        self.with(move |v| Ok(sealed_all(v.care().fulfil(request_id.parse()?)?)))
            .await
    }

    pub async fn thank_helper(
        &self,
        request_id: String,
        note: String,
    ) -> Result<Sealed, TendError> {
        self.with(move |v| Ok(v.care().thank(request_id.parse()?, &note)?.into()))
            .await
    }

    pub async fn care_request(&self, request_id: String) -> Result<CareRequest, TendError> {
        self.with(move |v| Ok(v.care().get(request_id.parse()?)?.into()))
            .await
    }

    /// Requests I posted, newest first, with their offers.
    pub async fn my_care_requests(&self) -> Result<Vec<MyRequest>, TendError> {
        self.with(|v| {
            Ok(v.care()
                .mine()?
                .into_iter()
                .map(|m| MyRequest {
                    request: m.request.into(),
                    offers: m.offers.into_iter().map(Offer::from).collect(),
                })
                .collect())
        })
        .await
    }

    /// Open requests I was asked about: most urgent, then longest waiting, first.
    pub async fn requests_i_could_help_with(
        &self,
        limit: u32,
    ) -> Result<Vec<CareRequest>, TendError> {
        self.with(move |v| {
            Ok(v.care()
                .could_help(limit)?
                .into_iter()
                .map(CareRequest::from)
                .collect())
        })
        .await
    }

    /// What I offered and may still do, or was accepted for.
    pub async fn my_commitments(&self) -> Result<Vec<Commitment>, TendError> {
        self.with(|v| {
            Ok(v.care()
                .commitments()?
                .into_iter()
                .map(|c| Commitment {
                    request: c.request.into(),
                    offer: c.offer.into(),
                })
                .collect())
        })
        .await
    }

    pub async fn search_care(
        &self,
        query: String,
        limit: u32,
    ) -> Result<Vec<CareRequest>, TendError> {
        self.with(move |v| {
            Ok(v.care()
                .search(&query, limit)?
                .into_iter()
                .map(CareRequest::from)
                .collect())
        })
        .await
    }

    pub async fn care_retention_days(&self) -> Result<u32, TendError> {
        self.with(|v| Ok(v.care().retention_days()?)).await
    }

    /// Returns how many closed requests were deleted at once.
    pub async fn set_care_retention_days(&self, days: u32) -> Result<u64, TendError> {
        self.with(move |v| Ok(v.care().set_retention_days(days)?))
            .await
    }
}
