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
            print_line(&serde_json::to_string_pretty(value).map_err(|e| e.to_string())?)
        } else {
            print_line(&for_terminal(&text()))
        }
    }

    pub fn done(&self, message: &str) -> CliResult {
        self.show(
            &serde_json::json!({ "ok": true, "message": message }),
            || message.to_owned(),
        )
    }
}

/// One line on stdout. A reader that stopped reading (`tend journal list |
/// head -1`) is not an error: the rest is simply not wanted.
pub fn print_line(text: &str) -> CliResult {
    use std::io::Write;
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write to standard output: {e}"))
        }
        _ => Ok(()),
    }
}

/// `1 day`, `3 days`.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A signed difference to one decimal, where a rounded zero is `±0.0`
/// rather than `-0.0`.
pub fn signed(x: f64) -> String {
    let shown = format!("{x:+.1}");
    if shown == "-0.0" || shown == "+0.0" {
        "±0.0".into()
    } else {
        shown
    }
}

/// Text fit for a terminal: control characters (escape sequences that
/// clear the screen or set the title, carried in what a comrade wrote) are
/// shown as `\u{…}` instead of obeyed. Newlines and tabs stay.
pub fn for_terminal(text: &str) -> std::borrow::Cow<'_, str> {
    let obeyed = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(obeyed) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if obeyed(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_differences_read_as_words() {
        assert_eq!(count(1u32, "day", "days"), "1 day");
        assert_eq!(count(0u32, "member", "members"), "0 members");
        assert_eq!(signed(-0.04), "±0.0");
        assert_eq!(signed(0.26), "+0.3");
        assert_eq!(for_terminal("a\u{1b}[2Jb\n"), "a\\u{1b}[2Jb\n");
    }
}
