//! A careful Nostr client: one short session per job, one mailbox per
//! session, bounded reads, and every relay answer checked.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use nostr::prelude::{
    ClientAuthentication, ClientMessage, Event, EventId, Filter, FinalizeEvent, Keys, Kind,
    RelayMessage, SecretKey, SingleLetterTag, SubscriptionId, Timestamp,
};
use sha2::Digest;

use super::event::{Assembler, MAX_EVENT_JSON, Unfit, check, events_for};
use super::socket::{self, Said, Socket};
use crate::delivery::{
    Fetched, Mailbox, MailboxKey, Parcel, ParcelId, ProxyUrl, RelayProblem, RelayUrl, Transport,
    TransportError,
};

/// How much one session may take from a relay.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// To connect, and for each read.
    pub timeout: Duration,
    /// For a whole session.
    pub session: Duration,
    /// Events not seen before that one fetch reads; past that it stops and
    /// reports a flood, and the sync fetches again.
    pub events_per_fetch: usize,
    /// Messages that are not usable events, before the session is ended.
    pub junk_per_fetch: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            timeout: Duration::from_secs(10),
            session: Duration::from_secs(60),
            events_per_fetch: 20_000,
            junk_per_fetch: 1_000,
        }
    }
}

/// A parcel's events are built for: its id, the mailbox, and the digest of
/// its envelope, which changes when it is sealed again.
type Built = (ParcelId, MailboxKey, [u8; 32]);

/// Speaks Nostr to relays over WebSocket. Keeps the events it built for
/// each parcel, so every relay gets the same ones within a sync, unless
/// the parcel is sent again to another mailbox or sealed again.
#[derive(Default)]
pub struct NostrTransport {
    limits: Limits,
    built: HashMap<Built, (u8, Vec<Event>)>,
    /// Every `created_at` and `expiration` given out, so no two events share one.
    dates: HashSet<u64>,
    proxy: Option<ProxyUrl>,
    /// Proof of work each relay asked for.
    pow: HashMap<RelayUrl, u8>,
}

impl NostrTransport {
    pub fn new(limits: Limits) -> NostrTransport {
        NostrTransport {
            limits,
            built: HashMap::new(),
            dates: HashSet::new(),
            proxy: None,
            pow: HashMap::new(),
        }
    }

    /// Every connection through this SOCKS5 proxy, each as a SOCKS user of
    /// its own (a circuit of its own, with Tor).
    pub fn through(mut self, proxy: Option<ProxyUrl>) -> NostrTransport {
        self.proxy = proxy;
        self
    }

    fn open(&self, relay: &RelayUrl) -> Result<Socket, TransportError> {
        Socket::open(
            relay,
            self.limits.timeout,
            Instant::now() + self.limits.session,
            self.proxy.as_ref(),
        )
    }

    /// The proof of work a relay wants, from its NIP-11 document, read once
    /// a sync before the first publish to it (on a connection of its own,
    /// which carries no mailbox). A relay without one, or one that cannot be
    /// read, wants none until it says `pow: …`.
    fn ask_pow(&mut self, relay: &RelayUrl) {
        if self.pow.contains_key(relay) {
            return;
        }
        let document = socket::relay_document(
            relay,
            self.limits.timeout,
            Instant::now() + self.limits.timeout,
            self.proxy.as_ref(),
        );
        let bits = document.ok().and_then(|d| min_pow(&d)).unwrap_or(0);
        self.pow.insert(relay.clone(), bits);
    }
}

/// `limitation.min_pow_difficulty` of a NIP-11 document.
pub(crate) fn min_pow(document: &[u8]) -> Option<u8> {
    let document: serde_json::Value = serde_json::from_slice(document).ok()?;
    let bits = document
        .get("limitation")?
        .get("min_pow_difficulty")?
        .as_u64()?;
    Some(u8::try_from(bits).unwrap_or(u8::MAX))
}

impl NostrTransport {
    /// The parcel's events, with at least `difficulty` bits of proof of
    /// work: built once, and again only when a relay asks for more.
    fn events(&mut self, parcel: &Parcel, difficulty: u8) -> &[Event] {
        let dates = &mut self.dates;
        let built = self
            .built
            .entry((
                parcel.id,
                parcel.mailbox,
                sha2::Sha256::digest(&parcel.envelope).into(),
            ))
            .or_insert_with(|| (0, Vec::new()));
        if built.1.is_empty() || built.0 < difficulty {
            *built = (
                difficulty,
                events_for(parcel, Utc::now(), difficulty, dates),
            );
        }
        &built.1
    }
}

/// Proof of work a relay may ask for (NIP-13). Each bit doubles the work:
/// 24 bits is a few seconds on a phone; a relay asking more is refused.
const MAX_POW: u8 = 24;

impl Transport for NostrTransport {
    /// One connection. A relay that refuses for want of proof of work
    /// (`pow: …`) or of authentication (`auth-required: …`, NIP-42, with a
    /// key made for this alone) is answered and sent the parcel again.
    fn publish(
        &mut self,
        relay: &RelayUrl,
        parcel: &Parcel,
    ) -> Result<Result<(), String>, TransportError> {
        self.ask_pow(relay);
        if let Some(bits) = self.pow.get(relay).filter(|b| **b > MAX_POW) {
            return Ok(Err(format!(
                "the relay asks for {bits} bits of proof of work; Tend does at most {MAX_POW}"
            )));
        }
        let mut socket = self.open(relay)?;
        let mut challenge = None;
        let mut authed = false;
        for _ in 0..3 {
            let difficulty = self.pow.get(relay).copied().unwrap_or(0);
            let events = self.events(parcel, difficulty);
            let refusal = match send_events(&mut socket, events, &mut challenge) {
                Ok(None) => break,
                Ok(Some(refusal)) => refusal,
                Err(e) => {
                    socket.close();
                    return Ok(Err(e.to_string())); // tried again later
                }
            };
            match asked_pow(&refusal) {
                Some(bits) if bits > difficulty && bits <= MAX_POW => {
                    self.pow.insert(relay.clone(), bits);
                    continue;
                }
                _ => {}
            }
            if refusal.starts_with("auth-required:")
                && !authed
                && let Some(c) = challenge.take()
            {
                authenticate(&mut socket, relay, &Keys::generate(), &c)?;
                authed = true;
                continue;
            }
            socket.close();
            return Ok(Err(refusal));
        }
        socket.close();
        Ok(Ok(()))
    }

    /// Pages back in time with `until`, [`PAGE`] events a REQ, until a
    /// page comes back empty: relays cap what one REQ returns (strfry: 500).
    /// `until` falls with every page, so none is asked for twice, and a
    /// flood sharing one `created_at` is stepped past, not read again.
    fn fetch(
        &mut self,
        relay: &RelayUrl,
        mailbox: &Mailbox,
        since: Option<DateTime<Utc>>,
        seen: &dyn Fn(&str) -> bool,
    ) -> Result<Fetched, TransportError> {
        let since = since.map(|s| Timestamp::from_secs(s.timestamp().max(0) as u64));
        let mut base = Filter::new()
            .kind(Kind::GiftWrap)
            .custom_tag(SingleLetterTag::LOWERCASE_P, mailbox.key.to_hex())
            .limit(PAGE);
        if let Some(since) = since {
            base = base.since(since);
        }
        let mut socket = self.open(relay)?;
        let mut read = Reading {
            relay,
            mailbox,
            challenge: None,
            authed: false,
            seen,
            limits: self.limits,
            fetched: Fetched::default(),
            assembler: Assembler::default(),
            ids: HashSet::new(),
            junk: 0,
            bytes: 0,
            read: 0,
        };
        let mut until: Option<Timestamp> = None;
        loop {
            let filter = match until {
                Some(t) => base.clone().until(t),
                None => base.clone(),
            };
            let page = match read.page(&mut socket, filter, since, until) {
                Ok(page) => page,
                Err(e) => {
                    socket.close();
                    return Err(e);
                }
            };
            let Page::Read { oldest, newest } = page else {
                read.fetched.complete = page == Page::Empty;
                break;
            };
            // Siblings of the oldest may lie past the relay's cap: ask down
            // to it again, unless the whole page was that one second.
            let mut next = if newest > oldest {
                oldest.as_secs()
            } else {
                oldest.as_secs().saturating_sub(1)
            };
            if let Some(u) = until {
                next = next.min(u.as_secs().saturating_sub(1));
            }
            if next == 0 || since.is_some_and(|s| next < s.as_secs()) {
                read.fetched.complete = true;
                break;
            }
            until = Some(Timestamp::from_secs(next));
        }
        socket.close();
        Ok(read.fetched)
    }
}

/// Sends events and waits for each one's answer: the first refusal, if
/// any. An AUTH challenge on the way is kept in `challenge`.
fn send_events(
    socket: &mut Socket,
    events: &[Event],
    challenge: &mut Option<String>,
) -> Result<Option<String>, TransportError> {
    socket.send_all(
        events
            .iter()
            .map(|e| ClientMessage::event(e.clone()).as_json()),
    )?;
    let mut waiting: HashSet<EventId> = events.iter().map(|e| e.id).collect();
    let mut refusal = None;
    while !waiting.is_empty() {
        let Said::Text(text) = socket.next()? else {
            continue;
        };
        match RelayMessage::from_json(&text) {
            Ok(RelayMessage::Ok {
                event_id,
                status,
                message,
            }) if waiting.remove(&event_id) && !status && refusal.is_none() => {
                refusal = Some(message.into_owned());
            }
            Ok(RelayMessage::Auth { challenge: c }) => *challenge = Some(c.into_owned()),
            _ => {} // notices, and anything else, change nothing
        }
    }
    Ok(refusal)
}

/// Answers a NIP-42 challenge as `keys`, and waits for the relay's OK.
fn authenticate(
    socket: &mut Socket,
    relay: &RelayUrl,
    keys: &Keys,
    challenge: &str,
) -> Result<(), TransportError> {
    let url = ::nostr::prelude::RelayUrl::parse(relay.as_str())
        .map_err(|e| TransportError::Unreachable(e.to_string()))?;
    let event = ClientAuthentication::new(challenge, url)
        .finalize(keys)
        .map_err(|e| TransportError::Unreachable(e.to_string()))?;
    socket.send(ClientMessage::auth(event.clone()).as_json())?;
    loop {
        let Said::Text(text) = socket.next()? else {
            continue;
        };
        if let Ok(RelayMessage::Ok {
            event_id,
            status,
            message,
        }) = RelayMessage::from_json(&text)
            && event_id == event.id
        {
            return match status {
                true => Ok(()),
                false => Err(TransportError::Closed(message.into_owned())),
            };
        }
    }
}

/// The difficulty in a `pow: …` refusal ("pow: difficulty 20 required").
fn asked_pow(refusal: &str) -> Option<u8> {
    let rest = refusal.strip_prefix("pow:")?;
    rest.split(|c: char| !c.is_ascii_digit())
        .find(|n| !n.is_empty())?
        .parse()
        .ok()
}

/// Events one fetch passes over as seen before it stops: they cost a parse
/// and a lookup each, not a signature check.
const SEEN_PER_FETCH: usize = 200_000;

/// Events a REQ asks for at once.
const PAGE: usize = 500;

/// One fetch's reading state, across its pages.
struct Reading<'a> {
    relay: &'a RelayUrl,
    mailbox: &'a Mailbox,
    /// The relay's NIP-42 challenge, and whether it was answered.
    challenge: Option<String>,
    authed: bool,
    seen: &'a dyn Fn(&str) -> bool,
    limits: Limits,
    fetched: Fetched,
    assembler: Assembler,
    /// Every event id read in this fetch: pages overlap at their edges.
    ids: HashSet<EventId>,
    junk: usize,
    /// Envelope bytes held in `fetched`.
    bytes: usize,
    /// Events read that were not seen before.
    read: usize,
}

#[derive(PartialEq, Eq)]
enum Page {
    /// Events came, dated from `oldest` to `newest`.
    Read {
        oldest: Timestamp,
        newest: Timestamp,
    },
    /// Nothing more is dated in the span asked for.
    Empty,
    /// A limit was reached: the rest waits for another fetch.
    Stopped,
}

/// Envelope bytes one fetch holds before it stops, to be opened and
/// fetched again: a mailbox full of large envelopes cannot fill memory.
const MAX_FETCH_BYTES: usize = 16 << 20;

impl Reading<'_> {
    /// One REQ. Events dated outside `since..=until` are read as any other,
    /// but a page of nothing else ends the fetch: that relay ignores the
    /// filter, and paging it would never end.
    fn page(
        &mut self,
        socket: &mut Socket,
        filter: Filter,
        since: Option<Timestamp>,
        until: Option<Timestamp>,
    ) -> Result<Page, TransportError> {
        let subscription = SubscriptionId::generate();
        socket.send(ClientMessage::req(subscription.clone(), vec![filter.clone()]).as_json())?;
        let mut dates: Option<(Timestamp, Timestamp)> = None;
        let mut outside = false;
        loop {
            if self.read >= self.limits.events_per_fetch
                || self.ids.len() >= SEEN_PER_FETCH
                || self.junk >= self.limits.junk_per_fetch
            {
                self.fetched.problems.push(RelayProblem::Flood);
                return Ok(Page::Stopped);
            }
            if self.bytes >= MAX_FETCH_BYTES {
                return Ok(Page::Stopped);
            }
            let text = match socket.next()? {
                Said::Text(text) => text,
                Said::Unusable => {
                    self.problem(RelayProblem::Garbage);
                    continue;
                }
            };
            if text.len() > MAX_EVENT_JSON {
                self.problem(RelayProblem::Oversized);
                continue;
            }
            let event = match RelayMessage::from_json(&text) {
                Ok(RelayMessage::Event {
                    subscription_id,
                    event,
                }) if *subscription_id == subscription => event.into_owned(),
                Ok(RelayMessage::EndOfStoredEvents(id)) if *id == subscription => break,
                // NIP-42: a relay that lets only the mailbox's owner read.
                Ok(RelayMessage::Closed { message, .. })
                    if message.starts_with("auth-required:") && !self.authed =>
                {
                    let challenge = self
                        .challenge
                        .take()
                        .ok_or_else(|| TransportError::Closed(message.into_owned()))?;
                    let secret = SecretKey::from_slice(self.mailbox.secret())
                        .map_err(|_| TransportError::Unreachable("a damaged mailbox key".into()))?;
                    authenticate(socket, self.relay, &Keys::new(secret), &challenge)?;
                    self.authed = true;
                    socket.send(
                        ClientMessage::req(subscription.clone(), vec![filter.clone()]).as_json(),
                    )?;
                    continue;
                }
                Ok(RelayMessage::Closed { message, .. }) => {
                    return Err(TransportError::Closed(message.into_owned()));
                }
                Ok(RelayMessage::Auth { challenge }) => {
                    self.challenge = Some(challenge.into_owned());
                    continue;
                }
                Ok(RelayMessage::Notice(_)) => continue,
                Ok(_) | Err(_) => {
                    self.problem(RelayProblem::Garbage);
                    continue;
                }
            };
            let at = event.created_at;
            if since.is_some_and(|s| at < s) || until.is_some_and(|u| at > u) {
                outside = true;
            } else {
                dates = Some(dates.map_or((at, at), |(old, new)| (old.min(at), new.max(at))));
            }
            if !self.ids.contains(&event.id) {
                self.take(event);
            }
        }
        let _ = socket.send(ClientMessage::close(subscription).as_json());
        Ok(match dates {
            Some((oldest, newest)) => Page::Read { oldest, newest },
            None if outside => Page::Stopped,
            None => Page::Empty,
        })
    }

    /// Checks before remembering the id: a forged copy must not hide the
    /// real one. A sound event whose content is unusable is remembered as
    /// such, so a flood of them is read once.
    fn take(&mut self, event: Event) {
        let id = event.id.to_hex();
        if (self.seen)(&id) {
            self.ids.insert(event.id);
            self.fetched.seen.push(id);
            return;
        }
        if let Err(problem) = check(&event, &self.mailbox.key) {
            return self.problem(problem);
        }
        self.ids.insert(event.id);
        self.read += 1;
        match self
            .assembler
            .add(id.clone(), event.pubkey.to_bytes(), &event.content)
        {
            Ok(Some(arrival)) => {
                self.bytes += arrival.envelope.len();
                self.fetched.arrivals.push(arrival);
            }
            Ok(None) => {}
            Err(Unfit::Malformed) => {
                self.fetched.problems.push(RelayProblem::BadChunk);
                self.fetched.unusable.push(id);
            }
            // Sound events: counted, but they do not end the session, so a
            // chunk bomb cannot keep what lies past it from being read.
            Err(unfit) => self.fetched.problems.push(unfit.problem()),
        }
    }

    /// An answer that is not a sound event: enough of them end the session.
    fn problem(&mut self, problem: RelayProblem) {
        self.junk += 1;
        self.fetched.problems.push(problem);
    }
}
