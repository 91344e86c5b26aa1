//! Only with the `bench` feature: what the JVM harness
//! (`bindings/kotlin/bench.sh`) needs to time calls across the boundary
//! against the same work done directly in Rust, in the same process.

use std::sync::Arc;
use std::time::Instant;

use tend_core::journal::EntryFilter;

use crate::TendError;
use crate::vault::TendVault;

#[derive(Debug, Clone, Copy, uniffi::Enum)]
pub enum BenchOp {
    /// A call that does nothing.
    Noop,
    /// The 50 newest journal entries.
    ListFifty,
    /// Opening envelopes sealed to this vault (sealed before timing).
    OpenEnvelope,
}

/// The cheapest call there is: the boundary's own cost.
#[uniffi::export]
pub fn bench_noop(x: i32) -> i32 {
    x.wrapping_add(1)
}

/// Nanoseconds `iterations` runs of `op` take called directly in Rust.
/// For `OpenEnvelope`, `envelopes` are opened in turn, one per run.
#[uniffi::export]
pub fn bench_rust_nanos(
    vault: Arc<TendVault>,
    op: BenchOp,
    iterations: i32,
    envelopes: Vec<Vec<u8>>,
) -> Result<i64, TendError> {
    let v = &vault.vault;
    let start = Instant::now();
    for i in 0..usize::try_from(iterations).unwrap_or(0) {
        match op {
            BenchOp::Noop => {
                std::hint::black_box(bench_noop(std::hint::black_box(i as i32)));
            }
            BenchOp::ListFifty => {
                std::hint::black_box(v.journal().list(&EntryFilter::default(), 50, None)?);
            }
            BenchOp::OpenEnvelope => {
                let envelope = envelopes.get(i).ok_or(TendError::Internal)?;
                std::hint::black_box(v.envelopes().open(envelope)?);
            }
        }
    }
    Ok(i64::try_from(start.elapsed().as_nanos()).unwrap_or(i64::MAX))
}
