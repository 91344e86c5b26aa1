//! Gatherings shared with invitees: the invitation, later changes, RSVPs
//! to the organiser only, totals for everyone else.

mod common;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use common::{befriend, member, sealed_of, snapshot};
use tend_core::envelope::{Outgoing, Recipient, Sealed};
use tend_core::gatherings::{
    AttendanceTotals, Gathering, GatheringError, NewGathering, Occurrence, Rsvp,
};
use tend_core::kinds;
use tend_core::{Error, Vault};

struct Group {
    _dir: tempfile::TempDir,
    alice: Vault,
    bob: Vault,
    carol: Vault,
    gathering: Gathering,
}

/// Alice's monthly gathering, from December 2026, and her two comrades.
fn group() -> Group {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob, carol) = (
        member(dir.path(), "Alice"),
        member(dir.path(), "Bob"),
        member(dir.path(), "Carol"),
    );
    befriend(&alice, &bob);
    befriend(&alice, &carol);
    befriend(&bob, &carol);
    let gathering = alice
        .gatherings()
        .add(NewGathering::monthly_restorative(
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            "America/Chicago",
            "Community room",
        ))
        .unwrap();
    Group {
        _dir: dir,
        alice,
        bob,
        carol,
        gathering,
    }
}

fn local(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap()
}

fn to(vault: &Vault, names: &[&str]) -> Vec<Recipient> {
    names
        .iter()
        .map(|n| Recipient::Comrade(vault.comrades().find(n).unwrap().id))
        .collect()
}

/// A hand-made gathering envelope, as a buggy or hostile app could seal.
fn forged(from: &Vault, to_name: &str, kind: &str, body: serde_json::Value) -> Sealed {
    from.envelopes()
        .seal(&Outgoing {
            kind,
            body: body.to_string().as_bytes(),
            to: &to(from, &[to_name]),
            expires_at: None,
        })
        .unwrap()
}

fn open(vault: &Vault, sealed: &Sealed) -> Vec<tend_core::envelope::MessageId> {
    vault.envelopes().open(&sealed.bytes).unwrap().replies
}

fn winter(vault: &Vault) -> Vec<Occurrence> {
    let from: DateTime<Utc> = "2026-12-01T00:00:00Z".parse().unwrap();
    vault
        .gatherings()
        .occurrences(from, from + Duration::days(120))
        .unwrap()
}

/// The evenings as anyone sees them, whatever the local gathering id.
fn when(vault: &Vault) -> Vec<(NaiveDateTime, DateTime<Utc>, DateTime<Utc>, bool)> {
    winter(vault)
        .into_iter()
        .map(|o| (o.original_start, o.starts_at, o.ends_at, o.moved))
        .collect()
}

fn invite_error<T: std::fmt::Debug>(result: tend_core::Result<T>) -> GatheringError {
    match result {
        Err(Error::Gathering(e)) => e,
        other => panic!("expected an invite error, got {other:?}"),
    }
}

#[test]
fn invitees_get_the_gathering_and_every_later_change_in_any_order() {
    let g = group();
    let invite = g
        .alice
        .gatherings()
        .invite(g.gathering.id, &to(&g.alice, &["Bob", "Carol"]))
        .unwrap();
    assert_eq!(invite.recipients.len(), 2);
    for v in [&g.bob, &g.carol] {
        open(v, &invite);
        let copy = &v.gatherings().list().unwrap()[0];
        assert_eq!(copy.organiser.as_deref(), Some("Alice"));
        assert_eq!(copy.recurrence.as_deref(), Some("FREQ=MONTHLY;BYDAY=1SA"));
        assert_eq!(when(v), when(&g.alice), "the same dates, instants and all");
        assert!(
            !v.gatherings()
                .next_reminders(Utc::now(), 3)
                .unwrap()
                .is_empty()
        );
    }

    // Three changes: a skipped evening, a moved one, a new description.
    let gs = g.alice.gatherings();
    gs.cancel_occurrence(g.gathering.id, local("2027-01-02T18:00"))
        .unwrap();
    gs.move_occurrence(
        g.gathering.id,
        local("2027-02-06T18:00"),
        local("2027-02-07T17:00"),
        None,
    )
    .unwrap();
    let mut edited = NewGathering::monthly_restorative(
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        "America/Chicago",
        "Community room",
    );
    edited.description = "Bring something quiet. Tea from 17:45.".into();
    gs.update(g.gathering.id, edited).unwrap();
    let updates = sealed_of(&g.alice, kinds::GATHERING_UPDATE)[..3].to_vec();
    assert_eq!(updates.len(), 3);

    // Bob in order, Carol newest first: both end where Alice is.
    for u in updates.iter().rev() {
        open(&g.bob, u);
    }
    for u in &updates {
        open(&g.carol, u);
    }
    for v in [&g.bob, &g.carol] {
        assert_eq!(when(v), when(&g.alice));
        assert_eq!(
            v.gatherings().list().unwrap()[0].description,
            "Bring something quiet. Tea from 17:45."
        );
        assert!(
            !winter(v)
                .iter()
                .any(|o| o.original_start == local("2027-01-02T18:00")),
            "the skipped evening is gone"
        );
    }
}

#[test]
fn rsvps_go_to_the_organiser_and_others_see_only_totals() {
    let g = group();
    let invite = g
        .alice
        .gatherings()
        .invite(g.gathering.id, &to(&g.alice, &["Bob", "Carol"]))
        .unwrap();
    open(&g.bob, &invite);
    open(&g.carol, &invite);
    let first = local("2026-12-05T18:00");
    let bobs_copy = g.bob.gatherings().list().unwrap()[0].id;
    g.bob
        .gatherings()
        .rsvp(
            bobs_copy,
            first,
            Some(Rsvp::Going),
            Some("bringing: watercolours"),
        )
        .unwrap();
    let answer = &sealed_of(&g.bob, kinds::GATHERING_RSVP)[0];
    assert_eq!(answer.recipients.len(), 1, "to Alice alone");
    assert_eq!(answer.recipients[0].name, "Alice");

    let opened = g.alice.envelopes().open(&answer.bytes).unwrap();
    assert_eq!(opened.replies.len(), 1, "new totals for every invitee");
    assert!(
        !String::from_utf8_lossy(&opened.body).contains("watercolours"),
        "the private note never travels"
    );
    let attendees = g
        .alice
        .gatherings()
        .attendees(g.gathering.id, first)
        .unwrap();
    assert_eq!(attendees.len(), 1);
    assert_eq!(attendees[0].name.as_deref(), Some("Bob"));
    let totals = &sealed_of(&g.alice, kinds::GATHERING_UPDATE)[0];
    open(&g.carol, totals);
    let at_carol = winter(&g.carol);
    assert_eq!(
        at_carol[0].totals,
        Some(AttendanceTotals { going: 1, maybe: 0 }),
        "Carol sees a count, not a name"
    );
    assert_eq!(at_carol[1].totals, Some(AttendanceTotals::default()));

    // Bob changes his mind: not going is counted nowhere and named to nobody.
    g.bob
        .gatherings()
        .rsvp(bobs_copy, first, Some(Rsvp::NotGoing), None)
        .unwrap();
    let no = &sealed_of(&g.bob, kinds::GATHERING_RSVP)[0];
    open(&g.alice, no);
    assert!(
        g.alice
            .gatherings()
            .attendees(g.gathering.id, first)
            .unwrap()
            .is_empty()
    );
    open(&g.carol, &sealed_of(&g.alice, kinds::GATHERING_UPDATE)[0]);
    assert_eq!(
        winter(&g.carol)[0].totals,
        Some(AttendanceTotals::default())
    );
    // An older answer arriving late does not undo the newer one.
    let late = forged(
        &g.bob,
        "Alice",
        kinds::GATHERING_RSVP,
        serde_json::json!({
            "v": 1, "uid": format!("{}@tend", g.gathering.id),
            "start": "2026-12-05T18:00:00", "response": "going", "at": 1
        }),
    );
    assert!(
        open(&g.alice, &late).is_empty(),
        "no change, nothing to tell"
    );
    assert!(
        g.alice
            .gatherings()
            .attendees(g.gathering.id, first)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn only_the_organiser_changes_it_and_only_invitees_answer() {
    let g = group();
    let invite = g
        .alice
        .gatherings()
        .invite(g.gathering.id, &to(&g.alice, &["Bob"]))
        .unwrap();
    open(&g.bob, &invite);
    let copy = g.bob.gatherings().list().unwrap()[0].id;
    let first = local("2026-12-05T18:00");
    assert_eq!(
        invite_error(g.bob.gatherings().cancel_occurrence(copy, first)),
        GatheringError::NotOrganiser
    );
    assert_eq!(
        invite_error(g.bob.gatherings().invite(copy, &to(&g.bob, &["Carol"]))),
        GatheringError::NotOrganiser
    );

    // Carol, who knows the UID, forges a change for Bob: refused, nothing written.
    let uid = format!("{}@tend", g.gathering.id);
    let takeover = forged(
        &g.carol,
        "Bob",
        kinds::GATHERING_UPDATE,
        serde_json::json!({
            "v": 1, "uid": uid, "rev": 99, "cancelled": true, "title": "x",
            "kind": "meeting", "starts_at": "2026-12-05T18:00:00",
            "time_zone": "UTC", "duration_minutes": 60
        }),
    );
    g.bob.lock();
    let before = snapshot(g.bob.files().dir());
    g.bob.unlock_with_key(&common::key(7)).unwrap();
    assert_eq!(
        invite_error(g.bob.envelopes().open(&takeover.bytes)),
        GatheringError::NotOrganiser
    );
    g.bob.lock();
    assert!(snapshot(g.bob.files().dir()) == before);
    g.bob.unlock_with_key(&common::key(7)).unwrap();

    // An answer from someone Alice did not invite.
    let stray = forged(
        &g.carol,
        "Alice",
        kinds::GATHERING_RSVP,
        serde_json::json!({
            "v": 1, "uid": uid, "start": "2026-12-05T18:00:00",
            "response": "going", "at": 1
        }),
    );
    assert_eq!(
        invite_error(g.alice.envelopes().open(&stray.bytes)),
        GatheringError::NotInvited
    );

    // Alice calls it off; Bob's copy goes.
    g.alice.gatherings().delete(g.gathering.id).unwrap();
    open(&g.bob, &sealed_of(&g.alice, kinds::GATHERING_UPDATE)[0]);
    assert!(g.bob.gatherings().list().unwrap().is_empty());
}
