//! A careful Nostr client: one short session per job, one mailbox per
//! session, bounded reads, and every relay answer checked.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use nostr::prelude::{
    ClientMessage, Event, EventBuilder, EventId, Filter, FinalizeEvent, Keys, Kind, RelayMessage,
    SecretKey, SingleLetterTag, SubscriptionId, Tag, Timestamp,
};

use super::event::{Assembler, MAX_EVENT_JSON, check, events_for};
use super::socket::{Said, Socket};
use crate::delivery::{
    Fetched, Mailbox, Parcel, ParcelId, RelayProblem, RelayUrl, Transport, TransportError,
};

/// How much one session may take from a relay.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// To connect, and for each read.
    pub timeout: Duration,
    /// For a whole session.
    pub session: Duration,
    /// Events one fetch reads; past that it stops and reports a flood.
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

/// Speaks Nostr to relays over WebSocket. Keeps the events it built for
/// each parcel, so every relay gets the same ones within a sync.
#[derive(Default)]
pub struct NostrTransport {
    limits: Limits,
    built: HashMap<ParcelId, Vec<Event>>,
}

impl NostrTransport {
    pub fn new(limits: Limits) -> NostrTransport {
        NostrTransport {
            limits,
            built: HashMap::new(),
        }
    }

    fn open(&self, relay: &RelayUrl) -> Result<Socket, TransportError> {
        Socket::open(
            relay,
            self.limits.timeout,
            Instant::now() + self.limits.session,
        )
    }
}

impl Transport for NostrTransport {
    fn publish(
        &mut self,
        relay: &RelayUrl,
        parcels: &[&Parcel],
    ) -> Result<Vec<Result<(), String>>, TransportError> {
        let now = Utc::now();
        let mut owner: HashMap<EventId, usize> = HashMap::new();
        let mut messages = Vec::new();
        for (i, parcel) in parcels.iter().enumerate() {
            let events = self
                .built
                .entry(parcel.id)
                .or_insert_with(|| events_for(parcel, now));
            for event in events.iter() {
                owner.insert(event.id, i);
                messages.push(ClientMessage::event(event.clone()).as_json());
            }
        }
        let mut results: Vec<Option<Result<(), String>>> = vec![None; parcels.len()];
        let mut waiting: HashMap<usize, usize> = HashMap::new();
        for i in owner.values() {
            *waiting.entry(*i).or_default() += 1;
        }
        let mut socket = self.open(relay)?;
        socket.send_all(messages)?;
        let mut answered = 0;
        while answered < owner.len() {
            let text = match socket.next() {
                Ok(Said::Text(text)) => text,
                Ok(Said::Unusable) => continue,
                Err(e) => {
                    socket.close();
                    let reason = e.to_string();
                    // Parcels without every answer are tried again later.
                    return Ok(results
                        .into_iter()
                        .map(|r| r.unwrap_or_else(|| Err(reason.clone())))
                        .collect());
                }
            };
            let Ok(RelayMessage::Ok {
                event_id,
                status,
                message,
            }) = RelayMessage::from_json(&text)
            else {
                continue; // notices, and anything else, change nothing
            };
            let Some(&i) = owner.get(&event_id) else {
                continue;
            };
            answered += 1;
            if !status {
                results[i] = Some(Err(message.into_owned()));
            }
            let left = waiting.entry(i).or_default();
            *left = left.saturating_sub(1);
            if *left == 0 && results[i].is_none() {
                results[i] = Some(Ok(()));
            }
        }
        socket.close();
        Ok(results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect())
    }

    /// Pages back in time with `until`, [`PAGE`] events a REQ, until a page
    /// brings nothing new: relays cap what one REQ returns (strfry: 500).
    fn fetch(
        &mut self,
        relay: &RelayUrl,
        mailbox: &Mailbox,
        since: Option<DateTime<Utc>>,
        seen: &dyn Fn(&str) -> bool,
    ) -> Result<Fetched, TransportError> {
        let mut base = Filter::new()
            .kind(Kind::GiftWrap)
            .custom_tag(SingleLetterTag::LOWERCASE_P, mailbox.key.to_hex())
            .limit(PAGE);
        if let Some(since) = since {
            base = base.since(Timestamp::from_secs(since.timestamp().max(0) as u64));
        }
        let mut socket = self.open(relay)?;
        let mut read = Reading {
            mailbox,
            seen,
            limits: self.limits,
            fetched: Fetched::default(),
            assembler: Assembler::default(),
            ids: HashSet::new(),
            junk: 0,
        };
        let mut until = None;
        loop {
            let filter = match until {
                Some(t) => base.clone().until(t),
                None => base.clone(),
            };
            let page = read.page(&mut socket, filter);
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    socket.close();
                    return Err(e);
                }
            };
            match page {
                Page::More { oldest } if Some(oldest) != until => until = Some(oldest),
                _ => break,
            }
        }
        socket.close();
        Ok(read.fetched)
    }

    /// NIP-09 deletion requests, signed by the mailbox key. Relays honour
    /// them only where they let a `p`-tagged recipient delete; elsewhere the
    /// events expire (`docs/delivery.md`).
    fn forget(
        &mut self,
        relay: &RelayUrl,
        mailbox: &Mailbox,
        ids: &[String],
    ) -> Result<(), TransportError> {
        let secret = SecretKey::from_slice(mailbox.secret())
            .map_err(|_| TransportError::Unreachable("a damaged mailbox key".into()))?;
        let keys = Keys::new(secret);
        let requests: Vec<String> = ids
            .chunks(200)
            .filter_map(|chunk| {
                let tags = chunk
                    .iter()
                    .filter_map(|id| EventId::from_hex(id).ok())
                    .map(Tag::event)
                    .chain(Tag::parse(["k", "1059"]));
                EventBuilder::new(Kind::EventDeletion, "")
                    .tags(tags)
                    .finalize(&keys)
                    .ok()
                    .map(|e| ClientMessage::event(e).as_json())
            })
            .collect();
        let expected = requests.len();
        let mut socket = self.open(relay)?;
        socket.send_all(requests)?;
        let mut answered = 0;
        while answered < expected {
            match socket.next() {
                Ok(Said::Text(text)) => {
                    if matches!(RelayMessage::from_json(&text), Ok(RelayMessage::Ok { .. })) {
                        answered += 1;
                    }
                }
                Ok(Said::Unusable) => {}
                Err(_) => break,
            }
        }
        socket.close();
        Ok(())
    }
}

/// Events a REQ asks for at once.
const PAGE: usize = 500;

/// One fetch's reading state, across its pages.
struct Reading<'a> {
    mailbox: &'a Mailbox,
    seen: &'a dyn Fn(&str) -> bool,
    limits: Limits,
    fetched: Fetched,
    assembler: Assembler,
    /// Every event id read in this fetch: pages overlap at their edges.
    ids: HashSet<EventId>,
    junk: usize,
}

enum Page {
    /// New events came, the oldest dated this: ask again up to there.
    More {
        oldest: Timestamp,
    },
    Done,
}

impl Reading<'_> {
    fn page(&mut self, socket: &mut Socket, filter: Filter) -> Result<Page, TransportError> {
        let subscription = SubscriptionId::generate();
        socket.send(ClientMessage::req(subscription.clone(), vec![filter]).as_json())?;
        let mut oldest: Option<Timestamp> = None;
        loop {
            if self.ids.len() >= self.limits.events_per_fetch
                || self.junk >= self.limits.junk_per_fetch
            {
                self.fetched.problems.push(RelayProblem::Flood);
                return Ok(Page::Done);
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
                Ok(RelayMessage::Closed { message, .. }) => {
                    return Err(TransportError::Closed(message.into_owned()));
                }
                Ok(RelayMessage::Notice(_)) => continue,
                Ok(_) | Err(_) => {
                    self.problem(RelayProblem::Garbage);
                    continue;
                }
            };
            if self.ids.contains(&event.id) {
                continue;
            }
            oldest = Some(oldest.map_or(event.created_at, |o| o.min(event.created_at)));
            self.take(event);
        }
        let _ = socket.send(ClientMessage::close(subscription).as_json());
        Ok(oldest.map_or(Page::Done, |oldest| Page::More { oldest }))
    }

    /// Checks before remembering the id: a forged copy must not hide the real one.
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
        match self.assembler.add(id, &event.content) {
            Ok(Some(arrival)) => self.fetched.arrivals.push(arrival),
            Ok(None) => {}
            Err(problem) => self.problem(problem),
        }
    }

    fn problem(&mut self, problem: RelayProblem) {
        self.junk += 1;
        self.fetched.problems.push(problem);
    }
}
