//! The documented export formats, checked byte for byte against `docs/vectors`.

mod common;

use tend_core::journal::{ExportFormat, ExportProtection};

const BACKUP: &str = include_str!("../../docs/vectors/journal-backup-v1.json");
const CSV: &str = include_str!("../../docs/vectors/journal-v1.csv");

fn export(vault: &tend_core::Vault, format: ExportFormat) -> String {
    let mut out = Vec::new();
    vault
        .journal()
        .export(
            format,
            ExportProtection::Plaintext,
            &mut out,
            &mut |_, _| {},
        )
        .unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn the_backup_vector_imports_and_exports_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = common::new_vault(tmp.path());
    let summary = vault
        .journal()
        .import(BACKUP.as_bytes(), None, &mut |_, _| {})
        .unwrap();
    assert_eq!(summary.added, 3);
    let exported = export(&vault, ExportFormat::Json);
    let stamp = |s: &str| {
        let start = s.find("\"exported_at\":\"").unwrap() + 15;
        let end = start + s[start..].find('"').unwrap();
        format!("{}{}", &s[..start], &s[end..])
    };
    assert_eq!(stamp(&exported), stamp(BACKUP));
}

#[test]
fn the_csv_vector_is_what_export_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = common::new_vault(tmp.path());
    vault
        .journal()
        .import(BACKUP.as_bytes(), None, &mut |_, _| {})
        .unwrap();
    assert_eq!(export(&vault, ExportFormat::Csv), CSV);
}
