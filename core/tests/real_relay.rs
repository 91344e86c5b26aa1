//! The delivery journeys against a real nostr-rs-relay, started on
//! 127.0.0.1 with a database of its own and stopped afterwards. `.ci/run`
//! builds the relay and runs these with `--ignored`, `TEND_RELAY_BIN` set.

mod common;
mod relays;

use relays::RealRelay;
use relays::journeys::{self, WORDS};

fn relay(dir: &std::path::Path, name: &str) -> RealRelay {
    RealRelay::start(&dir.join(name))
}

#[test]
#[ignore = "needs nostr-rs-relay in TEND_RELAY_BIN; .ci/run builds it"]
fn three_members_exchange_care_and_the_relay_restarts_midway() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = relay(dir.path(), "relay");
    let url = relay.url.clone();
    journeys::care_among_three(&dir.path().join("members"), &url, &mut || {
        relay.stop();
        relay.resume();
    });
    relay.stop();
    // Its database holds the events, and none of the words in them.
    assert!(std::fs::metadata(relay.dir.join("nostr.db")).unwrap().len() > 0);
    common::assert_no_plaintext(&relay.dir, WORDS);
}

#[test]
#[ignore = "needs nostr-rs-relay in TEND_RELAY_BIN; .ci/run builds it"]
fn the_same_event_from_two_relays_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (relay(dir.path(), "one"), relay(dir.path(), "two"));
    journeys::taken_once_from_two(&dir.path().join("members"), &one.url, &two.url);
}

#[test]
#[ignore = "needs nostr-rs-relay in TEND_RELAY_BIN; .ci/run builds it"]
fn a_one_mebibyte_envelope_arrives_in_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay(dir.path(), "relay");
    journeys::large_in_chunks(&dir.path().join("members"), &relay.url);
}

#[test]
#[ignore = "needs nostr-rs-relay in TEND_RELAY_BIN; .ci/run builds it"]
fn nothing_is_lost_while_the_relay_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = relay(dir.path(), "relay");
    let url = relay.url.clone();
    journeys::nothing_lost_while_down(&dir.path().join("members"), &url, &mut |down| {
        if down { relay.stop() } else { relay.resume() }
    });
    relay.stop();
    common::assert_no_plaintext(&relay.dir, WORDS);
}

#[test]
#[ignore = "needs nostr-rs-relay in TEND_RELAY_BIN; .ci/run builds it"]
fn a_removed_comrade_cannot_reach_my_new_mailbox() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay(dir.path(), "relay");
    journeys::removed_comrade_goes_nowhere(&dir.path().join("members"), &relay.url);
}

#[test]
#[ignore = "needs nostr-rs-relay in TEND_RELAY_BIN; .ci/run builds it"]
fn a_flood_sharing_one_date_cannot_hide_a_real_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay(dir.path(), "relay");
    let url = relay.url.clone();
    journeys::flood_cannot_hide(dir.path(), &relay.url, 500, &mut |events| {
        relays::publish_raw(&url, &events)
    });
}

#[test]
#[ignore = "needs nostr-rs-relay in TEND_RELAY_BIN; .ci/run builds it"]
fn a_member_moves_phones_and_comrades_carry_on() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay(dir.path(), "relay");
    journeys::moves_phone(&dir.path().join("members"), &relay.url);
}

#[test]
#[ignore = "needs nostr-rs-relay in TEND_RELAY_BIN; .ci/run builds it"]
fn a_member_moves_phone_to_phone_through_the_relays() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay(dir.path(), "relay");
    journeys::moves_phone_to_phone(&dir.path().join("members"), &relay.url);
}

#[test]
#[ignore = "needs nostr-rs-relay in TEND_RELAY_BIN; .ci/run builds it"]
fn a_greeting_round_and_a_pulse_go_through_the_relays() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay(dir.path(), "relay");
    journeys::greeting_round_and_pulse(&dir.path().join("members"), &relay.url);
}
