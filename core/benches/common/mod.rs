//! Helpers the benchmarks share.

use tend_core::Vault;
use tend_core::comrades::ComradeId;

/// Each adds the other; returns `b` as `a`'s comrade.
pub fn befriend(a: &Vault, b: &Vault) -> ComradeId {
    let added = a
        .comrades()
        .add(&b.comrades().my_card().unwrap(), None)
        .unwrap();
    b.comrades()
        .add(&a.comrades().my_card().unwrap(), None)
        .unwrap();
    added.comrade().id
}
