//! Feelings and activities: free-form tags, renamed and merged by the member.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use super::entry::{TagKind, clean_tags};
use super::{Journal, store};
use crate::{Error, Result};

/// A tag and how many entries carry it.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct TagUse {
    pub kind: TagKind,
    pub name: String,
    pub entries: u64,
}

impl std::fmt::Debug for TagUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TagUse")
            .field("kind", &self.kind)
            .field("name", &crate::redact::Text(&self.name))
            .field("entries", &self.entries)
            .finish()
    }
}

impl Journal<'_> {
    /// Tags of one kind, most used first.
    pub fn tags(&self, kind: TagKind) -> Result<Vec<TagUse>> {
        self.vault.with_conn(|conn| {
            let mut stmt = conn.prepare(
                "SELECT t.name, count(et.entry) AS n FROM tags t
                 LEFT JOIN entry_tags et ON et.tag = t.id
                 WHERE t.kind = ?1 GROUP BY t.id ORDER BY n DESC, t.name",
            )?;
            let rows = stmt.query_map([kind.code()], |r| {
                Ok(TagUse {
                    kind,
                    name: r.get(0)?,
                    entries: r.get(1)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Renames a tag everywhere. Fails with [`Error::TagExists`] if the new
    /// name is taken; merge instead.
    pub fn rename_tag(&self, kind: TagKind, from: &str, to: &str) -> Result<()> {
        let to = one_tag(to)?;
        self.vault.with_tx(|tx| {
            let id = id_of(tx, kind, from)?;
            if let Some(other) = find(tx, kind, &to)?
                && other != id
            {
                return Err(Error::TagExists);
            }
            tx.execute("UPDATE tags SET name = ?2 WHERE id = ?1", (id, &to))?;
            reindex_tagged(tx, id)
        })
    }

    /// Folds `from` into `into`: entries with either end up with `into` once.
    pub fn merge_tags(&self, kind: TagKind, from: &str, into: &str) -> Result<()> {
        self.vault.with_tx(|tx| {
            let from = id_of(tx, kind, from)?;
            let into = id_of(tx, kind, into)?;
            if from == into {
                return Ok(());
            }
            tx.execute(
                "INSERT OR IGNORE INTO entry_tags (entry, tag, position)
                 SELECT entry, ?2, position FROM entry_tags WHERE tag = ?1",
                (from, into),
            )?;
            tx.execute("DELETE FROM tags WHERE id = ?1", [from])?;
            reindex_tagged(tx, into)
        })
    }
}

fn one_tag(name: &str) -> Result<String> {
    clean_tags(vec![name.to_owned()])?
        .pop()
        .ok_or(Error::invalid("tag", "must not be empty"))
}

fn find(conn: &Connection, kind: TagKind, name: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT id FROM tags WHERE kind = ?1 AND name = ?2")?
        .query_row((kind.code(), name.trim()), |r| r.get(0))
        .optional()?)
}

fn id_of(conn: &Connection, kind: TagKind, name: &str) -> Result<i64> {
    find(conn, kind, name)?.ok_or(Error::NotFound { what: "tag" })
}

fn reindex_tagged(conn: &Connection, tag: i64) -> Result<()> {
    let seqs: Vec<i64> = conn
        .prepare("SELECT entry FROM entry_tags WHERE tag = ?1")?
        .query_map([tag], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for seq in seqs {
        store::reindex(conn, seq)?;
    }
    Ok(())
}

/// Tag ids already looked up in this transaction: a bulk import names the
/// same few tags a hundred thousand times.
#[derive(Default)]
pub(crate) struct TagIds(HashMap<(i64, String), i64>);

impl TagIds {
    fn get(&mut self, conn: &Connection, kind: TagKind, name: &str) -> Result<i64> {
        // SQLite's NOCASE folds ASCII only; the key must fold the same way.
        let key = (kind.code(), name.to_ascii_lowercase());
        if let Some(&id) = self.0.get(&key) {
            return Ok(id);
        }
        let id = match find(conn, kind, name)? {
            Some(id) => id,
            None => {
                conn.prepare_cached("INSERT INTO tags (kind, name) VALUES (?1, ?2)")?
                    .execute((kind.code(), name))?;
                conn.last_insert_rowid()
            }
        };
        self.0.insert(key, id);
        Ok(id)
    }
}

/// Links an entry to its tags in order, creating tags as needed.
pub(crate) fn attach(
    conn: &Connection,
    ids: &mut TagIds,
    seq: i64,
    kind: TagKind,
    names: &[String],
) -> Result<()> {
    for (position, name) in names.iter().enumerate() {
        let tag = ids.get(conn, kind, name)?;
        conn.prepare_cached(
            "INSERT OR IGNORE INTO entry_tags (entry, tag, position) VALUES (?1, ?2, ?3)",
        )?
        .execute((seq, tag, position as i64))?;
    }
    Ok(())
}

pub(crate) fn of_entry(conn: &Connection, seq: i64, kind: TagKind) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.name FROM entry_tags et JOIN tags t ON t.id = et.tag
         WHERE et.entry = ?1 AND t.kind = ?2 ORDER BY et.position, t.name",
    )?;
    let names = stmt.query_map((seq, kind.code()), |r| r.get(0))?;
    Ok(names.collect::<rusqlite::Result<_>>()?)
}

/// A tag no entry uses any more is user content too; it goes with its last entry.
pub(crate) fn prune_unused(conn: &Connection) -> Result<()> {
    conn.prepare_cached("DELETE FROM tags WHERE id NOT IN (SELECT tag FROM entry_tags)")?
        .execute([])?;
    Ok(())
}
