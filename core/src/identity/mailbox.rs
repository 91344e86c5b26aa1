//! My mailboxes: random key pairs that comrades address envelopes to, and
//! from each, with its seed, a new mailbox every week (`Address::mailbox_at`).
//! Cutting a comrade off announces a new pair that takes over at a week's
//! start at least [`MAILBOX_NOTICE`] away, so a relay sees what it sees
//! every week: one week's mailbox giving way to the next. The old pair's
//! weeks are read until nothing can be left in them.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use zeroize::Zeroizing;

use super::address::{MailboxSeed, NextMailbox, secp, week_of, week_start};
use super::{Address, MAX_RELAY_HINTS, MailboxKey, relays};
use crate::time::from_ms;
use crate::{Error, Result};

/// How long a pair from before weekly mailboxes is still fetched once
/// replaced. Events live on relays about as long (`delivery::EVENT_LIFETIME`).
pub const MAILBOX_GRACE: Duration = Duration::days(14);
/// No event stays on a relay longer than this after it was published
/// (`docs/delivery.md`), so no older week's mailbox is read.
pub const LONGEST_STAY: Duration = Duration::days(16);
/// A new pair is announced at least this far ahead: a comrade who syncs
/// within it never writes to the old pair once it is no longer read, and
/// card updates (which live on relays 14 days or more) are still there for
/// those who sync later.
pub const MAILBOX_NOTICE: Duration = Duration::days(7);

/// One of my mailboxes, with the secret a transport signs requests with
/// (NIP-42 authentication). The secret never leaves the process.
#[derive(Clone)]
pub struct Mailbox {
    pub(crate) seq: i64,
    pub key: MailboxKey,
    secret: Zeroizing<[u8; 32]>,
    /// The week it serves; `None` for a pair from before weekly mailboxes,
    /// addressed as it is.
    pub week: Option<i64>,
    /// When its pair stops (or stopped) being addressed; `None` for the
    /// newest pair.
    pub retired_at: Option<DateTime<Utc>>,
}

impl Mailbox {
    /// The secp256k1 secret key, for a transport's own signing.
    pub fn secret(&self) -> &[u8; 32] {
        &self.secret
    }

    /// A mailbox outside the vault whose secret key is `secret` (a move's
    /// rendezvous, which both phones derive).
    pub(crate) fn one_time(secret: &[u8; 32]) -> Result<Mailbox> {
        let key = nostr::prelude::SecretKey::from_slice(secret)
            .map_err(|_| crate::Error::invalid("mailbox", "not a secp256k1 key"))?;
        let public = nostr::prelude::Keys::new(key).public_key();
        Ok(Mailbox {
            seq: 0,
            key: MailboxKey(public.to_bytes()),
            secret: Zeroizing::new(*secret),
            week: None,
            retired_at: None,
        })
    }

    /// Whether comrades who have my current card no longer address its pair.
    pub fn is_retired(&self, now: DateTime<Utc>) -> bool {
        self.retired_at.is_some_and(|r| r <= now)
    }
}

impl fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailbox")
            .field("key", &self.key)
            .field("week", &self.week)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

/// Makes a mailbox if there is none: new vaults, and vaults from before
/// delivery existed.
pub(crate) fn ensure(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM mailboxes WHERE retired_at IS NULL)",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        create(conn, now, now)?;
    }
    Ok(())
}

fn create(conn: &Connection, now: DateTime<Utc>, serves_from: DateTime<Utc>) -> Result<()> {
    let keys = nostr::prelude::Keys::generate();
    let secret = Zeroizing::new(keys.secret_key().to_secret_bytes());
    let seed = Zeroizing::new(rand::random::<[u8; 32]>());
    conn.execute(
        "INSERT INTO mailboxes (secret, public, seed, created_at, serves_from)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            secret.as_slice(),
            keys.public_key().to_bytes().as_slice(),
            seed.as_slice(),
            now.timestamp_millis(),
            serves_from.timestamp_millis()
        ],
    )?;
    Ok(())
}

/// Whether my newest pair is from before weekly mailboxes (no seed).
pub(crate) fn current_is_static(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT seed IS NULL FROM mailboxes WHERE retired_at IS NULL",
        [],
        |r| r.get(0),
    )?)
}

/// For tests of the upgrade: my current pair loses its seed.
#[cfg(feature = "testing")]
pub(crate) fn make_current_static(conn: &Connection) -> Result<()> {
    conn.execute(
        "UPDATE mailboxes SET seed = NULL WHERE retired_at IS NULL",
        [],
    )?;
    Ok(())
}

/// For tests: an announced pair serves from this week on, as if its week
/// had come. Comrades must be sent the card again.
#[cfg(feature = "testing")]
pub(crate) fn bring_next_forward(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    let this_week = week_start(week_of(now)).timestamp_millis();
    conn.execute(
        "UPDATE mailboxes SET retired_at = ?1 WHERE retired_at > ?2",
        params![this_week, now.timestamp_millis()],
    )?;
    conn.execute(
        "UPDATE mailboxes SET serves_from = ?1 WHERE retired_at IS NULL AND serves_from > ?2",
        params![this_week, now.timestamp_millis()],
    )?;
    Ok(())
}

/// A new pair at once, the old one read through [`MAILBOX_GRACE`]: only for
/// a pair from before weekly mailboxes, which a card cannot announce ahead.
pub(crate) fn replace_static(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    conn.execute(
        "UPDATE mailboxes SET retired_at = ?1 WHERE retired_at IS NULL",
        [now.timestamp_millis()],
    )?;
    create(conn, now, now)
}

/// A new pair, serving from the first week that begins at least
/// [`MAILBOX_NOTICE`] from now; the current one serves until then. A pair
/// announced before and not yet serving is dropped: nobody can have used it.
/// The caller reissues the card and sends it.
pub(crate) fn announce_next(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    let switch = week_start(week_of(now + MAILBOX_NOTICE) + 1).timestamp_millis();
    let now = now.timestamp_millis();
    conn.execute("DELETE FROM mailboxes WHERE serves_from > ?1", [now])?;
    conn.execute(
        "UPDATE mailboxes SET retired_at = ?1 WHERE retired_at IS NULL OR retired_at > ?2",
        params![switch, now],
    )?;
    create(conn, from_ms(now)?, from_ms(switch)?)
}

/// My address, as my card carries it: the pair serving now, or, while a
/// pair announced ahead has one before it still read, that one with the
/// newer as its next.
pub(crate) fn my_address(conn: &Connection) -> Result<Address> {
    type Pair = (Vec<u8>, Option<Vec<u8>>, i64);
    let (public, seed, serves_from): Pair = conn.query_row(
        "SELECT public, seed, serves_from FROM mailboxes WHERE retired_at IS NULL",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let before: Option<Pair> = conn
        .query_row(
            "SELECT public, seed, serves_from FROM mailboxes
             WHERE retired_at = ?1 AND seed IS NOT NULL",
            [serves_from],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let key = |bytes: &[u8]| MailboxKey::from_slice(bytes).ok_or(Error::DatabaseDamaged);
    let mut relays = relays::list(conn)?;
    relays.truncate(MAX_RELAY_HINTS);
    let address = match (before, seed) {
        (Some((old, Some(old_seed), _)), Some(seed)) => Address {
            mailbox: key(&old)?,
            seed: Some(seed_from(&old_seed)?),
            relays,
            next: Some(NextMailbox {
                mailbox: key(&public)?,
                seed: seed_from(&seed)?,
                from_week: week_of(from_ms(serves_from)?),
            }),
        },
        (_, seed) => Address {
            mailbox: key(&public)?,
            seed: seed.map(|s| seed_from(&s)).transpose()?,
            relays,
            next: None,
        },
    };
    Ok(address)
}

fn seed_from(bytes: &[u8]) -> Result<MailboxSeed> {
    Ok(MailboxSeed(
        bytes.try_into().map_err(|_| Error::DatabaseDamaged)?,
    ))
}

/// Comrades may still publish to a week's mailbox this long after the week
/// ends, by their clocks; it is read until a complete fetch has begun later.
pub const CLOCK_SKEW: Duration = Duration::days(1);

/// The mailboxes to read: of each pair, every week it served since events
/// still on relays may have been published to it; a pair announced ahead
/// not before its week. A pair with no such week left is deleted with its
/// cursors (and my card, which named it, reissued); one from before weekly
/// mailboxes is read through its grace.
pub(crate) fn to_fetch(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<Mailbox>> {
    conn.execute(
        "DELETE FROM mailboxes WHERE seed IS NULL AND retired_at < ?1",
        [(now - MAILBOX_GRACE).timestamp_millis()],
    )?;
    let mut stmt = conn.prepare_cached(
        "SELECT seq, public, secret, seed, serves_from, retired_at FROM mailboxes",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            Zeroizing::new(r.get::<_, Vec<u8>>(2)?),
            r.get::<_, Option<Vec<u8>>>(3)?.map(Zeroizing::new),
            r.get::<_, i64>(4)?,
            r.get::<_, Option<i64>>(5)?,
        ))
    })?;
    let mut mailboxes = Vec::new();
    let mut spent = Vec::new();
    for row in rows {
        let (seq, public, secret, seed, serves_from, retired) = row?;
        let key = MailboxKey::from_slice(&public).ok_or(Error::DatabaseDamaged)?;
        let secret: [u8; 32] = secret
            .as_slice()
            .try_into()
            .map_err(|_| Error::DatabaseDamaged)?;
        let retired_at = retired.map(from_ms).transpose()?;
        let Some(seed) = seed else {
            mailboxes.push(Mailbox {
                seq,
                key,
                secret: Zeroizing::new(secret),
                week: None,
                retired_at,
            });
            continue;
        };
        let seed = seed_from(&seed)?;
        // Weeks a comrade may have published in, whose events may still be there.
        let first = week_of(from_ms(serves_from)?.max(now - LONGEST_STAY - CLOCK_SKEW));
        let last = week_of(retired_at.map_or(now, |r| (r - Duration::milliseconds(1)).min(now)));
        if first > last && retired_at.is_some_and(|r| r <= now) {
            spent.push(seq);
        }
        for week in first..=last {
            let (derived, tweak) = seed.derive(&key, week);
            mailboxes.push(Mailbox {
                seq,
                key: derived,
                secret: Zeroizing::new(tweaked_secret(&secret, &tweak)?),
                week: Some(week),
                retired_at,
            });
        }
    }
    if !spent.is_empty() {
        for seq in spent {
            conn.execute("DELETE FROM mailboxes WHERE seq = ?1", [seq])?;
        }
        super::mine::bump_card(conn, now)?;
    }
    // This week's first: the one most likely to hold something new.
    mailboxes.sort_by_key(|m| (m.is_retired(now), std::cmp::Reverse(m.week)));
    Ok(mailboxes)
}

/// The secret of a week's mailbox: the pair's, tweaked as its public key is.
fn tweaked_secret(secret: &[u8; 32], tweak: &secp256k1::Scalar) -> Result<[u8; 32]> {
    let pair = secp256k1::Keypair::from_seckey_slice(secp(), secret)
        .map_err(|_| Error::DatabaseDamaged)?;
    let tweaked = pair
        .add_xonly_tweak(secp(), tweak)
        .map_err(|_| Error::DatabaseDamaged)?;
    Ok(tweaked.secret_bytes())
}

/// When a week's mailbox can hold nothing new: comrades publish to it only
/// during the week, give or take their clocks.
pub fn week_closes(week: i64) -> DateTime<Utc> {
    week_start(week + 1) + CLOCK_SKEW
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_weeks_secret_matches_the_key_a_comrade_derives_and_weeks_do_not_repeat() {
        let keys = nostr::prelude::Keys::generate();
        let secret = keys.secret_key().to_secret_bytes();
        let base = MailboxKey::from_slice(&keys.public_key().to_bytes()).unwrap();
        let seed = MailboxSeed([7; 32]);
        let mut seen = std::collections::HashSet::new();
        for week in 2900..2910 {
            let (key, tweak) = seed.derive(&base, week);
            let mine = tweaked_secret(&secret, &tweak).unwrap();
            let pair = secp256k1::Keypair::from_seckey_slice(secp(), &mine).unwrap();
            assert_eq!(pair.x_only_public_key().0.serialize(), key.0, "week {week}");
            assert_ne!(key, base);
            assert!(seen.insert(key));
        }
        // Another seed, another series.
        assert_ne!(
            MailboxSeed([8; 32]).derive(&base, 2900).0,
            seed.derive(&base, 2900).0
        );
    }

    /// `docs/vectors/delivery-v1.json`, `weekly_mailboxes`: base secret
    /// 0x11 × 32, seed 0x22 × 32.
    fn vector_inputs() -> ([u8; 32], MailboxKey, MailboxSeed) {
        let secret = [0x11; 32];
        let pair = secp256k1::Keypair::from_seckey_slice(secp(), &secret).unwrap();
        let base = MailboxKey(pair.x_only_public_key().0.serialize());
        (secret, base, MailboxSeed([0x22; 32]))
    }

    #[test]
    fn the_checked_in_weekly_vectors_hold() {
        let text = include_str!("../../../docs/vectors/delivery-v1.json");
        let vectors: serde_json::Value = serde_json::from_str(text).unwrap();
        let (secret, base, seed) = vector_inputs();
        let v = &vectors["weekly_mailboxes"];
        assert_eq!(v["base"].as_str().unwrap(), base.to_hex());
        for week in v["weeks"].as_array().unwrap() {
            let (key, tweak) = seed.derive(&base, week["week"].as_i64().unwrap());
            assert_eq!(week["mailbox"].as_str().unwrap(), key.to_hex());
            assert_eq!(
                week["tweak"].as_str().unwrap(),
                hex::encode(tweak.to_be_bytes())
            );
            assert_eq!(
                week["secret"].as_str().unwrap(),
                hex::encode(tweaked_secret(&secret, &tweak).unwrap())
            );
        }
    }

    #[test]
    #[ignore = "prints the weekly_mailboxes vectors"]
    fn print_weekly_vectors() {
        let (secret, base, seed) = vector_inputs();
        let weeks: Vec<_> = [0i64, 2917, 2918]
            .iter()
            .map(|&week| {
                let (key, tweak) = seed.derive(&base, week);
                serde_json::json!({
                    "week": week,
                    "tweak": hex::encode(tweak.to_be_bytes()),
                    "mailbox": key.to_hex(),
                    "secret": hex::encode(tweaked_secret(&secret, &tweak).unwrap()),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "about": "Weekly mailboxes (docs/delivery.md): base secret 11 x 32, seed 22 x 32; week = floor(unix seconds / 604800).",
                "base_secret": hex::encode(secret),
                "seed": hex::encode(seed.0),
                "base": base.to_hex(),
                "weeks": weeks,
            }))
            .unwrap()
        );
    }
}
