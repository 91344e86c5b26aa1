//! Moving phone to phone (issue 21): the new phone's one-time code, the
//! old phone's vault in pieces through a transport, and what a hostile
//! stream gets. The journey through a real relay is `delivery.rs`'s and
//! `real_relay.rs`'s `a_member_moves_phone_to_phone_through_the_relays`.

mod common;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use common::{entry, key, member};
use tend_core::delivery::{
    Arrival, Fetched, Mailbox, MoveCode, MoveReceiver, Parcel, RelayUrl, Transport, TransportError,
};
use tend_core::{Error, Vault};

/// A transport that keeps what is published in memory, by mailbox, and
/// lets a test reorder, drop or alter it.
#[derive(Default)]
struct Courier {
    waiting: HashMap<String, Vec<Arrival>>,
    sent: usize,
}

impl Transport for Courier {
    fn publish(
        &mut self,
        relay: &RelayUrl,
        parcel: &Parcel,
    ) -> Result<Result<(), String>, TransportError> {
        self.sent += 1;
        self.waiting
            .entry(parcel.mailbox.to_hex())
            .or_default()
            .push(Arrival {
                ids: vec![format!("{relay}/{}", self.sent)],
                envelope: parcel.envelope.clone(),
            });
        Ok(Ok(()))
    }

    fn fetch(
        &mut self,
        _: &RelayUrl,
        mailbox: &Mailbox,
        _: Option<DateTime<Utc>>,
        seen: &dyn Fn(&str) -> bool,
    ) -> Result<Fetched, TransportError> {
        let arrivals = self
            .waiting
            .get(&mailbox.key.to_hex())
            .into_iter()
            .flatten()
            .filter(|a| !a.ids.iter().any(|id| seen(id)))
            .cloned()
            .collect();
        Ok(Fetched {
            arrivals,
            complete: true,
            ..Fetched::default()
        })
    }
}

impl Courier {
    fn pieces(&mut self) -> &mut Vec<Arrival> {
        self.waiting
            .values_mut()
            .next()
            .expect("something was sent")
    }
}

fn relay() -> RelayUrl {
    RelayUrl::parse("wss://relay.example.org").unwrap()
}

/// Alice with a comrade, an entry and a relay; big enough to need pieces.
fn alice(dir: &std::path::Path) -> (Vault, Vault) {
    let alice = member(dir, "Alice");
    let bob = member(dir, "Bob");
    common::befriend(&alice, &bob);
    alice.delivery().add_relay(&relay()).unwrap();
    alice.journal().add(entry("Saw a kingfisher")).unwrap();
    (alice, bob)
}

fn arrive(receiver: &mut MoveReceiver, courier: &mut Courier) -> Option<Vec<u8>> {
    receiver.fetch(courier).unwrap()
}

#[test]
fn a_vault_moves_phone_to_phone_and_the_old_phone_retires() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = alice(dir.path());
    let mut receiver = MoveReceiver::new(vec![relay()]).unwrap();
    let text = receiver.code().to_text();
    assert!(text.starts_with("TENDM:"));
    let scanned = MoveCode::parse(&text.to_lowercase()).unwrap();
    assert_eq!(scanned.short_code(), receiver.code().short_code());
    assert_eq!(receiver.code().short_code().len(), 7, "like 123 456");
    assert_eq!(scanned.relays(), [relay()]);

    let mut courier = Courier::default();
    let sent = alice.delivery().send_move(&scanned, &mut courier).unwrap();
    assert!(sent.complete);
    assert!(sent.pieces >= 2, "{sent:?}");
    assert!(alice.retirement().unwrap().is_some());
    assert!(matches!(
        alice.journal().add(entry("after the move")),
        Err(Error::Retired)
    ));
    // Pieces come in any order; the mailbox is the code's, not Alice's.
    courier.pieces().reverse();
    assert!(courier.waiting.keys().all(|m| {
        *m != alice
            .delivery()
            .my_address()
            .unwrap()
            .mailbox_at(Utc::now())
            .to_hex()
    }));
    let whole = arrive(&mut receiver, &mut courier).expect("every piece came");
    assert_eq!(receiver.progress().of, Some(sent.pieces));

    let (moved, _) = Vault::restore_with_key(
        dir.path().join("new phone"),
        whole.as_slice(),
        &receiver.opener(),
        &key(9),
    )
    .unwrap();
    assert!(moved.comrades().my_card().unwrap() == alice.comrades().my_card().unwrap());
    assert!(moved.retirement().unwrap().is_none());
    let note = bob
        .envelopes()
        .seal(&tend_core::envelope::Outgoing {
            kind: "test.note",
            body: b"for your new phone",
            to: &[tend_core::envelope::Recipient::Comrade(
                bob.comrades().find("Alice").unwrap().id,
            )],
            expires_at: None,
        })
        .unwrap();
    assert_eq!(
        moved.envelopes().open(&note.bytes).unwrap().sender.name,
        "Bob"
    );
    moved
        .journal()
        .add(entry("First on the new phone"))
        .unwrap();
}

#[test]
fn a_cut_altered_or_forged_stream_opens_nothing_and_makes_no_vault() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, _bob) = alice(dir.path());
    let mut receiver = MoveReceiver::new(vec![relay()]).unwrap();
    let code = MoveCode::parse(&receiver.code().to_text()).unwrap();
    let mut courier = Courier::default();
    alice.delivery().send_move(&code, &mut courier).unwrap();
    let pieces = courier.pieces().clone();

    // One piece missing: not yet whole.
    courier.pieces().pop();
    assert!(arrive(&mut receiver, &mut courier).is_none());
    // A relay's altered piece, or one under another code, is skipped.
    let mut altered = pieces.last().unwrap().clone();
    altered.ids = vec!["altered".into()];
    let middle = altered.envelope.len() / 2;
    altered.envelope[middle] ^= 1;
    courier.pieces().push(altered);
    let other = MoveReceiver::new(vec![relay()]).unwrap();
    let mut elsewhere = Courier::default();
    member(dir.path(), "Mallory")
        .delivery()
        .send_move(
            &MoveCode::parse(&other.code().to_text()).unwrap(),
            &mut elsewhere,
        )
        .unwrap();
    let mut foreign = elsewhere.pieces()[0].clone();
    foreign.ids = vec!["foreign".into()];
    courier.pieces().push(foreign);
    assert!(arrive(&mut receiver, &mut courier).is_none());
    // The real last piece makes it whole.
    courier.pieces().push(pieces.last().unwrap().clone());
    let whole = arrive(&mut receiver, &mut courier).unwrap();

    // Opened with another phone's key: refused, nothing made.
    let there = dir.path().join("new phone");
    let wrong = Vault::restore_with_key(&there, whole.as_slice(), &other.opener(), &key(9));
    assert!(matches!(wrong, Err(Error::WrongKey)), "{wrong:?}");
    assert!(!there.exists() || std::fs::read_dir(&there).unwrap().next().is_none());

    // Someone who saw the code sends a second vault to it: sound pieces
    // that disagree are refused as damaged, never mixed.
    let mut receiver = MoveReceiver::new(vec![relay()]).unwrap();
    let code = MoveCode::parse(&receiver.code().to_text()).unwrap();
    let mut courier = Courier::default();
    let carol = member(dir.path(), "Carol");
    carol.delivery().send_move(&code, &mut courier).unwrap();
    let first = courier.pieces()[0].clone();
    let mut mixed = Courier::default();
    member(dir.path(), "Dan")
        .delivery()
        .send_move(&code, &mut mixed)
        .unwrap();
    let mut stream = vec![first];
    stream.extend(mixed.pieces().iter().skip(1).cloned());
    *courier.pieces() = stream;
    assert!(matches!(
        receiver.fetch(&mut courier),
        Err(Error::Backup(tend_core::vault::BackupError::Damaged))
    ));
}

#[test]
fn a_move_code_is_checked_before_anything_is_sent() {
    let receiver = MoveReceiver::new(vec![relay()]).unwrap();
    let text = receiver.code().to_text();
    for bad in [
        "hello".to_owned(),
        text[..text.len() - 8].to_owned(),
        format!("{text}AAAA"),
        text.replacen("TENDM:", "TEND:", 1),
    ] {
        assert!(
            matches!(
                MoveCode::parse(&bad),
                Err(Error::Invalid {
                    field: "move code",
                    ..
                })
            ),
            "{bad}"
        );
    }
    let another = MoveReceiver::new(vec![relay()]).unwrap();
    assert_ne!(another.code().short_code(), receiver.code().short_code());
    assert!(MoveReceiver::new(Vec::new()).is_err());
    let five: Vec<RelayUrl> = (0..5)
        .map(|i| RelayUrl::parse(&format!("wss://r{i}.example.org")).unwrap())
        .collect();
    assert!(MoveReceiver::new(five).is_err());
    assert!(
        !format!("{:?}", receiver).contains(&text[6..20]),
        "no secret in Debug"
    );
}
