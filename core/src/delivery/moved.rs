//! Telling the copy I left behind that I moved. A restored vault (the new
//! phone) seals a `device.moved` notice to me alone and publishes it to my
//! own mailbox, again each week for [`NOTICE_FOR`]. A copy born before it
//! (the old phone) opens it at its next sync, which fetches before it
//! publishes anything, and retires: read-only, it never sends again, so two
//! copies never publish as one member. Spec: `docs/delivery.md`, "Moving".

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, Transaction};
use serde::{Deserialize, Serialize};

use super::outbound::{self, ParcelId};
use super::{EVENT_LIFETIME, LONGEST_STAY, Parcel};
use crate::envelope::{self, Checked, EnvelopeError, KindHandler, MessageId, Opened, Outgoing};
use crate::identity::{self, mailbox, relays};
use crate::vault::{retirement, settings};
use crate::{Error, Result};

/// The kind of the notice a newer copy of my vault sends me.
pub const DEVICE_MOVED: &str = "device.moved";
/// How often a restored copy tells the old one: an old phone that was off
/// reads my mailboxes of the last [`LONGEST_STAY`], so it finds the newest.
pub const NOTICE_EVERY: Duration = Duration::days(7);
/// How long after its restore a copy keeps telling.
pub const NOTICE_FOR: Duration = Duration::days(91);
const _: () = assert!(NOTICE_EVERY.num_seconds() < LONGEST_STAY.num_seconds());

const LAST_NOTICE: &str = "move_notice";
const LAST_NOTICE_AT: &str = "move_notice_at";

/// The body: which copy took over, and when it was born.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Notice {
    copy: uuid::Uuid,
    born_at: DateTime<Utc>,
}

/// Reads move notices. Only one from another copy of my own vault does
/// anything; a comrade has no say over which of my phones is me.
pub(crate) struct MoveNotices;

impl KindHandler for MoveNotices {
    fn owns(&self, kind: &str) -> bool {
        kind == DEVICE_MOVED
    }

    fn check(&self, _: &str, body: &[u8]) -> Result<Box<dyn Checked>, EnvelopeError> {
        let notice: Notice = serde_json::from_slice(body).map_err(|_| EnvelopeError::Malformed)?;
        Ok(Box::new(notice))
    }
}

impl Checked for Notice {
    fn receive(
        self: Box<Self>,
        _: &Transaction<'_>,
        _: &Opened,
        _: DateTime<Utc>,
    ) -> Result<Vec<MessageId>> {
        Err(EnvelopeError::NotForMe.into())
    }

    fn receive_from_my_other_copy(
        self: Box<Self>,
        tx: &Transaction<'_>,
        _: &Opened,
        now: DateTime<Utc>,
    ) -> Result<()> {
        retirement::retire_if_newer(tx, &self.copy.to_string(), self.born_at, now).map(drop)
    }
}

/// A restored copy that receives through relays seals a new notice when
/// it has sent none since its restore, or none for [`NOTICE_EVERY`].
pub(super) fn notice_if_due(tx: &Connection, now: DateTime<Utc>) -> Result<()> {
    let Some(restored) = retirement::restored_at(tx)? else {
        return Ok(());
    };
    if now - restored > NOTICE_FOR || relays::list(tx)?.is_empty() {
        return Ok(());
    }
    // A notice the backup's own copy sent (it was restored too) is not mine.
    if settings::get_time(tx, LAST_NOTICE_AT)?
        .is_some_and(|at| at >= restored && now - at < NOTICE_EVERY)
    {
        return Ok(());
    }
    let me = retirement::this_copy(tx)?;
    let body = serde_json::to_vec(&Notice {
        copy: uuid::Uuid::parse_str(&me.id).map_err(|_| Error::DatabaseDamaged)?,
        born_at: me.born_at,
    })
    .map_err(|_| Error::DatabaseDamaged)?;
    let sealed = envelope::seal_in(
        tx,
        Vec::new(),
        &Outgoing {
            kind: DEVICE_MOVED,
            body: &body,
            to: &[],
            expires_at: Some(now + EVENT_LIFETIME),
        },
        None,
    )?;
    settings::set(tx, LAST_NOTICE, &sealed.message_id.to_string())?;
    settings::set_time(tx, LAST_NOTICE_AT, now)
}

/// The newest notice, sealed for me, to my own mailbox on each of my
/// relays it has not reached yet.
pub(super) fn due(conn: &Connection, now: DateTime<Utc>, retry_now: bool) -> Result<Vec<Parcel>> {
    let (Some(id), Some(at)) = (
        settings::get(conn, LAST_NOTICE)?,
        settings::get_time(conn, LAST_NOTICE_AT)?,
    ) else {
        return Ok(Vec::new());
    };
    let message_id: MessageId = id.parse().map_err(|_| Error::DatabaseDamaged)?;
    let Some(seq) = envelope::outbox_row(conn, message_id)? else {
        return Ok(Vec::new());
    };
    let keep_until = at + EVENT_LIFETIME;
    if keep_until <= now {
        return Ok(Vec::new());
    }
    let keys = identity::load(conn)?;
    let id = ParcelId::new(seq, keys.identity_key());
    let tried = outbound::tried_routes(conn, [seq].into())?;
    let relays = outbound::still_due(&tried, id, &relays::list(conn)?, now, retry_now);
    if relays.is_empty() {
        return Ok(Vec::new());
    }
    let secrets: Vec<_> = keys.all_secrets().collect();
    let to = envelope::wire::SealTo {
        key: keys.current.public(),
        pq: keys.pq_public.as_ref(),
    };
    let envelope = envelope::wire::rewrap(&secrets, &envelope::outbox_envelope(conn, seq)?, &[to])?
        .pop()
        .ok_or(Error::DatabaseDamaged)?;
    Ok(vec![Parcel {
        id,
        message_id,
        mailbox: mailbox::my_address(conn)?.mailbox_at(now),
        envelope,
        keep_until,
        relays,
    }])
}
