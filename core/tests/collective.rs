//! Collectives across independent vaults: founding and joining (with
//! introductions), who may change what, a removed member cut off, hostile
//! change envelopes refused without harm, and a member who missed changes
//! catching up by asking.

mod common;

use common::{befriend, member};
use tend_core::collective::{
    ChangeError, Collective, CollectiveError, CollectiveId, MadeChange, Op, Refusal,
    STARTER_AGREEMENTS,
};
use tend_core::comrades::IdentityKey;
use tend_core::envelope::{EnvelopeError, Outgoing, Recipient, Sealed};
use tend_core::testing::{Forger, collective_changes_body};
use tend_core::{Error, Vault, kinds};

struct Members {
    _dir: tempfile::TempDir,
    alice: Vault,
    bob: Vault,
    carol: Vault,
}

fn key(v: &Vault) -> IdentityKey {
    v.comrades().my_identity_key().unwrap()
}

fn comrade(of: &Vault, whom: &Vault) -> tend_core::comrades::ComradeId {
    let key = key(whom);
    of.comrades()
        .list()
        .unwrap()
        .into_iter()
        .find(|c| c.identity_key == key)
        .unwrap()
        .id
}

/// Opens every envelope addressed to `to`; the errors of those refused.
fn deliver(sealed: &[Sealed], to: &Vault) -> Vec<Error> {
    let me = key(to);
    let mut refused = Vec::new();
    for s in sealed {
        if s.recipients.iter().any(|r| r.identity_key == me)
            && let Err(e) = to.envelopes().open(&s.bytes)
        {
            refused.push(e);
        }
    }
    refused
}

fn deliver_all(made: &MadeChange, to: &[&Vault]) {
    for v in to {
        let refused = deliver(&made.sealed, v);
        assert!(refused.is_empty(), "{refused:?}");
    }
}

/// What every member must agree on.
fn agreed(c: &Collective) -> (String, u32, u32, Option<(u32, u32)>) {
    (
        c.name.clone(),
        c.members,
        c.stewards,
        c.agreements
            .as_ref()
            .map(|a| (a.version, a.not_yet_accepted)),
    )
}

/// Alice founds "Riverside Care" and adds Bob, then Carol. Bob and Carol
/// are comrades of Alice only.
fn founded() -> (Members, CollectiveId) {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob, carol) = (
        member(dir.path(), "Alice"),
        member(dir.path(), "Bob"),
        member(dir.path(), "Carol"),
    );
    befriend(&alice, &bob);
    befriend(&alice, &carol);
    let id = alice
        .collectives()
        .create("Riverside Care", Some(STARTER_AGREEMENTS))
        .unwrap()
        .id;
    let m = Members {
        _dir: dir,
        alice,
        bob,
        carol,
    };
    let added = m
        .alice
        .collectives()
        .add_members(id, &[comrade(&m.alice, &m.bob)])
        .unwrap();
    deliver_all(&added, &[&m.bob]);
    let added = m
        .alice
        .collectives()
        .add_members(id, &[comrade(&m.alice, &m.carol)])
        .unwrap();
    deliver_all(&added, &[&m.bob, &m.carol]);
    (m, id)
}

#[test]
fn joining_brings_the_whole_collective_and_introduces_its_members() {
    let (m, id) = founded();
    let states: Vec<Collective> = [&m.alice, &m.bob, &m.carol]
        .iter()
        .map(|v| v.collectives().get(id).unwrap())
        .collect();
    assert_eq!(
        agreed(&states[0]),
        ("Riverside Care".into(), 3, 1, Some((1, 2)))
    );
    assert!(states.iter().all(|s| agreed(s) == agreed(&states[0])));
    assert!(states[0].i_am_steward && !states[1].i_am_steward);
    assert!(states.iter().all(|s| s.i_am_member && s.waiting == 0));

    // Carol never met Bob: his card came with her welcome, introduced by
    // Alice, not verified. Bob got hers with her addition.
    for (holder, other) in [(&m.carol, &m.bob), (&m.bob, &m.carol)] {
        let them = holder
            .comrades()
            .list()
            .unwrap()
            .into_iter()
            .find(|c| c.identity_key == key(other))
            .expect("introduced");
        assert!(!them.verified);
        let intro = them.introduced.expect("marked as introduced");
        assert_eq!(
            (intro.by_name.as_str(), intro.collective.as_str()),
            ("Alice", "Riverside Care")
        );
        assert_eq!(intro.by, key(&m.alice));
    }
    let members = m.carol.collectives().members(id).unwrap();
    assert_eq!(members.len(), 3);
    assert!(members[0].steward && members[0].name == "Alice");
    assert!(members.iter().any(|x| x.me));

    // An introduced member can be written to like a comrade: Carol accepts
    // the agreements and Bob, who never added her, opens it.
    let accepted = m.carol.collectives().accept_agreements(id).unwrap();
    assert_eq!(
        accepted
            .collective
            .agreements
            .as_ref()
            .unwrap()
            .not_yet_accepted,
        1
    );
    deliver_all(&accepted, &[&m.alice, &m.bob]);
    let bob_sees = m.bob.collectives().get(id).unwrap();
    assert_eq!(bob_sees.agreements.as_ref().unwrap().not_yet_accepted, 1);
    assert!(!bob_sees.agreements.unwrap().i_accepted);
}

#[test]
fn a_major_change_of_the_agreements_asks_everyone_again_and_a_minor_one_does_not() {
    let (m, id) = founded();
    for v in [&m.bob, &m.carol] {
        let made = v.collectives().accept_agreements(id).unwrap();
        deliver_all(&made, &[&m.alice, &m.bob, &m.carol]);
    }
    assert_eq!(
        m.alice
            .collectives()
            .get(id)
            .unwrap()
            .agreements
            .unwrap()
            .not_yet_accepted,
        0
    );
    let minor = m
        .alice
        .collectives()
        .propose_agreements(id, "We meet on the first Sunday.", false)
        .unwrap();
    deliver_all(&minor, &[&m.bob, &m.carol]);
    let seen = m.carol.collectives().get(id).unwrap().agreements.unwrap();
    assert_eq!(
        (seen.version, seen.not_yet_accepted, seen.i_accepted),
        (2, 0, true)
    );
    let major = m
        .alice
        .collectives()
        .propose_agreements(id, "Phones away during the gathering.", true)
        .unwrap();
    deliver_all(&major, &[&m.bob, &m.carol]);
    let seen = m.carol.collectives().get(id).unwrap().agreements.unwrap();
    assert_eq!(
        (seen.version, seen.not_yet_accepted, seen.i_accepted),
        (3, 2, false)
    );
    assert_eq!(seen.text, "Phones away during the gathering.");
}

#[test]
fn a_change_the_rules_refuse_is_typed_and_neither_kept_nor_sent() {
    let (m, id) = founded();
    let before = m.bob.envelopes().outbox().unwrap().len();
    let refused = |r: tend_core::Result<MadeChange>, want: Refusal| match r {
        Err(Error::Collective(CollectiveError::Refused { refusal })) => assert_eq!(refusal, want),
        other => panic!("{other:?}"),
    };
    let carol_in_bob = comrade(&m.bob, &m.carol);
    refused(
        m.bob.collectives().remove_member(id, carol_in_bob),
        Refusal::NotASteward,
    );
    refused(
        m.bob.collectives().add_steward(id, carol_in_bob),
        Refusal::NotASteward,
    );
    refused(
        m.bob
            .collectives()
            .propose_agreements(id, "Bob decides.", true),
        Refusal::NotASteward,
    );
    refused(
        m.bob.collectives().rename(id, "Bob's club"),
        Refusal::NotASteward,
    );
    refused(
        m.alice
            .collectives()
            .add_members(id, &[comrade(&m.alice, &m.bob)]),
        Refusal::NoChange,
    );
    // The last steward cannot leave.
    match m.alice.collectives().leave(id) {
        Err(Error::Collective(CollectiveError::Refused { refusal })) => {
            assert_eq!(refusal, Refusal::LastSteward)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(m.bob.envelopes().outbox().unwrap().len(), before);
    let bob = m.bob.collectives().get(id).unwrap();
    assert_eq!(
        agreed(&bob),
        agreed(&m.alice.collectives().get(id).unwrap())
    );
    assert_eq!(bob.name, "Riverside Care");

    // Nothing refused lingers in what the vaults remember between calls:
    // Alice's next change has the next number, so it counts at Bob's, and
    // each vault reads the same from disk as it remembered.
    let renamed = m
        .alice
        .collectives()
        .rename(id, "Riverside Mutual Care")
        .unwrap();
    deliver_all(&renamed, &[&m.bob, &m.carol]);
    for v in [&m.alice, &m.bob] {
        let remembered = v.collectives().get(id).unwrap();
        assert_eq!(remembered.name, "Riverside Mutual Care");
        v.lock();
        v.unlock_with_key(&common::key(7)).unwrap();
        assert_eq!(v.collectives().get(id).unwrap(), remembered);
    }
}

#[test]
fn a_removed_member_is_sent_nothing_more_and_what_they_send_is_refused() {
    let (m, id) = founded();
    let forger = Forger::from_vault(&m.bob).unwrap();
    let removed = m
        .alice
        .collectives()
        .remove_member(id, comrade(&m.alice, &m.bob))
        .unwrap();
    assert_eq!(removed.collective.members, 2);
    deliver_all(&removed, &[&m.bob, &m.carol]);
    let bob = m.bob.collectives().get(id).unwrap();
    assert!(!bob.i_am_member);

    // Nothing more reaches him.
    let renamed = m
        .alice
        .collectives()
        .rename(id, "Riverside Mutual Aid")
        .unwrap();
    let bob_key = key(&m.bob);
    assert!(
        renamed
            .sealed
            .iter()
            .all(|s| s.recipients.iter().all(|r| r.identity_key != bob_key))
    );
    deliver_all(&renamed, &[&m.carol]);

    // His own vault will not make a change any more...
    assert!(matches!(
        m.bob.collectives().accept_agreements(id),
        Err(Error::Collective(CollectiveError::NotAMember))
    ));
    // ...and one signed by hand with his key is refused by the others.
    let forged = forger
        .collective_change(
            id,
            (3, 40),
            Op::Rename {
                name: "Bob's now".into(),
            },
        )
        .unwrap();
    let sealed = m
        .bob
        .envelopes()
        .seal(&Outgoing {
            kind: kinds::COLLECTIVE_CHANGES,
            body: &collective_changes_body(id, 9, &[forged], &[]),
            to: &[Recipient::Comrade(comrade(&m.bob, &m.carol))],
            expires_at: None,
        })
        .unwrap();
    match m.carol.envelopes().open(&sealed.bytes) {
        Err(Error::Collective(CollectiveError::SenderNotAMember)) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(
        m.carol.collectives().get(id).unwrap().name,
        "Riverside Mutual Aid"
    );
}

#[test]
fn hostile_change_envelopes_are_refused_typed_and_change_nothing() {
    let (m, id) = founded();
    let forger = Forger::from_vault(&m.bob).unwrap();
    let before = m.alice.collectives().get(id).unwrap();
    let members_before = m.alice.collectives().members(id).unwrap();
    let to_alice = [Recipient::Comrade(comrade(&m.bob, &m.alice))];
    let send = |body: &[u8]| {
        let sealed = m
            .bob
            .envelopes()
            .seal(&Outgoing {
                kind: kinds::COLLECTIVE_CHANGES,
                body,
                to: &to_alice,
                expires_at: None,
            })
            .unwrap();
        m.alice.envelopes().open(&sealed.bytes).unwrap_err()
    };
    let good = forger
        .collective_change(id, (1, 50), Op::Accept { version: 1 })
        .unwrap();
    let mut flipped = good.clone();
    flipped[60] ^= 1;
    let other = forger
        .collective_change(CollectiveId([9; 16]), (1, 1), Op::Accept { version: 1 })
        .unwrap();
    let unknown = forger
        .collective_change(
            CollectiveId([9; 16]),
            (1, 1),
            Op::Found {
                name: "Elsewhere".into(),
            },
        )
        .unwrap();

    type Case = (&'static str, Vec<u8>, fn(&Error) -> bool);
    let cases: Vec<Case> = vec![
        ("garbage", b"not a body".to_vec(), |e| {
            matches!(e, Error::Envelope(EnvelopeError::UnsupportedVersion(b'n')))
        }),
        (
            "garbage after the version",
            b"\x01not a body".to_vec(),
            |e| matches!(e, Error::Envelope(EnvelopeError::Malformed)),
        ),
        (
            "cut short",
            collective_changes_body(id, 1, &[good[..good.len() - 3].to_vec()], &[]),
            |e| {
                matches!(
                    e,
                    Error::Collective(CollectiveError::Change {
                        problem: ChangeError::BadSignature
                            | ChangeError::Truncated
                            | ChangeError::Malformed
                    })
                )
            },
        ),
        (
            "flipped byte",
            collective_changes_body(id, 1, &[flipped], &[]),
            |e| matches!(e, Error::Collective(CollectiveError::Change { .. })),
        ),
        (
            "another collective's change",
            collective_changes_body(id, 1, &[other], &[]),
            |e| matches!(e, Error::Collective(CollectiveError::WrongCollective)),
        ),
        (
            "a collective that does not add me",
            collective_changes_body(CollectiveId([9; 16]), 1, &[unknown], &[]),
            |e| matches!(e, Error::Collective(CollectiveError::NotInvited)),
        ),
        (
            "an oversized change",
            collective_changes_body(id, 1, &[vec![1; 20_000]], &[]),
            |e| matches!(e, Error::Envelope(EnvelopeError::TooLarge { .. })),
        ),
        (
            "a damaged card",
            collective_changes_body(id, 1, std::slice::from_ref(&good), &[vec![0; 90]]),
            |e| matches!(e, Error::Card(_)),
        ),
    ];
    for (what, body, expected) in cases {
        let error = send(&body);
        assert!(expected(&error), "{what}: {error:?}");
        assert_eq!(m.alice.collectives().get(id).unwrap(), before, "{what}");
    }
    assert_eq!(m.alice.collectives().members(id).unwrap(), members_before);
    assert_eq!(m.alice.collectives().list().unwrap().len(), 1);
}

#[test]
fn a_member_who_missed_changes_asks_and_catches_up() {
    let (m, id) = founded();
    // Carol is away for three changes.
    for text in ["First Sundays.", "Tea is shared.", "Bring a blanket."] {
        let made = m
            .alice
            .collectives()
            .propose_agreements(id, text, false)
            .unwrap();
        deliver_all(&made, &[&m.bob]);
    }
    // Bob accepts; Carol gets that one, sees Bob holds more than she does
    // (and a gap in Alice's numbers would show too), and asks him.
    let accepted = m.bob.collectives().accept_agreements(id).unwrap();
    let carol_key = key(&m.carol);
    let to_carol: Vec<&Sealed> = accepted
        .sealed
        .iter()
        .filter(|s| s.recipients.iter().any(|r| r.identity_key == carol_key))
        .collect();
    let opened = m.carol.envelopes().open(&to_carol[0].bytes).unwrap();
    assert_eq!(opened.replies.len(), 1, "Carol asks for the rest");
    let ask = outbox_envelope(&m.carol, opened.replies[0]);
    let answered = m.bob.envelopes().open(&ask).unwrap();
    assert_eq!(answered.replies.len(), 1, "Bob answers");
    let answer = outbox_envelope(&m.bob, answered.replies[0]);
    m.carol.envelopes().open(&answer).unwrap();
    // The same ask again (a member flooding them) is not answered again
    // within the hour: nothing more is sealed.
    let flood = m
        .carol
        .envelopes()
        .seal(&Outgoing {
            kind: kinds::COLLECTIVE_ASK,
            body: &tend_core::testing::collective_ask_body(id),
            to: &[Recipient::Comrade(comrade(&m.carol, &m.bob))],
            expires_at: None,
        })
        .unwrap();
    assert!(
        m.bob
            .envelopes()
            .open(&flood.bytes)
            .unwrap()
            .replies
            .is_empty()
    );
    let carol = m.carol.collectives().get(id).unwrap();
    assert_eq!(
        agreed(&carol),
        agreed(&m.bob.collectives().get(id).unwrap())
    );
    assert_eq!(carol.agreements.unwrap().text, "Bring a blanket.");
    assert_eq!(carol.waiting, 0);
}

#[test]
fn leaving_tells_the_members_and_forgets_the_collective() {
    let (m, id) = founded();
    let sealed = m.carol.collectives().leave(id).unwrap();
    assert!(!sealed.is_empty());
    assert!(m.carol.collectives().list().unwrap().is_empty());
    for v in [&m.alice, &m.bob] {
        assert!(deliver(&sealed, v).is_empty());
        assert_eq!(v.collectives().get(id).unwrap().members, 2);
    }
}

#[test]
fn a_member_away_for_a_month_catches_up_at_the_weekly_ask() {
    let (m, id) = founded();
    // Everything Carol missed is long gone from the relays, and nothing
    // new is sent to tell her.
    for text in ["First Sundays.", "Tea is shared."] {
        let made = m
            .alice
            .collectives()
            .propose_agreements(id, text, false)
            .unwrap();
        deliver_all(&made, &[&m.bob]);
    }
    let before = m.carol.envelopes().outbox().unwrap().len();
    tend_core::testing::collectives_catch_up_at(&m.carol, chrono::Utc::now()).unwrap();
    assert_eq!(
        m.carol.envelopes().outbox().unwrap().len(),
        before,
        "not due yet"
    );
    let later = chrono::Utc::now() + chrono::Duration::days(30);
    tend_core::testing::collectives_catch_up_at(&m.carol, later).unwrap();
    let outbox = m.carol.envelopes().outbox().unwrap();
    assert_eq!(outbox.len(), before + 1, "one ask, to one member");
    let ask = outbox.last().unwrap();
    assert_eq!(ask.kind, kinds::COLLECTIVE_ASK);
    let asked = [&m.alice, &m.bob]
        .into_iter()
        .find(|v| {
            ask.sealed
                .recipients
                .iter()
                .any(|r| r.identity_key == key(v))
        })
        .unwrap();
    let answered = asked.envelopes().open(&ask.sealed.bytes).unwrap();
    let answer = outbox_envelope(asked, answered.replies[0]);
    m.carol.envelopes().open(&answer).unwrap();
    let carol = m.carol.collectives().get(id).unwrap();
    assert_eq!(carol.agreements.unwrap().text, "Tea is shared.");
    // Asked, she does not ask again the next week but the one after.
    tend_core::testing::collectives_catch_up_at(&m.carol, later + chrono::Duration::days(1))
        .unwrap();
    assert_eq!(m.carol.envelopes().outbox().unwrap().len(), before + 1);
}

#[test]
fn a_gathering_of_the_collective_invites_every_other_member() {
    let (m, id) = founded();
    // Bob, who met only Alice, organises; Carol's card came with the collective.
    let gathering = monthly(&m.bob, "The community room");
    let invite = m
        .bob
        .gatherings()
        .invite_collective(gathering.id, id, false)
        .unwrap()
        .remove(0);
    let mut names: Vec<&str> = invite.recipients.iter().map(|r| r.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["Alice", "Carol"]);
    for v in [&m.alice, &m.carol] {
        v.envelopes().open(&invite.bytes).unwrap();
        assert_eq!(
            v.gatherings().list().unwrap()[0].organiser.as_deref(),
            Some("Bob")
        );
    }
    // It is for members: nobody else is invited to it by hand.
    let stranger = member(m._dir.path(), "Erin");
    let erin = befriend(&m.bob, &stranger).0;
    assert!(matches!(
        m.bob
            .gatherings()
            .invite(gathering.id, &[Recipient::Comrade(erin)]),
        Err(Error::Invalid { .. })
    ));
    // Carol leaves: Bob's vault invites her no more, and her copy is called off.
    let left = m.carol.collectives().leave(id).unwrap();
    relay(left, &[&m.alice, &m.bob, &m.carol]);
    assert!(m.carol.gatherings().list().unwrap().is_empty());
    // Someone who left cannot invite the collective any more.
    let hers = monthly(&m.carol, "Her kitchen");
    assert!(matches!(
        m.carol.gatherings().invite_collective(hers.id, id, false),
        Err(Error::NotFound { what: "collective" })
    ));
}

fn outbox_envelope(v: &Vault, id: tend_core::envelope::MessageId) -> Vec<u8> {
    v.envelopes()
        .outbox()
        .unwrap()
        .into_iter()
        .find(|o| o.sealed.message_id == id)
        .unwrap()
        .sealed
        .bytes
}

/// Dana, a stranger to everyone, with a pass Alice issued.
fn visiting(m: &Members, id: CollectiveId) -> (Vault, tend_core::collective::JoinedVisit) {
    visiting_with(m, &m.alice, id)
}

/// Dana, with a pass `host` issued.
fn visiting_with(
    m: &Members,
    host: &Vault,
    id: CollectiveId,
) -> (Vault, tend_core::collective::JoinedVisit) {
    let dana = member(m._dir.path(), "Dana");
    let pass = host
        .collectives()
        .issue_pass(id, chrono::Duration::days(30))
        .unwrap();
    assert!(pass.text.starts_with("TENDPASS:"));
    let joined = dana.collectives().join_with_pass(&pass.text).unwrap();
    (dana, joined)
}

#[test]
fn a_visitor_with_a_pass_sees_the_public_face_and_nothing_else() {
    let (m, id) = founded();
    let (dana, joined) = visiting(&m, id);
    assert_eq!(joined.visit.host, "Alice");
    assert_eq!(
        joined.visit.agreements, None,
        "nothing before the face arrives"
    );
    // Alice's vault opens the one envelope Tend takes from a stranger.
    let opened = m.alice.envelopes().open(&joined.sealed.bytes).unwrap();
    let visitor = m.alice.comrades().find("Dana").unwrap();
    assert!(!visitor.verified);
    assert_eq!(
        visitor.visit.map(|v| (v.collective, v.role)),
        Some((
            "Riverside Care".into(),
            tend_core::comrades::VisitRole::Visitor
        ))
    );
    assert_eq!(opened.replies.len(), 1, "the face");
    let face = outbox_envelope(&m.alice, opened.replies[0]);
    dana.envelopes().open(&face).unwrap();
    let seen = &dana.collectives().visits().unwrap()[0];
    assert_eq!(
        (seen.name.as_str(), seen.host.as_str()),
        ("Riverside Care", "Alice")
    );
    assert_eq!(seen.agreements.as_deref(), Some(STARTER_AGREEMENTS));
    // A new version reaches her face too; members and RSVPs never do.
    let made = m
        .alice
        .collectives()
        .propose_agreements(id, "Visitors welcome at the gathering.", true)
        .unwrap();
    let to_dana = |sealed: &[Sealed]| {
        let dana_key = key(&dana);
        sealed
            .iter()
            .filter(|s| s.recipients.iter().any(|r| r.identity_key == dana_key))
            .count()
    };
    assert_eq!(to_dana(&made.sealed), 1, "her face, alone");
    assert!(deliver(&made.sealed, &dana).is_empty());
    let seen = &dana.collectives().visits().unwrap()[0];
    assert_eq!(
        seen.agreements.as_deref(),
        Some("Visitors welcome at the gathering.")
    );
    assert!(
        dana.collectives().list().unwrap().is_empty(),
        "she is not a member"
    );
    assert!(matches!(
        dana.collectives().get(id),
        Err(Error::NotFound { what: "collective" })
    ));
    // Nothing more once nothing changed.
    let again = m.alice.collectives().rename(id, "Riverside Care").unwrap();
    assert_eq!(to_dana(&again.sealed), 0);
}

#[test]
fn a_pass_that_expired_is_forged_or_was_used_by_someone_else_lets_nobody_in() {
    let (m, id) = founded();
    let pass = m
        .alice
        .collectives()
        .issue_pass(id, chrono::Duration::minutes(5))
        .unwrap();
    let dana = member(m._dir.path(), "Dana");
    let joined = dana.collectives().join_with_pass(&pass.text).unwrap();
    // Arriving after the pass expired: a stranger, refused as one.
    let late = chrono::Utc::now() + chrono::Duration::minutes(6);
    assert!(matches!(
        tend_core::testing::open_envelope_at(&m.alice, &joined.sealed.bytes, late),
        Err(Error::Envelope(EnvelopeError::UnknownSender))
    ));
    assert!(m.alice.comrades().find("Dana").is_err(), "nothing kept");
    // In time, Dana comes in; the same pass then lets nobody else in.
    m.alice.envelopes().open(&joined.sealed.bytes).unwrap();
    let erin = member(m._dir.path(), "Erin");
    let second = erin.collectives().join_with_pass(&pass.text).unwrap();
    assert!(matches!(
        m.alice.envelopes().open(&second.sealed.bytes),
        Err(Error::Envelope(EnvelopeError::UnknownSender))
    ));
    // A pass naming Alice but signed by someone else, or altered, never joins.
    let mut altered = pass.text.clone();
    altered.replace_range(40..41, if &altered[40..41] == "A" { "B" } else { "A" });
    assert!(matches!(
        erin.collectives().join_with_pass(&altered),
        Err(Error::Collective(CollectiveError::Pass { .. }))
    ));
    // A visit with a pass id Alice never issued.
    let frank = member(m._dir.path(), "Frank");
    frank
        .comrades()
        .add(&m.alice.comrades().my_card().unwrap(), None)
        .unwrap();
    let alice_at_frank = comrade(&frank, &m.alice);
    let body =
        format!(r#"{{"v":1,"collective":"{id}","pass":"01890000-0000-7000-8000-000000000000"}}"#);
    let made_up = frank
        .envelopes()
        .seal(&Outgoing {
            kind: kinds::COLLECTIVE_VISIT,
            body: body.as_bytes(),
            to: &[Recipient::Comrade(alice_at_frank)],
            expires_at: None,
        })
        .unwrap();
    assert!(matches!(
        m.alice.envelopes().open(&made_up.bytes),
        Err(Error::Envelope(EnvelopeError::UnknownSender))
    ));
}

#[test]
fn a_visitor_opens_no_envelope_of_any_kind_sealed_to_the_members() {
    let (m, id) = founded();
    let (dana, joined) = visiting(&m, id);
    m.alice.envelopes().open(&joined.sealed.bytes).unwrap();
    let members: Vec<Recipient> = [&m.bob, &m.carol]
        .iter()
        .map(|v| Recipient::Comrade(comrade(&m.alice, v)))
        .collect();
    let every_kind = [
        kinds::CARD_UPDATE,
        kinds::JOURNAL_ENTRY,
        kinds::CARE_REQUEST,
        kinds::CARE_OFFER,
        kinds::CARE_ACCEPT,
        kinds::CARE_UPDATE,
        kinds::CARE_THANKS,
        kinds::GATHERING_INVITE,
        kinds::GATHERING_UPDATE,
        kinds::GATHERING_RSVP,
        kinds::COLLECTIVE_CHANGES,
        kinds::COLLECTIVE_ASK,
        kinds::COLLECTIVE_VISIT,
        kinds::COLLECTIVE_FACE,
        kinds::COLLECTIVE_VOUCH,
        kinds::COLLECTIVE_PROGRESS,
        kinds::COLLECTIVE_ATTENDED,
    ];
    let mut sealed: Vec<Sealed> = every_kind
        .iter()
        .map(|kind| {
            m.alice
                .envelopes()
                .seal(&Outgoing {
                    kind,
                    body: b"{}",
                    to: &members,
                    expires_at: None,
                })
                .unwrap()
        })
        .collect();
    // And the real ones: a change, the members' gathering.
    sealed.extend(
        m.alice
            .collectives()
            .rename(id, "Riverside Mutual Aid")
            .unwrap()
            .sealed,
    );
    let gathering = monthly(&m.alice, "The community room");
    sealed.extend(
        m.alice
            .gatherings()
            .invite_collective(gathering.id, id, false)
            .unwrap(),
    );
    let dana_key = key(&dana);
    for s in sealed {
        if s.recipients.iter().any(|r| r.identity_key == dana_key) {
            continue; // her face, sealed to her as it should be
        }
        assert!(
            matches!(
                dana.envelopes().open(&s.bytes),
                Err(Error::Envelope(EnvelopeError::NotForMe))
            ),
            "{:?}",
            s.recipients
        );
    }
    assert!(dana.gatherings().list().unwrap().is_empty());
}

#[test]
fn a_visitor_vouched_for_by_enough_members_becomes_one_and_sees_only_the_count() {
    let (m, id) = founded();
    // Bob, not a steward, hosts Dana; Alice, the steward, has never met her.
    let (dana, joined) = visiting_with(&m, &m.bob, id);
    let opened = m.bob.envelopes().open(&joined.sealed.bytes).unwrap();
    dana.envelopes()
        .open(&outbox_envelope(&m.bob, opened.replies[0]))
        .unwrap();
    assert_eq!(tend_core::collective::vouches_needed(3), 2);

    // Bob vouches: the steward counts one of two; the members hear the
    // count, and Dana's face shows it, never who.
    let dana_at_bob = comrade(&m.bob, &dana);
    let vouched = m.bob.collectives().vouch(id, dana_at_bob).unwrap();
    assert_eq!(vouched.len(), 1);
    let alice_key = key(&m.alice);
    assert!(
        vouched[0]
            .recipients
            .iter()
            .all(|r| r.identity_key == alice_key),
        "stewards alone"
    );
    let counted = m.alice.envelopes().open(&vouched[0].bytes).unwrap();
    let progress = outbox_envelope(&m.alice, counted.replies[0]);
    for v in [&m.bob, &m.carol] {
        let opened = v.envelopes().open(&progress).unwrap();
        if std::ptr::eq(v, &m.bob) {
            dana.envelopes()
                .open(&outbox_envelope(&m.bob, opened.replies[0]))
                .unwrap();
        }
    }
    let seen = &dana.collectives().visits().unwrap()[0];
    assert_eq!((seen.vouches, seen.vouches_needed), (Some(1), Some(2)));

    // A vouch sent to a member who is not a steward is refused, typed.
    let stray = m
        .carol
        .envelopes()
        .seal(&Outgoing {
            kind: kinds::COLLECTIVE_VOUCH,
            body: format!(
                r#"{{"v":1,"collective":"{id}","visitor":"{}"}}"#,
                dana.comrades().my_card().unwrap().to_text()
            )
            .as_bytes(),
            to: &[Recipient::Comrade(comrade(&m.carol, &m.bob))],
            expires_at: None,
        })
        .unwrap();
    assert!(matches!(
        m.bob.envelopes().open(&stray.bytes),
        Err(Error::Collective(CollectiveError::Refused {
            refusal: Refusal::NotASteward
        }))
    ));

    // Carol met Dana at the gathering and vouches too: that is enough.
    let vouched = meets_and_vouches(&m.carol, &dana, id);
    let admitted = m.alice.envelopes().open(&vouched[0].bytes).unwrap();
    let sealed: Vec<Sealed> = m
        .alice
        .envelopes()
        .outbox()
        .unwrap()
        .into_iter()
        .filter(|o| admitted.replies.contains(&o.sealed.message_id))
        .map(|o| o.sealed)
        .collect();
    // Alice is a stranger to Dana: her welcome is taken because it adds
    // Dana and Dana's host is a member of what it carries.
    for v in [&m.bob, &m.carol, &dana] {
        let refused = deliver(&sealed, v);
        assert!(refused.is_empty(), "{refused:?}");
    }
    let at_dana = dana.collectives().get(id).unwrap();
    assert!(at_dana.i_am_member);
    assert_eq!(at_dana.members, 4);
    assert_eq!(
        agreed(&at_dana),
        agreed(&m.bob.collectives().get(id).unwrap())
    );
    assert!(
        dana.collectives().visits().unwrap().is_empty(),
        "no longer a visitor"
    );
    let alice_at_dana = dana.comrades().find("Alice").unwrap();
    assert!(!alice_at_dana.verified);
    assert_eq!(dana.collectives().members(id).unwrap().len(), 4);
}

/// A monthly restorative gathering in `v`'s vault, first on or after today.
/// `member` takes the visitor's card (they met at a gathering) and vouches.
fn meets_and_vouches(member: &Vault, visitor: &Vault, id: CollectiveId) -> Vec<Sealed> {
    member
        .comrades()
        .add(&visitor.comrades().my_card().unwrap(), None)
        .unwrap();
    member
        .collectives()
        .vouch(id, comrade(member, visitor))
        .unwrap()
}

fn monthly(v: &Vault, place: &str) -> tend_core::gatherings::Gathering {
    let today = chrono::Utc::now().date_naive();
    v.gatherings()
        .add(tend_core::gatherings::NewGathering::monthly_restorative(
            today,
            "Europe/Berlin",
            place,
        ))
        .unwrap()
}

/// Delivers `sealed` to those of `vaults` it is addressed to, then what
/// they seal in answer, until nothing more is sent: a relay in miniature.
fn relay(sealed: Vec<Sealed>, vaults: &[&Vault]) {
    let mut queue: std::collections::VecDeque<Sealed> = sealed.into();
    while let Some(s) = queue.pop_front() {
        for v in vaults {
            if s.recipients.iter().any(|r| r.identity_key == key(v)) {
                let opened = v.envelopes().open(&s.bytes).unwrap();
                queue.extend(
                    v.envelopes()
                        .outbox()
                        .unwrap()
                        .into_iter()
                        .filter(|o| opened.replies.contains(&o.sealed.message_id))
                        .map(|o| o.sealed),
                );
            }
        }
    }
}

/// What `v` sealed while `f` ran.
fn sealing(v: &Vault, f: impl FnOnce()) -> Vec<Sealed> {
    let before: Vec<_> = v
        .envelopes()
        .outbox()
        .unwrap()
        .into_iter()
        .map(|o| o.sealed.message_id)
        .collect();
    f();
    v.envelopes()
        .outbox()
        .unwrap()
        .into_iter()
        .filter(|o| !before.contains(&o.sealed.message_id))
        .map(|o| o.sealed)
        .collect()
}

#[test]
fn a_gathering_that_welcomes_visitors_reaches_them_with_totals_only_and_their_answer_the_organiser()
{
    use tend_core::gatherings::Rsvp;
    let (m, id) = founded();
    // Bob hosts Dana; Alice, who organises, has never met her.
    let (dana, joined) = visiting_with(&m, &m.bob, id);
    let all = [&m.alice, &m.bob, &m.carol, &dana];
    relay(vec![joined.sealed], &all);

    let g = monthly(&m.alice, "The community room");
    let invite = m
        .alice
        .gatherings()
        .invite_collective(g.id, id, false)
        .unwrap();
    relay(invite, &all);
    assert!(
        dana.gatherings().list().unwrap().is_empty(),
        "not yet welcome"
    );

    let welcome = m
        .alice
        .gatherings()
        .set_visitors_welcome(g.id, true)
        .unwrap();
    relay(welcome, &all);
    let hers = dana.gatherings().list().unwrap();
    assert_eq!(hers.len(), 1);
    assert_eq!(
        (
            hers[0].organiser.as_deref(),
            hers[0].collective,
            hers[0].visitors_welcome
        ),
        (Some("Bob"), Some(id), true),
        "through her host"
    );
    assert_eq!(hers[0].location, "The community room");
    let next = dana
        .gatherings()
        .occurrences(
            chrono::Utc::now(),
            chrono::Utc::now() + chrono::Duration::days(40),
        )
        .unwrap()
        .into_iter()
        .next()
        .unwrap();

    // Carol and Dana are going. Dana's answer goes to Bob, who passes it on.
    let carol_going = sealing(&m.carol, || {
        let copy = m.carol.gatherings().list().unwrap()[0].id;
        m.carol
            .gatherings()
            .rsvp(copy, next.original_start, Some(Rsvp::Going), None)
            .unwrap()
    });
    relay(carol_going, &all);
    let dana_going = sealing(&dana, || {
        dana.gatherings()
            .rsvp(hers[0].id, next.original_start, Some(Rsvp::Going), None)
            .unwrap()
    });
    assert_eq!(dana_going.len(), 1);
    assert_eq!(dana_going[0].recipients[0].name, "Bob");
    relay(dana_going, &all);
    let attendees = m
        .alice
        .gatherings()
        .attendees(g.id, next.original_start)
        .unwrap();
    let mut seen: Vec<(Option<&str>, bool, Option<&str>)> = attendees
        .iter()
        .map(|a| (a.name.as_deref(), a.visitor, a.host.as_deref()))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (Some("Carol"), false, None),
            (Some("Dana"), true, Some("Bob"))
        ]
    );
    // She sees how many are going, never who.
    let totals = |v: &Vault| {
        v.gatherings()
            .occurrences(
                chrono::Utc::now(),
                chrono::Utc::now() + chrono::Duration::days(40),
            )
            .unwrap()[0]
            .totals
    };
    assert_eq!(totals(&dana).map(|t| t.going), Some(2));
    assert_eq!(totals(&m.bob).map(|t| t.going), Some(2));
    assert!(
        dana.gatherings()
            .attendees(hers[0].id, next.original_start)
            .is_err()
    );

    // A member cannot answer for another member as if a visitor.
    let forged = m
        .carol
        .envelopes()
        .seal(&Outgoing {
            kind: kinds::GATHERING_RSVP,
            body: format!(
                r#"{{"v":1,"uid":"{}@tend","start":"{}","response":"going","at":{},"visitor":{{"key":"{}","name":"Bob"}}}}"#,
                g.id,
                tend_core::gatherings::local_time_text(next.original_start),
                chrono::Utc::now().timestamp_millis(),
                hex::encode(key(&m.bob).as_bytes()),
            )
            .as_bytes(),
            to: &[Recipient::Comrade(comrade(&m.carol, &m.alice))],
            expires_at: None,
        })
        .unwrap();
    assert!(matches!(
        m.alice.envelopes().open(&forged.bytes),
        Err(Error::Gathering(
            tend_core::gatherings::GatheringError::NotInvited
        ))
    ));

    // No longer welcome: it goes from the visitor's vault; welcome again, back.
    let off = m
        .alice
        .gatherings()
        .set_visitors_welcome(g.id, false)
        .unwrap();
    relay(off, &all);
    assert!(dana.gatherings().list().unwrap().is_empty());
    assert_eq!(
        m.carol.gatherings().list().unwrap().len(),
        1,
        "members keep it"
    );
    // What she sends her host by hand now is refused, typed: an answer to a
    // gathering that no longer welcomes her, or word that she came.
    let bob_at_dana = comrade(&dana, &m.bob);
    let by_hand = |kind: &'static str, body: String| {
        dana.envelopes()
            .seal(&Outgoing {
                kind,
                body: body.as_bytes(),
                to: &[Recipient::Comrade(bob_at_dana)],
                expires_at: None,
            })
            .unwrap()
    };
    let answer = by_hand(
        kinds::GATHERING_RSVP,
        format!(
            r#"{{"v":1,"uid":"{}@tend","start":"{}","response":"going","at":{}}}"#,
            g.id,
            tend_core::gatherings::local_time_text(next.original_start),
            chrono::Utc::now().timestamp_millis(),
        ),
    );
    assert!(matches!(
        m.bob.envelopes().open(&answer.bytes),
        Err(Error::Gathering(
            tend_core::gatherings::GatheringError::NotOrganiser
        ))
    ));
    let came = by_hand(
        kinds::COLLECTIVE_ATTENDED,
        format!(
            r#"{{"v":1,"collective":"{id}","visitor":"{}"}}"#,
            hex::encode(key(&dana).as_bytes())
        ),
    );
    assert!(matches!(
        m.bob.envelopes().open(&came.bytes),
        Err(Error::Collective(CollectiveError::SenderNotAMember))
    ));
    let on = m
        .alice
        .gatherings()
        .set_visitors_welcome(g.id, true)
        .unwrap();
    relay(on, &all);
    assert_eq!(dana.gatherings().list().unwrap().len(), 1);

    // Alice meets Dana there and admits her: now a member, she is invited
    // by Alice herself, and her copy becomes the organiser's.
    m.alice
        .comrades()
        .add(&dana.comrades().my_card().unwrap(), None)
        .unwrap();
    let admitted = m
        .alice
        .collectives()
        .admit(id, comrade(&m.alice, &dana))
        .unwrap();
    relay(admitted.sealed, &all);
    let hers = dana.gatherings().list().unwrap();
    assert_eq!(hers.len(), 1);
    assert_eq!(hers[0].organiser.as_deref(), Some("Alice"));
    assert_eq!(dana.collectives().get(id).unwrap().members, 4);
}

#[test]
fn the_settings_remind_every_member_of_the_review_day_and_offer_the_relays() {
    use tend_core::collective::Settings;
    let (m, id) = founded();
    let today = chrono::Utc::now().date_naive();
    let day = today + chrono::Duration::days(30);
    let settings = Settings {
        review_agreements_on: Some(day),
        gathering_required: false,
        ..Default::default()
    };
    match m.bob.collectives().set_settings(id, &settings) {
        Err(Error::Collective(CollectiveError::Refused { refusal })) => {
            assert_eq!(refusal, Refusal::NotASteward)
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        m.alice.collectives().set_settings(
            id,
            &Settings {
                review_agreements_on: Some(today - chrono::Duration::days(1)),
                gathering_required: false,
                ..Default::default()
            }
        ),
        Err(Error::Invalid { .. })
    ));
    let set = m.alice.collectives().set_settings(id, &settings).unwrap();
    deliver_all(&set, &[&m.bob, &m.carol]);
    let noon = day.and_hms_opt(12, 0, 0).unwrap().and_utc();
    for v in [&m.alice, &m.bob, &m.carol] {
        assert_eq!(v.collectives().get(id).unwrap().settings, settings);
        let reminders = v
            .gatherings()
            .next_reminders(chrono::Utc::now(), 10)
            .unwrap();
        let fires: Vec<_> = reminders.iter().map(|r| r.fires_at).collect();
        assert_eq!(fires, [noon - chrono::Duration::days(7), noon]);
        assert!(
            reminders
                .iter()
                .all(|r| r.collective == Some(id) && r.gathering.is_none())
        );
        assert_eq!(
            reminders[0].title,
            "Review the agreements of Riverside Care"
        );
    }
    // A gathering's reminders and the review's come in one order.
    let g = monthly(&m.bob, "");
    let both = m
        .bob
        .gatherings()
        .next_reminders(chrono::Utc::now(), 40)
        .unwrap();
    assert!(both.windows(2).all(|w| w[0].fires_at <= w[1].fires_at));
    assert!(both.iter().any(|r| r.gathering == Some(g.id)));
    assert_eq!(both.iter().filter(|r| r.collective == Some(id)).count(), 2);
    // It asks its members to receive on a relay: each takes it up when
    // they choose to, and their comrades get their new card.
    let relay = tend_core::delivery::RelayUrl::parse("wss://relay.example.org").unwrap();
    let relays = vec![relay];
    let with_relay = Settings {
        relays: relays.clone(),
        ..settings.clone()
    };
    let set = m.alice.collectives().set_settings(id, &with_relay).unwrap();
    deliver_all(&set, &[&m.bob, &m.carol]);
    assert_eq!(m.bob.collectives().get(id).unwrap().settings.relays, relays);
    assert!(
        m.bob.delivery().relays().unwrap().is_empty(),
        "not without asking"
    );
    let added = m.bob.delivery().use_collective_relays(id).unwrap();
    assert_eq!(added, relays);
    assert_eq!(m.bob.delivery().relays().unwrap(), relays);
    assert!(
        m.bob
            .delivery()
            .use_collective_relays(id)
            .unwrap()
            .is_empty()
    );
    let nine = Settings {
        relays: (0..9)
            .map(|i| {
                tend_core::delivery::RelayUrl::parse(&format!("wss://r{i}.example.org")).unwrap()
            })
            .collect(),
        ..settings.clone()
    };
    assert!(
        m.alice.collectives().set_settings(id, &nine).is_err(),
        "at most 8"
    );
    let settings = with_relay;
    // The same settings again are no change; someone who left is not reminded.
    assert!(m.alice.collectives().set_settings(id, &settings).is_err());
    m.carol.collectives().leave(id).unwrap();
    assert!(m.carol.delivery().use_collective_relays(id).is_err());
    assert!(
        m.carol
            .gatherings()
            .next_reminders(chrono::Utc::now(), 10)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_collective_that_asks_visitors_to_come_first_admits_them_after_a_gathering() {
    use chrono::{Duration, Timelike, Utc};
    use tend_core::collective::Settings;
    use tend_core::gatherings::{GatheringKind, NewGathering, Rsvp};
    let (m, id) = founded();
    let required = Settings {
        review_agreements_on: None,
        gathering_required: true,
        ..Default::default()
    };
    let set = m.alice.collectives().set_settings(id, &required).unwrap();
    deliver_all(&set, &[&m.bob, &m.carol]);
    let (dana, joined) = visiting_with(&m, &m.bob, id);
    let all = [&m.alice, &m.bob, &m.carol, &dana];
    relay(vec![joined.sealed], &all);
    // A weekly gathering whose first evening was two days ago.
    let began = (Utc::now() - Duration::days(2))
        .naive_utc()
        .with_second(0)
        .unwrap()
        .with_nanosecond(0)
        .unwrap();
    let g = m
        .alice
        .gatherings()
        .add(NewGathering {
            title: "Quiet evening".into(),
            kind: GatheringKind::RestorativeGathering,
            description: String::new(),
            location: "The library".into(),
            starts_at: began,
            time_zone: "UTC".into(),
            duration: Duration::hours(2),
            recurrence: Some("FREQ=WEEKLY".into()),
            reminders: Vec::new(),
        })
        .unwrap();
    let invited = m
        .alice
        .gatherings()
        .invite_collective(g.id, id, true)
        .unwrap();
    relay(invited, &all);

    // Bob and Carol vouch: enough, but she has not come yet.
    let vouched = m
        .bob
        .collectives()
        .vouch(id, comrade(&m.bob, &dana))
        .unwrap();
    relay(vouched, &all);
    let vouched = meets_and_vouches(&m.carol, &dana, id);
    relay(vouched, &all);
    let seen = &dana.collectives().visits().unwrap()[0];
    assert_eq!(
        (seen.vouches, seen.vouches_needed, seen.awaiting_gathering),
        (Some(2), Some(2), true)
    );
    let copy = dana.gatherings().list().unwrap()[0].id;
    // Going to next week's counts for nothing yet.
    let going = |start| {
        sealing(&dana, || {
            dana.gatherings()
                .rsvp(copy, start, Some(Rsvp::Going), None)
                .unwrap()
        })
    };
    relay(going(began + Duration::days(7)), &all);
    assert!(dana.collectives().list().unwrap().is_empty());
    // Carol, no steward, cannot be told who came.
    let stray = m
        .bob
        .envelopes()
        .seal(&Outgoing {
            kind: kinds::COLLECTIVE_ATTENDED,
            body: format!(
                r#"{{"v":1,"collective":"{id}","visitor":"{}"}}"#,
                hex::encode(key(&dana).as_bytes())
            )
            .as_bytes(),
            to: &[Recipient::Comrade(comrade(&m.bob, &m.carol))],
            expires_at: None,
        })
        .unwrap();
    assert!(matches!(
        m.carol.envelopes().open(&stray.bytes),
        Err(Error::Collective(CollectiveError::Refused {
            refusal: Refusal::NotASteward
        }))
    ));
    // She came two days ago: Alice, organiser and steward, admits her.
    relay(going(began), &all);
    let hers = dana.collectives().get(id).unwrap();
    assert!(hers.i_am_member);
    assert_eq!(hers.members, 4);
    assert!(dana.collectives().visits().unwrap().is_empty());
}
