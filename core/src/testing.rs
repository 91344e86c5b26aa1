//! Fixed-key entry points for `cargo fuzz` (see `fuzz/`), the tests that
//! replay its corpus, and the envelope benchmarks. Apps never enable the
//! `testing` feature. Keys are fixed, so seeds sealed to them reach every
//! parser.

use chrono::DateTime;
use ed25519_dalek::SigningKey;

use crate::envelope::{EnvelopeError, wire};
use crate::identity::{Card, CardKeys, ChainLink, EncryptionSecret, PairKey, PqKey};

/// The recipient of the seeds: "Bob" of `docs/vectors/envelope-v1.json`.
pub const RECIPIENT_X25519_SECRET: [u8; 32] = [102; 32];

/// Opens hostile bytes as Bob would, body check included; whether it
/// opened. Must never panic.
pub fn open_envelope(data: &[u8]) -> bool {
    let Ok(secret) = EncryptionSecret::from_bytes(&RECIPIENT_X25519_SECRET) else {
        return false;
    };
    wire::dearmor(data)
        .and_then(|bytes| wire::open(&[&secret], &bytes))
        .and_then(|unsealed| {
            crate::envelope::check(crate::registry::KINDS, &unsealed.kind, &unsealed.body).map(drop)
        })
        .is_ok()
}

/// Seals hostile bytes with age to Bob as if they were an envelope's inner
/// plaintext, then opens them: the fuzzer cannot forge age, so this is how
/// it reaches the inner parser. Whether it opened. Must never panic.
pub fn open_inner(data: &[u8]) -> bool {
    use std::io::Write;
    let Ok(secret) = EncryptionSecret::from_bytes(&RECIPIENT_X25519_SECRET) else {
        return false;
    };
    let Ok(key) = secret.public().age_recipient() else {
        return false;
    };
    let Ok(encryptor) = age::Encryptor::with_recipients(std::iter::once(&key as _)) else {
        return false;
    };
    let mut sealed = vec![];
    let written = encryptor
        .wrap_output(&mut sealed)
        .and_then(|mut w| w.write_all(data).and_then(|()| w.finish().map(|_| ())));
    written.is_ok() && open_envelope(&sealed)
}

/// Parses hostile bytes as a card and as a replacement statement, in text
/// and binary form. Must never panic.
pub fn parse_card(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(card) = Card::parse(text)
    {
        // A card that parses must survive a round trip unchanged.
        assert_eq!(Card::parse(&card.to_text()).ok(), Some(card));
    }
    let _ = Card::from_bytes(data);
    // Replacement statements share the card's text form and carry one.
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::identity::Replacement::parse(text);
    }
    let _ = crate::identity::Replacement::from_bytes(data);
}

/// A sender and `n` recipients made from fixed seeds, with their pair keys
/// derived ahead, as a vault keeps them; with post-quantum epoch keys, or
/// X25519 alone as before them.
pub struct FixedGroup {
    card: Card,
    sender_pq: Option<PqKey>,
    recipients: Vec<(EncryptionSecret, PairKey, Option<PqKey>)>,
}

impl FixedGroup {
    /// X25519 epoch keys, as vaults made before post-quantum epochs.
    pub fn new(n: usize) -> FixedGroup {
        Self::made(n, false)
    }

    /// Hybrid epoch keys: what vaults make now.
    pub fn hybrid(n: usize) -> FixedGroup {
        Self::made(n, true)
    }

    fn made(n: usize, hybrid: bool) -> FixedGroup {
        let keys = |seed: [u8; 32]| {
            let secret = EncryptionSecret::from_bytes(&seed).expect("32 bytes");
            match hybrid {
                true => secret.with_pq(Some(&seed)).expect("32 bytes"),
                false => secret,
            }
        };
        let sender = keys([101; 32]);
        let sender_pq = sender.pq().map(|s| s.public());
        let issued = DateTime::from_timestamp(1_790_000_000, 0).expect("a real time");
        let first = ChainLink {
            seq: 1,
            prev: [0; 32],
        };
        let card = Card::issue(
            &SigningKey::from_bytes(&[1; 32]),
            CardKeys {
                encryption: sender.public(),
                pq: sender_pq.as_ref(),
                recovery: None,
            },
            "Alice",
            None,
            issued,
            Some(first),
        )
        .expect("a valid card");
        let recipients = (0..n)
            .map(|i| {
                let mut seed = [0u8; 32];
                seed[..8].copy_from_slice(&(i as u64 + 1000).to_be_bytes());
                keys(seed)
            })
            .chain([sender])
            .map(|r| {
                let pair = r.pair_key(&card.encryption_key()).expect("usable keys");
                let pq = r.pq().map(|s| s.public());
                (r, pair, pq)
            })
            .collect();
        FixedGroup {
            card,
            sender_pq,
            recipients,
        }
    }

    /// An envelope to everyone, the sender's own copy included.
    pub fn seal(&self, body: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        let recipients: Vec<wire::Recipient> = self
            .recipients
            .iter()
            .map(|(r, pair_key, pq)| wire::Recipient {
                key: r.public(),
                pair_key,
                pq: pq.as_ref(),
            })
            .collect();
        let message = wire::Message {
            id: [7; 16],
            created_ms: 1_790_000_000_000,
            expires_ms: None,
            kind: "bench.note",
            body,
            links: &[],
            pad_to: 0,
        };
        wire::seal((&self.card, self.sender_pq.as_ref()), &recipients, &message)
    }

    /// Plain age to the same keys (X25519 alone): the baseline.
    pub fn seal_raw_age(&self, body: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let keys: Vec<_> = self
            .recipients
            .iter()
            .map(|(r, _, _)| r.public().age_recipient().expect("valid key"))
            .collect();
        let encryptor =
            age::Encryptor::with_recipients(keys.iter().map(|k| k as &dyn age::Recipient))
                .expect("recipients");
        let mut out = Vec::with_capacity(body.len() + 4096);
        let mut w = encryptor.wrap_output(&mut out).expect("in memory");
        w.write_all(body).expect("in memory");
        w.finish().expect("in memory");
        out
    }

    /// Opens as the first recipient; returns the body.
    pub fn open(&self, envelope: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        wire::open(&[&self.recipients[0].0], envelope).map(|u| u.body)
    }

    /// Plain age decryption as the first recipient (X25519): the baseline.
    pub fn open_raw_age(&self, file: &[u8]) -> Vec<u8> {
        use std::io::Read;
        let identities = self.recipients[0]
            .0
            .classic()
            .age_identities()
            .expect("valid key");
        let mut out = vec![];
        age::Decryptor::new_buffered(file)
            .expect("an age file")
            .decrypt(identities.iter().map(|i| i.as_ref()))
            .expect("for this identity")
            .read_to_end(&mut out)
            .expect("authentic");
        out
    }
}

/// Runs care retention as if it were `now`, so tests need not wait a month.
pub fn sweep_care_at(
    vault: &crate::Vault,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::Result<u64> {
    vault.with_tx(|tx| crate::care::sweep(tx, now))
}

/// Seals as [`crate::envelope::Envelopes::seal`] does, dated `created`: an
/// envelope of long ago, without waiting for it.
pub fn seal_made_at(
    vault: &crate::Vault,
    outgoing: &crate::envelope::Outgoing<'_>,
    created: chrono::DateTime<chrono::Utc>,
) -> crate::Result<crate::envelope::Sealed> {
    vault.with_tx(|tx| {
        let peers = crate::envelope::resolve(tx, outgoing.to)?;
        crate::envelope::seal_made_at(tx, peers, outgoing, None, created)
    })
}

/// Prunes replay records as if it were `now`.
pub fn prune_replay_records_at(
    vault: &crate::Vault,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::Result<u64> {
    vault.with_tx(|tx| crate::envelope::prune_replay_records(tx, now))
}

/// My mailboxes to read as if it were `now`.
pub fn mailboxes_at(
    vault: &crate::Vault,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::Result<Vec<crate::delivery::Mailbox>> {
    vault.with_tx(|tx| crate::identity::mailbox::to_fetch(tx, now))
}

/// Makes my current mailbox pair seedless, as in a vault from before
/// weekly mailboxes.
pub fn make_mailbox_static(vault: &crate::Vault) -> crate::Result<()> {
    vault.with_tx(|tx| crate::identity::mailbox::make_current_static(tx))
}

/// A mailbox pair announced ahead (a comrade cut off) takes over this week,
/// as if its week had come; comrades are sent the card again.
pub fn bring_next_mailbox_forward(vault: &crate::Vault) -> crate::Result<()> {
    vault.with_tx(|tx| crate::delivery::bring_next_mailbox_forward(tx, chrono::Utc::now()))
}

/// The card I hold of a comrade, as their envelopes last brought it.
pub fn card_of(vault: &crate::Vault, comrade: crate::comrades::ComradeId) -> crate::Result<Card> {
    let bytes = vault.with_conn(|conn| crate::comrades::card_of(conn, comrade))?;
    Card::from_bytes(&bytes).map_err(|_| crate::Error::DatabaseDamaged)
}

/// The header of the passphrase vault in `dir` as a version 1 header
/// (before duress slots) held the same key.
pub fn version_1_header(dir: &std::path::Path, passphrase: &str) -> crate::Result<Vec<u8>> {
    crate::vault::version_1_header(dir, passphrase)
}

/// A header's key derivation and slot checks, as every passphrase unlock
/// begins. Whether a slot opened.
pub fn opens_header(bytes: &[u8], passphrase: &str) -> bool {
    crate::vault::opens_header(bytes, passphrase)
}

/// What unlocking at `now` prunes of my retired encryption keys.
pub fn prune_retired_keys_at(
    vault: &crate::Vault,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::Result<()> {
    vault.with_tx(|tx| crate::identity::prune_retired_keys(tx, now))
}

/// An identity key from its 32 bytes, as a bench's signing keys make them.
pub fn identity_key(bytes: [u8; 32]) -> crate::identity::IdentityKey {
    crate::identity::IdentityKey(bytes)
}

/// Opens an envelope as if it were `now`.
pub fn open_envelope_at(
    vault: &crate::Vault,
    envelope: &[u8],
    now: chrono::DateTime<chrono::Utc>,
) -> crate::Result<crate::envelope::Opened> {
    crate::envelope::open_at(vault, crate::registry::KINDS, envelope, now)
}

/// The epoch step of every unlock and sync, as if it were `now`: the next
/// epoch's key if mine has served its week, and retired keys pruned.
/// Whether a new epoch began.
pub fn next_epoch_at(
    vault: &crate::Vault,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::Result<bool> {
    vault.with_tx(|tx| {
        crate::identity::prune_retired_keys(tx, now)?;
        crate::delivery::next_epoch_if_due(tx, now)
    })
}

/// Dates my current encryption key as made at `at`, as if the vault had
/// been in use since.
pub fn date_current_key(
    vault: &crate::Vault,
    at: chrono::DateTime<chrono::Utc>,
) -> crate::Result<()> {
    vault.with_tx(|tx| crate::identity::date_current_key(tx, at))
}

/// Whether anything this vault holds (every encryption secret in it: a
/// seized phone, unlocked) decrypts `envelope`'s age layer.
pub fn vault_keys_decrypt(vault: &crate::Vault, envelope: &[u8]) -> crate::Result<bool> {
    let keys = vault.with_conn(crate::identity::load)?;
    let secrets: Vec<_> = keys.all_secrets().collect();
    let me = wire::SealTo {
        key: keys.current.public(),
        pq: None,
    };
    Ok(wire::rewrap(&secrets, envelope, &[me]).is_ok())
}

/// Makes `vault` as one from before post-quantum epochs: its current key
/// loses its post-quantum half and its card the digest (the next unlock
/// gives them back, as the upgrade does).
pub fn as_before_post_quantum(vault: &crate::Vault) -> crate::Result<()> {
    vault.with_tx(|tx| crate::identity::forget_pq_half(tx, chrono::Utc::now()))
}

/// The X25519 halves of every epoch key this vault holds now: what a
/// quantum computer would recover from the public keys on cards, whether or
/// not the vault has since deleted them.
pub fn x25519_secrets(vault: &crate::Vault) -> crate::Result<Vec<[u8; 32]>> {
    let keys = vault.with_conn(crate::identity::load)?;
    Ok(keys.all_secrets().map(|s| *s.to_bytes()).collect())
}

/// Whether X25519 secrets alone, without the post-quantum halves, decrypt
/// `envelope`'s age layer.
pub fn x25519_alone_decrypts(secrets: &[[u8; 32]], envelope: &[u8]) -> bool {
    let keys: Vec<EncryptionSecret> = secrets
        .iter()
        .filter_map(|s| EncryptionSecret::from_bytes(s).ok())
        .collect();
    let Some(first) = keys.first() else {
        return false;
    };
    let refs: Vec<&EncryptionSecret> = keys.iter().collect();
    let to = wire::SealTo {
        key: first.public(),
        pq: None,
    };
    wire::rewrap(&refs, envelope, &[to]).is_ok()
}

/// A forger holding the identity key taken from a copy of `vault` (its
/// files and passphrase, or its data key), with an X25519 key of their own.
pub struct Forger {
    signing: SigningKey,
    encryption: EncryptionSecret,
    name: String,
    /// The victim's encryption secret and card when the copy was taken.
    stolen: (EncryptionSecret, Card),
    /// The post-quantum keys of the victim's comrades, found in the copy.
    comrades_pq: std::collections::HashMap<crate::identity::IdentityKey, PqKey>,
}

impl Forger {
    /// The identity key taken, to sign with (benches build long logs with it).
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// A change to a collective signed with the stolen identity key: what
    /// a removed member, or a thief, could send.
    pub fn collective_change(
        &self,
        collective: crate::collective::CollectiveId,
        (seq, lamport): (u64, u64),
        op: crate::collective::Op,
    ) -> Result<Vec<u8>, crate::collective::ChangeError> {
        crate::collective::Change::sign(&self.signing, collective, seq, lamport, op)
            .map(|c| c.as_bytes().to_vec())
    }

    /// The same forger with an X25519 key alone, as before post-quantum
    /// epochs: the cards they issue name no post-quantum key.
    pub fn without_post_quantum(self) -> Forger {
        Forger {
            encryption: self.encryption.classic(),
            ..self
        }
    }

    pub fn from_vault(vault: &crate::Vault) -> crate::Result<Forger> {
        vault.with_tx(|conn| {
            let keys = crate::identity::load(conn)?;
            let card = crate::identity::card(conn, &keys)?;
            let comrades_pq = crate::comrades::pq_keys(conn)?.into_iter().collect();
            Ok(Forger {
                signing: keys.signing.clone(),
                encryption: EncryptionSecret::generate(),
                name: card.name().to_owned(),
                stolen: (keys.current.clone(), card),
                comrades_pq,
            })
        })
    }

    /// The victim's card in the format before card chains, as the forger
    /// issues it: their identity, the forger's encryption key, dated `issued_at`.
    pub fn unchained_card(&self, issued_at: chrono::DateTime<chrono::Utc>) -> crate::Result<Card> {
        self.issue(issued_at, None)
    }

    /// The card after the victim's card of when the copy was taken, as the
    /// forger issues it: the next in their chain, with the forger's key.
    pub fn next_card(&self, issued_at: chrono::DateTime<chrono::Utc>) -> crate::Result<Card> {
        let stolen = &self.stolen.1;
        let link = stolen.chain().map(|l| ChainLink {
            seq: l.seq + 1,
            prev: stolen.chain_hash().unwrap_or_default(),
        });
        self.issue(issued_at, link)
    }

    /// [`Self::next_card`], committing to a recovery key of the forger's.
    pub fn next_card_with_recovery(
        &self,
        commitment: [u8; 32],
        issued_at: chrono::DateTime<chrono::Utc>,
    ) -> crate::Result<Card> {
        let stolen = &self.stolen.1;
        let link = stolen.chain().map(|l| ChainLink {
            seq: l.seq + 1,
            prev: stolen.chain_hash().unwrap_or_default(),
        });
        self.issue_with(issued_at, link, Some(commitment))
    }

    fn issue(
        &self,
        issued_at: chrono::DateTime<chrono::Utc>,
        chain: Option<ChainLink>,
    ) -> crate::Result<Card> {
        self.issue_with(issued_at, chain, self.stolen.1.recovery())
    }

    /// The victim's name and identity with the forger's keys; the recovery
    /// commitment is the victim's unless the forger brings their own.
    fn issue_with(
        &self,
        issued_at: chrono::DateTime<chrono::Utc>,
        chain: Option<ChainLink>,
        recovery: Option<[u8; 32]>,
    ) -> crate::Result<Card> {
        let pq = self.encryption.pq().map(|s| s.public());
        Card::issue(
            &self.signing,
            CardKeys {
                encryption: self.encryption.public(),
                pq: pq.as_ref(),
                recovery,
            },
            &self.name,
            None,
            issued_at,
            chain,
        )
    }

    /// A card update carrying `card`, sealed to the holder of `to` as the
    /// victim would seal it, MAC and all, with the forger's key.
    pub fn card_update(&self, card: &Card, to: &Card) -> crate::Result<Vec<u8>> {
        seal_as(
            &self.encryption,
            card,
            to,
            crate::envelope::CARD_UPDATE,
            &[],
        )
    }

    /// Key-compromise impersonation: an envelope to the victim, as from the
    /// comrade whose card is `comrade` (public, found in the copy), with the
    /// MAC made from the victim's own secret taken in the copy.
    pub fn as_comrade_to_victim(
        &self,
        comrade: &Card,
        kind: &str,
        body: &[u8],
    ) -> crate::Result<Vec<u8>> {
        let (secret, victim) = &self.stolen;
        let pair_key = secret.pair_key(&comrade.encryption_key())?;
        let pq = self.comrades_pq.get(&comrade.identity_key());
        seal_with(&pair_key, (comrade, pq), victim, kind, body)
    }

    /// An envelope as the victim sealed them when the copy was taken: their
    /// card of then, and the secret it names.
    pub fn with_stolen_key(&self, to: &Card, kind: &str, body: &[u8]) -> crate::Result<Vec<u8>> {
        seal_as(&self.stolen.0, &self.stolen.1, to, kind, body)
    }
}

fn seal_as(
    secret: &EncryptionSecret,
    card: &Card,
    to: &Card,
    kind: &str,
    body: &[u8],
) -> crate::Result<Vec<u8>> {
    let pq = secret.pq().map(|s| s.public());
    seal_with(
        &secret.pair_key(&to.encryption_key())?,
        (
            card,
            pq.as_ref().filter(|k| card.pq_digest() == Some(k.digest())),
        ),
        to,
        kind,
        body,
    )
}

/// An envelope carrying `card` (with the post-quantum key it names), to
/// the holder of `to` alone, its MAC made with `pair_key`.
fn seal_with(
    pair_key: &PairKey,
    sender: (&Card, Option<&PqKey>),
    to: &Card,
    kind: &str,
    body: &[u8],
) -> crate::Result<Vec<u8>> {
    let message = wire::Message {
        id: *uuid::Uuid::now_v7().as_bytes(),
        created_ms: chrono::Utc::now().timestamp_millis(),
        expires_ms: None,
        kind,
        body,
        links: &[],
        pad_to: 0,
    };
    let recipients = [wire::Recipient {
        key: to.encryption_key(),
        pair_key,
        pq: None,
    }];
    Ok(wire::seal(sender, &recipients, &message)?)
}

/// Reads hostile bytes as an `.ics` import would, every check made, nothing
/// stored. Whether it was accepted. Must never panic.
pub fn import_ics(data: &[u8]) -> bool {
    std::str::from_utf8(data).is_ok_and(|text| crate::gatherings::check_ics(text).is_ok())
}

/// Reads hostile bytes as an RRULE and expands what it accepts. Whether it
/// was accepted. Must never panic or run unbounded.
pub fn parse_rrule(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let start = chrono::NaiveDate::from_ymd_opt(2026, 12, 5)
        .and_then(|d| d.and_hms_opt(18, 0, 0))
        .expect("a real time");
    match crate::gatherings::Schedule::new(start, "Europe/Berlin", Some(text)) {
        Ok(schedule) => {
            let _ = schedule.local_starts_from(start).take(64).count();
            true
        }
        Err(_) => false,
    }
}

/// Reads hostile bytes as a Daylio CSV export, nothing stored. Whether it
/// was accepted. Must never panic.
pub fn import_daylio(data: &[u8]) -> bool {
    crate::journal::check_daylio(data).is_ok()
}

/// Reads hostile bytes as a JSON journal backup, nothing stored. Whether it
/// was accepted. Must never panic.
pub fn import_backup(data: &[u8]) -> bool {
    crate::journal::check_backup(data).is_ok()
}

/// Reads hostile bytes as what a relay says (NIP-01), checks an event
/// against a fixed mailbox, and takes its content as a piece. Must never
/// panic.
#[cfg(feature = "network")]
pub fn relay_message(data: &[u8]) {
    crate::delivery::nostr::check_relay_message(data);
}

/// Reads hostile bytes as a relay's HTTP answer to a NIP-11 request, and
/// its proof-of-work demand. Must never panic.
#[cfg(feature = "network")]
pub fn relay_document(data: &[u8]) {
    crate::delivery::nostr::read_relay_document(data);
}

/// Reads hostile bytes as a vault header: decoded, and if it decodes,
/// written back byte for byte. No key derivation: a header names its own
/// cost, and the cap on it is checked at decoding. Must never panic.
pub fn vault_header(data: &[u8]) {
    crate::vault::check_header(data);
}

/// Puts a collective's log into a vault as if it had arrived: benches
/// start from thousands of changes.
pub fn keep_collective(vault: &crate::Vault, log: &crate::collective::Log) -> crate::Result<()> {
    vault.with_tx(|tx| crate::collective::keep(tx, log, chrono::Utc::now()))
}

/// The weekly catch-up of every collective, as an unlock at `now` runs it.
pub fn collectives_catch_up_at(
    vault: &crate::Vault,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::Result<()> {
    vault.with_tx(|tx| crate::collective::ask_if_due(tx, now))
}

/// The body of a `collective.changes` envelope carrying these bytes as
/// they are, for tests that send hostile ones.
pub fn collective_changes_body(
    collective: crate::collective::CollectiveId,
    held: u32,
    changes: &[Vec<u8>],
    cards: &[Vec<u8>],
) -> Vec<u8> {
    crate::collective::wire::Changes {
        collective,
        held,
        changes: changes.to_vec(),
        cards: cards.to_vec(),
    }
    .to_bytes()
}

/// The body of a `collective.ask` from someone who holds nothing of it.
pub fn collective_ask_body(collective: crate::collective::CollectiveId) -> Vec<u8> {
    crate::collective::wire::Ask {
        collective,
        heads: Default::default(),
        cards: Vec::new(),
    }
    .to_bytes()
}

/// Reads hostile bytes as every body a `collective.*` envelope can carry
/// and as a visitor pass (bytes and text). Whether any of them parsed.
/// Must never panic.
pub fn collective_bodies(data: &[u8]) -> bool {
    crate::collective::parses_as_a_body(data)
}

/// Reads hostile bytes as a collective change and, if they parse, takes
/// them into a log and folds it. Whether they parsed. Must never panic.
pub fn collective_change(data: &[u8]) -> bool {
    let Ok(change) = crate::collective::Change::from_bytes(data) else {
        return false;
    };
    let mut log = crate::collective::Log::new(change.collective);
    let taken = log.add(change).is_ok();
    let _ = log.state();
    taken
}

/// Feeds hostile lines to the piece assembler as event contents, as a
/// relay could in any order. Must never panic or grow unbounded.
#[cfg(feature = "network")]
pub fn relay_pieces(data: &[u8]) {
    crate::delivery::nostr::assemble_lines(data);
}

/// The custodian's confirmation, as an unlock at `now` runs it.
pub fn custodians_confirm_at(
    vault: &crate::Vault,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::Result<()> {
    vault.with_tx(|tx| crate::custody::confirm_if_due(tx, now))
}

/// The share `vault` keeps for `owner`: what a release carries.
pub fn custody_share(
    vault: &crate::Vault,
    owner: &crate::comrades::IdentityKey,
) -> crate::Result<Option<crate::custody::KeptShare>> {
    vault.with_conn(|conn| crate::custody::held_share(conn, owner))
}

/// Every row of every table of the vault, each cell as bytes (text as
/// UTF-8, integers in decimal, blobs as they are): what a thief holding
/// the key would read.
pub fn every_row(vault: &crate::Vault) -> crate::Result<Vec<(String, Vec<Vec<u8>>)>> {
    use rusqlite::types::ValueRef;
    vault.with_conn(|conn| {
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut rows = Vec::new();
        for table in tables {
            let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\""))?;
            let width = stmt.column_count();
            let mut query = stmt.query([])?;
            while let Some(row) = query.next()? {
                let cells = (0..width)
                    .map(|i| match row.get_ref(i) {
                        Ok(ValueRef::Integer(n)) => n.to_string().into_bytes(),
                        Ok(ValueRef::Real(x)) => x.to_string().into_bytes(),
                        Ok(ValueRef::Text(t) | ValueRef::Blob(t)) => t.to_vec(),
                        _ => Vec::new(),
                    })
                    .collect();
                rows.push((table.clone(), cells));
            }
        }
        Ok(rows)
    })
}

/// A tallier that lies: it keeps a made-up share for `member`, who sent it
/// none, so its list names them.
pub fn pulse_share_made_up(
    vault: &crate::Vault,
    pulse: crate::pulse::PulseId,
    member: crate::identity::IdentityKey,
) -> crate::Result<()> {
    vault.with_tx(|tx| crate::pulse::made_up_share(tx, pulse, member))
}

/// A tallier that lies: it drops `member`'s share after listing them, so
/// its sums leave out what its list names.
pub fn pulse_share_dropped(
    vault: &crate::Vault,
    pulse: crate::pulse::PulseId,
    member: crate::identity::IdentityKey,
) -> crate::Result<()> {
    vault.with_tx(|tx| crate::pulse::drop_share(tx, pulse, member))
}

/// Greeting rounds open and are deleted as at an unlock at `now`.
pub fn greeting_rounds_at(
    vault: &crate::Vault,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::Result<()> {
    vault.with_tx(|tx| crate::gatherings::rounds_at_unlock(tx, now))
}
