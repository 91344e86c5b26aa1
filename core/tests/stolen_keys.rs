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

    // Dated 2100, as the review did: refused, in an envelope and by hand.
    let in_2100 = forger
        .card(Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).unwrap())
        .unwrap();
    let forged = forger.card_update(&in_2100, &bobs).unwrap();
    assert!(matches!(
        bob.envelopes().open(&forged),
        Err(Error::Envelope(EnvelopeError::CardIssuedAhead))
    ));
    assert!(matches!(
        bob.comrades().add(&in_2100, None),
        Err(Error::Card(CardError::IssuedAhead))
    ));
    // A day and an hour ahead is already too far.
    let ahead = forger.card(Utc::now() + Duration::hours(25)).unwrap();
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
