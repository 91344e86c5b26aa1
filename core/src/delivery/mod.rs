//! Delivery: the vault's outbox reaches comrades' mailboxes through relays,
//! and what waits in my mailboxes is opened into the vault. The vault holds
//! all state (what each relay took, where each mailbox was read up to);
//! a [`Transport`] only moves bytes. Tend's own transport speaks Nostr
//! ([`nostr`]); an app may bring another. Manual exchange (armored text,
//! files) keeps working beside either. Spec: `docs/delivery.md`.

mod inbound;
pub mod nostr;
mod outbound;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;

pub use crate::identity::{
    Address, MAILBOX_GRACE, MAX_RELAY_HINTS, MAX_RELAY_URL_BYTES, MAX_RELAYS, Mailbox, MailboxKey,
    RelayUrl,
};
pub use outbound::{MAX_BACKOFF, Parcel, ParcelId, RouteState, Sent};

use crate::comrades::ComradeChange;
use crate::envelope::{self, EnvelopeError, KindHandler, MessageId, Opened, seal_card_update_in};
use crate::identity::{self, IdentityKey, mailbox, relays};
use crate::{Error, Result, Vault};

/// How long relays are asked to keep an envelope (NIP-40), unless it
/// expires sooner; outbox envelopes older than this are no longer sent.
pub const EVENT_LIFETIME: Duration = Duration::days(14);
/// Events are dated up to this far in the past (as NIP-59 does), so fetches
/// ask for this much before the cursor.
pub const BACKDATE_WINDOW: Duration = Duration::days(2);

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
    pub problems: Vec<RelayProblem>,
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
    /// Publishes parcels to one relay: one result per parcel, in order, an
    /// `Err` carrying the relay's reason. `Err` for the call when the relay
    /// cannot be used at all.
    fn publish(
        &mut self,
        relay: &RelayUrl,
        parcels: &[&Parcel],
    ) -> std::result::Result<Vec<std::result::Result<(), String>>, TransportError>;

    /// What waits for one mailbox on one relay, dated `since` or later.
    /// Items for which `seen` is true may be skipped unread.
    fn fetch(
        &mut self,
        relay: &RelayUrl,
        mailbox: &Mailbox,
        since: Option<DateTime<Utc>>,
        seen: &dyn Fn(&str) -> bool,
    ) -> std::result::Result<Fetched, TransportError>;

    /// Asks the relay to delete items taken in, where it supports that.
    fn forget(
        &mut self,
        relay: &RelayUrl,
        mailbox: &Mailbox,
        ids: &[String],
    ) -> std::result::Result<(), TransportError>;
}

/// How a sync runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct SyncOptions {
    /// Try failed relays now instead of after their backoff: for a sync the
    /// member asked for.
    pub retry_now: bool,
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

    /// Stops receiving on a relay, and tells comrades.
    pub fn remove_relay(&self, url: &RelayUrl) -> Result<()> {
        self.vault.with_tx(|tx| {
            relays::remove(tx, url)?;
            inbound::forget_relay(tx, url)?;
            card_changed(tx, Utc::now())
        })
    }

    /// Where I receive: what my card carries.
    pub fn my_address(&self) -> Result<Address> {
        self.vault.with_conn(mailbox::my_address)
    }

    /// My mailboxes still read: the current one first, then retired ones
    /// within [`MAILBOX_GRACE`].
    pub fn mailboxes(&self) -> Result<Vec<Mailbox>> {
        self.vault.with_tx(|tx| mailbox::to_fetch(tx, Utc::now()))
    }

    /// A new mailbox; comrades are sent my card with it. Removing or
    /// blocking a comrade does this by itself.
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

    /// Parcels due now: for a transport an app drives itself. Report what
    /// happened with [`Delivery::record`].
    pub fn due(&self, retry_now: bool) -> Result<Vec<Parcel>> {
        self.vault
            .with_conn(|conn| outbound::due(conn, Utc::now(), retry_now))
    }

    pub fn record(&self, outcomes: &[Sent]) -> Result<()> {
        self.vault
            .with_tx(|tx| outbound::record(tx, outcomes, Utc::now()))
    }

    /// Sends what the outbox owes, then fetches and opens what waits in my
    /// mailboxes, relay by relay. A relay that fails is reported and tried
    /// again later; only a vault error stops the sync.
    pub fn sync(
        &self,
        transport: &mut dyn Transport,
        options: SyncOptions,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<SyncReport> {
        let mut reports: BTreeMap<RelayUrl, RelayReport> = BTreeMap::new();
        let mut opened = Vec::new();
        self.send_due(transport, options, progress, &mut reports)?;
        // Replies sealed while opening (care, gatherings) go out in the same sync.
        self.fetch_all(transport, progress, &mut reports, &mut opened)?;
        if opened.iter().any(|o| !o.replies.is_empty()) {
            self.send_due(transport, options, progress, &mut reports)?;
        }
        let mut relays: Vec<RelayReport> = reports
            .into_iter()
            .map(|(url, mut report)| {
                report.relay = Some(url);
                report
            })
            .collect();
        relays.sort_by(|a, b| a.relay.cmp(&b.relay));
        Ok(SyncReport { relays, opened })
    }

    fn send_due(
        &self,
        transport: &mut dyn Transport,
        options: SyncOptions,
        progress: &mut dyn FnMut(SyncProgress),
        reports: &mut BTreeMap<RelayUrl, RelayReport>,
    ) -> Result<()> {
        let parcels = self.due(options.retry_now)?;
        let mut by_relay: BTreeMap<&RelayUrl, Vec<&Parcel>> = BTreeMap::new();
        for parcel in &parcels {
            for relay in &parcel.relays {
                by_relay.entry(relay).or_default().push(parcel);
            }
        }
        for (relay, parcels) in by_relay {
            progress(SyncProgress::Sending {
                relay: relay.clone(),
                parcels: parcels.len(),
            });
            let report = reports.entry(relay.clone()).or_default();
            let results = match transport.publish(relay, &parcels) {
                Ok(results) if results.len() == parcels.len() => results,
                Ok(_) => vec![Err("the transport lost count".into()); parcels.len()],
                Err(e) => {
                    let reason = e.to_string();
                    report.unreachable = Some(e);
                    vec![Err(reason); parcels.len()]
                }
            };
            let outcomes: Vec<Sent> = parcels
                .iter()
                .zip(results)
                .map(|(parcel, result)| {
                    match &result {
                        Ok(()) => report.sent += 1,
                        Err(_) if report.unreachable.is_none() => report.refused += 1,
                        Err(_) => {}
                    }
                    Sent {
                        parcel: parcel.id,
                        relay: relay.clone(),
                        result,
                    }
                })
                .collect();
            self.record(&outcomes)?;
        }
        Ok(())
    }

    fn fetch_all(
        &self,
        transport: &mut dyn Transport,
        progress: &mut dyn FnMut(SyncProgress),
        reports: &mut BTreeMap<RelayUrl, RelayReport>,
        opened: &mut Vec<Opened>,
    ) -> Result<()> {
        let relays = self.relays()?;
        for mailbox in self.mailboxes()? {
            // One mailbox per connection: a relay cannot tie my mailboxes together.
            for relay in &relays {
                progress(SyncProgress::Fetching {
                    relay: relay.clone(),
                    mailbox: mailbox.key,
                });
                let report = reports.entry(relay.clone()).or_default();
                let started = Utc::now();
                let cursor = self
                    .vault
                    .with_conn(|conn| inbound::cursor(conn, &mailbox, relay))?;
                let since = cursor.map(|c| c - BACKDATE_WINDOW);
                let seen = |id: &str| {
                    self.vault
                        .with_conn(|conn| inbound::is_seen(conn, id))
                        .unwrap_or(false)
                };
                let fetched = match transport.fetch(relay, &mailbox, since, &seen) {
                    Ok(fetched) => fetched,
                    Err(e) => {
                        report.unreachable = Some(e);
                        continue;
                    }
                };
                for problem in fetched.problems {
                    *report.problems.entry(problem).or_default() += 1;
                }
                let of = fetched.arrivals.len();
                report.duplicates += fetched.seen.len();
                let mut forget = fetched.seen;
                for (done, arrival) in fetched.arrivals.into_iter().enumerate() {
                    if done % 100 == 0 {
                        progress(SyncProgress::Opening { done, of });
                    }
                    if arrival.ids.iter().all(|id| seen(id)) {
                        report.duplicates += 1;
                        continue;
                    }
                    match envelope::open(self.vault, self.kinds, &arrival.envelope) {
                        Ok(envelope) => {
                            report.received += 1;
                            opened.push(envelope);
                        }
                        Err(Error::Envelope(EnvelopeError::Replayed)) => report.duplicates += 1,
                        // Perhaps a comrade I have not added yet: left for a later
                        // sync. Not on a retired mailbox: new comrades have my new one.
                        Err(Error::Envelope(EnvelopeError::UnknownSender))
                            if mailbox.retired_at.is_none() =>
                        {
                            report.from_strangers += 1;
                            continue;
                        }
                        Err(Error::Envelope(why)) => {
                            *report.rejected.entry(why).or_default() += 1;
                        }
                        Err(other) => return Err(other),
                    }
                    self.vault
                        .with_tx(|tx| inbound::mark_seen(tx, &arrival.ids, Utc::now()))?;
                    forget.extend(arrival.ids);
                }
                self.vault
                    .with_tx(|tx| inbound::set_cursor(tx, &mailbox, relay, started))?;
                if !forget.is_empty() {
                    // Best effort: the events expire on their own.
                    let _ = transport.forget(relay, &mailbox, &forget);
                }
            }
        }
        self.vault.with_tx(|tx| inbound::prune_seen(tx, Utc::now()))
    }
}

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
/// hands it to comrades. A removed or blocked comrade gets a mailbox they
/// do not know; an unblocked one my current card, when I receive through
/// relays at all.
pub(crate) fn on_comrade_change(tx: &Connection, change: ComradeChange) -> Result<()> {
    match change {
        ComradeChange::Cut => rotate_mailbox_in(tx, Utc::now()),
        ComradeChange::Restored(id) => {
            if !relays::list(tx)?.is_empty() {
                envelope::seal_card_update_to(tx, &[id])?;
            }
            Ok(())
        }
    }
}

fn rotate_mailbox_in(tx: &Connection, now: DateTime<Utc>) -> Result<()> {
    mailbox::rotate(tx, now)?;
    card_changed(tx, now)
}
