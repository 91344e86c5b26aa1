//! The greeting round (issue 20, part 1): one line each, or a pass, that
//! nobody reads before the round opens, shown in an order nobody chose.

mod common;

use chrono::NaiveDateTime;
use common::{befriend, member, restorative_gathering, sealed_of};
use tend_core::envelope::{EnvelopeError, Opened, Outgoing, Recipient};
use tend_core::gatherings::{GatheringId, Round, Rsvp, Said};
use tend_core::kinds;
use tend_core::{Error, Vault};

const WORDS: [&str; 3] = ["heron", "scarf", "poems"];

struct Circle {
    _dir: tempfile::TempDir,
    alice: Vault,
    /// Bob, Carol and Dana, going; Eve, invited and not going.
    others: Vec<Vault>,
    /// Each one's id for the gathering (Alice's first).
    ids: Vec<GatheringId>,
    start: NaiveDateTime,
}

/// Alice's restorative gathering of 5 December 2026; Bob, Carol and Dana
/// say they are going, Eve does not answer.
fn circle() -> Circle {
    let dir = tempfile::tempdir().unwrap();
    let alice = member(dir.path(), "Alice");
    let others: Vec<Vault> = ["Bob", "Carol", "Dana", "Eve"]
        .iter()
        .map(|n| member(dir.path(), n))
        .collect();
    for v in &others {
        befriend(&alice, v);
    }
    let gathering = restorative_gathering(&alice);
    let to: Vec<Recipient> = ["Bob", "Carol", "Dana", "Eve"]
        .iter()
        .map(|n| Recipient::Comrade(alice.comrades().find(n).unwrap().id))
        .collect();
    let invite = alice.gatherings().invite(gathering.id, &to).unwrap();
    let start = NaiveDateTime::parse_from_str("2026-12-05T18:00", "%Y-%m-%dT%H:%M").unwrap();
    let mut ids = vec![gathering.id];
    for v in &others {
        v.envelopes().open(&invite.bytes).unwrap();
        ids.push(v.gatherings().list().unwrap()[0].id);
    }
    for (v, id) in others.iter().zip(&ids[1..]).take(3) {
        v.gatherings()
            .rsvp(*id, start, Some(Rsvp::Going), None)
            .unwrap();
        alice
            .envelopes()
            .open(&sealed_of(v, kinds::GATHERING_RSVP)[0].bytes)
            .unwrap();
    }
    Circle {
        _dir: dir,
        alice,
        others,
        ids,
        start,
    }
}

impl Circle {
    fn everyone(&self) -> Vec<&Vault> {
        std::iter::once(&self.alice).chain(&self.others).collect()
    }

    fn round(&self, i: usize) -> Round {
        self.everyone()[i]
            .gatherings()
            .round(self.ids[i], self.start)
            .unwrap()
    }

    fn write(&self, i: usize, line: Option<&str>) -> tend_core::Result<()> {
        self.everyone()[i]
            .gatherings()
            .write_round_line(self.ids[i], self.start, line)
    }

    /// Lines written by Bob, Carol and Dana, at Alice: what she opened.
    fn lines_reach_alice(&self) -> Vec<Opened> {
        let mut opened = Vec::new();
        for v in &self.others[..3] {
            for sealed in sealed_of(v, kinds::GATHERING_ROUND_LINE).iter().take(1) {
                opened.push(self.alice.envelopes().open(&sealed.bytes).unwrap());
            }
        }
        opened
    }

    /// Alice opens; each key comes back to her, but from those in
    /// `silent`; she passes each on.
    fn open_round(&self, silent: &[usize]) {
        self.alice
            .gatherings()
            .open_round(self.ids[0], self.start)
            .unwrap();
        let open = sealed_of(&self.alice, kinds::GATHERING_ROUND_OPEN).remove(0);
        assert_eq!(open.recipients.len(), 3, "those going, not Eve");
        let mut released = Vec::new();
        for (i, v) in self.others[..3].iter().enumerate() {
            let wrote = self.round(i + 1).mine.is_some();
            let replies = v.envelopes().open(&open.bytes).unwrap().replies;
            assert_eq!(
                replies.len(),
                usize::from(wrote),
                "a key released, by those who wrote"
            );
            if wrote && !silent.contains(&(i + 1)) {
                released.push((i, sealed_of(v, kinds::GATHERING_ROUND_KEY).remove(0)));
            }
        }
        for (from, key) in released {
            self.alice.envelopes().open(&key.bytes).unwrap();
            // The round again, with every key so far, to the others.
            let again = sealed_of(&self.alice, kinds::GATHERING_ROUND_OPEN).remove(0);
            assert_eq!(again.recipients.len(), 2);
            for (i, w) in self.others[..3].iter().enumerate() {
                if i != from {
                    w.envelopes().open(&again.bytes).unwrap();
                }
            }
        }
    }
}

fn said(round: &Round) -> Vec<Said> {
    round.lines.iter().map(|l| l.said.clone()).collect()
}

#[test]
fn nothing_is_readable_before_the_round_opens_and_every_phone_shows_one_order() {
    let c = circle();
    // Eve did not say she is going: no line from her.
    assert!(matches!(
        c.write(4, Some("Me too")),
        Err(Error::Invalid { .. })
    ));
    c.write(1, Some("I'll sketch the heron")).unwrap();
    c.write(2, None).unwrap();
    c.write(3, Some("Knitting the blue scarf, slowly")).unwrap();
    c.write(0, Some("Reading poems by the window")).unwrap();
    assert!(matches!(
        c.write(1, Some(&"x".repeat(141))),
        Err(Error::Invalid { .. })
    ));
    c.lines_reach_alice();

    // Before it opens: Alice holds four lines and can read none but hers,
    // in any envelope she holds; Bob sees his own only.
    let before = c.round(0);
    assert_eq!(before.written, 4);
    assert!(before.lines.is_empty() && before.check.is_none());
    for item in c.alice.envelopes().inbox(None).unwrap() {
        for word in WORDS {
            assert!(
                !item
                    .opened
                    .body
                    .windows(word.len())
                    .any(|w| w == word.as_bytes()),
                "{word} readable in a {}",
                item.opened.kind
            );
        }
    }
    assert_eq!(
        c.round(1).mine,
        Some(Said::Line {
            text: "I'll sketch the heron".into()
        })
    );
    assert!(c.round(2).lines.is_empty());

    c.open_round(&[]);
    let rounds: Vec<Round> = (0..4).map(|i| c.round(i)).collect();
    for r in &rounds {
        assert!(r.opened_at.is_some());
        assert_eq!(said(r), said(&rounds[0]), "the same order everywhere");
        assert_eq!(r.check, rounds[0].check);
        assert_eq!(r.lines.len(), 4);
        assert!(r.lines.iter().all(|l| l.said != Said::Unreleased));
    }
    assert!(
        said(&rounds[0]).contains(&Said::Pass),
        "a pass is an answer"
    );
    let bob_sees: Vec<Option<&str>> = rounds[1].lines.iter().map(|l| l.name.as_deref()).collect();
    assert!(bob_sees.contains(&None) && bob_sees.contains(&Some("Alice")));
    // Fixed once open; Eve, not going, holds nothing.
    assert!(matches!(
        c.write(1, Some("Changed my mind")),
        Err(Error::Invalid { .. })
    ));
    assert!(c.round(4).lines.is_empty());
}

#[test]
fn a_phone_that_never_releases_leaves_only_its_own_line_unread() {
    let c = circle();
    c.write(1, Some("I'll sketch the heron")).unwrap();
    c.write(2, Some("Mending a coat")).unwrap();
    c.write(3, Some("Knitting the blue scarf")).unwrap();
    c.lines_reach_alice();
    c.open_round(&[3]); // Dana's phone stays quiet
    for i in 0..3 {
        let round = c.round(i);
        let unread: Vec<_> = round
            .lines
            .iter()
            .filter(|l| l.said == Said::Unreleased)
            .collect();
        assert_eq!(unread.len(), 1, "only Dana's");
        assert_eq!(unread[0].name.as_deref(), Some("Dana"));
        assert_eq!(round.lines.len(), 3);
    }
    assert_eq!(
        c.round(3)
            .lines
            .iter()
            .filter(|l| l.said == Said::Unreleased)
            .count(),
        0
    );
}

#[test]
fn round_messages_from_the_wrong_person_or_with_the_wrong_key_are_refused() {
    let c = circle();
    c.write(1, Some("I'll sketch the heron")).unwrap();
    c.write(2, Some("Mending a coat")).unwrap();
    let at_alice = c.lines_reach_alice();
    // The same line again at Alice is a replay: refused.
    let again = sealed_of(&c.others[0], kinds::GATHERING_ROUND_LINE).remove(0);
    assert!(c.alice.envelopes().open(&again.bytes).is_err());

    let seal = |from: &Vault, to: &str, kind: &str, body: serde_json::Value| {
        from.envelopes()
            .seal(&Outgoing {
                kind,
                body: body.to_string().as_bytes(),
                to: &[Recipient::Comrade(from.comrades().find(to).unwrap().id)],
                expires_at: None,
            })
            .unwrap()
    };
    let body: serde_json::Value = serde_json::from_slice(&at_alice[0].body).unwrap();
    let uid = body["uid"].as_str().unwrap().to_owned();
    // Eve, invited but not going, can slip a line in only until it opens.
    let eve_line = seal(
        &c.others[3],
        "Alice",
        kinds::GATHERING_ROUND_LINE,
        serde_json::json!({"v":1,"uid":uid,"start":"2026-12-05T18:00:00",
            "commitment": "00".repeat(32), "sealed": "AAAA"}),
    );
    c.alice.envelopes().open(&eve_line.bytes).unwrap();
    assert_eq!(c.round(0).written, 3);
    // Nobody but the organiser opens a round.
    let fake_open = seal(
        &c.others[2],
        "Alice",
        kinds::GATHERING_ROUND_OPEN,
        serde_json::json!({"v":1,"uid":uid,"start":"2026-12-05T18:00:00","lines":[]}),
    );
    assert!(matches!(
        c.alice.envelopes().open(&fake_open.bytes),
        Err(Error::Gathering(
            tend_core::gatherings::GatheringError::NotOrganiser
        ))
    ));

    c.open_round(&[1, 2]);
    // A key that does not open Bob's line is refused, and leaves it unread.
    let round = c.round(0);
    assert_eq!(round.lines.len(), 2, "Eve's line was left out");
    let open = sealed_of(&c.alice, kinds::GATHERING_ROUND_OPEN).remove(0);
    let open = c.others[0].envelopes().open(&open.bytes);
    assert!(open.is_err(), "Bob had it already: a replay");
    // The digest as docs/gatherings.md defines it, from the two commitments.
    let mut commitments: Vec<Vec<u8>> = at_alice
        .iter()
        .map(|o| {
            let body: serde_json::Value = serde_json::from_slice(&o.body).unwrap();
            hex::decode(body["commitment"].as_str().unwrap()).unwrap()
        })
        .collect();
    let bobs = hex::encode(&commitments[0]);
    commitments.sort();
    let mut h = <sha2::Sha256 as sha2::Digest>::new_with_prefix(b"tend round order v1");
    for c in &commitments {
        sha2::Digest::update(&mut h, c);
    }
    let digest = hex::encode(sha2::Digest::finalize(h));
    let key = |digest: &str| {
        seal(
            &c.others[0],
            "Alice",
            kinds::GATHERING_ROUND_KEY,
            serde_json::json!({"v":1,"uid":uid,"start":"2026-12-05T18:00:00","digest":digest,
                "key":{"commitment":bobs,"key":"11".repeat(32)}}),
        )
    };
    for digest in ["00".repeat(32), digest.clone()] {
        assert!(matches!(
            c.alice.envelopes().open(&key(&digest).bytes),
            Err(Error::Envelope(EnvelopeError::Malformed))
        ));
    }
    assert_eq!(c.round(0), round);
    assert!(round.lines.iter().all(|l| l.said == Said::Unreleased));
    // Bob's own release names the digest the spec gives, and opens his line.
    // (The oldest in his outbox: the forged ones came after.)
    let real = sealed_of(&c.others[0], kinds::GATHERING_ROUND_KEY)
        .pop()
        .unwrap();
    let opened = c.alice.envelopes().open(&real.bytes).unwrap();
    let body: serde_json::Value = serde_json::from_slice(&opened.body).unwrap();
    assert_eq!(body["digest"], digest.as_str());
    let unread = c
        .round(0)
        .lines
        .iter()
        .filter(|l| l.said == Said::Unreleased)
        .count();
    assert_eq!(unread, 1, "Carol's only");
}

/// Lines are kept as long as the gathering's collective says, 30 days
/// outside one.
#[test]
fn lines_are_deleted_when_the_collective_says() {
    use tend_core::collective::Settings;
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(dir.path(), "Alice"), member(dir.path(), "Bob"));
    befriend(&alice, &bob);
    let collective = alice
        .collectives()
        .create("Riverside Care", None)
        .unwrap()
        .id;
    let bob_id = alice.comrades().find("Bob").unwrap().id;
    alice
        .collectives()
        .add_members(collective, &[bob_id])
        .unwrap();
    let week = Settings {
        round_kept_days: 7,
        ..Settings::default()
    };
    alice.collectives().set_settings(collective, &week).unwrap();
    let theirs = restorative_gathering(&alice);
    alice
        .gatherings()
        .invite_collective(theirs.id, collective, false)
        .unwrap();
    let mine = restorative_gathering(&alice);
    let start = NaiveDateTime::parse_from_str("2026-12-05T18:00", "%Y-%m-%dT%H:%M").unwrap();
    for id in [theirs.id, mine.id] {
        alice
            .gatherings()
            .write_round_line(id, start, Some("I'll sketch the heron"))
            .unwrap();
    }
    let kept = |id| alice.gatherings().round(id, start).unwrap().mine.is_some();
    let at = |day: &str| {
        chrono::DateTime::parse_from_rfc3339(&format!("{day}T00:00:00Z"))
            .unwrap()
            .to_utc()
    };
    tend_core::testing::greeting_rounds_at(&alice, at("2026-12-12")).unwrap();
    assert!(kept(theirs.id) && kept(mine.id));
    tend_core::testing::greeting_rounds_at(&alice, at("2026-12-14")).unwrap();
    assert!(!kept(theirs.id), "the collective keeps lines a week");
    assert!(kept(mine.id));
    tend_core::testing::greeting_rounds_at(&alice, at("2027-01-06")).unwrap();
    assert!(!kept(mine.id), "30 days outside a collective");
}
