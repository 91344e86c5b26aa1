//! Recovery through comrades: a member splits a backup key among comrades
//! they trust (Shamir's scheme over GF(256), the `blahaj` crate), so that
//! any `threshold` of them can together open the member's automatic
//! backups after every device and passphrase is lost, and fewer learn
//! nothing of it. The key's secret half is never kept: only its public
//! half, to which automatic backups are sealed too. Spec: `docs/custody.md`.

mod recovery;

pub use recovery::{Recovered, RecoveryRequest, RequestCode};

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, Transaction, params};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::comrades::{self, ComradeId, IdentityKey, Peer};
use crate::envelope::{self, Checked, EnvelopeError, KindHandler, MessageId, Opened, Sealed};
use crate::time::from_ms;
use crate::vault::{automatic_backups, settings};
use crate::{Error, Result, Vault};

/// The kinds of envelope custody sends.
pub mod kinds {
    /// A share of my backup key, to the one custodian it is for.
    pub const CUSTODY_SHARE: &str = "custody.share";
    /// A custodian's answer: the share is kept.
    pub const CUSTODY_HELD: &str = "custody.held";
}
use kinds::{CUSTODY_HELD, CUSTODY_SHARE};

/// Custodians a member may choose.
pub const MAX_CUSTODIANS: usize = 16;
/// How often a custodian says again that it keeps my share: at unlock,
/// once this long has passed since it last did.
pub const CONFIRM_EVERY: Duration = Duration::days(30);
/// A custodian not heard from for this long no longer counts towards
/// [`CustodyStatus::recoverable_at`]: three confirmations missed.
pub const CONFIRMED_FOR: Duration = Duration::days(91);
const PLAN: &str = "custody_plan";
const LAST_CONFIRMED: &str = "custody_confirmed_at";
const AGE_SECRET_HRP: &str = "age-secret-key-";

/// My plan, as `Custody::status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CustodyStatus {
    pub threshold: u8,
    pub custodians: Vec<Custodian>,
    pub made_at: DateTime<Utc>,
    /// The age recipient automatic backups are sealed to as well.
    pub recipient: String,
    /// Whether recovery would work, as of when this was read:
    /// [`CustodyStatus::recoverable_at`] then.
    pub recoverable: bool,
}

impl CustodyStatus {
    /// Whether enough custodians have said lately that they keep their share.
    pub fn recoverable_at(&self, now: DateTime<Utc>) -> bool {
        self.custodians.iter().filter(|c| c.current_at(now)).count() >= usize::from(self.threshold)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Custodian {
    pub name: String,
    pub identity_key: IdentityKey,
    pub sent_at: DateTime<Utc>,
    /// When they last said they keep their share.
    pub confirmed_at: Option<DateTime<Utc>>,
}

impl Custodian {
    /// Heard from within [`CONFIRMED_FOR`] of `now`.
    pub fn current_at(&self, now: DateTime<Utc>) -> bool {
        self.confirmed_at.is_some_and(|at| now - at < CONFIRMED_FOR)
    }
}

/// A plan just chosen, and each custodian's share, sealed for them alone.
#[derive(Debug)]
pub struct Chosen {
    pub status: CustodyStatus,
    pub sealed: Vec<Sealed>,
}

/// A share I keep for a comrade.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct HeldShare {
    pub owner: String,
    pub owner_key: IdentityKey,
    pub threshold: u8,
    pub count: u8,
    pub received_at: DateTime<Utc>,
}

impl std::fmt::Debug for HeldShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldShare")
            .field("threshold", &self.threshold)
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct Plan {
    id: uuid::Uuid,
    threshold: u8,
    recipient: String,
    made_at: DateTime<Utc>,
}

/// A `custody.share` body, and a release's.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShareBody {
    v: u8,
    plan: uuid::Uuid,
    threshold: u8,
    count: u8,
    recipient: String,
    /// The share, Base32: its x, then one byte per byte of the key.
    share: String,
}

impl ShareBody {
    /// A body as the spec allows it, and its share decoded; `None` else.
    fn parse(bytes: &[u8]) -> Option<(ShareBody, Zeroizing<Vec<u8>>)> {
        let body: ShareBody = serde_json::from_slice(bytes).ok()?;
        let share = Zeroizing::new(
            data_encoding::BASE32_NOPAD
                .decode(body.share.as_bytes())
                .ok()?,
        );
        let fits = body.v == 1
            && body.threshold >= 2
            && body.threshold <= body.count
            && usize::from(body.count) <= MAX_CUSTODIANS
            && share.len() == 33
            && body.recipient.parse::<age::x25519::Recipient>().is_ok();
        fits.then_some((body, share))
    }
}

/// A `custody.held` body.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeldBody {
    v: u8,
    plan: uuid::Uuid,
}

/// Custodians and shares. Borrow it with [`Vault::custody`].
pub struct Custody<'v> {
    vault: &'v Vault,
}

impl<'v> Custody<'v> {
    pub(crate) fn new(vault: &'v Vault) -> Self {
        Custody { vault }
    }
}

impl Custody<'_> {
    /// Splits a new backup key among `custodians`, any `threshold` of whom
    /// can open my automatic backups from now on; each is sealed their
    /// share. A plan chosen before is replaced: its shares open only the
    /// backups written before. 2 ≤ threshold ≤ custodians ≤ 16.
    pub fn choose(&self, threshold: u8, custodians: &[ComradeId]) -> Result<Chosen> {
        let count = custodians.len();
        if threshold < 2 || usize::from(threshold) > count || count > MAX_CUSTODIANS {
            return Err(Error::invalid(
                "custodians",
                "choose 2 to 16, and a threshold from 2 to how many",
            ));
        }
        self.vault.with_tx(|tx| {
            let peers = envelope::resolve(
                tx,
                &custodians
                    .iter()
                    .map(|c| crate::comrades::Recipient::Comrade(*c))
                    .collect::<Vec<_>>(),
            )?;
            if peers.len() != count {
                return Err(Error::invalid("custodians", "names a comrade twice"));
            }
            plan_in(tx, threshold, peers)
        })
    }

    /// My plan and who said they keep their share; `None` before one.
    pub fn status(&self) -> Result<Option<CustodyStatus>> {
        self.vault.with_conn(status)
    }

    /// The shares I keep for comrades who chose me.
    pub fn held(&self) -> Result<Vec<HeldShare>> {
        self.vault.with_conn(|conn| {
            let mut stmt = conn.prepare(
                "SELECT owner_name, owner, threshold, count, received_at FROM custody_held
                 ORDER BY owner_name",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, u8>(2)?,
                    r.get::<_, u8>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })?;
            rows.map(|row| {
                let (owner, key, threshold, count, at) = row?;
                Ok(HeldShare {
                    owner,
                    owner_key: IdentityKey::from_stored(key)?,
                    threshold,
                    count,
                    received_at: from_ms(at)?,
                })
            })
            .collect()
        })
    }
}

/// A new backup key split among `peers`, replacing any plan before.
fn plan_in(tx: &Connection, threshold: u8, peers: Vec<Peer>) -> Result<Chosen> {
    let count = peers.len() as u8;
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let secret = secret_bytes(&identity)?;
    let plan = Plan {
        id: uuid::Uuid::now_v7(),
        threshold,
        recipient: recipient.clone(),
        made_at: Utc::now(),
    };
    tx.execute("DELETE FROM custodians", [])?;
    let mut sealed = Vec::with_capacity(peers.len());
    let shares = blahaj::Sharks(threshold).dealer(secret.as_slice());
    for (peer, share) in peers.into_iter().zip(shares) {
        let bytes = Zeroizing::new(Vec::from(&share));
        let body = ShareBody {
            v: 1,
            plan: plan.id,
            threshold,
            count,
            recipient: recipient.clone(),
            share: data_encoding::BASE32_NOPAD.encode(&bytes),
        };
        tx.execute(
            "INSERT INTO custodians (identity_key, name, plan, sent_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                peer.identity_key.as_bytes().as_slice(),
                peer.name,
                plan.id.to_string(),
                plan.made_at.timestamp_millis()
            ],
        )?;
        sealed.push(envelope::seal_json_in(
            tx,
            vec![peer],
            CUSTODY_SHARE,
            &body,
            "custody",
            None,
        )?);
    }
    let json = serde_json::to_string(&plan).map_err(|_| Error::DatabaseDamaged)?;
    settings::set(tx, PLAN, &json)?;
    automatic_backups::seal_also_to(tx, Some(&recipient))?;
    Ok(Chosen {
        status: status(tx)?.ok_or(Error::DatabaseDamaged)?,
        sealed,
    })
}

/// A custodian removed or blocked must not keep a share of the key my
/// next backups are sealed to: the others get shares of a new one, or,
/// when fewer than the threshold are left, the plan ends and backups are
/// sealed to my own recipient alone. Earlier backups still open with the
/// old shares.
pub(crate) fn on_comrade_cut(tx: &Connection, cut: &IdentityKey) -> Result<()> {
    let Some(plan) = plan(tx)? else {
        return Ok(());
    };
    let keys = custodian_keys(tx)?;
    if !keys.contains(cut) {
        return Ok(());
    }
    let left: Vec<IdentityKey> = keys.into_iter().filter(|k| k != cut).collect();
    let peers = comrades::peers_for_keys(tx, &left)?;
    if peers.len() >= usize::from(plan.threshold) {
        return plan_in(tx, plan.threshold, peers).map(drop);
    }
    tx.execute("DELETE FROM custodians", [])?;
    settings::delete(tx, PLAN)?;
    automatic_backups::seal_also_to(tx, None)
}

fn custodian_keys(conn: &Connection) -> Result<Vec<IdentityKey>> {
    let mut stmt = conn.prepare("SELECT identity_key FROM custodians")?;
    let keys = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
    keys.map(|k| IdentityKey::from_stored(k?)).collect()
}

/// At unlock: a custodian says again, to each member whose share it
/// keeps, that it still does, once [`CONFIRM_EVERY`] has passed.
pub(crate) fn confirm_if_due(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    if settings::get_time(conn, LAST_CONFIRMED)?.is_some_and(|at| now - at < CONFIRM_EVERY) {
        return Ok(());
    }
    let mut stmt = conn.prepare("SELECT owner, plan FROM custody_held")?;
    let held = stmt
        .query_map([], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if held.is_empty() {
        return Ok(());
    }
    for (owner, plan) in held {
        let plan = plan.parse().map_err(|_| Error::DatabaseDamaged)?;
        confirm(conn, &IdentityKey::from_stored(owner)?, plan)?;
    }
    settings::set_time(conn, LAST_CONFIRMED, now)
}

/// Tells `owner`, alone, that I keep my share of `plan`.
fn confirm(conn: &Connection, owner: &IdentityKey, plan: uuid::Uuid) -> Result<Vec<MessageId>> {
    let peers = comrades::peers_for_keys(conn, std::slice::from_ref(owner))?;
    if peers.is_empty() {
        return Ok(Vec::new()); // no longer a comrade, or blocked
    }
    let held = HeldBody { v: 1, plan };
    let sealed = envelope::seal_json_in(conn, peers, CUSTODY_HELD, &held, "custody", None)?;
    Ok(vec![sealed.message_id])
}

fn plan(conn: &Connection) -> Result<Option<Plan>> {
    settings::get(conn, PLAN)?
        .map(|json| serde_json::from_str(&json).map_err(|_| Error::DatabaseDamaged))
        .transpose()
}

fn status(conn: &Connection) -> Result<Option<CustodyStatus>> {
    let Some(plan) = plan(conn)? else {
        return Ok(None);
    };
    let mut stmt = conn.prepare(
        "SELECT name, identity_key, sent_at, confirmed_at FROM custodians ORDER BY name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, Option<i64>>(3)?,
        ))
    })?;
    let custodians = rows
        .map(|row| {
            let (name, key, sent, confirmed) = row?;
            Ok(Custodian {
                name,
                identity_key: IdentityKey::from_stored(key)?,
                sent_at: from_ms(sent)?,
                confirmed_at: confirmed.map(from_ms).transpose()?,
            })
        })
        .collect::<Result<_>>()?;
    let mut status = CustodyStatus {
        threshold: plan.threshold,
        custodians,
        made_at: plan.made_at,
        recipient: plan.recipient,
        recoverable: false,
    };
    status.recoverable = status.recoverable_at(Utc::now());
    Ok(Some(status))
}

fn secret_bytes(identity: &age::x25519::Identity) -> Result<Zeroizing<Vec<u8>>> {
    use age::secrecy::ExposeSecret;
    let text = identity.to_string();
    let (_, bytes) = bech32::decode(text.expose_secret()).map_err(|_| Error::DatabaseDamaged)?;
    Ok(Zeroizing::new(bytes))
}

/// The backup key from shares (each as a custodian sent it: the share's
/// bytes), checked against the recipient it must open for. Fewer than the
/// threshold, or a share that is wrong, give no key: `Error::Invalid`.
pub fn recover(
    threshold: u8,
    recipient: &str,
    shares: &[Vec<u8>],
) -> Result<age::x25519::Identity> {
    let mut taken: Vec<blahaj::Share> = Vec::new();
    for bytes in shares {
        let share = blahaj::Share::try_from(bytes.as_slice())
            .map_err(|_| Error::invalid("share", "is not a share"))?;
        // The same share twice would skew the interpolation.
        if !taken.iter().any(|t| t.x.0 == share.x.0) {
            taken.push(share);
        }
    }
    let secret = Zeroizing::new(
        blahaj::Sharks(threshold)
            .recover(&taken)
            .map_err(|_| Error::invalid("shares", "fewer than the threshold"))?,
    );
    let encoded = Zeroizing::new(
        bech32::encode_upper::<bech32::Bech32>(
            bech32::Hrp::parse_unchecked(AGE_SECRET_HRP),
            secret.as_slice(),
        )
        .map_err(|_| Error::invalid("shares", "do not make a key"))?,
    );
    let identity: age::x25519::Identity = encoded
        .parse()
        .map_err(|_| Error::invalid("shares", "do not make a key"))?;
    if identity.to_public().to_string() != recipient {
        return Err(Error::invalid(
            "shares",
            "do not make the key: one of them is wrong",
        ));
    }
    Ok(identity)
}

/// A share as its custodian keeps it, with the plan's threshold and the
/// recipient the rebuilt key must open for: what a release carries.
pub struct KeptShare {
    pub plan: uuid::Uuid,
    pub threshold: u8,
    pub count: u8,
    pub recipient: String,
    pub bytes: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for KeptShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeptShare")
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

/// The share I keep for `owner`.
pub(crate) fn held_share(conn: &Connection, owner: &IdentityKey) -> Result<Option<KeptShare>> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT plan, threshold, count, recipient, share FROM custody_held WHERE owner = ?1",
        [owner.as_bytes().as_slice()],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                Zeroizing::new(r.get(4)?),
            ))
        },
    )
    .optional()?
    .map(|(plan, threshold, count, recipient, bytes)| {
        Ok::<_, Error>(KeptShare {
            plan: plan.parse().map_err(|_| Error::DatabaseDamaged)?,
            threshold,
            count,
            recipient,
            bytes,
        })
    })
    .transpose()
}

/// The `custody.*` kinds, as `crate::registry` lists them.
pub(crate) struct CustodyKinds;

enum Message {
    /// The body, and its share decoded.
    Share(ShareBody, Zeroizing<Vec<u8>>),
    Held(HeldBody),
}

impl KindHandler for CustodyKinds {
    fn owns(&self, kind: &str) -> bool {
        kind.starts_with("custody.")
    }

    fn check(&self, kind: &str, body: &[u8]) -> Result<Box<dyn Checked>, EnvelopeError> {
        let malformed = |_| EnvelopeError::Malformed;
        let message = match kind {
            CUSTODY_SHARE => {
                let (body, share) = ShareBody::parse(body).ok_or(EnvelopeError::Malformed)?;
                Message::Share(body, share)
            }
            CUSTODY_HELD => {
                let body: HeldBody = serde_json::from_slice(body).map_err(malformed)?;
                if body.v != 1 {
                    return Err(EnvelopeError::Malformed);
                }
                Message::Held(body)
            }
            _ => return Err(EnvelopeError::Malformed),
        };
        Ok(Box::new(message))
    }
}

impl Checked for Message {
    fn receive(
        self: Box<Self>,
        tx: &Transaction<'_>,
        opened: &Opened,
        now: DateTime<Utc>,
    ) -> Result<Vec<MessageId>> {
        let from = opened.sender.identity_key;
        match *self {
            Message::Share(body, share) => {
                tx.execute(
                    "INSERT OR REPLACE INTO custody_held
                         (owner, owner_name, plan, threshold, count, recipient, share, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        from.as_bytes().as_slice(),
                        opened.sender.name,
                        body.plan.to_string(),
                        body.threshold,
                        body.count,
                        body.recipient,
                        share.as_slice(),
                        now.timestamp_millis()
                    ],
                )?;
                if settings::get_time(tx, LAST_CONFIRMED)?.is_none() {
                    settings::set_time(tx, LAST_CONFIRMED, now)?;
                }
                confirm(tx, &from, body.plan)
            }
            Message::Held(body) => {
                // Only a custodian of my current plan confirms it.
                tx.execute(
                    "UPDATE custodians SET confirmed_at = ?3
                     WHERE identity_key = ?1 AND plan = ?2",
                    params![
                        from.as_bytes().as_slice(),
                        body.plan.to_string(),
                        now.timestamp_millis()
                    ],
                )?;
                Ok(Vec::new())
            }
        }
    }
}
