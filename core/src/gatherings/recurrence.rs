//! Recurrence in wall-clock time. The `rrule` crate expands RFC 5545 rules
//! in "floating" time (UTC standing in for the gathering's local clock), so
//! 18:00 stays 18:00 whatever the zone's daylight-saving rules do. Each local
//! start then becomes an instant by one documented rule (see [`resolve`]).

use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc,
};
use chrono_tz::Tz;
use rrule::{Frequency, RRule, RRuleSet, Unvalidated};

use crate::{Error, Result};

/// Occurrences a single expansion may yield; a rule that produces more is
/// asked for less (a range, or a count).
pub const MAX_EXPANSION: usize = 10_000;

/// A gathering's schedule: its first local start, its zone and its rule.
#[derive(Clone)]
pub struct Schedule {
    start: NaiveDateTime,
    zone: Tz,
    /// The rule before and after anchoring at `start`.
    rule: Option<(RRule<Unvalidated>, RRuleSet)>,
    text: Option<String>,
}

impl std::fmt::Debug for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schedule")
            .field("start", &self.start)
            .field("zone", &self.zone.name())
            .field("rule", &self.text)
            .finish()
    }
}

impl Schedule {
    /// `rule` is the RRULE value (`FREQ=MONTHLY;BYDAY=1SA`), with or without
    /// `RRULE:`. A start the rule would not produce is moved forward to the
    /// rule's first occurrence: that is the normalisation documented in
    /// `docs/gatherings.md`.
    pub fn new(start: NaiveDateTime, zone: &str, rule: Option<&str>) -> Result<Schedule> {
        let zone = parse_zone(zone)?;
        let start = start
            .with_nanosecond_zero()
            .ok_or(Error::invalid("start", "not a real time"))?;
        let Some(text) = rule.map(str::trim).filter(|r| !r.is_empty()) else {
            return Ok(Schedule {
                start,
                zone,
                rule: None,
                text: None,
            });
        };
        let text = text
            .strip_prefix("RRULE:")
            .unwrap_or(text)
            .to_ascii_uppercase();
        let (_, set) = build(&text, start, zone)?;
        let first = set.into_iter().next().ok_or(Error::invalid(
            "recurrence",
            "the rule yields no occurrence",
        ))?;
        let start = first.naive_utc();
        // Rebuilt from the normalised start, so COUNT counts from it.
        let rule = build(&text, start, zone)?;
        Ok(Schedule {
            start,
            zone,
            rule: Some(rule),
            text: Some(text),
        })
    }

    /// A schedule as stored: its start is already the rule's first occurrence.
    pub(crate) fn stored(start: NaiveDateTime, zone: &str, text: Option<&str>) -> Result<Schedule> {
        let zone = parse_zone(zone).map_err(|_| Error::DatabaseDamaged)?;
        let rule = text
            .map(|text| build(text, start, zone))
            .transpose()
            .map_err(|_| Error::DatabaseDamaged)?;
        Ok(Schedule {
            start,
            zone,
            rule,
            text: text.map(str::to_owned),
        })
    }

    pub fn start(&self) -> NaiveDateTime {
        self.start
    }

    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The rule as stored and exported, without `RRULE:`.
    pub fn rule(&self) -> Option<&str> {
        self.text.as_deref()
    }

    /// Local starts on or after `from`, in order.
    pub fn local_starts_from(
        &self,
        from: NaiveDateTime,
    ) -> Box<dyn Iterator<Item = NaiveDateTime> + '_> {
        match &self.rule {
            None => Box::new(std::iter::once(self.start).filter(move |s| *s >= from)),
            Some((rule, set)) => {
                let set = self.rebased(rule, from).unwrap_or_else(|| set.clone());
                let after = floating(from - Duration::seconds(1));
                Box::new(
                    set.after(after)
                        .into_iter()
                        .map(|d| d.naive_utc())
                        .filter(move |s| *s >= from),
                )
            }
        }
    }

    /// The same rule anchored whole periods later, close before `from`, so
    /// expansion need not walk every occurrence since the first. Only where
    /// that cannot change the result: no COUNT, and an anchor whose day
    /// exists in every month (or year) it lands on.
    fn rebased(&self, rule: &RRule<Unvalidated>, from: NaiveDateTime) -> Option<RRuleSet> {
        if rule.get_count().is_some() || from <= self.start {
            return None;
        }
        let interval = rule.get_interval().max(1) as i64;
        let anchor = match rule.get_freq() {
            Frequency::Daily | Frequency::Weekly => {
                let days = if rule.get_freq() == Frequency::Daily {
                    1
                } else {
                    7
                } * interval;
                let periods = (from - self.start).num_days() / days - 1;
                (periods > 1).then(|| self.start + Duration::days(periods * days))?
            }
            Frequency::Monthly | Frequency::Yearly => {
                let months = if rule.get_freq() == Frequency::Monthly {
                    1
                } else {
                    12
                } * interval;
                let elapsed = (from.year() - self.start.year()) as i64 * 12 + from.month() as i64
                    - self.start.month() as i64;
                let periods = elapsed / months - 1;
                if periods <= 1 || self.start.day() > 28 {
                    return None;
                }
                self.start
                    .checked_add_months(chrono::Months::new((periods * months) as u32))?
            }
            _ => return None,
        };
        rule.clone().build(floating(anchor)).ok()
    }

    /// Whether `local` is one of the rule's starts (before any override).
    pub fn has_start(&self, local: NaiveDateTime) -> bool {
        self.local_starts_from(local).next() == Some(local)
    }

    /// The instant a local start happens.
    pub fn instant(&self, local: NaiveDateTime) -> DateTime<Tz> {
        resolve(local, self.zone)
    }
}

/// A local time in `zone` as an instant, the RFC 5545 way:
/// - in the spring-forward gap, the offset from before the gap applies, so
///   02:30 that does not exist becomes 03:30 of the new offset;
/// - in the fall-back overlap, the first (earlier) of the two instants.
pub fn resolve(local: NaiveDateTime, zone: Tz) -> DateTime<Tz> {
    match zone.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) => t,
        chrono::LocalResult::Ambiguous(earlier, _) => earlier,
        chrono::LocalResult::None => {
            // Gaps are at most a few hours; six hours back (local) is before it.
            let before = zone
                .from_local_datetime(&(local - Duration::hours(6)))
                .earliest()
                .map_or_else(
                    || zone.offset_from_utc_datetime(&local).fix(),
                    |t| t.offset().fix(),
                );
            let utc = local - Duration::seconds(before.local_minus_utc() as i64);
            zone.from_utc_datetime(&utc)
        }
    }
}

pub fn parse_zone(zone: &str) -> Result<Tz> {
    Tz::from_str(zone.trim()).map_err(|_| Error::invalid("time zone", "not an IANA zone name"))
}

fn floating(local: NaiveDateTime) -> DateTime<rrule::Tz> {
    rrule::Tz::UTC.from_utc_datetime(&local)
}

/// Rules longer than this are refused unread: real ones are a few dozen bytes.
pub const MAX_RULE_BYTES: usize = 1024;

fn build(text: &str, start: NaiveDateTime, zone: Tz) -> Result<(RRule<Unvalidated>, RRuleSet)> {
    if text.len() > MAX_RULE_BYTES {
        return Err(Error::invalid("recurrence", "longer than 1 KiB"));
    }
    // UNTIL is an instant (or a local date) in the gathering's zone; the
    // floating expansion needs it as local wall-clock time.
    let mut until = None;
    let mut parts = Vec::new();
    for part in text.split(';').filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        match name.trim().to_ascii_uppercase().as_str() {
            "UNTIL" => until = Some(parse_until(value.trim(), zone)?),
            "DTSTART" | "TZID" => {
                return Err(Error::invalid(
                    "recurrence",
                    "DTSTART belongs outside the rule",
                ));
            }
            _ => parts.push(part),
        }
    }
    let mut rule = super::rule_text::parse_rule(parts)?;
    if matches!(
        rule.get_freq(),
        Frequency::Hourly | Frequency::Minutely | Frequency::Secondly
    ) {
        return Err(Error::invalid(
            "recurrence",
            "gatherings repeat daily at most",
        ));
    }
    // Each value of these multiplies the occurrences within one day.
    if rule.get_by_hour().len() > 1
        || rule.get_by_minute().len() > 1
        || rule.get_by_second().len() > 1
    {
        return Err(Error::invalid(
            "recurrence",
            "gatherings repeat daily at most: BYHOUR, BYMINUTE and BYSECOND take one value each",
        ));
    }
    if let Some(until) = until {
        rule = rule.until(floating(until));
    }
    let set = rule
        .clone()
        .build(floating(start))
        .map_err(|_| Error::invalid("recurrence", "the rule does not fit its start"))?;
    Ok((rule, set))
}

/// A stored rule as iCalendar wants it beside a DTSTART with TZID: UNTIL in UTC.
pub(crate) fn rule_for_ics(text: &str, zone: Tz) -> Result<String> {
    text.split(';')
        .filter(|p| !p.is_empty())
        .map(|part| match part.split_once('=') {
            Some(("UNTIL", value)) if !value.ends_with('Z') => {
                let until = resolve(parse_until(value, zone)?, zone).with_timezone(&Utc);
                Ok(format!("UNTIL={}", until.format("%Y%m%dT%H%M%SZ")))
            }
            _ => Ok(part.to_owned()),
        })
        .collect::<Result<Vec<_>>>()
        .map(|parts| parts.join(";"))
}

/// `YYYYMMDD` (through the end of that local day), `YYYYMMDDTHHMMSS`
/// (local) or `YYYYMMDDTHHMMSSZ` (UTC).
fn parse_until(value: &str, zone: Tz) -> Result<NaiveDateTime> {
    let bad = || Error::invalid("recurrence", "UNTIL is not a date or date-time");
    if value.len() == 8 {
        let day = NaiveDate::parse_from_str(value, "%Y%m%d").map_err(|_| bad())?;
        return Ok(day.and_time(NaiveTime::from_hms_opt(23, 59, 59).ok_or_else(bad)?));
    }
    if let Some(utc) = value.strip_suffix('Z') {
        let utc = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
        return Ok(Utc
            .from_utc_datetime(&utc)
            .with_timezone(&zone)
            .naive_local());
    }
    NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S").map_err(|_| bad())
}

trait NoNanos: Sized {
    fn with_nanosecond_zero(self) -> Option<Self>;
}

impl NoNanos for NaiveDateTime {
    fn with_nanosecond_zero(self) -> Option<Self> {
        chrono::Timelike::with_nanosecond(&self, 0)
    }
}
