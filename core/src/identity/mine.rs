//! My own keys: made once when the vault is, kept only inside it.

use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::SigningKey;
use rusqlite::{Connection, params};

use rusqlite::OptionalExtension;
use sha2::{Digest, Sha256};

use super::address::Address;
use super::card::{Card, CardKeys, ChainLink};
use super::chain::MAX_LINKS;
use super::keys::{self, EncryptionSecret, IdentityKey, PairKey};
use super::pq::{PqKey, PqSecret};
use super::recovery::{RecoveryError, RecoveryKey, Replacement};
use crate::vault::settings;
use crate::{Error, Result, Vault};

const DISPLAY_NAME: &str = "display_name";
const CARD_ISSUED_AT: &str = "card_issued_at";
/// Set by the schema 11 migration for a member who issued version 1 cards.
const UNCHAINED_CARD: &str = "unchained_card";

/// How long my encryption key serves before the next epoch's replaces it
/// (`docs/envelope.md`, "Epochs").
pub const EPOCH: Duration = Duration::days(7);

/// How long a retired encryption key still opens envelopes sealed to it
/// before comrades learned the new one: two weeks after the next epoch
/// begins, as long as a relay keeps an event. After that it is deleted,
/// and what a relay recorded under it opens for nobody.
pub const RETIRED_KEY_LIFETIME: Duration = Duration::days(14);

/// My secret keys, loaded for one operation and zeroized on drop.
pub(crate) struct MyKeys {
    pub signing: SigningKey,
    pub current: EncryptionSecret,
    /// The post-quantum half of `current`, public; `None` only until the
    /// first unlock after the upgrade gives the epoch one.
    pub pq_public: Option<PqKey>,
    pub self_pair: PairKey,
    pub retired: Vec<EncryptionSecret>,
}

impl MyKeys {
    pub fn identity_key(&self) -> IdentityKey {
        IdentityKey(self.signing.verifying_key().to_bytes())
    }

    /// Every key that may open an envelope sent to me, current first.
    pub fn all_secrets(&self) -> impl Iterator<Item = &EncryptionSecret> {
        std::iter::once(&self.current).chain(&self.retired)
    }
}

/// Makes my keys if this vault has none yet: new vaults, and vaults from
/// before sharing existed. A mailbox too, for vaults from before delivery.
/// Run at every open.
pub(crate) fn ensure(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    super::mailbox::ensure(conn, now)?;
    let exists: bool = conn.query_row("SELECT EXISTS (SELECT 1 FROM my_identity)", [], |r| {
        r.get(0)
    })?;
    if exists {
        return Ok(());
    }
    let signing = SigningKey::generate(&mut rand::rngs::OsRng);
    conn.execute(
        "INSERT INTO my_identity (id, signing_key, public, created_at) VALUES (1, ?1, ?2, ?3)",
        params![
            signing.to_bytes().as_slice(),
            signing.verifying_key().as_bytes().as_slice(),
            now.timestamp_millis()
        ],
    )?;
    insert_encryption_key(conn, &EncryptionSecret::generate(), now)?;
    bump_card(conn, now)
}

pub(crate) fn load(conn: &Connection) -> Result<MyKeys> {
    let signing: Vec<u8> = conn.query_row(
        "SELECT signing_key FROM my_identity WHERE id = 1",
        [],
        |r| r.get(0),
    )?;
    let signing = keys::signing_key_from(&zeroize::Zeroizing::new(signing))?;
    let mut stmt = conn.prepare_cached(
        "SELECT secret, self_pair, retired_at, pq_seed, pq_public FROM my_encryption_keys
         ORDER BY retired_at IS NOT NULL, retired_at DESC",
    )?;
    let mut rows = stmt.query([])?;
    let mut current = None;
    let mut retired = Vec::new();
    while let Some(row) = rows.next()? {
        let pq_seed = row
            .get::<_, Option<Vec<u8>>>(3)?
            .map(zeroize::Zeroizing::new);
        let secret =
            EncryptionSecret::from_bytes(&zeroize::Zeroizing::new(row.get::<_, Vec<u8>>(0)?))?
                .with_pq(pq_seed.as_deref().map(Vec::as_slice))?;
        match row.get::<_, Option<i64>>(2)? {
            None => {
                let pair = zeroize::Zeroizing::new(row.get::<_, Vec<u8>>(1)?);
                let pq_public = row
                    .get::<_, Option<Vec<u8>>>(4)?
                    .map(|b| PqKey::from_slice(&b).ok_or(Error::DatabaseDamaged))
                    .transpose()?;
                current = Some((secret, pq_public, PairKey::from_slice(&pair)?));
            }
            Some(_) => retired.push(secret),
        }
    }
    let (current, pq_public, self_pair) = current.ok_or(Error::DatabaseDamaged)?;
    Ok(MyKeys {
        signing,
        current,
        pq_public,
        self_pair,
        retired,
    })
}

/// My card as it stands: my name, current keys and address, signed, and
/// numbered in my chain. A card that differs from the last one issued is
/// the next in the chain, dated after it; the same card is not reissued.
pub(crate) fn card(conn: &Connection, keys: &MyKeys) -> Result<Card> {
    let address = super::mailbox::my_address(conn)?;
    let latest = latest_card(conn)?;
    match &latest {
        Some(latest) => {
            let again = card_with(conn, keys, &address, latest.chain())?;
            if again.as_bytes() == latest.as_bytes() {
                return Ok(again);
            }
        }
        // The first chained card of a member from before chains: later than
        // the version 1 card comrades may hold.
        None if settings::get(conn, UNCHAINED_CARD)?.is_some() => {
            bump_card_past(conn, Utc::now())?;
            settings::delete(conn, UNCHAINED_CARD)?;
        }
        None => {}
    }
    let link = match &latest {
        Some(latest) => ChainLink {
            seq: latest.chain().map_or(0, |l| l.seq) + 1,
            prev: latest.chain_hash().ok_or(Error::DatabaseDamaged)?,
        },
        None => ChainLink {
            seq: 1,
            prev: [0; 32],
        },
    };
    let card = card_with(conn, keys, &address, Some(link))?;
    conn.execute(
        "INSERT INTO my_cards (seq, card) VALUES (?1, ?2)",
        params![link.seq, card.as_bytes()],
    )?;
    conn.execute(
        "DELETE FROM my_cards WHERE seq <= ?1",
        [i64::from(link.seq) - KEPT_CARDS],
    )?;
    Ok(card)
}

/// My cards kept: the current one and the [`MAX_LINKS`] before it.
const KEPT_CARDS: i64 = MAX_LINKS as i64 + 1;

fn latest_card(conn: &Connection) -> Result<Option<Card>> {
    let bytes: Option<Vec<u8>> = conn
        .prepare_cached("SELECT card FROM my_cards ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    bytes
        .map(|b| Card::from_bytes(&b).map_err(|_| Error::DatabaseDamaged))
        .transpose()
}

/// The digests of my cards before `card`, oldest first, as many as an
/// envelope carries: a comrade who missed some still follows my chain.
pub(crate) fn links(conn: &Connection, card: &Card) -> Result<Vec<[u8; 32]>> {
    let Some(link) = card.chain() else {
        return Ok(Vec::new());
    };
    let mut stmt =
        conn.prepare_cached("SELECT card FROM my_cards WHERE seq < ?1 AND seq >= ?2 ORDER BY seq")?;
    let rows = stmt.query_map(
        params![link.seq, i64::from(link.seq) - MAX_LINKS as i64],
        |r| r.get::<_, Vec<u8>>(0),
    )?;
    rows.map(|bytes| Ok(Sha256::digest(bytes?).into()))
        .collect()
}

fn card_with(
    conn: &Connection,
    keys: &MyKeys,
    address: &Address,
    chain: Option<ChainLink>,
) -> Result<Card> {
    let name = settings::get(conn, DISPLAY_NAME)?.ok_or(Error::invalid(
        "display name",
        "not set; a card needs the name comrades will see",
    ))?;
    let issued = settings::get(conn, CARD_ISSUED_AT)?
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .ok_or(Error::DatabaseDamaged)?;
    Card::issue(
        &keys.signing,
        CardKeys {
            encryption: keys.current.public(),
            pq: keys.pq_public.as_ref(),
            recovery: recovery_commitment(conn)?,
        },
        &name,
        Some(address),
        issued,
        chain,
    )
}

/// Records that my card changed, dated `now`. Its chain orders it after the
/// one before, so two changes in one second need not be told apart by date.
pub(crate) fn bump_card(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    date_card(conn, now, 0)
}

/// [`bump_card`], at least a second after the last: what a comrade holding
/// a version 1 card needs to take the chained one that follows it.
fn bump_card_past(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    date_card(conn, now, 1)
}

/// Dates my card `now`, but never before the last date plus `after` seconds.
fn date_card(conn: &Connection, now: DateTime<Utc>, after: i64) -> Result<()> {
    let last = settings::get(conn, CARD_ISSUED_AT)?.and_then(|s| s.parse::<i64>().ok());
    let issued = last.map_or(now.timestamp(), |last| now.timestamp().max(last + after));
    settings::set(conn, CARD_ISSUED_AT, &issued.to_string())
}

/// A fresh encryption key; the old one is kept for [`RETIRED_KEY_LIFETIME`].
/// The caller derives the pair keys with every comrade again.
pub(crate) fn rotate(conn: &Connection, now: DateTime<Utc>) -> Result<EncryptionSecret> {
    prune_retired_keys(conn, now)?;
    conn.execute(
        "UPDATE my_encryption_keys SET retired_at = ?1 WHERE retired_at IS NULL",
        [now.timestamp_millis()],
    )?;
    let secret = EncryptionSecret::generate();
    insert_encryption_key(conn, &secret, now)?;
    bump_card(conn, now)?;
    Ok(secret)
}

/// Undoes [`give_current_key_a_pq_half`] (tests of the upgrade).
#[cfg(feature = "testing")]
pub(crate) fn forget_pq_half(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    conn.execute(
        "UPDATE my_encryption_keys SET pq_seed = NULL, pq_public = NULL WHERE retired_at IS NULL",
        [],
    )?;
    bump_card(conn, now)
}

/// Dates my current encryption key as made at `at` (tests of epochs).
#[cfg(feature = "testing")]
pub(crate) fn date_current_key(conn: &Connection, at: DateTime<Utc>) -> Result<()> {
    conn.execute(
        "UPDATE my_encryption_keys SET created_at = ?1 WHERE retired_at IS NULL",
        [at.timestamp_millis()],
    )?;
    Ok(())
}

/// Whether I have a name, so a card to send.
pub(crate) fn has_card(conn: &Connection) -> Result<bool> {
    Ok(settings::get(conn, DISPLAY_NAME)?.is_some())
}

/// Whether my current encryption key has served its [`EPOCH`] by `now`.
pub(crate) fn epoch_due(conn: &Connection, now: DateTime<Utc>) -> Result<bool> {
    let made: Option<i64> = conn
        .query_row(
            "SELECT created_at FROM my_encryption_keys WHERE retired_at IS NULL",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(made.is_some_and(|at| now.timestamp_millis() - at >= EPOCH.num_milliseconds()))
}

/// Deletes my encryption keys retired more than [`RETIRED_KEY_LIFETIME`]
/// ago: at every unlock and rotation, so a key does not outlive its month
/// because no rotation came after it. What was sealed to it opens no more.
pub(crate) fn prune_retired_keys(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    conn.execute(
        "DELETE FROM my_encryption_keys WHERE retired_at < ?1",
        [(now - RETIRED_KEY_LIFETIME).timestamp_millis()],
    )?;
    Ok(())
}

fn insert_encryption_key(
    conn: &Connection,
    secret: &EncryptionSecret,
    now: DateTime<Utc>,
) -> Result<()> {
    let public = secret.public();
    conn.execute(
        "INSERT INTO my_encryption_keys (secret, public, self_pair, created_at, pq_seed, pq_public)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            secret.to_bytes().as_slice(),
            public.0.as_slice(),
            secret.pair_key(&public)?.0.as_slice(),
            now.timestamp_millis(),
            secret.pq().map(|pq| pq.as_bytes().as_slice()),
            secret.pq().map(|pq| pq.public().as_bytes().to_vec()),
        ],
    )?;
    Ok(())
}

/// The upgrade to post-quantum epochs: the epoch key of a vault from before
/// gains its post-quantum half at the first unlock, so my card (which the
/// caller reissues) names it and comrades seal hybrid from then on. The
/// epoch's X25519 half stays, so nothing in flight is lost. Whether it did.
pub(crate) fn give_current_key_a_pq_half(conn: &Connection) -> Result<bool> {
    let lacking: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM my_encryption_keys
                        WHERE retired_at IS NULL AND pq_seed IS NULL)",
        [],
        |r| r.get(0),
    )?;
    if lacking {
        let pq = PqSecret::generate();
        conn.execute(
            "UPDATE my_encryption_keys SET pq_seed = ?1, pq_public = ?2 WHERE retired_at IS NULL",
            params![pq.as_bytes().as_slice(), pq.public().as_bytes().as_slice()],
        )?;
    }
    Ok(lacking)
}

/// My identity key, without loading any secret.
pub(crate) fn display_name(conn: &Connection) -> Result<Option<String>> {
    settings::get(conn, DISPLAY_NAME)
}

pub(crate) fn identity_key(conn: &Connection) -> Result<IdentityKey> {
    let public: Vec<u8> =
        conn.query_row("SELECT public FROM my_identity WHERE id = 1", [], |r| {
            r.get(0)
        })?;
    IdentityKey::from_stored(public)
}

/// The commitment to my recovery key, if one is set up.
fn recovery_commitment(conn: &Connection) -> Result<Option<[u8; 32]>> {
    let stored: Option<Vec<u8>> = conn
        .prepare_cached("SELECT recovery_commitment FROM my_identity WHERE id = 1")?
        .query_row([], |r| r.get(0))?;
    stored
        .map(|b| b.try_into().map_err(|_| Error::DatabaseDamaged))
        .transpose()
}

impl Vault {
    /// Sets up my recovery key, once: its words are for the member to write
    /// down and keep away from the phone. The vault keeps only the
    /// commitment my card carries (reissued with it), so comrades can take
    /// a replacement of my identity signed with it without meeting again.
    /// A vault made before recovery keys sets one up the same way.
    pub fn set_up_recovery(&self) -> Result<RecoveryKey> {
        self.with_tx(|tx| {
            if recovery_commitment(tx)?.is_some() {
                return Err(RecoveryError::AlreadySetUp.into());
            }
            let key = RecoveryKey::generate();
            tx.execute(
                "UPDATE my_identity SET recovery_commitment = ?1, recovery_set_up_at = ?2
                 WHERE id = 1",
                params![key.commitment().as_slice(), Utc::now().timestamp_millis()],
            )?;
            bump_card(tx, Utc::now())?;
            Ok(key)
        })
    }

    /// When my recovery key was set up; `None` until it is (show the member
    /// the step).
    pub fn recovery_set_up_at(&self) -> Result<Option<DateTime<Utc>>> {
        self.with_conn(|conn| {
            let at: Option<i64> = conn.query_row(
                "SELECT recovery_set_up_at FROM my_identity WHERE id = 1",
                [],
                |r| r.get(0),
            )?;
            at.map(crate::time::from_ms).transpose()
        })
    }

    /// On a new phone, after the old one was taken: the statement, signed
    /// with the old identity's recovery key (`words`), that this vault's
    /// identity replaces it. This vault must have a recovery key of its own
    /// set up first, since the statement shows the old one's public half.
    pub fn replacement_statement(&self, words: &str) -> Result<Replacement> {
        let old = RecoveryKey::from_words(words)?;
        self.with_tx(|tx| match recovery_commitment(tx)? {
            None => Err(Error::invalid(
                "recovery key",
                "set up this phone's own recovery key first",
            )),
            Some(mine) if mine == old.commitment() => Err(Error::invalid(
                "recovery key",
                "these are this phone's own words, not the old identity's",
            )),
            Some(_) => old.replace_with(&card(tx, &load(tx)?)?, Utc::now()),
        })
    }

    /// The member's display name, as they introduced themselves.
    pub fn display_name(&self) -> Result<Option<String>> {
        self.with_conn(display_name)
    }

    /// My card carries it, so the card is reissued.
    pub fn set_display_name(&self, name: &str) -> Result<()> {
        let name = crate::name::clean(name)?;
        self.with_tx(|tx| {
            settings::set(tx, DISPLAY_NAME, name)?;
            bump_card(tx, Utc::now())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::{at_version, migrate};

    #[test]
    fn a_vault_from_before_sharing_gets_its_keys_once() {
        let mut conn = at_version(2);
        migrate(&mut conn).unwrap();
        ensure(&conn, Utc::now()).unwrap();
        ensure(&conn, Utc::now()).unwrap();
        let keys: i64 = conn
            .query_row("SELECT count(*) FROM my_encryption_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(keys, 1, "keys are made once");
    }

    #[test]
    fn from_6_to_7_gives_an_existing_member_a_mailbox_in_their_card() {
        let mut conn = at_version(6);
        ensure(&conn, Utc::now()).unwrap_err(); // no mailbox table yet
        migrate(&mut conn).unwrap();
        ensure(&conn, Utc::now()).unwrap();
        ensure(&conn, Utc::now()).unwrap();
        let mailboxes: i64 = conn
            .query_row("SELECT count(*) FROM mailboxes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mailboxes, 1, "made once");
        settings::set(&conn, DISPLAY_NAME, "Alice").unwrap();
        let keys = load(&conn).unwrap();
        let card = card(&conn, &keys).unwrap();
        let address = card.address().unwrap();
        assert!(address.relays.is_empty());
    }

    #[test]
    fn from_13_to_14_gives_the_current_key_a_post_quantum_half_once() {
        let mut conn = at_version(13);
        let (signing, secret) = (
            SigningKey::generate(&mut rand::rngs::OsRng),
            EncryptionSecret::generate(),
        );
        let public = secret.public();
        conn.execute(
            "INSERT INTO my_identity (id, signing_key, public, created_at) VALUES (1, ?1, ?2, 0)",
            params![
                signing.to_bytes().as_slice(),
                signing.verifying_key().as_bytes().as_slice()
            ],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO my_encryption_keys (secret, public, self_pair, created_at)
             VALUES (?1, ?2, ?3, 0)",
            params![
                secret.to_bytes().as_slice(),
                public.0.as_slice(),
                secret.pair_key(&public).unwrap().0.as_slice()
            ],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        settings::set(&conn, DISPLAY_NAME, "Alice").unwrap();
        settings::set(&conn, CARD_ISSUED_AT, "0").unwrap();
        super::super::mailbox::ensure(&conn, Utc::now()).unwrap();
        let before = card(&conn, &load(&conn).unwrap()).unwrap();
        assert!(before.pq_digest().is_none(), "as issued before the upgrade");
        assert!(give_current_key_a_pq_half(&conn).unwrap());
        bump_card(&conn, Utc::now()).unwrap();
        let keys = load(&conn).unwrap();
        assert_eq!(
            keys.current.public(),
            public,
            "the same epoch, its X25519 kept"
        );
        let pq = keys.current.pq().unwrap().public();
        assert_eq!(keys.pq_public.as_ref(), Some(&pq));
        let after = card(&conn, &keys).unwrap();
        assert_eq!(after.pq_digest(), Some(pq.digest()));
        assert_eq!(after.chain().unwrap().seq, before.chain().unwrap().seq + 1);
        assert!(!give_current_key_a_pq_half(&conn).unwrap(), "given once");
        assert_eq!(load(&conn).unwrap().pq_public, Some(pq));
    }

    #[test]
    fn my_first_card_is_number_1_and_each_change_the_next() {
        let conn = at_version(crate::vault::SCHEMA_VERSION);
        ensure(&conn, Utc::now()).unwrap();
        settings::set(&conn, DISPLAY_NAME, "Alice").unwrap();
        let keys = load(&conn).unwrap();
        let first = card(&conn, &keys).unwrap();
        assert_eq!(first.chain().unwrap().seq, 1);
        assert_eq!(card(&conn, &keys).unwrap(), first, "the same card again");
        // Even a change that forgot to bump the date makes the next card.
        settings::set(&conn, DISPLAY_NAME, "Alice B").unwrap();
        let second = card(&conn, &keys).unwrap();
        let expected = ChainLink {
            seq: 2,
            prev: first.chain_hash().unwrap(),
        };
        assert_eq!(second.chain(), Some(expected));
        assert!(second.issued_at() >= first.issued_at());
        assert_eq!(links(&conn, &second).unwrap(), vec![first.digest()]);
    }
}
