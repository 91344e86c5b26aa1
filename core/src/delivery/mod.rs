//! Delivery: the vault's outbox reaches comrades' mailboxes through relays,
//! and what waits in my mailboxes is opened into the vault. The vault holds
//! all state (what each relay took, where each mailbox was read up to);
//! a [`Transport`] only moves bytes. Tend's own transport speaks Nostr
//! ([`nostr`]); an app may bring another. Manual exchange (armored text,
//! files) keeps working beside either. Spec: `docs/delivery.md`.

mod inbound;
mod moved;
mod moving;
pub mod nostr;
mod outbound;
mod proxy;
mod schedule;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;

use schedule::Job;

pub use crate::identity::{
    Address, CLOCK_SKEW, LONGEST_STAY, MAILBOX_GRACE, MAILBOX_NOTICE, MAILBOX_WEEK,
    MAX_RELAY_HINTS, MAX_RELAY_URL_BYTES, MAX_RELAYS, Mailbox, MailboxKey, MailboxSeed,
    NextMailbox, RelayUrl, week_closes, week_of, week_start,
};
pub(crate) use moved::MoveNotices;
pub use moved::{DEVICE_MOVED, NOTICE_EVERY, NOTICE_FOR};
pub use moving::{
    MAX_MOVE_RELAYS, MOVE_PIECE_BYTES, MoveCode, MoveProgress, MoveReceiver, MoveSent,
};
pub use outbound::{MAX_BACKOFF, Parcel, ParcelId, RouteState, Sent};
pub use proxy::ProxyUrl;

use crate::collective::{self, CollectiveId};
use crate::comrades::{self, ComradeChange};
use crate::envelope::{self, EnvelopeError, KindHandler, MessageId, Opened, seal_card_update_in};
use crate::identity::{self, IdentityKey, mailbox, relays};
use crate::{Error, Result, Vault};

/// How long past its date an event is kept at least (NIP-40), unless its
/// envelope expires sooner; outbox envelopes older than this are no longer sent.
pub const EVENT_LIFETIME: Duration = Duration::days(14);
/// Events are dated up to this far in the past (as NIP-59 does), so fetches
/// ask for this much before the cursor.
pub const BACKDATE_WINDOW: Duration = Duration::days(2);
// An event is dated at most a window back and kept a lifetime and a window
// past its date: identity's LONGEST_STAY, which reads past weeks by it.
const _: () = assert!(
    LONGEST_STAY.num_seconds() == EVENT_LIFETIME.num_seconds() + BACKDATE_WINDOW.num_seconds()
);

/// Why a relay's answer was not used. Each is skipped; none stops a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, thiserror::Error)]
pub enum RelayProblem {
    #[error("sent something that is not a relay message")]
    Garbage,
    #[error("sent an event of a kind Tend did not ask for")]
    WrongKind,
    #[error("sent an event for a mailbox Tend did not ask for")]
    NotAddressed,
    #[error("sent an event over the size limit")]
    Oversized,
    #[error("sent an event whose id or signature is wrong")]
    BadSignature,
    #[error("sent a piece of an envelope that does not fit the others")]
    BadChunk,
    #[error("sent more than one fetch may take; the rest waits for the next")]
    Flood,
}

/// Why a relay could not be used at all this time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("could not reach the relay: {0}")]
    Unreachable(String),
    #[error("the relay did not answer in time")]
    TimedOut,
    #[error("the relay closed the request: {0}")]
    Closed(String),
}

/// What a fetch brought: whole envelopes, each with the transport's ids
/// for the items it came in, and what was skipped.
#[derive(Debug, Default)]
pub struct Fetched {
    pub arrivals: Vec<Arrival>,
    /// Items skipped because `seen` said they were taken in already; the
    /// relay is asked to forget them too.
    pub seen: Vec<String>,
    /// Items that are sound (their ids say so) but carry nothing usable:
    /// remembered like those taken in, so a flood of them is read once.
    pub unusable: Vec<String>,
    pub problems: Vec<RelayProblem>,
    /// Everything dated `since` or later was read. When not, the cursor
    /// stays, and the next fetch reads the same span again, skipping what
    /// it has seen.
    pub complete: bool,
}

/// One envelope as it arrived: its bytes and the transport items (Nostr
/// event ids) that carried it.
#[derive(Clone, PartialEq, Eq)]
pub struct Arrival {
    pub ids: Vec<String>,
    pub envelope: Vec<u8>,
}

impl std::fmt::Debug for Arrival {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Arrival")
            .field("ids", &self.ids.len())
            .field("envelope", &self.envelope.len())
            .finish()
    }
}

/// Moves parcels to relays and envelopes back. Implementations hold no
/// state the vault needs: everything lasting is recorded by [`Delivery::sync`].
pub trait Transport {
    /// Publishes one recipient's parcel to one relay, on a connection of
    /// its own: `Err` inside carries the relay's refusal, `Err` outside
    /// says the relay could not be used at all.
    fn publish(
        &mut self,
        relay: &RelayUrl,
        parcel: &Parcel,
    ) -> std::result::Result<std::result::Result<(), String>, TransportError>;

    /// What waits for one mailbox on one relay, dated `since` or later.
    /// Items for which `seen` is true may be skipped unread.
    fn fetch(
        &mut self,
        relay: &RelayUrl,
        mailbox: &Mailbox,
        since: Option<DateTime<Utc>>,
        seen: &dyn Fn(&str) -> bool,
    ) -> std::result::Result<Fetched, TransportError>;

    /// Asks the relay to delete items taken in, where that is its way.
    /// Nostr's is not: a NIP-09 request, signed by the mailbox, would say
    /// when a member read what, so Tend's Nostr transport lets events expire.
    fn forget(
        &mut self,
        _relay: &RelayUrl,
        _mailbox: &Mailbox,
        _ids: &[String],
    ) -> std::result::Result<(), TransportError> {
        Ok(())
    }
}

/// How a sync runs.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncOptions {
    /// Try failed relays now instead of after their backoff: for a sync the
    /// member asked for.
    #[cfg_attr(feature = "uniffi", uniffi(default = false))]
    pub retry_now: bool,
    /// How long the sync may spend between connections, at random moments,
    /// so that when they come ties nothing together. Zero runs every
    /// connection at once. [`DEFAULT_DELAY_BUDGET`] unless set.
    pub delay_budget: std::time::Duration,
}

/// The delay budget unless the caller sets one: short enough for a phone's
/// background run (iOS gives about 30 s), long enough to spread a sync's
/// connections apart.
pub const DEFAULT_DELAY_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

impl Default for SyncOptions {
    fn default() -> SyncOptions {
        SyncOptions {
            retry_now: false,
            delay_budget: DEFAULT_DELAY_BUDGET,
        }
    }
}

/// Where a sync is, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncProgress {
    Sending {
        relay: RelayUrl,
        parcels: usize,
    },
    Fetching {
        relay: RelayUrl,
        mailbox: MailboxKey,
    },
    Opening {
        done: usize,
        of: usize,
    },
}

/// What a sync did on one relay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelayReport {
    pub relay: Option<RelayUrl>,
    /// Parcels the relay accepted.
    pub sent: usize,
    /// Parcels it refused; they are tried again after a backoff.
    pub refused: usize,
    /// Envelopes opened into the vault.
    pub received: usize,
    /// Items already taken in, from this relay or another: whole envelopes,
    /// or pieces of large ones.
    pub duplicates: usize,
    /// Envelopes that would not open, by why.
    pub rejected: BTreeMap<EnvelopeError, usize>,
    /// Envelopes from someone not (yet) my comrade: kept on the relay, and
    /// tried again while it holds them.
    pub from_strangers: usize,
    /// Envelopes that opened, but what they carried was refused (an answer
    /// about a gathering this vault no longer holds, say): nothing of them
    /// kept, and not fetched again.
    pub turned_down: usize,
    /// The relay's bad answers, by kind.
    pub problems: BTreeMap<RelayProblem, usize>,
    /// Set when the relay could not be used; what waits is tried again.
    pub unreachable: Option<TransportError>,
}

/// What a sync did.
#[derive(Debug, Default)]
pub struct SyncReport {
    pub relays: Vec<RelayReport>,
    /// Everything opened, in the order it was.
    pub opened: Vec<Opened>,
    /// A newer copy of this vault told it that it took over: this copy
    /// sent nothing and is read-only from now on ([`Vault::retirement`]).
    pub retired: bool,
}

/// Relays, mailboxes and syncing. Borrow it with [`Vault::delivery`].
pub struct Delivery<'v> {
    vault: &'v Vault,
    kinds: &'static [&'static dyn KindHandler],
}

impl<'v> Delivery<'v> {
    /// Opens what it fetches with the kinds the registry lists.
    pub(crate) fn new(vault: &'v Vault, kinds: &'static [&'static dyn KindHandler]) -> Self {
        Delivery { vault, kinds }
    }
}

impl Delivery<'_> {
    /// The relays I receive on, oldest first. The first four go in my card.
    pub fn relays(&self) -> Result<Vec<RelayUrl>> {
        self.vault.with_conn(relays::list)
    }

    /// Adds a relay to receive on. My card changes, and comrades are sent
    /// the new one. Adding one I have is no change.
    pub fn add_relay(&self, url: &RelayUrl) -> Result<()> {
        self.vault.with_tx(|tx| {
            let now = Utc::now();
            if relays::add(tx, url, now)? {
                card_changed(tx, now)?;
            }
            Ok(())
        })
    }

    /// Receives on the relays a collective I belong to asks its members to
    /// use, as well as mine (up to 8 in all); comrades are sent my new card.
    /// The relays added, in the collective's order.
    pub fn use_collective_relays(&self, collective: CollectiveId) -> Result<Vec<RelayUrl>> {
        self.vault.with_tx(|tx| {
            let now = Utc::now();
            let mut added = Vec::new();
            for url in collective::relays_asked(tx, collective)? {
                if relays::add(tx, &url, now)? {
                    added.push(url);
                }
            }
            if !added.is_empty() {
                card_changed(tx, now)?;
            }
            Ok(added)
        })
    }

    /// Stops receiving on a relay, and tells comrades.
    pub fn remove_relay(&self, url: &RelayUrl) -> Result<()> {
        self.vault.with_tx(|tx| {
            relays::remove(tx, url)?;
            inbound::forget_relay(tx, url)?;
            card_changed(tx, Utc::now())
        })
    }

    /// The SOCKS5 proxy every relay connection goes through, if one is set.
    pub fn proxy(&self) -> Result<Option<ProxyUrl>> {
        self.vault.with_conn(proxy::get)
    }

    /// Sends every relay connection through a SOCKS5 proxy (Tor, Orbot), or
    /// straight to the relays again with `None`.
    pub fn set_proxy(&self, url: Option<&ProxyUrl>) -> Result<()> {
        self.vault.with_tx(|tx| proxy::set(tx, url))
    }

    /// [`Delivery::sync`] through Tend's own Nostr client, and the proxy
    /// when one is set.
    #[cfg(feature = "network")]
    pub fn sync_through_relays(
        &self,
        limits: nostr::Limits,
        options: SyncOptions,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<SyncReport> {
        let mut transport = nostr::NostrTransport::new(limits).through(self.proxy()?);
        self.sync(&mut transport, options, progress)
    }

    /// Where I receive: what my card carries.
    pub fn my_address(&self) -> Result<Address> {
        self.vault.with_conn(mailbox::my_address)
    }

    /// My mailboxes still read: this week's first, then earlier weeks' and
    /// retired pairs' that may still hold something.
    pub fn mailboxes(&self) -> Result<Vec<Mailbox>> {
        self.vault.with_tx(|tx| mailbox::to_fetch(tx, Utc::now()))
    }

    /// A new mailbox, serving from the first week that begins at least
    /// [`MAILBOX_NOTICE`] from now; comrades are sent my card with it.
    /// Removing or blocking a comrade does this by itself.
    pub fn rotate_mailbox(&self) -> Result<()> {
        self.vault
            .with_tx(|tx| rotate_mailbox_in(tx, Utc::now()).map(|_| ()))
    }

    /// Each recipient's copy on each relay tried so far.
    pub fn routes(
        &self,
        message_id: MessageId,
    ) -> Result<Vec<(IdentityKey, RelayUrl, RouteState)>> {
        self.vault
            .with_conn(|conn| outbound::routes(conn, message_id))
    }

    /// Parcels due now: for a transport an app drives itself, which
    /// fetches first. Report what happened with [`Delivery::record`].
    /// Copies to a key replaced before they could go are sealed again
    /// first; a restored copy's notice to the copy it replaced is among them.
    pub fn due(&self, retry_now: bool) -> Result<Vec<Parcel>> {
        self.refuse_if_retired()?;
        self.vault.with_tx(|tx| {
            let now = Utc::now();
            moved::notice_if_due(tx, now)?;
            let mut parcels = outbound::due(tx, now, retry_now)?;
            parcels.extend(moved::due(tx, now, retry_now)?);
            Ok(parcels)
        })
    }

    /// A copy that a newer one replaced sends nothing, even what it sealed
    /// before it learnt so.
    fn refuse_if_retired(&self) -> Result<()> {
        match self.vault.retirement()? {
            Some(_) => Err(Error::Retired),
            None => Ok(()),
        }
    }

    pub fn record(&self, outcomes: &[Sent]) -> Result<()> {
        self.refuse_if_retired()?;
        self.vault
            .with_tx(|tx| outbound::record(tx, outcomes, Utc::now()))
    }

    /// Fetches and opens what waits in my mailboxes, then sends what the
    /// outbox owes, replies to what was opened included: one connection per
    /// mailbox per relay, and per recipient's copy per relay, each at a
    /// random moment (`schedule`), fetches in the first half of the delay
    /// budget and sends in the second. Fetching first lets a copy of my
    /// vault that a newer one replaced learn it before it sends anything
    /// ([`moved`]): it then stops, and [`SyncReport::retired`] says so. A
    /// relay that fails is reported and tried again later; only a vault
    /// error stops the sync.
    pub fn sync(
        &self,
        transport: &mut dyn Transport,
        options: SyncOptions,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<SyncReport> {
        self.refuse_if_retired()?;
        let mut sync = Syncing {
            delivery: self,
            transport,
            progress,
            reports: BTreeMap::new(),
            opened: Vec::new(),
            retired: false,
        };
        let budget = options.delay_budget;
        let fetches = self.fetches()?;
        sync.run(&[], &fetches, budget.mul_f64(0.5))?;
        if !sync.retired {
            self.vault.with_tx(|tx| next_epoch_if_due(tx, Utc::now()))?;
            let senders: BTreeSet<IdentityKey> = sync
                .opened
                .iter()
                .filter(|o| o.sender.comrade.is_some())
                .map(|o| o.sender.identity_key)
                .collect();
            // Cards opened may have moved a comrade's mailbox under copies sent.
            self.vault
                .with_tx(|tx| outbound::send_again_if_moved(tx, &senders, Utc::now()))?;
            let parcels = self.due(options.retry_now)?;
            sync.run(&parcels, &[], budget.mul_f64(0.5))?;
            self.vault.with_tx(|tx| {
                inbound::prune_seen(tx, Utc::now())?;
                envelope::prune_decoys(tx, Utc::now() - EVENT_LIFETIME)
            })?;
        }
        let relays = sync
            .reports
            .into_iter()
            .map(|(url, mut report)| {
                report.relay = Some(url);
                report
            })
            .collect();
        Ok(SyncReport {
            relays,
            opened: sync.opened,
            retired: sync.retired,
        })
    }
}

impl Delivery<'_> {
    /// Each of my mailboxes that may hold something new, with the relays to
    /// read it on and where on each to begin.
    fn fetches(&self) -> Result<Vec<Fetch>> {
        let relays = self.relays()?;
        let mailboxes = self.mailboxes()?;
        self.vault.with_conn(|conn| {
            let mut fetches = Vec::new();
            for mailbox in mailboxes {
                let mut on = Vec::new();
                for relay in &relays {
                    if let Some(since) = inbound::fetch_from(conn, &mailbox, relay)? {
                        on.push((relay.clone(), since));
                    }
                }
                if !on.is_empty() {
                    fetches.push(Fetch { mailbox, on });
                }
            }
            Ok(fetches)
        })
    }
}

/// One of my mailboxes to read, and on which relays from when.
struct Fetch {
    mailbox: Mailbox,
    on: Vec<(RelayUrl, Option<DateTime<Utc>>)>,
}

/// Fetch rounds for one mailbox on one relay in one sync, while each
/// brings something new but cannot read everything at once.
const FETCH_ROUNDS: usize = 8;

/// One sync's state while its jobs run.
struct Syncing<'s, 'v> {
    delivery: &'s Delivery<'v>,
    transport: &'s mut dyn Transport,
    progress: &'s mut dyn FnMut(SyncProgress),
    reports: BTreeMap<RelayUrl, RelayReport>,
    opened: Vec<Opened>,
    /// Set once a notice from a newer copy of my vault was opened: nothing
    /// more runs.
    retired: bool,
}

impl Syncing<'_, '_> {
    fn run(
        &mut self,
        parcels: &[Parcel],
        fetches: &[Fetch],
        budget: std::time::Duration,
    ) -> Result<()> {
        let publishes: Vec<usize> = parcels.iter().map(|p| p.relays.len()).collect();
        let reads: Vec<usize> = fetches.iter().map(|f| f.on.len()).collect();
        let plan = schedule::plan(&mut rand::thread_rng(), budget, &publishes, &reads);
        let start = std::time::Instant::now();
        for (offset, job) in plan {
            if self.retired {
                break;
            }
            if let Some(wait) = offset.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
            match job {
                Job::Publish { parcel, relay } => {
                    let parcel = &parcels[parcel];
                    self.publish(parcel, &parcel.relays[relay])?
                }
                Job::Fetch { mailbox, relay } => {
                    let fetch = &fetches[mailbox];
                    let (relay, since) = &fetch.on[relay];
                    self.fetch(&fetch.mailbox, relay, *since)?
                }
            }
        }
        Ok(())
    }

    fn publish(&mut self, parcel: &Parcel, relay: &RelayUrl) -> Result<()> {
        (self.progress)(SyncProgress::Sending {
            relay: relay.clone(),
            parcels: 1,
        });
        let report = self.reports.entry(relay.clone()).or_default();
        let result = match self.transport.publish(relay, parcel) {
            Ok(Ok(())) => {
                report.sent += 1;
                Ok(())
            }
            Ok(Err(reason)) => {
                report.refused += 1;
                Err(reason)
            }
            Err(e) => {
                let reason = e.to_string();
                report.unreachable = Some(e);
                Err(reason)
            }
        };
        self.delivery.record(&[Sent {
            parcel: parcel.id,
            mailbox: parcel.mailbox,
            relay: relay.clone(),
            result,
        }])
    }

    /// Fetches and opens, in rounds while a round was cut short but
    /// brought something new; the cursor moves only once all was read.
    fn fetch(
        &mut self,
        mailbox: &Mailbox,
        relay: &RelayUrl,
        since: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let vault = self.delivery.vault;
        (self.progress)(SyncProgress::Fetching {
            relay: relay.clone(),
            mailbox: mailbox.key,
        });
        let started = Utc::now();
        let seen = |id: &str| {
            vault
                .with_conn(|conn| inbound::is_seen(conn, id))
                .unwrap_or(false)
        };
        for _ in 0..FETCH_ROUNDS {
            let fetched = match self.transport.fetch(relay, mailbox, since, &seen) {
                Ok(fetched) => fetched,
                Err(e) => {
                    self.reports.entry(relay.clone()).or_default().unreachable = Some(e);
                    return Ok(());
                }
            };
            let complete = fetched.complete;
            let progressed = self.open(mailbox, relay, fetched)?;
            if self.retired {
                return Ok(());
            }
            if complete {
                return vault.with_tx(|tx| inbound::set_cursor(tx, mailbox, relay, started));
            }
            if !progressed {
                break;
            }
        }
        Ok(())
    }

    /// Opens what one fetch brought, [`OPEN_BATCH`] envelopes a
    /// transaction; whether anything was new.
    fn open(&mut self, mailbox: &Mailbox, relay: &RelayUrl, fetched: Fetched) -> Result<bool> {
        let vault = self.delivery.vault;
        let report = self.reports.entry(relay.clone()).or_default();
        for problem in fetched.problems {
            *report.problems.entry(problem).or_default() += 1;
        }
        report.duplicates += fetched.seen.len();
        let mut progressed = !fetched.unusable.is_empty();
        vault.with_tx(|tx| inbound::mark_seen(tx, &fetched.unusable, Utc::now()))?;
        let mut forget = fetched.seen;
        let fresh: Vec<Arrival> = vault.with_conn(|conn| {
            let mut fresh = Vec::new();
            for arrival in fetched.arrivals {
                if inbound::all_seen(conn, &arrival.ids)? {
                    report.duplicates += 1;
                } else {
                    fresh.push(arrival);
                }
            }
            Ok(fresh)
        })?;
        let of = fresh.len();
        let retired = mailbox.is_retired(Utc::now());
        for (batch, arrivals) in fresh.chunks(OPEN_BATCH).enumerate() {
            (self.progress)(SyncProgress::Opening {
                done: batch * OPEN_BATCH,
                of,
            });
            let envelopes: Vec<&[u8]> = arrivals.iter().map(|a| a.envelope.as_slice()).collect();
            let mut opened = Vec::new();
            let mut taken = Vec::new();
            envelope::open_each(vault, self.delivery.kinds, &envelopes, |tx, i, result| {
                match result {
                    Ok(envelope) => {
                        report.received += 1;
                        opened.push(envelope);
                    }
                    Err(Error::Envelope(EnvelopeError::Replayed)) => report.duplicates += 1,
                    // Perhaps a comrade I have not added yet: left for a later
                    // sync. Not on a retired mailbox: new comrades have my new one.
                    Err(Error::Envelope(EnvelopeError::UnknownSender)) if !retired => {
                        report.from_strangers += 1;
                        return Ok(());
                    }
                    Err(Error::Envelope(why)) => {
                        *report.rejected.entry(why).or_default() += 1;
                    }
                    // One comrade's message must not stop every sync after it.
                    Err(other) if !other.is_the_vaults() => report.turned_down += 1,
                    Err(other) => return Err(other),
                }
                inbound::mark_seen(tx, &arrivals[i].ids, Utc::now())?;
                taken.push(i);
                Ok(())
            })?;
            progressed |= !taken.is_empty();
            forget.extend(taken.into_iter().flat_map(|i| arrivals[i].ids.clone()));
            self.opened.extend(opened);
            if vault.retirement()?.is_some() {
                self.retired = true;
                return Ok(false);
            }
        }
        if !forget.is_empty() {
            // Best effort: the events expire on their own.
            let _ = self.transport.forget(relay, mailbox, &forget);
        }
        Ok(progressed)
    }
}

/// Envelopes opened in one transaction: one commit for many, and the vault
/// is not held for long.
const OPEN_BATCH: usize = 100;

/// My card now names other relays or another mailbox: it is reissued and,
/// when I receive through relays at all, sent to every comrade.
fn card_changed(tx: &Connection, now: DateTime<Utc>) -> Result<()> {
    identity::bump_card(tx, now)?;
    if !relays::list(tx)?.is_empty() {
        seal_card_update_in(tx)?;
    }
    Ok(())
}

/// What a change among my comrades asks of delivery, as the registry
/// hands it to comrades. A removed or blocked comrade is announced a
/// mailbox they do not know; an unblocked or new one gets my current card,
/// when I receive through relays at all.
pub(crate) fn on_comrade_change(tx: &Connection, change: ComradeChange) -> Result<()> {
    let now = Utc::now();
    match change {
        ComradeChange::Cut(cut) => {
            // The card they hold, issued before the new pair is announced.
            let held = match relays::list(tx)?.is_empty() {
                true => None,
                false => Some(identity::card(tx, &identity::load(tx)?)?),
            };
            rotate_mailbox_in(tx, now)?;
            if let Some(held) = held {
                envelope::seal_decoy_card_update(tx, &cut, &held)?;
            }
            Ok(())
        }
        ComradeChange::Restored(id) | ComradeChange::Added(id) => {
            if !relays::list(tx)?.is_empty()
                && let Some(sealed) = envelope::seal_card_update_to(tx, &[id])?
            {
                let keys: Vec<_> = sealed.recipients.iter().map(|r| r.identity_key).collect();
                envelope::drop_decoys_to(tx, &keys)?;
            }
            Ok(())
        }
    }
}

/// At unlock and before each sync: once my encryption key has served its
/// epoch, the next epoch's replaces it and, when I receive through relays
/// at all, comrades are sent my card with it (`docs/envelope.md`, "Epochs").
pub(crate) fn next_epoch_if_due(tx: &Connection, now: DateTime<Utc>) -> Result<bool> {
    if !identity::epoch_due(tx, now)? {
        return Ok(false);
    }
    comrades::rotate_keys_at(tx, now)?;
    if !relays::list(tx)?.is_empty() && identity::has_card(tx)? {
        seal_card_update_in(tx)?;
    }
    Ok(true)
}

/// At unlock: a vault from before weekly mailboxes moves at once to a pair
/// with a seed, and tells comrades; the old mailbox is read through its
/// grace.
pub(crate) fn upgrade_to_weekly_mailboxes(tx: &Connection, now: DateTime<Utc>) -> Result<()> {
    if mailbox::current_is_static(tx)? {
        mailbox::replace_static(tx, now)?;
        card_changed(tx, now)?;
    }
    Ok(())
}

/// At unlock: a vault from before post-quantum epochs gives its current key
/// its post-quantum half and tells comrades, so what they seal to me is
/// post-quantum from their next sync on (`docs/envelope.md`).
pub(crate) fn upgrade_to_post_quantum(tx: &Connection, now: DateTime<Utc>) -> Result<()> {
    if identity::give_current_key_a_pq_half(tx)? {
        card_changed(tx, now)?;
    }
    Ok(())
}

/// A new pair announced ahead (`mailbox::announce_next`), and my card with
/// it sent to every comrade.
fn rotate_mailbox_in(tx: &Connection, now: DateTime<Utc>) -> Result<()> {
    if mailbox::current_is_static(tx)? {
        mailbox::replace_static(tx, now)?;
    } else {
        mailbox::announce_next(tx, now)?;
    }
    card_changed(tx, now)
}

/// For tests: an announced pair takes over now, and comrades are told.
#[cfg(feature = "testing")]
pub(crate) fn bring_next_mailbox_forward(tx: &Connection, now: DateTime<Utc>) -> Result<()> {
    mailbox::bring_next_forward(tx, now)?;
    card_changed(tx, now)
}
