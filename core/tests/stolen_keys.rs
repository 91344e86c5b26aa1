//! Issue 17's attackers, through real vaults: a forger holding the identity
//! key taken from a copy of a member's vault.

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::{befriend, member};
use tend_core::comrades::CardError;
use tend_core::envelope::EnvelopeError;
use tend_core::testing::Forger;
use tend_core::testing::{
    date_current_key, next_epoch_at, prune_retired_keys_at, seal_made_at, vault_keys_decrypt,
};
use tend_core::{Error, Vault};

fn card_of_alice(bob: &Vault) -> tend_core::comrades::Card {
    let alice = bob.comrades().find("Alice").unwrap().id;
    tend_core::testing::card_of(bob, alice).unwrap()
}

#[test]
fn a_card_dated_far_ahead_is_refused_and_the_genuine_rotation_still_taken() {
    let tmp = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(tmp.path(), "Alice"), member(tmp.path(), "Bob"));
    befriend(&alice, &bob);
    let held = card_of_alice(&bob);
    let forger = Forger::from_vault(&alice).unwrap();
    let bobs = bob.comrades().my_card().unwrap();

    // Dated 2100, as the review did, in the format before card chains and
    // as the next card of Alice's chain: refused, in an envelope and by hand.
    let in_2100 = Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).unwrap();
    for forged in [
        forger.unchained_card(in_2100).unwrap(),
        forger.next_card(in_2100).unwrap(),
    ] {
        assert!(matches!(
            bob.envelopes()
                .open(&forger.card_update(&forged, &bobs).unwrap()),
            Err(Error::Envelope(EnvelopeError::CardIssuedAhead))
        ));
        assert!(matches!(
            bob.comrades().add(&forged, None),
            Err(Error::Card(CardError::IssuedAhead))
        ));
    }
    // A day and an hour ahead is already too far.
    let ahead = forger.next_card(Utc::now() + Duration::hours(25)).unwrap();
    assert!(matches!(
        bob.envelopes()
            .open(&forger.card_update(&ahead, &bobs).unwrap()),
        Err(Error::Envelope(EnvelopeError::CardIssuedAhead))
    ));
    assert_eq!(
        card_of_alice(&bob),
        held,
        "nothing of the forger's was kept"
    );

    // Alice's genuine rotation, later, is taken.
    let rotated = alice.comrades().rotate_encryption_key().unwrap();
    let update = alice.envelopes().seal_card_update().unwrap();
    bob.envelopes().open(&update.bytes).unwrap();
    assert_eq!(card_of_alice(&bob), rotated);
}

#[test]
fn an_envelope_under_a_retired_key_and_an_older_card_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(tmp.path(), "Alice"), member(tmp.path(), "Bob"));
    befriend(&alice, &bob);
    let bobs = bob.comrades().my_card().unwrap();
    // A copy of Alice's vault is taken; then she rotates, and Bob learns it.
    let forger = Forger::from_vault(&alice).unwrap();
    alice.comrades().rotate_encryption_key().unwrap();
    let update = alice.envelopes().seal_card_update().unwrap();
    bob.envelopes().open(&update.bytes).unwrap();
    // Within the grace, what she sealed before the rotation still opens: an
    // envelope can wait on a relay that long.
    let note = forger
        .with_stolen_key(&bobs, "test.note", b"sealed before the rotation")
        .unwrap();
    assert_eq!(bob.envelopes().open(&note).unwrap().sender.name, "Alice");
    // After the grace, sixteen days from the card that replaced it, the key
    // the copy holds speaks for her no more.
    let forged = forger
        .with_stolen_key(&bobs, "test.note", b"from the thief")
        .unwrap();
    let after_grace = Utc::now() + Duration::days(17);
    assert!(matches!(
        tend_core::testing::open_envelope_at(&bob, &forged, after_grace),
        Err(Error::Envelope(EnvelopeError::RetiredKey))
    ));
    assert!(
        bob.envelopes()
            .inbox(None)
            .unwrap()
            .iter()
            .all(|i| i.opened.body != b"from the thief")
    );
}

/// `from` seals a note to the comrade it calls `to`, with the key of
/// theirs it holds.
fn note_to(from: &Vault, to: &str, body: &[u8]) -> Vec<u8> {
    let to = from.comrades().find(to).unwrap().id;
    from.envelopes()
        .seal(&tend_core::envelope::Outgoing {
            kind: "test.note",
            body,
            to: &[tend_core::envelope::Recipient::Comrade(to)],
            expires_at: None,
        })
        .unwrap()
        .bytes
}

#[test]
fn my_retired_keys_are_gone_two_weeks_after_the_rotation_even_with_no_other() {
    let tmp = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(tmp.path(), "Alice"), member(tmp.path(), "Bob"));
    befriend(&alice, &bob);
    // Bob has not heard of the rotation: he seals to the retired key.
    alice.comrades().rotate_encryption_key().unwrap();
    let early = note_to(&bob, "Alice", b"to the old key");
    let late = note_to(&bob, "Alice", b"to the old key, two weeks on");
    prune_retired_keys_at(&alice, Utc::now() + Duration::days(13)).unwrap();
    assert!(
        alice.envelopes().open(&early).is_ok(),
        "kept within the two weeks"
    );
    // An unlock two weeks and a day on deletes it, though no rotation came.
    prune_retired_keys_at(&alice, Utc::now() + Duration::days(15)).unwrap();
    assert!(matches!(
        alice.envelopes().open(&late),
        Err(Error::Envelope(EnvelopeError::NotForMe))
    ));
}

#[test]
fn a_thiefs_card_and_the_genuine_one_fork_into_a_loud_identity_conflict() {
    let tmp = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(tmp.path(), "Alice"), member(tmp.path(), "Bob"));
    befriend(&alice, &bob);
    let alice_id = bob.comrades().find("Alice").unwrap().id;
    bob.comrades().mark_verified(alice_id).unwrap();
    let bobs = bob.comrades().my_card().unwrap();
    // Within the day's tolerance, the thief's next card extends the chain
    // Bob holds, and he takes it: nothing yet tells the two apart.
    let forger = Forger::from_vault(&alice).unwrap();
    let thiefs = forger.next_card(Utc::now()).unwrap();
    bob.envelopes()
        .open(&forger.card_update(&thiefs, &bobs).unwrap())
        .unwrap();
    assert_eq!(card_of_alice(&bob), thiefs);
    // Alice's own next card is the same number in another chain: a fork.
    alice.comrades().rotate_encryption_key().unwrap();
    let genuine = alice.envelopes().seal_card_update().unwrap();
    assert!(matches!(
        bob.envelopes().open(&genuine.bytes),
        Err(Error::Envelope(EnvelopeError::IdentityConflict))
    ));
    let seen = bob.comrades().get(alice_id).unwrap();
    assert!(seen.identity_conflict_at.is_some(), "the conflict is kept");
    assert!(!seen.verified, "and she is no longer verified");
    assert_eq!(
        card_of_alice(&bob),
        thiefs,
        "nothing was taken from the fork"
    );
    // Nothing from either opens, and Bob seals nothing to that identity.
    let from_thief = forger
        .card_update(&forger.next_card(Utc::now()).unwrap(), &bobs)
        .unwrap();
    let from_alice = note_to(&alice, "Bob", b"it is really me");
    for envelope in [&from_thief, &from_alice] {
        assert!(matches!(
            bob.envelopes().open(envelope),
            Err(Error::Envelope(EnvelopeError::IdentityConflict))
        ));
    }
    let to_alice = [tend_core::envelope::Recipient::Comrade(alice_id)];
    let refused = bob.envelopes().seal(&tend_core::envelope::Outgoing {
        kind: "test.note",
        body: b"to whoever holds her key",
        to: &to_alice,
        expires_at: None,
    });
    assert!(
        refused.is_err(),
        "nothing is sealed to an identity in conflict"
    );

    // They meet; Bob takes the card Alice's phone shows.
    let shown = alice.comrades().my_card().unwrap();
    let resolved = bob.comrades().resolve_conflict(alice_id, &shown).unwrap();
    assert!(resolved.verified && resolved.identity_conflict_at.is_none());
    let later = note_to(&alice, "Bob", b"after we met");
    assert_eq!(bob.envelopes().open(&later).unwrap().body, b"after we met");
    // The thief's chain forks from the one Bob holds now: a conflict again.
    let again = forger
        .card_update(&forger.next_card(Utc::now()).unwrap(), &bobs)
        .unwrap();
    assert!(matches!(
        bob.envelopes().open(&again),
        Err(Error::Envelope(EnvelopeError::IdentityConflict))
    ));
}

#[test]
fn a_card_in_the_format_before_chains_is_refused_once_a_chained_one_is_held() {
    let tmp = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(tmp.path(), "Alice"), member(tmp.path(), "Bob"));
    befriend(&alice, &bob);
    let held = card_of_alice(&bob);
    assert!(held.chain().is_some());
    let forger = Forger::from_vault(&alice).unwrap();
    let old_format = forger.unchained_card(Utc::now()).unwrap();
    let bobs = bob.comrades().my_card().unwrap();
    assert!(matches!(
        bob.envelopes()
            .open(&forger.card_update(&old_format, &bobs).unwrap()),
        Err(Error::Envelope(EnvelopeError::Downgrade))
    ));
    assert!(matches!(
        bob.comrades().add(&old_format, None),
        Err(Error::Card(CardError::Downgrade))
    ));
    assert_eq!(card_of_alice(&bob), held);
}

#[test]
fn a_comrade_who_missed_card_updates_follows_the_chain_from_any_envelope() {
    let tmp = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(tmp.path(), "Alice"), member(tmp.path(), "Bob"));
    befriend(&alice, &bob);
    // Three rotations whose card updates never reach Bob.
    for _ in 0..3 {
        alice.comrades().rotate_encryption_key().unwrap();
        alice.envelopes().seal_card_update().unwrap();
    }
    let note = note_to(&alice, "Bob", b"three keys later");
    assert_eq!(
        bob.envelopes().open(&note).unwrap().body,
        b"three keys later"
    );
    assert_eq!(card_of_alice(&bob), alice.comrades().my_card().unwrap());
}

#[test]
fn a_comrade_whose_card_i_hold_from_before_chains_starts_their_chain_with_the_next() {
    let tmp = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(tmp.path(), "Alice"), member(tmp.path(), "Bob"));
    // Bob holds a card of Alice's in the format before chains, as a vault
    // from before the update would.
    let old = Forger::from_vault(&alice)
        .unwrap()
        .unchained_card(Utc::now() - Duration::hours(1))
        .unwrap();
    bob.comrades().add(&old, None).unwrap();
    alice
        .comrades()
        .add(&bob.comrades().my_card().unwrap(), None)
        .unwrap();
    // Her first envelope since carries her chained card: taken, and from
    // now on her chain is what counts.
    let note = note_to(&alice, "Bob", b"updated");
    assert_eq!(bob.envelopes().open(&note).unwrap().body, b"updated");
    assert_eq!(card_of_alice(&bob), alice.comrades().my_card().unwrap());
    assert!(matches!(
        bob.comrades().add(&old, None),
        Err(Error::Card(CardError::Downgrade))
    ));
}

#[test]
fn a_relay_that_recorded_four_weekly_epochs_then_takes_the_unlocked_phone_reads_only_the_last() {
    let tmp = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(tmp.path(), "Alice"), member(tmp.path(), "Bob"));
    befriend(&alice, &bob);
    let to_bob = [tend_core::envelope::Recipient::Comrade(
        alice.comrades().find("Bob").unwrap().id,
    )];
    // Bob's phone has been in use for four weeks and a day; each week a new
    // epoch key, whose card Alice opens, and each week a note from her that
    // the relay keeps.
    let start = Utc::now() - Duration::weeks(4) - Duration::days(1);
    date_current_key(&bob, start).unwrap();
    let mut recorded = Vec::new();
    for week in 0..=4 {
        let at = start + Duration::weeks(week);
        if week > 0 {
            assert!(
                next_epoch_at(&bob, at).unwrap(),
                "week {week} begins an epoch"
            );
            assert!(!next_epoch_at(&bob, at).unwrap(), "once");
            let update = bob.envelopes().seal_card_update().unwrap();
            alice.envelopes().open(&update.bytes).unwrap();
        }
        let note = tend_core::envelope::Outgoing {
            kind: "test.note",
            body: b"this week",
            to: &to_bob,
            expires_at: None,
        };
        recorded.push(
            seal_made_at(&alice, &note, at + Duration::hours(1))
                .unwrap()
                .bytes,
        );
    }
    // Seized today and unlocked (unlocking prunes as it always does): every
    // secret in the vault opens only this epoch's notes and those of the two
    // keys still within their two weeks' grace.
    prune_retired_keys_at(&bob, Utc::now()).unwrap();
    let readable: Vec<usize> = (0..recorded.len())
        .filter(|&i| vault_keys_decrypt(&bob, &recorded[i]).unwrap())
        .collect();
    assert_eq!(readable, vec![2, 3, 4]);
    assert!(matches!(
        bob.envelopes().open(&recorded[1]),
        Err(Error::Envelope(EnvelopeError::NotForMe))
    ));
    assert_eq!(
        bob.envelopes().open(&recorded[4]).unwrap().body,
        b"this week"
    );
}

#[test]
fn a_copy_of_bobs_vault_forges_alice_to_bob_only_while_its_epoch_key_lives() {
    let tmp = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(tmp.path(), "Alice"), member(tmp.path(), "Bob"));
    befriend(&alice, &bob);
    // Bob has heard from Alice, so his vault holds her post-quantum key too.
    bob.envelopes()
        .open(&note_to(&alice, "Bob", b"hello"))
        .unwrap();
    let alices = card_of_alice(&bob);
    let forger = Forger::from_vault(&bob).unwrap();
    // The MAC is one Bob could make himself: that is its deniability, and
    // with Bob's own secret, anyone can make it too, for that key's life.
    let forged = forger
        .as_comrade_to_victim(&alices, "test.note", b"forged")
        .unwrap();
    assert_eq!(bob.envelopes().open(&forged).unwrap().sender.name, "Alice");
    // Two epochs on and the grace past, the stolen secret forges nothing:
    // Alice seals to keys the copy never held.
    let later = forger
        .as_comrade_to_victim(&alices, "test.note", b"forged later")
        .unwrap();
    bob.comrades().rotate_encryption_key().unwrap();
    bob.comrades().rotate_encryption_key().unwrap();
    prune_retired_keys_at(&bob, Utc::now() + Duration::days(15)).unwrap();
    assert!(matches!(
        bob.envelopes().open(&later),
        Err(Error::Envelope(EnvelopeError::NotForMe))
    ));
}

#[test]
fn a_card_that_drops_the_post_quantum_key_is_refused_as_a_downgrade() {
    let tmp = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(tmp.path(), "Alice"), member(tmp.path(), "Bob"));
    befriend(&alice, &bob);
    assert!(card_of_alice(&bob).pq_digest().is_some());
    // A thief who would have Bob seal to X25519 alone again.
    let forger = Forger::from_vault(&alice).unwrap().without_post_quantum();
    let card = forger.next_card(Utc::now()).unwrap();
    assert!(card.pq_digest().is_none());
    let bobs = bob.comrades().my_card().unwrap();
    let update = forger.card_update(&card, &bobs).unwrap();
    assert!(matches!(
        bob.envelopes().open(&update),
        Err(Error::Envelope(EnvelopeError::Downgrade))
    ));
    assert!(matches!(
        bob.comrades().add(&card, None),
        Err(Error::Card(tend_core::comrades::CardError::Downgrade))
    ));
    assert!(card_of_alice(&bob).pq_digest().is_some());
}

#[test]
fn a_member_from_before_post_quantum_keys_moves_over_at_unlock_and_comrades_follow() {
    use tend_core::testing::as_before_post_quantum;
    let tmp = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(tmp.path(), "Alice"), member(tmp.path(), "Bob"));
    as_before_post_quantum(&alice).unwrap();
    befriend(&alice, &bob);
    assert!(card_of_alice(&bob).pq_digest().is_none());
    // What Bob seals to her is X25519 alone, and still opens after the upgrade.
    let waiting = note_to(&bob, "Alice", b"before");
    alice.lock();
    alice.unlock_with_key(&common::key(7)).unwrap();
    let upgraded = alice.comrades().my_card().unwrap();
    assert!(upgraded.pq_digest().is_some());
    assert_eq!(alice.envelopes().open(&waiting).unwrap().body, b"before");
    // Her next envelope brings the new card and its key: Bob follows, and
    // seals to her post-quantum from then on.
    bob.envelopes()
        .open(&note_to(&alice, "Bob", b"upgraded"))
        .unwrap();
    assert_eq!(card_of_alice(&bob), upgraded);
    let after = note_to(&bob, "Alice", b"after");
    let secrets = tend_core::testing::x25519_secrets(&alice).unwrap();
    assert!(!tend_core::testing::x25519_alone_decrypts(&secrets, &after));
    assert!(tend_core::testing::x25519_alone_decrypts(
        &secrets, &waiting
    ));
    assert_eq!(alice.envelopes().open(&after).unwrap().body, b"after");
}

/// The recovery key's test of issue 17: Alice's phone is taken, the thief
/// speaks for her with her identity key, and Alice, on a new phone, takes
/// her identity back with the twelve words she wrote down. Bob follows her
/// without meeting again and refuses the thief from then on.
#[test]
fn a_stolen_identity_is_taken_back_with_the_recovery_key_and_the_thief_refused() {
    use tend_core::identity::{RecoveryError, Replacement};
    let tmp = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(tmp.path(), "Alice"), member(tmp.path(), "Bob"));
    let words = alice.set_up_recovery().unwrap().words();
    assert!(matches!(
        alice.set_up_recovery(),
        Err(Error::Recovery(RecoveryError::AlreadySetUp))
    ));
    assert!(alice.recovery_set_up_at().unwrap().is_some());
    befriend(&alice, &bob);
    let at_bob = bob.comrades().find("Alice").unwrap().id;
    bob.comrades().mark_verified(at_bob).unwrap();
    // The thief, holding a copy of the phone, speaks first.
    let thief = Forger::from_vault(&alice).unwrap();
    let bobs = bob.comrades().my_card().unwrap();
    let next = thief.next_card(Utc::now()).unwrap();
    bob.envelopes()
        .open(&thief.card_update(&next, &bobs).unwrap())
        .unwrap();
    assert_eq!(
        card_of_alice(&bob),
        next,
        "within the day, the thief's card is taken"
    );

    // Alice's new phone: a new identity with a recovery key of its own.
    let phone = member(tmp.path(), "Alice on a new phone");
    assert!(
        phone.replacement_statement(&words).is_err(),
        "its own key first"
    );
    let own = phone.set_up_recovery().unwrap().words();
    assert!(
        phone.replacement_statement(&own).is_err(),
        "not its own words"
    );
    // A misspelt word: never on the list, so always caught.
    let wrong = format!("{}x", words.as_str());
    assert!(matches!(
        phone.replacement_statement(&wrong),
        Err(Error::Recovery(RecoveryError::WrongWords))
    ));
    let statement = phone.replacement_statement(&words).unwrap().to_text();
    assert!(statement.starts_with("TENDR:"));

    // By any channel to Bob, who takes it without meeting her.
    let replaced = bob
        .comrades()
        .accept_replacement(&Replacement::parse(&statement).unwrap())
        .unwrap();
    assert_eq!(replaced.id, at_bob, "the same comrade, circles and all");
    assert_eq!(
        replaced.identity_key,
        phone.comrades().my_identity_key().unwrap()
    );
    assert!(
        replaced.verified,
        "the recovery key was on the card Bob verified"
    );
    assert!(replaced.recovered_at.is_some());
    assert!(replaced.identity_conflict_at.is_none());
    // Once only: the old card's key is used up.
    assert!(matches!(
        bob.comrades()
            .accept_replacement(&Replacement::parse(&statement).unwrap()),
        Err(Error::Recovery(RecoveryError::NoSuchComrade))
    ));

    // The thief is refused, by envelope and by card.
    let later = thief.next_card(Utc::now()).unwrap();
    assert!(matches!(
        bob.envelopes()
            .open(&thief.card_update(&later, &bobs).unwrap()),
        Err(Error::Envelope(EnvelopeError::ReplacedIdentity))
    ));
    assert!(matches!(
        bob.comrades().add(&later, None),
        Err(Error::Card(CardError::ReplacedIdentity))
    ));
    // Alice on her new phone reaches Bob as Alice.
    phone.comrades().add(&bobs, Some("Bob")).unwrap();
    let opened = bob
        .envelopes()
        .open(&note_to(&phone, "Bob", b"it's me, on a new phone"))
        .unwrap();
    assert_eq!(opened.sender.comrade, Some(at_bob));
}

#[test]
fn a_forged_statement_or_a_changed_recovery_key_is_refused() {
    use tend_core::identity::{RecoveryError, Replacement};
    let tmp = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(tmp.path(), "Alice"), member(tmp.path(), "Bob"));
    alice.set_up_recovery().unwrap();
    befriend(&alice, &bob);
    // A statement signed with some other recovery key names nobody.
    let stranger = member(tmp.path(), "Mallory");
    let theirs = stranger.set_up_recovery().unwrap().words();
    let other = member(tmp.path(), "Mallory again");
    other.set_up_recovery().unwrap();
    let forged = other.replacement_statement(&theirs).unwrap();
    assert!(matches!(
        bob.comrades().accept_replacement(&forged),
        Err(Error::Recovery(RecoveryError::NoSuchComrade))
    ));
    // Damaged: the signature no longer holds.
    let mut text = forged.to_text();
    let at = text.len() - 10;
    let flipped = if &text[at..at + 1] == "A" { "B" } else { "A" };
    text.replace_range(at..at + 1, flipped);
    assert!(matches!(
        Replacement::parse(&text),
        Err(RecoveryError::BadProof | RecoveryError::Malformed)
    ));
    // A thief who would set up a recovery key of their own: a loud conflict.
    let thief = Forger::from_vault(&alice).unwrap();
    let card = thief.next_card_with_recovery([9; 32], Utc::now()).unwrap();
    let bobs = bob.comrades().my_card().unwrap();
    assert!(matches!(
        bob.envelopes()
            .open(&thief.card_update(&card, &bobs).unwrap()),
        Err(Error::Envelope(EnvelopeError::IdentityConflict))
    ));
}
