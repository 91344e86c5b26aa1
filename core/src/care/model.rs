//! What a care request and an offer are, as members see them.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{OfferId, RequestId};
use crate::comrades::ComradeId;
use crate::envelope::Recipient;
use crate::redact::{MaybeText, Text};
use crate::{Error, Result};

/// Limits, the same for what I write and what arrives.
pub(crate) const MAX_TITLE_CHARS: usize = 120;
pub(crate) const MAX_DETAILS_CHARS: usize = 2_000;
pub(crate) const MAX_LOCATION_CHARS: usize = 120;
pub(crate) const MAX_NAME_CHARS: usize = 64;
pub(crate) const MAX_MESSAGE_CHARS: usize = 1_000;
/// How far ahead a request may expire or be needed.
pub(crate) const MAX_AHEAD_DAYS: i64 = 366;

macro_rules! coded_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
        pub enum $name {
            $(#[serde(rename = $code)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The code used on the wire, in the vault and on the command line.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                match s {
                    $($code => Ok($name::$variant),)+
                    _ => Err(Error::invalid($what, "not one Tend knows")),
                }
            }
        }
    };
}

coded_enum!(
    /// What kind of help is asked for.
    CareCategory, "category" {
        Ride = "ride",
        Food = "food",
        Groceries = "groceries",
        Childcare = "childcare",
        Talk = "talk",
        Housing = "housing",
        Money = "money",
        Errand = "errand",
        Other = "other",
    }
);

impl CareCategory {
    /// How to say it in a sentence: "asks for {label}".
    pub fn label(self) -> &'static str {
        match self {
            CareCategory::Ride => "a ride",
            CareCategory::Food => "food or a meal",
            CareCategory::Groceries => "groceries",
            CareCategory::Childcare => "childcare",
            CareCategory::Talk => "someone to talk to",
            CareCategory::Housing => "housing",
            CareCategory::Money => "money",
            CareCategory::Errand => "an errand",
            CareCategory::Other => "help",
        }
    }
}

coded_enum!(
    /// How soon help is needed; "requests I could help with" sort by it.
    CareUrgency, "urgency" {
        Now = "now",
        Today = "today",
        ThisWeek = "this-week",
        Flexible = "flexible",
    }
);

impl CareUrgency {
    /// How long a request stays open unless the member says otherwise.
    pub fn default_lifetime(self) -> Duration {
        match self {
            CareUrgency::Now => Duration::hours(6),
            CareUrgency::Today => Duration::hours(24),
            CareUrgency::ThisWeek => Duration::days(7),
            CareUrgency::Flexible => Duration::days(30),
        }
    }

    pub(crate) fn rank(self) -> i64 {
        match self {
            CareUrgency::Now => 0,
            CareUrgency::Today => 1,
            CareUrgency::ThisWeek => 2,
            CareUrgency::Flexible => 3,
        }
    }

    pub(crate) fn from_rank(rank: i64) -> Result<CareUrgency> {
        CareUrgency::ALL
            .iter()
            .copied()
            .find(|u| u.rank() == rank)
            .ok_or(Error::DatabaseDamaged)
    }
}

/// Where a request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum CareStatus {
    Open,
    /// An offer was accepted. Those not chosen see it as covered.
    Matched,
    Fulfilled,
    Withdrawn,
    /// Open past its expiry, with no offer accepted.
    Expired,
}

impl CareStatus {
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            CareStatus::Fulfilled | CareStatus::Withdrawn | CareStatus::Expired
        )
    }
}

impl fmt::Display for CareStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CareStatus::Open => "open",
            CareStatus::Matched => "matched",
            CareStatus::Fulfilled => "fulfilled",
            CareStatus::Withdrawn => "withdrawn",
            CareStatus::Expired => "expired",
        })
    }
}

/// My part in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum CareRole {
    /// I asked.
    Requester,
    /// My offer was accepted.
    Helper,
    /// I offered; it was not (or not yet) accepted.
    Offered,
    /// I was asked and have not offered.
    Asked,
}

/// Someone taking part, as I call them.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Person {
    /// `None` once they are no longer among my comrades.
    pub comrade: Option<ComradeId>,
    pub name: String,
}

impl fmt::Debug for Person {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Person")
            .field("comrade", &self.comrade)
            .field("name", &Text(&self.name))
            .finish()
    }
}

/// A request to post.
#[derive(Clone)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NewCareRequest {
    pub category: CareCategory,
    pub title: String,
    pub details: String,
    pub urgency: CareUrgency,
    pub needed_by: Option<DateTime<Utc>>,
    /// Defaults to the urgency's lifetime, or `needed_by` if that is sooner.
    pub expires_at: Option<DateTime<Utc>>,
    /// Coarse, such as a neighbourhood: the request reaches several people.
    pub location: Option<String>,
    /// The name of someone without a phone I am asking for.
    pub on_behalf_of: Option<String>,
    /// Comrades and circles to ask.
    pub to: Vec<Recipient>,
}

impl NewCareRequest {
    pub fn new(
        category: CareCategory,
        title: &str,
        urgency: CareUrgency,
        to: Vec<Recipient>,
    ) -> NewCareRequest {
        NewCareRequest {
            category,
            title: title.to_owned(),
            details: String::new(),
            urgency,
            needed_by: None,
            expires_at: None,
            location: None,
            on_behalf_of: None,
            to,
        }
    }

    pub(crate) fn expiry(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.expires_at.unwrap_or_else(|| {
            let by_urgency = now + self.urgency.default_lifetime();
            self.needed_by.map_or(by_urgency, |n| n.min(by_urgency))
        })
    }
}

impl fmt::Debug for NewCareRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewCareRequest")
            .field("category", &self.category)
            .field("title", &Text(&self.title))
            .field("details", &Text(&self.details))
            .field("urgency", &self.urgency)
            .field("needed_by", &self.needed_by)
            .field("expires_at", &self.expires_at)
            .field("location", &MaybeText(self.location.as_deref()))
            .field("on_behalf_of", &MaybeText(self.on_behalf_of.as_deref()))
            .field("to", &self.to)
            .finish()
    }
}

/// Where an offer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum OfferState {
    Pending,
    Accepted,
    /// Another offer was accepted: "covered, thank you".
    Declined,
    /// The helper took it back.
    Withdrawn,
}

/// An offer of help.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Offer {
    pub id: OfferId,
    pub request: RequestId,
    /// `None` when I offered.
    pub helper: Option<Person>,
    pub message: String,
    /// When the helper said they can help.
    pub can_help_at: Option<DateTime<Utc>>,
    pub made_at: DateTime<Utc>,
    pub state: OfferState,
}

impl fmt::Debug for Offer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Offer")
            .field("id", &self.id)
            .field("request", &self.request)
            .field("helper", &self.helper)
            .field("message", &Text(&self.message))
            .field("can_help_at", &self.can_help_at)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// A request I posted, with every offer on it.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MyRequest {
    pub request: super::CareRequest,
    pub offers: Vec<Offer>,
}

/// Something I offered to do, or was accepted for.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Commitment {
    pub request: super::CareRequest,
    pub offer: Offer,
}

/// Trims, and checks a required text against its limit.
pub(crate) fn clean_text(text: &str, field: &'static str, max: usize) -> Result<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    check_len(text, field, max)?;
    Ok(text.to_owned())
}

/// Trims an optional text; empty means none.
pub(crate) fn clean_optional(
    text: Option<&str>,
    field: &'static str,
    max: usize,
) -> Result<Option<String>> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => {
            check_len(t, field, max)?;
            Ok(Some(t.to_owned()))
        }
        None => Ok(None),
    }
}

fn check_len(text: &str, field: &'static str, max: usize) -> Result<()> {
    if text.chars().count() > max {
        return Err(Error::invalid(field, "too long"));
    }
    Ok(())
}
