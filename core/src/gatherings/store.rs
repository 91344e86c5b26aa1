//! Gatherings in SQL, and loading them with their overrides for expansion.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDateTime};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row};

use super::model::{
    AttendanceTotals, Gathering, GatheringId, GatheringKind, NewGathering, ReminderOffset, Rsvp,
};
use super::recurrence::Schedule;
use crate::collective::CollectiveId;
use crate::time::{from_ms, local_text};
use crate::{Error, Result};

pub(crate) fn local_from(text: &str) -> Result<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, crate::time::LOCAL).map_err(|_| Error::DatabaseDamaged)
}

/// A moved occurrence: its new local start and, if changed, its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Moved {
    pub to: NaiveDateTime,
    pub duration: Option<Duration>,
}

/// A gathering ready to expand.
pub(crate) struct Loaded {
    pub gathering: Gathering,
    pub schedule: Schedule,
    pub cancelled: Vec<NaiveDateTime>,
    pub moved: BTreeMap<NaiveDateTime, Moved>,
    pub rsvps: HashMap<NaiveDateTime, (Option<Rsvp>, Option<String>)>,
    /// `Some` for a gathering shared with invitees, or by an organiser.
    pub totals: Option<HashMap<NaiveDateTime, AttendanceTotals>>,
}

const COLUMNS: &str = "id, kind, title, description, location, starts_at, time_zone, duration_s, \
                       recurrence, reminders, created_at, updated_at, organiser_name";
/// What is read: `COLUMNS`, and the collective it belongs to.
const READ: &str = "id, kind, title, description, location, starts_at, time_zone, duration_s, \
                    recurrence, reminders, created_at, updated_at, organiser_name, collective, \
                    visitors_welcome";

/// `uid` is the iCalendar UID an import brought; new gatherings get `<id>@tend`.
pub(crate) fn insert(
    conn: &Connection,
    g: &NewGathering,
    schedule: &Schedule,
    now_ms: i64,
    uid: Option<&str>,
) -> Result<i64> {
    let id = GatheringId::new();
    let uid = uid.map_or_else(|| format!("{id}@tend"), str::to_owned);
    let mut values = vec![Value::from(id.to_string())];
    values.extend(content(g, schedule)?);
    values.extend([Value::from(now_ms), Value::from(uid)]);
    conn.execute(
        &format!(
            "INSERT INTO gatherings (uid, {COLUMNS})
             VALUES (?12, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, NULL)"
        ),
        rusqlite::params_from_iter(values),
    )?;
    Ok(conn.last_insert_rowid())
}

pub(crate) fn update(
    conn: &Connection,
    seq: i64,
    g: &NewGathering,
    schedule: &Schedule,
    now_ms: i64,
) -> Result<()> {
    let mut values = vec![Value::from(seq)];
    values.extend(content(g, schedule)?);
    values.push(Value::from(now_ms));
    conn.execute(
        "UPDATE gatherings SET kind = ?2, title = ?3, description = ?4, location = ?5,
             starts_at = ?6, time_zone = ?7, duration_s = ?8, recurrence = ?9, reminders = ?10,
             updated_at = ?11
         WHERE seq = ?1",
        rusqlite::params_from_iter(values),
    )?;
    Ok(())
}

/// What a gathering says, in `COLUMNS` order from `kind` to `reminders`.
fn content(g: &NewGathering, schedule: &Schedule) -> Result<[Value; 9]> {
    Ok([
        g.kind.code().to_owned().into(),
        g.title.trim().to_owned().into(),
        g.description.clone().into(),
        g.location.trim().to_owned().into(),
        local_text(schedule.start()).into(),
        schedule.zone().name().to_owned().into(),
        g.duration.num_seconds().into(),
        schedule.rule().map(str::to_owned).into(),
        reminders_json(&g.reminders)?.into(),
    ])
}

fn reminders_json(reminders: &[ReminderOffset]) -> Result<String> {
    let mut sorted = reminders.to_vec();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.dedup();
    serde_json::to_string(&sorted).map_err(|_| Error::Storage("encoding reminders".into()))
}

/// Adds the gathering with this UID, or replaces its content; its
/// cancelled and moved occurrences are replaced wholesale (those naming no
/// start of the rule are dropped). What an .ics import or an organiser's
/// update brings. Returns the row and whether it is new.
pub(crate) fn put(
    conn: &Connection,
    uid: &str,
    g: &NewGathering,
    schedule: &Schedule,
    cancelled: &[NaiveDateTime],
    moved: &BTreeMap<NaiveDateTime, Moved>,
    now_ms: i64,
) -> Result<(i64, bool)> {
    let (seq, added) = match seq_by_uid(conn, uid)? {
        Some(seq) => {
            update(conn, seq, g, schedule, now_ms)?;
            conn.execute(
                "DELETE FROM gathering_overrides WHERE gathering = ?1",
                [seq],
            )?;
            (seq, false)
        }
        None => (insert(conn, g, schedule, now_ms, Some(uid))?, true),
    };
    let mut stmt = conn.prepare_cached(
        "INSERT OR REPLACE INTO gathering_overrides
             (gathering, original_start, cancelled, moved_to, duration_s)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for original in cancelled.iter().filter(|o| schedule.has_start(**o)) {
        stmt.execute(rusqlite::params![
            seq,
            local_text(*original),
            true,
            None::<String>,
            None::<i64>
        ])?;
    }
    for (original, m) in moved.iter().filter(|(o, _)| schedule.has_start(**o)) {
        stmt.execute(rusqlite::params![
            seq,
            local_text(*original),
            false,
            Some(local_text(m.to)),
            m.duration.map(|d| d.num_seconds())
        ])?;
    }
    Ok((seq, added))
}

pub(crate) fn seq_by_uid(conn: &Connection, uid: &str) -> Result<Option<i64>> {
    Ok(conn
        .query_row("SELECT seq FROM gatherings WHERE uid = ?1", [uid], |r| {
            r.get(0)
        })
        .optional()?)
}

pub(crate) fn uid_of(conn: &Connection, seq: i64) -> Result<String> {
    Ok(
        conn.query_row("SELECT uid FROM gatherings WHERE seq = ?1", [seq], |r| {
            r.get(0)
        })?,
    )
}

pub(crate) fn seq_of(conn: &Connection, id: GatheringId) -> Result<i64> {
    conn.query_row(
        "SELECT seq FROM gatherings WHERE id = ?1",
        [id.to_string()],
        |r| r.get(0),
    )
    .optional()?
    .ok_or(Error::NotFound { what: "gathering" })
}

pub(crate) fn load(conn: &Connection, seq: i64) -> Result<Gathering> {
    conn.query_row(
        &format!("SELECT {READ} FROM gatherings WHERE seq = ?1"),
        [seq],
        from_row,
    )?
}

pub(crate) fn list(conn: &Connection) -> Result<Vec<(i64, Gathering)>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT seq, {READ} FROM gatherings ORDER BY seq"))?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, from_row_at(r, 1)?)))?;
    rows.map(|row| {
        let (seq, g) = row?;
        Ok((seq, g?))
    })
    .collect()
}

/// Every gathering with its overrides and RSVPs.
pub(crate) fn load_all(conn: &Connection) -> Result<Vec<Loaded>> {
    Ok(load_by_seq(conn)?.into_values().collect())
}

/// The same, with the totals of shared gatherings: only occurrences show
/// them, so reminders do not pay for counting.
pub(crate) fn load_all_with_totals(conn: &Connection) -> Result<Vec<Loaded>> {
    let mut loaded = load_by_seq(conn)?;
    for (seq, totals) in super::invites::all_totals(conn)? {
        if let Some(l) = loaded.get_mut(&seq) {
            l.totals = Some(totals);
        }
    }
    Ok(loaded.into_values().collect())
}

fn load_by_seq(conn: &Connection) -> Result<BTreeMap<i64, Loaded>> {
    let mut loaded: BTreeMap<i64, Loaded> = BTreeMap::new();
    for (seq, gathering) in list(conn)? {
        let schedule = Schedule::stored(
            gathering.starts_at,
            &gathering.time_zone,
            gathering.recurrence.as_deref(),
        )?;
        loaded.insert(
            seq,
            Loaded {
                gathering,
                schedule,
                cancelled: vec![],
                moved: BTreeMap::new(),
                rsvps: HashMap::new(),
                totals: None,
            },
        );
    }
    let mut stmt = conn.prepare_cached(
        "SELECT gathering, original_start, cancelled, moved_to, duration_s FROM gathering_overrides",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let Some(l) = loaded.get_mut(&r.get::<_, i64>(0)?) else {
            continue;
        };
        let original = local_from(&r.get::<_, String>(1)?)?;
        if r.get::<_, bool>(2)? {
            l.cancelled.push(original);
        } else if let Some(to) = r.get::<_, Option<String>>(3)? {
            let duration = r.get::<_, Option<i64>>(4)?.map(Duration::seconds);
            l.moved.insert(
                original,
                Moved {
                    to: local_from(&to)?,
                    duration,
                },
            );
        }
    }
    let mut stmt = conn
        .prepare_cached("SELECT gathering, original_start, response, note FROM gathering_rsvps")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let Some(l) = loaded.get_mut(&r.get::<_, i64>(0)?) else {
            continue;
        };
        let response = r
            .get::<_, Option<i64>>(2)?
            .map(Rsvp::from_code)
            .transpose()?;
        l.rsvps
            .insert(local_from(&r.get::<_, String>(1)?)?, (response, r.get(3)?));
    }
    Ok(loaded)
}

fn from_row(row: &Row) -> rusqlite::Result<Result<Gathering>> {
    from_row_at(row, 0)
}

fn from_row_at(row: &Row, at: usize) -> rusqlite::Result<Result<Gathering>> {
    let id: String = row.get(at)?;
    let kind: String = row.get(at + 1)?;
    let starts: String = row.get(at + 5)?;
    let duration: i64 = row.get(at + 7)?;
    let reminders: String = row.get(at + 9)?;
    let created: i64 = row.get(at + 10)?;
    let updated: i64 = row.get(at + 11)?;
    let title: String = row.get(at + 2)?;
    let description: String = row.get(at + 3)?;
    let location: String = row.get(at + 4)?;
    let time_zone: String = row.get(at + 6)?;
    let recurrence: Option<String> = row.get(at + 8)?;
    let organiser: Option<String> = row.get(at + 12)?;
    let collective: Option<Vec<u8>> = row.get(at + 13)?;
    let visitors_welcome: bool = row.get(at + 14)?;
    Ok((|| {
        Ok(Gathering {
            id: id.parse().map_err(|_| Error::DatabaseDamaged)?,
            kind: GatheringKind::from_code(&kind).map_err(|_| Error::DatabaseDamaged)?,
            title,
            description,
            location,
            starts_at: local_from(&starts)?,
            time_zone,
            duration: Duration::seconds(duration),
            recurrence,
            reminders: serde_json::from_str(&reminders).map_err(|_| Error::DatabaseDamaged)?,
            created_at: from_ms(created)?,
            updated_at: from_ms(updated)?,
            organiser,
            collective: collective
                .map(|id| id.try_into().map(CollectiveId))
                .transpose()
                .map_err(|_| Error::DatabaseDamaged)?,
            visitors_welcome,
        })
    })())
}
