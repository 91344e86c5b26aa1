//! Entries in SQL: the rows, their tags and their search-index row.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::entry::{
    CleanEntry, Entry, EntryFilter, EntryId, EntryPage, NewEntry, PageCursor, TagKind,
};
use super::tags::TagIds;
use super::{ImportSummary, Journal, Progress, mood, tags};
use crate::envelope;
use crate::{Error, Result};

pub(crate) const MAX_PAGE: u32 = 500;

const ENTRY_COLUMNS: &str =
    "e.seq, e.id, e.written_at, e.utc_offset, e.updated_at, e.mood, e.title, e.body";

impl Journal<'_> {
    pub fn add(&self, entry: NewEntry) -> Result<Entry> {
        let clean = entry.clean(Utc::now())?;
        self.vault.with_tx(|tx| {
            mood::check_on_scale(tx, clean.mood)?;
            let id = EntryId::new();
            let seq = insert(tx, &mut TagIds::default(), id, &clean, now_ms())?;
            load(tx, seq)
        })
    }

    pub fn get(&self, id: EntryId) -> Result<Entry> {
        self.vault.with_conn(|conn| load(conn, seq_of(conn, id)?))
    }

    /// Replaces an entry's content; its id stays and `updated_at` moves.
    pub fn update(&self, id: EntryId, entry: NewEntry) -> Result<Entry> {
        let clean = entry.clean(Utc::now())?;
        self.vault.with_tx(|tx| {
            mood::check_on_scale(tx, clean.mood)?;
            let seq = seq_of(tx, id)?;
            tx.execute(
                "UPDATE entries SET written_at = ?2, utc_offset = ?3, local_day = ?4,
                     updated_at = ?5, mood = ?6, title = ?7, body = ?8 WHERE seq = ?1",
                params![
                    seq,
                    clean.written_at.timestamp_millis(),
                    clean.written_at.offset().local_minus_utc(),
                    clean.written_at.date_naive().to_string(),
                    now_ms().max(clean.written_at.timestamp_millis()),
                    clean.mood,
                    clean.title,
                    clean.body,
                ],
            )?;
            tx.execute("DELETE FROM entry_tags WHERE entry = ?1", [seq])?;
            let ids = &mut TagIds::default();
            tags::attach(tx, ids, seq, TagKind::Feeling, &clean.feelings)?;
            tags::attach(tx, ids, seq, TagKind::Activity, &clean.activities)?;
            tags::prune_unused(tx)?;
            reindex(tx, seq)?;
            load(tx, seq)
        })
    }

    /// Deletes an entry for good: its row, its tags' links and its search-index row.
    /// Deletes an entry, its words in the search index and the sealed
    /// copies of it waiting in my outbox; returns how many copies went.
    /// Copies already delivered stay with those who received them.
    pub fn delete(&self, id: EntryId) -> Result<u64> {
        self.vault.with_tx(|tx| {
            let seq = seq_of(tx, id)?;
            tx.execute("DELETE FROM entries_fts WHERE rowid = ?1", [seq])?;
            tx.execute("DELETE FROM entries WHERE seq = ?1", [seq])?;
            tags::prune_unused(tx)?;
            envelope::forget_outbox_about(tx, &id.to_string())
        })
    }

    /// Newest first, `limit` (1 to 500) a page.
    pub fn list(
        &self,
        filter: &EntryFilter,
        limit: u32,
        after: Option<PageCursor>,
    ) -> Result<EntryPage> {
        if filter.from.zip(filter.to).is_some_and(|(f, t)| f > t) {
            return Err(Error::invalid("date range", "starts after it ends"));
        }
        let limit = page_limit(limit)?;
        self.vault.with_conn(|conn| {
            let mut sql = format!("SELECT {ENTRY_COLUMNS} FROM entries e WHERE 1");
            let mut args: Vec<rusqlite::types::Value> = Vec::new();
            let mut arg = |sql: &mut String, clause: &str, value: rusqlite::types::Value| {
                args.push(value);
                sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
            };
            if let Some(from) = filter.from {
                arg(&mut sql, " AND e.local_day >= ?", from.to_string().into());
            }
            if let Some(to) = filter.to {
                arg(&mut sql, " AND e.local_day <= ?", to.to_string().into());
            }
            if let Some(min) = filter.mood_min {
                arg(&mut sql, " AND e.mood >= ?", i64::from(min).into());
            }
            if let Some(max) = filter.mood_max {
                arg(&mut sql, " AND e.mood <= ?", i64::from(max).into());
            }
            if let Some(tag) = &filter.tag {
                arg(
                    &mut sql,
                    " AND e.seq IN (SELECT et.entry FROM entry_tags et JOIN tags t ON t.id = et.tag WHERE t.name = ?)",
                    tag.trim().to_owned().into(),
                );
            }
            if let Some(c) = after {
                arg(&mut sql, " AND (e.written_at, e.seq) < (?", c.written_at_ms.into());
                arg(&mut sql, ", ?)", c.seq.into());
            }
            arg(
                &mut sql,
                " ORDER BY e.written_at DESC, e.seq DESC LIMIT ?",
                i64::from(limit + 1).into(),
            );
            let mut stmt = conn.prepare(&sql)?;
            let rows: Vec<(i64, i64, Entry)> = stmt
                .query_map(rusqlite::params_from_iter(args), |row| {
                    Ok((row.get(0)?, row.get(2)?, row_to_entry(row)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let more = rows.len() > limit as usize;
            let mut rows: Vec<_> = rows.into_iter().take(limit as usize).collect();
            let next = rows
                .last()
                .map(|(seq, written_at_ms, _)| PageCursor { written_at_ms: *written_at_ms, seq: *seq });
            fill_page_tags(conn, &mut rows)?;
            let entries = rows.into_iter().map(|(_, _, entry)| entry).collect();
            Ok(EntryPage {
                entries,
                next: if more { next } else { None },
            })
        })
    }

    /// How many entries the journal holds.
    pub fn count(&self) -> Result<u64> {
        self.vault
            .with_conn(|conn| Ok(conn.query_row("SELECT count(*) FROM entries", [], |r| r.get(0))?))
    }
}

pub(crate) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// Inserts a checked entry with its tags and index row; returns its seq.
pub(crate) fn insert(
    conn: &Connection,
    tag_ids: &mut TagIds,
    id: EntryId,
    e: &CleanEntry,
    updated_at_ms: i64,
) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO entries (id, written_at, utc_offset, local_day, updated_at, mood, title, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        id.to_string(),
        e.written_at.timestamp_millis(),
        e.written_at.offset().local_minus_utc(),
        e.written_at.date_naive().to_string(),
        updated_at_ms,
        e.mood,
        e.title,
        e.body,
    ])?;
    let seq = conn.last_insert_rowid();
    tags::attach(conn, tag_ids, seq, TagKind::Feeling, &e.feelings)?;
    tags::attach(conn, tag_ids, seq, TagKind::Activity, &e.activities)?;
    // A new row: index straight from memory, no read-back.
    let tags = e.feelings.iter().chain(&e.activities).map(String::as_str);
    conn.prepare_cached(
        "INSERT INTO entries_fts (rowid, title, body, tags) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute((
        seq,
        e.title.as_deref().unwrap_or(""),
        &e.body,
        tags.collect::<Vec<_>>().join(" "),
    ))?;
    Ok(seq)
}

/// Rewrites an entry's row in the full-text index from its current content.
pub(crate) fn reindex(conn: &Connection, seq: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM entries_fts WHERE rowid = ?1")?
        .execute([seq])?;
    conn.prepare_cached(
        "INSERT INTO entries_fts (rowid, title, body, tags)
         SELECT e.seq, coalesce(e.title, ''), e.body,
                coalesce((SELECT group_concat(t.name, ' ') FROM entry_tags et
                          JOIN tags t ON t.id = et.tag WHERE et.entry = e.seq), '')
         FROM entries e WHERE e.seq = ?1",
    )?
    .execute([seq])?;
    Ok(())
}

pub(crate) fn seq_of(conn: &Connection, id: EntryId) -> Result<i64> {
    conn.prepare_cached("SELECT seq FROM entries WHERE id = ?1")?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?
        .ok_or(Error::NotFound { what: "entry" })
}

pub(crate) fn load(conn: &Connection, seq: i64) -> Result<Entry> {
    let mut entry = conn
        .prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM entries e WHERE e.seq = ?1"
        ))?
        .query_row([seq], row_to_entry)
        .optional()?
        .ok_or(Error::NotFound { what: "entry" })?;
    fill_tags(conn, seq, &mut entry)?;
    Ok(entry)
}

/// The tags of a whole page in one query, not two per entry.
fn fill_page_tags(conn: &Connection, rows: &mut [(i64, i64, Entry)]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let seqs = format!(
        "[{}]",
        rows.iter()
            .map(|(seq, _, _)| seq.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let at: std::collections::HashMap<i64, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, (seq, _, _))| (*seq, i))
        .collect();
    let mut stmt = conn.prepare_cached(
        "SELECT et.entry, t.kind, t.name FROM entry_tags et JOIN tags t ON t.id = et.tag
         WHERE et.entry IN (SELECT value FROM json_each(?1))
         ORDER BY et.entry, et.position, t.name",
    )?;
    let mut found = stmt.query([seqs])?;
    while let Some(row) = found.next()? {
        let Some(&i) = at.get(&row.get::<_, i64>(0)?) else {
            continue;
        };
        let name: String = row.get(2)?;
        match TagKind::from_code(row.get(1)?)? {
            TagKind::Feeling => rows[i].2.feelings.push(name),
            TagKind::Activity => rows[i].2.activities.push(name),
        }
    }
    Ok(())
}

fn fill_tags(conn: &Connection, seq: i64, entry: &mut Entry) -> Result<()> {
    entry.feelings = tags::of_entry(conn, seq, TagKind::Feeling)?;
    entry.activities = tags::of_entry(conn, seq, TagKind::Activity)?;
    Ok(())
}

/// Columns as in `ENTRY_COLUMNS`; tags are filled in separately.
pub(crate) fn row_to_entry(row: &Row<'_>) -> rusqlite::Result<Entry> {
    let damaged = |i| rusqlite::Error::IntegralValueOutOfRange(i, 0);
    let id: String = row.get(1)?;
    let offset = FixedOffset::east_opt(row.get(3)?).ok_or_else(|| damaged(3))?;
    let written_at = offset
        .timestamp_millis_opt(row.get(2)?)
        .single()
        .ok_or_else(|| damaged(2))?;
    let updated_at: DateTime<Utc> = Utc
        .timestamp_millis_opt(row.get(4)?)
        .single()
        .ok_or_else(|| damaged(4))?;
    Ok(Entry {
        id: id.parse().map_err(|_| damaged(1))?,
        written_at,
        updated_at,
        mood: row.get(5)?,
        feelings: Vec::new(),
        activities: Vec::new(),
        title: row.get(6)?,
        body: row.get(7)?,
    })
}

/// Every entry, oldest first, one at a time (exports of any size).
pub(crate) fn for_each_oldest_first(
    conn: &Connection,
    mut f: impl FnMut(Entry) -> Result<()>,
) -> Result<()> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {ENTRY_COLUMNS} FROM entries e ORDER BY e.written_at, e.seq"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let mut entry = row_to_entry(row)?;
        fill_tags(conn, seq, &mut entry)?;
        f(entry)?;
    }
    Ok(())
}

/// Stores an entry under a given id, or replaces the stored one if this copy
/// is newer. Returns what happened.
fn upsert(
    conn: &Connection,
    tag_ids: &mut TagIds,
    id: EntryId,
    e: &CleanEntry,
    updated_at_ms: i64,
) -> Result<Upsert> {
    let existing: Option<(i64, i64)> = conn
        .prepare_cached("SELECT seq, updated_at FROM entries WHERE id = ?1")?
        .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match existing {
        None => {
            insert(conn, tag_ids, id, e, updated_at_ms)?;
            Ok(Upsert::Added)
        }
        Some((_, stored)) if stored >= updated_at_ms => Ok(Upsert::Unchanged),
        Some((seq, _)) => {
            conn.execute("DELETE FROM entries_fts WHERE rowid = ?1", [seq])?;
            conn.execute("DELETE FROM entries WHERE seq = ?1", [seq])?;
            insert(conn, tag_ids, id, e, updated_at_ms)?;
            Ok(Upsert::Updated)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upsert {
    Added,
    Updated,
    Unchanged,
}

/// Upserts checked entries in the caller's transaction, reporting progress.
pub(crate) fn upsert_all<'e>(
    conn: &Connection,
    rows: impl Iterator<Item = (EntryId, &'e CleanEntry, i64)>,
    total: u64,
    progress: Progress<'_>,
) -> Result<ImportSummary> {
    // Oldest first, so insertion order (which search results follow) is time order.
    let mut rows: Vec<_> = rows.collect();
    rows.sort_by_key(|(_, entry, _)| entry.written_at);
    let steps = mood::read_scale(conn)?.len();
    let mut tag_ids = TagIds::default();
    let mut summary = ImportSummary::default();
    for (i, (id, entry, updated_at_ms)) in rows.into_iter().enumerate() {
        mood::check_on_steps(entry.mood, steps)?;
        match upsert(conn, &mut tag_ids, id, entry, updated_at_ms)? {
            Upsert::Added => summary.added += 1,
            Upsert::Updated => summary.updated += 1,
            Upsert::Unchanged => summary.unchanged += 1,
        }
        if (i + 1).is_multiple_of(1000) {
            progress(i as u64 + 1, total);
        }
    }
    progress(total, total);
    Ok(summary)
}

/// A page of 1 to [`MAX_PAGE`]; anything else is refused, never changed in silence.
pub(crate) fn page_limit(limit: u32) -> Result<u32> {
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(limit)
    } else {
        Err(Error::invalid("limit", "from 1 to 500"))
    }
}
