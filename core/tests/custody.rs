//! Recovery through comrades (issue 21, part 3): the backup key split
//! among custodians, any threshold of whom rebuild it and fewer cannot.

mod common;

use common::{befriend, entry, member};
use tend_core::custody::recover;
use tend_core::sealed::OpenWith;
use tend_core::testing::custody_share;
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
    assert!(!plan.status.recoverable(), "nobody has confirmed yet");
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
    assert!(status.recoverable());
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
