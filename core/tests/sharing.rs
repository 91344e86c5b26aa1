//! Comrades, cards, safety numbers, circles and envelopes, through the
//! public API, across independent vaults.

mod common;

use chrono::{Duration, Utc};
use common::{befriend, entry, member, snapshot};
use tend_core::Error;
use tend_core::comrades::{Added, Card, CardError};
use tend_core::envelope::{EnvelopeError, Outgoing, Recipient};
use tend_core::kinds;

fn note(to: &[Recipient]) -> Outgoing<'_> {
    Outgoing {
        kind: "test.note",
        body: b"see you saturday",
        to,
        expires_at: None,
    }
}

fn envelope_error(result: tend_core::Result<impl std::fmt::Debug>) -> EnvelopeError {
    match result {
        Err(Error::Envelope(e)) => e,
        other => panic!("expected an envelope error, got {other:?}"),
    }
}

#[test]
fn two_vaults_exchange_envelopes_both_ways_and_a_third_cannot_open_them() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob, carol) = (
        member(dir.path(), "Alice"),
        member(dir.path(), "Bob"),
        member(dir.path(), "Carol"),
    );
    let (bob_id, alice_id) = befriend(&alice, &bob);
    befriend(&alice, &carol);

    let to_bob = alice
        .envelopes()
        .seal(&note(&[Recipient::Comrade(bob_id)]))
        .unwrap();
    let opened = bob.envelopes().open(to_bob.armored().as_bytes()).unwrap();
    assert_eq!(opened.sender.comrade, Some(alice_id));
    assert_eq!(opened.sender.name, "Alice");
    assert_eq!(opened.kind, "test.note");
    assert_eq!(opened.body, b"see you saturday");
    assert_eq!(opened.message_id, to_bob.message_id);

    let reply = bob
        .envelopes()
        .seal(&Outgoing {
            body: b"me too",
            ..note(&[Recipient::Comrade(alice_id)])
        })
        .unwrap();
    let opened = alice.envelopes().open(&reply.bytes).unwrap();
    assert_eq!(opened.sender.comrade, Some(bob_id));
    assert_eq!(opened.body, b"me too");

    // Carol knows Alice, but the envelope was not for her.
    assert_eq!(
        envelope_error(carol.envelopes().open(&to_bob.bytes)),
        EnvelopeError::NotForMe
    );
    assert!(carol.envelopes().inbox(None).unwrap().is_empty());
}

#[test]
fn a_replay_changes_nothing_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(dir.path(), "Alice"), member(dir.path(), "Bob"));
    let (bob_id, _) = befriend(&alice, &bob);
    let sealed = alice
        .envelopes()
        .seal(&note(&[Recipient::Comrade(bob_id)]))
        .unwrap();
    bob.envelopes().open(&sealed.bytes).unwrap();
    bob.lock();
    let before = snapshot(&dir.path().join("Bob"));
    bob.unlock_with_key(&common::key(7)).unwrap();
    assert_eq!(
        envelope_error(bob.envelopes().open(&sealed.bytes)),
        EnvelopeError::Replayed
    );
    assert_eq!(
        envelope_error(bob.envelopes().open(sealed.armored().as_bytes())),
        EnvelopeError::Replayed
    );
    assert_eq!(bob.envelopes().inbox(None).unwrap().len(), 1);
    bob.lock();
    assert!(
        snapshot(&dir.path().join("Bob")) == before,
        "the vault changed"
    );
}

#[test]
fn the_sender_keeps_a_readable_copy_in_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(dir.path(), "Alice"), member(dir.path(), "Bob"));
    let (bob_id, _) = befriend(&alice, &bob);
    let sealed = alice
        .envelopes()
        .seal(&note(&[Recipient::Comrade(bob_id)]))
        .unwrap();
    let outbox = alice.envelopes().outbox().unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].sealed.bytes, sealed.bytes);
    assert_eq!(outbox[0].sealed.recipients[0].name, "Bob");
    // Opening my own copy: it is already mine.
    assert_eq!(
        envelope_error(alice.envelopes().open(&sealed.bytes)),
        EnvelopeError::Replayed
    );
}

#[test]
fn unknown_blocked_and_removed_senders_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(dir.path(), "Alice"), member(dir.path(), "Bob"));
    let stranger = member(dir.path(), "Mallory");
    // Mallory has Bob's card; Bob never added hers.
    let bob_in_m = stranger
        .comrades()
        .add(&bob.comrades().my_card().unwrap(), None)
        .unwrap();
    let from_stranger = stranger
        .envelopes()
        .seal(&note(&[Recipient::Comrade(bob_in_m.comrade().id)]))
        .unwrap();
    assert_eq!(
        envelope_error(bob.envelopes().open(&from_stranger.bytes)),
        EnvelopeError::UnknownSender
    );

    let (bob_id, alice_id) = befriend(&alice, &bob);
    bob.comrades().block(alice_id).unwrap();
    let blocked = alice
        .envelopes()
        .seal(&note(&[Recipient::Comrade(bob_id)]))
        .unwrap();
    assert_eq!(
        envelope_error(bob.envelopes().open(&blocked.bytes)),
        EnvelopeError::BlockedSender
    );

    bob.comrades().unblock(alice_id).unwrap();
    bob.comrades().remove(alice_id).unwrap();
    assert_eq!(
        envelope_error(bob.envelopes().open(&blocked.bytes)),
        EnvelopeError::UnknownSender
    );
    assert!(bob.envelopes().inbox(None).unwrap().is_empty());
}

#[test]
fn blocked_and_removed_comrades_receive_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob, carol) = (
        member(dir.path(), "Alice"),
        member(dir.path(), "Bob"),
        member(dir.path(), "Carol"),
    );
    let (bob_id, _) = befriend(&alice, &bob);
    let (carol_id, _) = befriend(&alice, &carol);
    let c = alice.comrades();
    let circle = c.create_circle("Wellbeing circle").unwrap();
    c.add_to_circle(circle.id, bob_id).unwrap();
    c.add_to_circle(circle.id, carol_id).unwrap();

    c.block(bob_id).unwrap();
    let sealed = alice
        .envelopes()
        .seal(&note(&[Recipient::Circle(circle.id)]))
        .unwrap();
    assert_eq!(sealed.recipients.len(), 1);
    assert_eq!(sealed.recipients[0].name, "Carol");
    assert_eq!(
        envelope_error(bob.envelopes().open(&sealed.bytes)),
        EnvelopeError::NotForMe
    );
    carol.envelopes().open(&sealed.bytes).unwrap();
    assert!(matches!(
        alice.envelopes().seal(&note(&[Recipient::Comrade(bob_id)])),
        Err(Error::Invalid {
            field: "recipient",
            ..
        })
    ));

    c.remove(carol_id).unwrap();
    assert!(c.circle(circle.id).unwrap().members == vec![bob_id]);
    assert!(matches!(
        alice
            .envelopes()
            .seal(&note(&[Recipient::Circle(circle.id)])),
        Err(Error::Invalid {
            field: "recipients",
            ..
        })
    ));
}

#[test]
fn expired_envelopes_are_refused_and_expiry_in_the_past_cannot_be_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(dir.path(), "Alice"), member(dir.path(), "Bob"));
    let (bob_id, _) = befriend(&alice, &bob);
    let to = [Recipient::Comrade(bob_id)];
    let soon = alice
        .envelopes()
        .seal(&Outgoing {
            expires_at: Some(Utc::now() + Duration::milliseconds(300)),
            ..note(&to)
        })
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(
        envelope_error(bob.envelopes().open(&soon.bytes)),
        EnvelopeError::Expired
    );
    assert!(matches!(
        alice.envelopes().seal(&Outgoing {
            expires_at: Some(Utc::now() - Duration::seconds(1)),
            ..note(&to)
        }),
        Err(Error::Invalid {
            field: "expiry",
            ..
        })
    ));
}

#[test]
fn oversized_bodies_and_envelopes_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(dir.path(), "Alice"), member(dir.path(), "Bob"));
    let (bob_id, _) = befriend(&alice, &bob);
    let big = vec![0u8; tend_core::envelope::MAX_BODY_BYTES + 1];
    let to = [Recipient::Comrade(bob_id)];
    assert!(matches!(
        envelope_error(alice.envelopes().seal(&Outgoing {
            body: &big,
            ..note(&to)
        })),
        EnvelopeError::TooLarge { .. }
    ));
    let huge = vec![b'x'; tend_core::envelope::MAX_ENVELOPE_BYTES + 1];
    assert!(matches!(
        envelope_error(bob.envelopes().open(&huge)),
        EnvelopeError::TooLarge { .. }
    ));
    // The largest body goes through.
    let max = vec![7u8; tend_core::envelope::MAX_BODY_BYTES];
    let sealed = alice
        .envelopes()
        .seal(&Outgoing {
            body: &max,
            ..note(&to)
        })
        .unwrap();
    assert!(sealed.bytes.len() <= tend_core::envelope::MAX_ENVELOPE_BYTES);
    assert!(sealed.armored().len() <= tend_core::envelope::MAX_ARMORED_BYTES);
    assert_eq!(
        bob.envelopes()
            .open(sealed.armored().as_bytes())
            .unwrap()
            .body,
        max
    );
}

#[test]
fn tampering_anywhere_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(dir.path(), "Alice"), member(dir.path(), "Bob"));
    let (bob_id, _) = befriend(&alice, &bob);
    let sealed = alice
        .envelopes()
        .seal(&note(&[Recipient::Comrade(bob_id)]))
        .unwrap();
    let before = {
        bob.lock();
        let s = snapshot(&dir.path().join("Bob"));
        bob.unlock_with_key(&common::key(7)).unwrap();
        s
    };
    // Every 7th byte, to keep the test quick; header and payload both.
    for i in (0..sealed.bytes.len()).step_by(7) {
        let mut bad = sealed.bytes.clone();
        bad[i] ^= 0x20;
        let err = envelope_error(bob.envelopes().open(&bad));
        assert!(
            matches!(
                err,
                EnvelopeError::Tampered | EnvelopeError::Malformed | EnvelopeError::NotForMe
            ),
            "byte {i}: {err:?}"
        );
    }
    for len in [0, 10, 100, sealed.bytes.len() / 2, sealed.bytes.len() - 1] {
        let err = envelope_error(bob.envelopes().open(&sealed.bytes[..len]));
        assert!(
            matches!(err, EnvelopeError::Tampered | EnvelopeError::Malformed),
            "{len}: {err:?}"
        );
    }
    bob.lock();
    assert!(
        snapshot(&dir.path().join("Bob")) == before,
        "the vault changed"
    );
}

#[test]
fn cards_round_trip_and_refuse_damage_with_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let alice = member(dir.path(), "Alice");
    let card = alice.comrades().my_card().unwrap();
    let text = card.to_text();
    assert!(text.starts_with("TEND:"));
    // Name, keys, chain link, a mailbox and the post-quantum key's digest;
    // each relay hint adds up to ~195 characters.
    assert!(text.len() < 480, "{} chars", text.len());
    assert!(card.address().is_some_and(|a| a.relays.is_empty()));
    assert_eq!(Card::parse(&text).unwrap(), card);
    assert_eq!(card.name(), "Alice");
    assert_eq!(
        card.identity_key(),
        alice.comrades().my_identity_key().unwrap()
    );

    let card_error = |t: &str| match Card::parse(t) {
        Err(Error::Card(e)) => e,
        other => panic!("{other:?}"),
    };
    assert_eq!(card_error("hello"), CardError::Malformed);
    assert_eq!(card_error("TEND:!!!"), CardError::Malformed);
    // Cut at a Base32 boundary (8 chars = 5 bytes) so only the length tells.
    let cut = 5 + (text.len() - 5) / 16 * 8;
    assert_eq!(card_error(&text[..cut]), CardError::Truncated);
    let mut typo = text.clone().into_bytes();
    typo[40] = if typo[40] == b'A' { b'B' } else { b'A' };
    assert_eq!(
        card_error(std::str::from_utf8(&typo).unwrap()),
        CardError::Checksum
    );
    assert_eq!(card_error(""), CardError::Malformed);
}

#[test]
fn safety_numbers_match_on_both_phones_and_verification_survives_only_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(dir.path(), "Alice"), member(dir.path(), "Bob"));
    let (bob_id, alice_id) = befriend(&alice, &bob);
    let on_alice = alice.comrades().safety_number(bob_id).unwrap();
    let on_bob = bob.comrades().safety_number(alice_id).unwrap();
    assert_eq!(on_alice, on_bob);
    assert_eq!(on_alice.digits().len(), 60);
    assert_eq!(on_alice.groups().len(), 12);

    assert!(!alice.comrades().get(bob_id).unwrap().verified);
    assert!(alice.comrades().mark_verified(bob_id).unwrap().verified);

    // Bob loses his phone and starts again under the same name.
    let new_bob = member(&dir.path().join("new"), "Bob");
    let added = alice
        .comrades()
        .replace_identity(bob_id, &new_bob.comrades().my_card().unwrap())
        .unwrap();
    let Added::IdentityChanged(changed) = added else {
        panic!("{added:?}")
    };
    assert!(!changed.verified);
    assert!(changed.identity_changed_at.is_some());
    assert_ne!(alice.comrades().safety_number(bob_id).unwrap(), on_alice);
    // Envelopes from the old key are now from a stranger.
    let old = bob
        .envelopes()
        .seal(&note(&[Recipient::Comrade(alice_id)]))
        .unwrap();
    assert_eq!(
        envelope_error(alice.envelopes().open(&old.bytes)),
        EnvelopeError::UnknownSender
    );
}

#[test]
fn adding_the_same_card_twice_or_an_older_one_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(dir.path(), "Alice"), member(dir.path(), "Bob"));
    let old_card = bob.comrades().my_card().unwrap();
    assert!(matches!(
        alice.comrades().add(&old_card, None).unwrap(),
        Added::New(_)
    ));
    assert!(matches!(
        alice.comrades().add(&old_card, None).unwrap(),
        Added::Unchanged(_)
    ));
    bob.set_display_name("Bobbie").unwrap();
    let new_card = bob.comrades().my_card().unwrap();
    assert!(new_card.chain().unwrap().seq > old_card.chain().unwrap().seq);
    let Added::Updated(updated) = alice.comrades().add(&new_card, None).unwrap() else {
        panic!()
    };
    assert_eq!(updated.card_name, "Bobbie");
    assert_eq!(updated.name, "Bob", "my name for them stays");
    assert!(matches!(
        alice.comrades().add(&old_card, None).unwrap(),
        Added::Unchanged(_)
    ));
    assert!(matches!(
        alice
            .comrades()
            .add(&alice.comrades().my_card().unwrap(), None),
        Err(Error::Invalid { field: "card", .. })
    ));
    let carol = member(dir.path(), "Carol");
    assert!(matches!(
        alice
            .comrades()
            .add(&carol.comrades().my_card().unwrap(), Some("bob")),
        Err(Error::NameTaken { what: "comrade" })
    ));
}

#[test]
fn a_rotated_key_reaches_comrades_in_a_card_update_and_old_envelopes_still_open() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(dir.path(), "Alice"), member(dir.path(), "Bob"));
    let (bob_id, alice_id) = befriend(&alice, &bob);
    bob.comrades().mark_verified(alice_id).unwrap();
    let old_card = alice.comrades().my_card().unwrap();
    let number = bob.comrades().safety_number(alice_id).unwrap();
    // Bob seals to Alice's old key; it arrives after she rotates.
    let in_flight = bob
        .envelopes()
        .seal(&note(&[Recipient::Comrade(alice_id)]))
        .unwrap();
    let new_card = alice.comrades().rotate_encryption_key().unwrap();
    assert_ne!(new_card.encryption_key(), old_card.encryption_key());
    assert_eq!(new_card.identity_key(), old_card.identity_key());
    alice.envelopes().open(&in_flight.bytes).unwrap();

    let update = alice.envelopes().seal_card_update().unwrap();
    assert_eq!(update.recipients.len(), 1);
    bob.envelopes().open(&update.bytes).unwrap();
    // Bob's copy of Alice's card is now the new one: adding it changes nothing.
    assert!(matches!(
        bob.comrades().add(&new_card, None).unwrap(),
        Added::Unchanged(_)
    ));
    let after = bob
        .envelopes()
        .seal(&note(&[Recipient::Comrade(alice_id)]))
        .unwrap();
    alice.envelopes().open(&after.bytes).unwrap();
    assert_eq!(
        alice.envelopes().inbox(None).unwrap().len(),
        2,
        "card updates are not inbox items"
    );
    // Same identity: still verified, same safety number.
    assert!(bob.comrades().get(alice_id).unwrap().verified);
    assert_eq!(bob.comrades().safety_number(alice_id).unwrap(), number);
    let _ = bob_id;
}

#[test]
fn circles_are_named_groups_with_members_added_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob, carol) = (
        member(dir.path(), "Alice"),
        member(dir.path(), "Bob"),
        member(dir.path(), "Carol"),
    );
    let (bob_id, _) = befriend(&alice, &bob);
    let (carol_id, _) = befriend(&alice, &carol);
    let c = alice.comrades();
    let circle = c.create_circle("Wellbeing circle").unwrap();
    assert!(matches!(
        c.create_circle("wellbeing CIRCLE"),
        Err(Error::NameTaken { what: "circle" })
    ));
    c.add_to_circle(circle.id, carol_id).unwrap();
    c.add_to_circle(circle.id, bob_id).unwrap();
    c.add_to_circle(circle.id, bob_id).unwrap();
    assert_eq!(c.circle(circle.id).unwrap().members, vec![bob_id, carol_id]);
    c.remove_from_circle(circle.id, bob_id).unwrap();
    assert_eq!(
        c.find_circle("wellbeing circle").unwrap().members,
        vec![carol_id]
    );
    c.rename_circle(circle.id, "Care team").unwrap();
    assert_eq!(c.circles().unwrap()[0].name, "Care team");
    c.delete_circle(circle.id).unwrap();
    assert!(c.circles().unwrap().is_empty());
    assert_eq!(c.list().unwrap().len(), 2, "members stay comrades");
}

#[test]
fn a_shared_entry_reaches_shared_with_me_and_never_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(dir.path(), "Alice"), member(dir.path(), "Bob"));
    let (bob_id, _) = befriend(&alice, &bob);
    let written = alice
        .journal()
        .add(tend_core::journal::NewEntry {
            mood: Some(4),
            feelings: vec!["calm".into()],
            title: Some("Saturday".into()),
            ..entry("painted a heron by the canal")
        })
        .unwrap();
    let sealed = alice
        .journal()
        .share(
            written.id,
            &[Recipient::Comrade(bob_id)],
            Some("thought of you"),
        )
        .unwrap();
    bob.envelopes().open(&sealed.bytes).unwrap();

    let shared = bob.journal().shared_with_me().unwrap();
    assert_eq!(shared.len(), 1);
    let s = &shared[0];
    assert_eq!(s.from.name, "Alice");
    assert_eq!(s.note.as_deref(), Some("thought of you"));
    assert_eq!(s.body, "painted a heron by the canal");
    assert_eq!(s.written_at, written.written_at);
    assert_eq!(s.mood.as_ref().unwrap().label, "good");
    assert_eq!(s.feelings, ["calm"]);
    assert_eq!(bob.journal().count().unwrap(), 0);
    assert!(bob.journal().search("heron", 10).unwrap().is_empty());

    let with = alice.journal().shared_with(written.id).unwrap();
    assert_eq!(with.len(), 1);
    assert_eq!(with[0].recipients[0].name, "Bob");
    assert_eq!(with[0].message_id, sealed.message_id);
}

#[test]
fn an_unknown_kind_with_a_hostile_body_of_a_known_kind_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(dir.path(), "Alice"), member(dir.path(), "Bob"));
    let (bob_id, _) = befriend(&alice, &bob);
    let bad = alice
        .envelopes()
        .seal(&Outgoing {
            kind: kinds::JOURNAL_ENTRY,
            body: b"{\"v\":1,\"entry\":{\"written_at\":\"yesterday\",\"body\":\"\"}}",
            to: &[Recipient::Comrade(bob_id)],
            expires_at: None,
        })
        .unwrap();
    assert_eq!(
        envelope_error(bob.envelopes().open(&bad.bytes)),
        EnvelopeError::Malformed
    );
    assert!(bob.envelopes().inbox(None).unwrap().is_empty());
    assert!(matches!(
        alice.envelopes().seal(&Outgoing {
            kind: "Not A Kind",
            ..note(&[Recipient::Comrade(bob_id)])
        }),
        Err(Error::Envelope(EnvelopeError::Malformed))
    ));
}

#[test]
fn nothing_shared_is_readable_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    // Names of five letters or more: any 3 bytes turn up by chance in about
    // one vault file in 16 (a megabyte of ciphertext, 2^24 values).
    let (alice, bob) = (member(dir.path(), "Alice"), member(dir.path(), "Bobbie"));
    let (bob_id, _) = befriend(&alice, &bob);
    let e = alice.journal().add(entry("the heron came back")).unwrap();
    let sealed = alice
        .journal()
        .share(e.id, &[Recipient::Comrade(bob_id)], None)
        .unwrap();
    bob.envelopes().open(&sealed.bytes).unwrap();
    drop((alice, bob));
    common::assert_no_plaintext(&dir.path().join("Alice"), &["heron", "Bobbie"]);
    common::assert_no_plaintext(&dir.path().join("Bobbie"), &["heron", "Alice"]);
}

#[test]
fn debug_output_shows_no_names_keys_or_words() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (
        member(dir.path(), "Alice"),
        member(dir.path(), "Bobbington"),
    );
    let (bob_id, _) = befriend(&alice, &bob);
    let e = alice.journal().add(entry("the heron came back")).unwrap();
    let sealed = alice
        .journal()
        .share(e.id, &[Recipient::Comrade(bob_id)], Some("kingfisher note"))
        .unwrap();
    let opened = bob.envelopes().open(&sealed.bytes).unwrap();
    let shown = format!(
        "{:?} {:?} {:?} {:?} {:?} {:?} {:?}",
        alice.comrades().get(bob_id).unwrap(),
        alice.comrades().my_card().unwrap(),
        sealed,
        opened,
        bob.journal().shared_with_me().unwrap(),
        bob.envelopes().inbox(None).unwrap(),
        alice.envelopes().outbox().unwrap(),
    );
    for secret in ["Alice", "Bobbington", "heron", "kingfisher"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

/// Replay records go once their envelope can no longer be opened, and a
/// replay after that is refused as expired: never opened twice.
#[cfg(feature = "testing")]
#[test]
fn replay_records_are_pruned_and_replays_stay_refused() {
    use tend_core::envelope::MAX_UNEXPIRING_AGE;
    use tend_core::testing::{prune_replay_records_at, seal_made_at};
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(dir.path(), "Alice"), member(dir.path(), "Bob"));
    let (bob_id, _) = befriend(&alice, &bob);
    let to_bob = [Recipient::Comrade(bob_id)];
    let now = Utc::now();

    // An envelope that expires in 1.5 s: its record goes a day after that.
    let brief = alice
        .envelopes()
        .seal(&Outgoing {
            expires_at: Some(now + Duration::milliseconds(1500)),
            ..note(&to_bob)
        })
        .unwrap();
    // One without an expiry, made a year and a day ago: too old to open.
    let ancient = seal_made_at(
        &alice,
        &note(&to_bob),
        now - MAX_UNEXPIRING_AGE - Duration::days(1),
    )
    .unwrap();
    assert_eq!(
        envelope_error(bob.envelopes().open(&ancient.bytes)),
        EnvelopeError::Expired
    );
    // One without an expiry, made now: kept for a year.
    let lasting = alice.envelopes().seal(&note(&to_bob)).unwrap();
    bob.envelopes().open(&brief.bytes).unwrap();
    bob.envelopes().open(&lasting.bytes).unwrap();

    assert_eq!(prune_replay_records_at(&bob, now).unwrap(), 0);
    for sealed in [&brief, &lasting] {
        assert_eq!(
            envelope_error(bob.envelopes().open(&sealed.bytes)),
            EnvelopeError::Replayed
        );
    }
    assert_eq!(
        prune_replay_records_at(&bob, now + Duration::days(2)).unwrap(),
        1,
        "only the brief one's record goes"
    );
    assert_eq!(
        envelope_error(bob.envelopes().open(&lasting.bytes)),
        EnvelopeError::Replayed
    );
    std::thread::sleep(std::time::Duration::from_millis(1600));
    assert_eq!(
        envelope_error(bob.envelopes().open(&brief.bytes)),
        EnvelopeError::Expired,
        "its record is gone, and it is refused all the same"
    );
    assert_eq!(
        prune_replay_records_at(&bob, now + MAX_UNEXPIRING_AGE + Duration::days(2)).unwrap(),
        1,
        "the lasting one's record goes when it could no longer be opened"
    );
    assert_eq!(
        bob.envelopes().inbox(None).unwrap().len(),
        2,
        "each opened once"
    );
}

/// On unencrypted twins, so encryption cannot hide a leftover: after each
/// kind of deletion nothing of what went is left in any byte of the files:
/// a deleted entry's sealed copies in the outbox, an inbox item deleted by
/// hand, shared entries cleared by age, replay records once pruned.
#[cfg(all(feature = "plaintext-baseline", feature = "testing"))]
#[test]
fn every_kind_of_deletion_leaves_no_bytes_behind() {
    use tend_core::Vault;
    use tend_core::envelope::MAX_UNEXPIRING_AGE;
    let has = |dir: &std::path::Path, needle: &[u8]| {
        snapshot(dir)
            .into_iter()
            .any(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle))
    };
    let tmp = tempfile::tempdir().unwrap();
    let (alice_dir, bob_dir) = (tmp.path().join("alice"), tmp.path().join("bob"));
    let alice = Vault::create_plaintext_baseline(&alice_dir).unwrap();
    let bob = Vault::create_plaintext_baseline(&bob_dir).unwrap();
    alice.set_display_name("Alice").unwrap();
    bob.set_display_name("Bob").unwrap();
    let (bob_id, _) = befriend(&alice, &bob);
    let to_bob = [Recipient::Comrade(bob_id)];
    let journal = alice.journal();
    for i in 0..50 {
        journal
            .add(entry(&format!("filler {i} cobaltheron")))
            .unwrap();
    }

    let gone = journal.add(entry("obsidianfalcon flew")).unwrap();
    let first = journal
        .share(gone.id, &to_bob, Some("zephyrquill"))
        .unwrap();
    let second = journal.share(gone.id, &to_bob, None).unwrap();
    let other = journal.add(entry("marblewren sang")).unwrap();
    let third = journal.share(other.id, &to_bob, None).unwrap();
    for sealed in [&first, &second, &third] {
        bob.envelopes().open(&sealed.bytes).unwrap();
    }

    // The entry and its two sealed copies go; the third share stays.
    assert_eq!(journal.delete(gone.id).unwrap(), 2);
    let outbox: Vec<_> = alice.envelopes().outbox().unwrap();
    assert!(
        outbox
            .iter()
            .all(|o| o.sealed.message_id != first.message_id)
    );
    assert!(
        outbox
            .iter()
            .any(|o| o.sealed.message_id == third.message_id)
    );
    // Closed, so the write-ahead log is checkpointed and gone: what a
    // seized phone's files hold once the app is stopped.
    drop(alice);
    assert!(
        has(&alice_dir, &third.bytes[100..164]),
        "the scan sees envelopes"
    );
    for sealed in [&first, &second] {
        assert!(
            !has(&alice_dir, &sealed.bytes[100..164]),
            "a sealed copy is left"
        );
    }
    assert!(has(&alice_dir, b"cobaltheron"), "the scan sees words");
    common::assert_no_plaintext(&alice_dir, &["obsidianfalcon"]);

    // Bob deletes one item by hand, then clears what was shared by age.
    bob.envelopes().delete_from_inbox(first.message_id).unwrap();
    assert!(matches!(
        bob.envelopes().delete_from_inbox(first.message_id),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        envelope_error(bob.envelopes().open(&first.bytes)),
        EnvelopeError::Replayed,
        "deleted is not forgotten: the same envelope is refused"
    );
    drop(bob);
    common::assert_no_plaintext(&bob_dir, &["zephyrquill"]);
    assert!(has(&bob_dir, b"marblewren"), "the scan sees what stays");
    let bob = Vault::open_plaintext_baseline(&bob_dir).unwrap();
    let cleared = bob
        .journal()
        .clear_shared_before(Utc::now() + Duration::seconds(1))
        .unwrap();
    assert_eq!(cleared, 2);
    assert!(bob.journal().shared_with_me().unwrap().is_empty());
    drop(bob);
    common::assert_no_plaintext(&bob_dir, &["obsidianfalcon", "marblewren"]);

    // Replay records: kept while the envelopes could be opened, then gone.
    let id = first.message_id.to_string().replace('-', "");
    let id = hex::decode(id).unwrap();
    assert!(has(&bob_dir, &id));
    let bob = Vault::open_plaintext_baseline(&bob_dir).unwrap();
    let later = Utc::now() + MAX_UNEXPIRING_AGE + Duration::days(2);
    assert_eq!(
        tend_core::testing::prune_replay_records_at(&bob, later).unwrap(),
        3
    );
    drop(bob);
    assert!(!has(&bob_dir, &id), "a pruned replay record is left");
}
