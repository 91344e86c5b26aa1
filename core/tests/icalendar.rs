//! .ics export and import: round trips, files shaped like Google's, Apple's
//! and Outlook's, and broken files.

mod common;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use common::new_vault;
use tend_core::gatherings::{GatheringKind, NewGathering, Occurrence, ReminderOffset};
use tend_core::{Error, Vault};

fn local(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap()
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/ics/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn two_years(vault: &Vault) -> Vec<Occurrence> {
    vault
        .gatherings()
        .occurrences(utc("2026-11-01T00:00:00Z"), utc("2028-11-01T00:00:00Z"))
        .unwrap()
}

/// What must survive a round trip of one occurrence.
fn essence(o: &Occurrence) -> (String, DateTime<Utc>, DateTime<Utc>, NaiveDateTime, bool) {
    (
        o.title.clone(),
        o.starts_at,
        o.ends_at,
        o.original_start,
        o.moved,
    )
}

#[test]
fn export_then_import_gives_the_same_occurrences_and_reminders() {
    let dir = tempfile::tempdir().unwrap();
    let alice = Vault::create_with_key(dir.path().join("a"), &common::key(1)).unwrap();
    let g = alice.gatherings();
    let monthly = g
        .add(NewGathering::monthly_restorative(
            NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
            "America/Chicago",
            "Community room, 2nd floor; ring twice",
        ))
        .unwrap();
    g.cancel_occurrence(monthly.id, local("2027-01-02T18:00"))
        .unwrap();
    g.move_occurrence(
        monthly.id,
        local("2027-02-06T18:00"),
        local("2027-02-07T17:00"),
        Some(Duration::minutes(90)),
    )
    .unwrap();
    g.add(NewGathering {
        title: "Plenum".into(),
        kind: GatheringKind::Meeting,
        description: "Agenda:\n1. kitchen\n2. rent strike, solidarity".into(),
        location: String::new(),
        starts_at: local("2026-11-03T19:00"),
        time_zone: "Europe/Berlin".into(),
        duration: Duration::minutes(90),
        recurrence: Some("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=20270630".into()),
        reminders: vec![ReminderOffset::minutes(15), ReminderOffset::days(1)],
    })
    .unwrap();
    let ics = g.export_ics(None).unwrap();
    for needle in [
        "BEGIN:VTIMEZONE\r\nTZID:America/Chicago",
        "TZID:Europe/Berlin",
        "RRULE:FREQ=MONTHLY;BYDAY=1SA",
        "EXDATE;TZID=America/Chicago:20270102T180000",
        "RECURRENCE-ID;TZID=America/Chicago:20270206T180000",
        "DTSTART;TZID=America/Chicago:20270207T170000",
        "TRIGGER:-P7D",
        "TRIGGER:-PT15M",
        "UNTIL=20270630T215959Z",
        "LOCATION:Community room\\, 2nd floor\\; ring twice",
    ] {
        assert!(ics.contains(needle), "missing {needle:?}");
    }
    assert!(
        ics.split("\r\n").all(|line| line.len() <= 75),
        "a line over 75 octets"
    );

    let bob = Vault::create_with_key(dir.path().join("b"), &common::key(2)).unwrap();
    let summary = bob.gatherings().import_ics(&ics, "Asia/Tokyo").unwrap();
    assert_eq!((summary.added, summary.updated), (2, 0));
    let (theirs, mine) = (two_years(&bob), two_years(&alice));
    assert!(mine.len() > 30);
    assert_eq!(
        theirs.iter().map(essence).collect::<Vec<_>>(),
        mine.iter().map(essence).collect::<Vec<_>>()
    );
    let now = utc("2026-11-26T12:00:00Z");
    let reminders = |v: &Vault| {
        v.gatherings()
            .next_reminders(now, 30)
            .unwrap()
            .into_iter()
            .map(|r| (r.fires_at, r.starts_at))
            .collect::<Vec<_>>()
    };
    assert_eq!(reminders(&bob), reminders(&alice));
    let plenum = bob
        .gatherings()
        .list()
        .unwrap()
        .into_iter()
        .find(|g| g.title == "Plenum")
        .unwrap();
    assert_eq!(
        plenum.description,
        "Agenda:\n1. kitchen\n2. rent strike, solidarity"
    );
    assert_eq!(plenum.kind, GatheringKind::Meeting);

    // The same file again updates; it does not duplicate.
    let again = bob.gatherings().import_ics(&ics, "Asia/Tokyo").unwrap();
    assert_eq!((again.added, again.updated), (0, 2));
    assert_eq!(bob.gatherings().list().unwrap().len(), 2);
}

#[test]
fn a_google_calendar_export() {
    let dir = tempfile::tempdir().unwrap();
    let vault = new_vault(dir.path());
    let summary = vault
        .gatherings()
        .import_ics(&fixture("google.ics"), "America/Chicago")
        .unwrap();
    assert_eq!(summary.added, 3);
    let all = vault.gatherings().list().unwrap();
    let gathering = all
        .iter()
        .find(|g| g.title == "Restorative gathering")
        .unwrap();
    assert_eq!(gathering.time_zone, "America/Chicago");
    assert_eq!(
        gathering.recurrence.as_deref(),
        Some("FREQ=MONTHLY;BYDAY=1SA")
    );
    assert_eq!(gathering.location, "Community room, 2nd floor");
    assert_eq!(
        gathering.description,
        "Quiet solo activities side by side.\nBring something to do."
    );
    assert_eq!(
        gathering.reminders,
        vec![ReminderOffset::days(1), ReminderOffset::minutes(30)]
    );
    let occ: Vec<_> = two_years(&vault)
        .into_iter()
        .filter(|o| o.gathering == gathering.id)
        .collect();
    let starts: Vec<String> = occ
        .iter()
        .take(3)
        .map(|o| o.local_start.format("%Y-%m-%d %H:%M").to_string())
        .collect();
    // January is excluded; February moved to Sunday 17:00.
    assert_eq!(
        starts,
        ["2026-12-05 18:00", "2027-02-07 17:00", "2027-03-06 18:00"]
    );
    assert!(occ[1].moved);
    let meeting = all.iter().find(|g| g.title == "Tenants meeting").unwrap();
    assert_eq!(
        meeting.starts_at,
        local("2026-12-09T19:00"),
        "UTC times land in the default zone"
    );
    assert_eq!(meeting.duration, Duration::hours(1));
    let food = all.iter().find(|g| g.title == "Food share").unwrap();
    assert_eq!(
        (food.starts_at, food.duration),
        (local("2026-12-24T00:00"), Duration::days(1))
    );
}

#[test]
fn an_apple_calendar_export() {
    let dir = tempfile::tempdir().unwrap();
    let vault = new_vault(dir.path());
    vault
        .gatherings()
        .import_ics(&fixture("apple.ics"), "UTC")
        .unwrap();
    let plenum = &vault.gatherings().list().unwrap()[0];
    assert_eq!(plenum.time_zone, "Europe/Berlin");
    assert_eq!(plenum.description, "Plenum, every other Tuesday");
    assert_eq!(plenum.reminders, vec![ReminderOffset::minutes(15)]);
    assert_eq!(plenum.duration, Duration::minutes(90));
    let occ = two_years(&vault);
    assert_eq!(occ.first().unwrap().local_start, local("2026-11-03T19:00"));
    assert_eq!(
        occ.last().unwrap().local_start,
        local("2027-06-29T19:00"),
        "UNTIL is the last Tuesday"
    );
    assert!(
        occ.windows(2)
            .all(|w| w[1].local_start - w[0].local_start == Duration::weeks(2))
    );
}

#[test]
fn an_outlook_export_with_windows_zone_names_and_folded_lines() {
    let dir = tempfile::tempdir().unwrap();
    let vault = new_vault(dir.path());
    vault
        .gatherings()
        .import_ics(&fixture("outlook.ics"), "UTC")
        .unwrap();
    let kitchen = &vault.gatherings().list().unwrap()[0];
    assert_eq!(kitchen.time_zone, "Europe/Berlin");
    assert_eq!(kitchen.title, "Kitchen collective");
    assert_eq!(kitchen.location, "Soli-Küche");
    assert_eq!(kitchen.duration, Duration::hours(3));
    let starts: Vec<NaiveDate> = two_years(&vault)
        .iter()
        .map(|o| o.local_start.date())
        .take(3)
        .collect();
    // The last Friday of each month; 25 December is excluded.
    assert_eq!(
        starts,
        [
            NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
            NaiveDate::from_ymd_opt(2027, 1, 29).unwrap(),
            NaiveDate::from_ymd_opt(2027, 2, 26).unwrap()
        ]
    );
    // Exported again, the long UID survives the fold.
    assert!(
        vault
            .gatherings()
            .export_ics(None)
            .unwrap()
            .replace("\r\n ", "")
            .contains("B4C5D6")
    );
}

#[test]
fn broken_files_name_the_line_and_import_nothing() {
    let good = fixture("google.ics");
    let cases: Vec<(String, u64, &str)> = vec![
        (
            good.replace("RRULE:FREQ=MONTHLY;BYDAY=1SA", "RRULE:FREQ=FORTNIGHTLY"),
            29,
            "invalid recurrence",
        ),
        (
            good.replace(
                "DTSTART;TZID=America/Chicago:20261205T180000",
                "DTSTART;TZID=America/Chicago:2026-12-05 18:00",
            ),
            27,
            "not a date-time",
        ),
        (
            good.replace(
                "DTSTART;TZID=America/Chicago:20261205T180000",
                "DTSTART;TZID=Mars/Olympus:20261205T180000",
            ),
            27,
            "unknown time zone",
        ),
        (
            good.replace(
                "UID:3k4j5h6g7f8d9s0a1q2w3e4r5t@google.com\nCREATED:20261101T100000Z\nDESCRIPTION",
                "UID:other@google.com\nCREATED:20261101T100000Z\nDESCRIPTION",
            ),
            59,
            "series is missing",
        ),
        (
            good.replace(
                "EXDATE;TZID=America/Chicago:20270102T180000",
                "RDATE;TZID=America/Chicago:20270103T180000",
            ),
            30,
            "RDATE",
        ),
        (
            good.replace(
                "RRULE:FREQ=MONTHLY;BYDAY=1SA",
                "RRULE:FREQ=DAILY;BYHOUR=18,19;BYMINUTE=0,5",
            ),
            29,
            "daily at most",
        ),
        (
            good.replace("TRIGGER:-P1D", "TRIGGER:-P1Q"),
            51,
            "not a duration",
        ),
    ];
    for (text, line, words) in cases {
        let dir = tempfile::tempdir().unwrap();
        let vault = new_vault(dir.path());
        match vault.gatherings().import_ics(&text, "America/Chicago") {
            Err(Error::ImportLine { line: got, problem }) => {
                assert_eq!(got, line, "{problem}");
                assert!(problem.contains(words), "{problem} lacks {words:?}");
            }
            other => panic!("expected an error naming line {line}: {other:?}"),
        }
        assert!(
            vault.gatherings().list().unwrap().is_empty(),
            "half-imported"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let vault = new_vault(dir.path());
    for text in [
        "",
        "hello",
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\n",
        &"A".repeat(5 << 20),
    ] {
        assert!(
            matches!(
                vault.gatherings().import_ics(text, "UTC"),
                Err(Error::Import(_) | Error::ImportLine { .. })
            ),
            "{:?}",
            &text[..text.len().min(20)]
        );
    }
}

#[test]
fn mutated_calendar_files_never_panic_or_half_import() {
    let good = fixture("google.ics").into_bytes();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let dir = tempfile::tempdir().unwrap();
    let vault = new_vault(dir.path());
    for _ in 0..300 {
        let mut bytes = good.clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() % bytes.len() as u64) as usize;
            match next() % 3 {
                0 => bytes[at] = (next() % 128) as u8,
                1 => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, b"\n:;,\\ TZ"[(next() % 8) as usize]),
            }
        }
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        let before = vault.gatherings().list().unwrap().len();
        match vault.gatherings().import_ics(&text, "America/Chicago") {
            Ok(summary) => assert!(
                summary.added + summary.updated > 0
                    || before == vault.gatherings().list().unwrap().len()
            ),
            Err(Error::Import(_) | Error::ImportLine { .. } | Error::Invalid { .. }) => {
                assert_eq!(
                    vault.gatherings().list().unwrap().len(),
                    before,
                    "half-imported"
                );
            }
            Err(other) => panic!("untyped failure: {other:?}"),
        }
    }
}

/// Issue 14: 8,000 nested components overflowed the parser's stack and
/// aborted the process; 10,000 events were refused only after quadratic work.
#[test]
fn hostile_nesting_and_event_counts_are_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let vault = new_vault(dir.path());
    let nested = format!(
        "BEGIN:VCALENDAR\n{}{}END:VCALENDAR\n",
        "BEGIN:VEVENT\n".repeat(8_000),
        "END:VEVENT\n".repeat(8_000)
    );
    match vault.gatherings().import_ics(&nested, "UTC") {
        Err(Error::ImportLine { line, problem }) => {
            assert_eq!(line, 9, "the first line past the limit");
            assert!(problem.contains("nested"), "{problem}");
        }
        other => panic!("expected the nesting refused: {other:?}"),
    }
    // Ten times past the limit on events, each a valid one.
    let event = "BEGIN:VEVENT\nUID:x\nDTSTART:20261205T180000Z\nSUMMARY:x\nEND:VEVENT\n";
    let many = format!(
        "BEGIN:VCALENDAR\nVERSION:2.0\n{}END:VCALENDAR\n",
        event.repeat(10 * tend_core::gatherings::MAX_ICS_EVENTS)
    );
    assert!(many.len() < tend_core::gatherings::MAX_ICS_BYTES);
    assert!(matches!(
        vault.gatherings().import_ics(&many, "UTC"),
        Err(Error::Import(problem)) if problem.contains("5,000 events")
    ));
    assert!(vault.gatherings().list().unwrap().is_empty());
    // Real depth still imports.
    assert!(
        vault
            .gatherings()
            .import_ics(&fixture("google.ics"), "America/Chicago")
            .is_ok()
    );
}

/// Issue 14: a 0m reminder was exported as TRIGGER:PT0M and dropped on
/// import; a second RRULE and alarms past ten were dropped in silence.
#[test]
fn nothing_in_a_calendar_is_dropped_in_silence() {
    let good = fixture("google.ics");
    let dir = tempfile::tempdir().unwrap();
    let vault = new_vault(dir.path());
    let at_start = good.replace("TRIGGER:-P1D", "TRIGGER:PT0M");
    vault
        .gatherings()
        .import_ics(&at_start, "America/Chicago")
        .unwrap();
    let reminders = &vault.gatherings().list().unwrap()[0].reminders;
    assert!(
        reminders.contains(&tend_core::gatherings::ReminderOffset::minutes(0)),
        "{reminders:?}"
    );
    let refusals = [
        (
            good.replace(
                "RRULE:FREQ=MONTHLY;BYDAY=1SA",
                "RRULE:FREQ=MONTHLY;BYDAY=1SA\nRRULE:FREQ=MONTHLY;BYDAY=3SA",
            ),
            "more than one RRULE",
        ),
        (
            good.replace(
                "TRIGGER:-P1D\nEND:VALARM",
                &((1..=10)
                    .map(|d| format!("TRIGGER:-P{d}D\nEND:VALARM\nBEGIN:VALARM\nACTION:DISPLAY\n"))
                    .collect::<String>()
                    + "TRIGGER:-PT5M\nEND:VALARM"),
            ),
            "more than 10 reminders",
        ),
    ];
    for (text, words) in refusals {
        let fresh = tempfile::tempdir().unwrap();
        let vault = new_vault(fresh.path());
        match vault.gatherings().import_ics(&text, "America/Chicago") {
            Err(Error::ImportLine { problem, .. }) => {
                assert!(problem.contains(words), "{problem}")
            }
            other => panic!("expected {words:?} refused: {other:?}"),
        }
        assert!(vault.gatherings().list().unwrap().is_empty());
    }
}
