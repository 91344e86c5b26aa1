//! The journal: entries, search, insights, mood scale, backups and Daylio.

use chrono::{DateTime, NaiveDate, Utc};
use tend_core::SecretString;
use tend_core::journal::{
    self as core, DaylioOptions, Entry, EntryPage, ExportFormat, ExportProtection, ImportSummary,
    Insights, MoodStep, NewEntry, SearchHit, UnknownMoods,
};

use crate::TendError;
use crate::numbers::{big_count, from_app};
use crate::vault::TendVault;

#[uniffi::export]
impl TendVault {
    pub async fn add_entry(&self, entry: NewEntry) -> Result<Entry, TendError> {
        self.with(move |v| Ok(v.journal().add(entry)?)).await
    }

    pub async fn get_entry(&self, id: String) -> Result<Entry, TendError> {
        self.with(move |v| Ok(v.journal().get(id.parse()?)?)).await
    }

    /// Replaces an entry's content; its id stays.
    pub async fn update_entry(&self, id: String, entry: NewEntry) -> Result<Entry, TendError> {
        self.with(move |v| Ok(v.journal().update(id.parse()?, entry)?))
            .await
    }

    /// Deletes an entry with its sealed copies still in the outbox; returns
    /// how many copies went. Delivered copies stay with their recipients.
    pub async fn delete_entry(&self, id: String) -> Result<i64, TendError> {
        self.with(move |v| Ok(big_count(v.journal().delete(id.parse()?)?)))
            .await
    }

    /// Deletes the entries comrades shared with me that arrived before `before`.
    pub async fn clear_shared_before(&self, before: DateTime<Utc>) -> Result<i64, TendError> {
        self.with(move |v| Ok(big_count(v.journal().clear_shared_before(before)?)))
            .await
    }

    /// Newest first; `limit` at most 500. `from` and `to` are local dates.
    pub async fn list_entries(
        &self,
        limit: i32,
        after: Option<String>,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        tag: Option<String>,
    ) -> Result<EntryPage, TendError> {
        let limit = from_app(limit, "limit")?;
        self.with(move |v| {
            let filter = core::EntryFilter {
                from,
                to,
                tag,
                ..Default::default()
            };
            let after = after.map(|a| a.parse()).transpose()?;
            Ok(v.journal().list(&filter, limit, after)?)
        })
        .await
    }

    pub async fn search(&self, query: String, limit: i32) -> Result<Vec<SearchHit>, TendError> {
        let limit = from_app(limit, "limit")?;
        self.with(move |v| Ok(v.journal().search(&query, limit)?))
            .await
    }

    pub async fn insights(
        &self,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Insights, TendError> {
        self.with(move |v| Ok(v.journal().insights(from, to)?))
            .await
    }

    pub async fn mood_scale(&self) -> Result<Vec<MoodStep>, TendError> {
        self.with(|v| Ok(v.journal().mood_scale()?.steps)).await
    }

    /// The whole journal as a JSON backup, sealed with an age passphrase
    /// unless `passphrase` is `None` (then readable by anyone who gets it).
    pub async fn export_journal(&self, passphrase: Option<String>) -> Result<Vec<u8>, TendError> {
        self.with(move |v| {
            let protection = match passphrase {
                Some(p) => ExportProtection::Passphrase(SecretString::from(p)),
                None => ExportProtection::Plaintext,
            };
            let mut out = Vec::new();
            v.journal()
                .export(ExportFormat::Json, protection, &mut out, &mut |_, _| {})?;
            Ok(out)
        })
        .await
    }

    /// A backup from `export_journal`; all of it or none.
    pub async fn import_journal(
        &self,
        backup: Vec<u8>,
        passphrase: Option<String>,
    ) -> Result<ImportSummary, TendError> {
        self.with(move |v| {
            let passphrase = passphrase.map(SecretString::from);
            Ok(v.journal()
                .import(backup.as_slice(), passphrase, &mut |_, _| {})?)
        })
        .await
    }

    /// A Daylio CSV export, written in `time_zone` (IANA).
    pub async fn import_daylio(
        &self,
        csv: Vec<u8>,
        time_zone: String,
    ) -> Result<ImportSummary, TendError> {
        self.with(move |v| {
            let options = DaylioOptions {
                time_zone: time_zone
                    .parse()
                    .map_err(|_| TendError::invalid("time zone", "not an IANA zone name"))?,
                unknown_moods: UnknownMoods::Report,
            };
            Ok(v.journal()
                .import_daylio(csv.as_slice(), &options, &mut |_, _| {})?)
        })
        .await
    }
}
