//! Comrades in SQL.

use std::fmt;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::circles;
use super::{ComradeChange, Comrades, Recipient};
use crate::identity::chain::{self, Held, Verdict};
use crate::identity::{
    self, Card, CardError, EncryptionKey, EncryptionSecret, IdentityKey, MyKeys, PairKey, PqKey,
    RecoveryError, Replacement,
};
use crate::redact::Text;
use crate::time::from_ms;
use crate::{Error, Result, name};

crate::id::uuid_id!(
    /// A comrade, as this vault knows them.
    ComradeId,
    "comrade id"
);

/// Someone I added from their card.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Comrade {
    pub id: ComradeId,
    /// What I call them; unique among my comrades.
    pub name: String,
    /// What they call themselves, from their latest card.
    pub card_name: String,
    pub identity_key: IdentityKey,
    /// I compared safety numbers with them in person, and their identity key
    /// has not changed since.
    pub verified: bool,
    /// Blocked comrades receive nothing and their envelopes are refused.
    pub blocked: bool,
    pub added_at: DateTime<Utc>,
    /// When their identity key was last replaced: show it, it may be a new
    /// phone or someone else.
    pub identity_changed_at: Option<DateTime<Utc>>,
    /// When two of their cards forked: someone else holds their identity
    /// key. Nothing from them opens and nothing is sealed to them until
    /// [`Comrades::resolve_conflict`] after meeting in person.
    pub identity_conflict_at: Option<DateTime<Utc>>,
    /// Not added from their card by me: a collective introduced them.
    pub introduced: Option<Introduction>,
    /// Met through a visitor pass: mine (they visit) or theirs (they host me).
    pub visit: Option<Visit>,
    /// I hold the post-quantum key their card names, so what goes to them
    /// through relays is sealed post-quantum; until an envelope of theirs
    /// brings it, X25519 alone.
    pub post_quantum: bool,
    /// When they replaced their identity with their recovery key (a phone
    /// lost or taken): show it, as a changed identity is shown.
    pub recovered_at: Option<DateTime<Utc>>,
}

/// A comrade met through a visitor pass, and which of us issued it.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Visit {
    pub collective: String,
    pub role: VisitRole,
}

impl fmt::Debug for Visit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Visit")
            .field("collective", &Text(&self.collective))
            .field("role", &self.role)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum VisitRole {
    /// They came with a pass I issued.
    Visitor = 0,
    /// They issued the pass I came with.
    Host = 1,
}

/// Who gave me a comrade's card, and in which collective (its name then).
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Introduction {
    pub by: IdentityKey,
    /// What I called them then.
    pub by_name: String,
    pub collective: String,
}

impl fmt::Debug for Introduction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introduction")
            .field("by", &self.by)
            .field("by_name", &Text(&self.by_name))
            .field("collective", &Text(&self.collective))
            .finish()
    }
}

impl fmt::Debug for Comrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Comrade")
            .field("id", &self.id)
            .field("name", &Text(&self.name))
            .field("card_name", &Text(&self.card_name))
            .field("identity_key", &self.identity_key)
            .field("verified", &self.verified)
            .field("blocked", &self.blocked)
            .field("identity_conflict_at", &self.identity_conflict_at)
            .field("introduced", &self.introduced)
            .field("post_quantum", &self.post_quantum)
            .field("recovered_at", &self.recovered_at)
            .finish_non_exhaustive()
    }
}

/// What adding a card did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    New(Comrade),
    /// A newer card of a comrade I had: their keys or name moved on.
    Updated(Comrade),
    /// The same card, or an older one: nothing changed.
    Unchanged(Comrade),
    /// [`Comrades::replace_identity`]: a new identity key. They are no longer verified.
    IdentityChanged(Comrade),
    /// The card forks from the chain of theirs I hold, or is further ahead
    /// than can be checked: an identity conflict (see [`Comrade::identity_conflict_at`]).
    IdentityConflict(Comrade),
}

impl Added {
    pub fn comrade(&self) -> &Comrade {
        match self {
            Added::New(c)
            | Added::Updated(c)
            | Added::Unchanged(c)
            | Added::IdentityChanged(c)
            | Added::IdentityConflict(c) => c,
        }
    }
}

/// What taking a comrade's card did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Taken {
    /// It is the card I hold now.
    Updated,
    Unchanged,
    /// A card without a chain from a comrade whose chained card I hold.
    Downgrade,
    /// It forks from their chain, or skips more than it can show; nothing
    /// was written ([`mark_conflict`] does that).
    Conflict,
}

/// A recipient, resolved for sealing.
#[derive(Clone)]
pub(crate) struct Peer {
    pub identity_key: IdentityKey,
    pub name: String,
    pub encryption_key: EncryptionKey,
    pub pair_key: PairKey,
    /// The post-quantum half of their key, once an envelope of theirs
    /// brought the one their card names.
    pub pq_key: Option<PqKey>,
}

const COLUMNS: &str = "id, name, card, identity_key, verified_key IS identity_key, blocked, \
                       added_at, identity_changed_at, conflict_at, introduced_by, \
                       introduced_by_name, introduced_in, visit, visit_role, \
                       pq_key IS NOT NULL, recovered_at";

impl Comrades<'_> {
    /// Adds a comrade from their card, under `name` or the name on the card.
    /// A card of someone I already have refreshes them if it is newer.
    pub fn add(&self, card: &Card, name: Option<&str>) -> Result<Added> {
        let name = name::clean(name.unwrap_or(card.name()))?;
        card.check_not_ahead(Utc::now())?;
        self.vault.with_tx(|tx| {
            let keys = identity::load(tx)?;
            if card.identity_key() == keys.identity_key() {
                return Err(Error::invalid("card", "this is your own card"));
            }
            if is_replaced(tx, &card.identity_key())? {
                return Err(CardError::ReplacedIdentity.into());
            }
            if let Some(seq) = seq_by_identity(tx, &card.identity_key())? {
                return match take_card(tx, &keys, card, &[])? {
                    Taken::Updated => Ok(Added::Updated(load(tx, seq)?)),
                    Taken::Unchanged => Ok(Added::Unchanged(load(tx, seq)?)),
                    Taken::Downgrade => Err(CardError::Downgrade.into()),
                    Taken::Conflict => {
                        mark_conflict(tx, &card.identity_key())?;
                        Ok(Added::IdentityConflict(load(tx, seq)?))
                    }
                };
            }
            check_name_free(tx, "comrades", name, None)?;
            let id = ComradeId::new();
            tx.execute(
                "INSERT INTO comrades (id, name, card, identity_key, encryption_key,
                     card_issued_at, pair_key, added_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    id.to_string(),
                    name,
                    card.as_bytes(),
                    card.identity_key().as_bytes().as_slice(),
                    card.encryption_key().as_bytes().as_slice(),
                    card.issued_at().timestamp(),
                    keys.current.pair_key(&card.encryption_key())?.0.as_slice(),
                    Utc::now().timestamp_millis(),
                ],
            )?;
            let seq = tx.last_insert_rowid();
            start_chain(tx, seq, card)?;
            (self.on_change)(tx, ComradeChange::Added(id))?;
            Ok(Added::New(load(tx, seq)?))
        })
    }

    /// A comrade has a new identity key (a new phone, a lost vault). They
    /// become unverified until safety numbers are compared again.
    pub fn replace_identity(&self, id: ComradeId, card: &Card) -> Result<Added> {
        card.check_not_ahead(Utc::now())?;
        self.vault.with_tx(|tx| {
            let keys = identity::load(tx)?;
            let seq = seq_of(tx, id)?;
            if card.identity_key() == keys.identity_key() {
                return Err(Error::invalid("card", "this is your own card"));
            }
            if let Some(other) = seq_by_identity(tx, &card.identity_key())? {
                if other != seq {
                    return Err(Error::invalid(
                        "card",
                        "that card belongs to another comrade",
                    ));
                }
                return Err(Error::invalid(
                    "card",
                    "the same identity: add the card, or resolve the conflict",
                ));
            }
            take_new_identity(tx, &keys, seq, card, NewIdentity::Told)?;
            Ok(Added::IdentityChanged(load(tx, seq)?))
        })
    }

    /// Takes a comrade's replacement statement, signed with the recovery key
    /// the card I hold of them commits to: their identity becomes the new
    /// card's, without meeting again. They stay verified if they were, since
    /// the recovery key was on the card I verified; an identity conflict
    /// the theft caused ends. The replaced identity is refused from then on,
    /// whatever its cards and envelopes say.
    pub fn accept_replacement(&self, statement: &Replacement) -> Result<Comrade> {
        let now = Utc::now();
        let new = statement.new_card();
        new.check_not_ahead(now)?;
        self.vault.with_tx(|tx| {
            let keys = identity::load(tx)?;
            if new.identity_key() == keys.identity_key() {
                return Err(Error::invalid("statement", "it replaces someone with you"));
            }
            let (seq, id, old, verified) =
                committed_to(tx, &statement.commitment())?.ok_or(RecoveryError::NoSuchComrade)?;
            if seq_by_identity(tx, &new.identity_key())?.is_some()
                || is_replaced(tx, &new.identity_key())?
            {
                return Err(Error::invalid(
                    "statement",
                    "its new identity is already another comrade's",
                ));
            }
            tx.execute(
                "INSERT OR REPLACE INTO replaced_identities (identity_key, comrade, replaced_at)
                 VALUES (?1, ?2, ?3)",
                params![old.as_bytes().as_slice(), seq, now.timestamp_millis()],
            )?;
            take_new_identity(tx, &keys, seq, new, NewIdentity::Recovered { verified })?;
            (self.on_change)(tx, ComradeChange::Added(id))?;
            load(tx, seq)
        })
    }

    /// Ends an identity conflict after meeting in person: `card` is the one
    /// their phone shows now, and becomes the card I hold, whatever its
    /// number; they are verified again. Cards forking from it are new
    /// conflicts.
    pub fn resolve_conflict(&self, id: ComradeId, card: &Card) -> Result<Comrade> {
        card.check_not_ahead(Utc::now())?;
        self.vault.with_tx(|tx| {
            let keys = identity::load(tx)?;
            let seq = seq_of(tx, id)?;
            let comrade = load(tx, seq)?;
            if card.identity_key() != comrade.identity_key {
                return Err(Error::invalid(
                    "card",
                    "another identity key: replace their identity instead",
                ));
            }
            hold(tx, &keys, seq, card)?;
            tx.execute(
                "UPDATE comrades SET conflict_at = NULL, verified_key = identity_key
                 WHERE seq = ?1",
                [seq],
            )?;
            start_chain(tx, seq, card)?;
            load(tx, seq)
        })
    }

    /// Alphabetical.
    pub fn list(&self) -> Result<Vec<Comrade>> {
        self.vault.with_conn(|conn| {
            let sql = format!("SELECT {COLUMNS} FROM comrades ORDER BY name");
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map([], from_row)?;
            rows.map(|r| r?).collect()
        })
    }

    pub fn get(&self, id: ComradeId) -> Result<Comrade> {
        self.vault.with_conn(|conn| load(conn, seq_of(conn, id)?))
    }

    /// By the name I gave them, ignoring case.
    pub fn find(&self, name: &str) -> Result<Comrade> {
        self.vault.with_conn(|conn| {
            let seq = conn
                .query_row(
                    "SELECT seq FROM comrades WHERE name = ?1",
                    [name.trim()],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or(Error::NotFound { what: "comrade" })?;
            load(conn, seq)
        })
    }

    pub fn rename(&self, id: ComradeId, name: &str) -> Result<Comrade> {
        let name = name::clean(name)?;
        self.update(id, |tx, seq| {
            check_name_free(tx, "comrades", name, Some(seq))?;
            tx.execute(
                "UPDATE comrades SET name = ?2 WHERE seq = ?1",
                params![seq, name],
            )?;
            Ok(())
        })
    }

    /// After comparing safety numbers in person. A later identity change undoes it.
    pub fn mark_verified(&self, id: ComradeId) -> Result<Comrade> {
        self.update(id, |tx, seq| {
            tx.execute(
                "UPDATE comrades SET verified_key = identity_key WHERE seq = ?1",
                [seq],
            )?;
            Ok(())
        })
    }

    pub fn mark_unverified(&self, id: ComradeId) -> Result<Comrade> {
        self.update(id, |tx, seq| {
            tx.execute(
                "UPDATE comrades SET verified_key = NULL WHERE seq = ?1",
                [seq],
            )?;
            Ok(())
        })
    }

    /// They receive nothing new from me, and what they send is refused.
    pub fn block(&self, id: ComradeId) -> Result<Comrade> {
        self.set_blocked(id, true)
    }

    pub fn unblock(&self, id: ComradeId) -> Result<Comrade> {
        self.set_blocked(id, false)
    }

    /// Blocking also announces a new mailbox pair the blocked comrade never
    /// learns, serving from a week's start; unblocking sends them my card
    /// with it (`docs/delivery.md`).
    fn set_blocked(&self, id: ComradeId, blocked: bool) -> Result<Comrade> {
        self.update(id, |tx, seq| {
            let cut = cut_off(tx, seq)?;
            let changed = tx.execute(
                "UPDATE comrades SET blocked = ?2 WHERE seq = ?1 AND blocked != ?2",
                params![seq, blocked],
            )?;
            match (changed > 0, blocked) {
                (false, _) => Ok(()),
                (true, true) => (self.on_change)(tx, ComradeChange::Cut(cut)),
                (true, false) => (self.on_change)(tx, ComradeChange::Restored(id)),
            }
        })
    }

    /// Forgets a comrade and takes them out of every circle. What they sent
    /// stays in the inbox; what they send from now on is from a stranger,
    /// and once the new mailbox pair serves goes where I no longer read.
    pub fn remove(&self, id: ComradeId) -> Result<()> {
        self.vault.with_tx(|tx| {
            let seq = seq_of(tx, id)?;
            let cut = cut_off(tx, seq)?;
            tx.execute("DELETE FROM comrades WHERE seq = ?1", [seq])?;
            (self.on_change)(tx, ComradeChange::Cut(cut))
        })
    }

    fn update(
        &self,
        id: ComradeId,
        change: impl FnOnce(&Connection, i64) -> Result<()>,
    ) -> Result<Comrade> {
        self.vault.with_tx(|tx| {
            let seq = seq_of(tx, id)?;
            change(tx, seq)?;
            load(tx, seq)
        })
    }
}

/// How I came to hold the card of a comrade I did not add myself.
pub(crate) enum Met<'a> {
    /// A member of a collective gave it to me.
    Introduced {
        by: &'a IdentityKey,
        by_name: &'a str,
    },
    /// They came to the collective with a visitor pass I issued.
    Visitor,
    /// They issued the visitor pass I came with.
    Host,
}

/// Adds the holder of `card` as a comrade I met in `collective`, `met`
/// as it says: unverified, under the name on their card (made unique).
/// Nothing when they are me or a comrade already.
pub(crate) fn add_met(
    conn: &Connection,
    card: &Card,
    met: Met<'_>,
    collective: &str,
    now: DateTime<Utc>,
) -> Result<Option<ComradeId>> {
    let keys = identity::load(conn)?;
    if card.identity_key() == keys.identity_key()
        || seq_by_identity(conn, &card.identity_key())?.is_some()
        || is_replaced(conn, &card.identity_key())?
    {
        return Ok(None);
    }
    card.check_not_ahead(now)?;
    let name = free_name(conn, card.name(), collective)?;
    let id = ComradeId::new();
    let (by, by_name, visit_role) = match met {
        Met::Introduced { by, by_name } => (Some(by.as_bytes().as_slice()), Some(by_name), None),
        Met::Visitor => (None, None, Some(VisitRole::Visitor as i64)),
        Met::Host => (None, None, Some(VisitRole::Host as i64)),
    };
    conn.execute(
        "INSERT INTO comrades (id, name, card, identity_key, encryption_key,
             card_issued_at, pair_key, added_at, introduced_by, introduced_by_name, introduced_in,
             visit, visit_role)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            id.to_string(),
            name,
            card.as_bytes(),
            card.identity_key().as_bytes().as_slice(),
            card.encryption_key().as_bytes().as_slice(),
            card.issued_at().timestamp(),
            keys.current.pair_key(&card.encryption_key())?.0.as_slice(),
            now.timestamp_millis(),
            by,
            by_name,
            by.map(|_| collective),
            visit_role.map(|_| collective),
            visit_role,
        ],
    )?;
    start_chain(conn, conn.last_insert_rowid(), card)?;
    Ok(Some(id))
}

/// `wanted`, or `wanted (collective)`, or with a number: the first no
/// comrade of mine is called.
fn free_name(conn: &Connection, wanted: &str, collective: &str) -> Result<String> {
    let tries = [wanted.to_owned(), format!("{wanted} ({collective})")]
        .into_iter()
        .chain((2..).map(|n| format!("{wanted} {n}")));
    for name in tries.take(1000) {
        if name::is_clean(&name) && check_name_free(conn, "comrades", &name, None).is_ok() {
            return Ok(name);
        }
    }
    Err(Error::NameTaken { what: "comrade" })
}

/// Takes a comrade's card (an envelope's, with the digests it carries of
/// the cards before; or one added by hand, with none), by the chain rules
/// of `docs/comrade-card.md`: a chained card only if it extends the chain
/// of theirs I hold; an unchained one only while I hold no chained card,
/// and only if newer. The caller knows they are a comrade.
pub(crate) fn take_card(
    conn: &Connection,
    keys: &MyKeys,
    card: &Card,
    links: &[[u8; 32]],
) -> Result<Taken> {
    type Row = (i64, Option<u32>, i64, Option<i64>, Vec<u8>);
    let (seq, held_seq, issued, conflict, held): Row = conn
        .prepare_cached(
            "SELECT seq, card_seq, card_issued_at, conflict_at, card FROM comrades
             WHERE identity_key = ?1",
        )?
        .query_row([card.identity_key().as_bytes().as_slice()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?
        .ok_or(Error::NotFound { what: "comrade" })?;
    if conflict.is_some() {
        return Ok(Taken::Conflict);
    }
    // Most envelopes carry the very card I hold: nothing to judge.
    if held == card.as_bytes() {
        return Ok(Taken::Unchanged);
    }
    let newer = card.issued_at().timestamp() > issued;
    match (held_seq, card.chain()) {
        (Some(_), None) => Ok(Taken::Downgrade),
        (None, _) if !newer => Ok(Taken::Unchanged),
        (None, None) => {
            hold(conn, keys, seq, card)?;
            Ok(Taken::Updated)
        }
        (None, Some(_)) => {
            hold(conn, keys, seq, card)?;
            start_chain(conn, seq, card)?;
            Ok(Taken::Updated)
        }
        (Some(_), Some(_)) => match chain::judge(&held_chain(conn, seq)?, card, links) {
            Verdict::Known => Ok(Taken::Unchanged),
            Verdict::Fork | Verdict::Gap => Ok(Taken::Conflict),
            Verdict::Extends(joined) => {
                let before = Card::from_bytes(&held).map_err(|_| Error::DatabaseDamaged)?;
                // Once their card names a post-quantum key, a later one must too.
                if before.pq_digest().is_some() && card.pq_digest().is_none() {
                    return Ok(Taken::Downgrade);
                }
                // A recovery key is set up once; a card that changes or
                // drops it is what someone holding a stolen identity key
                // would issue, to keep the member from taking it back.
                if before.recovery().is_some() && card.recovery() != before.recovery() {
                    return Ok(Taken::Conflict);
                }
                hold(conn, keys, seq, card)?;
                extend_chain(conn, seq, &joined)?;
                Ok(Taken::Updated)
            }
        },
    }
}

/// Keeps the post-quantum key an envelope brought, when the card it came
/// with is the one I hold of them (the envelope checked that it names it).
pub(crate) fn learn_pq_key(conn: &Connection, card: &Card, key: &PqKey) -> Result<()> {
    conn.prepare_cached(
        "UPDATE comrades SET pq_key = ?3
         WHERE identity_key = ?1 AND card = ?2 AND pq_key IS NOT ?3",
    )?
    .execute(params![
        card.identity_key().as_bytes().as_slice(),
        card.as_bytes(),
        key.as_bytes().as_slice()
    ])?;
    Ok(())
}

/// The post-quantum key I hold of a comrade, if it is the one `card` names.
pub(crate) fn pq_key_for(conn: &Connection, card: &Card) -> Result<Option<PqKey>> {
    let Some(digest) = card.pq_digest() else {
        return Ok(None);
    };
    let bytes: Option<Vec<u8>> = conn
        .prepare_cached("SELECT pq_key FROM comrades WHERE identity_key = ?1")?
        .query_row([card.identity_key().as_bytes().as_slice()], |r| r.get(0))
        .optional()?
        .flatten();
    Ok(bytes
        .and_then(|b| PqKey::from_slice(&b))
        .filter(|k| k.digest() == digest))
}

/// How a comrade came to a new identity key: I was told, so they are
/// unverified until we meet; or by their recovery key, so they stay as
/// verified as they were.
enum NewIdentity {
    Told,
    Recovered { verified: bool },
}

/// Comrade `seq` is now the holder of `card`'s identity: its keys replace
/// theirs, their chain starts again at it, and an identity conflict ends.
fn take_new_identity(
    conn: &Connection,
    keys: &MyKeys,
    seq: i64,
    card: &Card,
    how: NewIdentity,
) -> Result<()> {
    let now = Utc::now().timestamp_millis();
    let (verified, changed_at, recovered_at) = match how {
        NewIdentity::Told => (false, Some(now), None),
        NewIdentity::Recovered { verified } => (verified, None, Some(now)),
    };
    conn.execute(
        "UPDATE comrades SET card = ?2, identity_key = ?3, encryption_key = ?4,
             card_issued_at = ?5, pair_key = ?6, verified_key = ?7,
             identity_changed_at = coalesce(?8, identity_changed_at),
             recovered_at = coalesce(?9, recovered_at), conflict_at = NULL, pq_key = NULL
         WHERE seq = ?1",
        params![
            seq,
            card.as_bytes(),
            card.identity_key().as_bytes().as_slice(),
            card.encryption_key().as_bytes().as_slice(),
            card.issued_at().timestamp(),
            keys.current.pair_key(&card.encryption_key())?.0.as_slice(),
            verified.then(|| card.identity_key().as_bytes().to_vec()),
            changed_at,
            recovered_at,
        ],
    )?;
    conn.execute(
        "DELETE FROM comrade_previous_keys WHERE comrade = ?1",
        [seq],
    )?;
    start_chain(conn, seq, card)
}

/// The comrade whose card I hold commits to this recovery key: their row,
/// id, identity key, and whether I verified them.
fn committed_to(
    conn: &Connection,
    commitment: &[u8; 32],
) -> Result<Option<(i64, ComradeId, IdentityKey, bool)>> {
    let mut stmt =
        conn.prepare("SELECT seq, id, card, verified_key IS identity_key FROM comrades")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let card =
            Card::from_bytes(&row.get::<_, Vec<u8>>(2)?).map_err(|_| Error::DatabaseDamaged)?;
        if card.recovery() == Some(*commitment) {
            let id: String = row.get(1)?;
            return Ok(Some((
                row.get(0)?,
                id.parse().map_err(|_| Error::DatabaseDamaged)?,
                card.identity_key(),
                row.get(3)?,
            )));
        }
    }
    Ok(None)
}

/// Whether a comrade replaced this identity with their recovery key.
pub(crate) fn is_replaced(conn: &Connection, key: &IdentityKey) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM replaced_identities WHERE identity_key = ?1)",
        )?
        .query_row([key.as_bytes().as_slice()], |r| r.get(0))?)
}

/// Every comrade's post-quantum key I hold: what a copy of the vault gives.
#[cfg(feature = "testing")]
pub(crate) fn pq_keys(conn: &Connection) -> Result<Vec<(IdentityKey, PqKey)>> {
    let mut stmt =
        conn.prepare("SELECT identity_key, pq_key FROM comrades WHERE pq_key IS NOT NULL")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    rows.map(|row| {
        let (identity, pq) = row?;
        Ok((
            IdentityKey::from_stored(identity)?,
            PqKey::from_slice(&pq).ok_or(Error::DatabaseDamaged)?,
        ))
    })
    .collect()
}

/// Marks the identity conflict [`take_card`] found: they are no longer
/// verified, nothing from them opens and nothing is sealed to them.
pub(crate) fn mark_conflict(conn: &Connection, key: &IdentityKey) -> Result<()> {
    conn.execute(
        "UPDATE comrades SET conflict_at = ?2, verified_key = NULL
         WHERE identity_key = ?1 AND conflict_at IS NULL",
        params![key.as_bytes().as_slice(), Utc::now().timestamp_millis()],
    )?;
    Ok(())
}

/// `card` becomes the one I hold of comrade `seq`. A key it replaces still
/// opens what they sealed with it for [`PREVIOUS_KEY_GRACE`] from the card's
/// issue; keys replaced longer ago go.
fn hold(conn: &Connection, keys: &MyKeys, seq: i64, card: &Card) -> Result<()> {
    let held: Vec<u8> = conn.query_row(
        "SELECT encryption_key FROM comrades WHERE seq = ?1",
        [seq],
        |r| r.get(0),
    )?;
    let replaced = (held.as_slice() != card.encryption_key().as_bytes().as_slice()).then_some(held);
    // The post-quantum key I held was the old card's: the next envelope
    // brings the one this card names.
    conn.execute(
        "UPDATE comrades SET card = ?2, encryption_key = ?3, card_issued_at = ?4, pair_key = ?5,
             card_seq = ?6, pq_key = NULL
         WHERE seq = ?1",
        params![
            seq,
            card.as_bytes(),
            card.encryption_key().as_bytes().as_slice(),
            card.issued_at().timestamp(),
            keys.current.pair_key(&card.encryption_key())?.0.as_slice(),
            card.chain().map(|l| l.seq),
        ],
    )?;
    if let Some(old) = replaced {
        conn.execute(
            "INSERT OR REPLACE INTO comrade_previous_keys (comrade, key, replaced_at)
             VALUES (?1, ?2, ?3)",
            params![seq, old, card.issued_at().timestamp_millis()],
        )?;
        conn.execute(
            "DELETE FROM comrade_previous_keys WHERE comrade = ?1 AND replaced_at < ?2",
            params![
                seq,
                (card.issued_at() - PREVIOUS_KEY_GRACE).timestamp_millis()
            ],
        )?;
    }
    Ok(())
}

/// Their chain as I hold it starts again at `card` (none if unchained).
fn start_chain(conn: &Connection, seq: i64, card: &Card) -> Result<()> {
    conn.execute("DELETE FROM comrade_chain WHERE comrade = ?1", [seq])?;
    conn.execute(
        "UPDATE comrades SET card_seq = ?2 WHERE seq = ?1",
        params![seq, card.chain().map(|l| l.seq)],
    )?;
    match (card.chain(), card.chain_hash()) {
        (Some(link), Some(hash)) => extend_chain(conn, seq, &[(link.seq, hash)]),
        _ => Ok(()),
    }
}

fn extend_chain(conn: &Connection, seq: i64, joined: &[(u32, [u8; 32])]) -> Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT OR REPLACE INTO comrade_chain (comrade, seq, hash) VALUES (?1, ?2, ?3)",
    )?;
    for (n, hash) in joined {
        insert.execute(params![seq, n, hash.as_slice()])?;
    }
    if let Some((last, _)) = joined.last() {
        conn.execute(
            "DELETE FROM comrade_chain WHERE comrade = ?1 AND seq <= ?2",
            params![seq, i64::from(*last) - chain::HELD_HASHES as i64],
        )?;
    }
    Ok(())
}

fn held_chain(conn: &Connection, seq: i64) -> Result<Held> {
    let mut stmt = conn.prepare_cached("SELECT seq, hash FROM comrade_chain WHERE comrade = ?1")?;
    let rows = stmt.query_map([seq], |r| {
        Ok((r.get::<_, u32>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    rows.map(|row| {
        let (n, hash) = row?;
        Ok((n, hash.try_into().map_err(|_| Error::DatabaseDamaged)?))
    })
    .collect()
}

pub(crate) fn seq_of(conn: &Connection, id: ComradeId) -> Result<i64> {
    conn.query_row(
        "SELECT seq FROM comrades WHERE id = ?1",
        [id.to_string()],
        |r| r.get(0),
    )
    .optional()?
    .ok_or(Error::NotFound { what: "comrade" })
}

/// After my encryption key changed: the pair key with every comrade.
pub(crate) fn derive_pair_keys(conn: &Connection, mine: &EncryptionSecret) -> Result<()> {
    let theirs: Vec<(i64, Vec<u8>)> = conn
        .prepare("SELECT seq, encryption_key FROM comrades")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (seq, key) in theirs {
        let key = EncryptionKey(key.try_into().map_err(|_| Error::DatabaseDamaged)?);
        conn.execute(
            "UPDATE comrades SET pair_key = ?2 WHERE seq = ?1",
            params![seq, mine.pair_key(&key)?.0.as_slice()],
        )?;
    }
    Ok(())
}

/// A sender as my vault knows them.
pub(crate) struct Known {
    pub id: ComradeId,
    pub name: String,
    pub blocked: bool,
    pub in_conflict: bool,
    /// I hold the post-quantum key their card names.
    pub post_quantum: bool,
    encryption_key: Vec<u8>,
    /// Keys their later cards replaced, and when.
    previous_keys: Vec<(Vec<u8>, i64)>,
}

/// After a comrade's new encryption key, envelopes under the ones it
/// replaced are still taken this long from the replacing card's issue: as
/// long as an event can wait on a relay (`delivery::LONGEST_STAY`), so
/// nothing sent before is lost. With weekly epochs that is two or three keys.
pub const PREVIOUS_KEY_GRACE: chrono::Duration = chrono::Duration::days(16);

impl Known {
    /// Whether an envelope carrying `card`, which did not replace the card
    /// I hold, may speak for them: only with the key I hold, or the one it
    /// replaced within [`PREVIOUS_KEY_GRACE`]. Whoever kept a retired
    /// secret cannot use it.
    pub(crate) fn may_seal_with(&self, card: &Card, now: DateTime<Utc>) -> bool {
        let key = card.encryption_key();
        let key = key.as_bytes().as_slice();
        key == self.encryption_key.as_slice()
            || self.previous_keys.iter().any(|(previous, at)| {
                previous.as_slice() == key
                    && now.timestamp_millis() - at <= PREVIOUS_KEY_GRACE.num_milliseconds()
            })
    }
}

/// The comrade with this identity key, if I have them.
pub(crate) fn known(conn: &Connection, key: &IdentityKey) -> Result<Option<Known>> {
    type Row = (i64, String, String, bool, Vec<u8>, bool, bool);
    let row: Option<Row> = conn
        .prepare_cached(
            "SELECT seq, id, name, blocked, encryption_key, conflict_at IS NOT NULL,
                    pq_key IS NOT NULL
             FROM comrades WHERE identity_key = ?1",
        )?
        .query_row([key.as_bytes().as_slice()], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .optional()?;
    let Some((seq, id, name, blocked, encryption_key, in_conflict, post_quantum)) = row else {
        return Ok(None);
    };
    let previous_keys = conn
        .prepare_cached("SELECT key, replaced_at FROM comrade_previous_keys WHERE comrade = ?1")?
        .query_map([seq], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(Known {
        id: id.parse()?,
        name,
        blocked,
        in_conflict,
        post_quantum,
        encryption_key,
        previous_keys,
    }))
}

/// When a card of this comrade's replaced `key`, while I still keep it
/// (within [`PREVIOUS_KEY_GRACE`]).
pub(crate) fn key_replaced_at(
    conn: &Connection,
    comrade: &IdentityKey,
    key: &EncryptionKey,
) -> Result<Option<DateTime<Utc>>> {
    let at: Option<i64> = conn
        .prepare_cached(
            "SELECT p.replaced_at FROM comrade_previous_keys p
             JOIN comrades c ON c.seq = p.comrade
             WHERE c.identity_key = ?1 AND p.key = ?2",
        )?
        .query_row(
            params![comrade.as_bytes().as_slice(), key.as_bytes().as_slice()],
            |r| r.get(0),
        )
        .optional()?;
    at.map(from_ms).transpose()
}

/// The encryption key I hold of the comrade with this identity key, unless
/// blocked or unknown; nothing parsed, nothing verified.
pub(crate) fn encryption_key_of(
    conn: &Connection,
    comrade: &IdentityKey,
) -> Result<Option<EncryptionKey>> {
    let key: Option<Vec<u8>> = conn
        .prepare_cached(
            "SELECT encryption_key FROM comrades WHERE identity_key = ?1 AND NOT blocked",
        )?
        .query_row([comrade.as_bytes().as_slice()], |r| r.get(0))
        .optional()?;
    key.map(|k| {
        k.try_into()
            .map(EncryptionKey)
            .map_err(|_| Error::DatabaseDamaged)
    })
    .transpose()
}

/// The card of the comrade with this identity key, unless blocked or unknown.
pub(crate) fn card_of_unblocked(conn: &Connection, key: &IdentityKey) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT card FROM comrades WHERE identity_key = ?1 AND NOT blocked")?
        .query_row([key.as_bytes().as_slice()], |r| r.get(0))
        .optional()?)
}

/// The card I hold of a comrade, blocked or not.
#[cfg(feature = "testing")]
pub(crate) fn card_of(conn: &Connection, id: ComradeId) -> Result<Vec<u8>> {
    Ok(conn.query_row(
        "SELECT card FROM comrades WHERE seq = ?1",
        [seq_of(conn, id)?],
        |r| r.get(0),
    )?)
}

/// What I call the comrade with this identity key, unless blocked or unknown.
pub(crate) fn name_of(conn: &Connection, key: &IdentityKey) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT name FROM comrades WHERE identity_key = ?1 AND NOT blocked",
            [key.as_bytes().as_slice()],
            |r| r.get(0),
        )
        .optional()?)
}

/// Comrades and circle members, each once, ready to seal to; blocked ones
/// only leave circles. Naming a blocked comrade is refused.
pub(crate) fn resolve(conn: &Connection, to: &[Recipient]) -> Result<Vec<Peer>> {
    let mut seqs = std::collections::BTreeSet::new();
    for target in to {
        match target {
            Recipient::Comrade(id) => {
                let (seq, blocked, conflict) = seq_and_state(conn, *id)?;
                if blocked {
                    return Err(Error::invalid("recipient", "that comrade is blocked"));
                }
                if conflict {
                    return Err(Error::invalid(
                        "recipient",
                        "that comrade's identity is in conflict: meet them to verify it",
                    ));
                }
                seqs.insert(seq);
            }
            Recipient::Circle(id) => seqs.extend(circles::member_seqs(conn, *id)?),
        }
    }
    peers(conn, &seqs.into_iter().collect::<Vec<_>>())
}

/// Every comrade I have not blocked, or only these, ready to seal to.
pub(crate) fn unblocked(conn: &Connection, only: Option<&[ComradeId]>) -> Result<Vec<Peer>> {
    let seqs: Vec<i64> = match only {
        None => conn
            .prepare_cached(&format!(
                "SELECT seq FROM comrades WHERE {SEALABLE} ORDER BY seq"
            ))?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?,
        Some(ids) => ids
            .iter()
            .map(|id| seq_of(conn, *id))
            .collect::<Result<_>>()?,
    };
    peers(conn, &seqs)
}

fn seq_and_state(conn: &Connection, id: ComradeId) -> Result<(i64, bool, bool)> {
    conn.query_row(
        "SELECT seq, blocked, conflict_at IS NOT NULL FROM comrades WHERE id = ?1",
        [id.to_string()],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()?
    .ok_or(Error::NotFound { what: "comrade" })
}

pub(crate) fn seq_by_identity(conn: &Connection, key: &IdentityKey) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT seq FROM comrades WHERE identity_key = ?1",
            [key.as_bytes().as_slice()],
            |r| r.get(0),
        )
        .optional()?)
}

/// The comrade with this identity key, if I have them.
pub(crate) fn by_identity(conn: &Connection, key: &IdentityKey) -> Result<Option<Comrade>> {
    seq_by_identity(conn, key)?
        .map(|seq| load(conn, seq))
        .transpose()
}

pub(crate) fn by_id(conn: &Connection, id: ComradeId) -> Result<Comrade> {
    load(conn, seq_of(conn, id)?)
}

pub(crate) fn load(conn: &Connection, seq: i64) -> Result<Comrade> {
    let sql = format!("SELECT {COLUMNS} FROM comrades WHERE seq = ?1");
    conn.query_row(&sql, [seq], from_row)?
}

/// Comrades with these identity keys, ready to seal to; removed and
/// blocked ones are left out.
pub(crate) fn peers_for_keys(conn: &Connection, keys: &[IdentityKey]) -> Result<Vec<Peer>> {
    let mut seqs = Vec::with_capacity(keys.len());
    for key in keys {
        seqs.extend(seq_by_identity(conn, key)?);
    }
    peers(conn, &seqs)
}

/// Comrades sealed to: not blocked, and not in an identity conflict.
const SEALABLE: &str = "NOT blocked AND conflict_at IS NULL";

/// The comrades behind these row numbers, ready to seal to; blocked ones
/// and those in an identity conflict are left out.
fn peers(conn: &Connection, seqs: &[i64]) -> Result<Vec<Peer>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PEER_COLUMNS} FROM comrades WHERE seq = ?1 AND {SEALABLE}"
    ))?;
    let mut peers = Vec::with_capacity(seqs.len());
    for seq in seqs {
        if let Some(peer) = stmt.query_row([seq], peer_row).optional()? {
            peers.push(peer?);
        }
    }
    Ok(peers)
}

/// A comrade about to be removed or blocked, as a card update to them
/// needs them: delivery sends them one too, so that nothing tells a relay
/// who was cut off (`docs/delivery.md`).
pub(crate) struct CutOff {
    pub peer: Peer,
    /// Their card, for where they receive.
    pub card: Vec<u8>,
}

fn cut_off(conn: &Connection, seq: i64) -> Result<CutOff> {
    let (peer, card) = conn.query_row(
        &format!("SELECT {PEER_COLUMNS}, card FROM comrades WHERE seq = ?1"),
        [seq],
        |r| Ok((peer_row(r)?, r.get(5)?)),
    )?;
    Ok(CutOff { peer: peer?, card })
}

const PEER_COLUMNS: &str = "identity_key, name, encryption_key, pair_key, pq_key";

/// A [`Peer`] from [`PEER_COLUMNS`]: a damaged row is an error of its own.
fn peer_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Peer>> {
    let identity: Vec<u8> = r.get(0)?;
    let name: String = r.get(1)?;
    let encryption: Vec<u8> = r.get(2)?;
    let pair = zeroize::Zeroizing::new(r.get::<_, Vec<u8>>(3)?);
    let pq: Option<Vec<u8>> = r.get(4)?;
    Ok((|| {
        Ok(Peer {
            identity_key: IdentityKey::from_stored(identity)?,
            name,
            encryption_key: EncryptionKey(
                encryption.try_into().map_err(|_| Error::DatabaseDamaged)?,
            ),
            pair_key: PairKey::from_slice(&pair)?,
            pq_key: pq
                .map(|bytes| PqKey::from_slice(&bytes).ok_or(Error::DatabaseDamaged))
                .transpose()?,
        })
    })())
}

/// `table` is `comrades` or `circles`: names are unique within each, ignoring case.
pub(crate) fn check_name_free(
    conn: &Connection,
    table: &'static str,
    name: &str,
    except: Option<i64>,
) -> Result<()> {
    let sql = format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE name = ?1 AND seq IS NOT ?2)");
    let taken: bool = conn.query_row(&sql, params![name, except], |r| r.get(0))?;
    if taken {
        let what = if table == "circles" {
            "circle"
        } else {
            "comrade"
        };
        return Err(Error::NameTaken { what });
    }
    Ok(())
}

fn from_row(row: &Row) -> rusqlite::Result<Result<Comrade>> {
    let id: String = row.get(0)?;
    let card: Vec<u8> = row.get(2)?;
    let identity: Vec<u8> = row.get(3)?;
    let changed: Option<i64> = row.get(7)?;
    let conflict: Option<i64> = row.get(8)?;
    let added: i64 = row.get(6)?;
    let name: String = row.get(1)?;
    let verified: bool = row.get(4)?;
    let blocked: bool = row.get(5)?;
    let introduced: Option<(Vec<u8>, String, String)> = match row.get::<_, Option<Vec<u8>>>(9)? {
        Some(by) => Some((by, row.get(10)?, row.get(11)?)),
        None => None,
    };
    let visit: Option<(String, i64)> = match row.get::<_, Option<String>>(12)? {
        Some(collective) => Some((collective, row.get(13)?)),
        None => None,
    };
    let post_quantum: bool = row.get(14)?;
    let recovered: Option<i64> = row.get(15)?;
    Ok((|| {
        let card = Card::from_bytes(&card).map_err(|_| Error::DatabaseDamaged)?;
        Ok(Comrade {
            id: id.parse().map_err(|_| Error::DatabaseDamaged)?,
            name,
            card_name: card.name().to_owned(),
            identity_key: IdentityKey::from_stored(identity)?,
            verified,
            blocked,
            added_at: from_ms(added)?,
            identity_changed_at: changed.map(from_ms).transpose()?,
            identity_conflict_at: conflict.map(from_ms).transpose()?,
            introduced: introduced
                .map(|(by, by_name, collective)| {
                    Ok::<_, Error>(Introduction {
                        by: IdentityKey::from_stored(by)?,
                        by_name,
                        collective,
                    })
                })
                .transpose()?,
            visit: visit
                .map(|(collective, role)| {
                    let role = match role {
                        0 => VisitRole::Visitor,
                        1 => VisitRole::Host,
                        _ => return Err(Error::DatabaseDamaged),
                    };
                    Ok(Visit { collective, role })
                })
                .transpose()?,
            post_quantum,
            recovered_at: recovered.map(from_ms).transpose()?,
        })
    })())
}
