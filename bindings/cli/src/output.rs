//! Printing for people or, with --json, for programs.

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::CliResult;

pub struct Output {
    pub json: bool,
}

impl Output {
    pub fn show<T: Serialize>(&self, value: &T, text: impl FnOnce() -> String) -> CliResult {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(value).map_err(|e| e.to_string())?
            );
        } else {
            println!("{}", text());
        }
        Ok(())
    }

    pub fn done(&self, message: &str) -> CliResult {
        self.show(
            &serde_json::json!({ "ok": true, "message": message }),
            || message.to_owned(),
        )
    }
}

/// A progress bar on stderr; silent when stderr is not a terminal.
pub struct Progress(ProgressBar);

pub fn progress(what: &str) -> Progress {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} entries ({eta})")
            .expect("valid template"),
    );
    bar.set_message(what.to_owned());
    Progress(bar)
}

impl Progress {
    pub fn update(&self, done: u64, total: u64) {
        self.0.set_length(total);
        self.0.set_position(done);
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}
