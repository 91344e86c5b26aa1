//! The attacker is the relay: it records every connection, frame and event,
//! and these tests read only that log. Each claim in `docs/delivery.md`
//! under "What a relay can and cannot learn" names the test here that
//! backs it.

mod common;
mod relays;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use nostr::prelude::Event;
use relays::journeys::{comrade, members_on, ride, sync};
use relays::{FakeRelay, Said};
use tend_core::Vault;
use tend_core::delivery::nostr::{Limits, NostrTransport};
use tend_core::delivery::{SyncOptions, SyncReport};
use tend_core::envelope::Outgoing;

const DAY: u64 = 86_400;

fn spread_sync(vault: &Vault, budget: Duration) -> SyncReport {
    vault
        .delivery()
        .sync(
            &mut NostrTransport::new(Limits::default()),
            SyncOptions {
                retry_now: true,
                delay_budget: budget,
            },
            &mut |_| {},
        )
        .unwrap()
}

fn expiration(e: &Event) -> u64 {
    e.tags.expiration().unwrap().as_secs()
}

/// Three members share a circle message, a care request with two offers;
/// Bob rotates his encryption key, then Alice blocks Carol. Returns the
/// events each sync published.
fn three_members(relay: &FakeRelay, dir: &std::path::Path) -> (Vec<Vault>, Vec<Vec<Event>>) {
    let v = members_on(dir, &["Alice", "Bob", "Carol"], &[&relay.url]);
    let mut batches = Vec::new();
    let mut synced = |vault: &Vault| {
        let before = relay.published().len();
        let report = sync(vault);
        batches.push(relay.published()[before..].to_vec());
        report
    };
    let (alice, bob, carol) = (&v[0], &v[1], &v[2]);
    alice
        .envelopes()
        .seal(&Outgoing {
            kind: "test.note",
            body: b"the circle meets on Sunday",
            to: &[comrade(alice, "Bob"), comrade(alice, "Carol")],
            expires_at: None,
        })
        .unwrap();
    let request = alice
        .care()
        .post(&ride(vec![comrade(alice, "Bob"), comrade(alice, "Carol")]))
        .unwrap();
    synced(alice);
    synced(bob);
    synced(carol);
    bob.care()
        .offer_help(request.request.id, "I can drive", None)
        .unwrap();
    carol
        .care()
        .offer_help(request.request.id, "Me too", None)
        .unwrap();
    synced(bob);
    synced(carol);
    assert_eq!(synced(alice).opened.len(), 2);
    bob.comrades().rotate_encryption_key().unwrap();
    bob.envelopes().seal_card_update().unwrap();
    synced(bob);
    assert_eq!(synced(alice).opened.len(), 1, "Bob's new card");
    synced(carol);
    alice
        .comrades()
        .block(alice.comrades().find("Carol").unwrap().id)
        .unwrap();
    synced(alice);
    synced(bob);
    (v, batches)
}

#[test]
fn copies_share_no_field_and_each_connection_carries_one_thing() {
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    let (_, batches) = three_members(&relay, dir.path());
    let seen = relay.seen.lock().unwrap();
    let events: Vec<&Event> = batches.iter().flatten().collect();
    assert!(events.len() >= 7, "{} events", events.len());

    // Unique by construction: ids, authors, contents, on every event.
    for field in [
        events.iter().map(|e| e.id.to_hex()).collect::<HashSet<_>>(),
        events.iter().map(|e| e.pubkey.to_hex()).collect(),
        events.iter().map(|e| e.content.clone()).collect(),
    ] {
        assert_eq!(field.len(), events.len());
    }
    // Dates are drawn afresh, and within a sync never repeat.
    for batch in &batches {
        let created: HashSet<u64> = batch.iter().map(|e| e.created_at.as_secs()).collect();
        let expires: HashSet<u64> = batch.iter().map(expiration).collect();
        assert_eq!(created.len(), batch.len());
        assert_eq!(expires.len(), batch.len());
    }

    // One recipient per publishing connection, and it never fetches.
    let publishers = seen.published_by_connection();
    for (connection, p) in &publishers {
        let recipients: HashSet<_> = p.iter().collect();
        assert_eq!(recipients.len(), 1, "connection {connection}: {p:?}");
    }
    for f in &seen.frames {
        if let Said::Req(p) = &f.said {
            assert!(
                !publishers.contains_key(&f.connection),
                "fetched where it published"
            );
            assert_eq!(p.len(), 1, "one mailbox per request");
        }
    }
    // Each connection asks for one mailbox only.
    for asked in &seen.requests {
        assert_eq!(asked.len(), 1, "{asked:?}");
    }
    // No deletion requests: the events expire.
    assert_eq!(seen.deletions, 0);
    assert!(
        seen.frames
            .iter()
            .all(|f| !matches!(&f.said, Said::Event(e) if e.kind.as_u16() != 1059))
    );
}

#[test]
fn dates_say_nothing_of_when_or_in_what_order_events_were_published() {
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    let v = members_on(dir.path(), &["Alice", "Bob"], &[&relay.url]);
    // Only what follows: not the cards they sent each other when they met.
    relay.seen.lock().unwrap().frames.clear();
    for i in 0..100 {
        let body = format!("note {i}");
        v[0].envelopes()
            .seal(&Outgoing {
                kind: "test.note",
                body: body.as_bytes(),
                to: &[comrade(&v[0], "Bob")],
                expires_at: None,
            })
            .unwrap();
    }
    assert_eq!(sync(&v[0]).relays[0].sent, 100);
    // In the order the relay received them.
    let seen = relay.seen.lock().unwrap();
    let events: Vec<&Event> = seen
        .frames
        .iter()
        .filter_map(|f| match &f.said {
            Said::Event(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(events.len(), 100);
    let now = chrono::Utc::now().timestamp() as u64;
    let lifetimes: Vec<f64> = events
        .iter()
        .map(|e| (expiration(e) - e.created_at.as_secs()) as f64)
        .collect();
    for (e, life) in events.iter().zip(&lifetimes) {
        assert!(
            (14.0 * DAY as f64..16.0 * DAY as f64).contains(life),
            "{life}"
        );
        assert!(expiration(e) <= now + 16 * DAY, "never kept past 16 days");
        assert!(e.created_at.as_secs() <= now && e.created_at.as_secs() >= now - 2 * DAY);
    }
    let order: Vec<f64> = (0..100).map(f64::from).collect();
    let created: Vec<f64> = events
        .iter()
        .map(|e| e.created_at.as_secs() as f64)
        .collect();
    for (what, values) in [("lifetime", &lifetimes), ("created_at", &created)] {
        let r = correlation(&order, values);
        assert!(r.abs() < 0.4, "{what} follows the publish order: r = {r}");
        let distinct: HashSet<u64> = values.iter().map(|v| *v as u64).collect();
        assert!(distinct.len() > 95, "{what} repeats");
    }
}

/// The length of an event's age payload: everything after its header,
/// which ends with the line that begins `---`.
fn sealed_size(e: &Event) -> usize {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&e.content)
        .unwrap();
    let mac_line = bytes.windows(4).position(|w| w == b"\n---").unwrap() + 1;
    let end = mac_line + bytes[mac_line..].iter().position(|b| *b == b'\n').unwrap() + 1;
    bytes.len() - end
}

fn correlation(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let cov: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let vx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let vy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    cov / (vx * vy).sqrt()
}

#[test]
fn nothing_tells_a_relay_who_was_cut_off() {
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    let (v, batches) = three_members(&relay, dir.path());
    let this_week = |v: &Vault| v.delivery().mailboxes().unwrap()[0].key.to_hex();
    let (bob, carol) = (this_week(&v[1]), this_week(&v[2]));
    // Alice's sync after she blocked Carol (her card to Bob, a decoy to
    // Carol) looks like any message to both: a copy to each, one size.
    // (age adds a stanza of random length to each header; what follows the
    // header is the padded envelope, the size a relay can compare.)
    let shape = |batch: &[Event]| {
        let mut to: Vec<String> = batch
            .iter()
            .map(|e| e.tags.public_keys().next().unwrap().to_hex())
            .collect();
        to.sort();
        let sizes: HashSet<usize> = batch.iter().map(sealed_size).collect();
        (to, sizes.len())
    };
    let mut expected = vec![bob, carol];
    expected.sort();
    let after_block = &batches[batches.len() - 2];
    assert_eq!(shape(after_block), (expected, 1));
    // No member ever fetched a mailbox besides this week's: a block brings
    // no new one before the week it serves from.
    let seen = relay.seen.lock().unwrap();
    let asked: HashSet<&String> = seen.requests.iter().flatten().collect();
    assert_eq!(asked.len(), 3, "{asked:?}");
}

#[test]
fn my_mailboxes_are_never_fetched_in_one_burst() {
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    // Two pairs read at once: a vault from before weekly mailboxes reads
    // its old one through its grace (at a week's start, two weeks' are read).
    let v = members_on(dir.path(), &["Alice", "Bob"], &[&relay.url]);
    tend_core::testing::make_mailbox_static(&v[0]).unwrap();
    v[0].lock();
    let alice = &Vault::open_with_key(dir.path().join("Alice"), &common::key(7)).unwrap();
    let mine: Vec<String> = alice
        .delivery()
        .mailboxes()
        .unwrap()
        .iter()
        .map(|m| m.key.to_hex())
        .collect();
    assert_eq!(mine.len(), 2, "the weekly mailbox and the one it replaced");
    let from = relay.seen.lock().unwrap().frames.len();
    spread_sync(alice, Duration::from_secs(2));
    let seen = relay.seen.lock().unwrap();
    let mut asked: BTreeMap<&str, Vec<std::time::Instant>> = BTreeMap::new();
    for f in &seen.frames[from..] {
        if let Said::Req(p) = &f.said {
            asked.entry(p[0].as_str()).or_default().push(f.at);
        }
    }
    assert_eq!(asked.len(), 2, "both mailboxes fetched");
    let (a, b) = (&asked[mine[0].as_str()], &asked[mine[1].as_str()]);
    for x in a {
        for y in b {
            // Fetches take the first half: slices of 0.5 s each, fetched
            // in their middle half, so at least 0.25 s apart.
            let gap = if x > y { *x - *y } else { *y - *x };
            assert!(gap >= Duration::from_millis(240), "{gap:?} apart");
        }
    }
}

#[test]
fn a_proxy_carries_every_connection_each_as_a_user_of_its_own() {
    let relay = FakeRelay::honest();
    let proxy = relays::SocksProxy::start();
    let dir = tempfile::tempdir().unwrap();
    let v = members_on(dir.path(), &["Alice", "Bob"], &[&relay.url]);
    let socks = tend_core::delivery::ProxyUrl::parse(&proxy.url).unwrap();
    // Those that carried the cards they sent each other when they met went
    // before the proxy was set.
    let direct = relay.seen.lock().unwrap().connections;
    for member in &v {
        member.delivery().set_proxy(Some(&socks)).unwrap();
        assert_eq!(member.delivery().proxy().unwrap(), Some(socks.clone()));
    }
    let (alice, bob) = (&v[0], &v[1]);
    alice
        .care()
        .post(&ride(vec![comrade(alice, "Bob")]))
        .unwrap();
    assert_eq!(sync(alice).relays[0].sent, 1);
    assert_eq!(sync(bob).opened.len(), 1);
    let log = proxy.log.lock().unwrap().clone();
    let connections = relay.seen.lock().unwrap().connections - direct;
    assert_eq!(
        log.len(),
        connections,
        "every relay connection went through the proxy"
    );
    assert!(connections >= 3, "{connections}");
    let users: HashSet<&String> = log.iter().map(|(user, _)| user).collect();
    assert_eq!(users.len(), log.len(), "a SOCKS user name per connection");
    let target = relay.url.as_str().trim_start_matches("ws://");
    assert!(log.iter().all(|(_, t)| t == target), "{log:?}");

    // Switched off, connections go straight to the relay again.
    alice.delivery().set_proxy(None).unwrap();
    sync(alice);
    assert_eq!(proxy.log.lock().unwrap().len(), log.len());
    assert!(relay.seen.lock().unwrap().connections > direct + connections);
}

#[test]
fn neither_a_base_mailbox_nor_its_seed_ever_crosses_the_wire() {
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    let (v, _) = three_members(&relay, dir.path());
    let seen = relay.seen.lock().unwrap();
    let wire: String = seen
        .frames
        .iter()
        .map(|f| format!("{:?}", f.said))
        .collect();
    for member in &v {
        let address = member.delivery().my_address().unwrap();
        assert!(
            !wire.contains(&address.mailbox.to_hex()),
            "a base key on the wire"
        );
        let seed = hex::encode(address.seed.unwrap().as_bytes());
        assert!(!wire.contains(&seed), "a seed on the wire");
        // This week's is what comrades address, and what the owner asks for.
        let this_week = address.mailbox_at(chrono::Utc::now()).to_hex();
        assert!(wire.contains(&this_week));
    }
}

/// Each recorded event's age file, when it carries a whole envelope.
fn age_file(e: &Event) -> Option<Vec<u8>> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&e.content)
        .ok()?;
    // A whole envelope is one piece: a marker byte, then the age file.
    let file = bytes.get(1..)?;
    file.starts_with(b"age-encryption.org/v1\n")
        .then(|| file.to_vec())
}

/// The relay records every event; years later its keeper's quantum computer
/// yields every X25519 secret of every epoch, from the public keys on the
/// members' cards. Once the two hold each other's cards, nothing recorded
/// opens with them: each copy is sealed to an X-Wing key. Only the cards
/// they sent each other on meeting (X25519 alone, since neither yet held
/// the other's post-quantum key) open, and they carry no more than a card.
#[test]
fn a_relay_that_records_everything_and_later_breaks_x25519_reads_nothing_but_the_first_cards() {
    use tend_core::testing::{x25519_alone_decrypts, x25519_secrets};
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    let v = members_on(dir.path(), &["Alice", "Bob"], &[&relay.url]);
    let (alice, bob) = (&v[0], &v[1]);
    let met = relay.events().len();
    let mut broken: Vec<[u8; 32]> = Vec::new();
    broken.extend(x25519_secrets(alice).unwrap());
    broken.extend(x25519_secrets(bob).unwrap());
    let request = alice
        .care()
        .post(&ride(vec![comrade(alice, "Bob")]))
        .unwrap();
    sync(alice);
    sync(bob);
    bob.care()
        .offer_help(request.request.id, "I can drive", None)
        .unwrap();
    sync(bob);
    sync(alice);
    // A new epoch on each side, announced and used.
    for member in [alice, bob] {
        member.comrades().rotate_encryption_key().unwrap();
        member.envelopes().seal_card_update().unwrap();
        broken.extend(x25519_secrets(member).unwrap());
    }
    sync(alice);
    sync(bob);
    sync(alice);
    let note = Outgoing {
        kind: "test.note",
        body: b"after the new epoch",
        to: &[comrade(bob, "Alice")],
        expires_at: None,
    };
    bob.envelopes().seal(&note).unwrap();
    sync(bob);
    assert_eq!(sync(alice).opened.len(), 1);

    let files: Vec<Vec<u8>> = relay.events().iter().filter_map(age_file).collect();
    assert_eq!(
        files.len(),
        relay.events().len(),
        "no chunked envelope here"
    );
    assert!(files.len() >= met + 6, "{} events", files.len());
    for (i, file) in files.iter().enumerate() {
        let opened_classically = x25519_alone_decrypts(&broken, file);
        assert!(
            !opened_classically || i < met,
            "event {i} of {}",
            files.len()
        );
    }
    // The first card sent on meeting went before either held the other's
    // post-quantum key (the fake relay's list is in publishing order).
    assert!(x25519_alone_decrypts(&broken, &files[0]));
    // The members themselves still open what was sent to them.
    let to_bob = files[met..]
        .iter()
        .filter(|f| tend_core::testing::vault_keys_decrypt(bob, f).unwrap())
        .count();
    assert!(to_bob >= 2, "{to_bob}");
}
