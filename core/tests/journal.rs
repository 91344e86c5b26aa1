//! The journal through its public API.

mod common;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use common::{assert_no_plaintext, entry, new_vault};
use tend_core::journal::{
    DaylioOptions, EntryFilter, ExportFormat, ExportProtection, NewEntry, TagKind, UnknownMoods,
};
use tend_core::{Error, SecretString};

fn at(day: u32, hour: u32, offset_hours: i32) -> DateTime<FixedOffset> {
    FixedOffset::east_opt(offset_hours * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 3, day, hour, 0, 0)
        .unwrap()
}

fn on(day: u32, mood: u8, activities: &[&str]) -> NewEntry {
    NewEntry {
        written_at: Some(at(day, 20, 1)),
        mood: Some(mood),
        activities: activities.iter().map(|s| s.to_string()).collect(),
        ..entry(&format!("day {day}"))
    }
}

#[test]
fn add_edit_and_delete_an_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = new_vault(tmp.path());
    let j = vault.journal();
    let added = j
        .add(NewEntry {
            written_at: Some(at(5, 23, -6)),
            mood: Some(4),
            feelings: vec!["calm".into(), " Calm ".into(), "hopeful".into()],
            activities: vec!["walk".into()],
            title: Some("  Evening  ".into()),
            body: "by the river".into(),
        })
        .unwrap();
    // 23:00 at UTC-6 is already the next day in UTC; the local day stays the 5th.
    assert_eq!(
        added.local_date(),
        NaiveDate::from_ymd_opt(2026, 3, 5).unwrap()
    );
    assert_eq!(added.feelings, ["calm", "hopeful"]);
    assert_eq!(added.title.as_deref(), Some("Evening"));
    assert_eq!(j.get(added.id).unwrap(), added);

    let edited = j
        .update(
            added.id,
            NewEntry {
                mood: Some(2),
                ..entry("rewritten")
            },
        )
        .unwrap();
    assert_eq!(edited.id, added.id);
    assert_eq!(edited.body, "rewritten");
    assert!(edited.updated_at >= added.updated_at);
    assert!(j.search("river", 10).unwrap().is_empty());
    assert_eq!(j.search("rewritten", 10).unwrap().len(), 1);

    j.delete(added.id).unwrap();
    assert!(matches!(j.get(added.id), Err(Error::NotFound { .. })));
    assert!(j.search("rewritten", 10).unwrap().is_empty());
    assert!(
        j.tags(TagKind::Feeling).unwrap().is_empty(),
        "unused tags go too"
    );
    assert!(matches!(j.delete(added.id), Err(Error::NotFound { .. })));
    assert!(
        vault.integrity_check().unwrap(),
        "the index matches the entries"
    );
}

#[test]
fn several_entries_a_day_list_newest_first_in_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = new_vault(tmp.path());
    let j = vault.journal();
    for i in 0..25 {
        j.add(NewEntry {
            written_at: Some(at(1 + i / 3, 8 + (i % 3) * 4, 0)),
            ..entry(&format!("n{i}"))
        })
        .unwrap();
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = j.list(&EntryFilter::default(), 10, after).unwrap();
        seen.extend(page.entries.iter().map(|e| e.written_at));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 25);
    assert!(seen.windows(2).all(|w| w[0] >= w[1]));
}

#[test]
fn filters_by_days_mood_and_tag() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = new_vault(tmp.path());
    let j = vault.journal();
    for day in 1..=10 {
        j.add(on(
            day,
            (day % 5 + 1) as u8,
            if day % 2 == 0 { &["Walk"] } else { &[] },
        ))
        .unwrap();
    }
    let list = |f: EntryFilter| j.list(&f, 100, None).unwrap().entries.len();
    let d = |n| NaiveDate::from_ymd_opt(2026, 3, n);
    assert_eq!(
        list(EntryFilter {
            from: d(3),
            to: d(6),
            ..Default::default()
        }),
        4
    );
    assert_eq!(
        list(EntryFilter {
            mood_min: Some(4),
            ..Default::default()
        }),
        4
    );
    assert_eq!(
        list(EntryFilter {
            mood_max: Some(1),
            ..Default::default()
        }),
        2
    );
    assert_eq!(
        list(EntryFilter {
            tag: Some("walk".into()),
            ..Default::default()
        }),
        5
    );
    assert_eq!(
        list(EntryFilter {
            tag: Some("walk".into()),
            from: d(5),
            ..Default::default()
        }),
        3
    );
    assert!(matches!(
        j.list(
            &EntryFilter {
                from: d(6),
                to: d(3),
                ..Default::default()
            },
            10,
            None
        ),
        Err(Error::Invalid { .. })
    ));
}

#[test]
fn search_finds_words_prefixes_and_tags_with_a_snippet() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = new_vault(tmp.path());
    let j = vault.journal();
    j.add(NewEntry {
        activities: vec!["pottery".into()],
        ..entry("The café was warm and we talked about the rent strike for hours.")
    })
    .unwrap();
    j.add(entry("Nothing much.")).unwrap();
    let hits = j.search("cafe rent", 10).unwrap();
    assert_eq!(hits.len(), 1, "diacritics fold and words combine");
    assert!(
        hits[0]
            .snippet
            .iter()
            .any(|p| p.matched && p.text == "rent")
    );
    assert_eq!(
        j.search("strik", 10).unwrap().len(),
        1,
        "last word is a prefix"
    );
    assert_eq!(
        j.search("pottery", 10).unwrap().len(),
        1,
        "tags are searchable"
    );
    assert!(j.search("\"unbalanced NEAR( OR", 10).unwrap().is_empty());
    assert!(j.search("   ", 10).unwrap().is_empty());
}

#[test]
fn tags_rename_and_merge() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = new_vault(tmp.path());
    let j = vault.journal();
    let a = j.add(on(1, 3, &["jog"])).unwrap();
    let b = j.add(on(2, 3, &["run", "jog"])).unwrap();
    assert!(matches!(
        j.rename_tag(TagKind::Activity, "jog", "RUN"),
        Err(Error::TagExists)
    ));
    j.merge_tags(TagKind::Activity, "jog", "run").unwrap();
    assert_eq!(j.get(a.id).unwrap().activities, ["run"]);
    assert_eq!(j.get(b.id).unwrap().activities, ["run"]);
    j.rename_tag(TagKind::Activity, "run", "running").unwrap();
    assert_eq!(
        j.search("running", 10).unwrap().len(),
        2,
        "the index follows renames"
    );
    assert!(j.search("jog", 10).unwrap().is_empty());
    let tags = j.tags(TagKind::Activity).unwrap();
    assert_eq!((tags[0].name.as_str(), tags[0].entries), ("running", 2));
    assert!(matches!(
        j.rename_tag(TagKind::Activity, "nope", "x"),
        Err(Error::NotFound { .. })
    ));
    assert!(
        vault.integrity_check().unwrap(),
        "the index matches the entries"
    );
}

#[test]
fn the_mood_scale_can_grow_shrink_and_be_renamed() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = new_vault(tmp.path());
    let j = vault.journal();
    let labels: Vec<_> = j
        .mood_scale()
        .unwrap()
        .steps
        .into_iter()
        .map(|s| s.label)
        .collect();
    assert_eq!(labels, ["awful", "bad", "okay", "good", "great"]);
    let e = j.add(on(1, 5, &[])).unwrap();
    assert!(matches!(
        j.add(on(1, 6, &[])),
        Err(Error::MoodOutOfScale { value: 6, steps: 5 })
    ));
    assert!(matches!(
        j.add(on(1, 0, &[])),
        Err(Error::MoodOutOfScale { .. })
    ));
    let ten: Vec<String> = (1..=10).map(|i| format!("level {i}")).collect();
    j.set_mood_scale(ten).unwrap();
    j.add(on(2, 10, &[])).unwrap();
    assert!(matches!(
        j.set_mood_scale(vec!["low".into(), "mid".into(), "high".into()]),
        Err(Error::MoodScaleShrink {
            steps: 3,
            entries: 2
        })
    ));
    assert!(matches!(
        j.set_mood_scale(vec!["a".into(), "b".into()]),
        Err(Error::MoodScaleSize(2))
    ));
    assert!(matches!(
        j.set_mood_scale(vec!["a".into(); 11]),
        Err(Error::MoodScaleSize(11))
    ));
    let scale = j.rename_mood(5, "steady").unwrap();
    assert_eq!(scale.label(5), Some("steady"));
    assert_eq!(
        j.get(e.id).unwrap().mood,
        Some(5),
        "values stay when labels change"
    );
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = new_vault(tmp.path());
    let j = vault.journal();
    let long_title = NewEntry {
        title: Some("t".repeat(201)),
        ..entry("x")
    };
    let long_body = entry(&"x".repeat(300 * 1024));
    let bad_tag = NewEntry {
        feelings: vec!["a\u{7}b".into()],
        ..entry("x")
    };
    let too_early = NewEntry {
        written_at: Some(
            FixedOffset::east_opt(0)
                .unwrap()
                .with_ymd_and_hms(1800, 1, 1, 0, 0, 0)
                .unwrap(),
        ),
        ..entry("x")
    };
    for bad in [long_title, long_body, bad_tag, too_early] {
        assert!(matches!(j.add(bad), Err(Error::Invalid { .. })));
    }
    assert_eq!(j.count().unwrap(), 0);
    assert!(j.tags(TagKind::Feeling).unwrap().is_empty());
}

#[test]
fn insights_average_by_day_week_and_month_and_compare_tags() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = new_vault(tmp.path());
    let j = vault.journal();
    // Walk days are 5s, others 2s; two entries on the 1st average to 3.5.
    for day in 1..=8 {
        let walk = day % 2 == 0;
        j.add(on(
            day,
            if walk { 5 } else { 2 },
            if walk { &["walk"] } else { &["desk"] },
        ))
        .unwrap();
    }
    j.add(on(1, 5, &["desk"])).unwrap();
    j.add(NewEntry {
        mood: None,
        ..on(9, 1, &[])
    })
    .unwrap();
    // A tag on too few days is not compared.
    j.add(on(3, 2, &["rare"])).unwrap();

    let i = j.insights(None, None).unwrap();
    assert_eq!(i.counts.entries, 11);
    assert_eq!(i.counts.entries_with_mood, 10);
    assert_eq!(i.counts.days_written, 9);
    assert_eq!(i.by_day[0].average, 3.5);
    assert_eq!(i.by_day[0].entries, 2);
    // 2026-03-01 is a Sunday: its week starts Monday 23 February.
    assert_eq!(
        i.by_week[0].start,
        NaiveDate::from_ymd_opt(2026, 2, 23).unwrap()
    );
    assert_eq!(i.by_week[0].entries, 2);
    assert_eq!(i.by_month.len(), 1);
    assert_eq!(i.by_month[0].entries, 10);
    let dist: Vec<u64> = i.distribution.iter().map(|d| d.entries).collect();
    assert_eq!(dist, [0, 5, 0, 0, 5]);
    let names: Vec<&str> = i.tags.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["walk", "desk"]);
    let walk = &i.tags[0];
    assert_eq!((walk.days_with, walk.days_without), (4, 4));
    assert_eq!(walk.average_with, 5.0);
    assert_eq!(walk.average_without, (3.5 + 2.0 * 3.0) / 4.0);

    let week = j
        .insights(
            NaiveDate::from_ymd_opt(2026, 3, 2),
            NaiveDate::from_ymd_opt(2026, 3, 4),
        )
        .unwrap();
    assert_eq!(week.counts.entries, 4);
    assert!(
        week.tags.is_empty(),
        "three days cannot give three on each side"
    );
}

fn daylio(
    file: &str,
    unknown: UnknownMoods,
) -> (
    tempfile::TempDir,
    tend_core::Vault,
    Result<tend_core::journal::ImportSummary, Error>,
) {
    let tmp = tempfile::tempdir().unwrap();
    let vault = new_vault(tmp.path());
    let path = format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
    let options = DaylioOptions {
        time_zone: "Europe/Berlin".parse().unwrap(),
        unknown_moods: unknown,
    };
    let result =
        vault
            .journal()
            .import_daylio(std::fs::File::open(path).unwrap(), &options, &mut |_, _| {});
    (tmp, vault, result)
}

#[test]
fn daylio_exports_import_with_quotes_newlines_emoji_and_both_time_styles() {
    let (_tmp, vault, result) = daylio("daylio-v2.csv", UnknownMoods::Report);
    let summary = result.unwrap();
    assert_eq!(summary.added, 5);
    let j = vault.journal();
    let all = j.list(&EntryFilter::default(), 100, None).unwrap().entries;
    let park = all
        .iter()
        .find(|e| e.body.starts_with("Went to the park"))
        .unwrap();
    assert_eq!(
        park.body,
        "Went to the park.\nPainted ducks, then \"tea\" with Sam."
    );
    assert_eq!(park.activities, ["friends", "🎨 painting", "walk"]);
    assert_eq!(park.title.as_deref(), Some("Good day"));
    assert_eq!(park.mood, Some(5));
    assert_eq!(park.written_at.to_rfc3339(), "2024-03-10T21:05:00+01:00");
    let midnight = all.iter().find(|e| e.body == "Couldn't sleep").unwrap();
    assert_eq!(
        midnight.written_at.to_rfc3339(),
        "2024-03-08T00:30:00+01:00"
    );
    assert_eq!(midnight.mood, Some(1));
    let gap = all
        .iter()
        .find(|e| e.body.starts_with("In the gap"))
        .unwrap();
    assert_eq!(gap.written_at.to_rfc3339(), "2024-03-31T02:30:00+01:00");

    // The same file again adds nothing.
    let path = format!(
        "{}/tests/fixtures/daylio-v2.csv",
        env!("CARGO_MANIFEST_DIR")
    );
    let options = DaylioOptions {
        time_zone: "Europe/Berlin".parse().unwrap(),
        unknown_moods: UnknownMoods::Report,
    };
    let again = j
        .import_daylio(std::fs::File::open(path).unwrap(), &options, &mut |_, _| {})
        .unwrap();
    assert_eq!((again.added, again.unchanged), (0, 5));
    assert_eq!(j.count().unwrap(), 5);
}

#[test]
fn a_bad_daylio_row_names_its_line_and_imports_nothing() {
    let (_tmp, vault, result) = daylio("daylio-bad-date.csv", UnknownMoods::Report);
    match result {
        Err(Error::ImportLine { line: 3, problem }) => {
            assert!(problem.contains("date"), "{problem}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(vault.journal().count().unwrap(), 0);
}

#[test]
fn unknown_daylio_moods_are_reported_or_mapped_by_position() {
    let (_tmp, vault, result) = daylio("daylio-custom-moods.csv", UnknownMoods::Report);
    assert!(matches!(result, Err(Error::ImportLine { line: 2, .. })));
    assert_eq!(vault.journal().count().unwrap(), 0);
    let mapped = UnknownMoods::ByPosition(vec![
        "ecstatic".into(),
        "happy".into(),
        "fine".into(),
        "low".into(),
        "terrible".into(),
    ]);
    let (_tmp, vault, result) = daylio("daylio-custom-moods.csv", mapped);
    assert_eq!(result.unwrap().added, 3);
    let moods: Vec<_> = vault
        .journal()
        .list(&EntryFilter::default(), 10, None)
        .unwrap()
        .entries
        .iter()
        .map(|e| e.mood)
        .collect();
    assert_eq!(moods, [Some(1), Some(3), Some(5)]);
}

#[test]
fn hostile_daylio_files_give_typed_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = new_vault(tmp.path());
    let options = DaylioOptions {
        time_zone: chrono_tz::UTC,
        unknown_moods: UnknownMoods::Report,
    };
    let cases: [(&[u8], &str); 5] = [
        (b"", "empty"),
        (b"name,age\nbob,3\n", "not daylio"),
        (b"full_date,time,mood\n2024-01-01,10:00\n", "short row"),
        (
            b"full_date,time,mood\n2024-01-01,10:00,good\n\xff\xfe,10:00,good\n",
            "bad utf-8",
        ),
        (b"full_date,time,mood\n2024-01-01,99:99,good\n", "bad time"),
    ];
    for (bytes, what) in cases {
        let result = vault
            .journal()
            .import_daylio(bytes, &options, &mut |_, _| {});
        assert!(
            matches!(result, Err(Error::Import(_) | Error::ImportLine { .. })),
            "{what}: {result:?}"
        );
    }
    assert_eq!(vault.journal().count().unwrap(), 0);
}

/// Issue 14: messages that say what happened and what to do, and an
/// unterminated quote that swallowed the next row into a note.
#[test]
fn daylio_refusals_say_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = new_vault(tmp.path());
    let options = DaylioOptions {
        time_zone: chrono_tz::UTC,
        unknown_moods: UnknownMoods::Report,
    };
    let header = "full_date,date,weekday,time,mood,activities,note_title,note\n";
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(header.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let semicolons = header.replace(',', ";") + "2024-01-02;2 Jan;Tuesday;10:00;good;;;x\n";
    let unclosed = format!(
        "{header}2024-01-02,2 Jan,Tuesday,10:00,good,,,\"a note never closed\n\
         2024-01-01,1 Jan,Monday,09:00,meh,,,kept apart\n"
    );
    let year_one = format!("{header}0001-01-01,1 Jan,Monday,09:00,good,,,old\n");
    let cases: [(&[u8], &str); 4] = [
        (&utf16, "UTF-16"),
        (semicolons.as_bytes(), "semicolons"),
        (unclosed.as_bytes(), "never closed"),
        (year_one.as_bytes(), "between the years 1900 and 9999"),
    ];
    for (bytes, words) in cases {
        let result = vault
            .journal()
            .import_daylio(bytes, &options, &mut |_, _| {});
        let message = result.expect_err(words).to_string();
        assert!(message.contains(words), "{message}");
    }
    assert_eq!(vault.journal().count().unwrap(), 0);
}

fn many_entries(vault: &tend_core::Vault, n: usize) {
    let start = Utc.with_ymd_and_hms(2016, 1, 1, 18, 0, 0).unwrap();
    for i in 0..n {
        let offset = FixedOffset::east_opt(((i % 27) as i32 - 12) * 3600).unwrap();
        vault
            .journal()
            .add(NewEntry {
                written_at: Some((start + Duration::hours(7 * i as i64)).with_timezone(&offset)),
                mood: (i % 7 != 0).then_some((i % 5 + 1) as u8),
                feelings: vec![format!("f{}", i % 11)],
                activities: if i % 3 == 0 {
                    vec![]
                } else {
                    vec!["walk".into(), format!("a{}", i % 13)]
                },
                title: (i % 4 == 0).then(|| format!("title {i}")),
                body: format!("entry {i}: \"quoted\", comma, ünïcode 🌱\nsecond line"),
            })
            .unwrap();
    }
}

fn export_json(vault: &tend_core::Vault) -> serde_json::Value {
    let mut out = Vec::new();
    vault
        .journal()
        .export(
            ExportFormat::Json,
            ExportProtection::Plaintext,
            &mut out,
            &mut |_, _| {},
        )
        .unwrap();
    let mut doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    doc.as_object_mut().unwrap().remove("exported_at");
    doc
}

#[test]
fn a_large_export_reimports_to_an_identical_journal() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tend_core::Vault::create_with_key(tmp.path().join("a"), &common::key(1)).unwrap();
    a.journal()
        .set_mood_scale(vec![
            "low".into(),
            "meh".into(),
            "ok".into(),
            "fine".into(),
            "high".into(),
        ])
        .unwrap();
    many_entries(&a, 3000);
    let mut bytes = Vec::new();
    let mut calls = 0;
    a.journal()
        .export(
            ExportFormat::Json,
            ExportProtection::Plaintext,
            &mut bytes,
            &mut |_, _| calls += 1,
        )
        .unwrap();
    assert!(calls >= 3, "progress is reported");
    let b = tend_core::Vault::create_with_key(tmp.path().join("b"), &common::key(2)).unwrap();
    let summary = b
        .journal()
        .import(bytes.as_slice(), None, &mut |_, _| {})
        .unwrap();
    assert_eq!(summary.added, 3000);
    assert_eq!(export_json(&a), export_json(&b));
    let again = b
        .journal()
        .import(bytes.as_slice(), None, &mut |_, _| {})
        .unwrap();
    assert_eq!((again.added, again.unchanged), (0, 3000));
}

#[test]
fn backups_are_sealed_by_default_and_need_the_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tend_core::Vault::create_with_key(tmp.path().join("a"), &common::key(1)).unwrap();
    a.journal().add(entry("a secret heron")).unwrap();
    let pass = || SecretString::from("backup words".to_owned());
    let mut sealed = Vec::new();
    a.journal()
        .export(
            ExportFormat::Json,
            ExportProtection::Passphrase(pass()),
            &mut sealed,
            &mut |_, _| {},
        )
        .unwrap();
    assert!(sealed.starts_with(b"age-encryption.org/v1"));
    assert!(!sealed.windows(5).any(|w| w == b"heron"));
    let b = tend_core::Vault::create_with_key(tmp.path().join("b"), &common::key(2)).unwrap();
    let j = b.journal();
    assert!(matches!(
        j.import(sealed.as_slice(), None, &mut |_, _| {}),
        Err(Error::PassphraseNeeded)
    ));
    let wrong = SecretString::from("guess".to_owned());
    assert!(matches!(
        j.import(sealed.as_slice(), Some(wrong), &mut |_, _| {}),
        Err(Error::WrongKey)
    ));
    assert!(matches!(
        j.import(&sealed[..sealed.len() - 10], Some(pass()), &mut |_, _| {}),
        Err(Error::Import(_))
    ));
    assert_eq!(j.count().unwrap(), 0);
    j.import(sealed.as_slice(), Some(pass()), &mut |_, _| {})
        .unwrap();
    assert_eq!(j.search("heron", 5).unwrap().len(), 1);
}

#[test]
fn hostile_backups_are_refused_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = new_vault(tmp.path());
    let j = vault.journal();
    j.add(entry("already here")).unwrap();
    let good_entry = r#"{"id":"7b0c1f0e-6c4a-4d2e-9a57-0c9f1d3e2a11","written_at":"2026-01-01T10:00:00+01:00","updated_at":"2026-01-01T09:00:00Z","mood":3,"feelings":[],"activities":[],"title":null,"body":"ok"}"#;
    let scale = r#"[{"value":1,"label":"awful"},{"value":2,"label":"bad"},{"value":3,"label":"okay"},{"value":4,"label":"good"},{"value":5,"label":"great"}]"#;
    let doc = |format: &str, version: u32, entries: &str| {
        format!(
            r#"{{"format":"{format}","version":{version},"exported_at":"2026-01-01T00:00:00Z","mood_scale":{scale},"entries":[{entries}]}}"#
        )
    };
    let cases = [
        ("not json".to_owned(), "garbage"),
        (doc("other-app", 1, good_entry), "wrong format"),
        (doc("tend-journal", 99, good_entry), "future version"),
        (
            doc(
                "tend-journal",
                1,
                &good_entry.replace("\"mood\":3", "\"mood\":9"),
            ),
            "mood off scale",
        ),
        (
            doc(
                "tend-journal",
                1,
                &format!(
                    "{good_entry},{}",
                    good_entry.replace("2026-01-01T10", "2026-02-30T10")
                ),
            ),
            "impossible date",
        ),
        (
            doc(
                "tend-journal",
                1,
                &format!("{good_entry},{}", good_entry.replace("\"ok\"", "12")),
            ),
            "wrong type",
        ),
        (
            doc("tend-journal", 1, good_entry)[..120].to_owned(),
            "truncated",
        ),
    ];
    for (bytes, what) in cases {
        let result = j.import(bytes.as_bytes(), None, &mut |_, _| {});
        assert!(
            matches!(
                result,
                Err(Error::Import(_) | Error::ImportLine { .. } | Error::MoodOutOfScale { .. })
            ),
            "{what}: {result:?}"
        );
        assert_eq!(j.count().unwrap(), 1, "{what}");
    }
    assert_eq!(
        j.import(
            doc("tend-journal", 1, good_entry).as_bytes(),
            None,
            &mut |_, _| {}
        )
        .unwrap()
        .added,
        1
    );
}

#[test]
fn csv_export_quotes_what_needs_quoting() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = new_vault(tmp.path());
    vault
        .journal()
        .add(NewEntry {
            written_at: Some(at(3, 21, 2)),
            mood: Some(4),
            feelings: vec!["calm".into()],
            activities: vec!["walk".into(), "tea, with milk".into()],
            title: None,
            body: "line one\n\"two\"".into(),
        })
        .unwrap();
    let mut out = Vec::new();
    vault
        .journal()
        .export(
            ExportFormat::Csv,
            ExportProtection::Plaintext,
            &mut out,
            &mut |_, _| {},
        )
        .unwrap();
    // The header and layout are pinned by the vector in tests/formats.rs.
    let mut reader = csv::Reader::from_reader(out.as_slice());
    let row = reader.records().next().unwrap().unwrap();
    assert_eq!(&row[1], "2026-03-03T21:00:00.000+02:00");
    assert_eq!(&row[2], "2026-03-03");
    assert_eq!((&row[3], &row[4]), ("4", "good"));
    assert_eq!(&row[6], "walk | tea, with milk");
    assert_eq!(&row[8], "line one\n\"two\"");
}

/// On an unencrypted twin of the vault, so encryption cannot hide a leftover:
/// a deleted or rewritten entry's words must be gone from every byte of the
/// files, index included (secure_delete and FTS5 secure-delete).
#[cfg(feature = "plaintext-baseline")]
#[test]
fn deleted_and_rewritten_words_leave_no_bytes_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("plain");
    let vault = tend_core::Vault::create_plaintext_baseline(&dir).unwrap();
    let j = vault.journal();
    for i in 0..300 {
        j.add(entry(&format!("filler entry {i} about bread and rain")))
            .unwrap();
    }
    let gone = j
        .add(NewEntry {
            title: Some("obsidiantitle".into()),
            activities: vec!["obsidianwalk".into()],
            ..entry("obsidianfalcon flew")
        })
        .unwrap();
    let rewritten = j.add(entry("marblewren sang")).unwrap();
    let kept = j.add(entry("cobaltheron stays")).unwrap();
    j.delete(gone.id).unwrap();
    j.update(rewritten.id, entry("a plainer sentence")).unwrap();
    drop(vault);
    // The control: words still in the journal are visible without encryption.
    let files: Vec<u8> = common::snapshot(&dir)
        .into_iter()
        .flat_map(|(_, b)| b)
        .collect();
    assert!(
        files.windows(11).any(|w| w == b"cobaltheron"),
        "the scan can see words"
    );
    assert_no_plaintext(
        &dir,
        &[
            "obsidianfalcon",
            "obsidiantitle",
            "obsidianwalk",
            "marblewren",
        ],
    );
    let vault = tend_core::Vault::open_plaintext_baseline(&dir).unwrap();
    assert_eq!(
        vault.journal().get(kept.id).unwrap().body,
        "cobaltheron stays"
    );
}

#[test]
fn debug_output_shows_no_words_the_member_wrote() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = new_vault(tmp.path());
    let j = vault.journal();
    for day in 1..=8 {
        j.add(NewEntry {
            title: Some("quillmoth title".into()),
            feelings: vec!["quillfeeling".into()],
            ..on(
                day,
                (day % 5 + 1) as u8,
                if day % 2 == 0 {
                    &["quillactivity"]
                } else {
                    &[]
                },
            )
        })
        .unwrap();
    }
    j.rename_mood(3, "quillmood").unwrap();
    let shown = format!(
        "{:?} {:?} {:?} {:?} {:?} {:?}",
        j.list(
            &EntryFilter {
                tag: Some("quillactivity".into()),
                ..Default::default()
            },
            10,
            None
        )
        .unwrap(),
        j.search("quillmoth", 5).unwrap(),
        j.insights(None, None).unwrap(),
        j.tags(TagKind::Activity).unwrap(),
        j.mood_scale().unwrap(),
        EntryFilter {
            tag: Some("quillactivity".into()),
            ..Default::default()
        },
    );
    assert!(shown.contains("Entry"), "{shown}");
    assert!(!shown.contains("quill"), "{shown}");
}

/// Issue 14: a backup with one id twice kept the first copy in silence.
#[test]
fn a_backup_with_one_id_twice_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = new_vault(tmp.path());
    vault.journal().add(entry("the only one")).unwrap();
    let mut doc = export_json(&vault);
    let first = doc["entries"][0].clone();
    let mut changed = first.clone();
    changed["body"] = "a different text under the same id".into();
    doc["entries"] = serde_json::json!([first, changed]);
    doc["exported_at"] = "2026-11-30T10:00:00Z".into();
    let other = tempfile::tempdir().unwrap();
    let fresh = new_vault(other.path());
    let bytes = serde_json::to_vec(&doc).unwrap();
    match fresh
        .journal()
        .import(bytes.as_slice(), None, &mut |_, _| {})
    {
        Err(Error::ImportLine { line: 2, problem }) => assert!(problem.contains("came before")),
        other => panic!("expected the second copy refused: {other:?}"),
    }
    assert_eq!(fresh.journal().count().unwrap(), 0);
}
