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
