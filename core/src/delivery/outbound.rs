//! What the outbox still owes each recipient on each relay, and what the
//! relays answered. Rows are made on the first attempt; no row is "due".

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, params};

use super::{EVENT_LIFETIME, LONGEST_STAY};
use crate::comrades;
use crate::envelope::{self, MessageId, OutboxCopy, wire};
use crate::identity::{
    self, Card, EncryptionKey, IdentityKey, MailboxKey, PqKey, RelayUrl, relays,
};
use crate::time::from_ms;
use crate::{Error, Result};

/// Longest wait between two tries on one relay.
pub const MAX_BACKOFF: Duration = Duration::hours(1);
const FIRST_BACKOFF_SECS: i64 = 30;
/// Relays' refusals are stored this short, so a hostile one cannot fill the vault.
const MAX_REASON_CHARS: usize = 200;

/// Names one recipient's copy of one outbox envelope.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ParcelId {
    outbox: i64,
    recipient: IdentityKey,
}

impl ParcelId {
    /// The copy of outbox envelope `outbox` for `recipient`.
    pub(super) fn new(outbox: i64, recipient: IdentityKey) -> ParcelId {
        ParcelId { outbox, recipient }
    }
}

#[cfg(test)]
impl ParcelId {
    pub(crate) fn for_tests() -> ParcelId {
        ParcelId {
            outbox: 0,
            recipient: IdentityKey([0; 32]),
        }
    }
}

/// One envelope for one recipient, sealed for them alone, and the relays
/// it is still due on.
#[derive(Clone)]
pub struct Parcel {
    pub id: ParcelId,
    pub message_id: MessageId,
    pub mailbox: MailboxKey,
    pub envelope: Vec<u8>,
    /// The latest relays may keep it (NIP-40): its expiry, at most
    /// [`LONGEST_STAY`] away. Each event draws its own expiry before this.
    pub keep_until: DateTime<Utc>,
    pub relays: Vec<RelayUrl>,
}

impl std::fmt::Debug for Parcel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parcel")
            .field("message_id", &self.message_id)
            .field("mailbox", &self.mailbox)
            .field("envelope", &self.envelope.len())
            .field("relays", &self.relays)
            .finish_non_exhaustive()
    }
}

/// What one relay said about one parcel. A refusal carries its reason.
#[derive(Clone, Debug)]
pub struct Sent {
    pub parcel: ParcelId,
    /// Where it was addressed: the parcel's mailbox.
    pub mailbox: MailboxKey,
    pub relay: RelayUrl,
    pub result: std::result::Result<(), String>,
}

/// Where one recipient's copy stands on one relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteState {
    Sent {
        at: DateTime<Utc>,
    },
    Failed {
        reason: String,
        attempts: u32,
        next_try_at: DateTime<Utc>,
    },
}

/// Copies that must be sealed again before they go: to a comrade whose card
/// has since replaced the key the copy was sealed to, when no copy reached
/// a relay while that key was theirs. Sent later, it could arrive after the
/// key's epoch is deleted (`docs/envelope.md`, "Epochs"). Their routes sent
/// since the replacement go again. How many envelopes were sealed again.
fn reseal_stale(conn: &Connection, copies: &[OutboxCopy], now: DateTime<Utc>) -> Result<usize> {
    let mut stale: BTreeSet<i64> = BTreeSet::new();
    let mut again = Vec::new();
    let mut current: HashMap<IdentityKey, Option<EncryptionKey>> = HashMap::new();
    for copy in copies {
        let (Some(sealed_to), None) = (copy.sealed_to, &copy.card) else {
            continue; // from before schema 11, or a decoy
        };
        let now_theirs = match current.get(&copy.recipient) {
            Some(key) => *key,
            None => {
                let key = comrades::encryption_key_of(conn, &copy.recipient)?;
                current.insert(copy.recipient, key);
                key
            }
        };
        if now_theirs.is_none_or(|key| key == sealed_to) {
            continue;
        }
        // A key replaced so long ago that I no longer keep it: never in time.
        let replaced = comrades::key_replaced_at(conn, &copy.recipient, &sealed_to)?
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let went_in_time: bool = conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM deliveries
                   WHERE outbox = ?1 AND recipient = ?2 AND sent_at < ?3)",
            )?
            .query_row(
                params![
                    copy.outbox,
                    copy.recipient.as_bytes().as_slice(),
                    replaced.timestamp_millis()
                ],
                |r| r.get(0),
            )?;
        if !went_in_time {
            stale.insert(copy.outbox);
            again.push((copy.outbox, copy.recipient));
        }
    }
    let mut resealed = 0;
    for outbox in &stale {
        resealed += usize::from(envelope::reseal(conn, *outbox)?);
    }
    let mut unsend = conn.prepare_cached(
        "UPDATE deliveries SET sent_at = NULL, sent_to = NULL, next_try_at = ?3
         WHERE outbox = ?1 AND recipient = ?2 AND sent_at IS NOT NULL",
    )?;
    for (outbox, recipient) in again {
        unsend.execute(params![
            outbox,
            recipient.as_bytes().as_slice(),
            now.timestamp_millis()
        ])?;
    }
    Ok(resealed)
}

/// Outbox envelopes younger than [`EVENT_LIFETIME`] and unexpired, for
/// recipients still my comrades, on relays not yet done, those sealed to a
/// replaced key sealed again first ([`reseal_stale`]). A failed relay is
/// due again after its backoff, or at once with `retry_now`.
pub(crate) fn due(conn: &Connection, now: DateTime<Utc>, retry_now: bool) -> Result<Vec<Parcel>> {
    let copies = envelope::outbox_copies(conn, now - EVENT_LIFETIME, now)?;
    reseal_stale(conn, &copies, now)?;
    let keys = identity::load(conn)?;
    let secrets: Vec<_> = keys.all_secrets().collect();
    let my_relays = relays::list(conn)?;
    let outboxes: BTreeSet<i64> = copies.iter().map(|c| c.outbox).collect();
    let states = tried_routes(conn, outboxes)?;
    // Recipients due, by outbox envelope: each envelope is decrypted once,
    // each card parsed (its signature checked) once. Removed and blocked
    // comrades have no card here.
    let mut waiting: Vec<Waiting> = Vec::new();
    let mut cards: HashMap<IdentityKey, Option<Card>> = HashMap::new();
    for copy in copies {
        let OutboxCopy {
            outbox: seq,
            message_id,
            expires_at,
            recipient,
            card,
            ..
        } = copy;
        let card = match (card, cards.get(&recipient)) {
            (Some(decoys), _) => Card::from_bytes(&decoys).ok(),
            (None, Some(card)) => card.clone(),
            (None, None) => {
                let card = comrades::card_of_unblocked(conn, &recipient)?
                    .and_then(|bytes: Vec<u8>| Card::from_bytes(&bytes).ok());
                cards.insert(recipient, card.clone());
                card
            }
        };
        let Some(card) = card else {
            continue;
        };
        let Some(address) = card.address() else {
            continue; // a card from before delivery: only manual exchange reaches them
        };
        let routes = if address.relays.is_empty() {
            &my_relays
        } else {
            &address.relays
        };
        let id = ParcelId {
            outbox: seq,
            recipient,
        };
        let relays = still_due(&states, id, routes, now, retry_now);
        if relays.is_empty() {
            continue;
        }
        let keep_until = expires_at.map_or(now + LONGEST_STAY, |e| e.min(now + LONGEST_STAY));
        match waiting.last_mut() {
            Some(last) if last.seq == seq => last.recipients.push((id, card, relays)),
            _ => waiting.push(Waiting {
                seq,
                message_id,
                keep_until,
                recipients: vec![(id, card, relays)],
            }),
        }
    }
    let mut parcels = Vec::new();
    let mut pq_keys: HashMap<IdentityKey, Option<PqKey>> = HashMap::new();
    for Waiting {
        seq,
        message_id,
        keep_until,
        recipients,
    } in waiting
    {
        let envelope = envelope::outbox_envelope(conn, seq)?;
        // Each relay copy is sealed to one recipient: post-quantum whenever
        // I hold the key their card names.
        let pq: Vec<Option<PqKey>> = recipients
            .iter()
            .map(|(_, c, _)| match pq_keys.get(&c.identity_key()) {
                Some(key) => Ok(key.clone()),
                None => {
                    let key = comrades::pq_key_for(conn, c)?;
                    pq_keys.insert(c.identity_key(), key.clone());
                    Ok(key)
                }
            })
            .collect::<Result<_>>()?;
        let to: Vec<wire::SealTo> = recipients
            .iter()
            .zip(&pq)
            .map(|((_, c, _), pq)| wire::SealTo {
                key: c.encryption_key(),
                pq: pq.as_ref(),
            })
            .collect();
        let copies = wire::rewrap(&secrets, &envelope, &to)?;
        for ((id, card, relays), envelope) in recipients.into_iter().zip(copies) {
            let address = card.address().ok_or(Error::DatabaseDamaged)?;
            parcels.push(Parcel {
                id,
                message_id,
                mailbox: address.mailbox_at(now),
                envelope,
                keep_until,
                relays,
            });
        }
    }
    Ok(parcels)
}

/// The relays of `routes` on which the copy `id` has not gone yet and is due.
pub(super) fn still_due(
    tried: &Tried,
    id: ParcelId,
    routes: &[RelayUrl],
    now: DateTime<Utc>,
    retry_now: bool,
) -> Vec<RelayUrl> {
    routes
        .iter()
        .filter(|relay| match tried.get(&(id, (*relay).clone())) {
            None => true,
            Some((sent, next_try)) => !sent && (retry_now || *next_try <= now),
        })
        .cloned()
        .collect()
}

/// One outbox envelope's recipients still due, with their cards and relays.
struct Waiting {
    seq: i64,
    message_id: MessageId,
    keep_until: DateTime<Utc>,
    recipients: Vec<(ParcelId, Card, Vec<RelayUrl>)>,
}

/// Whether each route tried was sent, and when to try it next.
pub(super) type Tried = HashMap<(ParcelId, RelayUrl), (bool, DateTime<Utc>)>;

/// Every route tried of these outbox envelopes.
pub(super) fn tried_routes(conn: &Connection, outboxes: BTreeSet<i64>) -> Result<Tried> {
    let mut stmt = conn.prepare_cached(
        "SELECT recipient, relay, sent_at IS NOT NULL, next_try_at FROM deliveries
         WHERE outbox = ?1",
    )?;
    let mut tried = Tried::new();
    for outbox in outboxes {
        let rows = stmt.query_map([outbox], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        for row in rows {
            let (recipient, relay, sent, next_try) = row?;
            let id = ParcelId {
                outbox,
                recipient: IdentityKey::from_stored(recipient)?,
            };
            tried.insert(
                (id, RelayUrl::from_stored(relay)?),
                (sent, from_ms(next_try)?),
            );
        }
    }
    Ok(tried)
}

/// Records what relays answered; a failure waits 30 s, doubling to an hour.
pub(crate) fn record(conn: &Connection, outcomes: &[Sent], now: DateTime<Utc>) -> Result<()> {
    let mut sent = conn.prepare_cached(
        "INSERT INTO deliveries (outbox, recipient, relay, sent_at, attempts, next_try_at, sent_to)
         VALUES (?1, ?2, ?3, ?4, 1, ?4, ?5)
         ON CONFLICT DO UPDATE SET sent_at = excluded.sent_at, sent_to = excluded.sent_to,
             attempts = attempts + 1, last_error = NULL",
    )?;
    let mut failed = conn.prepare_cached(
        "INSERT INTO deliveries (outbox, recipient, relay, attempts, next_try_at, last_error)
         VALUES (?1, ?2, ?3, 1, ?4 + ?5, ?6)
         ON CONFLICT DO UPDATE SET attempts = attempts + 1, last_error = excluded.last_error,
             next_try_at = ?4 + min(?5 << min(attempts, 16), ?7)
         WHERE sent_at IS NULL",
    )?;
    for outcome in outcomes {
        let key = params![
            outcome.parcel.outbox,
            outcome.parcel.recipient.as_bytes().as_slice(),
            outcome.relay.as_str()
        ];
        match &outcome.result {
            Ok(()) => {
                sent.execute(params![
                    key[0],
                    key[1],
                    key[2],
                    now.timestamp_millis(),
                    outcome.mailbox.as_bytes().as_slice()
                ])?;
            }
            Err(reason) => {
                let reason: String = reason
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_REASON_CHARS)
                    .collect();
                failed.execute(params![
                    key[0],
                    key[1],
                    key[2],
                    now.timestamp_millis(),
                    FIRST_BACKOFF_SECS * 1000,
                    reason,
                    MAX_BACKOFF.num_milliseconds()
                ])?;
            }
        }
    }
    Ok(())
}

/// Copies sent to these comrades that went to a mailbox their card, newer
/// now, does not name for when they were sent (it announced a pair that
/// had begun serving before I read it) are due again at once. How many.
pub(crate) fn send_again_if_moved(
    conn: &Connection,
    comrades: &BTreeSet<IdentityKey>,
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut sent = conn.prepare_cached(
        "SELECT outbox, relay, sent_at, sent_to FROM deliveries
         WHERE recipient = ?1 AND sent_at >= ?2 AND sent_to IS NOT NULL",
    )?;
    let mut again = conn.prepare_cached(
        "UPDATE deliveries SET sent_at = NULL, sent_to = NULL, next_try_at = ?4
         WHERE outbox = ?1 AND recipient = ?2 AND relay = ?3",
    )?;
    let mut moved = 0;
    for key in comrades {
        let Some(address) = comrades::card_of_unblocked(conn, key)?
            .and_then(|bytes| Card::from_bytes(&bytes).ok())
            .and_then(|card| card.address().cloned())
        else {
            continue;
        };
        let since = (now - LONGEST_STAY).timestamp_millis();
        let rows = sent.query_map(params![key.as_bytes().as_slice(), since], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Vec<u8>>(3)?,
            ))
        })?;
        let mut stale = Vec::new();
        for row in rows {
            let (outbox, relay, at, to) = row?;
            if address.mailbox_at(from_ms(at)?).as_bytes().as_slice() != to.as_slice() {
                stale.push((outbox, relay));
            }
        }
        for (outbox, relay) in stale {
            moved += again.execute(params![
                outbox,
                key.as_bytes().as_slice(),
                relay,
                now.timestamp_millis()
            ])?;
        }
    }
    Ok(moved)
}

/// Every route of one envelope, by recipient identity key and relay.
pub(crate) fn routes(
    conn: &Connection,
    message_id: MessageId,
) -> Result<Vec<(IdentityKey, RelayUrl, RouteState)>> {
    let Some(outbox) = envelope::outbox_row(conn, message_id)? else {
        return Ok(Vec::new());
    };
    let mut stmt = conn.prepare_cached(
        "SELECT recipient, relay, sent_at, attempts, next_try_at, last_error FROM deliveries
         WHERE outbox = ?1 ORDER BY relay, recipient",
    )?;
    let rows = stmt.query_map([outbox], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<i64>>(2)?,
            r.get::<_, u32>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    rows.map(|row| {
        let (recipient, relay, sent, attempts, next_try, reason) = row?;
        let state = match sent {
            Some(at) => RouteState::Sent { at: from_ms(at)? },
            None => RouteState::Failed {
                reason: reason.unwrap_or_default(),
                attempts,
                next_try_at: from_ms(next_try)?,
            },
        };
        Ok((
            IdentityKey::from_stored(recipient)?,
            RelayUrl::from_stored(relay)?,
            state,
        ))
    })
    .collect()
}
