//! The `tend` command, run as a member would run it.

use std::path::Path;
use std::process::{Command, Output};

const PASS: &str = "a long vault passphrase";

fn tend(vault: &Path, args: &[&str]) -> Output {
    tend_with(vault, args, &[("TEND_PASSPHRASE", PASS)])
}

fn tend_with(vault: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tend"))
        .arg("--vault")
        .arg(vault)
        .args(args)
        .env("TEND_BACKUP_PASSPHRASE", "backup words")
        .env_remove("TEND_VAULT")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(out: Output) -> serde_json::Value {
    serde_json::from_str(&ok(out)).unwrap()
}

#[test]
fn a_member_writes_searches_reflects_exports_and_wipes() {
    let tmp = tempfile::tempdir().unwrap();
    let v = tmp.path().join("vault");
    ok(tend(&v, &["init", "--name", "Alice"]));
    for (mood, activity, text) in [
        ("4", "walk", "Saw a kingfisher by the lock"),
        ("2", "work", "Tired"),
    ] {
        ok(tend(
            &v,
            &[
                "journal",
                "add",
                "--mood",
                mood,
                "--activity",
                activity,
                "--feeling",
                "calm",
                text,
            ],
        ));
    }
    let list = json(tend(&v, &["--json", "journal", "list"]));
    assert_eq!(list["entries"].as_array().unwrap().len(), 2);
    assert_eq!(list["entries"][0]["body"], "Tired");

    let hits = json(tend(&v, &["--json", "journal", "search", "kingfisher"]));
    assert_eq!(hits.as_array().unwrap().len(), 1);
    assert!(ok(tend(&v, &["journal", "search", "kingf"])).contains("[kingfisher]"));

    let id = list["entries"][0]["id"].as_str().unwrap().to_owned();
    let edited = json(tend(
        &v,
        &["--json", "journal", "edit", &id, "--text", "Rested now"],
    ));
    assert_eq!(edited["body"], "Rested now");
    assert_eq!(edited["mood"], 2, "what was not given stays");
    assert_eq!(edited["activities"][0], "work");

    let insights = json(tend(&v, &["--json", "journal", "insights"]));
    assert_eq!(insights["counts"]["entries"], 2);

    let sealed = tmp.path().join("backup.age");
    ok(tend(&v, &["export", "--out", sealed.to_str().unwrap()]));
    assert!(
        std::fs::read(&sealed)
            .unwrap()
            .starts_with(b"age-encryption.org/v1")
    );
    let plain = tmp.path().join("backup.json");
    ok(tend(
        &v,
        &["export", "--plaintext", "--out", plain.to_str().unwrap()],
    ));
    assert!(
        std::fs::read_to_string(&plain)
            .unwrap()
            .contains("kingfisher")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&plain).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "a plaintext export is private");
    }
    // Exporting again replaces the file whole; an export that cannot be
    // written leaves nothing behind.
    let again = ok(tend(&v, &["export", "--out", sealed.to_str().unwrap()]));
    assert!(
        again.contains("replaced the file that was there"),
        "{again}"
    );
    assert!(
        std::fs::read(&sealed)
            .unwrap()
            .starts_with(b"age-encryption.org/v1")
    );
    let nowhere = tmp.path().join("no-such-folder").join("backup.age");
    assert!(
        !tend(&v, &["export", "--out", nowhere.to_str().unwrap()])
            .status
            .success()
    );
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file is left");

    let other = tmp.path().join("other");
    ok(tend(&other, &["init", "--name", "Alice again"]));
    let summary = json(tend(
        &other,
        &["--json", "import", sealed.to_str().unwrap()],
    ));
    assert_eq!(summary["added"], 2);

    let refused = tend(&v, &["wipe"]);
    assert!(!refused.status.success());
    ok(tend(&v, &["wipe", "--yes"]));
    assert_eq!(std::fs::read_dir(&v).unwrap().count(), 0);
}

#[test]
fn errors_are_one_clear_line_and_a_failing_exit() {
    let tmp = tempfile::tempdir().unwrap();
    let v = tmp.path().join("vault");
    let missing = tend(&v, &["journal", "list"]);
    assert!(!missing.status.success());
    ok(tend(&v, &["init", "--name", "Alice"]));
    let wrong = tend_with(&v, &["journal", "list"], &[("TEND_PASSPHRASE", "not it")]);
    assert_eq!(wrong.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&wrong.stderr),
        "tend: wrong key or passphrase\n"
    );
    let bad_mood = tend(&v, &["journal", "add", "--mood", "9", "x"]);
    assert_eq!(
        String::from_utf8_lossy(&bad_mood.stderr),
        "tend: mood 9 is not on the scale of 5 steps\n"
    );
}

#[test]
fn sqlcipher_stays_silent_about_a_foreign_database() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    ok(tend(&a, &["init", "--name", "A"]));
    ok(tend(&b, &["init", "--name", "B"]));
    std::fs::copy(b.join("vault.db"), a.join("vault.db")).unwrap();
    let out = tend(&a, &["journal", "list"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr,
        "tend: the vault database is damaged or is not a Tend vault\n"
    );
}

#[test]
fn a_daylio_file_with_a_bad_row_names_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let v = tmp.path().join("vault");
    ok(tend(&v, &["init", "--name", "A"]));
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../core/tests/fixtures/daylio-bad-date.csv"
    );
    let out = tend(
        &v,
        &["journal", "import-daylio", "--tz", "Europe/Berlin", file],
    );
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("tend: import, line 3:"));
    let good = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../core/tests/fixtures/daylio-v2.csv"
    );
    let summary = json(tend(
        &v,
        &[
            "--json",
            "journal",
            "import-daylio",
            "--tz",
            "Europe/Berlin",
            good,
        ],
    ));
    assert_eq!(summary["added"], 5);
}

#[test]
fn passphrase_change_takes_effect() {
    let tmp = tempfile::tempdir().unwrap();
    let v = tmp.path().join("vault");
    ok(tend(&v, &["init", "--name", "A"]));
    ok(tend_with(
        &v,
        &["passphrase", "change"],
        &[
            ("TEND_PASSPHRASE", PASS),
            ("TEND_NEW_PASSPHRASE", "the new one"),
        ],
    ));
    assert!(!tend(&v, &["journal", "list"]).status.success());
    ok(tend_with(
        &v,
        &["journal", "list"],
        &[("TEND_PASSPHRASE", "the new one")],
    ));
}

#[test]
fn a_duress_passphrase_set_on_the_command_line_leaves_an_empty_vault() {
    let tmp = tempfile::tempdir().unwrap();
    let v = tmp.path().join("vault");
    ok(tend(&v, &["init", "--name", "A"]));
    ok(tend(&v, &["journal", "add", "the words under duress"]));
    let phrase = "a second phrase for bad days";
    let duress = [
        ("TEND_PASSPHRASE", PASS),
        ("TEND_DURESS_PASSPHRASE", phrase),
    ];
    let weak = tend_with(
        &v,
        &["passphrase", "duress", "set"],
        &[
            ("TEND_PASSPHRASE", PASS),
            ("TEND_DURESS_PASSPHRASE", "123456"),
        ],
    );
    assert!(!weak.status.success());
    ok(tend_with(&v, &["passphrase", "duress", "set"], &duress));
    ok(tend(&v, &["passphrase", "duress", "clear"]));
    ok(tend_with(&v, &["passphrase", "duress", "set"], &duress));
    let forced = ok(tend_with(
        &v,
        &["journal", "list"],
        &[("TEND_PASSPHRASE", phrase)],
    ));
    assert!(!forced.contains("duress"), "{forced}");
    assert!(!tend(&v, &["journal", "list"]).status.success());
}

#[test]
fn a_weak_passphrase_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let v = tmp.path().join("vault");
    for weak in ["123456", "sunshine", "Maria"] {
        let refused = tend_with(&v, &["init", "--name", "A"], &[("TEND_PASSPHRASE", weak)]);
        let said = String::from_utf8_lossy(&refused.stderr).into_owned();
        assert!(!refused.status.success());
        assert!(said.contains("too easy to guess"), "{said}");
        assert!(said.contains("tend passphrase generate"), "{said}");
        assert!(
            !said.contains(weak),
            "the passphrase is never echoed: {said}"
        );
        assert!(!v.exists() || std::fs::read_dir(&v).unwrap().next().is_none());
    }
    let generated = json(tend(&v, &["--json", "passphrase", "generate"]));
    let words = generated["passphrase"].as_str().unwrap().to_owned();
    assert_eq!(words.split(' ').count(), 7);
    ok(tend_with(
        &v,
        &["init", "--name", "A"],
        &[("TEND_PASSPHRASE", &words)],
    ));
    let weaker = tend_with(
        &v,
        &["passphrase", "change"],
        &[
            ("TEND_PASSPHRASE", &words),
            ("TEND_NEW_PASSPHRASE", "letmein"),
        ],
    );
    assert!(String::from_utf8_lossy(&weaker.stderr).contains("too easy to guess"));
    ok(tend_with(
        &v,
        &["journal", "list"],
        &[("TEND_PASSPHRASE", &words)],
    ));
}

#[test]
fn the_demo_tells_the_whole_story() {
    let out = ok(Command::new(env!("CARGO_BIN_EXE_tend"))
        .arg("demo")
        .output()
        .unwrap());
    for step in [
        "makes her vault",
        "searches",
        "Insights",
        "none is there",
        "Restored",
        "swap comrade cards",
        "The same 60 digits",
        "From Alice (verified)",
        "A flipped bit: refused",
        "forwarded to Carol: refused",
        "The same envelope again: refused",
        "asks her circle for a ride",
        "[today, covered, thank you]",
        "Both phones say fulfilled",
        "founds the collective",
        "introduced by Alice",
        "0 not yet accepted, on every phone",
        "Carol's phone holds 2 reminders for it",
        "gets a visitor pass",
        "she is sent the collective's face, nothing else",
        "Dana's phone: 1 of 2 vouches",
        "Dana is a member",
        "Every phone shows the same totals, and no phone holds anyone's answer: 2 green, 1 yellow, 1 red",
        "1 check-in asked by Bob",
        "monthly restorative gathering",
        "the gathering has not",
        "reminders her phone will schedule",
        "RRULE:FREQ=MONTHLY;BYDAY=1SA",
        "Alice sees: Bob, Dana (visiting).",
        "Dana, a visitor, got it from Alice, her host",
        "2 going, 0 maybe",
        "Bob's phone released his key",
        "becomes her new phone",
        "opens on the new phone, from Bob (verified)",
        "3 of 3 confirmed they keep theirs",
        "One share opened nothing; the two rebuilt the key",
        "Carol moves phone to phone",
        "is read-only now: a new entry there is refused",
        "opens on Carol's new phone, from Bob",
        "Panic wipe",
        "tend demo --relay",
    ] {
        assert!(out.contains(step), "missing step {step:?}");
    }
}

#[test]
fn two_members_swap_cards_share_an_entry_and_refuse_a_replay() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    ok(tend(&a, &["init", "--name", "Alice"]));
    ok(tend(&b, &["init", "--name", "Bob"]));
    let card_a = json(tend(&a, &["--json", "card"]))["card"]
        .as_str()
        .unwrap()
        .to_owned();
    let card_b = ok(tend(&b, &["card"])).trim().to_owned();
    assert!(ok(tend(&a, &["card", "--qr"])).contains('█'));
    ok(tend(&a, &["comrades", "add", &card_b]));
    let added = json(tend(
        &b,
        &["--json", "comrades", "add", &card_a, "--name", "Ali"],
    ));
    assert_eq!(added["card_name"], "Alice");
    let number_a = json(tend(&a, &["--json", "safety-number", "bob"]))["safety_number"].clone();
    let number_b = json(tend(&b, &["--json", "safety-number", "Ali"]))["safety_number"].clone();
    assert_eq!(number_a, number_b);
    ok(tend(&a, &["comrades", "verify", "Bob"]));
    ok(tend(&a, &["circles", "create", "Wellbeing circle"]));
    ok(tend(&a, &["circles", "add", "Wellbeing circle", "Bob"]));

    let id = json(tend(
        &a,
        &["--json", "journal", "add", "a heron by the lock"],
    ))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let envelope = tmp.path().join("entry.age");
    let env_path = envelope.to_str().unwrap();
    ok(tend(
        &a,
        &[
            "share",
            "entry",
            &id,
            "--to",
            "Wellbeing circle",
            "--note",
            "for you",
            "--out",
            env_path,
        ],
    ));
    assert!(
        std::fs::read_to_string(&envelope)
            .unwrap()
            .starts_with("-----BEGIN AGE ENCRYPTED FILE-----")
    );
    let opened = json(tend(&b, &["--json", "inbox", "open", env_path]));
    assert_eq!(opened["from"], "Ali");
    assert_eq!(opened["kind"], "journal.entry");
    assert!(ok(tend(&b, &["inbox", "list"])).contains("a heron by the lock"));

    let again = tend(&b, &["inbox", "open", env_path]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already received"));

    let bad_card = tend(&a, &["comrades", "add", "TEND:AAAA"]);
    assert!(!bad_card.status.success());
    assert!(String::from_utf8_lossy(&bad_card.stderr).contains("comrade card refused"));
    let nobody = tend(&a, &["share", "entry", &id, "--to", "Nobody"]);
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("no comrade or circle called"));
}

#[test]
fn deleting_an_entry_takes_its_copies_and_the_inbox_deletes_and_clears() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = comrades(tmp.path());
    let share = |text: &str, file: &str| {
        let id = json(tend(&a, &["--json", "journal", "add", text]))["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = tmp.path().join(file);
        let path = path.to_str().unwrap();
        ok(tend(
            &a,
            &["share", "entry", &id, "--to", "Bob", "--out", path],
        ));
        ok(tend(&b, &["inbox", "open", path]));
        id
    };
    let first = share("a heron by the lock", "one.age");
    let deleted = ok(tend(&a, &["journal", "delete", &first]));
    assert!(
        deleted.contains("with 1 shared copy of it waiting in your outbox"),
        "{deleted}"
    );

    let listed = json(tend(&b, &["--json", "inbox", "list"]));
    let message = listed[0]["message_id"].as_str().unwrap().to_owned();
    ok(tend(&b, &["inbox", "delete", &message]));
    assert!(ok(tend(&b, &["inbox", "list"])).contains("The inbox is empty."));
    let again = tend(&b, &["inbox", "delete", &message]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("inbox item not found"));

    share("a kingfisher at dusk", "two.age");
    let cleared = ok(tend(&b, &["inbox", "clear-shared", "--older-than", "0m"]));
    assert!(
        cleared.contains("Deleted 1 entry shared with you"),
        "{cleared}"
    );
    assert!(ok(tend(&b, &["inbox", "list"])).contains("The inbox is empty."));
}

#[test]
fn expand_needs_no_vault_and_prints_offsets_or_json() {
    let tmp = tempfile::tempdir().unwrap();
    let nowhere = tmp.path().join("no-vault-here");
    let text = ok(tend(
        &nowhere,
        &[
            "gatherings",
            "expand",
            "--dtstart",
            "2026-12-05T18:00",
            "--tz",
            "America/Chicago",
            "--rrule",
            "FREQ=MONTHLY;BYDAY=1SA",
            "--count",
            "24",
        ],
    ));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 24);
    assert_eq!(lines[0], "2026-12-05T18:00:00-06:00");
    assert_eq!(lines[4], "2027-04-03T18:00:00-05:00");
    let json = json(tend(
        &nowhere,
        &[
            "--json",
            "gatherings",
            "expand",
            "--dtstart",
            "2026-03-07T02:30",
            "--tz",
            "America/Chicago",
            "--rrule",
            "FREQ=DAILY",
            "--count",
            "2",
        ],
    ));
    assert_eq!(json[1], "2026-03-08T03:30:00-05:00");
    assert!(!nowhere.exists());
    let bad = tend(
        &nowhere,
        &[
            "gatherings",
            "expand",
            "--dtstart",
            "2026-12-05T18:00",
            "--tz",
            "Europe/Berlin",
            "--rrule",
            "FREQ=OFTEN",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid recurrence"));
}

/// `tend --json gatherings add` of the monthly restorative gathering from
/// 2030-01-05 in Berlin, and `more`.
fn monthly<'a>(more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--json",
        "gatherings",
        "add",
        "--preset",
        "monthly-restorative",
        "--tz",
        "Europe/Berlin",
        "--start",
        "2030-01-05T18:00",
        "--location",
        "Community room",
    ];
    args.extend_from_slice(more);
    args
}

#[test]
fn a_member_keeps_the_monthly_gathering_and_answers_for_one_evening() {
    let tmp = tempfile::tempdir().unwrap();
    let v = tmp.path().join("vault");
    ok(tend(&v, &["init", "--name", "Alice"]));
    let added = json(tend(&v, &monthly(&[])));
    let id = added["id"].as_str().unwrap().to_owned();
    assert_eq!(added["recurrence"], "FREQ=MONTHLY;BYDAY=1SA");
    assert_eq!(added["reminders"], serde_json::json!(["7d", "1d"]));
    ok(tend(
        &v,
        &[
            "gatherings",
            "rsvp",
            &id,
            "--occurrence",
            "2030-01-05T18:00",
            "going",
            "--note",
            "bringing: watercolours",
        ],
    ));
    ok(tend(
        &v,
        &[
            "gatherings",
            "skip",
            &id,
            "--occurrence",
            "2030-02-02T18:00",
        ],
    ));
    let reminders = json(tend(
        &v,
        &["--json", "gatherings", "reminders", "--next", "4"],
    ));
    let fires: Vec<&str> = reminders
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["fires_at"].as_str().unwrap())
        .collect();
    // January's two, then March's: February is skipped.
    assert_eq!(
        fires,
        [
            "2029-12-29T17:00:00+00:00",
            "2030-01-04T17:00:00+00:00",
            "2030-02-23T17:00:00+00:00",
            "2030-03-01T17:00:00+00:00"
        ]
    );
    let ics = tmp.path().join("gatherings.ics");
    ok(tend(
        &v,
        &[
            "gatherings",
            "export-ics",
            &id,
            "--out",
            ics.to_str().unwrap(),
        ],
    ));
    let w = tmp.path().join("other");
    ok(tend(&w, &["init", "--name", "Bob"]));
    assert!(
        ok(tend(
            &w,
            &["gatherings", "import-ics", ics.to_str().unwrap()]
        ))
        .contains("1 added")
    );
    let again = json(tend(
        &w,
        &["--json", "gatherings", "reminders", "--next", "4"],
    ));
    assert_eq!(
        again[3]["fires_at"], "2030-03-01T17:00:00+00:00",
        "the skip travelled too"
    );
    let bad = tend(
        &v,
        &[
            "gatherings",
            "rsvp",
            &id,
            "--occurrence",
            "2030-01-06T18:00",
            "maybe",
        ],
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("occurrence not found"));
}

/// Alice's and Bob's vaults in `dir`, each with the other's card.
fn comrades(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (a, b) = (dir.join("a"), dir.join("b"));
    ok(tend(&a, &["init", "--name", "Alice"]));
    ok(tend(&b, &["init", "--name", "Bob"]));
    let card_a = ok(tend(&a, &["card"])).trim().to_owned();
    let card_b = ok(tend(&b, &["card"])).trim().to_owned();
    ok(tend(&a, &["comrades", "add", &card_b]));
    ok(tend(&b, &["comrades", "add", &card_a]));
    (a, b)
}

/// Carol, in `dir/c`, and Alice (in `a`) swap cards.
fn carol_meets(a: &Path, dir: &Path) -> std::path::PathBuf {
    let c = dir.join("c");
    ok(tend(&c, &["init", "--name", "Carol"]));
    let card_a = ok(tend(a, &["card"])).trim().to_owned();
    let card_c = ok(tend(&c, &["card"])).trim().to_owned();
    ok(tend(a, &["comrades", "add", &card_c]));
    ok(tend(&c, &["comrades", "add", &card_a]));
    c
}

/// The armored envelopes a command wrote into `dir`, by file.
fn written(out: Output) -> Vec<String> {
    json(out)
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["file"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_collective_is_founded_joined_and_agreed_on_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = comrades(tmp.path());
    let c = carol_meets(&a, tmp.path());
    let mail = tmp.path().join("mail");
    let mail = mail.to_str().unwrap();
    let open = |vault: &Path, files: &[String]| {
        for f in files {
            ok(tend(vault, &["inbox", "open", f]));
        }
    };

    let founded = json(tend(
        &a,
        &["--json", "collective", "create", "Riverside Care"],
    ));
    assert_eq!(
        founded["agreements"]["version"], 1,
        "the starter agreements"
    );
    let to_bob = written(tend(
        &a,
        &[
            "--json",
            "collective",
            "add",
            "riverside care",
            "Bob",
            "--out",
            mail,
        ],
    ));
    open(&b, &to_bob);
    // Carol's addition: one envelope to Bob, her welcome to her.
    let both = written(tend(
        &a,
        &[
            "--json",
            "collective",
            "add",
            "Riverside Care",
            "Carol",
            "--out",
            mail,
        ],
    ));
    assert_eq!(both.len(), 2);
    for f in &both {
        for v in [&b, &c] {
            tend(v, &["inbox", "open", f]); // each opens the one sealed to them
        }
    }
    let members = json(tend(
        &c,
        &["--json", "collective", "members", "Riverside Care"],
    ));
    let names: Vec<&str> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Alice", "Bob", "you"]);
    assert_eq!(
        members[1]["comrade"], true,
        "Bob's card came with the welcome"
    );
    assert_eq!(members[1]["verified"], false);
    let listed = ok(tend(&c, &["comrades", "list"]));
    assert!(listed.contains("introduced by Alice"), "{listed}");

    let refused = tend(&b, &["collective", "add", "Riverside Care", "Alice"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("rules refuse"));

    let accepted = written(tend(
        &b,
        &[
            "--json",
            "collective",
            "agreements",
            "accept",
            "Riverside Care",
            "--out",
            mail,
        ],
    ));
    for v in [&a, &c] {
        open(v, &accepted);
    }
    let shown = json(tend(
        &c,
        &[
            "--json",
            "collective",
            "agreements",
            "show",
            "Riverside Care",
        ],
    ));
    assert_eq!(shown["not_yet_accepted"], 1, "only Carol, shown as a count");
    assert_eq!(shown["i_accepted"], false);
    let text = ok(tend(
        &c,
        &["collective", "agreements", "show", "Riverside Care"],
    ));
    assert!(text.contains("greeting round"), "{text}");

    // Alice sets a day to review them: Carol's reminders hold it.
    let day = (chrono::Utc::now() + chrono::Duration::days(60))
        .date_naive()
        .to_string();
    let set = written(tend(
        &a,
        &[
            "--json",
            "collective",
            "settings",
            "Riverside Care",
            "--review-on",
            &day,
            "--gathering-required",
            "true",
            "--relay",
            "wss://relay.example.org",
            "--out",
            mail,
        ],
    ));
    open(&c, &set);
    let shown = json(tend(
        &c,
        &["--json", "collective", "show", "Riverside Care"],
    ));
    assert_eq!(shown["settings"]["review_agreements_on"], day.as_str());
    assert_eq!(shown["settings"]["gathering_required"], true);
    assert_eq!(
        shown["settings"]["relays"],
        serde_json::json!(["wss://relay.example.org"])
    );
    let used = json(tend(
        &c,
        &["--json", "collective", "use-relays", "Riverside Care"],
    ));
    assert_eq!(
        used["added"],
        serde_json::json!(["wss://relay.example.org"])
    );
    let reminders = json(tend(
        &c,
        &["--json", "gatherings", "reminders", "--next", "5"],
    ));
    assert_eq!(
        reminders[0]["title"], "Review the agreements of Riverside Care",
        "{reminders}"
    );
    let refused = tend(
        &c,
        &["collective", "settings", "Riverside Care", "--no-review"],
    );
    assert!(!refused.status.success(), "a steward's to change");
}

#[test]
fn a_visitor_joins_with_a_pass_and_sees_only_the_face() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = comrades(tmp.path());
    let d = tmp.path().join("d");
    ok(tend(&d, &["init", "--name", "Dana"]));
    let mail = tmp.path().join("mail");
    let mail = mail.to_str().unwrap();
    ok(tend(&a, &["collective", "create", "Riverside Care"]));
    for f in written(tend(
        &a,
        &[
            "--json",
            "collective",
            "add",
            "Riverside Care",
            "Bob",
            "--out",
            mail,
        ],
    )) {
        ok(tend(&b, &["inbox", "open", &f]));
    }
    let pass = json(tend(
        &a,
        &[
            "--json",
            "visitor",
            "pass",
            "Riverside Care",
            "--for",
            "30d",
        ],
    ));
    let pass = pass["pass"].as_str().unwrap().to_owned();
    assert!(pass.starts_with("TENDPASS:"));
    let qr = ok(tend(&a, &["visitor", "pass", "Riverside Care", "--qr"]));
    assert!(qr.contains('█'), "a QR code");
    let visit = written(tend(
        &d,
        &["--json", "visitor", "join", &pass, "--out", mail],
    ));
    // Alice's vault takes the one envelope it opens from a stranger, and
    // seals the collective's face in answer.
    let answers = tmp.path().join("answers");
    let opened = ok(tend(
        &a,
        &[
            "inbox",
            "open",
            &visit[0],
            "--out",
            answers.to_str().unwrap(),
        ],
    ));
    assert!(
        opened.contains("Opened a collective.visit from Dana"),
        "{opened}"
    );
    let listed = ok(tend(&a, &["comrades", "list"]));
    assert!(
        listed.contains("visiting Riverside Care with your pass"),
        "{listed}"
    );
    for f in std::fs::read_dir(&answers).unwrap() {
        let f = f.unwrap().path();
        ok(tend(&d, &["inbox", "open", f.to_str().unwrap()]));
    }
    let shown = json(tend(&d, &["--json", "visitor", "show"]));
    assert_eq!(shown[0]["name"], "Riverside Care");
    assert_eq!(shown[0]["host"], "Alice");
    assert!(
        shown[0]["agreements"]
            .as_str()
            .unwrap()
            .contains("greeting round")
    );
    let text = ok(tend(&d, &["visitor", "show"]));
    assert!(text.contains("where Alice invited you"), "{text}");
    // She is no member: the collective itself is not hers to show.
    let refused = tend(&d, &["collective", "members", "Riverside Care"]);
    assert!(!refused.status.success());
    // The same pass a second time, in another vault, lets nobody in.
    let e = tmp.path().join("e");
    ok(tend(&e, &["init", "--name", "Erin"]));
    let again = written(tend(
        &e,
        &["--json", "visitor", "join", &pass, "--out", mail],
    ));
    let refused = tend(&a, &["inbox", "open", &again[0]]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not among your comrades"));

    // The monthly gathering welcomes visitors: Dana's host sends it, with
    // totals only, and her answer reaches the organiser.
    let sent = written(tend(
        &a,
        &monthly(&[
            "--collective",
            "Riverside Care",
            "--visitors-welcome",
            "--out",
            mail,
        ]),
    ));
    assert_eq!(sent.len(), 2, "Bob's invitation and Dana's copy");
    for f in &sent {
        for v in [&b, &d] {
            tend(v, &["inbox", "open", f]);
        }
    }
    let shown = json(tend(&d, &["--json", "visitor", "show"]));
    let welcoming = &shown[0]["gatherings"][0];
    assert_eq!(welcoming["visitors_welcome"], true);
    assert_eq!(welcoming["location"], "Community room");
    let text = ok(tend(&d, &["visitor", "show"]));
    assert!(text.contains("Gatherings you are welcome at"), "{text}");
    let answer = written(tend(
        &d,
        &[
            "--json",
            "gatherings",
            "rsvp",
            welcoming["id"].as_str().unwrap(),
            "--occurrence",
            "2030-01-05T18:00",
            "going",
            "--out",
            mail,
        ],
    ));
    ok(tend(&a, &["inbox", "open", &answer[0]]));
    let mine = json(tend(&a, &["--json", "gatherings", "list"]));
    let coming = json(tend(
        &a,
        &[
            "--json",
            "gatherings",
            "attendees",
            mine[0]["id"].as_str().unwrap(),
            "--occurrence",
            "2030-01-05T18:00",
        ],
    ));
    assert_eq!(
        coming,
        serde_json::json!([{"name": "Dana", "rsvp": "going", "visitor": true, "host": null}])
    );

    // With two members, one vouch is enough: Alice's, a steward's, counts
    // at once, and Dana is welcomed.
    let welcome = written(tend(
        &a,
        &[
            "--json",
            "collective",
            "vouch",
            "Riverside Care",
            "Dana",
            "--out",
            mail,
        ],
    ));
    for f in &welcome {
        for v in [&b, &d] {
            tend(v, &["inbox", "open", f]);
        }
    }
    let at_dana = json(tend(
        &d,
        &["--json", "collective", "show", "Riverside Care"],
    ));
    assert_eq!(at_dana["i_am_member"], true);
    assert_eq!(at_dana["members"], 3);
    assert_eq!(
        json(tend(&d, &["--json", "visitor", "show"])),
        serde_json::json!([])
    );
}

#[test]
fn a_care_request_goes_from_post_to_thanks_on_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = comrades(tmp.path());
    let mail = tmp.path().join("mail");
    let mail = mail.to_str().unwrap();
    let open = |vault: &Path, files: &[String]| -> String {
        files
            .iter()
            .map(|f| ok(tend(vault, &["inbox", "open", f])))
            .collect()
    };

    let posted = written(tend(
        &a,
        &[
            "--json",
            "care",
            "post",
            "--category",
            "ride",
            "--title",
            "A ride to the clinic",
            "--urgency",
            "today",
            "--expires-in",
            "12h",
            "--location",
            "Eastside",
            "--to",
            "Bob",
            "--out",
            mail,
        ],
    ));
    assert!(open(&b, &posted).contains("Alice asks for a ride: “A ride to the clinic”"));
    let for_me = json(tend(&b, &["--json", "care", "list", "--for-me"]));
    let id = for_me["for_me"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(for_me["for_me"][0]["urgency"], "today");

    let offer = written(tend(
        &b,
        &[
            "--json",
            "care",
            "offer",
            &id,
            "--message",
            "I can drive",
            "--out",
            mail,
        ],
    ));
    open(&a, &offer);
    let mine = json(tend(&a, &["--json", "care", "list", "--mine"]));
    let offer_id = mine["mine"][0]["offers"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(mine["mine"][0]["offers"][0]["from"], "Bob");

    let refused = tend(&b, &["care", "accept", &offer_id]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("only the member who asked"));

    let accepted = written(tend(
        &a,
        &["--json", "care", "accept", &offer_id, "--out", mail],
    ));
    assert_eq!(accepted.len(), 2);
    open(&b, &accepted);
    let commitments = ok(tend(&b, &["care", "list", "--commitments"]));
    assert!(
        commitments.contains("I can help (accepted): “I can drive”"),
        "{commitments}"
    );

    let done = written(tend(&b, &["--json", "care", "fulfil", &id, "--out", mail]));
    open(&a, &done);
    let thanks = written(tend(
        &a,
        &[
            "--json",
            "care",
            "thank",
            &id,
            "--note",
            "Thank you!",
            "--out",
            mail,
        ],
    ));
    open(&b, &thanks);
    let all = ok(tend(&b, &["care", "list"]));
    assert!(all.contains("My commitments: none."), "{all}");
    assert!(ok(tend(&b, &["care", "search", "clinic"])).contains("thanks: “Thank you!”"));

    ok(tend(&a, &["care", "retention", "7"]));
    assert!(ok(tend(&a, &["care", "retention"])).contains("7 days"));
    let bad = tend(
        &a,
        &[
            "care",
            "post",
            "--category",
            "spaceship",
            "--title",
            "x",
            "--to",
            "Bob",
        ],
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid category"));
}

#[test]
fn an_invitee_answers_and_the_organiser_sees_who_is_coming() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = comrades(tmp.path());
    let mail = tmp.path().join("mail");
    let mail = mail.to_str().unwrap();
    let added = json(tend(
        &a,
        &[
            "--json",
            "gatherings",
            "add",
            "--preset",
            "monthly-restorative",
            "--tz",
            "America/Chicago",
            "--start",
            "2027-03-06T18:00",
        ],
    ));
    let id = added["id"].as_str().unwrap().to_owned();
    let invite = written(tend(
        &a,
        &[
            "--json",
            "gatherings",
            "invite",
            &id,
            "--to",
            "Bob",
            "--out",
            mail,
        ],
    ));
    let opened = ok(tend(&b, &["inbox", "open", &invite[0]]));
    let list = ok(tend(&b, &["gatherings", "list"]));
    assert!(list.contains("(organised by Alice)"), "{list}");
    let copy = json(tend(&b, &["--json", "gatherings", "list"]))[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Issue 14: the invitee sees the id to answer with as the invite opens.
    assert!(opened.contains(&copy), "{opened}");
    let refused = tend(
        &b,
        &[
            "gatherings",
            "skip",
            &copy,
            "--occurrence",
            "2027-03-06T18:00",
        ],
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("only the organiser"));

    let answer = written(tend(
        &b,
        &[
            "--json",
            "gatherings",
            "rsvp",
            &copy,
            "--occurrence",
            "2027-03-06T18:00",
            "going",
            "--note",
            "bringing: wool",
            "--out",
            mail,
        ],
    ));
    let opened = tend(&a, &["inbox", "open", &answer[0], "--out", mail]);
    assert!(String::from_utf8_lossy(&opened.stderr).contains("sealed 1 in answer"));
    let coming = ok(tend(
        &a,
        &[
            "gatherings",
            "attendees",
            &id,
            "--occurrence",
            "2027-03-06T18:00",
        ],
    ));
    assert!(coming.contains("Bob"), "{coming}");

    // The greeting round: Bob's line is sealed until Alice opens it.
    let round = |vault: &Path, id: &str, action: &[&str], out: &str| {
        let mut args = vec![
            "--json",
            "gatherings",
            "round",
            id,
            "--occurrence",
            "2027-03-06T18:00",
        ];
        if !out.is_empty() {
            args.extend(["--out", out]);
        }
        args.extend(action);
        tend(vault, &args)
    };
    let line = written(round(&b, &copy, &["write", "I'll sketch the heron"], mail));
    ok(tend(&a, &["inbox", "open", &line[0]]));
    let before = json(round(&a, &id, &["show"], ""));
    assert_eq!(before["open"], false);
    assert_eq!(before["written"], 1);
    assert!(!before.to_string().contains("heron"));
    ok(round(&a, &id, &["write", "Reading poems"], ""));
    let opened = written(round(&a, &id, &["open"], mail));
    let replies = tmp.path().join("replies");
    ok(tend(
        &b,
        &[
            "inbox",
            "open",
            &opened[0],
            "--out",
            replies.to_str().unwrap(),
        ],
    ));
    for reply in std::fs::read_dir(&replies).unwrap() {
        let reply = reply.unwrap().path();
        ok(tend(&a, &["inbox", "open", reply.to_str().unwrap()]));
    }
    let at_alice = json(round(&a, &id, &["show"], ""));
    let at_bob = json(round(&b, &copy, &["show"], ""));
    assert_eq!(at_alice["open"], true);
    assert_eq!(at_alice["check"], at_bob["check"]);
    let lines = |v: &serde_json::Value| -> Vec<String> {
        v["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["line"].to_string())
            .collect()
    };
    assert_eq!(lines(&at_alice), lines(&at_bob), "one order on both phones");
    assert!(at_alice.to_string().contains("heron") && at_bob.to_string().contains("poems"));
    let late = round(&b, &copy, &["pass"], "");
    assert!(String::from_utf8_lossy(&late.stderr).contains("has opened"));
}

#[test]
fn relays_are_added_listed_removed_and_a_sync_keeps_what_it_cannot_send() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, _) = comrades(tmp.path());
    let err = tend(&a, &["sync"]);
    assert!(!err.status.success());
    assert!(String::from_utf8_lossy(&err.stderr).contains("tend relays add"));
    let bad = tend(&a, &["relays", "add", "https://relay.example.org"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("wss://"));

    // Nothing listens on port 9: the relay is down.
    ok(tend(&a, &["relays", "add", "ws://127.0.0.1:9/"]));
    let listed = json(tend(&a, &["--json", "relays", "list"]));
    assert_eq!(listed["relays"], serde_json::json!(["ws://127.0.0.1:9"]));
    assert_eq!(listed["mailbox"].as_str().unwrap().len(), 64);
    let entry = json(tend(&a, &["--json", "journal", "add", "a quiet day"]))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(tend(&a, &["share", "entry", &entry, "--to", "Bob"]));
    // Issue 14: a sync that reached no relay fails, after its report.
    let synced = tend(&a, &["sync", "--spread", "1"]);
    assert!(!synced.status.success());
    let out = String::from_utf8_lossy(&synced.stdout);
    assert!(
        out.contains("ws://127.0.0.1:9: could not reach the relay"),
        "{out}"
    );
    assert!(out.contains("kept and tried again"), "{out}");
    assert!(String::from_utf8_lossy(&synced.stderr).contains("no relay could be reached"));
    let synced = tend(&a, &["--json", "sync", "--spread", "0"]);
    assert!(!synced.status.success());
    let report: serde_json::Value = serde_json::from_slice(&synced.stdout).unwrap();
    assert!(report["relays"][0]["unreachable"].is_string());
    let added = tend(&a, &["relays", "add", "ws://relay.example.org"]);
    assert!(String::from_utf8_lossy(&added.stderr).contains("not encrypted"));
    let local = tend(&a, &["relays", "add", "ws://localhost:7"]);
    assert!(!String::from_utf8_lossy(&local.stderr).contains("not encrypted"));
    // Issue 16: a SOCKS5 proxy for every relay connection, per vault.
    let none = json(tend(&a, &["--json", "relays", "proxy"]));
    assert!(none["proxy"].is_null());
    let bad = tend(&a, &["relays", "proxy", "http://127.0.0.1:9050"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("socks5://"));
    let set = json(tend(
        &a,
        &["--json", "relays", "proxy", "socks5h://127.0.0.1:9050"],
    ));
    assert_eq!(set["proxy"], "socks5://127.0.0.1:9050");
    let shown = String::from_utf8_lossy(&tend(&a, &["relays", "proxy"]).stdout).into_owned();
    assert!(shown.contains("through socks5://127.0.0.1:9050"), "{shown}");
    assert!(json(tend(&a, &["--json", "relays", "proxy", "--off"]))["proxy"].is_null());
    ok(tend(&a, &["relays", "remove", "ws://relay.example.org"]));
    ok(tend(&a, &["relays", "remove", "ws://localhost:7"]));
    // Blocking announces the next mailbox series, from a Thursday a week or more away.
    use chrono::Datelike;
    assert!(listed["next_series_from"].is_null());
    ok(tend(&a, &["comrades", "block", "Bob"]));
    let listed = json(tend(&a, &["--json", "relays", "list"]));
    let from = chrono::DateTime::parse_from_rfc3339(listed["next_series_from"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    assert_eq!(from.weekday(), chrono::Weekday::Thu);
    assert!(from >= chrono::Utc::now() + chrono::Duration::days(7));
    assert!(ok(tend(&a, &["relays", "list"])).contains("A new series begins"));

    ok(tend(&a, &["relays", "remove", "ws://127.0.0.1:9"]));
    assert!(ok(tend(&a, &["relays", "list"])).contains("No relays"));
}

/// Issue 14: a comrade's words carrying terminal escapes (clear the screen,
/// set the window title) were printed raw by `inbox`, `care list` and
/// `gatherings list`.
#[test]
fn what_a_comrade_wrote_cannot_drive_my_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = comrades(tmp.path());
    let mail = tmp.path().join("mail");
    let hostile = "Ride\u{1b}[2J\u{1b}]0;owned\u{7}";
    let posted = written(tend(
        &a,
        &[
            "--json",
            "care",
            "post",
            "--category",
            "ride",
            "--title",
            hostile,
            "--urgency",
            "today",
            "--to",
            "Bob",
            "--out",
            mail.to_str().unwrap(),
        ],
    ));
    let opened = ok(tend(&b, &["inbox", "open", &posted[0]]));
    let listed = ok(tend(&b, &["care", "list", "--for-me"]));
    for shown in [&opened, &listed] {
        assert!(
            !shown.contains('\u{1b}') && !shown.contains('\u{7}'),
            "{shown:?}"
        );
        assert!(
            shown.contains("Ride\\u{1b}[2J"),
            "shown, not obeyed: {shown}"
        );
    }
    let as_json = json(tend(&b, &["--json", "care", "list", "--for-me"]));
    assert_eq!(
        as_json["for_me"][0]["title"], hostile,
        "--json keeps the text exact"
    );
}

/// Issue 14: failures that still changed the vault. Each now fails before
/// anything is written, and the vault is as it was.
#[test]
fn a_command_that_fails_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let nameless = tmp.path().join("nameless");
    assert!(!tend(&nameless, &["init", "--name", ""]).status.success());
    ok(tend(&nameless, &["init", "--name", "Alice"]));

    let (a, _b) = comrades(tmp.path());
    ok(tend(&a, &["circles", "create", "Eastside"]));
    assert!(
        !tend(&a, &["circles", "add", "Eastside", "Bob", "Nobody"])
            .status
            .success()
    );
    let circles = json(tend(&a, &["--json", "circles", "list"]));
    assert_eq!(
        circles[0]["members"].as_array().unwrap().len(),
        0,
        "Bob was not added alone"
    );

    let a_file = tmp.path().join("a-file");
    std::fs::write(&a_file, "x").unwrap();
    let posted = tend(
        &a,
        &[
            "care",
            "post",
            "--category",
            "ride",
            "--title",
            "A ride",
            "--urgency",
            "today",
            "--to",
            "Bob",
            "--out",
            a_file.to_str().unwrap(),
        ],
    );
    assert!(!posted.status.success());
    assert!(String::from_utf8_lossy(&posted.stderr).contains("takes a folder"));
    let mine = json(tend(&a, &["--json", "care", "list", "--mine"]));
    assert_eq!(
        mine["mine"].as_array().unwrap().len(),
        0,
        "nothing was posted"
    );

    let card = ok(tend(&a, &["card"]));
    let nowhere = tmp.path().join("no-such-folder").join("update.age");
    let rotated = tend(&a, &["card", "rotate", "--out", nowhere.to_str().unwrap()]);
    assert!(!rotated.status.success());
    assert_eq!(ok(tend(&a, &["card"])), card, "the key was not rotated");

    let typo = tmp.path().join("typo");
    let wiped = tend(&typo, &["wipe", "--yes"]);
    assert!(!wiped.status.success());
    assert!(String::from_utf8_lossy(&wiped.stderr).contains("no vault"));
}

/// Issue 14: `tend journal list | head -1` panicked on the closed pipe.
#[test]
fn a_reader_that_stops_reading_is_not_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let v = tmp.path().join("v");
    ok(tend(&v, &["init", "--name", "Alice"]));
    ok(tend(&v, &["journal", "add", "one"]));
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader); // closed before tend writes a byte
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tend"))
        .args(["--vault", v.to_str().unwrap(), "journal", "list"])
        .env("TEND_PASSPHRASE", PASS)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{stderr}");
}

/// Issue 14: the "More:" hint dropped the filters, and --limit 0 or 100000
/// became 1 or 500 in silence.
#[test]
fn the_next_page_is_of_the_same_list_and_limits_are_not_changed_in_silence() {
    let tmp = tempfile::tempdir().unwrap();
    let v = tmp.path().join("v");
    ok(tend(&v, &["init", "--name", "Alice"]));
    for text in ["one", "two", "three"] {
        ok(tend(&v, &["journal", "add", "--mood", "5", text]));
    }
    let page = ok(tend(
        &v,
        &["journal", "list", "--mood-min", "5", "--limit", "1"],
    ));
    let hint = page.lines().last().unwrap();
    assert!(
        hint.starts_with("More: tend journal list --limit 1 --mood-min 5 --after "),
        "{hint}"
    );
    let next: Vec<&str> = hint.trim_start_matches("More: tend ").split(' ').collect();
    assert!(ok(tend(&v, &next)).contains("two"));
    for limit in ["0", "100000"] {
        let refused = tend(&v, &["journal", "list", "--limit", limit]);
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("from 1 to 500"));
    }
}

/// Issue 14: --preset ignored --title, --rrule and the rest in silence.
#[test]
fn a_preset_takes_what_the_member_gives() {
    let tmp = tempfile::tempdir().unwrap();
    let v = tmp.path().join("v");
    ok(tend(&v, &["init", "--name", "Alice"]));
    let added = json(tend(
        &v,
        &[
            "--json",
            "gatherings",
            "add",
            "--preset",
            "monthly-restorative",
            "--tz",
            "Europe/Berlin",
            "--title",
            "Quiet evening",
            "--rrule",
            "FREQ=MONTHLY;BYDAY=3SA",
            "--minutes",
            "90",
            "--remind",
            "2h",
        ],
    ));
    assert_eq!(added["title"], "Quiet evening");
    assert_eq!(added["recurrence"], "FREQ=MONTHLY;BYDAY=3SA");
    assert_eq!(added["minutes"], 90);
    assert_eq!(added["reminders"].as_array().unwrap().len(), 1);
    assert_eq!(
        added["kind"], "restorative_gathering",
        "what was not given stays the preset's"
    );
    // Issue 14: times are shown with their zone.
    let upcoming = ok(tend(&v, &["gatherings", "upcoming", "--days", "62"]));
    let first = upcoming.lines().next().unwrap();
    let zone = first.split_whitespace().nth(3).unwrap_or("");
    assert!(
        !zone.is_empty()
            && zone
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-".contains(c)),
        "no zone after the time: {first}"
    );
}

/// Issue 14: a stranger's card carrying a comrade's name (or mine) is added
/// only with a warning that names the risk and `comrades replace`.
#[test]
fn a_card_that_borrows_a_known_name_is_not_taken_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, _b) = comrades(tmp.path());
    let (mallory, carol) = (tmp.path().join("m"), tmp.path().join("c"));
    ok(tend(&mallory, &["init", "--name", "Bob"]));
    ok(tend(&carol, &["init", "--name", "Alice"]));
    let fake_bob = ok(tend(&mallory, &["card"])).trim().to_owned();
    let refused = tend(&a, &["comrades", "add", &fake_bob]);
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("posing") && why.contains("comrades replace"),
        "{why}"
    );
    let added = tend(&a, &["comrades", "add", &fake_bob, "--name", "Not Bob"]);
    assert!(added.status.success());
    assert!(String::from_utf8_lossy(&added.stderr).contains("Warning"));
    let fake_me = ok(tend(&carol, &["card"])).trim().to_owned();
    let added = tend(&a, &["comrades", "add", &fake_me, "--name", "Carol"]);
    assert!(added.status.success());
    assert!(String::from_utf8_lossy(&added.stderr).contains("your own name"));
}

/// Issue 14: journal text from standard input or $EDITOR, so private words
/// stay out of shell history and `ps`.
#[test]
fn journal_text_comes_from_stdin_or_the_editor() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let v = tmp.path().join("v");
    ok(tend(&v, &["init", "--name", "Alice"]));
    let mut child = Command::new(env!("CARGO_BIN_EXE_tend"))
        .args(["--vault", v.to_str().unwrap(), "journal", "add", "-"])
        .env("TEND_PASSPHRASE", PASS)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"words from a pipe\n")
        .unwrap();
    assert!(child.wait().unwrap().success());

    let editor = tmp.path().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\necho 'words from the editor' > \"$1\"\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let edited = tend_with(
        &v,
        &["journal", "add", "--edit", "--mood", "4"],
        &[
            ("TEND_PASSPHRASE", PASS),
            ("VISUAL", editor.to_str().unwrap()),
        ],
    );
    assert!(
        edited.status.success(),
        "{}",
        String::from_utf8_lossy(&edited.stderr)
    );
    let listed = ok(tend(&v, &["journal", "list"]));
    assert!(listed.contains("words from a pipe") && listed.contains("words from the editor"));
    let left: Vec<_> = std::fs::read_dir("/dev/shm")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tend-entry-"))
        .collect();
    assert!(left.is_empty(), "the editor's file is deleted");
}

/// Issue 14: `--json` shapes are documented in one place (docs/cli-json.md)
/// and each command prints exactly the keys shown there, at every level.
/// How what the commands printed differs from `docs/cli-json.md`, for the
/// documented commands `mine` picks: every key at every level, both ways.
fn json_shape_problems(
    real: &[(&str, serde_json::Value)],
    mine: impl Fn(&str) -> bool,
) -> Vec<String> {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/cli-json.md"
    ))
    .unwrap();
    let mut documented = std::collections::BTreeMap::new();
    for block in doc.split("```json ").skip(1) {
        let (command, rest) = block.split_once('\n').unwrap();
        let example: serde_json::Value =
            serde_json::from_str(rest.split("```").next().unwrap()).unwrap();
        if mine(command.trim()) {
            documented.insert(command.trim().to_owned(), example);
        }
    }
    fn differences(
        doc: &serde_json::Value,
        real: &serde_json::Value,
        at: &str,
        out: &mut Vec<String>,
    ) {
        use serde_json::Value;
        match (doc, real) {
            (Value::Object(d), Value::Object(r)) => {
                let mut dk: Vec<_> = d.keys().collect();
                let mut rk: Vec<_> = r.keys().collect();
                dk.sort();
                rk.sort();
                if dk != rk {
                    out.push(format!("{at}: documented {dk:?}, printed {rk:?}"));
                }
                for (k, v) in d {
                    if let Some(r) = r.get(k) {
                        differences(v, r, &format!("{at}.{k}"), out);
                    }
                }
            }
            (Value::Array(d), Value::Array(r)) => {
                if let (Some(d), Some(r)) = (d.first(), r.first()) {
                    differences(d, r, &format!("{at}[0]"), out);
                }
            }
            _ => {}
        }
    }
    let mut problems = Vec::new();
    for (command, printed) in real {
        match documented.remove(*command) {
            Some(example) => differences(&example, printed, command, &mut problems),
            None => problems.push(format!("{command}: not in docs/cli-json.md")),
        }
    }
    problems.extend(
        documented
            .keys()
            .map(|c| format!("{c}: documented but not tested")),
    );
    problems
}

#[test]
fn every_documented_json_shape_is_what_tend_prints() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = comrades(tmp.path());
    let mail = tmp.path().join("mail");
    let mail = mail.to_str().unwrap();
    let run = |vault: &Path, args: &[&str]| json(tend(vault, args));
    let mut real: Vec<(&str, serde_json::Value)> = Vec::new();
    let added = run(&a, &["--json", "journal", "add", "--mood", "4", "a heron"]);
    let entry = added["id"].as_str().unwrap().to_owned();
    real.push(("tend --json journal add", added));
    real.push((
        "tend --json journal list",
        run(&a, &["--json", "journal", "list"]),
    ));
    real.push((
        "tend --json journal search",
        run(&a, &["--json", "journal", "search", "heron"]),
    ));
    let backup = tmp.path().join("backup.age");
    real.push((
        "tend --json export",
        run(&a, &["--json", "export", "--out", backup.to_str().unwrap()]),
    ));
    let whole = tmp.path().join("alice.tendbackup");
    let whole = whole.to_str().unwrap();
    let strong = [
        (
            "TEND_BACKUP_PASSPHRASE",
            "heron lantern under the river bridge",
        ),
        ("TEND_PASSPHRASE", PASS),
    ];
    real.push((
        "tend --json backup",
        json(tend_with(
            &a,
            &["--json", "backup", "--out", whole],
            &strong,
        )),
    ));
    real.push((
        "tend --json restore",
        json(tend_with(
            &tmp.path().join("restored"),
            &["--json", "restore", whole],
            &strong,
        )),
    ));
    let folder = tmp.path().join("backups");
    std::fs::create_dir(&folder).unwrap();
    let recipient = age::x25519::Identity::generate().to_public().to_string();
    let folder = folder.to_str().unwrap();
    ok(tend(&a, &["backups", "set", folder, "--to", &recipient]));
    real.push((
        "tend --json backups run",
        run(&a, &["--json", "backups", "run"]),
    ));
    real.push((
        "tend --json backups show",
        run(&a, &["--json", "backups", "show"]),
    ));
    let shared = tmp.path().join("entry.tend");
    ok(tend(
        &a,
        &[
            "share",
            "entry",
            &entry,
            "--to",
            "Bob",
            "--out",
            shared.to_str().unwrap(),
        ],
    ));
    real.push((
        "tend --json inbox open",
        run(&b, &["--json", "inbox", "open", shared.to_str().unwrap()]),
    ));
    real.push((
        "tend --json inbox list",
        run(&b, &["--json", "inbox", "list"]),
    ));
    let posted = written(tend(
        &a,
        &[
            "--json",
            "care",
            "post",
            "--category",
            "ride",
            "--title",
            "A ride",
            "--urgency",
            "today",
            "--to",
            "Bob",
            "--out",
            mail,
        ],
    ));
    ok(tend(&b, &["inbox", "open", &posted[0]]));
    let request = run(&b, &["--json", "care", "list", "--for-me"])["for_me"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let offer = written(tend(
        &b,
        &[
            "--json",
            "care",
            "offer",
            &request,
            "--message",
            "I can drive",
            "--out",
            mail,
        ],
    ));
    ok(tend(&a, &["inbox", "open", &offer[0]]));
    real.push((
        "tend --json care list",
        run(&a, &["--json", "care", "list", "--mine"]),
    ));
    let gathering = run(
        &a,
        &[
            "--json",
            "gatherings",
            "add",
            "--preset",
            "monthly-restorative",
            "--tz",
            "UTC",
        ],
    );
    let (id, first) = (
        gathering["id"].as_str().unwrap().to_owned(),
        gathering["starts_at"].as_str().unwrap().to_owned(),
    );
    real.push(("tend --json gatherings add", gathering));
    ok(tend(
        &a,
        &["gatherings", "rsvp", &id, "--occurrence", &first, "going"],
    ));
    real.push((
        "tend --json gatherings attendees",
        run(
            &a,
            &[
                "--json",
                "gatherings",
                "attendees",
                &id,
                "--occurrence",
                &first,
            ],
        ),
    ));
    let ics = tmp.path().join("g.ics");
    ok(tend(
        &a,
        &["gatherings", "export-ics", "--out", ics.to_str().unwrap()],
    ));
    real.push((
        "tend --json gatherings import-ics",
        run(
            &b,
            &["--json", "gatherings", "import-ics", ics.to_str().unwrap()],
        ),
    ));
    real.push((
        "tend --json passphrase generate",
        run(&a, &["--json", "passphrase", "generate"]),
    ));
    ok(tend(&a, &["relays", "add", "wss://relay.example.org"]));
    real.push((
        "tend --json relays list",
        run(&a, &["--json", "relays", "list"]),
    ));
    real.push((
        "tend --json collective create",
        run(&a, &["--json", "collective", "create", "Riverside Care"]),
    ));
    let welcome = written(tend(
        &a,
        &[
            "--json",
            "collective",
            "add",
            "Riverside Care",
            "Bob",
            "--out",
            mail,
        ],
    ));
    ok(tend(&b, &["inbox", "open", &welcome[0]]));
    real.push((
        "tend --json collective show",
        run(&b, &["--json", "collective", "show", "Riverside Care"]),
    ));
    real.push((
        "tend --json collective members",
        run(&b, &["--json", "collective", "members", "Riverside Care"]),
    ));
    real.push((
        "tend --json visitor pass",
        run(&a, &["--json", "visitor", "pass", "Riverside Care"]),
    ));
    real.push((
        "tend --json visitor show",
        run(&b, &["--json", "visitor", "show"]),
    ));
    let fresh = tmp.path().join("fresh");
    let made = run(&fresh, &["--json", "init", "--name", "Cleo"]);
    let words = made["recovery_words"].as_str().unwrap().to_owned();
    assert_eq!(words.split(' ').count(), 12);
    real.push(("tend --json init", made));
    real.push((
        "tend --json recovery show",
        run(&fresh, &["--json", "recovery", "show"]),
    ));
    let phone = tmp.path().join("phone");
    ok(tend(&phone, &["init", "--name", "Cleo"]));
    let env = [
        ("TEND_PASSPHRASE", PASS),
        ("TEND_RECOVERY_WORDS", words.as_str()),
    ];
    real.push((
        "tend --json recovery replace",
        json(tend_with(&phone, &["--json", "recovery", "replace"], &env)),
    ));

    // A pulse needs three members: `a_collective_takes_its_pulse_on_the_command_line`
    // checks those shapes.
    let problems = json_shape_problems(&real, |c| !c.starts_with("tend --json collective pulse"));
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn a_whole_vault_backup_restores_the_same_member_in_a_new_vault() {
    let tmp = tempfile::tempdir().unwrap();
    let (old, new) = (tmp.path().join("old"), tmp.path().join("new"));
    let backup_pass = [
        (
            "TEND_BACKUP_PASSPHRASE",
            "heron lantern under the river bridge",
        ),
        ("TEND_PASSPHRASE", PASS),
    ];
    ok(tend(&old, &["init", "--name", "Alice"]));
    ok(tend(&old, &["journal", "add", "Saw a kingfisher"]));
    let file = tmp.path().join("alice.tendbackup");
    let file = file.to_str().unwrap();
    let weak = tend_with(
        &old,
        &["backup", "--out", file],
        &[
            ("TEND_BACKUP_PASSPHRASE", "123456"),
            ("TEND_PASSPHRASE", PASS),
        ],
    );
    assert!(!weak.status.success());
    assert!(!Path::new(file).exists());
    let made = json(tend_with(
        &old,
        &["--json", "backup", "--out", file],
        &backup_pass,
    ));
    assert_eq!(made["schema"], tend_core::vault::SCHEMA_VERSION);
    assert!(
        std::fs::read(file)
            .unwrap()
            .starts_with(b"age-encryption.org/v1")
    );

    let wrong = tend_with(
        &new,
        &["restore", file],
        &[("TEND_BACKUP_PASSPHRASE", "not the passphrase at all, sorry")],
    );
    assert!(!wrong.status.success());
    assert!(!new.exists() || std::fs::read_dir(&new).unwrap().next().is_none());
    let restored = ok(tend_with(
        &new,
        &["restore", file],
        &[
            backup_pass[0],
            ("TEND_PASSPHRASE", "kingfisher wades at dawn by the weir"),
        ],
    ));
    assert!(restored.contains("Restored Alice"), "{restored}");
    let listed = ok(tend_with(
        &new,
        &["journal", "list"],
        &[("TEND_PASSPHRASE", "kingfisher wades at dawn by the weir")],
    ));
    assert!(listed.contains("Saw a kingfisher"), "{listed}");
    let card = |dir: &Path, pass: &str| ok(tend_with(dir, &["card"], &[("TEND_PASSPHRASE", pass)]));
    assert_eq!(
        card(&old, PASS),
        card(&new, "kingfisher wades at dawn by the weir")
    );
}

#[test]
fn a_move_checks_the_short_code_and_retires_nothing_it_did_not_send() {
    let tmp = tempfile::tempdir().unwrap();
    let (old, new) = (tmp.path().join("old"), tmp.path().join("new"));
    ok(tend(&old, &["init", "--name", "Alice"]));
    let code_file = tmp.path().join("move-code");
    // Nothing listens on port 9: the new phone's wait ends, its code written.
    let waited = tend(
        &new,
        &[
            "move",
            "receive",
            "--relay",
            "ws://127.0.0.1:9",
            "--wait",
            "0",
            "--code-file",
            code_file.to_str().unwrap(),
        ],
    );
    assert!(!waited.status.success());
    assert!(!new.exists() || std::fs::read_dir(&new).unwrap().next().is_none());
    let code = std::fs::read_to_string(&code_file).unwrap();
    assert!(code.starts_with("TENDM:"));
    let shown = String::from_utf8_lossy(&waited.stderr).into_owned();
    let short: String = shown
        .rsplit("Both show ")
        .next()
        .unwrap()
        .chars()
        .take(7)
        .collect();

    let swapped = tend(&old, &["move", "send", &code, "--short-code", "000 000"]);
    assert!(!swapped.status.success());
    assert!(String::from_utf8_lossy(&swapped.stderr).contains("nothing was sent"));
    let unsent = tend(&old, &["move", "send", &code, "--short-code", &short]);
    assert!(!unsent.status.success(), "no relay took it");
    // Neither retired the old phone.
    ok(tend(&old, &["journal", "add", "Still here"]));
    let bad = tend(
        &old,
        &["move", "send", "TENDM:AAAA", "--short-code", "000000"],
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("move code"));
}

#[test]
fn custodians_are_chosen_and_keep_one_share_each() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = comrades(tmp.path());
    let c = carol_meets(&a, tmp.path());
    assert!(ok(tend(&a, &["custodians", "status"])).contains("No custodians"));
    let alone = tend(&a, &["custodians", "choose", "--threshold", "2", "Bob"]);
    assert!(!alone.status.success(), "a threshold above the custodians");
    let mail = tmp.path().join("mail");
    let files = written(tend(
        &a,
        &[
            "--json",
            "custodians",
            "choose",
            "--threshold",
            "2",
            "Bob",
            "Carol",
            "--out",
            mail.to_str().unwrap(),
        ],
    ));
    assert_eq!(files.len(), 2, "a share for each");
    for vault in [&b, &c] {
        for f in &files {
            let _ = tend(vault, &["inbox", "open", f]);
        }
        let held = json(tend(vault, &["--json", "custodians", "held"]));
        assert_eq!(held[0]["owner"], "Alice");
        assert_eq!(held.as_array().unwrap().len(), 1);
    }
    let status = json(tend(&a, &["--json", "custodians", "status"]));
    assert_eq!(status["threshold"], 2);
    assert_eq!(status["recoverable"], false);
    assert_eq!(status["custodians"].as_array().unwrap().len(), 2);

    // Alice's automatic backup; then she loses everything.
    ok(tend(&a, &["journal", "add", "Planted the beans"]));
    let folder = tmp.path().join("backups");
    std::fs::create_dir(&folder).unwrap();
    let own = age::x25519::Identity::generate().to_public().to_string();
    ok(tend(
        &a,
        &["backups", "set", folder.to_str().unwrap(), "--to", &own],
    ));
    ok(tend(&a, &["backups", "run"]));

    // On a new phone she asks; asking again shows the same code.
    let again = tmp.path().join("alice-again");
    let code = json(tend(&again, &["--json", "custodians", "request"]))["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let shown = json(tend(&again, &["--json", "custodians", "request"]));
    assert_eq!(shown["code"], code.as_str());
    let wrong = tend_with(
        &again,
        &["custodians", "request"],
        &[("TEND_PASSPHRASE", "another passphrase entirely")],
    );
    assert!(
        !wrong.status.success(),
        "the request opens with its passphrase only"
    );

    // Bob and Carol each release their share to her code.
    let releases: Vec<String> = [(&b, "bob"), (&c, "carol")]
        .iter()
        .map(|(vault, name)| {
            let file = tmp.path().join(format!("{name}.release"));
            let file = file.to_str().unwrap().to_owned();
            ok(tend(
                vault,
                &[
                    "custodians",
                    "release",
                    &code,
                    "--for",
                    "Alice",
                    "--out",
                    &file,
                ],
            ));
            file
        })
        .collect();
    let nobody = tend(
        &b,
        &["custodians", "release", &code, "--for", "Zed", "--out", "x"],
    );
    assert!(!nobody.status.success());

    // One is not enough, and leaves no vault behind.
    let one = tend(
        &again,
        &[
            "custodians",
            "recover",
            &releases[0],
            "--backup",
            folder.to_str().unwrap(),
        ],
    );
    assert!(!one.status.success());
    assert!(!again.join("vault.db").exists() && again.join("recovery-request.age").exists());

    let back = ok(tend(
        &again,
        &[
            "custodians",
            "recover",
            &releases[0],
            &releases[1],
            "--backup",
            folder.to_str().unwrap(),
        ],
    ));
    assert!(back.contains("Welcome back, Alice"), "{back}");
    assert!(
        !again.join("recovery-request.age").exists(),
        "the request is spent"
    );
    assert!(ok(tend(&again, &["journal", "list"])).contains("Planted the beans"));
}

/// `name`, in `dir/folder`, and Alice (in `a`) swap cards.
fn meets(a: &Path, dir: &Path, folder: &str, name: &str) -> std::path::PathBuf {
    let v = dir.join(folder);
    ok(tend(&v, &["init", "--name", name]));
    let card_a = ok(tend(a, &["card"])).trim().to_owned();
    let card_v = ok(tend(&v, &["card"])).trim().to_owned();
    ok(tend(a, &["comrades", "add", &card_v]));
    ok(tend(&v, &["comrades", "add", &card_a]));
    v
}

/// Opens each envelope a command wrote at the vaults it names, and what
/// opening them sealed in answer, until nothing is left to carry.
fn carry(members: &[(&str, &Path)], printed: Output, mail: &str) {
    let mut waiting: Vec<serde_json::Value> = vec![json(printed)];
    while let Some(written) = waiting.pop() {
        for w in written.as_array().into_iter().flatten() {
            let file = w["file"].as_str().unwrap();
            for name in w["to"].as_str().unwrap().split(", ") {
                let (_, vault) = members.iter().find(|(n, _)| *n == name).unwrap();
                let out = tend(vault, &["--json", "inbox", "open", file, "--out", mail]);
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                // The opened envelope, then the envelopes sealed in answer.
                let values: Vec<serde_json::Value> =
                    serde_json::Deserializer::from_slice(&out.stdout)
                        .into_iter()
                        .map(Result::unwrap)
                        .collect();
                waiting.extend(values.into_iter().skip(1));
            }
        }
    }
}

#[test]
fn a_collective_takes_its_pulse_on_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = comrades(tmp.path());
    let c = meets(&a, tmp.path(), "c", "Carol");
    let d = meets(&a, tmp.path(), "d", "Dana");
    let members = [
        ("Alice", a.as_path()),
        ("Bob", &b),
        ("Carol", &c),
        ("Dana", &d),
    ];
    let mail = tmp.path().join("mail");
    let mail = mail.to_str().unwrap();
    ok(tend(&a, &["collective", "create", "Riverside Care"]));
    for name in ["Bob", "Carol", "Dana"] {
        let added = tend(
            &a,
            &[
                "--json",
                "collective",
                "add",
                "Riverside Care",
                name,
                "--out",
                mail,
            ],
        );
        carry(&members, added, mail);
    }
    let pulse = |vault: &Path, args: &[&str]| {
        let mut all = vec!["--json", "collective", "pulse"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--out", mail]);
        tend(vault, &all)
    };
    let refused = pulse(&b, &["start", "Riverside Care"]);
    assert!(!refused.status.success(), "only a steward starts one");
    carry(&members, pulse(&a, &["start", "Riverside Care"]), mail);
    let shown = json(tend(
        &d,
        &["--json", "collective", "pulse", "show", "Riverside Care"],
    ));
    assert_eq!(shown["state"], "open");
    assert_eq!(shown["totals"], serde_json::Value::Null);

    carry(
        &members,
        pulse(&a, &["answer", "Riverside Care", "green", "--mood", "4"]),
        mail,
    );
    carry(
        &members,
        pulse(
            &b,
            &[
                "answer",
                "Riverside Care",
                "red",
                "--mood",
                "2",
                "--check-in",
                "Alice",
                "--note",
                "Could you call tonight?",
            ],
        ),
        mail,
    );
    carry(
        &members,
        pulse(&c, &["answer", "Riverside Care", "yellow"]),
        mail,
    );
    let early = ok(tend(&c, &["collective", "pulse", "show", "Riverside Care"]));
    assert!(early.contains("open until"), "{early}");
    let twice = pulse(&c, &["answer", "Riverside Care", "green"]);
    assert!(!twice.status.success());
    assert!(String::from_utf8_lossy(&twice.stderr).contains("answered this pulse already"));
    carry(
        &members,
        pulse(&d, &["answer", "Riverside Care", "green", "--mood", "5"]),
        mail,
    );

    let mut real = Vec::new();
    for (name, vault) in members {
        let shown = json(tend(
            vault,
            &["--json", "collective", "pulse", "show", "Riverside Care"],
        ));
        assert_eq!(shown["state"], "shown", "{name}");
        let t = &shown["totals"];
        assert_eq!(
            (
                &t["answers"],
                &t["green"],
                &t["yellow"],
                &t["red"],
                &t["moods"]
            ),
            (&4.into(), &2.into(), &1.into(), &1.into(), &3.into()),
            "{name}"
        );
        assert_eq!(
            t["mean_mood"],
            serde_json::Value::Null,
            "three moods, four needed"
        );
        real.push(("tend --json collective pulse show", shown));
    }
    real.truncate(1);
    real.push((
        "tend --json collective pulse history",
        json(tend(
            &a,
            &["--json", "collective", "pulse", "history", "Riverside Care"],
        )),
    ));
    let problems = json_shape_problems(&real, |c| c.starts_with("tend --json collective pulse"));
    assert!(problems.is_empty(), "{problems:#?}");
    let chart = ok(tend(
        &d,
        &["collective", "pulse", "history", "Riverside Care"],
    ));
    assert!(chart.contains("██████████▒▒▒▒▒░░░░░"), "{chart}");
    assert!(
        chart.contains("4 answers: 2 green, 1 yellow, 1 red"),
        "{chart}"
    );
    // Alice alone was asked to check in, by a message the others never saw.
    let inbox = json(tend(&a, &["--json", "inbox", "list"]));
    let asks: Vec<_> = inbox
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "pulse.check_in")
        .collect();
    assert_eq!(asks.len(), 1);
    for v in [&c, &d] {
        assert!(!ok(tend(v, &["inbox", "list"])).contains("check"));
    }
}
