//! Issue 17's attackers, through real vaults: a forger holding the identity
//! key taken from a copy of a member's vault.

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::{befriend, member};
use tend_core::comrades::CardError;
use tend_core::envelope::EnvelopeError;
use tend_core::testing::Forger;
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
    let rotate = || {
        alice.comrades().rotate_encryption_key().unwrap();
        let update = alice.envelopes().seal_card_update().unwrap();
        bob.envelopes().open(&update.bytes).unwrap();
    };
    rotate();
    // Within the grace, what she sealed before the rotation still opens: an
    // envelope can wait on a relay that long.
    let note = forger
        .with_stolen_key(&bobs, "test.note", b"sealed before the rotation")
        .unwrap();
    assert_eq!(bob.envelopes().open(&note).unwrap().sender.name, "Alice");
    // Once she has rotated again, the key the copy holds is two behind.
    rotate();
    let forged = forger
        .with_stolen_key(&bobs, "test.note", b"from the thief")
        .unwrap();
    assert!(matches!(
        bob.envelopes().open(&forged),
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

/// Bob seals a note to Alice with the key of hers he holds.
fn note_to_alice(bob: &Vault, body: &[u8]) -> Vec<u8> {
    let alice = bob.comrades().find("Alice").unwrap().id;
    bob.envelopes()
        .seal(&tend_core::envelope::Outgoing {
            kind: "test.note",
            body,
            to: &[tend_core::envelope::Recipient::Comrade(alice)],
            expires_at: None,
        })
        .unwrap()
        .bytes
}

#[test]
fn my_retired_keys_are_gone_a_month_after_the_rotation_even_with_no_other() {
    let tmp = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(tmp.path(), "Alice"), member(tmp.path(), "Bob"));
    befriend(&alice, &bob);
    // Bob has not heard of the rotation: he seals to the retired key.
    alice.comrades().rotate_encryption_key().unwrap();
    let early = note_to_alice(&bob, b"to the old key");
    let late = note_to_alice(&bob, b"to the old key, a month on");
    tend_core::testing::prune_retired_keys_at(&alice, Utc::now() + Duration::days(29)).unwrap();
    assert!(
        alice.envelopes().open(&early).is_ok(),
        "kept within the month"
    );
    // An unlock a month and a day on deletes it, though no rotation came.
    tend_core::testing::prune_retired_keys_at(&alice, Utc::now() + Duration::days(31)).unwrap();
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
    let from_alice = note_to_bob(&alice, b"it is really me");
    for envelope in [&from_thief, &from_alice] {
        assert!(matches!(
            bob.envelopes().open(envelope),
            Err(Error::Envelope(EnvelopeError::IdentityConflict))
        ));
    }
    assert!(bob.envelopes().seal(&note(alice_id)).is_err());

    // They meet; Bob takes the card Alice's phone shows.
    let shown = alice.comrades().my_card().unwrap();
    let resolved = bob.comrades().resolve_conflict(alice_id, &shown).unwrap();
    assert!(resolved.verified && resolved.identity_conflict_at.is_none());
    let later = note_to_bob(&alice, b"after we met");
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
    let note = note_to_bob(&alice, b"three keys later");
    assert_eq!(
        bob.envelopes().open(&note).unwrap().body,
        b"three keys later"
    );
    assert_eq!(card_of_alice(&bob), alice.comrades().my_card().unwrap());
}

fn note(to: tend_core::comrades::ComradeId) -> tend_core::envelope::Outgoing<'static> {
    tend_core::envelope::Outgoing {
        kind: "test.note",
        body: b"a note",
        to: Box::leak(Box::new([tend_core::envelope::Recipient::Comrade(to)])),
        expires_at: None,
    }
}

/// Alice seals a note to Bob.
fn note_to_bob(alice: &Vault, body: &[u8]) -> Vec<u8> {
    let bob = alice.comrades().find("Bob").unwrap().id;
    alice
        .envelopes()
        .seal(&tend_core::envelope::Outgoing {
            kind: "test.note",
            body,
            to: &[tend_core::envelope::Recipient::Comrade(bob)],
            expires_at: None,
        })
        .unwrap()
        .bytes
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
    let note = note_to_bob(&alice, b"updated");
    assert_eq!(bob.envelopes().open(&note).unwrap().body, b"updated");
    assert_eq!(card_of_alice(&bob), alice.comrades().my_card().unwrap());
    assert!(matches!(
        bob.comrades().add(&old, None),
        Err(Error::Card(CardError::Downgrade))
    ));
}
