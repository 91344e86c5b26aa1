//! An RRULE value (`FREQ=MONTHLY;BYDAY=1SA`) into `rrule`'s builder.
//!
//! `RRule::from_str` finds property names and dates with regular
//! expressions, which brought the `regex` engine (0.55 MB) into the phone
//! library for strings a few dozen bytes long. This reads the same grammar
//! with `rrule`'s own value parsers (`Frequency`, `NWeekday`) and leaves
//! validation and expansion to `rrule`. UNTIL is read by the caller, which
//! knows the gathering's zone.

use std::str::FromStr;

use chrono::{Month, Weekday};
use rrule::{Frequency, NWeekday, RRule, Unvalidated};

use crate::{Error, Result};

/// Builds the rule from its `NAME=VALUE` parts (UNTIL already taken out).
/// Names are case-insensitive; each may appear once.
pub(super) fn parse_rule<'a>(
    parts: impl IntoIterator<Item = &'a str>,
) -> Result<RRule<Unvalidated>> {
    let mut seen: Vec<String> = Vec::new();
    let mut rule = RRule::new(Frequency::Yearly);
    for part in parts {
        // RFC 5545 rules are ASCII; rrule's value parsers slice by byte and
        // panic inside a multi-byte character (found by fuzz/import_ics).
        if !part.is_ascii() {
            return Err(bad("a rule is plain ASCII text"));
        }
        let (name, value) = part
            .split_once('=')
            .ok_or_else(|| bad("each part is NAME=VALUE"))?;
        let name = name.trim().to_ascii_uppercase();
        if seen.contains(&name) {
            return Err(bad("a part appears twice"));
        }
        let value = value.trim();
        rule = match name.as_str() {
            "FREQ" => {
                rule.freq(Frequency::from_str(value).map_err(|_| bad("FREQ is not a frequency"))?)
            }
            "INTERVAL" => rule.interval(
                value
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| bad("INTERVAL is not a positive number"))?,
            ),
            "COUNT" => rule.count(value.parse().map_err(|_| bad("COUNT is not a number"))?),
            "WKST" => rule.week_start(weekday(value).ok_or_else(|| bad("WKST is not a weekday"))?),
            "BYDAY" | "BYWEEKDAY" => rule.by_weekday(
                value
                    .split(',')
                    .map(NWeekday::from_str)
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|_| bad("BYDAY is not a list of weekdays"))?,
            ),
            "BYMONTH" => {
                let months: Vec<u8> = numbers(value, 1..=12, "BYMONTH is not a list of months")?;
                let months = months
                    .into_iter()
                    .map(Month::try_from)
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|_| bad("BYMONTH is not a list of months"))?;
                rule.by_month(&months)
            }
            "BYMONTHDAY" => rule.by_month_day(numbers(
                value,
                -31..=31,
                "BYMONTHDAY is not a list of days (±1–31)",
            )?),
            "BYYEARDAY" => rule.by_year_day(numbers(
                value,
                -366..=366,
                "BYYEARDAY is not a list of days (±1–366)",
            )?),
            "BYWEEKNO" => rule.by_week_no(numbers(
                value,
                -53..=53,
                "BYWEEKNO is not a list of weeks (±1–53)",
            )?),
            "BYSETPOS" => rule.by_set_pos(numbers(
                value,
                -366..=366,
                "BYSETPOS is not a list of positions",
            )?),
            "BYHOUR" => rule.by_hour(numbers(value, 0..=23, "BYHOUR is not a list of hours")?),
            "BYMINUTE" => {
                rule.by_minute(numbers(value, 0..=59, "BYMINUTE is not a list of minutes")?)
            }
            "BYSECOND" => {
                rule.by_second(numbers(value, 0..=59, "BYSECOND is not a list of seconds")?)
            }
            _ => return Err(bad("a part Tend does not know")),
        };
        seen.push(name);
    }
    if !seen.iter().any(|name| name == "FREQ") {
        return Err(bad("FREQ is missing"));
    }
    Ok(rule)
}

fn bad(problem: &'static str) -> Error {
    Error::invalid("recurrence", problem)
}

/// A comma-separated list, each in `range`, sorted and without repeats (as
/// `rrule`'s own parser leaves them).
fn numbers<T>(
    value: &str,
    range: std::ops::RangeInclusive<T>,
    problem: &'static str,
) -> Result<Vec<T>>
where
    T: FromStr + Ord + Copy,
{
    let mut list = value
        .split(',')
        .map(|n| n.trim().parse().ok().filter(|n| range.contains(n)))
        .collect::<Option<Vec<T>>>()
        .ok_or_else(|| bad(problem))?;
    list.sort_unstable();
    list.dedup();
    Ok(list)
}

fn weekday(value: &str) -> Option<Weekday> {
    match NWeekday::from_str(value).ok()? {
        NWeekday::Every(day) => Some(day),
        NWeekday::Nth(..) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RRule<Unvalidated>> {
        parse_rule(text.split(';'))
    }

    #[test]
    fn reads_what_rrules_own_parser_reads() {
        for text in [
            "FREQ=MONTHLY;BYDAY=1SA",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;WKST=SU",
            "FREQ=YEARLY;BYMONTH=1,2,3;BYMONTHDAY=-1,1,15;COUNT=10",
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2",
            "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO",
            "FREQ=YEARLY;BYYEARDAY=1,100,200",
            "FREQ=DAILY;BYHOUR=9,17;BYMINUTE=30;BYSECOND=0",
            "freq=monthly;byday=-1fr",
        ] {
            let ours = parse(text).unwrap();
            let theirs = RRule::<Unvalidated>::from_str(text).unwrap();
            assert_eq!(format!("{ours:?}"), format!("{theirs:?}"), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_rule() {
        for (text, problem) in [
            ("BYDAY=1SA", "FREQ is missing"),
            ("FREQ=FORTNIGHTLY", "FREQ is not a frequency"),
            ("FREQ=DAILY;FREQ=WEEKLY", "a part appears twice"),
            ("FREQ=DAILY;INTERVAL=0", "INTERVAL is not a positive number"),
            ("FREQ=DAILY;COUNT=-1", "COUNT is not a number"),
            ("FREQ=YEARLY;BYMONTH=13", "BYMONTH is not a list of months"),
            (
                "FREQ=MONTHLY;BYMONTHDAY=32",
                "BYMONTHDAY is not a list of days (±1–31)",
            ),
            ("FREQ=MONTHLY;BYDAY=1XX", "BYDAY is not a list of weekdays"),
            ("FREQ=WEEKLY;WKST=1MO", "WKST is not a weekday"),
            ("FREQ=WEEKLY;COLOUR=RED", "a part Tend does not know"),
            ("FREQ", "each part is NAME=VALUE"),
        ] {
            match parse(text) {
                Err(Error::Invalid {
                    field,
                    problem: got,
                }) => {
                    assert_eq!((field, got), ("recurrence", problem), "{text}")
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}
