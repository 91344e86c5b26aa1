//! iCalendar (RFC 5545) export and import. See `docs/gatherings.md`.
//!
//! Export is written here, line by line: the `icalendar` crate's builder
//! cannot express VTIMEZONE. Import parses with the `icalendar` crate, after
//! unfolding lines here so every error can name the file's line.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use icalendar::parser::{Component, Property};

use super::model::{GatheringKind, NewGathering, ReminderOffset};
use super::recurrence::{self, resolve};
use super::store::{self, Loaded, Moved};
use super::{GatheringId, Gatherings};
use crate::{Error, Result};

/// Larger files are refused before parsing.
pub const MAX_ICS_BYTES: usize = 4 << 20;
/// Events one import may bring.
pub const MAX_ICS_EVENTS: usize = 5_000;
/// Components nested deeper than this are refused before parsing: real
/// calendars nest three deep (VCALENDAR, VEVENT, VALARM), and the parser
/// recurses once per level.
pub const MAX_ICS_DEPTH: usize = 8;
const PRODID: &str = "-//Tend//Gatherings 1//EN";

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IcsImport {
    pub added: usize,
    /// Gatherings whose UID was already here, replaced by the file's version.
    pub updated: usize,
}

impl Gatherings<'_> {
    /// One gathering, or all of them, as an `.ics` calendar.
    pub fn export_ics(&self, id: Option<GatheringId>) -> Result<String> {
        let (loaded, uids) = self.vault.with_conn(|conn| {
            let mut loaded = store::load_all(conn)?;
            if let Some(id) = id {
                store::seq_of(conn, id)?;
                loaded.retain(|l| l.gathering.id == id);
            }
            let uids = store::list(conn)?
                .into_iter()
                .map(|(seq, g)| Ok((g.id, store::uid_of(conn, seq)?)))
                .collect::<Result<HashMap<_, _>>>()?;
            Ok((loaded, uids))
        })?;
        let mut w = Writer::default();
        w.line("BEGIN:VCALENDAR");
        w.line("VERSION:2.0");
        w.line(&format!("PRODID:{PRODID}"));
        w.line("CALSCALE:GREGORIAN");
        w.line("METHOD:PUBLISH");
        let zones: BTreeMap<&str, i32> = loaded.iter().fold(BTreeMap::new(), |mut zones, l| {
            let year = chrono::Datelike::year(&l.gathering.starts_at);
            let entry = zones.entry(l.gathering.time_zone.as_str()).or_insert(year);
            *entry = (*entry).min(year);
            zones
        });
        for (zone, year) in zones {
            for line in super::vtimezone::lines(recurrence::parse_zone(zone)?, year) {
                w.line(&line);
            }
        }
        for l in &loaded {
            let uid = uids.get(&l.gathering.id).ok_or(Error::DatabaseDamaged)?;
            write_event(&mut w, l, uid, None)?;
            for (original, moved) in &l.moved {
                if l.schedule.has_start(*original) {
                    write_event(&mut w, l, uid, Some((*original, *moved)))?;
                }
            }
        }
        w.line("END:VCALENDAR");
        Ok(w.out)
    }

    /// Adds the events of an `.ics` file as gatherings, all or none.
    /// Floating times, and all-day events, are taken to be in `default_zone`.
    pub fn import_ics(&self, text: &str, default_zone: &str) -> Result<IcsImport> {
        let default_zone = recurrence::parse_zone(default_zone)?;
        read(text, default_zone, |reader, series| {
            self.vault.with_tx(|tx| {
                let mut summary = IcsImport::default();
                let now = Utc::now().timestamp_millis();
                for (uid, s) in series {
                    let schedule = s.gathering.check().map_err(|e| reader.explain(e, s))?;
                    if let Some(seq) = store::seq_by_uid(tx, uid)? {
                        super::invites::ensure_mine(tx, seq)?;
                    }
                    let (seq, added) = store::put(
                        tx,
                        uid,
                        &s.gathering,
                        &schedule,
                        &s.cancelled,
                        &s.moved,
                        now,
                    )?;
                    if added {
                        summary.added += 1;
                    } else {
                        summary.updated += 1;
                        super::invites::announce(tx, seq, false)?;
                    }
                }
                Ok(summary)
            })
        })
    }
}

/// Every check an import makes, without storing anything: for the fuzzer.
#[cfg(feature = "testing")]
pub(crate) fn check_ics(text: &str) -> Result<()> {
    read(text, chrono_tz::UTC, |reader, series| {
        for s in series.values() {
            s.gathering.check().map_err(|e| reader.explain(e, s))?;
        }
        Ok(())
    })
}

/// Reads a calendar into its series, all checks but the gatherings' own
/// made, and hands them to `then`.
fn read<T>(
    text: &str,
    default_zone: Tz,
    then: impl FnOnce(&Reader<'_>, &BTreeMap<String, Series<'_>>) -> Result<T>,
) -> Result<T> {
    if text.len() > MAX_ICS_BYTES {
        return Err(Error::Import("the calendar file is larger than 4 MiB"));
    }
    let file = Unfolded::new(text);
    file.check_shape()?;
    let parsed = icalendar::parser::read_calendar_simple(&file.text).map_err(|e| {
        let offset = file.text.len() - e.input.len();
        file.error_at(offset, "not valid iCalendar")
    })?;
    let calendar = parsed
        .iter()
        .find(|c| c.name.as_str() == "VCALENDAR")
        .ok_or(Error::Import("no VCALENDAR in the file"))?;
    let events: Vec<&Component> = calendar
        .components
        .iter()
        .filter(|c| c.name.as_str() == "VEVENT")
        .collect();
    if events.len() > MAX_ICS_EVENTS {
        return Err(Error::Import("more than 5,000 events in one file"));
    }
    let reader = Reader {
        file: &file,
        default_zone,
    };
    let mut series: BTreeMap<String, Series> = BTreeMap::new();
    let mut changes = vec![];
    for event in &events {
        let uid_prop = reader.required(event, "UID")?;
        let uid = uid_prop.val.as_str().trim().to_owned();
        match event.find_prop("RECURRENCE-ID") {
            None => {
                let s = reader.series(event)?;
                if series.insert(uid, s).is_some() {
                    return Err(reader.error(uid_prop, "two events share this UID"));
                }
            }
            Some(id) => changes.push((uid, *event, id)),
        }
    }
    for (uid, event, id) in changes {
        let s = series
            .get_mut(&uid)
            .ok_or_else(|| reader.error(id, "a change to an occurrence whose series is missing"))?;
        reader.change(event, id, s)?;
    }
    then(&reader, &series)
}

fn write_event(
    w: &mut Writer,
    l: &Loaded,
    uid: &str,
    change: Option<(NaiveDateTime, Moved)>,
) -> Result<()> {
    let g = &l.gathering;
    let zone = &g.time_zone;
    let (start, duration) = match change {
        Some((_, m)) => (m.to, m.duration.unwrap_or(g.duration)),
        None => (g.starts_at, g.duration),
    };
    let end = resolve(start, l.schedule.zone()) + duration;
    w.line("BEGIN:VEVENT");
    w.line(&format!("UID:{}", escape(uid)));
    w.line(&format!(
        "DTSTAMP:{}",
        g.updated_at.format("%Y%m%dT%H%M%SZ")
    ));
    if let Some((original, _)) = change {
        w.line(&format!(
            "RECURRENCE-ID;TZID={zone}:{}",
            ics_local(original)
        ));
    }
    w.line(&format!("DTSTART;TZID={zone}:{}", ics_local(start)));
    w.line(&format!(
        "DTEND;TZID={zone}:{}",
        ics_local(end.naive_local())
    ));
    if change.is_none() {
        if let Some(rule) = &g.recurrence {
            w.line(&format!(
                "RRULE:{}",
                recurrence::rule_for_ics(rule, l.schedule.zone())?
            ));
        }
        let cancelled: BTreeSet<NaiveDateTime> = l
            .cancelled
            .iter()
            .copied()
            .filter(|c| l.schedule.has_start(*c))
            .collect();
        if !cancelled.is_empty() {
            let dates: Vec<String> = cancelled.into_iter().map(ics_local).collect();
            w.line(&format!("EXDATE;TZID={zone}:{}", dates.join(",")));
        }
    }
    w.line(&format!("SUMMARY:{}", escape(&g.title)));
    if !g.description.is_empty() {
        w.line(&format!("DESCRIPTION:{}", escape(&g.description)));
    }
    if !g.location.is_empty() {
        w.line(&format!("LOCATION:{}", escape(&g.location)));
    }
    w.line(&format!("X-TEND-KIND:{}", g.kind.code()));
    for r in &g.reminders {
        w.line("BEGIN:VALARM");
        w.line("ACTION:DISPLAY");
        w.line(&format!("DESCRIPTION:{}", escape(&g.title)));
        w.line(&format!("TRIGGER:{}", trigger(*r)));
        w.line("END:VALARM");
    }
    w.line("END:VEVENT");
    Ok(())
}

fn ics_local(t: NaiveDateTime) -> String {
    t.format("%Y%m%dT%H%M%S").to_string()
}

fn trigger(r: ReminderOffset) -> String {
    match (r.days, r.minutes) {
        (0, 0) => "PT0M".into(),
        (d, 0) => format!("-P{d}D"),
        (0, m) => format!("-PT{m}M"),
        (d, m) => format!("-P{d}DT{m}M"),
    }
}

/// RFC 5545 3.3.11.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Content lines, folded at 75 octets on character boundaries, CRLF-ended.
#[derive(Default)]
struct Writer {
    out: String,
}

impl Writer {
    fn line(&mut self, line: &str) {
        let mut width = 0;
        for c in line.chars() {
            if width + c.len_utf8() > 75 {
                self.out.push_str("\r\n ");
                width = 1;
            }
            self.out.push(c);
            width += c.len_utf8();
        }
        self.out.push_str("\r\n");
    }
}

/// The file with folded lines joined, and where each unfolded line began.
struct Unfolded {
    text: String,
    /// (offset in `text`, line number in the file), in order.
    starts: Vec<(usize, u64)>,
}

impl Unfolded {
    fn new(raw: &str) -> Unfolded {
        let mut text = String::with_capacity(raw.len());
        let mut starts = vec![];
        for (n, line) in raw.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if let Some(rest) = line.strip_prefix([' ', '\t']).filter(|_| !text.is_empty()) {
                text.push_str(rest);
            } else {
                if !text.is_empty() {
                    text.push('\n');
                }
                starts.push((text.len(), n as u64 + 1));
                text.push_str(line);
            }
        }
        text.push('\n');
        Unfolded { text, starts }
    }

    fn line_at(&self, offset: usize) -> u64 {
        let i = self.starts.partition_point(|(start, _)| *start <= offset);
        self.starts
            .get(i.saturating_sub(1))
            .map_or(1, |(_, line)| *line)
    }

    /// Nesting and the number of events, counted in one pass before the
    /// parser sees the file, so hostile depth or size is refused in linear
    /// time and never overflows the stack.
    fn check_shape(&self) -> Result<()> {
        let mut depth = 0usize;
        let mut events = 0usize;
        let mut offset = 0;
        for line in self.text.split('\n') {
            let (name, value) = line.split_once(':').unwrap_or((line, ""));
            if name.eq_ignore_ascii_case("BEGIN") {
                depth += 1;
                if depth > MAX_ICS_DEPTH {
                    return Err(self.error_at(offset, "components nested more than 8 deep"));
                }
                if value.trim().eq_ignore_ascii_case("VEVENT") {
                    events += 1;
                    if events > MAX_ICS_EVENTS {
                        return Err(Error::Import("more than 5,000 events in one file"));
                    }
                }
            } else if name.eq_ignore_ascii_case("END") {
                depth = depth.saturating_sub(1);
            }
            offset += line.len() + 1;
        }
        Ok(())
    }

    fn error_at(&self, offset: usize, problem: &str) -> Error {
        Error::ImportLine {
            line: self.line_at(offset),
            problem: problem.to_owned(),
        }
    }
}

/// A series being read: the gathering and its occurrence changes.
struct Series<'a> {
    gathering: NewGathering,
    cancelled: Vec<NaiveDateTime>,
    moved: BTreeMap<NaiveDateTime, Moved>,
    dtstart: &'a Property<'a>,
    rrule: Option<&'a Property<'a>>,
    event: &'a Component<'a>,
}

struct Reader<'f> {
    file: &'f Unfolded,
    default_zone: Tz,
}

impl<'f> Reader<'f> {
    /// An error on the line where `located` (a slice of the parsed file) is.
    fn at(&self, located: &str, problem: &str) -> Error {
        let offset = (located.as_ptr() as usize).saturating_sub(self.file.text.as_ptr() as usize);
        self.file.error_at(offset, problem)
    }

    fn error(&self, prop: &Property, problem: &str) -> Error {
        self.at(prop.name.as_str(), problem)
    }

    fn required<'c>(&self, event: &'c Component<'c>, name: &str) -> Result<&'c Property<'c>> {
        event.find_prop(name).ok_or_else(|| {
            let offset = (event.name.as_str().as_ptr() as usize)
                .saturating_sub(self.file.text.as_ptr() as usize);
            self.file
                .error_at(offset, &format!("an event without {name}"))
        })
    }

    /// A gathering's field error, pinned to the line it came from.
    fn explain(&self, e: Error, s: &Series) -> Error {
        match e {
            Error::Invalid { field, problem } => {
                let prop = match field {
                    "recurrence" => s.rrule,
                    "title" => s.event.find_prop("SUMMARY"),
                    "description" => s.event.find_prop("DESCRIPTION"),
                    "location" => s.event.find_prop("LOCATION"),
                    "duration" => s.event.find_prop("DTEND").or(s.event.find_prop("DURATION")),
                    _ => None,
                };
                self.error(
                    prop.unwrap_or(s.dtstart),
                    &format!("invalid {field}: {problem}"),
                )
            }
            other => other,
        }
    }

    fn series<'c>(&self, event: &'c Component<'c>) -> Result<Series<'c>> {
        let dtstart = self.required(event, "DTSTART")?;
        let (start, zone, all_day) = self.time(dtstart)?;
        let duration = self.duration(event, start, zone, all_day)?;
        let text = |name: &str| event.find_prop(name).map(|p| unescape(p.val.as_str()));
        if let Some(rdate) = event.find_prop("RDATE") {
            return Err(self.error(rdate, "RDATE is not supported"));
        }
        let mut rrules = event.properties.iter().filter(|p| p.name == "RRULE");
        let rrule = rrules.next();
        if let Some(second) = rrules.next() {
            // RFC 5545 allows several; Tend keeps one rule per gathering and
            // will not drop the others in silence.
            return Err(self.error(second, "more than one RRULE"));
        }
        let mut series = Series {
            gathering: NewGathering {
                title: text("SUMMARY")
                    .filter(|t| !t.trim().is_empty())
                    .unwrap_or_else(|| "Untitled gathering".into()),
                kind: text("X-TEND-KIND")
                    .and_then(|k| GatheringKind::from_code(k.trim()).ok())
                    .unwrap_or(GatheringKind::Other),
                description: text("DESCRIPTION").unwrap_or_default(),
                location: text("LOCATION").unwrap_or_default(),
                starts_at: start,
                time_zone: zone.name().to_owned(),
                duration,
                recurrence: rrule.map(|p| p.val.as_str().to_owned()),
                reminders: self.alarms(event)?,
            },
            cancelled: vec![],
            moved: BTreeMap::new(),
            dtstart,
            rrule,
            event,
        };
        for exdate in event
            .properties
            .iter()
            .filter(|p| p.name.as_str() == "EXDATE")
        {
            for value in exdate.val.as_str().split(',') {
                let single = Property {
                    val: value.trim().into(),
                    ..exdate.clone()
                };
                let (local, z, _) = self.time(&single)?;
                series.cancelled.push(in_zone(local, z, zone));
            }
        }
        Ok(series)
    }

    fn change(&self, event: &Component, id: &Property, s: &mut Series) -> Result<()> {
        let zone = recurrence::parse_zone(&s.gathering.time_zone)?;
        let (original, z, _) = self.time(id)?;
        let original = in_zone(original, z, zone);
        let cancelled = event
            .find_prop("STATUS")
            .is_some_and(|p| p.val.as_str().trim().eq_ignore_ascii_case("CANCELLED"));
        if cancelled {
            s.cancelled.push(original);
            return Ok(());
        }
        let dtstart = self.required(event, "DTSTART")?;
        let (start, z, all_day) = self.time(dtstart)?;
        let duration = self.duration(event, start, z, all_day)?;
        s.moved.insert(
            original,
            Moved {
                to: in_zone(start, z, zone),
                duration: (duration != s.gathering.duration).then_some(duration),
            },
        );
        Ok(())
    }

    /// A DATE-TIME or DATE property: local time, its zone, and whether it is a date.
    fn time(&self, p: &Property) -> Result<(NaiveDateTime, Tz, bool)> {
        let value = p.val.as_str().trim();
        let param = |key: &str| {
            p.params
                .iter()
                .find(|param| param.key.as_str().eq_ignore_ascii_case(key))
                .and_then(|param| param.val.as_ref())
                .map(|v| v.as_str().trim_matches('"').to_owned())
        };
        if value.len() == 8 || param("VALUE").is_some_and(|v| v.eq_ignore_ascii_case("DATE")) {
            let day = NaiveDate::parse_from_str(value, "%Y%m%d")
                .map_err(|_| self.error(p, "not a date"))?;
            return Ok((day.and_time(NaiveTime::MIN), self.default_zone, true));
        }
        let bad = || self.error(p, "not a date-time");
        if let Some(utc) = value.strip_suffix('Z') {
            let utc = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
            let local = Utc
                .from_utc_datetime(&utc)
                .with_timezone(&self.default_zone);
            return Ok((local.naive_local(), self.default_zone, false));
        }
        let local = NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
        let zone = match param("TZID") {
            None => self.default_zone,
            Some(tzid) => zone_named(&tzid).ok_or_else(|| self.error(p, "an unknown time zone"))?,
        };
        Ok((local, zone, false))
    }

    fn duration(
        &self,
        event: &Component,
        start: NaiveDateTime,
        zone: Tz,
        all_day: bool,
    ) -> Result<Duration> {
        if let Some(end) = event.find_prop("DTEND") {
            let (end, end_zone, _) = self.time(end)?;
            let length = resolve(end, end_zone).with_timezone(&Utc)
                - resolve(start, zone).with_timezone(&Utc);
            return Ok(length);
        }
        if let Some(d) = event.find_prop("DURATION") {
            return parse_duration(d.val.as_str()).ok_or_else(|| self.error(d, "not a duration"));
        }
        Ok(if all_day {
            Duration::days(1)
        } else {
            Duration::hours(1)
        })
    }

    /// Display alarms before the start. Others (after it, or at a fixed
    /// time) have no place in Tend's reminders and are left out.
    fn alarms(&self, event: &Component) -> Result<Vec<ReminderOffset>> {
        let mut out = vec![];
        for alarm in event
            .components
            .iter()
            .filter(|c| c.name.as_str() == "VALARM")
        {
            let trigger = self.required(alarm, "TRIGGER")?;
            let related_end = trigger.params.iter().any(|p| {
                p.key.as_str().eq_ignore_ascii_case("RELATED")
                    && p.val
                        .as_ref()
                        .is_some_and(|v| v.as_str().eq_ignore_ascii_case("END"))
            });
            let value = trigger.val.as_str().trim();
            if related_end || value.len() <= 1 {
                continue;
            }
            let (before, unsigned) = match value.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, value),
            };
            let d = parse_duration(unsigned);
            // At the start (`PT0M`, as Tend writes a 0m reminder) counts as before.
            let d = match d {
                Some(d) if before || d.is_zero() => d,
                Some(_) => continue,
                None if !before && !unsigned.starts_with(['P', '+']) => continue,
                None => return Err(self.error(trigger, "not a duration")),
            };
            let days = d.num_days();
            let minutes = (d - Duration::days(days)).num_minutes();
            if days <= 28 {
                out.push(ReminderOffset {
                    days: days as u16,
                    minutes: minutes as u16,
                });
            }
            if out.len() > 10 {
                return Err(self.error(trigger, "more than 10 reminders on one event"));
            }
        }
        out.sort_by(|a, b| b.cmp(a));
        out.dedup();
        Ok(out)
    }
}

/// IANA names, then Windows names as Outlook writes them.
fn zone_named(tzid: &str) -> Option<Tz> {
    let tzid = tzid.trim().trim_start_matches('/');
    recurrence::parse_zone(tzid).ok().or_else(|| {
        tzid.parse::<windows_timezones::WindowsTimezone>()
            .ok()
            .and_then(|w| recurrence::parse_zone(w.tzdb_id()).ok())
    })
}

/// A local time in one zone as local time in another.
fn in_zone(local: NaiveDateTime, from: Tz, to: Tz) -> NaiveDateTime {
    if from == to {
        return local;
    }
    resolve(local, from).with_timezone(&to).naive_local()
}

/// `P1W`, `P1D`, `PT1H30M`, `P1DT2H`; no sign.
fn parse_duration(text: &str) -> Option<Duration> {
    let rest = text
        .trim()
        .strip_prefix('+')
        .unwrap_or(text.trim())
        .strip_prefix('P')?;
    let (date, time) = rest.split_once('T').unwrap_or((rest, ""));
    let mut total = Duration::zero();
    let mut take = |part: &str, units: &[(char, i64)]| -> Option<()> {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() {
                number.push(c);
            } else {
                let (_, seconds) = units.iter().find(|(u, _)| *u == c)?;
                let n: i64 = number.parse().ok()?;
                total += Duration::seconds(n.checked_mul(*seconds)?);
                number.clear();
            }
        }
        number.is_empty().then_some(())
    };
    take(date, &[('W', 604_800), ('D', 86_400)])?;
    take(time, &[('H', 3_600), ('M', 60), ('S', 1)])?;
    (rest != "T" && !rest.is_empty() && total <= Duration::days(400)).then_some(total)
}

/// RFC 5545 3.3.11, the other way.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}
