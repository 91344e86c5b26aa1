//! The mood journal: entries with a mood, feelings, activities and text;
//! search, insights, prompts, and import and export.

mod backup;
mod daylio;
mod entry;
mod insights;
mod mood;
mod prompts;
mod search;
mod share;
mod store;
mod tags;

#[cfg(feature = "testing")]
pub(crate) use backup::check as check_backup;
pub use backup::{ExportFormat, ExportProtection, ImportSummary};
#[cfg(feature = "testing")]
pub(crate) use daylio::check as check_daylio;
pub use daylio::{DaylioOptions, UnknownMoods};
pub use entry::{Entry, EntryFilter, EntryId, EntryPage, NewEntry, PageCursor, TagKind};
pub use insights::{Counts, Insights, MoodCount, PeriodMood, TagMood};
pub(crate) use mood::mood_of_day;
pub use mood::{MoodScale, MoodStep};
pub use prompts::{PROMPTS, for_day as prompt_for_day};
pub(crate) use search::index_is_sound;
pub use search::{SearchHit, SnippetPart};
pub(crate) use share::SharedEntries;
pub use share::{JOURNAL_ENTRY, Share, SharedEntry, SharedMood};
pub use tags::TagUse;

use crate::Vault;

/// Progress of a long import or export: `done` of `total` entries.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// The journal inside a vault. Borrow it with [`Vault::journal`].
pub struct Journal<'v> {
    vault: &'v Vault,
}

impl Vault {
    pub fn journal(&self) -> Journal<'_> {
        Journal { vault: self }
    }
}
