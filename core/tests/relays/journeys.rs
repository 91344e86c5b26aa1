//! Journeys through any relay: the in-process one (`delivery.rs`) and
//! nostr-rs-relay (`real_relay.rs`) run the same ones.

use std::path::Path;
use std::time::Duration;

use tend_core::Vault;
use tend_core::care::{CareCategory, CareStatus, CareUrgency, NewCareRequest, OfferState};
use tend_core::delivery::nostr::{Limits, NostrTransport};
use tend_core::delivery::{RelayUrl, RouteState, SyncOptions, SyncReport};
use tend_core::envelope::{Outgoing, Recipient};

use tend_core::gatherings::NewGathering;
use tend_core::sealed::{OpenWith, SealWith};

use crate::common::{TEST_KDF, befriend, entry, member, restorative_gathering};

/// Words the journeys send, which no relay may hold in the clear.
pub const WORDS: &[&str] = &["clinic", "Appointment", "Riverside", "hello"];

pub fn sync(vault: &Vault) -> SyncReport {
    let limits = Limits {
        timeout: Duration::from_secs(3),
        session: Duration::from_secs(20),
        ..Limits::default()
    };
    vault
        .delivery()
        .sync_through_relays(
            limits,
            SyncOptions {
                retry_now: true,
                delay_budget: std::time::Duration::ZERO,
            },
            &mut |_| {},
        )
        .unwrap()
}

pub fn received(report: &SyncReport) -> usize {
    report.relays.iter().map(|r| r.received).sum()
}

/// Members who receive on `relays`, then exchanged cards.
pub fn members_on(dir: &Path, names: &[&str], relays: &[&RelayUrl]) -> Vec<Vault> {
    let vaults: Vec<Vault> = names.iter().map(|n| member(dir, n)).collect();
    for v in &vaults {
        for r in relays {
            v.delivery().add_relay(r).unwrap();
        }
    }
    for (i, a) in vaults.iter().enumerate() {
        for b in &vaults[i + 1..] {
            befriend(a, b);
        }
    }
    // Adding a comrade sends them my card; once each has fetched the others',
    // every envelope between them is sealed post-quantum.
    for _ in 0..2 {
        for v in &vaults {
            sync(v);
        }
    }
    vaults
}

pub fn ride(to: Vec<Recipient>) -> NewCareRequest {
    NewCareRequest {
        details: "Appointment at ten, back by noon".into(),
        location: Some("Riverside".into()),
        ..NewCareRequest::new(
            CareCategory::Ride,
            "A ride to the clinic",
            CareUrgency::Today,
            to,
        )
    }
}

pub fn comrade(vault: &Vault, name: &str) -> Recipient {
    Recipient::Comrade(vault.comrades().find(name).unwrap().id)
}

pub fn note(from: &Vault, to: &str, body: &[u8]) -> tend_core::envelope::Sealed {
    from.envelopes()
        .seal(&Outgoing {
            kind: "test.note",
            body,
            to: &[comrade(from, to)],
            expires_at: None,
        })
        .unwrap()
}

/// Alice asks Bob and Carol, both offer, she accepts Bob. `restart` runs
/// between her request reaching the relay and anyone fetching it.
pub fn care_among_three(dir: &Path, relay: &RelayUrl, restart: &mut dyn FnMut()) {
    let v = members_on(dir, &["Alice", "Bob", "Carol"], &[relay]);
    let (alice, bob, carol) = (&v[0], &v[1], &v[2]);
    let request = alice
        .care()
        .post(&ride(vec![comrade(alice, "Bob"), comrade(alice, "Carol")]))
        .unwrap();
    let sent = sync(alice);
    assert_eq!(sent.relays[0].sent, 2, "{sent:?}");
    restart();
    assert_eq!(received(&sync(bob)), 1);
    assert_eq!(received(&sync(carol)), 1);
    bob.care()
        .offer_help(request.request.id, "I can drive", None)
        .unwrap();
    let carols = carol
        .care()
        .offer_help(request.request.id, "Me too", None)
        .unwrap();
    sync(bob);
    sync(carol);
    assert_eq!(received(&sync(alice)), 2);
    let mine = alice.care().mine().unwrap();
    assert_eq!(mine[0].offers.len(), 2);
    let bobs = mine[0]
        .offers
        .iter()
        .find(|o| o.helper.as_ref().is_some_and(|h| h.name == "Bob"))
        .unwrap()
        .id;
    alice.care().accept(bobs).unwrap();
    sync(alice);
    sync(bob);
    sync(carol);
    let for_bob = bob.care().commitments().unwrap();
    assert_eq!(for_bob.len(), 1);
    assert_eq!(for_bob[0].request.status, CareStatus::Matched);
    assert!(carol.care().get(request.request.id).unwrap().is_covered());
    assert_eq!(
        carol.care().offer(carols.offer.id).unwrap().state,
        OfferState::Declined
    );
}

/// Both relays carry the same event; Bob stores it once.
pub fn taken_once_from_two(dir: &Path, one: &RelayUrl, two: &RelayUrl) {
    let v = members_on(dir, &["Alice", "Bob"], &[one, two]);
    let sealed = note(&v[0], "Bob", b"hello, once only");
    let report = sync(&v[0]);
    assert!(report.relays.iter().all(|r| r.sent == 1), "{report:?}");
    let report = sync(&v[1]);
    // Duplicates also count the cards they sent each other when they met,
    // fetched again within the window a fetch reads back.
    let duplicates: usize = report.relays.iter().map(|r| r.duplicates).sum();
    assert!(received(&report) == 1 && duplicates >= 1, "{report:?}");
    assert_eq!(report.opened[0].message_id, sealed.message_id);
    assert_eq!(v[1].envelopes().inbox(Some("test.note")).unwrap().len(), 1);
    assert!(sync(&v[1]).opened.is_empty(), "nothing new the second time");
}

/// A 1 MiB body crosses in chunks and arrives whole.
pub fn large_in_chunks(dir: &Path, relay: &RelayUrl) {
    let v = members_on(dir, &["Alice", "Bob"], &[relay]);
    let body: Vec<u8> = (0..1u32 << 20).map(|i| (i % 253) as u8).collect();
    note(&v[0], "Bob", &body);
    assert_eq!(sync(&v[0]).relays[0].sent, 1);
    let report = sync(&v[1]);
    assert_eq!(report.opened.len(), 1, "{report:?}");
    assert_eq!(report.opened[0].body, body);
}

/// Posted while the relay is down: kept, retried, delivered.
pub fn nothing_lost_while_down(dir: &Path, relay: &RelayUrl, set_down: &mut dyn FnMut(bool)) {
    let v = members_on(dir, &["Alice", "Bob"], &[relay]);
    let (alice, bob) = (&v[0], &v[1]);
    set_down(true);
    let request = alice
        .care()
        .post(&ride(vec![comrade(alice, "Bob")]))
        .unwrap();
    let report = sync(alice);
    assert!(report.relays[0].unreachable.is_some(), "{report:?}");
    let routes = alice.delivery().routes(request.sealed.message_id).unwrap();
    assert!(
        matches!(&routes[0].2, RouteState::Failed { attempts: 1, .. }),
        "{routes:?}"
    );
    // A background sync waits out the backoff; one the member asks for does not.
    assert!(alice.delivery().due(false).unwrap().is_empty());
    assert_eq!(alice.delivery().due(true).unwrap().len(), 1);
    set_down(false);
    assert_eq!(sync(alice).relays[0].sent, 1);
    let routes = alice.delivery().routes(request.sealed.message_id).unwrap();
    assert!(matches!(routes[0].2, RouteState::Sent { .. }));
    assert_eq!(received(&sync(bob)), 1);
    assert_eq!(bob.care().could_help(50).unwrap().len(), 1);
}

/// Alice removes Bob: her card announces a new pair that Carol learns
/// and Bob does not. Until it serves, what Bob sends is from a stranger and
/// left unopened; from then on, it goes where Alice no longer reads.
pub fn removed_comrade_goes_nowhere(dir: &Path, relay: &RelayUrl) {
    let v = members_on(dir, &["Alice", "Bob", "Carol"], &[relay]);
    let (alice, bob, carol) = (&v[0], &v[1], &v[2]);
    let old = alice.delivery().my_address().unwrap();
    alice
        .comrades()
        .remove(alice.comrades().find("Bob").unwrap().id)
        .unwrap();
    let announced = alice.delivery().my_address().unwrap();
    assert_eq!(announced.mailbox, old.mailbox, "the pair serving now stays");
    assert!(announced.next.is_some());
    let senders = |report: &SyncReport| -> Vec<String> {
        report
            .opened
            .iter()
            .map(|o| o.sender.name.clone())
            .collect()
    };
    let exchange = |round: &str| {
        sync(alice); // the new card goes to Carol, not to Bob
        sync(carol);
        note(bob, "Alice", format!("{round} from Bob").as_bytes());
        note(carol, "Alice", format!("{round} from Carol").as_bytes());
        sync(bob);
        sync(carol);
        sync(alice)
    };
    let report = exchange("before");
    assert_eq!(senders(&report), ["Carol"]);
    assert_eq!(report.relays[0].from_strangers, 1, "{report:?}");
    assert!(report.relays[0].rejected.is_empty(), "{report:?}");

    tend_core::testing::bring_next_mailbox_forward(alice).unwrap();
    let report = exchange("after");
    assert_eq!(senders(&report), ["Carol"]);
    assert_eq!(
        report.relays[0].from_strangers, 0,
        "Bob's notes are no longer even fetched: {report:?}"
    );
    assert!(sync(alice).opened.is_empty());
}

/// Junk for `mailbox`: validly signed by many keys, all dated `at`, half
/// of it unreadable content, half whole pieces that are no envelope.
pub fn junk(
    mailbox: &tend_core::delivery::MailboxKey,
    n: usize,
    at: u64,
) -> Vec<nostr::prelude::Event> {
    use base64::Engine;
    use nostr::prelude::{EventBuilder, FinalizeEvent, Keys, Kind, PublicKey, Tag, Timestamp};
    let keys: Vec<Keys> = (0..50).map(|_| Keys::generate()).collect();
    let to = PublicKey::from_slice(mailbox.as_bytes()).unwrap();
    (0..n)
        .map(|i| {
            let content = if i % 2 == 0 {
                format!("not a piece {i}")
            } else {
                let piece = [&[1u8][..], format!("no envelope {i}").as_bytes()].concat();
                base64::engine::general_purpose::STANDARD.encode(piece)
            };
            EventBuilder::new(Kind::GiftWrap, content)
                .tag(Tag::public_key(to))
                .custom_created_at(Timestamp::from_secs(at))
                .finalize(&keys[i % keys.len()])
                .unwrap()
        })
        .collect()
}

/// Issue 16: junk sharing one `created_at`, newer than anything real, once
/// stalled paging while the cursor moved on. Now each page steps past it,
/// the real note arrives in the first sync, the junk is read once, and the
/// cursor moves only after a complete read.
pub fn flood_cannot_hide(
    dir: &Path,
    relay: &RelayUrl,
    n: usize,
    inject: &mut dyn FnMut(Vec<nostr::prelude::Event>),
) {
    let v = members_on(dir, &["Alice", "Bob"], &[relay]);
    let (alice, bob) = (&v[0], &v[1]);
    let mailbox = bob
        .delivery()
        .my_address()
        .unwrap()
        .mailbox_at(chrono::Utc::now());
    sync(bob); // a cursor, as a member who synced before has
    let sealed = note(alice, "Bob", b"hello under the flood");
    sync(alice);
    inject(junk(&mailbox, n, chrono::Utc::now().timestamp() as u64));
    let started = std::time::Instant::now();
    let report = sync(bob);
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    assert_eq!(report.opened.len(), 1, "{:?}", report.relays);
    assert_eq!(report.opened[0].message_id, sealed.message_id);
    let rejected: usize = report.relays[0].rejected.values().sum();
    let bad = report.relays[0]
        .problems
        .get(&tend_core::delivery::RelayProblem::BadChunk);
    // Each page holds 500 junk events of that one second; a page past them finds the note.
    assert!(
        rejected + bad.copied().unwrap_or(0) >= 500.min(n),
        "{report:?}"
    );
    // The junk was remembered: the next sync reads it as seen and opens nothing.
    let again = sync(bob);
    assert!(again.opened.is_empty());
    assert_eq!(
        again.relays[0].rejected.values().sum::<usize>(),
        0,
        "{again:?}"
    );
    assert!(
        !again.relays[0]
            .problems
            .contains_key(&tend_core::delivery::RelayProblem::BadChunk)
    );
}

/// The passphrase a journey's backups are sealed with.
pub const BACKUP_PASSPHRASE: &str = "heron lantern under the river bridge";

/// The whole vault, sealed with [`BACKUP_PASSPHRASE`].
pub fn backup_of(vault: &Vault) -> Vec<u8> {
    let mut out = Vec::new();
    vault
        .write_backup(
            &SealWith::Passphrase(BACKUP_PASSPHRASE.to_owned().into()),
            &mut out,
        )
        .unwrap();
    out
}

/// Alice's phone is lost; her whole-vault backup becomes a new vault with a
/// passphrase of its own. Bob and Carol carry on with it through the relay
/// without meeting her again, and nothing of hers is lost.
pub fn moves_phone(dir: &Path, relay: &RelayUrl) {
    let v = members_on(dir, &["Alice", "Bob", "Carol"], &[relay]);
    let (alice, bob, carol) = (&v[0], &v[1], &v[2]);
    let bobs_id = alice.comrades().find("Bob").unwrap().id;
    alice.comrades().mark_verified(bobs_id).unwrap();
    let circle = alice.comrades().create_circle("Wellbeing circle").unwrap();
    alice.comrades().add_to_circle(circle.id, bobs_id).unwrap();
    alice.journal().add(entry("Saw a kingfisher")).unwrap();
    let first = chrono::NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
    alice
        .gatherings()
        .add(NewGathering::monthly_restorative(
            first,
            "Europe/Berlin",
            "Riverside",
        ))
        .unwrap();
    let request = alice
        .care()
        .post(&ride(vec![comrade(alice, "Bob")]))
        .unwrap();
    sync(alice);
    let backup = backup_of(alice);
    // Carol writes after the backup was made; the old phone reads it.
    note(carol, "Alice", b"written after your backup");
    sync(carol);
    assert_eq!(received(&sync(alice)), 1);

    let (moved, summary) = Vault::restore_with_passphrase(
        dir.join("Alice's new phone"),
        backup.as_slice(),
        &OpenWith::Passphrase(BACKUP_PASSPHRASE.to_owned().into()),
        "kingfisher wades at dawn by the weir",
        TEST_KDF,
    )
    .unwrap();
    assert_eq!(summary.schema, tend_core::vault::SCHEMA_VERSION);
    assert!(moved.comrades().my_card().unwrap() == alice.comrades().my_card().unwrap());
    assert!(moved.comrades().list().unwrap() == alice.comrades().list().unwrap());
    assert!(moved.comrades().find("Bob").unwrap().verified);
    assert!(moved.comrades().circles().unwrap() == alice.comrades().circles().unwrap());
    let everything = tend_core::journal::EntryFilter::default();
    assert_eq!(
        moved.journal().list(&everything, 10, None).unwrap().entries,
        alice.journal().list(&everything, 10, None).unwrap().entries
    );
    assert!(moved.gatherings().list().unwrap() == alice.gatherings().list().unwrap());
    assert_eq!(
        moved.delivery().relays().unwrap(),
        std::slice::from_ref(relay)
    );
    let mine = moved.care().mine().unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].request.id, request.request.id);
    assert!(moved.integrity_check().unwrap());

    // The restored vault reads on from where the backup had read to, so
    // what came since is not lost.
    assert_eq!(received(&sync(&moved)), 1);
    let caught_up = moved.envelopes().inbox(Some("test.note")).unwrap();
    assert_eq!(caught_up[0].opened.body, b"written after your backup");

    // Bob answers the request the old phone sent; the new phone hears it.
    assert_eq!(received(&sync(bob)), 1);
    bob.care()
        .offer_help(request.request.id, "I can drive", None)
        .unwrap();
    sync(bob);
    assert_eq!(received(&sync(&moved)), 1);
    assert_eq!(moved.care().mine().unwrap()[0].offers.len(), 1);
    // And what the new phone sends is Alice's, verified as before.
    note(&moved, "Carol", b"hello from my new phone");
    sync(&moved);
    assert_eq!(received(&sync(carol)), 1);
    let inbox = carol.envelopes().inbox(Some("test.note")).unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].opened.body, b"hello from my new phone");
    let sender = &inbox[0].opened.sender;
    assert_eq!(
        sender.comrade,
        Some(carol.comrades().find("Alice").unwrap().id)
    );

    // The old phone still runs. What it writes before its next sync never
    // leaves it: the sync fetches first, finds the new phone's notice, and
    // retires it.
    note(alice, "Carol", b"from the phone I left in a drawer");
    let told = sync(alice);
    assert!(told.retired, "the old phone learns it was replaced");
    assert!(alice.retirement().unwrap().is_some());
    assert_eq!(received(&sync(carol)), 0, "the old phone sent nothing");
    // Read-only from then on, after a lock too; reading still works.
    alice.lock();
    alice.unlock_with_key(&crate::common::key(7)).unwrap();
    crate::common::all_retired([
        alice
            .delivery()
            .sync(
                &mut NostrTransport::new(Limits::default()),
                SyncOptions::default(),
                &mut |_| {},
            )
            .err(),
        alice.journal().add(entry("Written on the old phone")).err(),
        alice.comrades().rotate_encryption_key().err(),
    ]);
    assert_eq!(crate::common::entry_count(alice), 1);
    // The new phone reads its own notice back and carries on.
    let again = sync(&moved);
    assert!(!again.retired);
    assert!(moved.retirement().unwrap().is_none());
    note(&moved, "Carol", b"still me");
    sync(&moved);
    assert_eq!(received(&sync(carol)), 1);
}

/// Alice's new phone shows a move code; her old phone sends the whole
/// vault through the relay in pieces and retires; comrades carry on with
/// the new phone.
pub fn moves_phone_to_phone(dir: &Path, relay: &RelayUrl) {
    use tend_core::delivery::{MoveCode, MoveReceiver};
    let v = members_on(dir, &["Alice", "Bob"], &[relay]);
    let (alice, bob) = (&v[0], &v[1]);
    // Enough for several pieces, each several Nostr events.
    for i in 0..400 {
        alice
            .journal()
            .add(entry(&format!(
                "Day {i}: {}",
                "the heron again. ".repeat(40)
            )))
            .unwrap();
    }
    let mut receiver = MoveReceiver::new(vec![relay.clone()]).unwrap();
    let scanned = MoveCode::parse(&receiver.code().to_text()).unwrap();
    assert_eq!(scanned.short_code(), receiver.code().short_code());
    let mut transport = NostrTransport::new(Limits::default());
    let sent = alice
        .delivery()
        .send_move(&scanned, &mut transport)
        .unwrap();
    assert!(sent.complete && sent.pieces >= 3, "{sent:?}");
    assert!(alice.retirement().unwrap().is_some());

    let mut whole = None;
    for _ in 0..5 {
        whole = receiver.fetch(&mut transport).unwrap();
        if whole.is_some() {
            break;
        }
    }
    let whole = whole.expect("every piece arrived");
    let (moved, _) = Vault::restore_with_key(
        dir.join("Alice's new phone"),
        whole.as_slice(),
        &receiver.opener(),
        &crate::common::key(7),
    )
    .unwrap();
    assert_eq!(crate::common::entry_count(&moved), 400);
    note(bob, "Alice", b"hello to the new phone");
    sync(bob);
    assert_eq!(received(&sync(&moved)), 1);
    note(&moved, "Bob", b"hello from the new phone");
    sync(&moved);
    assert_eq!(received(&sync(bob)), 1);
}

/// The greeting round through the relays: Bob's and Carol's lines and
/// Alice's, sealed until she opens it, then the same round on each phone.
/// The greeting round of a gathering, and then the collective's pulse,
/// every envelope through the relay.
pub fn greeting_round_and_pulse(dir: &Path, relay: &RelayUrl) {
    use tend_core::gatherings::{Rsvp, Said};
    let vaults = members_on(dir, &["Alice", "Bob", "Carol"], &[relay]);
    let (alice, guests) = (&vaults[0], &vaults[1..]);
    let gathering = restorative_gathering(alice);
    let to = vec![comrade(alice, "Bob"), comrade(alice, "Carol")];
    alice.gatherings().invite(gathering.id, &to).unwrap();
    sync(alice);
    let start =
        chrono::NaiveDateTime::parse_from_str("2026-12-05T18:00", "%Y-%m-%dT%H:%M").unwrap();
    let mut ids = vec![gathering.id];
    for (v, line) in guests
        .iter()
        .zip(["I'll sketch the heron", "Knitting a scarf"])
    {
        sync(v);
        let id = v.gatherings().list().unwrap()[0].id;
        v.gatherings()
            .rsvp(id, start, Some(Rsvp::Going), None)
            .unwrap();
        v.gatherings()
            .write_round_line(id, start, Some(line))
            .unwrap();
        sync(v);
        ids.push(id);
    }
    alice
        .gatherings()
        .write_round_line(gathering.id, start, None)
        .unwrap();
    sync(alice);
    let before = alice.gatherings().round(gathering.id, start).unwrap();
    assert_eq!(before.written, 3);
    assert!(before.lines.is_empty());
    alice.gatherings().open_round(gathering.id, start).unwrap();
    // Alice sends the round; each guest releases; Alice passes keys on.
    for _ in 0..2 {
        sync(alice);
        for v in guests {
            sync(v);
        }
    }
    let rounds: Vec<_> = vaults
        .iter()
        .zip(&ids)
        .map(|(v, id)| v.gatherings().round(*id, start).unwrap())
        .collect();
    for r in &rounds {
        assert_eq!(r.check, rounds[0].check);
        let said: Vec<&Said> = r.lines.iter().map(|l| &l.said).collect();
        let first: Vec<&Said> = rounds[0].lines.iter().map(|l| &l.said).collect();
        assert_eq!(said, first, "one order on every phone");
        assert_eq!(r.lines.len(), 3);
        assert!(r.lines.iter().all(|l| l.said != Said::Unreleased));
    }
    pulse(&vaults);
}

/// Alice founds a collective of the three, with a threshold of three,
/// and takes its pulse: totals on every phone, in sync rounds only.
fn pulse(vaults: &[Vault]) {
    use tend_core::collective::{PulseSettings, Settings};
    use tend_core::pulse::{Capacity, PulseAnswer, PulseMood, PulseState};
    let alice = &vaults[0];
    let id = alice
        .collectives()
        .create("Riverside Care", None)
        .unwrap()
        .id;
    let others = ["Bob", "Carol"].map(|n| alice.comrades().find(n).unwrap().id);
    alice.collectives().add_members(id, &others).unwrap();
    let three = Settings {
        pulse: PulseSettings {
            threshold: 3,
            ..PulseSettings::default()
        },
        ..Settings::default()
    };
    alice.collectives().set_settings(id, &three).unwrap();
    let everyone = || {
        for v in vaults {
            sync(v);
        }
    };
    everyone();
    let started = alice.pulses().start(id, None).unwrap();
    everyone();
    for (v, (capacity, mood)) in vaults.iter().zip([
        (Capacity::Green, Some(4)),
        (Capacity::Red, Some(1)),
        (Capacity::Green, None),
    ]) {
        let answer = PulseAnswer {
            capacity,
            mood: mood.map_or(PulseMood::Skip, |value| PulseMood::Given { value }),
            check_in: None,
        };
        v.pulses().answer(started.pulse.id, &answer).unwrap();
    }
    // Shares reach the talliers, their lists each other, their sums everyone.
    for _ in 0..3 {
        everyone();
    }
    for v in vaults {
        let p = v.pulses().get(started.pulse.id).unwrap();
        let PulseState::Shown { totals } = p.state else {
            panic!("not counted: {:?}", p.state);
        };
        assert_eq!(
            (totals.answers, totals.green, totals.red, totals.moods),
            (3, 2, 1, 2)
        );
    }
}
