//! Gentle, optional journaling prompts in the spirit of communal care.
//! Any of them can be skipped; none asks for a streak.

use chrono::NaiveDate;

pub const PROMPTS: &[&str] = &[
    "Who did you feel held by today, even a little?",
    "What did your body ask for today? Did it get some of it?",
    "Is there something you carried today that you could set down here?",
    "What small thing went all right?",
    "Who might you check in on this week, and how?",
    "What did you give today, and what did you receive?",
    "Where did you find a moment of quiet?",
    "What would you like your comrades to know, if you could tell them gently?",
    "What is one thing you don't have to do alone?",
    "How are you, really? Take your time; there is no wrong answer.",
    "What helped, even if it didn't fix anything?",
    "What are you looking forward to at the next gathering?",
];

/// The prompt for a day: the same all day, different the next, never repeating a day in a row.
pub fn for_day(day: NaiveDate) -> &'static str {
    let n = day.signed_duration_since(NaiveDate::MIN).num_days();
    PROMPTS[n.rem_euclid(PROMPTS.len() as i64) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_has_one_prompt_and_the_next_day_another() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        assert_eq!(for_day(day), for_day(day));
        assert_ne!(for_day(day), for_day(day.succ_opt().unwrap()));
    }
}
