//! Care rows in the vault, and the views members read.

use std::fmt;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::model::{
    CareCategory, CareRole, CareStatus, Commitment, MyRequest, Offer, OfferState, Person,
};
use super::wire::RequestBody;
use super::{Care, CareUrgency, OfferId, RequestId};
use crate::comrades::{self, IdentityKey};
use crate::redact::{MaybeText, Text};
use crate::time::from_ms;
use crate::{Error, Result};

/// A care request, as this vault knows it.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CareRequest {
    pub id: RequestId,
    /// `None` when I asked.
    pub requester: Option<Person>,
    pub category: CareCategory,
    pub title: String,
    pub details: String,
    pub urgency: CareUrgency,
    pub needed_by: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub location: Option<String>,
    pub on_behalf_of: Option<String>,
    pub posted_at: DateTime<Utc>,
    pub status: CareStatus,
    pub role: CareRole,
    /// Whose offer I accepted; only the requester knows.
    pub helper: Option<Person>,
    /// The thank-you note, sent or received.
    pub thanks: Option<String>,
    /// When its status last changed here.
    pub changed_at: DateTime<Utc>,
}

#[cfg_attr(feature = "uniffi", uniffi::export)]
impl CareRequest {
    /// Someone else's offer was accepted: all I learn is "covered, thank you".
    pub fn is_covered(&self) -> bool {
        matches!(self.status, CareStatus::Matched | CareStatus::Fulfilled)
            && matches!(self.role, CareRole::Offered | CareRole::Asked)
    }
}

impl fmt::Debug for CareRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CareRequest")
            .field("id", &self.id)
            .field("requester", &self.requester)
            .field("category", &self.category)
            .field("title", &Text(&self.title))
            .field("details", &Text(&self.details))
            .field("urgency", &self.urgency)
            .field("location", &MaybeText(self.location.as_deref()))
            .field("on_behalf_of", &MaybeText(self.on_behalf_of.as_deref()))
            .field("status", &self.status)
            .field("role", &self.role)
            .field("helper", &self.helper)
            .field("thanks", &MaybeText(self.thanks.as_deref()))
            .finish_non_exhaustive()
    }
}

/// The status as stored; `Expired` is derived from the expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stored {
    Open = 0,
    Matched = 1,
    Fulfilled = 2,
    Withdrawn = 3,
}

impl Stored {
    /// What members see: open past its expiry is expired.
    fn status(self, expires_at: i64, now: DateTime<Utc>) -> CareStatus {
        match self {
            Stored::Open if expires_at <= now.timestamp_millis() => CareStatus::Expired,
            Stored::Open => CareStatus::Open,
            Stored::Matched => CareStatus::Matched,
            Stored::Fulfilled => CareStatus::Fulfilled,
            Stored::Withdrawn => CareStatus::Withdrawn,
        }
    }

    fn from_code(code: i64) -> Result<Stored> {
        Ok(match code {
            0 => Stored::Open,
            1 => Stored::Matched,
            2 => Stored::Fulfilled,
            3 => Stored::Withdrawn,
            _ => return Err(Error::DatabaseDamaged),
        })
    }
}

/// What the rules need to know about a request.
pub(crate) struct State {
    pub seq: i64,
    /// `None` when I asked.
    pub requester: Option<IdentityKey>,
    pub stored: Stored,
    pub rev: u32,
    pub expires_at: i64,
    pub accepted_offer: Option<OfferId>,
}

impl State {
    pub fn status(&self, now: DateTime<Utc>) -> CareStatus {
        self.stored.status(self.expires_at, now)
    }
}

pub(crate) fn state(conn: &Connection, id: RequestId) -> Result<Option<State>> {
    conn.prepare_cached(
        "SELECT seq, requester, status, rev, expires_at, accepted_offer
         FROM care_requests WHERE id = ?1",
    )?
    .query_row([id.0.as_bytes().as_slice()], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Option<Vec<u8>>>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, u32>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, Option<Vec<u8>>>(5)?,
        ))
    })
    .optional()?
    .map(|(seq, requester, status, rev, expires_at, accepted)| {
        Ok(State {
            seq,
            requester: requester.map(IdentityKey::from_stored).transpose()?,
            stored: Stored::from_code(status)?,
            rev,
            expires_at,
            accepted_offer: accepted.map(|b| uuid(&b).map(OfferId)).transpose()?,
        })
    })
    .transpose()
}

/// Keeps a request; `requester` is `None` for mine. Indexed for search.
pub(crate) fn insert(
    conn: &Connection,
    body: &RequestBody,
    requester: Option<(&IdentityKey, &str)>,
    now: DateTime<Utc>,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO care_requests (id, requester, requester_name, category, title, details,
             urgency, needed_by, expires_at, location, on_behalf_of, posted_at, status, rev,
             changed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 0, 0, ?13)",
        params![
            body.id.0.as_bytes().as_slice(),
            requester.map(|(k, _)| k.as_bytes().as_slice()),
            requester.map(|(_, name)| name),
            body.category.code(),
            body.title,
            body.details,
            body.urgency.rank(),
            body.needed_by.map(|t| t.timestamp_millis()),
            body.expires_at.timestamp_millis(),
            body.location,
            body.on_behalf_of,
            body.posted_at.timestamp_millis(),
            now.timestamp_millis(),
        ],
    )?;
    let seq = conn.last_insert_rowid();
    conn.execute(
        "INSERT INTO care_fts (rowid, title, details, location) VALUES (?1, ?2, ?3, ?4)",
        params![
            seq,
            body.title,
            body.details,
            body.location.as_deref().unwrap_or("")
        ],
    )?;
    Ok(seq)
}

/// Moves a request to `stored` at revision `rev`; `accepted` replaces the
/// accepted offer when given.
pub(crate) fn set_status(
    conn: &Connection,
    seq: i64,
    stored: Stored,
    rev: u32,
    accepted: Option<Option<OfferId>>,
    now: DateTime<Utc>,
) -> Result<()> {
    let accepted_bytes = accepted.map(|a| a.map(|o| o.0.as_bytes().to_vec()));
    conn.execute(
        "UPDATE care_requests SET status = ?2, rev = ?3, changed_at = ?4,
             accepted_offer = CASE WHEN ?5 THEN ?6 ELSE accepted_offer END
         WHERE seq = ?1",
        params![
            seq,
            stored as i64,
            rev,
            now.timestamp_millis(),
            accepted_bytes.is_some(),
            accepted_bytes.flatten()
        ],
    )?;
    Ok(())
}

pub(crate) fn set_thanks(conn: &Connection, seq: i64, note: &str) -> Result<()> {
    conn.execute(
        "UPDATE care_requests SET thanks = ?2 WHERE seq = ?1",
        params![seq, note],
    )?;
    Ok(())
}

pub(crate) fn set_audience(conn: &Connection, seq: i64, keys: &[IdentityKey]) -> Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO care_audience (request, identity_key) VALUES (?1, ?2)",
    )?;
    for key in keys {
        insert.execute(params![seq, key.as_bytes().as_slice()])?;
    }
    Ok(())
}

pub(crate) fn audience(conn: &Connection, seq: i64) -> Result<Vec<IdentityKey>> {
    let mut stmt =
        conn.prepare_cached("SELECT identity_key FROM care_audience WHERE request = ?1")?;
    let rows = stmt.query_map([seq], |r| r.get::<_, Vec<u8>>(0))?;
    rows.map(|key| IdentityKey::from_stored(key?)).collect()
}

/// An offer as the rules see it.
pub(crate) struct OfferRow {
    pub request_seq: i64,
    pub request_id: RequestId,
    /// `None` when I offered.
    pub helper: Option<IdentityKey>,
    pub withdrawn: bool,
}

pub(crate) fn offer_row(conn: &Connection, id: OfferId) -> Result<Option<OfferRow>> {
    conn.prepare_cached(
        "SELECT o.request, r.id, o.helper, o.withdrawn
         FROM care_offers o JOIN care_requests r ON r.seq = o.request WHERE o.id = ?1",
    )?
    .query_row([id.0.as_bytes().as_slice()], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, Option<Vec<u8>>>(2)?,
            r.get::<_, bool>(3)?,
        ))
    })
    .optional()?
    .map(|(request_seq, request, helper, withdrawn)| {
        Ok(OfferRow {
            request_seq,
            request_id: RequestId(uuid(&request)?),
            helper: helper.map(IdentityKey::from_stored).transpose()?,
            withdrawn,
        })
    })
    .transpose()
}

pub(crate) struct NewOffer<'a> {
    pub id: OfferId,
    pub request_seq: i64,
    /// `None` when I offer.
    pub helper: Option<(&'a IdentityKey, &'a str)>,
    pub message: &'a str,
    pub can_help_at: Option<DateTime<Utc>>,
    pub made_at: DateTime<Utc>,
}

pub(crate) fn insert_offer(conn: &Connection, offer: &NewOffer<'_>) -> Result<()> {
    conn.execute(
        "INSERT INTO care_offers (id, request, helper, helper_name, message, can_help_at, made_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            offer.id.0.as_bytes().as_slice(),
            offer.request_seq,
            offer.helper.map(|(k, _)| k.as_bytes().as_slice()),
            offer.helper.map(|(_, n)| n),
            offer.message,
            offer.can_help_at.map(|t| t.timestamp_millis()),
            offer.made_at.timestamp_millis(),
        ],
    )?;
    Ok(())
}

pub(crate) fn withdraw_offer(conn: &Connection, id: OfferId) -> Result<()> {
    conn.execute(
        "UPDATE care_offers SET withdrawn = 1 WHERE id = ?1",
        [id.0.as_bytes().as_slice()],
    )?;
    Ok(())
}

/// My offers on a request that I have not taken back.
pub(crate) fn my_live_offers(conn: &Connection, request_seq: i64) -> Result<Vec<OfferId>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM care_offers WHERE request = ?1 AND helper IS NULL AND NOT withdrawn",
    )?;
    let rows = stmt.query_map([request_seq], |r| r.get::<_, Vec<u8>>(0))?;
    rows.map(|id| Ok(OfferId(uuid(&id?)?))).collect()
}

/// Columns for [`request_from_row`]: the request, its requester as I call
/// them, my role, and (for my own) the helper I accepted.
const REQUEST_SELECT: &str = "
    SELECT r.id, r.requester, r.requester_name, r.category, r.title,
           r.details, r.urgency, r.needed_by, r.expires_at, r.location, r.on_behalf_of,
           r.posted_at, r.status, r.changed_at, r.thanks,
           CASE WHEN r.requester IS NULL THEN 0
                WHEN a.seq IS NOT NULL AND a.helper IS NULL THEN 1
                WHEN EXISTS (SELECT 1 FROM care_offers m
                             WHERE m.request = r.seq AND m.helper IS NULL AND NOT m.withdrawn)
                    THEN 2
                ELSE 3 END,
           a.helper, a.helper_name
    FROM care_requests r
    LEFT JOIN care_offers a ON a.id = r.accepted_offer";

/// Someone taking part: as I call them now if they are my comrade, else
/// by the name they had when their message came.
fn person(conn: &Connection, key: Option<Vec<u8>>, name: Option<String>) -> Result<Option<Person>> {
    key.map(|key| {
        let known = comrades::known(conn, &IdentityKey::from_stored(key)?)?;
        Ok(match known {
            Some(k) => Person {
                comrade: Some(k.id),
                name: k.name,
            },
            None => Person {
                comrade: None,
                name: name.unwrap_or_default(),
            },
        })
    })
    .transpose()
}

fn request_from_row(conn: &Connection, r: &Row<'_>, now: DateTime<Utc>) -> Result<CareRequest> {
    let expires_ms: i64 = r.get(8)?;
    let status = Stored::from_code(r.get(12)?)?.status(expires_ms, now);
    Ok(CareRequest {
        id: RequestId(uuid(&r.get::<_, Vec<u8>>(0)?)?),
        requester: person(conn, r.get(1)?, r.get(2)?)?,
        category: r.get::<_, String>(3)?.parse()?,
        title: r.get(4)?,
        details: r.get(5)?,
        urgency: CareUrgency::from_rank(r.get(6)?)?,
        needed_by: r.get::<_, Option<i64>>(7)?.map(from_ms).transpose()?,
        expires_at: from_ms(expires_ms)?,
        location: r.get(9)?,
        on_behalf_of: r.get(10)?,
        posted_at: from_ms(r.get(11)?)?,
        status,
        changed_at: from_ms(r.get(13)?)?,
        thanks: r.get(14)?,
        role: match r.get::<_, i64>(15)? {
            0 => CareRole::Requester,
            1 => CareRole::Helper,
            2 => CareRole::Offered,
            _ => CareRole::Asked,
        },
        helper: person(conn, r.get(16)?, r.get(17)?)?,
    })
}

fn requests(
    conn: &Connection,
    filter_and_order: &str,
    params: impl rusqlite::Params,
    now: DateTime<Utc>,
) -> Result<Vec<CareRequest>> {
    let sql = format!("{REQUEST_SELECT} {filter_and_order}");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(request_from_row(conn, row, now)?);
    }
    Ok(out)
}

pub(crate) fn get(conn: &Connection, id: RequestId, now: DateTime<Utc>) -> Result<CareRequest> {
    requests(conn, "WHERE r.id = ?1", [id.0.as_bytes().as_slice()], now)?
        .pop()
        .ok_or(Error::NotFound {
            what: "care request",
        })
}

const OFFER_SELECT: &str = "
    SELECT o.id, r.id, o.helper, o.helper_name, o.message,
           o.can_help_at, o.made_at, o.withdrawn, o.id = r.accepted_offer, r.status
    FROM care_offers o
    JOIN care_requests r ON r.seq = o.request";

fn offer_from_row(conn: &Connection, r: &Row<'_>) -> Result<Offer> {
    let accepted = r.get::<_, Option<bool>>(8)?.unwrap_or(false);
    let matched = matches!(
        Stored::from_code(r.get(9)?)?,
        Stored::Matched | Stored::Fulfilled
    );
    Ok(Offer {
        id: OfferId(uuid(&r.get::<_, Vec<u8>>(0)?)?),
        request: RequestId(uuid(&r.get::<_, Vec<u8>>(1)?)?),
        helper: person(conn, r.get(2)?, r.get(3)?)?,
        message: r.get(4)?,
        can_help_at: r.get::<_, Option<i64>>(5)?.map(from_ms).transpose()?,
        made_at: from_ms(r.get(6)?)?,
        state: if r.get::<_, bool>(7)? {
            OfferState::Withdrawn
        } else if accepted {
            OfferState::Accepted
        } else if matched {
            OfferState::Declined
        } else {
            OfferState::Pending
        },
    })
}

fn offers(
    conn: &Connection,
    filter_and_order: &str,
    p: impl rusqlite::Params,
) -> Result<Vec<Offer>> {
    let sql = format!("{OFFER_SELECT} {filter_and_order}");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(p)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(offer_from_row(conn, row)?);
    }
    Ok(out)
}

pub(crate) fn get_offer(conn: &Connection, id: OfferId) -> Result<Offer> {
    offers(conn, "WHERE o.id = ?1", [id.0.as_bytes().as_slice()])?
        .pop()
        .ok_or(Error::NotFound { what: "offer" })
}

impl Care<'_> {
    pub fn get(&self, id: RequestId) -> Result<CareRequest> {
        self.vault.with_conn(|conn| get(conn, id, Utc::now()))
    }

    pub fn offer(&self, id: OfferId) -> Result<Offer> {
        self.vault.with_conn(|conn| get_offer(conn, id))
    }

    /// Requests I posted, newest first, each with its offers (oldest first).
    pub fn mine(&self) -> Result<Vec<MyRequest>> {
        let now = Utc::now();
        self.vault.with_conn(|conn| {
            let mine = requests(
                conn,
                "WHERE r.requester IS NULL ORDER BY r.posted_at DESC, r.seq DESC",
                [],
                now,
            )?;
            mine.into_iter()
                .map(|request| {
                    let offers = offers(
                        conn,
                        "WHERE r.id = ?1 ORDER BY o.made_at, o.seq",
                        [request.id.0.as_bytes().as_slice()],
                    )?;
                    Ok(MyRequest { request, offers })
                })
                .collect()
        })
    }

    /// Open requests comrades asked me about: the most urgent first, and
    /// within the same urgency the longest waiting, so the loudest are not
    /// served first. Expired ones are left out.
    pub fn could_help(&self, limit: u32) -> Result<Vec<CareRequest>> {
        let now = Utc::now();
        self.vault.with_conn(|conn| {
            requests(
                conn,
                // Pinned: without statistics SQLite would rather sort every open request.
                "WHERE r.seq IN (
                     SELECT seq FROM care_requests INDEXED BY care_could_help
                     WHERE status = 0 AND requester IS NOT NULL AND expires_at > ?1
                     ORDER BY urgency, posted_at, seq LIMIT ?2)
                 ORDER BY r.urgency, r.posted_at, r.seq",
                params![now.timestamp_millis(), limit],
                now,
            )
        })
    }

    /// What I offered and may still do, or was accepted for: accepted
    /// ones first, then by the time I said I could help.
    pub fn commitments(&self) -> Result<Vec<Commitment>> {
        let now = Utc::now();
        self.vault.with_conn(|conn| {
            let mine = offers(
                conn,
                "WHERE o.helper IS NULL AND NOT o.withdrawn
                   AND r.requester IS NOT NULL
                   AND (o.id = r.accepted_offer AND r.status = 1
                        OR r.status = 0 AND r.expires_at > ?1)
                 ORDER BY o.id = r.accepted_offer DESC, o.can_help_at IS NULL,
                          o.can_help_at, o.made_at",
                [now.timestamp_millis()],
            )?;
            mine.into_iter()
                .map(|offer| {
                    Ok(Commitment {
                        request: get(conn, offer.request, now)?,
                        offer,
                    })
                })
                .collect()
        })
    }

    /// Requests whose title, details or place mention all these words,
    /// newest first.
    pub fn search(&self, query: &str, limit: u32) -> Result<Vec<CareRequest>> {
        let Some(query) = crate::fts::query(query) else {
            return Ok(Vec::new());
        };
        let now = Utc::now();
        self.vault.with_conn(|conn| {
            requests(
                conn,
                "WHERE r.seq IN (SELECT rowid FROM care_fts WHERE care_fts MATCH ?1)
                 ORDER BY r.posted_at DESC LIMIT ?2",
                params![query, limit],
                now,
            )
        })
    }
}

fn uuid(bytes: &[u8]) -> Result<uuid::Uuid> {
    uuid::Uuid::from_slice(bytes).map_err(|_| Error::DatabaseDamaged)
}
