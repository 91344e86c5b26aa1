//! Change notices follow what each commit really changed, from the tables
//! it touched: nothing for a read or a refusal, each kind once a commit.

mod common;

use std::sync::{Arc, Mutex};

use common::{befriend, entry, member, new_vault};
use tend_core::care::{CareCategory, CareUrgency, NewCareRequest};
use tend_core::envelope::Recipient;
use tend_core::gatherings::{NewGathering, Rsvp};
use tend_core::{Change, Vault};

fn listen(vault: &Vault) -> Arc<Mutex<Vec<Change>>> {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let sink = heard.clone();
    vault.set_change_listener(Some(Arc::new(move |c| sink.lock().unwrap().push(c))));
    heard
}

fn take(heard: &Mutex<Vec<Change>>) -> Vec<Change> {
    std::mem::take(&mut *heard.lock().unwrap())
}

#[test]
fn each_commit_reports_what_it_changed() {
    let dir = tempfile::tempdir().unwrap();
    let vault = new_vault(dir.path());
    vault.set_display_name("Alice").unwrap();
    let heard = listen(&vault);

    let written = vault.journal().add(entry("a heron")).unwrap();
    assert_eq!(
        take(&heard),
        [Change::Journal],
        "once, though four tables changed"
    );
    vault.journal().search("heron", 5).unwrap();
    assert_eq!(take(&heard), [], "a read changes nothing");
    vault.journal().delete(written.id).unwrap();
    assert_eq!(take(&heard), [Change::Journal]);
    assert!(vault.journal().delete(written.id).is_err());
    assert_eq!(take(&heard), [], "a refusal changes nothing");

    let from = chrono::Utc::now();
    let g = vault
        .gatherings()
        .add(NewGathering::monthly_restorative(
            from.date_naive(),
            "America/Chicago",
            "the library",
        ))
        .unwrap();
    assert_eq!(take(&heard), [Change::Gatherings, Change::Reminders]);
    let first = vault
        .gatherings()
        .occurrences(from, from + chrono::Duration::days(62))
        .unwrap()[0]
        .original_start;
    assert_eq!(take(&heard), []);
    vault
        .gatherings()
        .rsvp(g.id, first, Some(Rsvp::Going), None)
        .unwrap();
    assert_eq!(
        take(&heard),
        [Change::Gatherings, Change::Reminders],
        "an RSVP lives in a WITHOUT ROWID table, and is heard too"
    );

    vault.set_change_listener(None);
    vault.journal().add(entry("unheard")).unwrap();
    assert_eq!(take(&heard), []);
}

#[test]
fn posting_care_changes_care_and_the_outbox_and_a_listener_may_call_back() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (member(dir.path(), "Alice"), member(dir.path(), "Bob"));
    let (bob_at_alice, _) = befriend(&alice, &bob);
    let vault = Arc::new(alice);
    let heard = Arc::new(Mutex::new(Vec::new()));
    let (sink, again) = (heard.clone(), Arc::downgrade(&vault));
    vault.set_change_listener(Some(Arc::new(move |c| {
        // Called outside the vault's lock: reading here does not deadlock.
        let outbox = again
            .upgrade()
            .map(|v| v.envelopes().outbox().unwrap().len());
        sink.lock().unwrap().push((c, outbox));
    })));
    vault
        .care()
        .post(&NewCareRequest::new(
            CareCategory::Ride,
            "A ride",
            CareUrgency::Today,
            vec![Recipient::Comrade(bob_at_alice)],
        ))
        .unwrap();
    let heard: Vec<_> = take_pairs(&heard);
    assert_eq!(heard, [(Change::Outbox, Some(1)), (Change::Care, Some(1))]);
    drop(bob);
}

fn take_pairs(heard: &Mutex<Vec<(Change, Option<usize>)>>) -> Vec<(Change, Option<usize>)> {
    let mut v = std::mem::take(&mut *heard.lock().unwrap());
    v.sort();
    v
}
