//! The core's modules point one way: each imports only modules on lower
//! rows of the map in `core/src/lib.rs`. Read from the source, so a new
//! `use crate::…` that points up fails here.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The rows of the module map, lowest first.
const ROWS: &[&[&str]] = &[
    &[
        "error",
        "id",
        "name",
        "passphrase",
        "time",
        "redact",
        "secret",
        "sealed",
        "fts",
        "bytes",
        "uniffi_types",
    ],
    &["vault"],
    &["identity"],
    &["comrades"],
    &["envelope"],
    &["collective"],
    &[
        "care",
        "gatherings",
        "journal",
        "delivery",
        "custody",
        "pulse",
    ],
    &["registry", "testing"],
];

/// What the crate root re-exports, by the module that defines it.
const ROOT_ITEMS: &[(&str, &str)] = &[
    ("Error", "error"),
    ("Result", "error"),
    ("DataKey", "secret"),
    ("Vault", "vault"),
    ("VaultFiles", "vault"),
    ("KdfParams", "vault"),
    ("kinds", "registry"),
    ("SecretString", ""),
    ("ExposeSecret", ""),
];

fn row_of(module: &str) -> usize {
    ROWS.iter()
        .position(|row| row.contains(&module))
        .unwrap_or_else(|| panic!("module {module} is not on the map; add it to lib.rs and here"))
}

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every source file of the core: its path below `src`, its top module and its text.
fn core_files() -> Vec<(PathBuf, String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    files
        .into_iter()
        .map(|file| {
            let relative = file.strip_prefix(&src).unwrap().to_path_buf();
            let top = relative.components().next().unwrap().as_os_str();
            let module = top.to_string_lossy().trim_end_matches(".rs").to_owned();
            let text = fs::read_to_string(&file).unwrap();
            (relative, module, text)
        })
        .collect()
}

/// Each `crate::x` or `crate::{x, y::z}` in the text, as (x, the item after it).
fn references(text: &str) -> Vec<(String, String)> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let mut parts = item.trim().split("::");
                let first = parts.next().unwrap_or("").trim().to_owned();
                let second = parts.next().unwrap_or("").trim().to_owned();
                if !first.is_empty() {
                    found.push((first, second));
                }
            }
        } else {
            let ident = |s: &str| -> String {
                s.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect()
            };
            let first = ident(rest);
            let second = rest[first.len()..]
                .strip_prefix("::")
                .map(ident)
                .unwrap_or_default();
            found.push((first, second));
        }
    }
    found
}

#[test]
fn no_module_imports_one_above_it() {
    let mut upward = BTreeSet::new();
    let mut checked = 0;
    for (relative, module, text) in core_files() {
        if module == "lib" {
            continue;
        }
        let row = row_of(&module);
        for (first, item) in references(&text) {
            let target = ROOT_ITEMS
                .iter()
                .find(|(name, _)| *name == first)
                .map_or(first.as_str(), |(_, owner)| owner);
            if target.is_empty() || target == module {
                continue;
            }
            checked += 1;
            let target_row = row_of(target);
            // The crate's error names each layer's own error kind, as
            // application-services' rich internal error does.
            let error_kind = module == "error" && item.ends_with("Error");
            let allowed =
                row == ROWS.len() - 1 || target_row < row || (row == 0 && target_row == 0);
            if !allowed && !error_kind {
                upward.insert(format!("{} -> crate::{first}::{item}", relative.display()));
            }
        }
    }
    assert!(checked > 100, "the scan found only {checked} references");
    assert!(
        upward.is_empty(),
        "imports that point up the module map:\n{}",
        upward.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_scan_sees_grouped_and_nested_paths() {
    let found = references(
        "use crate::{Error, comrades::{self, Peer}};\n// crate::care\nx(crate::vault::Vault)",
    );
    assert!(found.contains(&("Error".into(), "".into())));
    assert!(found.contains(&("comrades".into(), "{self".into())));
    assert!(found.contains(&("vault".into(), "Vault".into())));
    assert!(
        !found.iter().any(|(m, _)| m == "care"),
        "comments are not code"
    );
}

/// Which module owns each table. Only its owner reads or writes it (the
/// vault's numbered migrations aside, which make and change every table);
/// others go through the owner's typed functions.
const TABLES: &[(&str, &str)] = &[
    ("meta", "vault"),
    ("my_identity", "identity"),
    ("my_encryption_keys", "identity"),
    ("my_cards", "identity"),
    ("mailboxes", "identity"),
    ("relays", "identity"),
    ("comrades", "comrades"),
    ("circles", "comrades"),
    ("circle_members", "comrades"),
    ("comrade_chain", "comrades"),
    ("comrade_previous_keys", "comrades"),
    ("replaced_identities", "comrades"),
    ("inbox", "envelope"),
    ("outbox", "envelope"),
    ("outbox_recipients", "envelope"),
    ("seen_messages", "envelope"),
    ("entries", "journal"),
    ("entries_fts", "journal"),
    ("entry_tags", "journal"),
    ("tags", "journal"),
    ("mood_scale", "journal"),
    ("custodians", "custody"),
    ("custody_held", "custody"),
    ("care_requests", "care"),
    ("care_offers", "care"),
    ("care_audience", "care"),
    ("care_parked", "care"),
    ("care_fts", "care"),
    ("gatherings", "gatherings"),
    ("gathering_overrides", "gatherings"),
    ("gathering_rsvps", "gatherings"),
    ("gathering_invitees", "gatherings"),
    ("gathering_answers", "gatherings"),
    ("gathering_round_lines", "gatherings"),
    ("gathering_rounds", "gatherings"),
    ("gathering_totals", "gatherings"),
    ("gathering_visitors", "gatherings"),
    ("collectives", "collective"),
    ("collective_changes", "collective"),
    ("collective_passes", "collective"),
    ("collective_visits", "collective"),
    ("collective_vouches", "collective"),
    ("collective_answers", "collective"),
    ("collective_attended", "collective"),
    ("pulses", "pulse"),
    ("pulse_shares", "pulse"),
    ("pulse_tallies", "pulse"),
    ("deliveries", "delivery"),
    ("delivery_seen", "delivery"),
    ("mailbox_cursors", "delivery"),
    // Dropped in the upgrade to schema 9; named only there.
    ("relay_cursors", "delivery"),
];

/// Each `FROM t`, `JOIN t`, `INTO t`, `UPDATE t` or `TABLE t` in the text,
/// with `t` a literal name (not `{table}` filled in by code).
fn tables_named(text: &str) -> BTreeSet<String> {
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || "_{}".contains(c)))
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(2)
        .filter(|w| ["FROM", "JOIN", "INTO", "UPDATE", "TABLE"].contains(&w[0]))
        .filter(|w| w[1].chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .map(|w| w[1].to_owned())
        .collect()
}

#[test]
fn each_table_is_touched_only_by_its_owner() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let schema = fs::read_to_string(src.join("vault/schema.rs")).unwrap();
    for table in tables_named(&schema) {
        assert!(
            TABLES.iter().any(|(t, _)| *t == table) || table.starts_with("sqlite"),
            "table {table} has no owner here"
        );
    }
    let mut leaks = BTreeSet::new();
    let mut checked = 0;
    for (relative, module, text) in core_files() {
        if module == "vault" && relative.ends_with("schema.rs") {
            continue; // the migrations
        }
        for table in tables_named(&text) {
            let Some((_, owner)) = TABLES.iter().find(|(t, _)| *t == table) else {
                continue;
            };
            checked += 1;
            if *owner != module {
                leaks.insert(format!(
                    "{} touches {table}, which {owner} owns",
                    relative.display()
                ));
            }
        }
    }
    assert!(checked > 50, "the scan found only {checked} table uses");
    assert!(
        leaks.is_empty(),
        "tables reached around their owner:\n{}",
        leaks.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// `tend`'s own modules (`bindings/cli/src`) import each other without a
/// circle: shared helpers live in `args.rs`, `render.rs` and `output.rs`.
#[test]
fn the_command_lines_modules_form_no_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bindings/cli/src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    let module_of = |p: &Path| p.file_stem().unwrap().to_string_lossy().into_owned();
    let modules: BTreeSet<String> = files.iter().map(|p| module_of(p)).collect();
    let mut edges: Vec<(String, String)> = Vec::new();
    for file in &files {
        let from = module_of(file);
        if from == "main" {
            continue; // the root declares every module and dispatches to them
        }
        for (to, _) in references(&fs::read_to_string(file).unwrap()) {
            if to != from && modules.contains(&to) && to != "main" {
                edges.push((from.clone(), to));
            }
        }
    }
    assert!(
        edges.len() > 10,
        "the scan found only {} imports",
        edges.len()
    );
    // Peel off modules that import nothing left; whatever stays is a circle.
    let mut left = modules.clone();
    left.remove("main");
    loop {
        let leaf = left
            .iter()
            .find(|m| !edges.iter().any(|(f, t)| f == *m && left.contains(t)))
            .cloned();
        match leaf {
            Some(m) => {
                left.remove(&m);
            }
            None => break,
        }
    }
    assert!(
        left.is_empty(),
        "these CLI modules import each other in a circle: {left:?}"
    );
}
