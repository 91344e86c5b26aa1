//! Delivery speed against a local nostr-rs-relay in a release build
//! (`cargo install nostr-rs-relay --version 0.8.12 --root ~/.cache/tend/relay-0.8.12`,
//! then `TEND_RELAY_BIN=~/.cache/tend/relay-0.8.12/bin/nostr-rs-relay`; the
//! debug build `.ci/run` makes for tests would flatter the ratios). Each
//! figure has the relay's own time for the same raw events as its baseline:
//!
//! - a sync that fetches and opens 1,000 waiting envelopes, against one raw
//!   REQ that reads the same 1,000 events to EOSE;
//! - publishing one care request to 50 comrades on 2 relays, against raw
//!   publishing of 100 ready-made events of the same size.
//!
//! Run: `TEND_RELAY_BIN=… cargo bench -p tend-core --bench delivery`

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::befriend;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use nostr::prelude::{ClientMessage, Event, EventBuilder, FinalizeEvent, Keys, Kind, Tag};
use tend_core::care::{CareCategory, CareUrgency, NewCareRequest};
use tend_core::delivery::nostr::Limits;
use tend_core::delivery::{RelayUrl, SyncOptions};
use tend_core::envelope::{Outgoing, Recipient};
use tend_core::{DataKey, Vault};
use tungstenite::Message;

struct Relay {
    url: RelayUrl,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn relay(bin: &Path) -> Relay {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        dir.path().join("config.toml"),
        format!(
            "[network]\naddress = \"127.0.0.1\"\nport = {port}\n\
             [limits]\nmessages_per_sec = 100000\nmax_event_bytes = 131072\n"
        ),
    )
    .unwrap();
    let child = Command::new(bin)
        .arg("--db")
        .arg(dir.path())
        .arg("--config")
        .arg(dir.path().join("config.toml"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "nostr-rs-relay did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Relay {
        url: RelayUrl::parse(&format!("ws://127.0.0.1:{port}")).unwrap(),
        child,
        _dir: dir,
    }
}

fn member(dir: &Path, name: &str, key: &DataKey, relays: &[&Relay]) -> Vault {
    let v = Vault::create_with_key(dir.join(name), key).unwrap();
    v.set_display_name(name).unwrap();
    for r in relays {
        v.delivery().add_relay(&r.url).unwrap();
    }
    v
}

fn sync(vault: &Vault) -> tend_core::delivery::SyncReport {
    vault
        .delivery()
        .sync_through_relays(
            Limits::default(),
            SyncOptions {
                retry_now: true,
                delay_budget: std::time::Duration::ZERO,
            },
            &mut |_| {},
        )
        .unwrap()
}

fn socket(
    url: &RelayUrl,
) -> tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>> {
    tungstenite::connect(url.as_str()).unwrap().0
}

/// One REQ for every kind-1059 event, read to EOSE: the relay's own time.
fn raw_fetch(url: &RelayUrl, expected: usize) {
    let mut ws = socket(url);
    ws.send(Message::text(r#"["REQ","raw",{"kinds":[1059]}]"#))
        .unwrap();
    let mut events = 0;
    loop {
        let text = ws.read().unwrap().into_text().unwrap();
        if text.starts_with("[\"EVENT\"") {
            events += 1;
        } else if text.starts_with("[\"EOSE\"") {
            break;
        }
    }
    assert_eq!(events, expected);
    let _ = ws.close(None);
}

/// 50 events of a copy's size, each to a mailbox of its own.
fn fifty_events(content: &str) -> Vec<Event> {
    (0..50)
        .map(|_| {
            EventBuilder::new(Kind::GiftWrap, content)
                .tag(Tag::public_key(Keys::generate().public_key()))
                .finalize(&Keys::generate())
                .unwrap()
        })
        .collect()
}

/// Publishes ready-made events and waits for every OK.
fn raw_publish(url: &RelayUrl, events: &[Event]) {
    let mut ws = socket(url);
    for e in events {
        ws.write(Message::text(ClientMessage::event(e.clone()).as_json()))
            .unwrap();
    }
    ws.flush().unwrap();
    let mut oks = 0;
    while oks < events.len() {
        if ws
            .read()
            .unwrap()
            .into_text()
            .unwrap()
            .starts_with("[\"OK\"")
        {
            oks += 1;
        }
    }
    let _ = ws.close(None);
}

fn fetch_1000(c: &mut Criterion, bin: &Path) {
    const WAITING: usize = 1_000;
    let relay = relay(bin);
    let tmp = tempfile::tempdir().unwrap();
    let key = DataKey::generate();
    let alice = member(tmp.path(), "Alice", &DataKey::generate(), &[&relay]);
    let bob = member(tmp.path(), "Bob", &key, &[&relay]);
    let to = Recipient::Comrade(befriend(&alice, &bob));
    // The cards they send each other on meeting: Alice then holds Bob's
    // post-quantum key, and seals to it, as members do.
    sync(&alice);
    sync(&bob);
    sync(&alice);
    for i in 0..WAITING {
        alice
            .envelopes()
            .seal(&Outgoing {
                kind: "bench.note",
                body: format!("note {i}: a few words, as most messages are").as_bytes(),
                to: &[to],
                expires_at: None,
            })
            .unwrap();
    }
    assert_eq!(sync(&alice).relays[0].sent, WAITING);
    bob.lock();
    let template: PathBuf = tmp.path().join("Bob");

    let mut group = c.benchmark_group("sync_fetch_1000");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    group.bench_function("tend_sync", |b| {
        b.iter_batched(
            || {
                // A fresh copy of Bob, with all 1,000 still waiting.
                let copy = tempfile::tempdir().unwrap();
                for f in std::fs::read_dir(&template).unwrap() {
                    let f = f.unwrap();
                    std::fs::copy(f.path(), copy.path().join(f.file_name())).unwrap();
                }
                let v = Vault::open_with_key(copy.path(), &key).unwrap();
                (copy, v)
            },
            |(_copy, v)| assert_eq!(sync(&v).opened.len(), WAITING),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("relay_raw_req", |b| {
        // Everything the relay holds: the 1,000 and the two cards.
        b.iter(|| raw_fetch(&relay.url, WAITING + 2))
    });
    group.finish();
}

fn publish_50_on_2(c: &mut Criterion, bin: &Path) {
    let (one, two) = (relay(bin), relay(bin));
    let tmp = tempfile::tempdir().unwrap();
    let alice = member(tmp.path(), "Alice", &DataKey::generate(), &[&one, &two]);
    let circle = alice.comrades().create_circle("everyone").unwrap();
    let mut comrades = Vec::new();
    for i in 0..50 {
        let comrade = member(
            tmp.path(),
            &format!("Comrade {i}"),
            &DataKey::generate(),
            &[&one, &two],
        );
        let id = befriend(&alice, &comrade);
        alice.comrades().add_to_circle(circle.id, id).unwrap();
        comrades.push(comrade);
    }
    // Each sends Alice their card on meeting, so her copies are sealed to
    // their post-quantum keys.
    for comrade in &comrades {
        sync(comrade);
    }
    sync(&alice);
    let request = NewCareRequest {
        details: "Appointment at ten, back by noon".into(),
        ..NewCareRequest::new(
            CareCategory::Ride,
            "A ride to the clinic",
            CareUrgency::Today,
            vec![Recipient::Circle(circle.id)],
        )
    };
    // The size of one recipient's copy, as a piece in Base64.
    alice.care().post(&request).unwrap();
    let copy = alice.delivery().due(true).unwrap()[0].envelope.len();
    let content = "A".repeat((copy + 1).div_ceil(3) * 4);
    sync(&alice);
    let mut group = c.benchmark_group("publish_care_to_50_on_2_relays");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("tend_sync", |b| {
        b.iter_batched(
            || {
                alice.care().post(&request).unwrap();
            },
            |()| {
                let report = sync(&alice);
                assert!(report.relays.iter().all(|r| r.sent == 50), "{report:?}");
            },
            BatchSize::PerIteration,
        )
    });
    // The same number of events, of a copy's size, made beforehand.
    group.bench_function("relay_raw_publish", |b| {
        b.iter_batched(
            || fifty_events(&content),
            |events| {
                raw_publish(&one.url, &events);
                raw_publish(&two.url, &events);
            },
            BatchSize::PerIteration,
        )
    });
    // As Tend now publishes: a connection of its own for each event.
    group.bench_function("relay_raw_publish_connection_each", |b| {
        b.iter_batched(
            || fifty_events(&content),
            |events| {
                for e in &events {
                    raw_publish(&one.url, std::slice::from_ref(e));
                    raw_publish(&two.url, std::slice::from_ref(e));
                }
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
    // With the default delay budget: what spreading costs in wall time.
    let mut group = c.benchmark_group("publish_care_to_50_on_2_relays_spread");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(90));
    group.bench_function("tend_sync_default_budget", |b| {
        b.iter_batched(
            || {
                alice.care().post(&request).unwrap();
            },
            |()| {
                let options = SyncOptions {
                    retry_now: true,
                    ..SyncOptions::default()
                };
                let report = alice
                    .delivery()
                    .sync_through_relays(Limits::default(), options, &mut |_| {})
                    .unwrap();
                assert!(report.relays.iter().all(|r| r.sent == 50), "{report:?}");
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let Some(bin) = std::env::var_os("TEND_RELAY_BIN").map(PathBuf::from) else {
        eprintln!(
            "TEND_RELAY_BIN is not set: these benchmarks need nostr-rs-relay (.ci/run builds it)."
        );
        return;
    };
    fetch_1000(c, &bin);
    publish_50_on_2(c, &bin);
}

criterion_group!(delivery, benches);
criterion_main!(delivery);
