//! `tend demo`: Tend's story, one titled step at a time, in a temporary folder.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::{Days, FixedOffset, TimeZone};
use tend_core::care::{CareCategory, CareStatus, CareUrgency, NewCareRequest};
use tend_core::collective::{CollectiveId, STARTER_AGREEMENTS};
use tend_core::delivery::RelayUrl;
use tend_core::envelope::{EnvelopeError, MessageId, Opened, Recipient, Sealed};
use tend_core::gatherings::{NewGathering, Rsvp};
use tend_core::journal::{ExportFormat, ExportProtection, NewEntry, prompt_for_day};
use tend_core::{DataKey, Error, KdfParams, SecretString, Vault, VaultFiles};

use crate::journal_cmd::{describe_insights, highlight};
use crate::{CliResult, fail};
use crate::{care_cmd, delivery_cmd};

struct Story {
    step: u32,
    /// `None`: envelopes are carried by hand, as files or pasted text.
    relay: Option<RelayUrl>,
}

impl Story {
    fn step(&mut self, title: &str) {
        self.step += 1;
        println!("\n── {}. {title} ──", self.step);
    }

    /// A new member's vault; with a relay, they receive on it.
    fn member(&self, dir: &std::path::Path, name: &str) -> CliResult<Vault> {
        let vault = Vault::create_with_key(dir.join(name.to_lowercase()), &DataKey::generate())
            .map_err(fail)?;
        vault.set_display_name(name).map_err(fail)?;
        self.receive_on_relay(&vault)?;
        Ok(vault)
    }

    fn receive_on_relay(&self, vault: &Vault) -> CliResult {
        if let Some(relay) = &self.relay {
            vault.delivery().add_relay(relay).map_err(fail)?;
        }
        Ok(())
    }

    /// Carries what `from` sealed to `to`: by hand (each opens the copies
    /// addressed to them) or through the relay (each syncs). Returns what
    /// they opened.
    fn carry(&self, from: &Vault, sealed: &[Sealed], to: &[&Vault]) -> CliResult<Vec<Opened>> {
        let mut opened = Vec::new();
        if self.relay.is_some() {
            self.sync(from)?;
            for vault in to {
                opened.extend(self.sync(vault)?);
            }
            return Ok(opened);
        }
        for vault in to {
            let me = vault.comrades().my_identity_key().map_err(fail)?;
            for s in sealed {
                if s.recipients.iter().any(|r| r.identity_key == me) {
                    opened.push(vault.envelopes().open(&s.bytes).map_err(fail)?);
                }
            }
        }
        Ok(opened)
    }

    /// Delivers replies `from`'s vault sealed while opening `opened`.
    fn carry_replies(&self, from: &Vault, opened: &[Opened], to: &[&Vault]) -> CliResult {
        let replies: Vec<Sealed> = from
            .envelopes()
            .outbox()
            .map_err(fail)?
            .into_iter()
            .filter(|o| {
                opened
                    .iter()
                    .any(|e| e.replies.contains(&o.sealed.message_id))
            })
            .map(|o| o.sealed)
            .collect();
        self.carry(from, &replies, to).map(|_| ())
    }

    /// Carries what these vaults seal among themselves from now on, and
    /// what opening it seals in answer, until nothing moves. `before`:
    /// what their outboxes held already.
    fn settle(&self, vaults: &[&Vault], before: &BTreeSet<MessageId>) -> CliResult {
        if self.relay.is_some() {
            // Each pass publishes what the last one sealed and fetches it.
            for _ in 0..4 {
                let mut opened = 0;
                for vault in vaults {
                    opened += self.sync(vault)?.len();
                }
                if opened == 0 {
                    break;
                }
            }
            return Ok(());
        }
        let mut carried = before.clone();
        loop {
            let mut moved = false;
            for from in vaults {
                for item in from.envelopes().outbox().map_err(fail)?.into_iter().rev() {
                    if carried.insert(item.sealed.message_id) {
                        moved = true;
                        self.carry(from, &[item.sealed], vaults)?;
                    }
                }
            }
            if !moved {
                return Ok(());
            }
        }
    }

    fn sync(&self, vault: &Vault) -> CliResult<Vec<Opened>> {
        // The story's syncs run at once; a member's spread their connections.
        let report = delivery_cmd::sync_now(vault, Duration::ZERO)?;
        let name = vault.display_name().map_err(fail)?.unwrap_or_default();
        println!("  {name} syncs:\n  {}", delivery_cmd::describe(&report));
        Ok(report.opened)
    }
}

/// Words Alice writes; none may appear in the vault's files.
const DAYS: &[(u8, &[&str], &[&str], &str)] = &[
    (
        2,
        &["tired", "anxious"],
        &["work"],
        "Long shift. My shoulders ache and the bus was late again.",
    ),
    (
        3,
        &["calm"],
        &["walk", "cooking"],
        "Made lentil soup for Noor and walked by the canal.",
    ),
    (
        4,
        &["grateful"],
        &["gathering", "watercolours"],
        "The restorative gathering: I painted a heron in watercolours while others knitted.",
    ),
    (
        2,
        &["lonely"],
        &["work"],
        "Quiet evening. Wanted to call someone and didn't.",
    ),
    (
        4,
        &["connected"],
        &["walk", "gathering"],
        "Walked with Bob after the meeting; we laughed about the kettle.",
    ),
    (
        3,
        &["calm"],
        &["cooking"],
        "Bread didn't rise. Ate it anyway.",
    ),
    (
        5,
        &["hopeful", "grateful"],
        &["watercolours", "walk"],
        "Sunlight on the allotment. Finished the heron painting.",
    ),
    (
        2,
        &["anxious"],
        &["work"],
        "Rent letter arrived. Breathing through it.",
    ),
];

pub fn run(relay: Option<&str>) -> CliResult {
    let relay = relay.map(RelayUrl::parse).transpose().map_err(fail)?;
    let tmp = tempfile::Builder::new()
        .prefix("tend-demo-")
        .tempdir()
        .map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let dir = tmp.path().join("alice");
    let mut story = Story { step: 0, relay };
    println!("Tend demo, in {}", tmp.path().display());

    story.step("Alice makes her vault");
    let passphrase = "correct horse battery staple";
    let params = KdfParams::default();
    let vault = Vault::create_with_passphrase(&dir, passphrase, params).map_err(fail)?;
    vault.set_display_name("Alice").map_err(fail)?;
    story.receive_on_relay(&vault)?;
    println!(
        "A SQLCipher database, its data key wrapped with Argon2id (m={} MiB, t={}, p={}).",
        params.memory_kib / 1024,
        params.iterations,
        params.parallelism
    );

    story.step("She writes in her journal over eight days");
    let journal = vault.journal();
    let berlin = FixedOffset::east_opt(3600).expect("valid offset");
    let start = berlin
        .with_ymd_and_hms(2026, 11, 2, 21, 15, 0)
        .single()
        .expect("a real time");
    for (i, (mood, feelings, activities, body)) in DAYS.iter().enumerate() {
        let entry = journal
            .add(NewEntry {
                written_at: Some(start + Days::new(i as u64)),
                mood: Some(*mood),
                feelings: feelings.iter().map(|s| s.to_string()).collect(),
                activities: activities.iter().map(|s| s.to_string()).collect(),
                title: None,
                body: body.to_string(),
            })
            .map_err(fail)?;
        println!("  {}  mood {}  {}", entry.local_date(), mood, body);
    }
    let prompt = prompt_for_day(start.date_naive());
    println!("A gentle prompt she may skip: “{prompt}”");

    story.step("She searches for “heron”");
    for hit in journal.search("heron", 5).map_err(fail)? {
        println!("  {}  {}", hit.entry.local_date(), highlight(&hit.snippet));
    }

    story.step("Insights, without streaks or nudges");
    println!(
        "{}",
        describe_insights(&journal.insights(None, None).map_err(fail)?)
    );

    story.step("She locks the vault; only her passphrase opens it");
    vault.lock();
    match vault.unlock_with_passphrase("a guess") {
        Err(Error::WrongKey) => println!("A wrong passphrase: refused, nothing on disk changed."),
        other => return Err(format!("a wrong passphrase was not refused: {other:?}")),
    }
    let started = Instant::now();
    vault.unlock_with_passphrase(passphrase).map_err(fail)?;
    println!(
        "Her passphrase: unlocked in {} ms, {} entries inside.",
        started.elapsed().as_millis(),
        journal.count().map_err(fail)?
    );

    story.step("What a thief with the phone's storage would see");
    let files = VaultFiles::new(&dir);
    let mut found = Vec::new();
    let words: Vec<&str> = DAYS
        .iter()
        .flat_map(|(_, f, a, body)| {
            f.iter()
                .chain(a.iter())
                .copied()
                .chain(body.split_whitespace())
        })
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|w| w.len() >= 5)
        .collect();
    for path in files.all().iter().filter(|p| p.exists()) {
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        println!(
            "  {:<20} {:>8} bytes",
            path.file_name().unwrap_or_default().to_string_lossy(),
            bytes.len()
        );
        for word in &words {
            if bytes.windows(word.len()).any(|w| w == word.as_bytes()) {
                found.push(*word);
            }
        }
    }
    if !found.is_empty() {
        return Err(format!(
            "{} written words are readable in the vault files",
            found.len()
        ));
    }
    println!(
        "Searched those files for {} words she wrote: none is there.",
        words.len()
    );

    story.step("An encrypted backup, restored into a new vault");
    let backup_path = tmp.path().join("alice-backup.json.age");
    let backup_passphrase = SecretString::from("a different long backup passphrase".to_owned());
    let n = crate::files::write_atomically(&backup_path, |file| {
        journal
            .export(
                ExportFormat::Json,
                ExportProtection::Passphrase(backup_passphrase.clone()),
                file,
                &mut |_, _| {},
            )
            .map_err(fail)
    })?;
    let head = std::fs::read(&backup_path).map_err(|e| e.to_string())?;
    println!(
        "Exported {n} entries; the file starts “{}” and is sealed with age.",
        String::from_utf8_lossy(&head[..21])
    );
    let restored =
        Vault::create_with_key(tmp.path().join("restored"), &tend_core::DataKey::generate())
            .map_err(fail)?;
    let summary = restored
        .journal()
        .import(
            std::fs::File::open(&backup_path).map_err(|e| e.to_string())?,
            Some(backup_passphrase),
            &mut |_, _| {},
        )
        .map_err(fail)?;
    println!(
        "Restored into a new vault: {} entries added.",
        summary.added
    );

    let (bob, carol) = share_with_bob(&mut story, &vault, tmp.path())?;
    care_story(&mut story, &vault, &bob, &carol)?;
    let (collective, dana) = collective_story(&mut story, &vault, (&bob, &carol), tmp.path())?;
    monthly_gathering(
        &mut story,
        &vault,
        (&bob, &carol, &dana),
        collective,
        tmp.path(),
    )?;
    dana_joins(&mut story, (&vault, &bob, &carol), &dana, collective)?;
    pulse(&mut story, [&vault, &bob, &carol, &dana], collective)?;
    new_phone(&mut story, &vault, &bob, tmp.path())?;
    custodians(&mut story, &vault, (&bob, &carol, &dana), tmp.path())?;
    phone_to_phone(&mut story, &carol, &bob, tmp.path())?;

    story.step("Panic wipe");
    vault.wipe().map_err(fail)?;
    let left = files.all().iter().filter(|p| p.exists()).count();
    println!("The wrapped key is overwritten and every vault file deleted ({left} left).");

    match &story.relay {
        Some(relay) => {
            println!(
                "\nThe end. Every care, collective and gathering envelope went through {relay}."
            )
        }
        None => println!(
            "\nThe end. Envelopes went by hand here; `tend demo --relay ws://…` carries them through a Nostr relay."
        ),
    }
    Ok(())
}

/// Alice's whole vault, backed up and restored on a new phone, where Bob's
/// next envelope opens as from a comrade she verified.
fn new_phone(story: &mut Story, alice: &Vault, bob: &Vault, dir: &std::path::Path) -> CliResult {
    use tend_core::sealed::{OpenWith, SealWith};
    story.step("Alice's phone is lost: her whole-vault backup becomes her new phone");
    let passphrase = "a different long backup passphrase";
    let path = dir.join("alice.tendbackup");
    let made = alice
        .write_backup_file(&SealWith::Passphrase(passphrase.to_owned().into()), &path)
        .map_err(fail)?;
    let backup = std::fs::File::open(&path).map_err(|e| e.to_string())?;
    let (phone, _) = Vault::restore_with_key(
        dir.join("alice-new-phone"),
        backup,
        &OpenWith::Passphrase(passphrase.to_owned().into()),
        &DataKey::generate(),
    )
    .map_err(fail)?;
    let comrades = phone.comrades().list().map_err(fail)?;
    let verified = comrades.iter().filter(|c| c.verified).count();
    println!(
        "Backed up everything, sealed with age ({:.1} MB: her identity and keys, comrades, \
         circles, the collective, gatherings, care, relays, journal), and restored under a key \
         of its own: {} comrades, {verified} verified, {} entries.",
        made.database_bytes as f64 / 1e6,
        comrades.len(),
        phone.journal().count().map_err(fail)?
    );
    let alice_id = bob.comrades().find("Alice").map_err(fail)?.id;
    let written = bob
        .journal()
        .add(NewEntry {
            body: "Glad you are back".into(),
            ..NewEntry::default()
        })
        .map_err(fail)?;
    let sealed = bob
        .journal()
        .share(written.id, &[Recipient::Comrade(alice_id)], None)
        .map_err(fail)?;
    let opened = phone.envelopes().open(&sealed.bytes).map_err(fail)?;
    let from = phone.comrades().find(&opened.sender.name).map_err(fail)?;
    println!(
        "Bob's next entry opens on the new phone, from {} ({}), without meeting again.",
        opened.sender.name,
        if from.verified {
            "verified"
        } else {
            "not verified"
        }
    );
    Ok(())
}

/// Alice splits a backup key among three comrades; with everything lost,
/// even her passphrase, two of them bring her back.
fn custodians(
    story: &mut Story,
    alice: &Vault,
    (bob, carol, dana): (&Vault, &Vault, &Vault),
    dir: &std::path::Path,
) -> CliResult {
    use tend_core::custody::RecoveryRequest;
    use tend_core::vault::AutomaticBackups;
    story.step("Alice chooses custodians: any two of Bob, Carol and Dana can bring her back");
    let ids = ["Bob", "Carol", "Dana"]
        .iter()
        .map(|n| alice.comrades().find(n).map(|c| c.id))
        .collect::<tend_core::Result<Vec<_>>>()
        .map_err(fail)?;
    let chosen = alice.custody().choose(2, &ids).map_err(fail)?;
    let custodians = [bob, carol, dana];
    let opened = story.carry(alice, &chosen.sealed, &custodians)?;
    for custodian in custodians {
        story.carry_replies(custodian, &opened, &[alice])?;
    }
    let folder = dir.join("alice-backups");
    std::fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
    alice
        .set_automatic_backups(Some(&AutomaticBackups {
            folder: folder.to_string_lossy().into_owned(),
            every_days: 7,
            keep: 3,
            // Her own key, kept off the phone; lost too, in this story.
            recipient: age::x25519::Identity::generate().to_public().to_string(),
        }))
        .map_err(fail)?;
    let backup = alice
        .back_up_if_due(chrono::Utc::now())
        .map_err(fail)?
        .ok_or("no automatic backup was written")?;
    let status = alice.custody().status().map_err(fail)?.ok_or("no plan")?;
    println!(
        "A new backup key, split with Shamir's scheme: each custodian holds one share, and one \
         alone says nothing of the key. {} of 3 confirmed they keep theirs; her automatic \
         backups are sealed to that key too.",
        status
            .custodians
            .iter()
            .filter(|c| c.confirmed_at.is_some())
            .count()
    );

    story.step("Alice loses everything, even her passphrase: Bob and Dana bring her back");
    let request = RecoveryRequest::new();
    let code = request.code();
    let me = alice.comrades().my_identity_key().map_err(fail)?;
    let releases = [bob, dana]
        .iter()
        .map(|c| c.custody().release(&code, Some(&me)))
        .collect::<tend_core::Result<Vec<_>>>()
        .map_err(fail)?;
    let one = request.recover(&releases[..1]);
    if one.is_ok() {
        return Err("one custodian alone rebuilt the key".into());
    }
    let recovered = request.recover(&releases).map_err(fail)?;
    let file = std::fs::File::open(&backup).map_err(|e| e.to_string())?;
    let (back, _) = Vault::restore_with_key(
        dir.join("alice-recovered"),
        file,
        &recovered.opener,
        &DataKey::generate(),
    )
    .map_err(fail)?;
    println!(
        "On a new phone she showed a one-time code; Bob and Dana scanned it in person and each \
         released their share, sealed to it alone. One share opened nothing; the two rebuilt \
         the key and her newest automatic backup opened: {} comrades, {} entries, the same \
         member.",
        back.comrades().list().map_err(fail)?.len(),
        back.journal().count().map_err(fail)?
    );
    Ok(())
}

/// Pieces of a move kept in memory by mailbox: the story's stand-in for
/// relays when it runs by hand.
#[derive(Default)]
struct Courier(std::collections::HashMap<String, Vec<tend_core::delivery::Arrival>>);

impl tend_core::delivery::Transport for Courier {
    fn publish(
        &mut self,
        relay: &RelayUrl,
        parcel: &tend_core::delivery::Parcel,
    ) -> Result<Result<(), String>, tend_core::delivery::TransportError> {
        let waiting = self.0.entry(parcel.mailbox.to_hex()).or_default();
        let id = format!("{relay}/{}", waiting.len());
        waiting.push(tend_core::delivery::Arrival {
            ids: vec![id],
            envelope: parcel.envelope.clone(),
        });
        Ok(Ok(()))
    }

    fn fetch(
        &mut self,
        _: &RelayUrl,
        mailbox: &tend_core::delivery::Mailbox,
        _: Option<chrono::DateTime<chrono::Utc>>,
        _: &dyn Fn(&str) -> bool,
    ) -> Result<tend_core::delivery::Fetched, tend_core::delivery::TransportError> {
        Ok(tend_core::delivery::Fetched {
            arrivals: self
                .0
                .get(&mailbox.key.to_hex())
                .cloned()
                .unwrap_or_default(),
            complete: true,
            ..Default::default()
        })
    }
}

/// Carol moves phone to phone: a move code, six digits compared, her
/// whole vault in pieces, and her old phone retired.
fn phone_to_phone(
    story: &mut Story,
    carol: &Vault,
    bob: &Vault,
    dir: &std::path::Path,
) -> CliResult {
    use tend_core::delivery::{MoveCode, MoveReceiver, Transport};
    story.step("Carol moves phone to phone: a code to scan, six digits to compare");
    let meet_on = match &story.relay {
        Some(relay) => relay.clone(),
        None => RelayUrl::parse("wss://relay.example.org").map_err(fail)?,
    };
    let mut receiver = MoveReceiver::new(vec![meet_on]).map_err(fail)?;
    let scanned = MoveCode::parse(&receiver.code().to_text()).map_err(fail)?;
    let mut transport: Box<dyn Transport> = match story.relay {
        Some(_) => Box::new(tend_core::delivery::nostr::NostrTransport::new(
            tend_core::delivery::nostr::Limits::default(),
        )),
        None => Box::new(Courier::default()),
    };
    let sent = carol
        .delivery()
        .send_move(&scanned, transport.as_mut())
        .map_err(fail)?;
    let mut whole = None;
    for _ in 0..3 {
        whole = receiver.fetch(transport.as_mut()).map_err(fail)?;
        if whole.is_some() {
            break;
        }
    }
    let whole = whole.ok_or("the move's pieces did not all arrive")?;
    let (phone, _) = Vault::restore_with_key(
        dir.join("carol-new-phone"),
        whole.as_slice(),
        &receiver.opener(),
        &DataKey::generate(),
    )
    .map_err(fail)?;
    let after = carol.journal().add(NewEntry {
        body: "written on the old phone".into(),
        ..NewEntry::default()
    });
    if !matches!(after, Err(Error::Retired)) {
        return Err(format!("the old phone still writes: {after:?}"));
    }
    println!(
        "Both phones showed {}. Her old phone sent {:.1} MB in {} pieces, sealed to the new \
         phone's one-time key{}, and is read-only now: a new entry there is refused.",
        scanned.short_code(),
        sent.bytes as f64 / 1e6,
        sent.pieces,
        match story.relay {
            Some(_) => ", through the relay",
            None => " (carried in memory here)",
        },
    );
    let carol_id = bob.comrades().find("Carol").map_err(fail)?.id;
    let sealed = bob
        .envelopes()
        .seal(&tend_core::envelope::Outgoing {
            kind: "demo.note",
            body: b"welcome to your new phone",
            to: &[Recipient::Comrade(carol_id)],
            expires_at: None,
        })
        .map_err(fail)?;
    let opened = phone.envelopes().open(&sealed.bytes).map_err(fail)?;
    println!(
        "Bob's next note opens on Carol's new phone, from {}, a comrade she has: they need \
         not meet again.",
        opened.sender.name
    );
    Ok(())
}

/// Cards, safety numbers, and one entry shared end to end. Returns Bob's
/// and Carol's vaults.
fn share_with_bob(
    story: &mut Story,
    alice: &Vault,
    dir: &std::path::Path,
) -> CliResult<(Vault, Vault)> {
    story.step("Bob makes his vault, and they swap comrade cards");
    let bob = story.member(dir, "Bob")?;
    let alice_card = alice.comrades().my_card().map_err(fail)?;
    let bob_card = bob.comrades().my_card().map_err(fail)?;
    println!(
        "Alice's card, {} characters, one QR code:\n  {}…",
        alice_card.to_text().len(),
        &alice_card.to_text()[..48]
    );
    let bob_at_alice = alice.comrades().add(&bob_card, None).map_err(fail)?;
    let alice_at_bob = bob.comrades().add(&alice_card, None).map_err(fail)?;
    let (bob_id, alice_id) = (bob_at_alice.comrade().id, alice_at_bob.comrade().id);

    story.step("They compare safety numbers in person");
    let on_alice = alice.comrades().safety_number(bob_id).map_err(fail)?;
    let on_bob = bob.comrades().safety_number(alice_id).map_err(fail)?;
    println!("  Alice's phone: {on_alice}\n  Bob's phone:   {on_bob}");
    if on_alice != on_bob {
        return Err("the two phones show different safety numbers".into());
    }
    alice.comrades().mark_verified(bob_id).map_err(fail)?;
    bob.comrades().mark_verified(alice_id).map_err(fail)?;
    println!("The same 60 digits: each marks the other verified.");

    story.step("Alice shares the heron entry with Bob");
    let heron = alice.journal().search("heron", 1).map_err(fail)?;
    let entry = heron.first().ok_or("the heron entry is missing")?;
    let sealed = alice
        .journal()
        .share(
            entry.entry.id,
            &[Recipient::Comrade(bob_id)],
            Some("Thought you'd like this"),
        )
        .map_err(fail)?;
    let armored = sealed.armored();
    println!(
        "A sealed envelope: {} bytes, or {} as text for any chat app:\n  {}",
        sealed.bytes.len(),
        armored.len(),
        armored.lines().take(2).collect::<Vec<_>>().join("\n  ")
    );

    story.step("Bob opens it: shared with him, not mixed into his journal");
    let opened = bob.envelopes().open(armored.as_bytes()).map_err(fail)?;
    let shared = bob.journal().shared_with_me().map_err(fail)?;
    let first = shared.first().ok_or("nothing shared with Bob")?;
    let verified = bob.comrades().get(alice_id).map_err(fail)?.verified;
    println!(
        "From {} ({}): “{}”\n  {}",
        opened.sender.name,
        if verified { "verified" } else { "not verified" },
        first.note.as_deref().unwrap_or_default(),
        first.body
    );
    println!(
        "Bob's own journal still holds {} entries.",
        bob.journal().count().map_err(fail)?
    );

    story.step("A tampered copy and a forwarded copy are refused");
    let mut tampered = sealed.bytes.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 1;
    expect_refusal(
        bob.envelopes().open(&tampered),
        EnvelopeError::Tampered,
        "A flipped bit",
    )?;
    let carol = story.member(dir, "Carol")?;
    carol.comrades().add(&alice_card, None).map_err(fail)?;
    expect_refusal(
        carol.envelopes().open(&sealed.bytes),
        EnvelopeError::NotForMe,
        "Bob's copy, forwarded to Carol",
    )?;

    story.step("A replay changes nothing");
    expect_refusal(
        bob.envelopes().open(&sealed.bytes),
        EnvelopeError::Replayed,
        "The same envelope again",
    )?;
    println!(
        "Bob's inbox holds {} item.",
        bob.envelopes().inbox(None).map_err(fail)?.len()
    );
    Ok((bob, carol))
}

/// A ride to the clinic: asked of a circle, offered twice, accepted once,
/// fulfilled and thanked, every step an envelope.
fn care_story(story: &mut Story, alice: &Vault, bob: &Vault, carol: &Vault) -> CliResult {
    story.step("Alice asks her circle for a ride to the clinic tomorrow");
    let carol_at_alice = alice
        .comrades()
        .add(&carol.comrades().my_card().map_err(fail)?, None)
        .map_err(fail)?
        .comrade()
        .id;
    let bob_at_alice = alice.comrades().find("Bob").map_err(fail)?.id;
    let circle = alice.comrades().create_circle("Eastside").map_err(fail)?;
    for id in [bob_at_alice, carol_at_alice] {
        alice
            .comrades()
            .add_to_circle(circle.id, id)
            .map_err(fail)?;
    }
    let tomorrow_ten = (chrono::Utc::now() + chrono::Duration::days(1))
        .date_naive()
        .and_hms_opt(10, 0, 0)
        .expect("a real time")
        .and_utc();
    let posted = alice
        .care()
        .post(&NewCareRequest {
            details: "Appointment at 10:00; I can't drive after it.".into(),
            needed_by: Some(tomorrow_ten),
            location: Some("Eastside".into()),
            ..NewCareRequest::new(
                CareCategory::Ride,
                "A ride to the clinic tomorrow",
                CareUrgency::Today,
                vec![Recipient::Circle(circle.id)],
            )
        })
        .map_err(fail)?;
    let id = posted.request.id;
    println!(
        "One envelope for the circle ({} people); nobody outside it sees it.\n{}",
        posted.sealed.recipients.len(),
        care_cmd::describe(&posted.request)
    );

    story.step("Bob and Carol both offer; only Alice sees the offers");
    let mut offers = Vec::new();
    for (helper, message) in [
        (bob, "I can drive you, leaving at 9:15."),
        (carol, "I could take you by bus."),
    ] {
        story.carry(alice, std::slice::from_ref(&posted.sealed), &[helper])?;
        let offered = helper
            .care()
            .offer_help(
                id,
                message,
                Some(tomorrow_ten - chrono::Duration::minutes(45)),
            )
            .map_err(fail)?;
        story.carry(helper, &[offered.sealed], &[alice])?;
        offers.push(offered.offer.id);
    }
    for mine in alice.care().mine().map_err(fail)? {
        for offer in &mine.offers {
            println!(
                "  {}: “{}”",
                offer.helper.as_ref().map_or("?", |h| h.name.as_str()),
                offer.message
            );
        }
    }

    story.step("Alice accepts Bob; Carol hears only “covered, thank you”");
    let sent = alice.care().accept(offers[0]).map_err(fail)?;
    story.carry(alice, &sent, &[bob, carol])?;
    let at_carol = carol.care().get(id).map_err(fail)?;
    if !at_carol.is_covered() || at_carol.helper.is_some() {
        return Err("Carol's copy should say covered, and no more".into());
    }
    println!(
        "Two envelopes: the accept for Bob alone, and “covered” for the whole circle.\n\
         Carol's phone: {}",
        care_cmd::describe(&at_carol).trim_start()
    );
    for c in bob.care().commitments().map_err(fail)? {
        println!(
            "Bob's commitments: “{}”, he said he would come at {} UTC.",
            c.request.title,
            c.offer
                .can_help_at
                .map(|t| t.format("%H:%M").to_string())
                .unwrap_or_default()
        );
    }

    story.step("Bob marks it fulfilled, and Alice thanks him");
    let fulfilled = bob.care().fulfil(id).map_err(fail)?;
    story.carry(bob, &fulfilled, &[alice])?;
    let thanks = alice
        .care()
        .thank(id, "Thank you, Bob. It meant a lot.")
        .map_err(fail)?;
    story.carry(alice, &[thanks], &[bob])?;
    let (at_alice, at_bob) = (
        alice.care().get(id).map_err(fail)?,
        bob.care().get(id).map_err(fail)?,
    );
    if at_alice.status != CareStatus::Fulfilled || at_bob.status != CareStatus::Fulfilled {
        return Err("Alice's and Bob's copies should both say fulfilled".into());
    }
    println!(
        "Both phones say fulfilled. Bob reads: “{}”\n\
         In {} days the request, its offers and its envelopes are deleted from every vault.",
        at_bob.thanks.as_deref().unwrap_or_default(),
        alice.care().retention_days().map_err(fail)?
    );
    Ok(())
}

fn expect_refusal<T: std::fmt::Debug>(
    result: tend_core::Result<T>,
    expected: EnvelopeError,
    what: &str,
) -> CliResult {
    match result {
        Err(Error::Envelope(e)) if e == expected => {
            println!("{what}: refused ({e}).");
            Ok(())
        }
        other => Err(format!("{what} was not refused as {expected:?}: {other:?}")),
    }
}

/// Alice founds the collective; Bob and Carol join and accept its agreements.
fn collective_story(
    story: &mut Story,
    alice: &Vault,
    (bob, carol): (&Vault, &Vault),
    dir: &std::path::Path,
) -> CliResult<(CollectiveId, Vault)> {
    story.step("Alice founds the collective, with the zine's agreements");
    let founded = alice
        .collectives()
        .create("Riverside Care", Some(STARTER_AGREEMENTS))
        .map_err(fail)?;
    println!(
        "“{}” has no server and no owner: each member's phone keeps its whole log of signed changes. \
         Alice is its first member and steward. Its agreements, version 1:",
        founded.name
    );
    for line in STARTER_AGREEMENTS.lines() {
        println!("  {line}");
    }

    story.step("Bob and Carol join; the collective introduces them to each other");
    let ids = ["Bob", "Carol"]
        .iter()
        .map(|name| alice.comrades().find(name).map(|c| c.id))
        .collect::<tend_core::Result<Vec<_>>>()
        .map_err(fail)?;
    let added = alice
        .collectives()
        .add_members(founded.id, &ids)
        .map_err(fail)?;
    story.carry(alice, &added.sealed, &[bob, carol])?;
    let at_carol = carol.collectives().get(founded.id).map_err(fail)?;
    let bob_at_carol = carol.comrades().find("Bob").map_err(fail)?;
    let by = bob_at_carol
        .introduced
        .as_ref()
        .map(|i| i.by_name.as_str())
        .unwrap_or("?");
    println!(
        "Carol's phone holds the same collective: {} members, {} steward. She had never met Bob: \
         his card came with her welcome, introduced by {by}, not verified until they compare \
         safety numbers.",
        at_carol.members, at_carol.stewards
    );

    story.step("They accept the agreements; who has not is only ever a count");
    let accepted = bob
        .collectives()
        .accept_agreements(founded.id)
        .map_err(fail)?;
    story.carry(bob, &accepted.sealed, &[alice, carol])?;
    let waiting = |v: &Vault| -> CliResult<u32> {
        let c = v.collectives().get(founded.id).map_err(fail)?;
        Ok(c.agreements.map_or(0, |a| a.not_yet_accepted))
    };
    println!("Bob accepts: {} not yet accepted.", waiting(alice)?);
    let accepted = carol
        .collectives()
        .accept_agreements(founded.id)
        .map_err(fail)?;
    story.carry(carol, &accepted.sealed, &[alice, bob])?;
    println!(
        "Carol accepts: {} not yet accepted, on every phone.",
        waiting(bob)?
    );
    let review_on = (chrono::Utc::now() + chrono::Duration::days(182)).date_naive();
    let settings = tend_core::collective::Settings {
        review_agreements_on: Some(review_on),
        ..Default::default()
    };
    let set = alice
        .collectives()
        .set_settings(founded.id, &settings)
        .map_err(fail)?;
    story.carry(alice, &set.sealed, &[bob, carol])?;
    let reminded = carol
        .gatherings()
        .next_reminders(chrono::Utc::now(), 5)
        .map_err(fail)?
        .into_iter()
        .filter(|r| r.collective == Some(founded.id))
        .count();
    println!(
        "Alice sets {review_on} to review them together: Carol's phone holds {reminded} reminders for it, a week before and on the day."
    );

    story.step("Dana, who may join, gets a visitor pass from Alice");
    let dana = story.member(dir, "Dana")?;
    let pass = alice
        .collectives()
        .issue_pass(founded.id, chrono::Duration::days(30))
        .map_err(fail)?;
    println!(
        "The pass is signed by Alice and good for one visitor for 30 days ({} characters, a QR code). It holds no secret.",
        pass.text.len()
    );
    let joined = dana
        .collectives()
        .join_with_pass(&pass.text)
        .map_err(fail)?;
    let opened = story.carry(&dana, &[joined.sealed], &[alice])?;
    story.carry_replies(alice, &opened, &[&dana])?;
    let visit = dana
        .collectives()
        .visits()
        .map_err(fail)?
        .pop()
        .ok_or("Dana's visit is missing")?;
    println!(
        "Dana's phone shows {}, where {} invited her, and its agreements ({} lines). \
         It never shows who the members are: she is sent the collective's face, nothing else.",
        visit.name,
        visit.host,
        visit.agreements.as_deref().unwrap_or("").lines().count()
    );
    Ok((founded.id, dana))
}

/// Dana came to the gathering; two members vouch for her and she is one.
fn dana_joins(
    story: &mut Story,
    (alice, bob, carol): (&Vault, &Vault, &Vault),
    dana: &Vault,
    collective: CollectiveId,
) -> CliResult {
    story.step("Dana came to the gathering; Bob and Carol vouch for her");
    let needed = tend_core::collective::vouches_needed(3);
    println!(
        "They met her there and scanned her card. {needed} vouches from members make a visitor a member \
         (half the members, at most 3); only the stewards learn who vouched."
    );
    let card = dana.comrades().my_card().map_err(fail)?;
    for (voucher, others) in [(bob, [alice, carol]), (carol, [alice, bob])] {
        let id = voucher
            .comrades()
            .add(&card, None)
            .map_err(fail)?
            .comrade()
            .id;
        let sealed = voucher.collectives().vouch(collective, id).map_err(fail)?;
        let opened = story.carry(voucher, &sealed, &[alice])?;
        story.carry_replies(alice, &opened, &[others[1], dana, voucher])?;
        if let Some(visit) = dana.collectives().visits().map_err(fail)?.pop() {
            println!(
                "Dana's phone: {} of {} vouches. Not who.",
                visit.vouches.unwrap_or(0),
                visit.vouches_needed.unwrap_or(needed)
            );
        }
    }
    let at_dana = dana.collectives().get(collective).map_err(fail)?;
    println!(
        "Dana is a member: Alice's vault, a steward's, added her once the vouches were enough. \
         Her phone holds {}, {} members, and Bob's and Carol's cards, introduced.",
        at_dana.name, at_dana.members
    );
    Ok(())
}

/// What every member's outbox holds now.
fn outboxes(vaults: &[&Vault]) -> CliResult<BTreeSet<MessageId>> {
    let mut ids = BTreeSet::new();
    for v in vaults {
        ids.extend(
            v.envelopes()
                .outbox()
                .map_err(fail)?
                .into_iter()
                .map(|o| o.sealed.message_id),
        );
    }
    Ok(ids)
}

/// Alice takes the collective's pulse: four private answers, totals only.
fn pulse(story: &mut Story, members: [&Vault; 4], collective: CollectiveId) -> CliResult {
    use tend_core::pulse::{Capacity, CheckIn, PulseAnswer, PulseMood, PulseState};
    story.step("The collective's pulse: four private answers, and only the totals anywhere");
    let [alice, bob, carol, dana] = members;
    let before = outboxes(&members)?;
    let started = alice.pulses().start(collective, None).map_err(fail)?;
    let id = started.pulse.id;
    story.settle(&members, &before)?;
    let talliers = members
        .iter()
        .filter(|v| v.pulses().get(id).is_ok_and(|p| p.i_tally))
        .count();
    let newest = alice
        .journal()
        .list(&Default::default(), 1, None)
        .map_err(fail)?;
    let day = newest
        .entries
        .first()
        .map(|e| e.local_date())
        .ok_or("no entry")?;
    let alice_at_bob = bob.comrades().find("Alice").map_err(fail)?.id;
    let answers = [
        (alice, Capacity::Green, PulseMood::FromJournal { day }, None),
        (
            bob,
            Capacity::Red,
            PulseMood::Given { value: 2 },
            Some(CheckIn {
                comrade: alice_at_bob,
                note: Some("Could we talk after the gathering?".into()),
            }),
        ),
        (carol, Capacity::Yellow, PulseMood::Given { value: 3 }, None),
        (dana, Capacity::Green, PulseMood::Given { value: 4 }, None),
    ];
    let before = outboxes(&members)?;
    for (vault, capacity, mood, check_in) in answers {
        let answer = PulseAnswer {
            capacity,
            mood,
            check_in,
        };
        vault.pulses().answer(id, &answer).map_err(fail)?;
    }
    println!(
        "Alice started it; each answer was split into {talliers} random shares that add up to it, \
         one sealed to each of {talliers} talliers drawn from the members. Alice's mood came \
         from her journal's newest day; the entries stayed on her phone. Bob answered red \
         and asked Alice, privately, to check in."
    );
    story.settle(&members, &before)?;
    let shown = dana.pulses().get(id).map_err(fail)?;
    let PulseState::Shown { totals } = &shown.state else {
        return Err(format!("the pulse was not counted: {:?}", shown.state));
    };
    let mood = totals
        .mean_mood
        .map_or("hidden".to_owned(), |m| format!("{m:.1}"));
    println!(
        "Every phone shows the same totals, and no phone holds anyone's answer: {} green, \
         {} yellow, {} red, mean mood {mood}.",
        totals.green, totals.yellow, totals.red
    );
    let asked = alice
        .envelopes()
        .inbox(Some(tend_core::kinds::PULSE_CHECK_IN))
        .map_err(fail)?;
    println!(
        "Alice's inbox: {} check-in asked by Bob, which no one else received.",
        asked.len()
    );
    let all = carol.pulses().list(collective).map_err(fail)?;
    let name = carol.collectives().get(collective).map_err(fail)?.name;
    println!("{}", crate::pulse_cmd::history(&name, &all));
    Ok(())
}

/// The group's monthly restorative gathering and the reminders it sets.
fn monthly_gathering(
    story: &mut Story,
    alice: &Vault,
    (bob, carol, dana): (&Vault, &Vault, &Vault),
    collective: CollectiveId,
    dir: &std::path::Path,
) -> CliResult {
    story.step("Alice sets up the monthly restorative gathering");
    let zone = "America/Chicago";
    let now = chrono::Utc::now();
    let today = now.with_timezone(&chrono_tz::America::Chicago).date_naive();
    let gathering = alice
        .gatherings()
        .add(NewGathering::monthly_restorative(
            today,
            zone,
            "Community room, 2nd floor",
        ))
        .map_err(fail)?;
    println!(
        "First Saturday of each month, 18:00 {zone}, two hours; reminders a week and a day before.\n  “{}”",
        gathering.description
    );
    let within_a_year = alice
        .gatherings()
        .occurrences(now, now + chrono::Duration::days(366))
        .map_err(fail)?;
    let show = |o: &tend_core::gatherings::Occurrence| {
        println!(
            "  {}  ({} UTC)",
            o.starts_at
                .with_timezone(&chrono_tz::America::Chicago)
                .format("%a %Y-%m-%d %H:%M %Z"),
            o.starts_at.format("%H:%M")
        )
    };
    println!("The next three:");
    within_a_year.iter().take(3).for_each(show);
    println!("Six months on, the clocks have changed; the gathering has not:");
    within_a_year.iter().skip(6).take(1).for_each(show);
    println!("The reminders her phone will schedule:");
    for r in alice.gatherings().next_reminders(now, 4).map_err(fail)? {
        println!(
            "  {}  for {}",
            r.fires_at
                .with_timezone(&chrono_tz::America::Chicago)
                .format("%a %Y-%m-%d %H:%M"),
            r.starts_at
                .with_timezone(&chrono_tz::America::Chicago)
                .format("%a %Y-%m-%d")
        );
    }
    let ics_path = dir.join("gatherings.ics");
    let ics = alice
        .gatherings()
        .export_ics(Some(gathering.id))
        .map_err(fail)?;
    crate::files::write_bytes(&ics_path, ics.as_bytes())?;
    let shown: Vec<&str> = ics
        .lines()
        .filter(|l| {
            l.starts_with("DTSTART;") || l.starts_with("RRULE:") || l.starts_with("TRIGGER:")
        })
        .collect();
    println!(
        "Exported for any calendar app ({} bytes, with VTIMEZONE and alarms):\n  {}",
        ics.len(),
        shown.join("\n  ")
    );

    story.step("It belongs to the collective, and welcomes visitors; Bob and Dana answer");
    let invite = alice
        .gatherings()
        .invite_collective(gathering.id, collective, true)
        .map_err(fail)?;
    story.carry(alice, &invite, &[bob, carol, dana])?;
    let copy = bob
        .gatherings()
        .list()
        .map_err(fail)?
        .pop()
        .ok_or("Bob did not get the gathering")?;
    let first = within_a_year.first().ok_or("no occurrence ahead")?;
    println!(
        "Bob's phone now holds “{}”, organised by {}, with the same reminders.",
        copy.title,
        copy.organiser.as_deref().unwrap_or("?")
    );
    bob.gatherings()
        .rsvp(
            copy.id,
            first.original_start,
            Some(Rsvp::Going),
            Some("bringing: a sketchbook"),
        )
        .map_err(fail)?;
    let answer = bob
        .envelopes()
        .outbox()
        .map_err(fail)?
        .into_iter()
        .find(|o| o.kind == tend_core::kinds::GATHERING_RSVP)
        .ok_or("Bob's answer was not sealed")?;
    let mut opened = story.carry(bob, &[answer.sealed], &[alice])?;
    let visiting = dana
        .gatherings()
        .list()
        .map_err(fail)?
        .pop()
        .ok_or("Dana did not get the gathering")?;
    println!(
        "Dana, a visitor, got it from Alice, her host: when, where, how it goes, and totals. \
         Never who is invited, never who answered."
    );
    dana.gatherings()
        .rsvp(visiting.id, first.original_start, Some(Rsvp::Going), None)
        .map_err(fail)?;
    let answer = dana
        .envelopes()
        .outbox()
        .map_err(fail)?
        .into_iter()
        .find(|o| o.kind == tend_core::kinds::GATHERING_RSVP)
        .ok_or("Dana's answer was not sealed")?;
    opened.extend(story.carry(dana, &[answer.sealed], &[alice])?);
    let coming = alice
        .gatherings()
        .attendees(gathering.id, first.original_start)
        .map_err(fail)?;
    println!(
        "Answers go to Alice alone (a visitor's through her host); Bob's note stays on his phone. \
         Alice sees: {}.",
        coming
            .iter()
            .map(|a| match a.visitor {
                true => format!("{} (visiting)", a.name.as_deref().unwrap_or("?")),
                false => a.name.clone().unwrap_or_else(|| "me".into()),
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    story.carry_replies(alice, &opened, &[bob, carol, dana])?;
    let totals = bob
        .gatherings()
        .occurrences(first.starts_at, first.ends_at)
        .map_err(fail)?
        .first()
        .and_then(|o| o.totals)
        .unwrap_or_default();
    println!(
        "Everyone invited sees totals only: {} going, {} maybe. Nobody sees who is not coming.",
        totals.going, totals.maybe
    );
    greeting_round(
        story,
        alice,
        bob,
        (gathering.id, copy.id),
        first.original_start,
    )
}

/// The round that opens the gathering: Bob's line and Alice's, unreadable
/// until it opens, then in the same order on both phones.
fn greeting_round(
    story: &mut Story,
    alice: &Vault,
    bob: &Vault,
    (at_alice, at_bob): (
        tend_core::gatherings::GatheringId,
        tend_core::gatherings::GatheringId,
    ),
    start: chrono::NaiveDateTime,
) -> CliResult {
    use tend_core::gatherings::Said;
    story.step("The greeting round: each line sealed until it opens, in an order nobody chose");
    let newest = |vault: &Vault, kind: &str| -> CliResult<Sealed> {
        vault
            .envelopes()
            .outbox()
            .map_err(fail)?
            .into_iter()
            .find(|o| o.kind == kind)
            .map(|o| o.sealed)
            .ok_or_else(|| format!("no {kind} was sealed"))
    };
    bob.gatherings()
        .write_round_line(at_bob, start, Some("I'll sketch the heron"))
        .map_err(fail)?;
    let line = newest(bob, tend_core::kinds::GATHERING_ROUND_LINE)?;
    story.carry(bob, &[line], &[alice])?;
    alice
        .gatherings()
        .write_round_line(at_alice, start, Some("Reading poems by the window"))
        .map_err(fail)?;
    let before = alice.gatherings().round(at_alice, start).map_err(fail)?;
    println!(
        "Before it opens, Alice's phone holds {} lines and can read only her own: each is \
         sealed under a key its writer keeps, with a commitment to it.",
        before.written
    );
    alice
        .gatherings()
        .open_round(at_alice, start)
        .map_err(fail)?;
    let open = newest(alice, tend_core::kinds::GATHERING_ROUND_OPEN)?;
    let opened = story.carry(alice, &[open], &[bob])?;
    story.carry_replies(bob, &opened, &[alice])?;
    let round = alice.gatherings().round(at_alice, start).map_err(fail)?;
    let bobs = bob.gatherings().round(at_bob, start).map_err(fail)?;
    if bobs.check != round.check {
        return Err("the two phones hold different rounds".into());
    }
    let lines: Vec<String> = round
        .lines
        .iter()
        .map(|l| {
            let who = l.name.as_deref().unwrap_or("Alice");
            match &l.said {
                Said::Line { text } => format!("{who}: “{text}”"),
                Said::Pass => format!("{who} passes"),
                Said::Unreleased => format!("{who}: not released"),
            }
        })
        .collect();
    println!(
        "Alice opened it; Bob's phone released his key. Both phones show, in this order, with \
         check {}: {}.",
        round.check.as_deref().unwrap_or("?"),
        lines.join("; ")
    );
    Ok(())
}
