//! My mailboxes: random key pairs that comrades address envelopes to.
//! One is current; a retired one is still read for [`MAILBOX_GRACE`], so
//! what comrades sent before they learned the new one is not lost.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, params};
use zeroize::Zeroizing;

use super::{Address, MAX_RELAY_HINTS, MailboxKey, relays};
use crate::time::from_ms;
use crate::{Error, Result};

/// How long a retired mailbox is still fetched. Events live on relays about
/// as long (`delivery::EVENT_LIFETIME`).
pub const MAILBOX_GRACE: Duration = Duration::days(14);

/// One of my mailboxes, with the secret a transport signs requests with
/// (a relay deletion request, say). The secret never leaves the process.
#[derive(Clone)]
pub struct Mailbox {
    pub(crate) seq: i64,
    pub key: MailboxKey,
    secret: Zeroizing<[u8; 32]>,
    /// `None` for the current mailbox.
    pub retired_at: Option<DateTime<Utc>>,
}

impl Mailbox {
    /// The secp256k1 secret key, for a transport's own signing.
    pub fn secret(&self) -> &[u8; 32] {
        &self.secret
    }
}

impl fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailbox")
            .field("key", &self.key)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

/// Makes a mailbox if there is no current one: new vaults, and vaults from
/// before delivery existed.
pub(crate) fn ensure(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM mailboxes WHERE retired_at IS NULL)",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        create(conn, now)?;
    }
    Ok(())
}

fn create(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    let keys = nostr::prelude::Keys::generate();
    let secret = Zeroizing::new(keys.secret_key().to_secret_bytes());
    conn.execute(
        "INSERT INTO mailboxes (secret, public, created_at) VALUES (?1, ?2, ?3)",
        params![
            secret.as_slice(),
            keys.public_key().to_bytes().as_slice(),
            now.timestamp_millis()
        ],
    )?;
    Ok(())
}

/// A new current mailbox; the old one is retired. The caller reissues the
/// card and tells the comrades who may still write.
pub(crate) fn rotate(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    conn.execute(
        "UPDATE mailboxes SET retired_at = ?1 WHERE retired_at IS NULL",
        [now.timestamp_millis()],
    )?;
    create(conn, now)
}

/// My current mailbox and relays, as my card carries them.
pub(crate) fn my_address(conn: &Connection) -> Result<Address> {
    let public: Vec<u8> = conn.query_row(
        "SELECT public FROM mailboxes WHERE retired_at IS NULL",
        [],
        |r| r.get(0),
    )?;
    let mut relays = relays::list(conn)?;
    relays.truncate(MAX_RELAY_HINTS);
    Ok(Address {
        mailbox: MailboxKey::from_slice(&public).ok_or(Error::DatabaseDamaged)?,
        relays,
    })
}

/// The mailboxes to fetch, current first. Retired ones past their grace
/// are deleted with their cursors.
pub(crate) fn to_fetch(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<Mailbox>> {
    conn.execute(
        "DELETE FROM mailboxes WHERE retired_at < ?1",
        [(now - MAILBOX_GRACE).timestamp_millis()],
    )?;
    let mut stmt = conn.prepare_cached(
        "SELECT seq, public, secret, retired_at FROM mailboxes
         ORDER BY retired_at IS NOT NULL, retired_at DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            Zeroizing::new(r.get::<_, Vec<u8>>(2)?),
            r.get::<_, Option<i64>>(3)?,
        ))
    })?;
    rows.map(|row| {
        let (seq, public, secret, retired) = row?;
        Ok(Mailbox {
            seq,
            key: MailboxKey::from_slice(&public).ok_or(Error::DatabaseDamaged)?,
            secret: Zeroizing::new(
                secret
                    .as_slice()
                    .try_into()
                    .map_err(|_| Error::DatabaseDamaged)?,
            ),
            retired_at: retired.map(from_ms).transpose()?,
        })
    })
    .collect()
}
