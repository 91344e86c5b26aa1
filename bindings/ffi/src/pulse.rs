//! The collective's pulse: a steward starts one, members answer privately,
//! and every vault shows the totals once enough answered. Answers come
//! back as `Sealed` for the app to deliver; arriving ones go through
//! `open_envelope`, and the listener hears `Change.COLLECTIVES`.

use chrono::Duration;
use tend_core::envelope::Sealed;
use tend_core::pulse::{Pulse, PulseAnswer, StartedPulse};

use crate::TendError;
use crate::numbers::from_app;
use crate::vault::TendVault;

#[uniffi::export]
impl TendVault {
    /// A steward starts a pulse of the collective, taking answers for
    /// `open_for_hours` (1 to 336; three days when `None`).
    pub async fn start_pulse(
        &self,
        collective_id: String,
        open_for_hours: Option<i32>,
    ) -> Result<StartedPulse, TendError> {
        let open_for = open_for_hours
            .map(|h| from_app::<u32>(h, "open for hours").map(|h| Duration::hours(h.into())))
            .transpose()?;
        self.with(move |v| Ok(v.pulses().start(collective_id.parse()?, open_for)?))
            .await
    }

    /// My answer, split into shares for the talliers; my vault keeps only
    /// that I answered. A red answer may ask one comrade to check in.
    pub async fn answer_pulse(
        &self,
        pulse_id: String,
        answer: PulseAnswer,
    ) -> Result<Vec<Sealed>, TendError> {
        self.with(move |v| Ok(v.pulses().answer(pulse_id.parse()?, &answer)?))
            .await
    }

    pub async fn pulse(&self, pulse_id: String) -> Result<Pulse, TendError> {
        self.with(move |v| Ok(v.pulses().get(pulse_id.parse()?)?))
            .await
    }

    /// A collective's pulses, newest first: totals only, never who said what.
    pub async fn pulses(&self, collective_id: String) -> Result<Vec<Pulse>, TendError> {
        self.with(move |v| Ok(v.pulses().list(collective_id.parse()?)?))
            .await
    }

    /// What is due now: closed pulses counted, silent talliers timed out,
    /// the month's pulse started. Unlocking does it; call it in an app that
    /// stays unlocked for days.
    pub async fn tend_pulses(&self) -> Result<Vec<Sealed>, TendError> {
        self.with(|v| Ok(v.pulses().tend()?)).await
    }
}
