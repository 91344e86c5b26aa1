//! Care requests across independent vaults: the lifecycle, every refused
//! transition, out-of-order and repeated delivery, and retention.

mod common;

use chrono::{Duration, Utc};
use common::{befriend, member, snapshot};
use tend_core::care::{
    CareAction, CareCategory, CareError, CareRole, CareStatus, CareUrgency, NewCareRequest,
    OfferState, RequestId,
};
use tend_core::envelope::{EnvelopeError, Outgoing, Recipient, Sealed};
use tend_core::kinds;
use tend_core::{Error, Vault};

/// Alice, with Bob and Carol in her circle "neighbours".
struct Group {
    _dir: tempfile::TempDir,
    alice: Vault,
    bob: Vault,
    carol: Vault,
    circle: Recipient,
}

fn group() -> Group {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob, carol) = (
        member(dir.path(), "Alice"),
        member(dir.path(), "Bob"),
        member(dir.path(), "Carol"),
    );
    let (bob_id, _) = befriend(&alice, &bob);
    let (carol_id, _) = befriend(&alice, &carol);
    befriend(&bob, &carol);
    let circle = alice.comrades().create_circle("neighbours").unwrap();
    alice.comrades().add_to_circle(circle.id, bob_id).unwrap();
    alice.comrades().add_to_circle(circle.id, carol_id).unwrap();
    Group {
        _dir: dir,
        alice,
        bob,
        carol,
        circle: Recipient::Circle(circle.id),
    }
}

fn ride(to: Recipient) -> NewCareRequest {
    NewCareRequest {
        details: "Appointment at 10:00, back by noon".into(),
        needed_by: Some(Utc::now() + Duration::hours(20)),
        location: Some("Eastside".into()),
        ..NewCareRequest::new(
            CareCategory::Ride,
            "A ride to the clinic tomorrow",
            CareUrgency::Today,
            vec![to],
        )
    }
}

fn open(vault: &Vault, sealed: &Sealed) -> tend_core::envelope::Opened {
    vault.envelopes().open(&sealed.bytes).unwrap()
}

fn care_error<T: std::fmt::Debug>(result: tend_core::Result<T>) -> CareError {
    match result {
        Err(Error::Care(e)) => e,
        other => panic!("expected a care error, got {other:?}"),
    }
}

/// Opening must fail with `expected` and leave the vault's files as they were.
fn refused_unchanged(vault: &Vault, sealed: &Sealed, expected: CareError) {
    vault.lock();
    let dir = vault.files().dir().to_owned();
    let before = snapshot(&dir);
    vault.unlock_with_key(&common::key(7)).unwrap();
    assert_eq!(care_error(vault.envelopes().open(&sealed.bytes)), expected);
    vault.lock();
    assert!(snapshot(&dir) == before, "the vault changed");
    vault.unlock_with_key(&common::key(7)).unwrap();
}

/// A hand-made care envelope, as a buggy or hostile app could seal.
fn forged(from: &Vault, to: Recipient, kind: &str, body: serde_json::Value) -> Sealed {
    from.envelopes()
        .seal(&Outgoing {
            kind,
            body: &serde_json::to_vec(&body).unwrap(),
            to: &[to],
            expires_at: None,
        })
        .unwrap()
}

fn comrade(vault: &Vault, name: &str) -> Recipient {
    Recipient::Comrade(vault.comrades().find(name).unwrap().id)
}

fn status(vault: &Vault, id: RequestId) -> CareStatus {
    vault.care().get(id).unwrap().status
}

#[test]
fn the_whole_lifecycle_across_three_vaults() {
    let g = group();
    let posted = g.alice.care().post(&ride(g.circle)).unwrap();
    let id = posted.request.id;
    assert_eq!(posted.request.role, CareRole::Requester);
    assert_eq!(posted.sealed.recipients.len(), 2);

    for helper in [&g.bob, &g.carol] {
        open(helper, &posted.sealed);
        let could = helper.care().could_help(10).unwrap();
        assert_eq!(could.len(), 1);
        assert_eq!(could[0].title, "A ride to the clinic tomorrow");
        assert_eq!(could[0].requester.as_ref().unwrap().name, "Alice");
        assert_eq!(could[0].role, CareRole::Asked);
    }

    let bob_offer = g
        .bob
        .care()
        .offer_help(
            id,
            "I can drive, leaving at 9:15",
            Some(Utc::now() + Duration::hours(19)),
        )
        .unwrap();
    let carol_offer = g.carol.care().offer_help(id, "I could too", None).unwrap();
    assert_eq!(
        bob_offer.sealed.recipients.len(),
        1,
        "offers go to Alice only"
    );
    assert_eq!(g.bob.care().get(id).unwrap().role, CareRole::Offered);
    open(&g.alice, &bob_offer.sealed);
    open(&g.alice, &carol_offer.sealed);
    let mine = g.alice.care().mine().unwrap();
    assert_eq!(mine.len(), 1);
    let offers = &mine[0].offers;
    assert_eq!(offers.len(), 2);
    assert_eq!(offers[0].helper.as_ref().unwrap().name, "Bob");
    assert!(offers.iter().all(|o| o.state == OfferState::Pending));

    let sent = g.alice.care().accept(bob_offer.offer.id).unwrap();
    assert_eq!(
        sent.len(),
        2,
        "the accept to Bob, and 'covered' to everyone asked"
    );
    assert_eq!(sent[0].recipients.len(), 1);
    assert_eq!(
        sent[1].recipients.len(),
        2,
        "Bob too, so nobody can tell who"
    );
    for s in &sent {
        open(&g.bob, s);
    }
    assert!(
        matches!(
            g.carol.envelopes().open(&sent[0].bytes),
            Err(Error::Envelope(EnvelopeError::NotForMe))
        ),
        "Carol cannot open the accept"
    );
    open(&g.carol, &sent[1]);

    let at_alice = g.alice.care().get(id).unwrap();
    assert_eq!(at_alice.status, CareStatus::Matched);
    assert_eq!(at_alice.helper.as_ref().unwrap().name, "Bob");
    let at_bob = g.bob.care().get(id).unwrap();
    assert_eq!(
        (at_bob.status, at_bob.role),
        (CareStatus::Matched, CareRole::Helper)
    );
    let at_carol = g.carol.care().get(id).unwrap();
    assert!(at_carol.is_covered());
    assert_eq!(at_carol.helper, None, "Carol never learns who helped");
    assert_eq!(
        g.carol.care().offer(carol_offer.offer.id).unwrap().state,
        OfferState::Declined
    );
    assert!(g.carol.care().commitments().unwrap().is_empty());
    assert!(g.carol.care().could_help(10).unwrap().is_empty());
    let bob_commitments = g.bob.care().commitments().unwrap();
    assert_eq!(bob_commitments.len(), 1);
    assert_eq!(bob_commitments[0].offer.state, OfferState::Accepted);
    assert_eq!(
        bob_commitments[0].offer.can_help_at,
        bob_offer.offer.can_help_at
    );

    let done = g.bob.care().fulfil(id).unwrap();
    assert_eq!(done.len(), 1);
    open(&g.alice, &done[0]);
    assert_eq!(status(&g.alice, id), CareStatus::Fulfilled);
    assert_eq!(status(&g.bob, id), CareStatus::Fulfilled);
    assert!(g.bob.care().commitments().unwrap().is_empty());

    let thanks = g.alice.care().thank(id, "Thank you, Bob!").unwrap();
    open(&g.bob, &thanks);
    assert_eq!(
        g.bob.care().get(id).unwrap().thanks.as_deref(),
        Some("Thank you, Bob!")
    );
    assert!(
        g.bob.envelopes().inbox(None).unwrap().is_empty(),
        "care is not inbox clutter"
    );
}

#[test]
fn each_refused_transition_has_its_typed_error() {
    let g = group();
    let id = g.alice.care().post(&ride(g.circle)).unwrap();
    let (id, sealed) = (id.request.id, id.sealed);
    open(&g.bob, &sealed);
    open(&g.carol, &sealed);
    let offer = g.bob.care().offer_help(id, "I can", None).unwrap();
    let late_offer = g.carol.care().offer_help(id, "Me too", None).unwrap();
    open(&g.alice, &offer.sealed);

    // Fulfilling or thanking before anyone was accepted.
    assert_eq!(
        care_error(g.alice.care().fulfil(id)),
        CareError::InvalidTransition {
            action: CareAction::Fulfil,
            status: CareStatus::Open
        }
    );
    assert_eq!(
        care_error(g.alice.care().thank(id, "thanks")),
        CareError::InvalidTransition {
            action: CareAction::Thank,
            status: CareStatus::Open
        }
    );
    // An accept by anyone but the requester, locally and by envelope.
    assert_eq!(
        care_error(g.bob.care().accept(offer.offer.id)),
        CareError::NotRequester {
            action: CareAction::Accept
        }
    );
    let forged_accept = forged(
        &g.carol,
        comrade(&g.carol, "Bob"),
        kinds::CARE_ACCEPT,
        serde_json::json!({"v": 1, "request": id, "offer": offer.offer.id, "rev": 9}),
    );
    refused_unchanged(
        &g.bob,
        &forged_accept,
        CareError::NotRequester {
            action: CareAction::Accept,
        },
    );
    // Only the accepted helper or the requester can say it is done.
    assert_eq!(
        care_error(g.carol.care().fulfil(id)),
        CareError::NotTakingPart
    );
    assert_eq!(
        care_error(g.carol.care().thank(id, "x")),
        CareError::NotRequester {
            action: CareAction::Thank
        }
    );

    for s in g.alice.care().accept(offer.offer.id).unwrap() {
        open(&g.bob, &s);
    }
    // An update from someone who is not taking part: Carol claims Bob's offer is done.
    let forged_update = forged(
        &g.carol,
        comrade(&g.carol, "Alice"),
        kinds::CARE_UPDATE,
        serde_json::json!({"v": 1, "request": id, "status": "fulfilled", "offer": offer.offer.id}),
    );
    refused_unchanged(&g.alice, &forged_update, CareError::NotTakingPart);
    // ...or claims to be the requester, to Bob.
    let forged_withdrawal = forged(
        &g.carol,
        comrade(&g.carol, "Bob"),
        kinds::CARE_UPDATE,
        serde_json::json!({"v": 1, "request": id, "status": "withdrawn", "rev": 99}),
    );
    refused_unchanged(&g.bob, &forged_withdrawal, CareError::NotTakingPart);

    // A second accept while matched.
    let done = g.bob.care().fulfil(id).unwrap();
    open(&g.alice, &done[0]);
    // An offer on a fulfilled request: locally, and arriving late.
    assert_eq!(
        care_error(g.bob.care().offer_help(id, "again?", None)),
        CareError::InvalidTransition {
            action: CareAction::Offer,
            status: CareStatus::Fulfilled
        }
    );
    refused_unchanged(
        &g.alice,
        &late_offer.sealed,
        CareError::InvalidTransition {
            action: CareAction::Offer,
            status: CareStatus::Fulfilled,
        },
    );
    assert_eq!(
        care_error(g.alice.care().withdraw(id)),
        CareError::InvalidTransition {
            action: CareAction::Withdraw,
            status: CareStatus::Fulfilled
        }
    );
    // Nothing of mine to take back.
    let other = g.alice.care().post(&ride(g.circle)).unwrap();
    open(&g.carol, &other.sealed);
    assert_eq!(
        care_error(g.carol.care().withdraw(other.request.id)),
        CareError::NotTakingPart
    );
    // Bad input is refused before anything is written.
    let mut past = ride(g.circle);
    past.needed_by = Some(Utc::now() - Duration::hours(1));
    assert!(matches!(
        g.alice.care().post(&past),
        Err(Error::Invalid {
            field: "needed by",
            ..
        })
    ));
    let mut empty = ride(g.circle);
    empty.title = "   ".into();
    assert!(matches!(
        g.alice.care().post(&empty),
        Err(Error::Invalid { field: "title", .. })
    ));
}

#[test]
fn two_accepts_racing_and_a_helper_backing_out_converge_in_any_order() {
    let g = group();
    let posted = g.alice.care().post(&ride(g.circle)).unwrap();
    let id = posted.request.id;
    open(&g.bob, &posted.sealed);
    open(&g.carol, &posted.sealed);
    let bob_offer = g.bob.care().offer_help(id, "I can", None).unwrap();
    let carol_offer = g.carol.care().offer_help(id, "Me too", None).unwrap();
    open(&g.alice, &bob_offer.sealed);
    open(&g.alice, &carol_offer.sealed);

    let first = g.alice.care().accept(bob_offer.offer.id).unwrap();
    // The second accept loses, whichever offer it names.
    assert_eq!(
        care_error(g.alice.care().accept(carol_offer.offer.id)),
        CareError::InvalidTransition {
            action: CareAction::Accept,
            status: CareStatus::Matched
        }
    );
    for s in &first {
        open(&g.bob, s);
    }
    // Bob backs out; Alice's vault reopens it and tells everyone asked.
    let backing_out = g.bob.care().withdraw(id).unwrap();
    let opened = open(&g.alice, &backing_out[0]);
    assert_eq!(opened.replies.len(), 1);
    assert_eq!(status(&g.alice, id), CareStatus::Open);
    let reopened = g
        .alice
        .envelopes()
        .outbox()
        .unwrap()
        .into_iter()
        .find(|o| o.sealed.message_id == opened.replies[0])
        .unwrap()
        .sealed;
    let second = g.alice.care().accept(carol_offer.offer.id).unwrap();

    // Carol gets everything newest first: the revisions sort it out.
    for s in second.iter().rev().chain([&reopened, &first[1]]) {
        open(&g.carol, s);
    }
    let at_carol = g.carol.care().get(id).unwrap();
    assert_eq!(
        (at_carol.status, at_carol.role),
        (CareStatus::Matched, CareRole::Helper)
    );
    // Bob, in order: covered by someone else now; his offer withdrawn.
    open(&g.bob, &reopened);
    open(&g.bob, &second[1]);
    let at_bob = g.bob.care().get(id).unwrap();
    assert!(at_bob.is_covered());
    assert_eq!(
        g.bob.care().offer(bob_offer.offer.id).unwrap().state,
        OfferState::Withdrawn
    );
    assert_eq!(
        g.alice.care().get(id).unwrap().helper.unwrap().name,
        "Carol"
    );
}

#[test]
fn duplicates_are_refused_and_updates_before_their_request_wait_for_it() {
    let g = group();
    let posted = g.alice.care().post(&ride(g.circle)).unwrap();
    let id = posted.request.id;
    open(&g.bob, &posted.sealed);
    let offer = g.bob.care().offer_help(id, "I can", None).unwrap();
    open(&g.alice, &offer.sealed);
    // The same envelope twice.
    assert!(matches!(
        g.alice.envelopes().open(&offer.sealed.bytes),
        Err(Error::Envelope(EnvelopeError::Replayed))
    ));
    assert_eq!(g.alice.care().mine().unwrap()[0].offers.len(), 1);

    // Carol's copy of the request is slow; "covered" overtakes it.
    let sent = g.alice.care().accept(offer.offer.id).unwrap();
    open(&g.carol, &sent[1]);
    assert!(matches!(
        g.carol.care().get(id),
        Err(Error::NotFound { .. })
    ));
    open(&g.carol, &posted.sealed);
    assert!(g.carol.care().get(id).unwrap().is_covered());
    assert!(g.carol.care().could_help(10).unwrap().is_empty());
}

#[test]
fn an_offer_before_its_request_waits_and_is_judged_when_the_request_arrives() {
    let g = group();
    let posted = g.alice.care().post(&ride(g.circle)).unwrap();
    let id = posted.request.id;
    // Bob (wrongly) sends Carol an offer on a request Carol has not received.
    let stray = forged(
        &g.bob,
        comrade(&g.bob, "Carol"),
        kinds::CARE_OFFER,
        serde_json::json!({"v": 1, "request": id, "offer": uuid(), "message": "I can drive"}),
    );
    open(&g.carol, &stray);
    assert!(matches!(
        g.carol.care().get(id),
        Err(Error::NotFound { .. })
    ));
    // When it arrives, Carol did not ask, so the offer is dropped, not stored.
    open(&g.carol, &posted.sealed);
    let at_carol = g.carol.care().get(id).unwrap();
    assert_eq!(
        (at_carol.status, at_carol.role),
        (CareStatus::Open, CareRole::Asked)
    );
    assert!(g.carol.care().commitments().unwrap().is_empty());
}

#[test]
fn a_flood_of_waiting_messages_is_bounded() {
    let g = group();
    let to_carol = comrade(&g.bob, "Carol");
    for _ in 0..64 {
        let s = forged(
            &g.bob,
            to_carol,
            kinds::CARE_THANKS,
            serde_json::json!({"v": 1, "request": uuid(), "note": "hi"}),
        );
        open(&g.carol, &s);
    }
    let one_more = forged(
        &g.bob,
        to_carol,
        kinds::CARE_THANKS,
        serde_json::json!({"v": 1, "request": uuid(), "note": "hi"}),
    );
    refused_unchanged(&g.carol, &one_more, CareError::TooManyParked);
}

#[test]
fn hostile_bodies_are_malformed() {
    let g = group();
    let to_bob = comrade(&g.alice, "Bob");
    let now = Utc::now();
    for (kind, body) in [
        (kinds::CARE_REQUEST, serde_json::json!({"v": 1})),
        (
            kinds::CARE_REQUEST,
            serde_json::json!({"v": 1, "id": uuid(), "category": "ride", "title": "x",
                "urgency": "now", "expires_at": now + Duration::days(400), "posted_at": now}),
        ),
        (
            kinds::CARE_REQUEST,
            serde_json::json!({"v": 1, "id": uuid(), "category": "spaceship", "title": "x",
                "urgency": "now", "expires_at": now + Duration::days(1), "posted_at": now}),
        ),
        (
            kinds::CARE_OFFER,
            serde_json::json!({"v": 1, "request": uuid(), "offer": uuid(), "message": "x".repeat(1001)}),
        ),
        (
            kinds::CARE_UPDATE,
            serde_json::json!({"v": 1, "request": uuid(), "status": "reopened", "offer": uuid()}),
        ),
        (
            kinds::CARE_UPDATE,
            serde_json::json!({"v": 1, "request": uuid(), "status": "fulfilled"}),
        ),
        (
            kinds::CARE_ACCEPT,
            serde_json::json!({"v": 2, "request": uuid(), "offer": uuid(), "rev": 1}),
        ),
        ("care.unknown", serde_json::json!({})),
    ] {
        let s = forged(&g.alice, to_bob, kind, body);
        assert!(
            matches!(
                g.bob.envelopes().open(&s.bytes),
                Err(Error::Envelope(EnvelopeError::Malformed))
            ),
            "{kind}"
        );
    }
}

#[test]
fn late_messages_after_expiry_have_defined_outcomes() {
    let g = group();
    let dir = tempfile::tempdir().unwrap();
    let dave = member(dir.path(), "Dave");
    befriend(&g.alice, &dave);
    let soon = |to: Recipient| NewCareRequest {
        needed_by: None,
        expires_at: Some(Utc::now() + Duration::milliseconds(1500)),
        ..ride(to)
    };
    let matched = g.alice.care().post(&soon(g.circle)).unwrap();
    let unanswered = g.alice.care().post(&soon(g.circle)).unwrap();
    let to_dave = g
        .alice
        .care()
        .post(&soon(comrade(&g.alice, "Dave")))
        .unwrap();
    let (m, u) = (matched.request.id, unanswered.request.id);
    open(&g.bob, &matched.sealed);
    open(&g.bob, &unanswered.sealed);
    open(&g.carol, &matched.sealed);
    let offer = g.bob.care().offer_help(m, "I can", None).unwrap();
    let late_offer = g.bob.care().offer_help(u, "I can", None).unwrap();
    open(&g.alice, &offer.sealed);
    let accepted = g.alice.care().accept(offer.offer.id).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1600));

    // A request arriving after its expiry is refused by its envelope.
    assert!(matches!(
        dave.envelopes().open(&to_dave.sealed.bytes),
        Err(Error::Envelope(EnvelopeError::Expired))
    ));
    // An accept made in time still matches the helper when it arrives late:
    // matched requests do not expire.
    for s in &accepted {
        open(&g.bob, s);
    }
    assert_eq!(status(&g.bob, m), CareStatus::Matched);
    assert_eq!(status(&g.alice, m), CareStatus::Matched);
    // The update after expiry: covered replaces expired at Carol.
    assert_eq!(status(&g.carol, m), CareStatus::Expired);
    open(&g.carol, &accepted[1]);
    assert!(g.carol.care().get(m).unwrap().is_covered());
    // An offer arriving after expiry is refused, and so is withdrawing.
    refused_unchanged(
        &g.alice,
        &late_offer.sealed,
        CareError::InvalidTransition {
            action: CareAction::Offer,
            status: CareStatus::Expired,
        },
    );
    assert_eq!(
        care_error(g.alice.care().withdraw(u)),
        CareError::InvalidTransition {
            action: CareAction::Withdraw,
            status: CareStatus::Expired
        }
    );
    assert!(
        g.bob.care().could_help(10).unwrap().is_empty(),
        "expired ones are hidden"
    );
}

#[cfg(feature = "testing")]
#[test]
fn retention_deletes_closed_requests_from_the_database_and_the_index() {
    let g = group();
    let mut words = ride(g.circle);
    words.title = "Zephyrquill needs a lift".into();
    words.details = "Marblecrane street, blue door".into();
    let posted = g.alice.care().post(&words).unwrap();
    let id = posted.request.id;
    let kept = g
        .alice
        .care()
        .post(&NewCareRequest::new(
            CareCategory::Food,
            "Soup for the weekend",
            CareUrgency::Flexible,
            vec![g.circle],
        ))
        .unwrap();
    open(&g.bob, &posted.sealed);
    let offer = g.bob.care().offer_help(id, "On my way", None).unwrap();
    open(&g.alice, &offer.sealed);
    for s in g.alice.care().accept(offer.offer.id).unwrap() {
        open(&g.bob, &s);
    }
    open(&g.alice, &g.bob.care().fulfil(id).unwrap()[0]);
    assert_eq!(g.alice.care().search("zephyrquill", 5).unwrap().len(), 1);
    assert_eq!(g.alice.care().retention_days().unwrap(), 30);

    let sweep = tend_core::testing::sweep_care_at;
    assert_eq!(sweep(&g.alice, Utc::now() + Duration::days(29)).unwrap(), 0);
    assert_eq!(sweep(&g.alice, Utc::now() + Duration::days(31)).unwrap(), 1);
    assert_eq!(sweep(&g.bob, Utc::now() + Duration::days(31)).unwrap(), 1);
    assert!(matches!(
        g.alice.care().get(id),
        Err(Error::NotFound { .. })
    ));
    assert!(g.alice.care().search("zephyrquill", 5).unwrap().is_empty());
    assert!(g.alice.care().search("marblecrane", 5).unwrap().is_empty());
    assert_eq!(
        g.alice.care().get(kept.request.id).unwrap().status,
        CareStatus::Open
    );
    assert!(
        g.alice
            .envelopes()
            .outbox()
            .unwrap()
            .iter()
            .all(|o| o.subject.as_deref() != Some(&id.to_string())),
        "its envelopes left the outbox"
    );
    // A shorter period applies at once.
    assert_eq!(g.alice.care().set_retention_days(7).unwrap(), 0);
    assert!(matches!(
        g.alice.care().set_retention_days(0),
        Err(Error::Invalid { .. })
    ));
}

/// On an unencrypted twin, so encryption cannot hide a leftover: a deleted
/// request's words must be gone from every byte, index included.
#[cfg(all(feature = "plaintext-baseline", feature = "testing"))]
#[test]
fn a_deleted_request_leaves_no_bytes_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("plain");
    let alice = Vault::create_plaintext_baseline(&dir).unwrap();
    alice.set_display_name("Alice").unwrap();
    let bob = member(tmp.path(), "Bob");
    let (bob_id, _) = befriend(&alice, &bob);
    let to = vec![Recipient::Comrade(bob_id)];
    for i in 0..100 {
        alice
            .care()
            .post(&NewCareRequest::new(
                CareCategory::Errand,
                &format!("filler errand {i} cobaltheron"),
                CareUrgency::Flexible,
                to.clone(),
            ))
            .unwrap();
    }
    let gone = alice
        .care()
        .post(&NewCareRequest {
            details: "obsidianfalcon street".into(),
            location: Some("marblewren park".into()),
            ..NewCareRequest::new(CareCategory::Ride, "zephyrquill ride", CareUrgency::Now, to)
        })
        .unwrap();
    open(&bob, &gone.sealed);
    let offer = bob
        .care()
        .offer_help(gone.request.id, "I can", None)
        .unwrap();
    open(&alice, &offer.sealed);
    alice.care().accept(offer.offer.id).unwrap();
    alice
        .care()
        .thank(gone.request.id, "quartzlark thanks")
        .unwrap();
    alice.care().fulfil(gone.request.id).unwrap();
    assert_eq!(
        tend_core::testing::sweep_care_at(&alice, Utc::now() + Duration::days(31)).unwrap(),
        1
    );
    drop(alice);
    let files: Vec<u8> = snapshot(&dir).into_iter().flat_map(|(_, b)| b).collect();
    assert!(
        files.windows(11).any(|w| w == b"cobaltheron"),
        "the scan can see words"
    );
    common::assert_no_plaintext(
        &dir,
        &["zephyrquill", "obsidianfalcon", "marblewren", "quartzlark"],
    );
}

#[test]
fn debug_output_shows_nothing_a_member_wrote() {
    let g = group();
    let posted = g.alice.care().post(&ride(g.circle)).unwrap();
    open(&g.bob, &posted.sealed);
    let offer = g
        .bob
        .care()
        .offer_help(posted.request.id, "I can drive", None)
        .unwrap();
    let shown = format!(
        "{:?} {:?} {:?} {:?}",
        posted,
        offer,
        g.bob.care().could_help(5).unwrap(),
        ride(g.circle)
    );
    for word in ["clinic", "Appointment", "Eastside", "drive", "Alice"] {
        assert!(!shown.contains(word), "{word} in {shown}");
    }
}

fn uuid() -> String {
    uuid::Uuid::now_v7().to_string()
}
