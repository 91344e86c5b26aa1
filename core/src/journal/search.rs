//! Full-text search with FTS5, inside the encrypted database.

use rusqlite::Connection;
use serde::Serialize;

use super::entry::Entry;
use super::{Journal, store};
use crate::Result;

// Control characters cannot occur in indexed text we accept as markers.
const OPEN: char = '\u{2}';
const CLOSE: char = '\u{3}';

#[derive(Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SnippetPart {
    pub text: String,
    /// Whether this part matched the query.
    pub matched: bool,
}

impl std::fmt::Debug for SnippetPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnippetPart")
            .field("text", &crate::redact::Text(&self.text))
            .field("matched", &self.matched)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SearchHit {
    pub entry: Entry,
    /// A few words around the match, split so a UI can highlight.
    pub snippet: Vec<SnippetPart>,
}

impl Journal<'_> {
    /// Entries containing every word of `query` (the last word may be a prefix),
    /// most recently added first. (Ranking by relevance would score every
    /// match: 70 ms for a common word in 100k entries; this stops at `limit`.)
    pub fn search(&self, query: &str, limit: u32) -> Result<Vec<SearchHit>> {
        let Some(fts_query) = crate::fts::query(query) else {
            return Ok(Vec::new());
        };
        let limit = store::page_limit(limit)?;
        self.vault.with_conn(|conn| run(conn, &fts_query, limit))
    }
}

fn run(conn: &Connection, fts_query: &str, limit: u32) -> Result<Vec<SearchHit>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT rowid, snippet(entries_fts, -1, '{OPEN}', '{CLOSE}', '…', 16)
         FROM entries_fts WHERE entries_fts MATCH ?1
         ORDER BY rowid DESC LIMIT ?2"
    ))?;
    let rows: Vec<(i64, String)> = stmt
        .query_map((fts_query, limit), |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter()
        .map(|(seq, snippet)| {
            Ok(SearchHit {
                entry: store::load(conn, seq)?,
                snippet: split_snippet(&snippet),
            })
        })
        .collect()
}

/// Whether the search index matches the entries it indexes: FTS5's own
/// check, registered with the vault's integrity check.
pub(crate) fn index_is_sound(conn: &Connection) -> Result<bool> {
    Ok(conn
        .execute(
            "INSERT INTO entries_fts (entries_fts, rank) VALUES ('integrity-check', 1)",
            [],
        )
        .is_ok())
}

fn split_snippet(snippet: &str) -> Vec<SnippetPart> {
    let mut parts = Vec::new();
    let mut matched = false;
    for piece in snippet.split([OPEN, CLOSE]) {
        if !piece.is_empty() {
            parts.push(SnippetPart {
                text: piece.to_owned(),
                matched,
            });
        }
        matched = !matched;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_split_at_markers() {
        let parts = split_snippet("…painted a \u{2}heron\u{3} by the…");
        assert_eq!(parts.len(), 3);
        assert!(parts[1].matched && parts[1].text == "heron");
        assert!(!parts[0].matched && !parts[2].matched);
    }
}
