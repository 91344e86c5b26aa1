//! Gatherings: RFC 5545 recurrence, time zones across daylight saving,
//! overrides, RSVPs and reminders.

mod common;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use common::new_vault;
use tend_core::Error;
use tend_core::gatherings::{
    GatheringKind, NewGathering, RESTORATIVE_DESCRIPTION, ReminderOffset, Rsvp, expand,
};

fn local(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap()
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Local starts, as `YYYYMMDD` (the RFC's examples list dates).
fn days(start: &str, zone: &str, rule: &str, count: usize) -> Vec<String> {
    expand(local(start), zone, Some(rule), count)
        .unwrap()
        .iter()
        .map(|t| t.format("%Y%m%d").to_string())
        .collect()
}

fn list(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

const NY: &str = "America/New_York";

#[test]
fn rfc_5545_examples() {
    // Section 3.8.5.3, the examples that apply to gatherings.
    let cases: &[(&str, &str, usize, &str)] = &[
        (
            "1997-09-02T09:00",
            "FREQ=DAILY;COUNT=10",
            100,
            "19970902 19970903 19970904 19970905 19970906 19970907 19970908 19970909 19970910 19970911",
        ),
        (
            "1997-09-02T09:00",
            "FREQ=DAILY;INTERVAL=10;COUNT=5",
            100,
            "19970902 19970912 19970922 19971002 19971012",
        ),
        (
            "1997-09-02T09:00",
            "FREQ=DAILY;INTERVAL=2",
            4,
            "19970902 19970904 19970906 19970908",
        ),
        (
            "1997-09-02T09:00",
            "FREQ=WEEKLY;COUNT=10",
            100,
            "19970902 19970909 19970916 19970923 19970930 19971007 19971014 19971021 19971028 19971104",
        ),
        (
            "1997-09-02T09:00",
            "FREQ=WEEKLY;UNTIL=19971007T000000Z;WKST=SU;BYDAY=TU,TH",
            100,
            "19970902 19970904 19970909 19970911 19970916 19970918 19970923 19970925 19970930 19971002",
        ),
        (
            "1997-09-02T09:00",
            "FREQ=WEEKLY;INTERVAL=2;WKST=SU;COUNT=8;BYDAY=TU,TH",
            100,
            "19970902 19970904 19970916 19970918 19970930 19971002 19971014 19971016",
        ),
        (
            "1997-09-05T09:00",
            "FREQ=MONTHLY;COUNT=10;BYDAY=1FR",
            100,
            "19970905 19971003 19971107 19971205 19980102 19980206 19980306 19980403 19980501 19980605",
        ),
        (
            "1997-09-07T09:00",
            "FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYDAY=1SU,-1SU",
            100,
            "19970907 19970928 19971102 19971130 19980104 19980125 19980301 19980329 19980503 19980531",
        ),
        (
            "1997-09-22T09:00",
            "FREQ=MONTHLY;COUNT=6;BYDAY=-2MO",
            100,
            "19970922 19971020 19971117 19971222 19980119 19980216",
        ),
        (
            "1997-09-28T09:00",
            "FREQ=MONTHLY;BYMONTHDAY=-3",
            6,
            "19970928 19971029 19971128 19971229 19980129 19980226",
        ),
        (
            "1997-09-02T09:00",
            "FREQ=MONTHLY;COUNT=10;BYMONTHDAY=2,15",
            100,
            "19970902 19970915 19971002 19971015 19971102 19971115 19971202 19971215 19980102 19980115",
        ),
        (
            "1997-09-02T09:00",
            "FREQ=MONTHLY;INTERVAL=2;BYDAY=TU",
            10,
            "19970902 19970909 19970916 19970923 19970930 19971104 19971111 19971118 19971125 19980106",
        ),
        (
            "1997-06-10T09:00",
            "FREQ=YEARLY;COUNT=10;BYMONTH=6,7",
            100,
            "19970610 19970710 19980610 19980710 19990610 19990710 20000610 20000710 20010610 20010710",
        ),
        (
            "1997-09-04T09:00",
            "FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3",
            100,
            "19970904 19971007 19971106",
        ),
        (
            "1997-09-29T09:00",
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2",
            7,
            "19970929 19971030 19971127 19971230 19980129 19980226 19980330",
        ),
        // Friday the 13th; the RFC excludes its off-rule DTSTART, which Tend
        // normalises away instead (see docs/gatherings.md).
        (
            "1997-09-02T09:00",
            "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13",
            5,
            "19980213 19980313 19981113 19990813 20001013",
        ),
    ];
    for (start, rule, count, expected) in cases {
        assert_eq!(days(start, NY, rule, *count), list(expected), "{rule}");
    }
}

#[test]
fn daily_until_a_utc_instant_counts_local_days() {
    // RFC 5545: DTSTART 1997-09-02 09:00 New York, UNTIL 1997-12-24 00:00Z: 113 days.
    let all = days(
        "1997-09-02T09:00",
        NY,
        "FREQ=DAILY;UNTIL=19971224T000000Z",
        1000,
    );
    assert_eq!(all.len(), 113);
    assert_eq!(all.last().unwrap(), "19971223");
}

#[test]
fn the_last_friday_and_first_saturday() {
    assert_eq!(
        days(
            "2026-01-30T19:00",
            "Europe/Berlin",
            "FREQ=MONTHLY;BYDAY=-1FR",
            4
        ),
        list("20260130 20260227 20260327 20260424")
    );
    assert_eq!(
        days(
            "2026-12-05T18:00",
            "America/Chicago",
            "FREQ=MONTHLY;BYDAY=1SA",
            4
        ),
        list("20261205 20270102 20270206 20270306")
    );
}

#[test]
fn eighteen_hundred_stays_eighteen_hundred_across_daylight_saving() {
    for (zone, winter, summer) in [
        ("America/Chicago", -6, -5),
        ("Europe/Berlin", 1, 2),
        ("Australia/Sydney", 11, 10),
    ] {
        let starts = expand(
            local("2026-01-03T18:00"),
            zone,
            Some("FREQ=MONTHLY;BYDAY=1SA"),
            12,
        )
        .unwrap();
        let offsets: Vec<i32> = starts
            .iter()
            .map(|t| {
                assert_eq!(t.format("%H:%M").to_string(), "18:00", "{zone}");
                chrono::Offset::fix(t.offset()).local_minus_utc() / 3600
            })
            .collect();
        assert_eq!(offsets[0], winter, "{zone} in January");
        assert_eq!(offsets[6], summer, "{zone} in July");
    }
}

#[test]
fn a_start_in_the_spring_gap_moves_forward_by_the_gap() {
    for (zone, gap_day, expected_utc) in [
        ("America/Chicago", "2026-03-08", "2026-03-08T08:30:00Z"),
        ("Europe/Berlin", "2026-03-29", "2026-03-29T01:30:00Z"),
        ("Australia/Sydney", "2026-10-04", "2026-10-03T16:30:00Z"),
    ] {
        let start = local(&format!("{gap_day}T02:30")) - Duration::days(1);
        let starts = expand(start, zone, Some("FREQ=DAILY;COUNT=3"), 3).unwrap();
        // The day of the gap: 02:30 does not exist; 03:30 of the new offset.
        assert_eq!(starts[1].with_timezone(&Utc), utc(expected_utc), "{zone}");
        assert_eq!(starts[1].format("%H:%M").to_string(), "03:30", "{zone}");
        // The day after: 02:30 again.
        assert_eq!(starts[2].format("%H:%M").to_string(), "02:30", "{zone}");
    }
}

#[test]
fn a_start_in_the_autumn_overlap_is_the_first_of_the_two() {
    for (zone, overlap_day, time, expected_utc) in [
        (
            "America/Chicago",
            "2026-11-01",
            "01:30",
            "2026-11-01T06:30:00Z",
        ),
        (
            "Europe/Berlin",
            "2026-10-25",
            "02:30",
            "2026-10-25T00:30:00Z",
        ),
        (
            "Australia/Sydney",
            "2026-04-05",
            "02:30",
            "2026-04-04T15:30:00Z",
        ),
    ] {
        let starts = expand(local(&format!("{overlap_day}T{time}")), zone, None, 1).unwrap();
        assert_eq!(starts[0].with_timezone(&Utc), utc(expected_utc), "{zone}");
    }
}

#[test]
fn a_start_off_the_rule_is_moved_to_the_first_occurrence() {
    // 2026-12-01 is a Tuesday; the first Saturday after it is the 5th.
    let starts = days(
        "2026-12-01T18:00",
        "America/Chicago",
        "FREQ=MONTHLY;BYDAY=1SA",
        2,
    );
    assert_eq!(starts, list("20261205 20270102"));
}

#[test]
fn malformed_rules_and_zones_are_typed_errors() {
    for (zone, rule) in [
        ("Europe/Berlin", "FREQ=SOMETIMES"),
        ("Europe/Berlin", "BYDAY=1SA"),
        ("Europe/Berlin", "FREQ=HOURLY"),
        ("Europe/Berlin", "FREQ=MONTHLY;BYDAY=9SA"),
        ("Europe/Berlin", "FREQ=MONTHLY;UNTIL=tomorrow"),
        ("Europe/Berlin", "FREQ=MONTHLY;COUNT=-1"),
        ("Europe/Berlin", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"),
        ("Europe/Berlin", "DTSTART=20260101T000000;FREQ=DAILY"),
        ("Mars/Olympus_Mons", "FREQ=DAILY"),
        // Issue 14: every five minutes, spelled with lists instead of FREQ.
        (
            "Europe/Berlin",
            "FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;\
             BYMINUTE=0,5,10,15,20,25,30,35,40,45,50,55",
        ),
        ("Europe/Berlin", "FREQ=WEEKLY;BYHOUR=9,17"),
        // Found by fuzz/import_ics: rrule's weekday parser sliced inside a
        // multi-byte character and panicked.
        ("Europe/Berlin", "FREQ=MONTHLY;BYDAY=\u{3eb}A"),
        ("Europe/Berlin", "FREQ=MONTHLY;BYDAY=1SA;BYMINUTE=0,30"),
    ] {
        let result = expand(local("2026-01-01T18:00"), zone, Some(rule), 5);
        assert!(
            matches!(
                result,
                Err(Error::Invalid {
                    field: "recurrence" | "time zone",
                    ..
                })
            ),
            "{rule} in {zone}: {result:?}"
        );
    }
}

#[test]
fn the_monthly_restorative_gathering_preset() {
    let dir = tempfile::tempdir().unwrap();
    let vault = new_vault(dir.path());
    let preset = NewGathering::monthly_restorative(
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
        "America/Chicago",
        "Community room",
    );
    let g = vault.gatherings().add(preset).unwrap();
    assert_eq!(g.kind, GatheringKind::RestorativeGathering);
    assert_eq!(g.starts_at, local("2026-12-05T18:00"));
    assert_eq!(g.duration, Duration::hours(2));
    assert_eq!(
        g.reminders,
        vec![ReminderOffset::days(7), ReminderOffset::days(1)]
    );
    assert_eq!(g.description, RESTORATIVE_DESCRIPTION);
    for words in ["quiet", "greeting round", "secondary"] {
        assert!(g.description.contains(words));
    }

    let now = utc("2026-11-26T12:00:00Z");
    let reminders = vault.gatherings().next_reminders(now, 4).unwrap();
    let fires: Vec<String> = reminders
        .iter()
        .map(|r| {
            r.fires_at
                .with_timezone(&Tz::America__Chicago)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .collect();
    assert_eq!(
        fires,
        [
            "2026-11-28 18:00",
            "2026-12-04 18:00",
            "2026-12-26 18:00",
            "2027-01-01 18:00"
        ]
    );
}

#[test]
fn reminders_follow_skips_moves_and_edits() {
    let dir = tempfile::tempdir().unwrap();
    let vault = new_vault(dir.path());
    let g = vault
        .gatherings()
        .add(NewGathering::monthly_restorative(
            NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
            "Europe/Berlin",
            "",
        ))
        .unwrap();
    let now = utc("2026-11-26T12:00:00Z");
    let next = |n| vault.gatherings().next_reminders(now, n).unwrap();
    assert_eq!(next(2)[1].original_start, local("2026-12-05T18:00"));

    // Skip December: the first reminders are January's.
    vault
        .gatherings()
        .cancel_occurrence(g.id, local("2026-12-05T18:00"))
        .unwrap();
    assert!(
        next(2)
            .iter()
            .all(|r| r.original_start == local("2027-01-02T18:00"))
    );
    let december = vault
        .gatherings()
        .occurrences(utc("2026-12-01T00:00:00Z"), utc("2026-12-31T00:00:00Z"))
        .unwrap();
    assert!(december.is_empty());

    // Move it to Sunday instead: reminders follow the new time.
    vault
        .gatherings()
        .move_occurrence(
            g.id,
            local("2026-12-05T18:00"),
            local("2026-12-06T17:00"),
            None,
        )
        .unwrap();
    let moved = next(2);
    assert_eq!(moved[1].starts_at, utc("2026-12-06T16:00:00Z"));
    assert_eq!(moved[1].fires_at, utc("2026-12-05T16:00:00Z"));
    let december = vault
        .gatherings()
        .occurrences(utc("2026-12-01T00:00:00Z"), utc("2026-12-31T00:00:00Z"))
        .unwrap();
    assert_eq!(december.len(), 1);
    assert!(december[0].moved);
    assert_eq!(december[0].local_start, local("2026-12-06T17:00"));

    // Restore, then edit: 19:00 and a reminder an hour before.
    vault
        .gatherings()
        .restore_occurrence(g.id, local("2026-12-05T18:00"))
        .unwrap();
    let mut edited = NewGathering::monthly_restorative(
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
        "Europe/Berlin",
        "",
    );
    edited.starts_at = local("2026-12-05T19:00");
    edited.reminders = vec![ReminderOffset::minutes(60)];
    vault.gatherings().update(g.id, edited).unwrap();
    let after = next(1);
    assert_eq!(after[0].fires_at, utc("2026-12-05T17:00:00Z"));
}

#[test]
fn rsvps_and_private_notes_stay_with_their_occurrence() {
    let dir = tempfile::tempdir().unwrap();
    let vault = new_vault(dir.path());
    let g = vault
        .gatherings()
        .add(NewGathering::monthly_restorative(
            NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
            "Europe/Berlin",
            "",
        ))
        .unwrap();
    let first = local("2026-12-05T18:00");
    vault
        .gatherings()
        .rsvp(
            g.id,
            first,
            Some(Rsvp::Going),
            Some("bringing: watercolours"),
        )
        .unwrap();
    let occ = vault
        .gatherings()
        .occurrences(utc("2026-12-01T00:00:00Z"), utc("2027-01-31T00:00:00Z"))
        .unwrap();
    assert_eq!(occ.len(), 2);
    assert_eq!(occ[0].rsvp, Some(Rsvp::Going));
    assert_eq!(occ[0].note.as_deref(), Some("bringing: watercolours"));
    assert_eq!(occ[1].rsvp, None);
    assert!(matches!(
        vault
            .gatherings()
            .rsvp(g.id, local("2026-12-06T18:00"), Some(Rsvp::Maybe), None),
        Err(Error::NotFound { what: "occurrence" })
    ));
}

#[test]
fn a_member_who_travels_sees_the_same_instant() {
    let starts = expand(
        local("2026-12-05T18:00"),
        "America/Chicago",
        Some("FREQ=MONTHLY;BYDAY=1SA"),
        1,
    )
    .unwrap();
    let in_berlin = starts[0].with_timezone(&Tz::Europe__Berlin);
    assert_eq!(
        in_berlin.format("%Y-%m-%d %H:%M").to_string(),
        "2026-12-06 01:00"
    );
    let in_tokyo = starts[0].with_timezone(&Tz::Asia__Tokyo);
    assert_eq!(
        in_tokyo.format("%Y-%m-%d %H:%M").to_string(),
        "2026-12-06 09:00"
    );
}

#[test]
fn invalid_gatherings_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let vault = new_vault(dir.path());
    let good = NewGathering::monthly_restorative(
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
        "Europe/Berlin",
        "",
    );
    for bad in [
        NewGathering {
            title: " ".into(),
            ..good.clone()
        },
        NewGathering {
            duration: Duration::zero(),
            ..good.clone()
        },
        NewGathering {
            time_zone: "Europe/Atlantis".into(),
            ..good.clone()
        },
        NewGathering {
            recurrence: Some("FREQ=NEVER".into()),
            ..good.clone()
        },
        NewGathering {
            reminders: vec![ReminderOffset::days(90)],
            ..good.clone()
        },
    ] {
        assert!(matches!(
            vault.gatherings().add(bad),
            Err(Error::Invalid { .. })
        ));
    }
    assert!(vault.gatherings().list().unwrap().is_empty());
}

#[test]
fn next_reminders_merges_many_gatherings_soonest_first() {
    let dir = tempfile::tempdir().unwrap();
    let vault = new_vault(dir.path());
    let zones = [
        "Europe/Berlin",
        "America/Chicago",
        "Australia/Sydney",
        "Asia/Kolkata",
    ];
    for (i, zone) in zones.iter().enumerate() {
        vault
            .gatherings()
            .add(NewGathering {
                title: format!("Meeting {i}"),
                kind: GatheringKind::Meeting,
                description: String::new(),
                location: String::new(),
                starts_at: local("2026-11-02T19:00") + Duration::days(i as i64),
                time_zone: zone.to_string(),
                duration: Duration::minutes(90),
                recurrence: Some("FREQ=WEEKLY".into()),
                reminders: vec![ReminderOffset::days(1), ReminderOffset::minutes(30)],
            })
            .unwrap();
    }
    let now = utc("2026-11-26T12:00:00Z");
    let got = vault.gatherings().next_reminders(now, 64).unwrap();
    assert_eq!(got.len(), 64);
    assert!(got.windows(2).all(|w| w[0].fires_at <= w[1].fires_at));
    assert!(got.iter().all(|r| r.fires_at >= now));
    // Against brute force: every reminder of the next 20 weeks, sorted.
    let occ = vault
        .gatherings()
        .occurrences(now, now + Duration::weeks(20))
        .unwrap();
    let mut brute: Vec<DateTime<Utc>> = occ
        .iter()
        .flat_map(|o| {
            let zone: Tz = o.time_zone.parse().unwrap();
            let day_before = zone
                .from_local_datetime(&(o.local_start - Duration::days(1)))
                .earliest()
                .unwrap()
                .with_timezone(&Utc);
            [day_before, o.starts_at - Duration::minutes(30)]
        })
        .filter(|t| *t >= now)
        .collect();
    brute.sort();
    brute.truncate(64);
    assert_eq!(got.iter().map(|r| r.fires_at).collect::<Vec<_>>(), brute);
}

#[test]
fn occurrences_years_later_match_a_full_expansion() {
    // Occurrences far from the first are found by re-anchoring the rule
    // nearer; this checks that against walking every occurrence.
    let dir = tempfile::tempdir().unwrap();
    let vault = new_vault(dir.path());
    let rules = [
        "FREQ=DAILY;INTERVAL=3",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
        "FREQ=WEEKLY;INTERVAL=3",
        "FREQ=MONTHLY;INTERVAL=2;BYDAY=TU,WE,TH;BYSETPOS=3",
        "FREQ=MONTHLY;BYMONTHDAY=-3",
        "FREQ=MONTHLY;INTERVAL=5",
        "FREQ=YEARLY;BYMONTH=5;BYDAY=1SU",
        "FREQ=YEARLY;INTERVAL=2",
        "FREQ=MONTHLY;BYDAY=1SA;UNTIL=20300101T000000Z",
    ];
    let start = local("2025-01-09T18:00");
    let (from, to) = (utc("2028-03-01T00:00:00Z"), utc("2029-09-01T00:00:00Z"));
    for rule in rules {
        let g = vault
            .gatherings()
            .add(NewGathering {
                title: rule.into(),
                kind: GatheringKind::Other,
                description: String::new(),
                location: String::new(),
                starts_at: start,
                time_zone: "Europe/Berlin".into(),
                duration: Duration::hours(1),
                recurrence: Some(rule.into()),
                reminders: vec![],
            })
            .unwrap();
        let found: Vec<NaiveDateTime> = vault
            .gatherings()
            .occurrences(from, to)
            .unwrap()
            .into_iter()
            .filter(|o| o.gathering == g.id)
            .map(|o| o.local_start)
            .collect();
        let walked: Vec<NaiveDateTime> = expand(start, "Europe/Berlin", Some(rule), 2000)
            .unwrap()
            .into_iter()
            .filter(|t| t.with_timezone(&Utc) >= from && t.with_timezone(&Utc) < to)
            .map(|t| t.naive_local())
            .collect();
        assert!(!walked.is_empty(), "{rule}");
        assert_eq!(found, walked, "{rule}");
    }
}

/// Issue 14: seconds in a start vanished from every view, so the time shown
/// could not name the occurrence again. Starts are on the minute.
#[test]
fn a_start_with_seconds_is_refused_not_hidden() {
    let dir = tempfile::tempdir().unwrap();
    let vault = new_vault(dir.path());
    let mut new = NewGathering::monthly_restorative(
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
        "America/Chicago",
        "Community room",
    );
    new.starts_at = local("2026-12-05T18:00") + Duration::seconds(30);
    assert!(matches!(
        vault.gatherings().add(new.clone()),
        Err(Error::Invalid { field: "start", .. })
    ));
    new.starts_at = local("2026-12-05T18:00");
    let g = vault.gatherings().add(new).unwrap();
    assert!(matches!(
        vault.gatherings().move_occurrence(
            g.id,
            local("2026-12-05T18:00"),
            local("2026-12-06T17:00") + Duration::seconds(1),
            None
        ),
        Err(Error::Invalid {
            field: "new start",
            ..
        })
    ));
}
