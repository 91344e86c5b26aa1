//! Tend's own transport: Nostr relays (NIP-01), events in the style of
//! NIP-59 with NIP-40 expiry, deletion requests per NIP-09. Event layout:
//! `event.rs` and `docs/delivery.md`; the client: [`NostrTransport`] (cargo
//! feature `network`).

#[cfg(feature = "network")]
mod event;
#[cfg(feature = "network")]
mod socket;
#[cfg(feature = "network")]
mod transport;

#[cfg(feature = "network")]
pub use transport::{Limits, NostrTransport};
