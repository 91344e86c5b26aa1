//! Delivery through relays: members' vaults exchange care requests through
//! in-process relays speaking NIP-01, and survive hostile ones. The same
//! journeys run against nostr-rs-relay in `real_relay.rs`.

mod common;
mod relays;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::Utc;
use relays::FakeRelay;
use relays::journeys::{self, comrade, members_on, note, ride, sync};
use serde_json::json;
use tend_core::Error;
use tend_core::delivery::{
    MAILBOX_NOTICE, MAILBOX_WEEK, RelayProblem, RelayUrl, RouteState, week_of, week_start,
};

#[test]
fn three_members_carry_a_care_request_through_a_relay() {
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    journeys::care_among_three(dir.path(), &relay.url, &mut || {});

    // What the relay was sent names no one and links no two recipients.
    let events = relay.published();
    assert!(events.len() >= 7, "{} events", events.len());
    let authors: HashSet<_> = events.iter().map(|e| e.pubkey).collect();
    assert_eq!(authors.len(), events.len(), "one throwaway key per event");
    let contents: HashSet<_> = events.iter().map(|e| &e.content).collect();
    assert_eq!(contents.len(), events.len());
    for e in &events {
        assert_eq!(e.kind.as_u16(), 1059);
        assert!(e.created_at.as_secs() <= Utc::now().timestamp() as u64);
        assert!(e.tags.expiration().is_some());
        assert_eq!(e.tags.iter().filter(|t| t.kind() == "p").count(), 1);
    }
    // One mailbox per connection.
    for asked in &relay.seen.lock().unwrap().requests {
        assert_eq!(asked.len(), 1, "{asked:?}");
    }
    // No NIP-09 deletion requests: the events expire instead.
    assert_eq!(relay.seen.lock().unwrap().deletions, 0);
    assert_eq!(relay.events().len(), events.len());
}

#[test]
fn a_member_moves_phones_and_comrades_carry_on() {
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    journeys::moves_phone(dir.path(), &relay.url);
}

#[test]
fn a_member_moves_phone_to_phone_through_the_relays() {
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    journeys::moves_phone_to_phone(dir.path(), &relay.url);
}

#[test]
fn a_greeting_round_and_a_pulse_go_through_the_relays() {
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    journeys::greeting_round_and_pulse(dir.path(), &relay.url);
}

#[test]
fn the_same_event_from_two_relays_is_taken_once() {
    let (one, two) = (FakeRelay::honest(), FakeRelay::honest());
    let dir = tempfile::tempdir().unwrap();
    journeys::taken_once_from_two(dir.path(), &one.url, &two.url);
    assert_eq!(
        one.published()[0].id,
        two.published()[0].id,
        "the same event on both"
    );
}

#[test]
fn a_one_mebibyte_envelope_arrives_in_chunks_under_64_kib() {
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    journeys::large_in_chunks(dir.path(), &relay.url);
    let events = relay.published();
    assert!(events.len() >= 23, "{} events", events.len());
    assert!(events.iter().all(|e| e.as_json().len() < 64 * 1024));
}

#[test]
fn nothing_is_lost_while_the_relay_is_down() {
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    journeys::nothing_lost_while_down(dir.path(), &relay.url, &mut |down| relay.set_down(down));
}

#[test]
fn a_removed_comrade_cannot_reach_my_new_mailbox() {
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    journeys::removed_comrade_goes_nowhere(dir.path(), &relay.url);
}

#[test]
fn blocking_announces_a_mailbox_and_relay_changes_reissue_the_card() {
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    let v = members_on(dir.path(), &["Alice", "Bob", "Carol"], &[&relay.url]);
    let card = v[0].comrades().my_card().unwrap();
    let other = RelayUrl::parse("wss://relay.example.org").unwrap();
    v[0].delivery().add_relay(&other).unwrap();
    let newer = v[0].comrades().my_card().unwrap();
    assert!(newer.chain().unwrap().seq > card.chain().unwrap().seq);
    assert_eq!(
        newer.address().unwrap().relays,
        [relay.url.clone(), other.clone()]
    );
    assert_eq!(v[0].envelopes().outbox().unwrap()[0].kind, "card.update");
    // Adding it twice changes nothing; removing one I never had is an error.
    v[0].delivery().add_relay(&other).unwrap();
    assert_eq!(v[0].comrades().my_card().unwrap(), newer);
    let never = RelayUrl::parse("wss://never.example").unwrap();
    assert!(matches!(
        v[0].delivery().remove_relay(&never),
        Err(Error::NotFound { .. })
    ));
    // No test reaches out past this machine.
    v[0].delivery().remove_relay(&other).unwrap();

    // Blocking keeps the pair serving now and announces the next, serving
    // from a week's start at least MAILBOX_NOTICE away.
    let before = v[0].delivery().my_address().unwrap();
    let read_before = v[0].delivery().mailboxes().unwrap().len();
    let bob = v[0].comrades().find("Bob").unwrap().id;
    v[0].comrades().block(bob).unwrap();
    let announced = v[0].delivery().my_address().unwrap();
    let next = announced.next.unwrap();
    let now = Utc::now();
    let switch = week_start(next.from_week);
    assert!(switch >= now + MAILBOX_NOTICE && switch < now + MAILBOX_NOTICE + MAILBOX_WEEK);
    assert_eq!(announced.mailbox_at(now), before.mailbox_at(now));
    assert_ne!(announced.mailbox_at(switch), before.mailbox_at(switch));
    assert_eq!(
        v[0].delivery().mailboxes().unwrap().len(),
        read_before,
        "the new pair is not read before its week"
    );
    // At its week: its first week's mailbox and the old pair's last, never
    // the old pair's mailbox for a week it no longer serves.
    let read = |at| -> HashSet<_> {
        tend_core::testing::mailboxes_at(&v[0], at)
            .unwrap()
            .into_iter()
            .map(|m| m.key)
            .collect()
    };
    let at = switch + chrono::Duration::hours(6);
    let then = read(at);
    assert!(then.contains(&announced.mailbox_at(at)));
    assert!(then.contains(&before.mailbox_at(at - chrono::Duration::days(1))));
    assert!(!then.contains(&before.mailbox_at(at)));
    assert_eq!(
        then.len() as i64,
        next.from_week - week_of(now) + 1,
        "one a week, as one pair would be"
    );
    // Blocking again before the switch replaces the announced pair.
    let carol = v[0].comrades().find("Carol").unwrap().id;
    v[0].comrades().block(carol).unwrap();
    let again = v[0].delivery().my_address().unwrap().next.unwrap();
    assert_ne!(again.mailbox, next.mailbox);
    assert!(!read(week_start(again.from_week)).contains(&announced.mailbox_at(at)));

    // Unblocked, Bob is sent the card with the new mailbox, and reaches it.
    v[0].comrades().unblock(bob).unwrap();
    let newest = &v[0].envelopes().outbox().unwrap()[0];
    assert_eq!(newest.kind, "card.update");
    assert_eq!(newest.sealed.recipients[0].name, "Bob");
    sync(&v[0]);
    sync(&v[1]);
    note(&v[1], "Alice", b"hello again");
    sync(&v[1]);
    let report = sync(&v[0]);
    assert_eq!(report.opened.len(), 1, "{report:?}");
}

#[test]
fn the_comrade_cut_off_is_sent_the_card_they_hold_and_never_the_next_mailbox() {
    use tend_core::testing::card_of;
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    let v = members_on(dir.path(), &["Alice", "Bob", "Carol"], &[&relay.url]);
    let (alice, bob, carol) = (&v[0], &v[1], &v[2]);
    let alice_in = |v: &tend_core::Vault| v.comrades().find("Alice").unwrap().id;
    let carol_id = alice.comrades().find("Carol").unwrap().id;
    let before = alice.comrades().my_card().unwrap();
    let listed = alice.envelopes().outbox().unwrap().len();
    alice.comrades().block(carol_id).unwrap();
    assert_eq!(
        alice.envelopes().outbox().unwrap().len(),
        listed + 1,
        "the decoy is never listed"
    );
    assert_eq!(sync(alice).relays[0].sent, 2, "one to Bob, one to Carol");
    sync(bob);
    sync(carol);
    let real = alice.comrades().my_card().unwrap();
    assert!(real.address().unwrap().next.is_some());
    assert_eq!(card_of(bob, alice_in(bob)).unwrap(), real);
    // Carol's copy carries the card she held: nothing changes for her, and
    // it is no fork of the chain Bob follows.
    assert_eq!(card_of(carol, alice_in(carol)).unwrap(), before);
    assert_eq!(
        before.chain().unwrap().seq + 1,
        real.chain().unwrap().seq,
        "the real card comes next"
    );
    assert_eq!(
        sync(alice).relays[0].sent,
        0,
        "the decoy is sent once, like any copy"
    );

    // Unblocked, Carol is sent the real card, the next in the chain she holds.
    alice.comrades().unblock(carol_id).unwrap();
    sync(alice);
    sync(carol);
    let now_held = card_of(carol, alice_in(carol)).unwrap();
    assert_eq!(now_held, alice.comrades().my_card().unwrap());
    assert!(
        carol
            .comrades()
            .get(alice_in(carol))
            .unwrap()
            .identity_conflict_at
            .is_none()
    );
}

#[test]
fn what_went_to_a_mailbox_no_longer_serving_is_sent_again() {
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    let v = members_on(dir.path(), &["Alice", "Bob", "Carol"], &[&relay.url]);
    let (alice, bob) = (&v[0], &v[1]);
    let carol = alice.comrades().find("Carol").unwrap().id;
    alice.comrades().block(carol).unwrap();
    // Bob has not synced since, and the new pair serves already (he was
    // away past the notice): his note goes to the old pair's mailbox for
    // this week, which Alice no longer reads.
    tend_core::testing::bring_next_mailbox_forward(alice).unwrap();
    let stale = bob.delivery().my_address().unwrap();
    note(bob, "Alice", b"written before reading the new card");
    assert_eq!(sync(bob).relays[0].sent, 1, "to the old pair's mailbox");
    sync(alice);
    // His sync reads her new card first; the card he sent her when they
    // met went to the old pair too.
    let report = sync(bob);
    assert_eq!(
        report.relays[0].sent, 2,
        "the note and his card again, to the new pair: {report:?}"
    );
    assert_eq!(bob.delivery().my_address().unwrap(), stale);
    let opened = sync(alice).opened;
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(opened[0].body, b"written before reading the new card");
    assert_eq!(sync(bob).relays.iter().map(|r| r.sent).sum::<usize>(), 0);
}

/// Serves `messages` for every REQ (with `SUB` replaced), then EOSE.
fn serving(messages: Vec<String>) -> FakeRelay {
    FakeRelay::hostile(move |sub| {
        let mut out: Vec<String> = messages.iter().map(|m| m.replace("SUB", sub)).collect();
        out.push(json!(["EOSE", sub]).to_string());
        out
    })
}

#[test]
fn a_hostile_relay_gets_typed_problems_and_changes_nothing() {
    let honest = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    let v = members_on(dir.path(), &["Alice", "Bob"], &[&honest.url]);
    let (alice, bob) = (&v[0], &v[1]);
    // Real events for Bob, three chunks, to tamper with (after the cards
    // they sent each other when they met).
    let met = honest.events().len();
    note(alice, "Bob", &vec![7u8; 120 * 1024]);
    sync(alice);
    let real: Vec<serde_json::Value> = honest.events()[met..]
        .iter()
        .map(|e| serde_json::from_str(&e.as_json()).unwrap())
        .collect();
    assert_eq!(real.len(), 3);
    let event = |e: &serde_json::Value| json!(["EVENT", "SUB", e]).to_string();
    let mut wrong_kind = real[0].clone();
    wrong_kind["kind"] = 1.into();
    let mut forged = real[0].clone();
    forged["content"] = "AQID".into();
    let mut huge = real[0].clone();
    huge["content"] = "A".repeat(200 * 1024).into();
    let hostile = serving(vec![
        "not json".to_owned(),
        r#"["EVENT","SUB",{"id":1}]"#.to_owned(),
        event(&wrong_kind),
        event(&forged),
        event(&huge),
        event(&real[1]), // a chunk whose siblings never come
    ]);
    bob.delivery().remove_relay(&honest.url).unwrap();
    bob.delivery().add_relay(&hostile.url).unwrap();
    let inbox_before = bob.envelopes().inbox(None).unwrap();
    let report = sync(bob);
    // Bob's new card also went to Alice's relay: find the hostile one.
    let problems = &report
        .relays
        .iter()
        .find(|r| r.relay.as_ref() == Some(&hostile.url))
        .unwrap()
        .problems;
    for p in [
        RelayProblem::Garbage,
        RelayProblem::WrongKind,
        RelayProblem::BadSignature,
        RelayProblem::Oversized,
    ] {
        assert!(problems.contains_key(&p), "{p:?} in {problems:?}");
    }
    assert!(report.opened.is_empty());
    assert_eq!(bob.envelopes().inbox(None).unwrap(), inbox_before);
    // Nothing refused was marked as taken: the honest copies still open.
    bob.delivery().remove_relay(&hostile.url).unwrap();
    bob.delivery().add_relay(&honest.url).unwrap();
    assert_eq!(sync(bob).opened.len(), 1);
}

#[test]
fn a_flooding_relay_is_cut_off() {
    // Junk, and never an EOSE.
    let flood = FakeRelay::hostile(|sub| {
        (0..5_000)
            .map(|i| json!(["EVENT", sub, { "junk": i }]).to_string())
            .collect()
    });
    let dir = tempfile::tempdir().unwrap();
    let bob = common::member(dir.path(), "Bob");
    bob.delivery().add_relay(&flood.url).unwrap();
    let started = Instant::now();
    let report = sync(&bob);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        report.relays[0].problems.contains_key(&RelayProblem::Flood),
        "{report:?}"
    );
}

#[test]
fn a_relay_that_refuses_an_event_is_recorded_with_its_reason() {
    let refusing = FakeRelay::refusing("blocked: not on the allow list");
    let dir = tempfile::tempdir().unwrap();
    let v = members_on(dir.path(), &["Alice", "Bob"], &[&refusing.url]);
    let request = v[0]
        .care()
        .post(&ride(vec![comrade(&v[0], "Bob")]))
        .unwrap();
    let report = sync(&v[0]);
    // The request, and the card Alice sent Bob when they met, still waiting.
    assert_eq!((report.relays[0].sent, report.relays[0].refused), (0, 2));
    let routes = v[0].delivery().routes(request.sealed.message_id).unwrap();
    match &routes[0].2 {
        RouteState::Failed {
            reason, attempts, ..
        } => assert_eq!(
            (reason.as_str(), *attempts),
            ("blocked: not on the allow list", 1)
        ),
        other => panic!("{other:?}"),
    }
    sync(&v[0]);
    let routes = v[0].delivery().routes(request.sealed.message_id).unwrap();
    let RouteState::Failed {
        attempts,
        next_try_at,
        ..
    } = &routes[0].2
    else {
        panic!("{routes:?}")
    };
    assert_eq!(*attempts, 2);
    // The second failure waits twice as long as the first: 60 s, not 30.
    let wait = *next_try_at - Utc::now();
    assert!(wait > chrono::Duration::seconds(50) && wait <= chrono::Duration::seconds(60));
}

#[test]
fn a_relay_that_caps_each_request_is_read_page_by_page() {
    let relay = FakeRelay::capped(10);
    let dir = tempfile::tempdir().unwrap();
    let v = members_on(dir.path(), &["Alice", "Bob"], &[&relay.url]);
    for i in 0..35 {
        note(&v[0], "Bob", format!("note {i}").as_bytes());
    }
    assert_eq!(sync(&v[0]).relays[0].sent, 35);
    let report = sync(&v[1]);
    assert_eq!(report.opened.len(), 35, "{report:?}");
}

#[test]
fn a_chunk_bomb_served_by_a_relay_is_bounded() {
    use base64::Engine;
    use nostr::prelude::{EventBuilder, FinalizeEvent, Keys, Kind, PublicKey, Tag};
    let dir = tempfile::tempdir().unwrap();
    let bob = common::member(dir.path(), "Bob");
    let mailbox = bob.delivery().my_address().unwrap().mailbox_at(Utc::now());
    // Validly signed, addressed to Bob: first chunks of 2,000 envelopes
    // that never complete, 46 KiB each.
    let events: Vec<String> = (0..2_000u32)
        .map(|i| {
            let mut piece = vec![2u8];
            piece.extend_from_slice(&[i.to_be_bytes(), [0; 4], [0; 4], [0; 4]].concat());
            piece.extend_from_slice(&[0, 26]);
            piece.extend_from_slice(&[0; 32]);
            piece.extend_from_slice(&vec![0; 46 * 1024]);
            let content = base64::engine::general_purpose::STANDARD.encode(&piece);
            let event = EventBuilder::new(Kind::GiftWrap, content)
                .tag(Tag::public_key(
                    PublicKey::from_slice(mailbox.as_bytes()).unwrap(),
                ))
                .finalize(&Keys::generate())
                .unwrap();
            json!([
                "EVENT",
                "SUB",
                serde_json::from_str::<serde_json::Value>(&event.as_json()).unwrap()
            ])
            .to_string()
        })
        .collect();
    let bomb = serving(events);
    bob.delivery().add_relay(&bomb.url).unwrap();
    let report = sync(&bob);
    assert!(
        report.relays[0].problems.contains_key(&RelayProblem::Flood),
        "{report:?}"
    );
    assert!(report.opened.is_empty());
}

#[test]
fn a_flood_of_500_cannot_hide_a_real_envelope() {
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    journeys::flood_cannot_hide(dir.path(), &relay.url, 500, &mut |e| relay.hold(e));
}

#[test]
fn a_flood_of_5000_cannot_hide_a_real_envelope() {
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    journeys::flood_cannot_hide(dir.path(), &relay.url, 5_000, &mut |e| relay.hold(e));
}

#[test]
fn a_fetch_cut_short_goes_on_next_time_and_loses_nothing() {
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    let v = members_on(dir.path(), &["Alice", "Bob"], &[&relay.url]);
    let (alice, bob) = (&v[0], &v[1]);
    for i in 0..100 {
        note(alice, "Bob", format!("note {i}").as_bytes());
    }
    sync(alice);
    // A fetch may read 10 new events; a sync fetches again while each round
    // brings something, 8 rounds at most: 80 now, the rest next time.
    let tight = tend_core::delivery::nostr::Limits {
        events_per_fetch: 10,
        ..tend_core::delivery::nostr::Limits::default()
    };
    let opened: Vec<usize> = (0..2)
        .map(|_| {
            bob.delivery()
                .sync(
                    &mut tend_core::delivery::nostr::NostrTransport::new(tight),
                    tend_core::delivery::SyncOptions {
                        retry_now: true,
                        delay_budget: Duration::ZERO,
                    },
                    &mut |_| {},
                )
                .unwrap()
                .opened
                .len()
        })
        .collect();
    assert_eq!(opened, [80, 20]);
    assert!(sync(bob).opened.is_empty());
}

#[test]
fn work_a_relay_asks_for_in_its_document_is_done_before_the_first_try() {
    let relay = FakeRelay::pow_in_document(10);
    let dir = tempfile::tempdir().unwrap();
    let v = members_on(dir.path(), &["Alice", "Bob"], &[&relay.url]);
    let read = relay.seen.lock().unwrap().documents;
    note(&v[0], "Bob", b"mined ahead");
    note(&v[0], "Bob", b"and again");
    let sent = sync(&v[0]);
    assert_eq!(
        (sent.relays[0].sent, sent.relays[0].refused),
        (2, 0),
        "{sent:?}"
    );
    assert!(relay.events().iter().all(|e| e.id.check_pow(10)));
    assert_eq!(
        relay.seen.lock().unwrap().documents,
        read + 1,
        "read once a sync, before publishing"
    );
    assert_eq!(sync(&v[1]).opened.len(), 2);
    assert_eq!(
        relay.seen.lock().unwrap().documents,
        read + 1,
        "a sync that only fetches reads none"
    );
}

#[test]
fn a_relay_whose_document_asks_for_too_much_work_is_sent_nothing() {
    let relay = FakeRelay::pow_in_document(30);
    let dir = tempfile::tempdir().unwrap();
    let v = members_on(dir.path(), &["Alice", "Bob"], &[&relay.url]);
    let sealed = note(&v[0], "Bob", b"not worth 30 bits");
    let sent = sync(&v[0]);
    // The note, and the card Alice sent Bob when they met, never went.
    assert_eq!(
        (sent.relays[0].sent, sent.relays[0].refused),
        (0, 2),
        "{sent:?}"
    );
    assert!(relay.published().is_empty(), "no event ever reached it");
    let routes = v[0].delivery().routes(sealed.message_id).unwrap();
    assert!(
        matches!(&routes[0].2, RouteState::Failed { reason, .. } if reason.contains("30 bits")),
        "{routes:?}"
    );
}

#[test]
fn a_relay_that_wants_authentication_and_work_is_given_both() {
    let relay = FakeRelay::guarded(Some(8));
    let dir = tempfile::tempdir().unwrap();
    let v = members_on(dir.path(), &["Alice", "Bob"], &[&relay.url]);
    let (alice, bob) = (&v[0], &v[1]);
    let sealed = note(alice, "Bob", b"hello past the gate");
    let sent = sync(alice);
    assert_eq!(
        (sent.relays[0].sent, sent.relays[0].refused),
        (1, 0),
        "{sent:?}"
    );
    let stored = relay.events();
    assert!(!stored.is_empty());
    assert!(
        stored.iter().all(|e| e.id.check_pow(8)),
        "every event carries 8 bits of work"
    );
    let report = sync(bob);
    assert_eq!(report.opened.len(), 1, "{report:?}");
    assert_eq!(report.opened[0].message_id, sealed.message_id);
    // Readers authenticated as their mailbox; publishers as keys of no one.
    let mailboxes: Vec<String> = v
        .iter()
        .map(|m| {
            m.delivery()
                .my_address()
                .unwrap()
                .mailbox_at(Utc::now())
                .to_hex()
        })
        .collect();
    let seen = relay.seen.lock().unwrap();
    let publishers = seen.published_by_connection();
    assert!(!publishers.is_empty());
    for (connection, key) in &seen.auths {
        if publishers.contains_key(connection) {
            assert!(!mailboxes.contains(key), "published as a mailbox");
        }
    }
    assert!(
        seen.auths.iter().any(|(_, k)| *k == mailboxes[1]),
        "Bob read as his mailbox"
    );
    assert_eq!(
        seen.auths
            .iter()
            .filter(|(c, _)| publishers.contains_key(c))
            .count(),
        publishers.len()
    );
}

#[test]
fn each_week_has_a_mailbox_of_its_own_that_sender_and_owner_agree_on() {
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    let v = members_on(dir.path(), &["Alice", "Bob"], &[&relay.url]);
    let bob = &v[1];
    // Bob's card, as Alice scanned it, gives the mailbox Bob reads each week.
    let at_alice = address_on_card(bob);
    assert_eq!(at_alice, bob.delivery().my_address().unwrap());
    let now = Utc::now();
    let mut keys = HashSet::new();
    for days in [0, 8, 15] {
        let at = now + chrono::Duration::days(days);
        let addressed = at_alice.mailbox_at(at);
        assert_ne!(
            addressed, at_alice.mailbox,
            "the base key is never addressed"
        );
        let read = tend_core::testing::mailboxes_at(bob, at).unwrap();
        assert_eq!(
            read[0].key, addressed,
            "day {days}: this week's is read first"
        );
        assert!(read.len() <= 4, "never more weeks than events live");
        keys.insert(addressed);
    }
    assert_eq!(keys.len(), 3, "a new mailbox each week");
}

/// The address `member`'s card carries, as a comrade who scanned it holds it.
fn address_on_card(member: &tend_core::Vault) -> tend_core::delivery::Address {
    member
        .comrades()
        .my_card()
        .unwrap()
        .address()
        .cloned()
        .unwrap()
}

/// For six weeks after a block, every six hours: the mailbox a comrade
/// holding the announcing card addresses is one the owner reads, and the
/// old pair is never read for a week it no longer serves.
#[test]
fn across_an_announced_switch_sender_and_owner_always_agree() {
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    let v = members_on(dir.path(), &["Alice", "Bob", "Carol"], &[&relay.url]);
    let bob = &v[1];
    let before = bob.delivery().my_address().unwrap();
    bob.comrades()
        .block(bob.comrades().find("Carol").unwrap().id)
        .unwrap();
    let held = address_on_card(bob);
    let switch = week_start(held.next.unwrap().from_week);
    let now = Utc::now();
    for step in 0..(6 * 7 * 4) {
        let at = now + chrono::Duration::hours(6 * step);
        let read: HashSet<_> = tend_core::testing::mailboxes_at(bob, at)
            .unwrap()
            .into_iter()
            .map(|m| m.key)
            .collect();
        assert!(read.contains(&held.mailbox_at(at)), "at {at}");
        assert!(read.len() <= 4, "at {at}: {} read", read.len());
        if at >= switch {
            assert!(!read.contains(&before.mailbox_at(at)), "at {at}");
        }
    }
}

#[test]
fn a_vault_from_before_weekly_mailboxes_moves_to_them_and_tells_comrades() {
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    let v = members_on(dir.path(), &["Alice", "Bob"], &[&relay.url]);
    let (alice, bob) = (&v[0], &v[1]);
    tend_core::testing::make_mailbox_static(bob).unwrap();
    let old = bob.delivery().my_address().unwrap();
    assert!(old.seed.is_none());
    let path = dir.path().join("Bob");
    bob.lock();
    let bob = tend_core::Vault::open_with_key(&path, &common::key(7)).unwrap();
    let new = bob.delivery().my_address().unwrap();
    assert!(new.seed.is_some() && new.mailbox != old.mailbox);
    let read = bob.delivery().mailboxes().unwrap();
    assert!(
        read.iter()
            .any(|m| m.key == old.mailbox && m.week.is_none()),
        "the old one in its grace"
    );
    assert_eq!(bob.envelopes().outbox().unwrap()[0].kind, "card.update");
    // Alice learns the weekly mailbox and reaches it.
    sync(&bob);
    sync(alice);
    note(alice, "Bob", b"hello, weekly");
    sync(alice);
    assert_eq!(sync(&bob).opened.len(), 1);
}

#[test]
fn a_false_chunk_under_a_real_header_cannot_keep_a_large_envelope_out() {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as BASE64;
    use nostr::prelude::{EventBuilder, FinalizeEvent, Keys, Kind, Tag, Timestamp};
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    let v = members_on(dir.path(), &["Alice", "Bob"], &[&relay.url]);
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    note(&v[0], "Bob", &body);
    sync(&v[0]);
    // Anyone who sees the events can copy a chunk's header (it is in the
    // clear) with other data, dated newest so it is read first.
    let real = relay.published();
    assert!(real.len() > 1, "chunks");
    let forged: Vec<_> = real
        .iter()
        .map(|e| {
            let mut piece = BASE64.decode(&e.content).unwrap();
            *piece.last_mut().unwrap() ^= 0xff;
            let p = e.tags.iter().find(|t| t.kind() == "p").unwrap().clone();
            EventBuilder::new(Kind::GiftWrap, BASE64.encode(piece))
                .tag(Tag::parse(p.as_slice()).unwrap())
                .custom_created_at(Timestamp::now())
                .finalize(&Keys::generate())
                .unwrap()
        })
        .collect();
    relay.hold(forged);
    let report = sync(&v[1]);
    assert_eq!(report.opened.len(), 1, "{report:?}");
    assert_eq!(report.opened[0].body, body);
}

#[test]
fn a_copy_sealed_to_a_key_replaced_before_it_went_out_is_sealed_again() {
    use tend_core::testing::prune_retired_keys_at;
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    let v = members_on(dir.path(), &["Alice", "Bob"], &[&relay.url]);
    let (alice, bob) = (&v[0], &v[1]);
    // Bob's new epoch; Alice, away, writes to the key she holds.
    bob.comrades().rotate_encryption_key().unwrap();
    bob.envelopes().seal_card_update().unwrap();
    sync(bob);
    note(alice, "Bob", b"written while away");
    // By the time it arrives, Bob has deleted the key it names.
    prune_retired_keys_at(bob, chrono::Utc::now() + chrono::Duration::days(15)).unwrap();
    // Alice's sync fetches first: it opens Bob's card, and the copy is
    // sealed again to the key that card brought before it goes.
    let report = sync(alice);
    assert!(report.relays[0].sent >= 1, "{report:?}");
    // The copy sealed again opens.
    let report = sync(bob);
    let opened: Vec<_> = report
        .opened
        .iter()
        .filter(|o| o.kind != "card.update")
        .map(|o| o.body.clone())
        .collect();
    assert_eq!(opened, vec![b"written while away".to_vec()], "{report:?}");
}

#[test]
fn a_vault_from_before_post_quantum_keys_tells_comrades_its_new_key_at_unlock() {
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (
        common::member(dir.path(), "Alice"),
        common::member(dir.path(), "Bob"),
    );
    tend_core::testing::as_before_post_quantum(&alice).unwrap();
    for v in [&alice, &bob] {
        v.delivery().add_relay(&relay.url).unwrap();
    }
    common::befriend(&alice, &bob);
    for v in [&alice, &bob, &alice] {
        sync(v);
    }
    let alice_at_bob = || bob.comrades().find("Alice").unwrap();
    assert!(
        !alice_at_bob().post_quantum,
        "her card names no such key yet"
    );
    // The update: her next unlock gives her key its post-quantum half, and
    // her card goes to Bob in her next sync, not only with her next message.
    let sent = alice.envelopes().outbox().unwrap().len();
    alice.lock();
    alice.unlock_with_key(&common::key(7)).unwrap();
    let outbox = alice.envelopes().outbox().unwrap();
    assert_eq!(
        (outbox.len(), outbox[0].kind.as_str()),
        (sent + 1, "card.update")
    );
    sync(&alice);
    sync(&bob);
    assert!(alice_at_bob().post_quantum);
    assert!(
        bob.comrades()
            .find("Alice")
            .unwrap()
            .identity_conflict_at
            .is_none()
    );
}

/// A comrade's message the vault turns down (an answer about a gathering
/// it never had) is taken off the relay like any other: it stops neither
/// this sync nor the next, and what came with it arrives.
#[test]
fn a_message_turned_down_stops_no_sync() {
    let relay = FakeRelay::honest();
    let dir = tempfile::tempdir().unwrap();
    let v = members_on(dir.path(), &["Alice", "Bob"], &[&relay.url]);
    let (alice, bob) = (&v[0], &v[1]);
    let body = json!({"v":1,"uid":"no-such-gathering@tend","start":"2026-12-05T18:00:00",
        "response":"going","at":1_795_694_400_000_i64});
    bob.envelopes()
        .seal(&tend_core::envelope::Outgoing {
            kind: tend_core::kinds::GATHERING_RSVP,
            body: body.to_string().as_bytes(),
            to: &[comrade(bob, "Alice")],
            expires_at: None,
        })
        .unwrap();
    note(bob, "Alice", b"hello after it");
    sync(bob);
    let report = sync(alice);
    let turned_down: usize = report.relays.iter().map(|r| r.turned_down).sum();
    assert_eq!(turned_down, 1);
    assert!(report.opened.iter().any(|o| o.body == b"hello after it"));
    let again = sync(alice);
    assert_eq!(
        again.relays.iter().map(|r| r.turned_down).sum::<usize>(),
        0,
        "not fetched again"
    );
}
