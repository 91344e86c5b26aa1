//! Whole-vault backups (issue 21): what a restore refuses, and that a
//! refusal leaves nothing behind. The journey of a member moving phones,
//! through a relay, is `delivery.rs`'s and `real_relay.rs`'s
//! `a_member_moves_phones_and_comrades_carry_on`.

mod common;

use std::io::{Read, Write};
use std::path::Path;

use common::{TEST_KDF, entry, key, member};
use tend_core::sealed::{OpenWith, SealWith};
use tend_core::vault::{BackupError, SCHEMA_VERSION};
use tend_core::{Error, Vault};

const PASSPHRASE: &str = "heron lantern under the river bridge";
const NEW_PASSPHRASE: &str = "kingfisher wades at dawn by the weir";
/// Most tests seal to a key: age's scrypt takes a second a try, by design.
const IDENTITY: &str = "AGE-SECRET-KEY-1GQ9778VQXMMJVE8SK7J6VT8UJ4HDQAJUVSFCWCM02D8GEWQ72PVQ2Y5J33";

fn identity() -> age::x25519::Identity {
    IDENTITY.parse().unwrap()
}

fn seal_with() -> SealWith {
    SealWith::Recipient(identity().to_public())
}

fn open_with() -> OpenWith {
    OpenWith::Identity(identity())
}

fn alice(dir: &Path) -> Vault {
    let alice = member(dir, "Alice");
    let bob = member(dir, "Bob");
    common::befriend(&alice, &bob);
    alice.journal().add(entry("Saw a kingfisher")).unwrap();
    alice
}

fn backup(vault: &Vault) -> Vec<u8> {
    let mut out = Vec::new();
    vault.write_backup(&seal_with(), &mut out).unwrap();
    out
}

fn restore(dir: &Path, bytes: &[u8]) -> tend_core::Result<Vault> {
    Vault::restore_with_key(dir, bytes, &open_with(), &key(9)).map(|(vault, _)| vault)
}

/// The backup's plaintext: the head line, and the database image.
fn unseal(bytes: &[u8]) -> (serde_json::Value, Vec<u8>) {
    let identity = identity();
    let mut plain = Vec::new();
    age::Decryptor::new(bytes)
        .unwrap()
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .unwrap()
        .read_to_end(&mut plain)
        .unwrap();
    let newline = plain.iter().position(|&b| b == b'\n').unwrap();
    let head = serde_json::from_slice(&plain[..newline]).unwrap();
    (head, plain[newline + 1..].to_vec())
}

fn reseal(head: &serde_json::Value, image: &[u8]) -> Vec<u8> {
    let mut plain = format!("{head}\n").into_bytes();
    plain.extend_from_slice(image);
    reseal_raw(&plain)
}

/// A backup of `image`, its head saying its size.
fn backup_of_image(head: &serde_json::Value, image: &[u8]) -> Vec<u8> {
    let mut head = head.clone();
    head["database_bytes"] = image.len().into();
    reseal(&head, image)
}

/// `plain`, sealed as the tests' backups are.
fn reseal_raw(plain: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let recipient = identity().to_public();
    let mut w = age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
        .unwrap()
        .wrap_output(&mut out)
        .unwrap();
    w.write_all(plain).unwrap();
    w.finish().unwrap();
    out
}

/// `image` changed by SQL, as a plain SQLite file outside any vault.
fn altered(image: &[u8], sql: &str) -> Vec<u8> {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("image.db");
    std::fs::write(&path, image).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(sql).unwrap();
    drop(conn);
    std::fs::read(&path).unwrap()
}

fn refused(result: tend_core::Result<Vault>) -> Error {
    match result {
        Ok(_) => panic!("the backup was restored"),
        Err(e) => e,
    }
}

fn nothing_at(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_restored_vault_is_the_same_member_under_its_own_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let alice = alice(tmp.path());
    let (head, _) = unseal(&backup(&alice));
    assert_eq!(head["format"], "tend-vault");
    assert_eq!(head["version"], 1);
    assert_eq!(head["schema"], SCHEMA_VERSION);

    let mut bytes = Vec::new();
    let passphrase = SealWith::Passphrase(PASSPHRASE.to_owned().into());
    alice.write_backup(&passphrase, &mut bytes).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n-> scrypt "));
    let (moved, summary) = Vault::restore_with_passphrase(
        tmp.path().join("new"),
        bytes.as_slice(),
        &OpenWith::Passphrase(PASSPHRASE.to_owned().into()),
        NEW_PASSPHRASE,
        TEST_KDF,
    )
    .unwrap();
    assert_eq!(summary.schema, SCHEMA_VERSION);
    assert!(moved.comrades().my_card().unwrap() == alice.comrades().my_card().unwrap());
    assert_eq!(moved.journal().count().unwrap(), 1);
    assert!(moved.integrity_check().unwrap());
    drop(moved);
    // Its own passphrase opens it; the old vault's key does not.
    assert!(Vault::open_with_passphrase(tmp.path().join("new"), NEW_PASSPHRASE).is_ok());
    assert!(matches!(
        Vault::open_with_key(tmp.path().join("new"), &key(7)),
        Err(Error::WrongUnlockMethod { .. })
    ));
    // Nothing of it is readable on disk.
    common::assert_no_plaintext(&tmp.path().join("new"), &["kingfisher", "Alice"]);
}

#[test]
fn a_backup_sealed_to_a_recipient_opens_with_its_identity_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let alice = alice(tmp.path());
    let identity = age::x25519::Identity::generate();
    // A plan names a folder on the old phone; the new one sets its own.
    let plan = tend_core::vault::AutomaticBackups {
        folder: tmp.path().to_str().unwrap().into(),
        every_days: 7,
        keep: 3,
        recipient: identity.to_public().to_string(),
    };
    alice.set_automatic_backups(Some(&plan)).unwrap();
    let recipient = SealWith::recipient(&identity.to_public().to_string()).unwrap();
    let mut bytes = Vec::new();
    alice.write_backup(&recipient, &mut bytes).unwrap();

    use age::secrecy::ExposeSecret;
    let stranger = age::x25519::Identity::generate().to_string();
    let other = OpenWith::identity(stranger.expose_secret()).unwrap();
    let dir = tmp.path().join("new");
    let wrong = Vault::restore_with_key(&dir, bytes.as_slice(), &other, &key(9));
    assert!(matches!(wrong, Err(Error::WrongKey)));
    nothing_at(&dir);
    let mine = OpenWith::identity(identity.to_string().expose_secret()).unwrap();
    let (moved, _) = Vault::restore_with_key(&dir, bytes.as_slice(), &mine, &key(9)).unwrap();
    assert_eq!(moved.journal().count().unwrap(), 1);
    assert_eq!(moved.automatic_backups().unwrap(), None);
    assert_eq!(alice.automatic_backups().unwrap(), Some(plan));
    assert!(matches!(
        SealWith::recipient("age1notakey"),
        Err(Error::Invalid { .. })
    ));
}

#[test]
fn a_weak_backup_passphrase_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let alice = alice(tmp.path());
    let mut out = Vec::new();
    let weak = SealWith::Passphrase("123456".to_owned().into());
    assert!(matches!(
        alice.write_backup(&weak, &mut out),
        Err(Error::WeakPassphrase { .. })
    ));
    assert!(out.is_empty());
}

#[test]
fn a_wrong_passphrase_or_a_cut_backup_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let alice = alice(tmp.path());
    let dir = tmp.path().join("new");
    let mut sealed = Vec::new();
    let passphrase = SealWith::Passphrase(PASSPHRASE.to_owned().into());
    alice.write_backup(&passphrase, &mut sealed).unwrap();
    let wrong = Vault::restore_with_passphrase(
        &dir,
        sealed.as_slice(),
        &OpenWith::Passphrase("another long passphrase entirely".to_owned().into()),
        NEW_PASSPHRASE,
        TEST_KDF,
    );
    assert!(matches!(wrong, Err(Error::WrongKey)));
    nothing_at(&dir);
    let bytes = backup(&alice);
    // Cut anywhere: in age's header, its first chunk, the image, the last chunk.
    let mut cuts = vec![
        0,
        10,
        100,
        bytes.len() / 2,
        bytes.len() - 17,
        bytes.len() - 1,
    ];
    cuts.extend((1..16).map(|i| i * bytes.len() / 16));
    for cut in cuts {
        match refused(restore(&dir, &bytes[..cut])) {
            Error::Backup(BackupError::Damaged | BackupError::NotABackup) => {}
            other => panic!("cut at {cut}: {other:?}"),
        }
        nothing_at(&dir);
    }
    // And a byte changed anywhere in the ciphertext.
    for at in [30, bytes.len() / 3, bytes.len() - 5] {
        let mut changed = bytes.clone();
        changed[at] ^= 0x40;
        let e = refused(restore(&dir, &changed));
        assert!(
            matches!(e, Error::Backup(_) | Error::WrongKey),
            "changed at {at}: {e:?}"
        );
        nothing_at(&dir);
    }
}

#[test]
fn what_is_not_a_tend_vault_backup_is_named_so() {
    let tmp = tempfile::tempdir().unwrap();
    let alice = alice(tmp.path());
    let dir = tmp.path().join("new");
    let not_age = refused(restore(&dir, b"SQLite format 3\0 and more"));
    assert!(matches!(not_age, Error::Backup(BackupError::NotABackup)));
    // The journal's export is age with the same passphrase, but not a vault.
    let mut journal = Vec::new();
    alice
        .journal()
        .export(
            tend_core::journal::ExportFormat::Json,
            tend_core::journal::ExportProtection::Plaintext,
            &mut journal,
            &mut |_, _| {},
        )
        .unwrap();
    let e = refused(restore(&dir, &reseal_raw(&journal)));
    assert!(matches!(e, Error::Backup(BackupError::NotABackup)), "{e:?}");
    nothing_at(&dir);
}

#[test]
fn a_head_from_a_newer_tend_or_claiming_too_much_is_refused_unread() {
    let tmp = tempfile::tempdir().unwrap();
    let (head, image) = unseal(&backup(&alice(tmp.path())));
    let dir = tmp.path().join("new");
    let with = |field: &str, value: serde_json::Value| {
        let mut head = head.clone();
        head[field] = value;
        reseal(&head, &image)
    };
    let cases = [
        (with("version", 2.into()), "newer format"),
        (with("schema", (SCHEMA_VERSION + 1).into()), "newer schema"),
        (with("database_bytes", (3u64 << 30).into()), "too large"),
        (with("format", "tend-journal".into()), "another format"),
        (
            with("database_bytes", (image.len() - 1).into()),
            "one byte short",
        ),
        (
            with("database_bytes", (image.len() + 1).into()),
            "one byte over",
        ),
        (with("schema", 0.into()), "no schema"),
    ];
    for (bytes, case) in cases {
        let e = refused(restore(&dir, &bytes));
        let expected = match case {
            "newer format" => matches!(e, Error::Backup(BackupError::NewerFormat)),
            "newer schema" => matches!(e, Error::SchemaTooNew { .. }),
            "too large" => matches!(e, Error::Backup(BackupError::TooLarge)),
            "another format" | "no schema" => matches!(e, Error::Backup(BackupError::NotABackup)),
            _ => matches!(e, Error::Backup(BackupError::Damaged)),
        };
        assert!(expected, "{case}: {e:?}");
        nothing_at(&dir);
    }
}

#[test]
fn an_image_with_anything_tend_did_not_make_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (head, image) = unseal(&backup(&alice(tmp.path())));
    let dir = tmp.path().join("new");
    let hostile = [
        // A trigger that would run in the restored vault.
        "CREATE TRIGGER spy AFTER INSERT ON entries BEGIN DELETE FROM comrades; END;",
        "CREATE VIEW everything AS SELECT * FROM entries;",
        "CREATE TABLE extra (x);",
        "DROP TABLE circles;",
        "PRAGMA user_version = 3;",
    ];
    for sql in hostile {
        let e = refused(restore(
            &dir,
            &backup_of_image(&head, &altered(&image, sql)),
        ));
        assert!(
            matches!(e, Error::Backup(BackupError::ForeignDatabase)),
            "{sql}: {e:?}"
        );
        nothing_at(&dir);
    }
    // A circle membership pointing at nobody.
    let orphan = "PRAGMA foreign_keys = OFF; INSERT INTO circle_members VALUES (4242, 4242);";
    let e = refused(restore(
        &dir,
        &backup_of_image(&head, &altered(&image, orphan)),
    ));
    assert!(matches!(e, Error::Backup(BackupError::Damaged)), "{e:?}");
    nothing_at(&dir);
    // Pages of garbage where the database should be.
    let mut garbage = image.clone();
    for b in garbage.iter_mut().skip(100).step_by(7) {
        *b = 0xA5;
    }
    let e = refused(restore(&dir, &reseal(&head, &garbage)));
    assert!(matches!(e, Error::Backup(BackupError::Damaged)), "{e:?}");
    nothing_at(&dir);
}

/// Random changes to the image, re-sealed with the right passphrase: a
/// refusal that leaves nothing, or a vault that passes its own integrity
/// check (a changed byte in a comrade's name is still a database).
#[test]
fn mutated_images_never_panic_or_half_restore() {
    let tmp = tempfile::tempdir().unwrap();
    let (head, image) = unseal(&backup(&alice(tmp.path())));
    let mut state = 0x7e4d_0021u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut refusals, mut restored) = (0, 0);
    for i in 0..60 {
        let mut bytes = image.clone();
        for _ in 0..1 + next() % 8 {
            let at = (next() as usize) % bytes.len();
            bytes[at] = next() as u8;
        }
        let dir = tmp.path().join(format!("new-{i}"));
        match restore(&dir, &reseal(&head, &bytes)) {
            Ok(vault) => {
                assert!(vault.integrity_check().unwrap());
                restored += 1;
            }
            Err(_) => {
                nothing_at(&dir);
                refusals += 1;
            }
        }
    }
    assert!(refusals > 0 && refusals + restored == 60);
}

/// `docs/vectors/vault-backup-v1.age`: Alice, her comrade Bob and one
/// entry, sealed to the identity `docs/export-formats.md` publishes. Made
/// once (`TEND_WRITE_VECTORS=1`); every later Tend must restore it, its
/// schema carried on by the migrations.
#[test]
fn the_checked_in_vault_backup_vector_restores() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/vectors/vault-backup-v1.age");
    if std::env::var_os("TEND_WRITE_VECTORS").is_some() {
        let tmp = tempfile::tempdir().unwrap();
        let alice = alice(tmp.path());
        let mut out = Vec::new();
        alice.write_backup(&seal_with(), &mut out).unwrap();
        std::fs::write(&path, out).unwrap();
    }
    let bytes = std::fs::read(&path).unwrap();
    let (head, _) = unseal(&bytes);
    assert_eq!(head["format"], "tend-vault");
    let tmp = tempfile::tempdir().unwrap();
    let (vault, summary) = Vault::restore_with_key(
        tmp.path().join("v"),
        bytes.as_slice(),
        &open_with(),
        &key(9),
    )
    .unwrap();
    assert_eq!(summary.schema, head["schema"].as_i64().unwrap());
    assert_eq!(vault.display_name().unwrap().as_deref(), Some("Alice"));
    assert_eq!(vault.comrades().list().unwrap()[0].name, "Bob");
    let everything = tend_core::journal::EntryFilter::default();
    let entries = vault.journal().list(&everything, 10, None).unwrap().entries;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].body, "Saw a kingfisher");
    assert!(vault.integrity_check().unwrap());
}

/// The notice a restored copy would publish to my own mailbox.
fn move_notice(copy: &Vault) -> tend_core::delivery::Parcel {
    let mine = copy
        .delivery()
        .my_address()
        .unwrap()
        .mailbox_at(chrono::Utc::now());
    let mut notices: Vec<_> = copy
        .delivery()
        .due(true)
        .unwrap()
        .into_iter()
        .filter(|p| p.mailbox == mine)
        .collect();
    assert_eq!(notices.len(), 1, "one notice, to my own mailbox");
    notices.pop().unwrap()
}

#[test]
fn the_newest_copy_retires_the_others_and_an_older_one_retires_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let alice = alice(dir.path());
    let relay = tend_core::delivery::RelayUrl::parse("wss://relay.example.org").unwrap();
    alice.delivery().add_relay(&relay).unwrap();
    let bytes = backup(&alice);
    let older = restore(&dir.path().join("older"), &bytes).unwrap();
    let newer = restore(&dir.path().join("newer"), &bytes).unwrap();
    let (from_older, from_newer) = (move_notice(&older), move_notice(&newer));
    // Sealed once a week, not at every sync.
    assert_eq!(move_notice(&older).message_id, from_older.message_id);
    let (from_older, from_newer) = (from_older.envelope, from_newer.envelope);

    assert!(matches!(
        newer.envelopes().open(&from_newer),
        Err(Error::Envelope(
            tend_core::envelope::EnvelopeError::Replayed
        ))
    ));
    let opened = newer.envelopes().open(&from_older).unwrap();
    assert_eq!(opened.kind, tend_core::kinds::DEVICE_MOVED);
    assert!(newer.retirement().unwrap().is_none(), "born after it");

    older.envelopes().open(&from_newer).unwrap();
    let retired = older.retirement().unwrap().expect("retired");
    assert!(retired.newer_copy_born_at > chrono::Utc::now() - chrono::Duration::minutes(5));
    alice.envelopes().open(&from_older).unwrap();
    assert!(alice.retirement().unwrap().is_some());

    // A retired copy reads; it changes and sends nothing, after a lock too.
    alice.lock();
    alice.unlock_with_key(&key(7)).unwrap();
    assert_eq!(common::entry_count(&alice), 1);
    assert!(alice.integrity_check().unwrap());
    assert_eq!(alice.journal().search("kingfisher", 10).unwrap().len(), 1);
    let mut export = Vec::new();
    let exported = alice.journal().export(
        tend_core::journal::ExportFormat::Json,
        tend_core::journal::ExportProtection::Plaintext,
        &mut export,
        &mut |_, _| {},
    );
    assert_eq!(exported.unwrap(), 1);
    common::all_retired([
        alice.journal().add(entry("Written on the old phone")).err(),
        alice.back_up_if_due(chrono::Utc::now()).err(),
        alice.envelopes().open(&from_newer).err(),
        alice.delivery().due(true).err(),
        alice
            .delivery()
            .add_relay(&tend_core::delivery::RelayUrl::parse("wss://other.example.org").unwrap())
            .err(),
        alice.set_display_name("Alice B").err(),
    ]);
    // A retired copy's backup restores as the newest copy: the way back.
    let again = restore(&dir.path().join("again"), &backup(&older)).unwrap();
    assert!(again.retirement().unwrap().is_none());
    again.journal().add(entry("A new start")).unwrap();
}

#[test]
fn a_comrade_cannot_retire_me_and_a_notice_must_be_well_formed() {
    let dir = tempfile::tempdir().unwrap();
    let alice = member(dir.path(), "Alice");
    let bob = member(dir.path(), "Bob");
    common::befriend(&alice, &bob);
    let to = [tend_core::envelope::Recipient::Comrade(
        bob.comrades().find("Alice").unwrap().id,
    )];
    let notice = |body: &[u8]| {
        bob.envelopes()
            .seal(&tend_core::envelope::Outgoing {
                kind: tend_core::kinds::DEVICE_MOVED,
                body,
                to: &to,
                expires_at: None,
            })
            .unwrap()
            .bytes
    };
    let later = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let sound = format!(r#"{{"copy":"0192f0e4-7d3a-7c4e-9a1b-3f5e6d7c8b9a","born_at":"{later}"}}"#);
    for (body, why) in [
        (sound.clone(), tend_core::envelope::EnvelopeError::NotForMe),
        (
            "{}".to_owned(),
            tend_core::envelope::EnvelopeError::Malformed,
        ),
        (
            sound.replace("}", r#","more":1}"#),
            tend_core::envelope::EnvelopeError::Malformed,
        ),
    ] {
        let refused = alice.envelopes().open(&notice(body.as_bytes())).err();
        assert!(
            matches!(&refused, Some(Error::Envelope(e)) if *e == why),
            "{refused:?}"
        );
    }
    assert!(alice.retirement().unwrap().is_none());
    alice.journal().add(entry("Still mine")).unwrap();
}
