//! Full-text search queries for the FTS5 indexes inside the vault (the
//! journal's, care's): what a member types never becomes FTS5 syntax.

/// Quotes each word, so no input can be FTS5 syntax: `"w1" "w2" "w3"*`.
pub(crate) fn query(query: &str) -> Option<String> {
    let words: Vec<&str> = query.split_whitespace().take(32).collect();
    let last = words.len().checked_sub(1)?;
    let quoted = words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let w = w.replace('"', "\"\"");
            if i == last {
                format!("\"{w}\"*")
            } else {
                format!("\"{w}\"")
            }
        })
        .collect::<Vec<_>>();
    Some(quoted.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_cannot_inject_fts_syntax() {
        assert_eq!(query("  "), None);
        assert_eq!(
            query(r#"NEAR(a b) "x OR"#).unwrap(),
            r#""NEAR(a" "b)" """x" "OR"*"#
        );
    }
}
