//! Helpers the benchmarks share.

use tend_core::Vault;
use tend_core::envelope::To;

/// Each adds the other; returns how `a` addresses `b`.
pub fn befriend(a: &Vault, b: &Vault) -> To {
    let added = a
        .comrades()
        .add(&b.comrades().my_card().unwrap(), None)
        .unwrap();
    b.comrades()
        .add(&a.comrades().my_card().unwrap(), None)
        .unwrap();
    To::Comrade(added.comrade().id)
}
