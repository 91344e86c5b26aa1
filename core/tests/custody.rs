//! Recovery through comrades (issue 21, part 3): the backup key split
//! among custodians, any threshold of whom rebuild it and fewer cannot.

mod common;

use common::{befriend, entry, member};
use tend_core::custody::{RecoveryRequest, RequestCode, recover};
use tend_core::sealed::OpenWith;
use tend_core::testing::{custodians_confirm_at, custody_share, open_envelope_at};
use tend_core::vault::AutomaticBackups;
use tend_core::{Error, Vault};

/// Alice and five comrades, each holding her card and she theirs.
fn alice_and_five(dir: &std::path::Path) -> (Vault, Vec<Vault>) {
    let alice = member(dir, "Alice");
    let five: Vec<Vault> = ["Bob", "Carol", "Dana", "Eve", "Femi"]
        .iter()
        .map(|n| member(dir, n))
        .collect();
    for c in &five {
        befriend(&alice, c);
    }
    (alice, five)
}

/// Hands what `from` sealed since `before` to each of `to`.
fn deliver(from: &Vault, before: usize, to: &[&Vault]) {
    let outbox = from.envelopes().outbox().unwrap();
    let fresh = &outbox[..outbox.len() - before];
    for vault in to {
        for item in fresh {
            let _ = vault.envelopes().open(&item.sealed.bytes);
        }
    }
}

#[test]
fn three_of_five_custodians_rebuild_the_key_that_opens_the_backups_and_two_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, five) = alice_and_five(dir.path());
    let ids: Vec<_> = ["Bob", "Carol", "Dana", "Eve", "Femi"]
        .iter()
        .map(|n| alice.comrades().find(n).unwrap().id)
        .collect();
    assert!(matches!(
        alice.custody().choose(1, &ids),
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        alice.custody().choose(6, &ids),
        Err(Error::Invalid { .. })
    ));
    let before = alice.envelopes().outbox().unwrap().len();
    let plan = alice.custody().choose(3, &ids).unwrap();
    assert_eq!(plan.status.custodians.len(), 5);
    assert_eq!(plan.sealed.len(), 5);
    assert!(
        plan.sealed.iter().all(|s| s.recipients.len() == 1),
        "each share to one"
    );
    assert!(!plan.status.recoverable, "nobody has confirmed yet");
    let custodians: Vec<&Vault> = five.iter().collect();
    deliver(&alice, before, &custodians);
    for c in &five {
        let held = c.custody().held().unwrap();
        assert_eq!(held.len(), 1, "one share each");
        assert_eq!((held[0].threshold, held[0].count), (3, 5));
        // Each answers that it keeps its share.
        let outbox = c.envelopes().outbox().unwrap();
        alice.envelopes().open(&outbox[0].sealed.bytes).unwrap();
    }
    let status = alice.custody().status().unwrap().unwrap();
    assert!(status.recoverable);
    assert!(status.custodians.iter().all(|c| c.confirmed_at.is_some()));

    // Her automatic backups are sealed to that key as well as her own.
    alice.journal().add(entry("Saw a kingfisher")).unwrap();
    let folder = dir.path().join("backups");
    std::fs::create_dir(&folder).unwrap();
    let own = age::x25519::Identity::generate();
    alice
        .set_automatic_backups(Some(&AutomaticBackups {
            folder: folder.to_string_lossy().into_owned(),
            every_days: 7,
            keep: 3,
            recipient: own.to_public().to_string(),
        }))
        .unwrap();
    let written = alice.back_up_if_due(chrono::Utc::now()).unwrap().unwrap();

    let me = alice.comrades().my_identity_key().unwrap();
    let shares: Vec<tend_core::custody::KeptShare> = five
        .iter()
        .map(|c| custody_share(c, &me).unwrap().unwrap())
        .collect();
    let (threshold, recipient) = (shares[0].threshold, shares[0].recipient.clone());
    assert_eq!(recipient, status.recipient);
    let bytes = |pick: &[usize]| -> Vec<Vec<u8>> {
        pick.iter().map(|&i| shares[i].bytes.to_vec()).collect()
    };
    // Any three rebuild it; the same share twice counts once.
    for pick in [[0, 1, 2], [2, 3, 4], [0, 2, 4]] {
        recover(threshold, &recipient, &bytes(&pick)).unwrap();
    }
    assert!(recover(threshold, &recipient, &bytes(&[0, 1, 1])).is_err());
    // Two rebuild nothing, and a custodian who lies is caught.
    assert!(matches!(
        recover(threshold, &recipient, &bytes(&[3, 4])),
        Err(Error::Invalid { .. })
    ));
    let mut lied = bytes(&[0, 1, 2]);
    lied[1][5] ^= 0x40;
    assert!(matches!(
        recover(threshold, &recipient, &lied),
        Err(Error::Invalid {
            field: "shares",
            ..
        })
    ));

    // With three shares, and nothing else of Alice's, the backup opens.
    let key = recover(threshold, &recipient, &bytes(&[1, 3, 4])).unwrap();
    let (back, _) = Vault::restore_with_key(
        dir.path().join("alice again"),
        std::fs::File::open(&written).unwrap(),
        &OpenWith::Identity(key),
        &common::key(9),
    )
    .unwrap();
    assert_eq!(back.journal().count().unwrap(), 1);
    assert!(back.comrades().my_card().unwrap() == alice.comrades().my_card().unwrap());
}

#[test]
fn a_share_is_only_a_share_and_a_confirmation_only_from_a_custodian() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, five) = alice_and_five(dir.path());
    let bob = &five[0];
    let to = [tend_core::envelope::Recipient::Comrade(
        bob.comrades().find("Alice").unwrap().id,
    )];
    let seal = |kind: &str, body: &str| {
        bob.envelopes()
            .seal(&tend_core::envelope::Outgoing {
                kind,
                body: body.as_bytes(),
                to: &to,
                expires_at: None,
            })
            .unwrap()
            .bytes
    };
    for (kind, body) in [
        ("custody.share", "{}"),
        (
            "custody.share",
            r#"{"v":1,"plan":"0192f0e4-7d3a-7c4e-9a1b-3f5e6d7c8b9a","threshold":9,"count":3,"recipient":"age1x","share":"AA"}"#,
        ),
        ("custody.unknown", "{}"),
        (
            "custody.held",
            r#"{"v":2,"plan":"0192f0e4-7d3a-7c4e-9a1b-3f5e6d7c8b9a"}"#,
        ),
    ] {
        let refused = alice.envelopes().open(&seal(kind, body)).err();
        assert!(
            matches!(
                refused,
                Some(Error::Envelope(
                    tend_core::envelope::EnvelopeError::Malformed
                ))
            ),
            "{kind} {body}: {refused:?}"
        );
    }
    // A confirmation from someone who holds no share of mine changes nothing.
    let ids: Vec<_> = ["Carol", "Dana"]
        .iter()
        .map(|n| alice.comrades().find(n).unwrap().id)
        .collect();
    let plan = alice.custody().choose(2, &ids).unwrap();
    let plan_id = "0192f0e4-7d3a-7c4e-9a1b-3f5e6d7c8b9a";
    alice
        .envelopes()
        .open(&seal(
            "custody.held",
            &format!(r#"{{"v":1,"plan":"{plan_id}"}}"#),
        ))
        .unwrap();
    let status = alice.custody().status().unwrap().unwrap();
    assert!(status.custodians.iter().all(|c| c.confirmed_at.is_none()));
    assert_eq!(status.recipient, plan.status.recipient);
}

/// Alice's plan of `threshold` among the named, every share delivered and
/// confirmed, and an automatic backup written: its path.
fn chosen_and_backed_up(
    dir: &std::path::Path,
    alice: &Vault,
    custodians: &[&Vault],
    names: &[&str],
    threshold: u8,
) -> std::path::PathBuf {
    let ids: Vec<_> = names
        .iter()
        .map(|n| alice.comrades().find(n).unwrap().id)
        .collect();
    let before = alice.envelopes().outbox().unwrap().len();
    alice.custody().choose(threshold, &ids).unwrap();
    deliver(alice, before, custodians);
    for c in custodians {
        let outbox = c.envelopes().outbox().unwrap();
        alice.envelopes().open(&outbox[0].sealed.bytes).unwrap();
    }
    alice.journal().add(entry("Saw a kingfisher")).unwrap();
    let folder = dir.join("backups");
    std::fs::create_dir_all(&folder).unwrap();
    alice
        .set_automatic_backups(Some(&AutomaticBackups {
            folder: folder.to_string_lossy().into_owned(),
            every_days: 7,
            keep: 3,
            recipient: age::x25519::Identity::generate().to_public().to_string(),
        }))
        .unwrap();
    alice.back_up_if_due(chrono::Utc::now()).unwrap().unwrap()
}

#[test]
fn a_member_with_nothing_left_comes_back_through_three_custodians() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, five) = alice_and_five(dir.path());
    let custodians: Vec<&Vault> = five.iter().collect();
    let names = ["Bob", "Carol", "Dana", "Eve", "Femi"];
    let written = chosen_and_backed_up(dir.path(), &alice, &custodians, &names, 3);

    // Alice, with nothing of hers left, makes a request and keeps it.
    let passphrase = tend_core::SecretString::from("a long new passphrase for Alice".to_owned());
    let weak = tend_core::SecretString::from("alice".to_owned());
    assert!(matches!(
        RecoveryRequest::new().save(&weak),
        Err(Error::WeakPassphrase { .. })
    ));
    let saved = RecoveryRequest::new().save(&passphrase).unwrap();
    let wrong = tend_core::SecretString::from("not it at all".to_owned());
    assert!(matches!(
        RecoveryRequest::load(&saved, &wrong),
        Err(Error::WrongKey)
    ));
    let request = RecoveryRequest::load(&saved, &passphrase).unwrap();
    let code = RequestCode::parse(&request.code().to_text()).unwrap();
    assert_eq!(code, request.code());

    // Each custodian scans it and releases what it keeps; Bob keeps one
    // member's share only, so he need not say whose.
    let releases: Vec<Vec<u8>> = five
        .iter()
        .map(|c| c.custody().release(&code, None).unwrap())
        .collect();
    // Released to someone else's request, a share opens for nobody here.
    let elsewhere = five[0]
        .custody()
        .release(&RecoveryRequest::new().code(), None)
        .unwrap();
    assert!(matches!(
        request.open_release(&elsewhere),
        Err(Error::WrongKey)
    ));
    assert!(matches!(
        request.open_release(&releases[0][..releases[0].len() - 9]),
        Err(Error::Invalid { .. })
    ));

    // A custodian who lies: a release of a wrong share, sealed as any is.
    let mut lie = request.open_release(&releases[4]).unwrap();
    lie.bytes[7] ^= 0x21;
    let liar = seal_release(&code, &lie);

    // Two are not enough; three with a liar among them are caught.
    assert!(matches!(
        request.recover(&releases[..2]),
        Err(Error::Invalid { .. })
    ));
    let three_with_a_lie = [releases[0].clone(), liar.clone(), releases[1].clone()];
    assert!(matches!(
        request.recover(&three_with_a_lie),
        Err(Error::Invalid {
            field: "shares",
            ..
        })
    ));
    // Four with one liar: the liar is set aside and the key rebuilt.
    let four = [
        releases[0].clone(),
        liar,
        releases[1].clone(),
        releases[2].clone(),
    ];
    let recovered = request.recover(&four).unwrap();
    assert_eq!(recovered.set_aside, vec![1]);
    assert!(!format!("{recovered:?}").contains("AGE-SECRET"));

    let (back, _) = Vault::restore_with_key(
        dir.path().join("alice again"),
        std::fs::File::open(&written).unwrap(),
        &recovered.opener,
        &common::key(9),
    )
    .unwrap();
    assert_eq!(back.journal().count().unwrap(), 1);
    assert!(back.comrades().my_card().unwrap() == alice.comrades().my_card().unwrap());
    assert_eq!(back.comrades().list().unwrap().len(), 5);
}

/// A release as a custodian would write it: the share's body, under age.
fn seal_release(code: &RequestCode, share: &tend_core::custody::KeptShare) -> Vec<u8> {
    use std::io::Write;
    let body = serde_json::json!({
        "v": 1, "plan": share.plan, "threshold": share.threshold, "count": share.count,
        "recipient": share.recipient,
        "share": data_encoding::BASE32_NOPAD.encode(&share.bytes),
    });
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(code.recipient() as &dyn age::Recipient))
            .unwrap();
    let mut out = Vec::new();
    let mut w = encryptor.wrap_output(&mut out).unwrap();
    w.write_all(body.to_string().as_bytes()).unwrap();
    w.finish().unwrap();
    out
}

/// Shamir's promise, checked on the shares Tend deals: two shares of a
/// key that needs three fit every possible key equally well, since for
/// each value a byte of the key could have there is exactly one third
/// share that completes them to it.
#[test]
fn fewer_shares_than_the_threshold_fit_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, five) = alice_and_five(dir.path());
    let custodians: Vec<&Vault> = five.iter().take(3).collect();
    chosen_and_backed_up(
        dir.path(),
        &alice,
        &custodians,
        &["Bob", "Carol", "Dana"],
        3,
    );
    let me = alice.comrades().my_identity_key().unwrap();
    let two: Vec<blahaj::Share> = five[..2]
        .iter()
        .map(|c| {
            let kept = custody_share(c, &me).unwrap().unwrap();
            blahaj::Share::try_from(kept.bytes.as_slice()).unwrap()
        })
        .collect();
    let unused_x = (1..=255u8)
        .find(|x| two.iter().all(|s| s.x.0 != *x))
        .unwrap();
    let mut reached = vec![std::collections::BTreeSet::new(); 32];
    for y in 0..=255u8 {
        let mut third = vec![unused_x];
        third.extend([y; 32]);
        let mut shares = two.clone();
        shares.push(blahaj::Share::try_from(third.as_slice()).unwrap());
        let key = blahaj::Sharks(3).recover(&shares).unwrap();
        for (byte, seen) in key.iter().zip(&mut reached) {
            seen.insert(*byte);
        }
    }
    assert!(
        reached.iter().all(|seen| seen.len() == 256),
        "every byte of the key takes every value: two shares rule none out"
    );
}

#[test]
fn a_custodian_removed_or_blocked_takes_no_share_of_the_next_backups() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, five) = alice_and_five(dir.path());
    let four: Vec<&Vault> = five.iter().take(4).collect();
    chosen_and_backed_up(
        dir.path(),
        &alice,
        &four,
        &["Bob", "Carol", "Dana", "Eve"],
        3,
    );
    let first = alice.custody().status().unwrap().unwrap();

    // Eve is removed: Bob, Carol and Dana get shares of a new key.
    let before = alice.envelopes().outbox().unwrap().len();
    let eve = alice.comrades().find("Eve").unwrap().id;
    alice.comrades().remove(eve).unwrap();
    let second = alice.custody().status().unwrap().unwrap();
    assert_ne!(second.recipient, first.recipient);
    assert_eq!(second.threshold, 3);
    let names: Vec<&str> = second.custodians.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Bob", "Carol", "Dana"]);
    assert!(!second.recoverable, "the new shares are not confirmed yet");
    deliver(&alice, before, &four[..3]);
    let me = alice.comrades().my_identity_key().unwrap();
    for c in &four[..3] {
        let kept = custody_share(c, &me).unwrap().unwrap();
        assert_eq!(
            kept.recipient, second.recipient,
            "the newer share replaced the older"
        );
    }
    // Eve's old share is of the old key only.
    let eve_kept = custody_share(&five[3], &me).unwrap().unwrap();
    assert_eq!(eve_kept.recipient, first.recipient);

    // The next backup opens with the three new shares.
    alice.journal().add(entry("After Eve left")).unwrap();
    let later = chrono::Utc::now() + chrono::Duration::days(8);
    let written = alice.back_up_if_due(later).unwrap().unwrap();
    let request = RecoveryRequest::new();
    let releases: Vec<Vec<u8>> = four[..3]
        .iter()
        .map(|c| c.custody().release(&request.code(), None).unwrap())
        .collect();
    let recovered = request.recover(&releases).unwrap();
    let (back, _) = Vault::restore_with_key(
        dir.path().join("back"),
        std::fs::File::open(&written).unwrap(),
        &recovered.opener,
        &common::key(8),
    )
    .unwrap();
    assert_eq!(back.journal().count().unwrap(), 2);

    // Blocking Dana leaves two of a threshold of three: the plan ends, and
    // backups are sealed to Alice's own recipient alone.
    let dana = alice.comrades().find("Dana").unwrap().id;
    alice.comrades().block(dana).unwrap();
    assert!(alice.custody().status().unwrap().is_none());
    let last = alice
        .back_up_if_due(later + chrono::Duration::days(8))
        .unwrap()
        .unwrap();
    assert!(matches!(
        Vault::restore_with_key(
            dir.path().join("not"),
            std::fs::File::open(&last).unwrap(),
            &recovered.opener,
            &common::key(7),
        ),
        Err(Error::WrongKey | Error::Backup(_))
    ));
}

#[test]
fn custodians_confirm_each_month_and_silence_counts_against_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, five) = alice_and_five(dir.path());
    let two: Vec<&Vault> = five.iter().take(2).collect();
    chosen_and_backed_up(dir.path(), &alice, &two, &["Bob", "Carol"], 2);
    let now = chrono::Utc::now();
    let status = alice.custody().status().unwrap().unwrap();
    assert!(status.recoverable_at(now));
    assert!(!status.recoverable_at(now + chrono::Duration::days(92)));

    // Bob's vault says it again a month on; not before.
    let bob = &five[0];
    let sent = bob.envelopes().outbox().unwrap().len();
    custodians_confirm_at(bob, now + chrono::Duration::days(10)).unwrap();
    assert_eq!(bob.envelopes().outbox().unwrap().len(), sent);
    let later = now + chrono::Duration::days(31);
    custodians_confirm_at(bob, later).unwrap();
    let outbox = bob.envelopes().outbox().unwrap();
    assert_eq!(outbox.len(), sent + 1);
    assert_eq!(outbox[0].sealed.recipients.len(), 1, "to Alice alone");
    open_envelope_at(&alice, &outbox[0].sealed.bytes, later).unwrap();

    // Three months on, only Bob has kept confirming: one of a threshold of two.
    let status = alice.custody().status().unwrap().unwrap();
    let bob_row = status.custodians.iter().find(|c| c.name == "Bob").unwrap();
    assert_eq!(
        bob_row.confirmed_at.map(|t| t.timestamp_millis()),
        Some(later.timestamp_millis())
    );
    let quarter = now + chrono::Duration::days(92);
    assert!(bob_row.current_at(quarter));
    assert!(!status.recoverable_at(quarter));
}
