//! Sealing into the outbox and opening into the inbox: one transaction
//! each, so a failure leaves the vault as it was.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::kind::{self, KindHandler};
use super::wire::{self, Message};
use super::{
    Addressee, CARD_UPDATE, EnvelopeError, Envelopes, MessageId, Opened, Outgoing, Recipient,
    Sealed, Sender,
};
use crate::comrades::{self, ComradeId, CutOff, IdentityKey, Peer, Taken};
use crate::identity;
use crate::identity::{Card, EncryptionKey};
use crate::time::from_ms;
use crate::{Error, Result, Vault};

/// An envelope I received and opened.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct InboxItem {
    pub opened: Opened,
    pub received_at: DateTime<Utc>,
}

impl fmt::Debug for InboxItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboxItem")
            .field("opened", &self.opened)
            .field("received_at", &self.received_at)
            .finish()
    }
}

/// An envelope I sealed, kept for delivery.
#[derive(Clone, Debug)]
pub struct OutboxItem {
    pub sealed: Sealed,
    pub kind: String,
    /// What it carries, such as a journal entry's id.
    pub subject: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl Envelopes<'_> {
    /// Deletes one item from the inbox, for good. The replay record stays,
    /// so the same envelope arriving again is refused.
    pub fn delete_from_inbox(&self, id: MessageId) -> Result<()> {
        self.vault.with_tx(|tx| delete_from_inbox(tx, id))
    }

    /// Seals to comrades and circles (blocked comrades are left out of
    /// circles) plus my own key, and keeps it in the outbox.
    pub fn seal(&self, outgoing: &Outgoing<'_>) -> Result<Sealed> {
        seal_about(self.vault, outgoing, None)
    }

    /// Sends my current card to every comrade I have not blocked: after a
    /// key rotation or a change of name.
    pub fn seal_card_update(&self) -> Result<Sealed> {
        self.vault.with_tx(|tx| {
            seal_card_update_in(tx)?.ok_or(Error::invalid("recipients", "no comrade to send to"))
        })
    }

    /// Opens binary or armored envelopes into the inbox. A newer card inside
    /// updates the sender's keys and name. Every refusal is an
    /// [`EnvelopeError`], and leaves the vault as it was.
    pub fn open(&self, envelope: &[u8]) -> Result<Opened> {
        open(self.vault, self.kinds, envelope)
    }

    /// Newest first; only `kind` if given.
    pub fn inbox(&self, kind: Option<&str>) -> Result<Vec<InboxItem>> {
        inbox(self.vault, kind)
    }

    /// Newest first.
    pub fn outbox(&self) -> Result<Vec<OutboxItem>> {
        outbox_where(self.vault, None)
    }
}

/// [`Envelopes::seal`], filed in the outbox under `subject` (a journal entry's id).
pub(crate) fn seal_about(
    vault: &Vault,
    outgoing: &Outgoing<'_>,
    subject: Option<&str>,
) -> Result<Sealed> {
    vault.with_tx(|tx| {
        let peers = resolve(tx, outgoing.to)?;
        seal_in(tx, peers, outgoing, subject)
    })
}

/// [`Envelopes::open`], handing each body to the handler of its kind.
pub(crate) fn open(vault: &Vault, kinds: &[&dyn KindHandler], envelope: &[u8]) -> Result<Opened> {
    open_at(vault, kinds, envelope, Utc::now())
}

/// [`open`] as if it were `now`.
pub(crate) fn open_at(
    vault: &Vault,
    kinds: &[&dyn KindHandler],
    envelope: &[u8],
    now: DateTime<Utc>,
) -> Result<Opened> {
    let bytes = wire::dearmor(envelope)?;
    // A refusal commits what it keeps (an identity conflict found); any
    // other error undoes everything.
    vault.with_tx(|tx| {
        let keys = identity::load(tx)?;
        let secrets: Vec<_> = keys.all_secrets().collect();
        let mut opener = wire::Opener::new(&secrets)?;
        match open_one(tx, kinds, &keys, &mut opener, &bytes, now) {
            Err(Error::Envelope(refused)) => Ok(Err(refused.into())),
            other => other.map(Ok),
        }
    })?
}

/// Opens many envelopes in one transaction, each all-or-nothing in a
/// savepoint of its own: one commit for a whole fetch, not one each.
/// `after` sees each outcome, inside the transaction; an `Err` from it
/// undoes the lot.
pub(crate) fn open_each(
    vault: &Vault,
    kinds: &[&dyn KindHandler],
    envelopes: &[&[u8]],
    mut after: impl FnMut(&Connection, usize, Result<Opened>) -> Result<()>,
) -> Result<()> {
    let now = Utc::now();
    vault.with_tx(|tx| {
        let keys = identity::load(tx)?;
        let secrets: Vec<_> = keys.all_secrets().collect();
        let mut opener = wire::Opener::new(&secrets)?;
        for (i, envelope) in envelopes.iter().enumerate() {
            let opened = match wire::dearmor(envelope) {
                Ok(bytes) => open_one(tx, kinds, &keys, &mut opener, &bytes, now),
                Err(refused) => Err(refused.into()),
            };
            after(tx, i, opened)?;
        }
        Ok(())
    })
}

/// One envelope in a savepoint of its own: a refusal leaves nothing behind
/// but the identity conflict it found, if any.
fn open_one(
    tx: &rusqlite::Transaction,
    kinds: &[&dyn KindHandler],
    keys: &identity::MyKeys,
    opener: &mut wire::Opener,
    bytes: &[u8],
    now: DateTime<Utc>,
) -> Result<Opened> {
    tx.execute_batch("SAVEPOINT opening")?;
    let mut conflict = None;
    let opened = open_in(tx, kinds, keys, opener, bytes, now, &mut conflict);
    if opened.is_err() {
        tx.execute_batch("ROLLBACK TO opening")?;
    }
    tx.execute_batch("RELEASE opening")?;
    if let Some(key) = conflict {
        comrades::mark_conflict(tx, &key)?;
    }
    opened
}

/// Opens one envelope; `conflict` is set to the sender when their card
/// forks from the chain of theirs I hold.
fn open_in(
    tx: &rusqlite::Transaction,
    kinds: &[&dyn KindHandler],
    keys: &identity::MyKeys,
    opener: &mut wire::Opener,
    bytes: &[u8],
    now: DateTime<Utc>,
    conflict: &mut Option<IdentityKey>,
) -> Result<Opened> {
    let unsealed = opener.open(bytes)?;
    if unsealed.card.check_not_ahead(now).is_err() {
        return Err(EnvelopeError::CardIssuedAhead.into());
    }
    let checked = kind::check(kinds, &unsealed.kind, &unsealed.body)?;
    let sender_key = unsealed.card.identity_key();
    let message_id = MessageId(uuid::Uuid::from_bytes(unsealed.id));
    let sender = if sender_key == keys.identity_key() {
        if in_outbox(tx, message_id)? {
            return Err(EnvelopeError::Replayed.into());
        }
        Sender {
            comrade: None,
            name: unsealed.card.name().to_owned(),
            identity_key: sender_key,
        }
    } else {
        let known = match comrades::known(tx, &sender_key)? {
            Some(known) => known,
            None if comrades::is_replaced(tx, &sender_key)? => {
                return Err(EnvelopeError::ReplacedIdentity.into());
            }
            None if checked.admit_stranger(tx, &unsealed.card, now)? => {
                comrades::known(tx, &sender_key)?.ok_or(EnvelopeError::UnknownSender)?
            }
            None => return Err(EnvelopeError::UnknownSender.into()),
        };
        if known.blocked {
            return Err(EnvelopeError::BlockedSender.into());
        }
        if known.in_conflict {
            return Err(EnvelopeError::IdentityConflict.into());
        }
        // Only a card that extends their chain brings a key; any other
        // must use the key I hold (or the one before, for a while).
        let updated = match comrades::take_card(tx, keys, &unsealed.card, &unsealed.links)? {
            Taken::Updated => true,
            Taken::Unchanged if known.may_seal_with(&unsealed.card, now) => false,
            Taken::Unchanged => return Err(EnvelopeError::RetiredKey.into()),
            Taken::Downgrade => return Err(EnvelopeError::Downgrade.into()),
            Taken::Conflict => {
                *conflict = Some(sender_key);
                return Err(EnvelopeError::IdentityConflict.into());
            }
        };
        // Kept once: only a new card clears the key held.
        if let Some(pq) = &unsealed.pq_key
            && (updated || !known.post_quantum)
        {
            comrades::learn_pq_key(tx, &unsealed.card, pq)?;
        }
        Sender {
            comrade: Some(known.id),
            name: known.name,
            identity_key: sender_key,
        }
    };
    let openable_until = replay_record_until(unsealed.created_ms, unsealed.expires_ms);
    let seen = tx.execute(
        "INSERT OR IGNORE INTO seen_messages (sender_identity, message_id, expires_at)
         VALUES (?1, ?2, ?3)",
        params![
            sender_key.as_bytes().as_slice(),
            unsealed.id.as_slice(),
            openable_until
        ],
    )?;
    if seen == 0 {
        return Err(EnvelopeError::Replayed.into());
    }
    if openable_until <= now.timestamp_millis() {
        return Err(EnvelopeError::Expired.into());
    }
    let mut opened = Opened {
        message_id,
        sender,
        kind: unsealed.kind,
        body: unsealed.body,
        created_at: from_ms(unsealed.created_ms).map_err(|_| EnvelopeError::Malformed)?,
        expires_at: unsealed
            .expires_ms
            .map(from_ms)
            .transpose()
            .map_err(|_| EnvelopeError::Malformed)?,
        replies: Vec::new(),
    };
    let kept = checked.kept();
    if opened.sender.comrade.is_some() {
        opened.replies = checked.receive(tx, &opened, now)?;
    } else {
        checked.receive_from_my_other_copy(tx, &opened, now)?;
    }
    if kept {
        tx.execute(
            "INSERT INTO inbox (sender_identity, sender_name, message_id, kind,
                 created_at, expires_at, received_at, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                sender_key.as_bytes().as_slice(),
                opened.sender.name,
                unsealed.id.as_slice(),
                opened.kind,
                unsealed.created_ms,
                unsealed.expires_ms,
                now.timestamp_millis(),
                opened.body
            ],
        )?;
    }
    Ok(opened)
}

/// [`Envelopes::inbox`].
pub(crate) fn inbox(vault: &Vault, kind: Option<&str>) -> Result<Vec<InboxItem>> {
    vault.with_conn(|conn| {
        let mut stmt = conn.prepare_cached(
            "SELECT sender_identity, sender_name, message_id, kind,
                    created_at, expires_at, received_at, body
             FROM inbox
             WHERE ?1 IS NULL OR kind = ?1
             ORDER BY seq DESC",
        )?;
        let rows = stmt.query_map([kind], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, Option<i64>>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, Vec<u8>>(7)?,
            ))
        })?;
        rows.map(|row| {
            let (sender, name, id, kind, created, expires, received, body) = row?;
            let identity_key = IdentityKey::from_stored(sender)?;
            Ok(InboxItem {
                opened: Opened {
                    message_id: message_id_from(&id)?,
                    sender: Sender {
                        comrade: comrades::known(conn, &identity_key)?.map(|k| k.id),
                        name,
                        identity_key,
                    },
                    kind,
                    body,
                    created_at: from_ms(created)?,
                    expires_at: expires.map(from_ms).transpose()?,
                    replies: Vec::new(),
                },
                received_at: from_ms(received)?,
            })
        })
        .collect()
    })
}

/// What I sealed about one thing, such as a journal entry.
/// How long an envelope without an expiry stays openable: older ones are
/// refused as expired, so their replay records can go.
pub const MAX_UNEXPIRING_AGE: Duration = Duration::days(365);

/// Replay records outlive the envelope by this much, for clocks that step back.
const REPLAY_RECORD_SLACK: Duration = Duration::days(1);

/// Until when an envelope can be opened, in Unix ms: its own expiry, or
/// [`MAX_UNEXPIRING_AGE`] after it was made. Its replay record is kept as
/// long (plus a day), and not longer.
fn replay_record_until(created_ms: i64, expires_ms: Option<i64>) -> i64 {
    expires_ms.unwrap_or_else(|| created_ms.saturating_add(MAX_UNEXPIRING_AGE.num_milliseconds()))
}

/// Deletes the replay records of envelopes that can no longer be opened
/// (an expired envelope is refused before its record is looked at).
pub(crate) fn prune_replay_records(conn: &Connection, now: DateTime<Utc>) -> Result<u64> {
    let before = (now - REPLAY_RECORD_SLACK).timestamp_millis();
    Ok(conn.execute("DELETE FROM seen_messages WHERE expires_at <= ?1", [before])? as u64)
}

/// One recipient's share of an outbox envelope. `outbox` is the envelope's
/// row: delivery's routes refer to it, and go when it goes.
pub(crate) struct OutboxCopy {
    pub outbox: i64,
    pub message_id: MessageId,
    pub expires_at: Option<DateTime<Utc>>,
    pub recipient: IdentityKey,
    /// The card of a recipient no longer a comrade (a decoy's).
    pub card: Option<Vec<u8>>,
    /// The key of theirs it was sealed to; `None` before schema 11.
    pub sealed_to: Option<EncryptionKey>,
}

/// Each recipient of each outbox envelope made since `from` and not
/// expired at `now`, in outbox order.
pub(crate) fn outbox_copies(
    conn: &Connection,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<OutboxCopy>> {
    let mut stmt = conn.prepare_cached(
        "SELECT o.seq, o.message_id, o.expires_at, r.identity_key, r.card, r.sealed_to
         FROM outbox o JOIN outbox_recipients r ON r.message = o.seq
         WHERE o.created_at >= ?1 AND (o.expires_at IS NULL OR o.expires_at > ?2)
         ORDER BY o.seq",
    )?;
    let rows = stmt.query_map(
        params![from.timestamp_millis(), now.timestamp_millis()],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, Option<Vec<u8>>>(4)?,
                r.get::<_, Option<Vec<u8>>>(5)?,
            ))
        },
    )?;
    rows.map(|row| {
        let (outbox, message_id, expires, recipient, card, sealed_to) = row?;
        Ok(OutboxCopy {
            outbox,
            message_id: message_id_from(&message_id)?,
            expires_at: expires.map(from_ms).transpose()?,
            recipient: IdentityKey::from_stored(recipient)?,
            card,
            sealed_to: sealed_to
                .map(|k| k.try_into().map(EncryptionKey))
                .transpose()
                .map_err(|_| Error::DatabaseDamaged)?,
        })
    })
    .collect()
}

/// Seals one outbox envelope again, the same message with my current card
/// and every recipient's current key: after a recipient's key was replaced
/// before their copy could go out. Recipients since blocked, removed or in
/// conflict are left out. Whether it could be (my copy still opens).
pub(crate) fn reseal(tx: &Connection, outbox: i64) -> Result<bool> {
    let keys = identity::load(tx)?;
    let secrets: Vec<_> = keys.all_secrets().collect();
    let mut opener = wire::Opener::new(&secrets)?;
    let Ok(mut mine) = opener.open(&outbox_envelope(tx, outbox)?) else {
        return Ok(false);
    };
    let body = zeroize::Zeroizing::new(std::mem::take(&mut mine.body));
    let listed: Vec<IdentityKey> = outbox_recipients(tx, outbox)?
        .into_iter()
        .map(|a| a.identity_key)
        .collect();
    let peers = comrades::peers_for_keys(tx, &listed)?;
    let card = identity::card(tx, &keys)?;
    let links = identity::links(tx, &card)?;
    let recipients = and_me(&peers, &keys);
    let message = Message {
        id: mine.id,
        created_ms: mine.created_ms,
        expires_ms: mine.expires_ms,
        kind: &mine.kind,
        body: &body,
        links: &links,
        pad_to: 0,
    };
    let bytes = wire::seal((&card, keys.pq_public.as_ref()), &recipients, &message)?;
    tx.execute(
        "UPDATE outbox SET envelope = ?2 WHERE seq = ?1",
        params![outbox, bytes],
    )?;
    let mut sealed_to = tx.prepare_cached(
        "UPDATE outbox_recipients SET sealed_to = ?3 WHERE message = ?1 AND identity_key = ?2",
    )?;
    for p in &peers {
        sealed_to.execute(params![
            outbox,
            p.identity_key.as_bytes().as_slice(),
            p.encryption_key.as_bytes().as_slice()
        ])?;
    }
    Ok(true)
}

/// The sealed bytes of one outbox envelope.
pub(crate) fn outbox_envelope(conn: &Connection, outbox: i64) -> Result<Vec<u8>> {
    Ok(conn
        .prepare_cached("SELECT envelope FROM outbox WHERE seq = ?1")?
        .query_row([outbox], |r| r.get(0))?)
}

/// The row of the outbox envelope with this message id.
pub(crate) fn outbox_row(conn: &Connection, message_id: MessageId) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT seq FROM outbox WHERE message_id = ?1")?
        .query_row([message_id.0.as_bytes().as_slice()], |r| r.get(0))
        .optional()?)
}

/// Deletes the outbox envelopes about one subject (a care request, a
/// journal entry); how many went.
pub(crate) fn forget_outbox_about(conn: &Connection, subject: &str) -> Result<u64> {
    Ok(conn.execute("DELETE FROM outbox WHERE subject = ?1", [subject])? as u64)
}

/// [`Envelopes::delete_from_inbox`].
pub(crate) fn delete_from_inbox(conn: &Connection, id: MessageId) -> Result<()> {
    match conn.execute(
        "DELETE FROM inbox WHERE message_id = ?1",
        [id.0.as_bytes().as_slice()],
    )? {
        0 => Err(Error::NotFound { what: "inbox item" }),
        _ => Ok(()),
    }
}

/// Deletes inbox items of one kind received before `before`; how many went.
pub(crate) fn clear_inbox(conn: &Connection, kind: &str, before: DateTime<Utc>) -> Result<u64> {
    Ok(conn.execute(
        "DELETE FROM inbox WHERE kind = ?1 AND received_at < ?2",
        params![kind, before.timestamp_millis()],
    )? as u64)
}

pub(crate) fn outbox_about(vault: &Vault, subject: &str) -> Result<Vec<OutboxItem>> {
    outbox_where(vault, Some(subject))
}

fn outbox_where(vault: &Vault, subject: Option<&str>) -> Result<Vec<OutboxItem>> {
    vault.with_conn(|conn| {
        let mut stmt = conn.prepare_cached(
            "SELECT seq, message_id, kind, subject, created_at, expires_at, envelope
             FROM outbox WHERE NOT decoy AND (?1 IS NULL OR subject = ?1)
             ORDER BY seq DESC",
        )?;
        let rows = stmt.query_map([subject], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, Option<i64>>(5)?,
                r.get::<_, Vec<u8>>(6)?,
            ))
        })?;
        rows.map(|row| {
            let (seq, id, kind, subject, created, expires, bytes) = row?;
            Ok(OutboxItem {
                sealed: Sealed {
                    message_id: message_id_from(&id)?,
                    bytes,
                    recipients: outbox_recipients(conn, seq)?,
                },
                kind,
                subject,
                created_at: from_ms(created)?,
                expires_at: expires.map(from_ms).transpose()?,
            })
        })
        .collect()
    })
}

/// Seals to resolved comrades plus my own key inside the caller's
/// transaction, and keeps it in the outbox. `outgoing.to` is not read.
pub(crate) fn seal_in(
    tx: &Connection,
    peers: Vec<Peer>,
    outgoing: &Outgoing<'_>,
    subject: Option<&str>,
) -> Result<Sealed> {
    seal_made_at(tx, peers, outgoing, subject, Utc::now())
}

/// [`seal_in`], dated `now`: the tests make envelopes of long ago with it.
pub(crate) fn seal_made_at(
    tx: &Connection,
    peers: Vec<Peer>,
    outgoing: &Outgoing<'_>,
    subject: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Sealed> {
    let keys = identity::load(tx)?;
    let card = identity::card(tx, &keys)?;
    let filing = Filing {
        subject,
        now,
        decoy: false,
        pad_to: 0,
    };
    let (seq, message_id, bytes) = file(tx, (&keys, &card), &peers, outgoing, filing)?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO outbox_recipients (message, identity_key, name, sealed_to)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for p in &peers {
        insert.execute(params![
            seq,
            p.identity_key.as_bytes().as_slice(),
            p.name,
            p.encryption_key.as_bytes().as_slice()
        ])?;
    }
    Ok(Sealed {
        message_id,
        bytes,
        recipients: peers
            .into_iter()
            .map(|p| Addressee {
                identity_key: p.identity_key,
                name: p.name,
            })
            .collect(),
    })
}

/// How an outbox envelope is filed: under what, made when, whether it is
/// a decoy (delivered, never listed), and the size it is padded to.
struct Filing<'a> {
    subject: Option<&'a str>,
    now: DateTime<Utc>,
    decoy: bool,
    pad_to: usize,
}

/// Seals `outgoing` with `card` to `listed` and me, and files it in the
/// outbox; its row, message id and bytes.
fn file(
    tx: &Connection,
    (keys, card): (&identity::MyKeys, &Card),
    listed: &[Peer],
    outgoing: &Outgoing<'_>,
    Filing {
        subject,
        now,
        decoy,
        pad_to,
    }: Filing<'_>,
) -> Result<(i64, MessageId, Vec<u8>)> {
    if outgoing.expires_at.is_some_and(|e| e <= now) {
        return Err(Error::invalid("expiry", "already past"));
    }
    let recipients = and_me(listed, keys);
    let message_id = MessageId::new();
    let links = identity::links(tx, card)?;
    let message = Message {
        id: *message_id.0.as_bytes(),
        created_ms: now.timestamp_millis(),
        expires_ms: outgoing.expires_at.map(|e| e.timestamp_millis()),
        kind: outgoing.kind,
        body: outgoing.body,
        links: &links,
        pad_to,
    };
    let bytes = wire::seal((card, keys.pq_public.as_ref()), &recipients, &message)?;
    tx.execute(
        "INSERT INTO outbox (message_id, kind, subject, created_at, expires_at, envelope, decoy)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            message_id.0.as_bytes().as_slice(),
            outgoing.kind,
            subject,
            message.created_ms,
            message.expires_ms,
            bytes,
            decoy
        ],
    )?;
    Ok((tx.last_insert_rowid(), message_id, bytes))
}

/// `peers` and my own key, as an envelope lists its recipients.
fn and_me<'a>(peers: &'a [Peer], keys: &'a identity::MyKeys) -> Vec<wire::Recipient<'a>> {
    peers
        .iter()
        .map(|p| wire::Recipient {
            key: p.encryption_key,
            pair_key: &p.pair_key,
            pq: p.pq_key.as_ref(),
        })
        .chain([wire::Recipient {
            key: keys.current.public(),
            pair_key: &keys.self_pair,
            pq: keys.pq_public.as_ref(),
        }])
        .collect()
}

/// A card update for a comrade just cut off, carrying `held`, my card from
/// before the cut: it changes nothing for them, and they never learn the
/// mailbox pair everyone else is told. It lists as many recipients as the
/// real one to everyone else, one of them giving way to them, and is padded
/// to the real one's size. Kept in the outbox as a decoy: delivered to them
/// alone, never listed. Nothing when my card did not change.
pub(crate) fn seal_decoy_card_update(tx: &Connection, cut: &CutOff, held: &Card) -> Result<()> {
    let keys = identity::load(tx)?;
    let real = identity::card(tx, &keys)?;
    if real.as_bytes() == held.as_bytes() {
        return Ok(());
    }
    let mut listed = comrades::unblocked(tx, None)?;
    let real_size = wire::inner_len(
        &real,
        identity::links(tx, &real)?.len(),
        listed.len() + 1,
        CARD_UPDATE,
        0,
    );
    listed.pop();
    listed.push(cut.peer.clone());
    let filing = Filing {
        subject: None,
        now: Utc::now(),
        decoy: true,
        pad_to: wire::padded_len(real_size),
    };
    let (seq, _, _) = file(tx, (&keys, held), &listed, &card_update(), filing)?;
    tx.execute(
        "INSERT INTO outbox_recipients (message, identity_key, name, card, sealed_to)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            seq,
            cut.peer.identity_key.as_bytes().as_slice(),
            cut.peer.name,
            cut.card,
            cut.peer.encryption_key.as_bytes().as_slice()
        ],
    )?;
    Ok(())
}

/// Decoys to a comrade taken back, which would give them a made-up mailbox.
pub(crate) fn drop_decoys_to(tx: &Connection, to: &[IdentityKey]) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "DELETE FROM outbox WHERE decoy AND seq IN
           (SELECT message FROM outbox_recipients WHERE identity_key = ?1)",
    )?;
    for key in to {
        stmt.execute([key.as_bytes().as_slice()])?;
    }
    Ok(())
}

/// Decoys made before `before`: past the time relays keep events.
pub(crate) fn prune_decoys(tx: &Connection, before: DateTime<Utc>) -> Result<()> {
    tx.execute(
        "DELETE FROM outbox WHERE decoy AND created_at < ?1",
        [before.timestamp_millis()],
    )?;
    Ok(())
}

/// My current card for every comrade I have not blocked, inside the
/// caller's transaction; `None` when there is nobody to tell.
pub(crate) fn seal_card_update_in(tx: &Connection) -> Result<Option<Sealed>> {
    seal_card_update_for(tx, comrades::unblocked(tx, None)?)
}

/// My current card for these comrades (blocked ones left out).
pub(crate) fn seal_card_update_to(tx: &Connection, to: &[ComradeId]) -> Result<Option<Sealed>> {
    seal_card_update_for(tx, comrades::unblocked(tx, Some(to))?)
}

fn seal_card_update_for(tx: &Connection, peers: Vec<Peer>) -> Result<Option<Sealed>> {
    if peers.is_empty() {
        return Ok(None);
    }
    seal_in(tx, peers, &card_update(), None).map(Some)
}

fn card_update() -> Outgoing<'static> {
    Outgoing {
        kind: CARD_UPDATE,
        body: &[],
        to: &[],
        expires_at: None,
    }
}

/// Seals a JSON body filed in the outbox under `subject` (a care request,
/// a gathering), inside the caller's transaction.
pub(crate) fn seal_json_in<T: serde::Serialize>(
    tx: &Connection,
    peers: Vec<Peer>,
    kind: &str,
    body: &T,
    subject: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<Sealed> {
    let json = zeroize::Zeroizing::new(
        serde_json::to_vec(body).map_err(|_| Error::Storage("encoding a message".into()))?,
    );
    seal_in(
        tx,
        peers,
        &Outgoing {
            kind,
            body: &json,
            to: &[],
            expires_at,
        },
        Some(subject),
    )
}

/// Comrades and circle members, each once, within the envelope's limit.
pub(crate) fn resolve(conn: &Connection, to: &[Recipient]) -> Result<Vec<Peer>> {
    let peers = comrades::resolve(conn, to)?;
    if peers.is_empty() {
        return Err(Error::invalid("recipients", "no comrade to send to"));
    }
    if peers.len() >= super::MAX_RECIPIENTS {
        return Err(Error::invalid(
            "recipients",
            "at most 255 comrades per envelope",
        ));
    }
    Ok(peers)
}

fn in_outbox(conn: &Connection, id: MessageId) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM outbox WHERE message_id = ?1)",
        [id.0.as_bytes().as_slice()],
        |r| r.get(0),
    )?)
}

fn outbox_recipients(conn: &Connection, seq: i64) -> Result<Vec<Addressee>> {
    let mut stmt = conn.prepare_cached(
        "SELECT identity_key, name FROM outbox_recipients WHERE message = ?1 ORDER BY name",
    )?;
    let rows = stmt.query_map([seq], |r| {
        Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
    })?;
    rows.map(|row| {
        let (key, name) = row?;
        Ok(Addressee {
            identity_key: IdentityKey::from_stored(key)?,
            name,
        })
    })
    .collect()
}

pub(crate) fn message_id_from(bytes: &[u8]) -> Result<MessageId> {
    Ok(MessageId(
        uuid::Uuid::from_slice(bytes).map_err(|_| Error::DatabaseDamaged)?,
    ))
}
