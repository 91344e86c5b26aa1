//! VTIMEZONE for a zone, from chrono-tz's data: the observances in force in
//! a given year, as yearly rules. Google and Apple read the IANA TZID;
//! Outlook reads these.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

/// One change of offset: its local time before the change, and the offsets.
struct Transition {
    local_before: chrono::NaiveDateTime,
    from: i32,
    to: i32,
    name: String,
    daylight: bool,
}

fn offset_at(zone: Tz, t: DateTime<Utc>) -> i32 {
    zone.offset_from_utc_datetime(&t.naive_utc())
        .fix()
        .local_minus_utc()
}

/// The transitions in `year`, found by comparing offsets day by day, then
/// narrowing each change to the second.
fn transitions(zone: Tz, year: i32) -> Vec<Transition> {
    let Some(start) = NaiveDate::from_ymd_opt(year, 1, 1).and_then(|d| d.and_hms_opt(12, 0, 0))
    else {
        return vec![];
    };
    let mut out = vec![];
    let mut day = Utc.from_utc_datetime(&start);
    for _ in 0..366 {
        let next = day + Duration::days(1);
        let (a, b) = (offset_at(zone, day), offset_at(zone, next));
        if a != b {
            let (mut lo, mut hi) = (day, next);
            while hi - lo > Duration::seconds(1) {
                let mid = lo + (hi - lo) / 2;
                if offset_at(zone, mid) == a {
                    lo = mid
                } else {
                    hi = mid
                }
            }
            let offset = zone.offset_from_utc_datetime(&hi.naive_utc());
            out.push(Transition {
                local_before: hi.naive_utc() + Duration::seconds(a as i64),
                from: a,
                to: b,
                name: offset.abbreviation().unwrap_or_default().to_owned(),
                daylight: !offset.dst_offset().is_zero(),
            });
        }
        day = next;
        if day.year() > year {
            break;
        }
    }
    out
}

fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.abs();
    if s % 60 == 0 {
        format!("{sign}{:02}{:02}", s / 3600, s / 60 % 60)
    } else {
        format!("{sign}{:02}{:02}{:02}", s / 3600, s / 60 % 60, s % 60)
    }
}

/// The content lines of a VTIMEZONE for `zone` as of `year`.
pub(crate) fn lines(zone: Tz, year: i32) -> Vec<String> {
    let mut out = vec![
        "BEGIN:VTIMEZONE".to_owned(),
        format!("TZID:{}", zone.name()),
    ];
    let found = transitions(zone, year);
    if found.is_empty() {
        let jan = Utc
            .with_ymd_and_hms(year, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default();
        let offset = utc_offset(offset_at(zone, jan));
        let name = zone.offset_from_utc_datetime(&jan.naive_utc());
        out.extend([
            "BEGIN:STANDARD".to_owned(),
            "DTSTART:19700101T000000".to_owned(),
            format!("TZOFFSETFROM:{offset}"),
            format!("TZOFFSETTO:{offset}"),
            format!("TZNAME:{}", name.abbreviation().unwrap_or_default()),
            "END:STANDARD".to_owned(),
        ]);
    }
    for t in found {
        let kind = if t.daylight { "DAYLIGHT" } else { "STANDARD" };
        let day = t.local_before.date();
        let days_in_month = day
            .with_day(1)
            .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
            .map_or(31, |next| (next - Duration::days(1)).day());
        // "Last Sunday" where a week later is next month; else "nth Sunday".
        let nth = if day.day() + 7 > days_in_month {
            -1
        } else {
            (day.day() as i32 - 1) / 7 + 1
        };
        let weekday = &format!("{:?}", day.weekday()).to_uppercase()[..2];
        out.extend([
            format!("BEGIN:{kind}"),
            format!("DTSTART:{}", t.local_before.format("%Y%m%dT%H%M%S")),
            format!(
                "RRULE:FREQ=YEARLY;BYMONTH={};BYDAY={nth}{weekday}",
                day.month()
            ),
            format!("TZOFFSETFROM:{}", utc_offset(t.from)),
            format!("TZOFFSETTO:{}", utc_offset(t.to)),
            format!("TZNAME:{}", t.name),
            format!("END:{kind}"),
        ]);
    }
    out.push("END:VTIMEZONE".to_owned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chicago_berlin_and_sydney() {
        let chicago = lines(Tz::America__Chicago, 2026).join("\n");
        assert!(chicago.contains("BEGIN:DAYLIGHT\nDTSTART:20260308T020000\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\nTZOFFSETFROM:-0600\nTZOFFSETTO:-0500\nTZNAME:CDT"), "{chicago}");
        assert!(chicago.contains("BEGIN:STANDARD\nDTSTART:20261101T020000\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\nTZOFFSETFROM:-0500\nTZOFFSETTO:-0600"), "{chicago}");
        let berlin = lines(Tz::Europe__Berlin, 2026).join("\n");
        assert!(
            berlin.contains("RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"),
            "{berlin}"
        );
        assert!(
            berlin.contains("RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU"),
            "{berlin}"
        );
        let sydney = lines(Tz::Australia__Sydney, 2026).join("\n");
        assert!(sydney.contains("DTSTART:20260405T030000\nRRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU\nTZOFFSETFROM:+1100\nTZOFFSETTO:+1000"), "{sydney}");
        let kolkata = lines(Tz::Asia__Kolkata, 2026).join("\n");
        assert!(
            kolkata.contains("TZOFFSETFROM:+0530\nTZOFFSETTO:+0530"),
            "{kolkata}"
        );
    }
}
