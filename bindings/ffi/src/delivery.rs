//! Delivery through relays: the relay list, syncing through Tend's Nostr
//! client, or through a transport the app brings (`DeliveryTransport`).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tend_core::delivery::{
    self as core, Fetched, Mailbox, RelayReport, RelayUrl, SyncOptions, Transport, TransportError,
};

use tend_core::envelope::Opened;

use crate::TendError;
use crate::numbers::count;
use crate::vault::TendVault;

/// One envelope sealed for one recipient alone, for an app's own transport.
#[derive(uniffi::Record)]
pub struct Parcel {
    pub message_id: String,
    /// The recipient's mailbox key, 64 hex digits.
    pub mailbox: String,
    pub envelope: Vec<u8>,
    /// When the transport may drop it.
    pub keep_until: DateTime<Utc>,
}

/// An envelope that arrived, and the transport's ids for what carried it.
#[derive(uniffi::Record)]
pub struct Arrival {
    pub ids: Vec<String>,
    pub envelope: Vec<u8>,
}

#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
pub enum TransportFailure {
    #[error("unreachable: {reason}")]
    Unreachable { reason: String },
    #[error("timed out")]
    TimedOut,
}

impl From<uniffi::UnexpectedUniFFICallbackError> for TransportFailure {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        TransportFailure::Unreachable { reason: e.reason }
    }
}

/// A transport the app supplies (its own sockets, say). Called on a
/// background thread; may block. The vault keeps all state.
#[uniffi::export(with_foreign)]
pub trait DeliveryTransport: Send + Sync {
    /// One recipient's parcel, on a connection of its own: `None` when the
    /// relay took it, else its reason.
    fn publish(&self, relay: String, parcel: Parcel) -> Result<Option<String>, TransportFailure>;
    /// What waits for `mailbox` (hex) on `relay`, dated `since` or later.
    fn fetch(
        &self,
        relay: String,
        mailbox: String,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<Arrival>, TransportFailure>;
    /// Taken in: the relay may delete these.
    fn forget(&self, relay: String, mailbox: String, ids: Vec<String>);
}

/// What a sync did on one relay.
#[derive(uniffi::Record)]
pub struct RelaySummary {
    pub relay: String,
    pub sent: i32,
    /// Parcels the relay refused; tried again after a backoff.
    pub refused: i32,
    pub received: i32,
    pub duplicates: i32,
    /// Envelopes that would not open, or whose message was refused.
    pub rejected: i32,
    /// Envelopes from people not (yet) comrades, left to try again.
    pub from_strangers: i32,
    /// The relay's bad answers (garbage, forgeries, floods), skipped.
    pub bad_answers: i32,
    /// Why the relay could not be used this time; what waits is kept.
    pub unreachable: Option<String>,
}

#[derive(uniffi::Record)]
pub struct SyncSummary {
    pub relays: Vec<RelaySummary>,
    /// Everything opened, in order: notify the member of these.
    pub opened: Vec<Opened>,
    /// A newer copy of this vault (a restore on a new phone) took over: this
    /// one sent nothing and is read-only now. Tell the member; offer a wipe.
    pub retired: bool,
}

impl From<RelayReport> for RelaySummary {
    fn from(r: RelayReport) -> Self {
        RelaySummary {
            relay: r.relay.map(|u| u.to_string()).unwrap_or_default(),
            sent: count(r.sent),
            refused: count(r.refused),
            received: count(r.received),
            duplicates: count(r.duplicates),
            rejected: count(r.rejected.values().sum::<usize>() + r.turned_down),
            from_strangers: count(r.from_strangers),
            bad_answers: count(r.problems.values().sum::<usize>()),
            unreachable: r.unreachable.map(|e| e.to_string()),
        }
    }
}

impl From<core::SyncReport> for SyncSummary {
    fn from(r: core::SyncReport) -> Self {
        SyncSummary {
            relays: r.relays.into_iter().map(RelaySummary::from).collect(),
            opened: r.opened,
            retired: r.retired,
        }
    }
}

/// The app's transport seen as the core's.
pub(crate) struct Foreign(pub(crate) Arc<dyn DeliveryTransport>);

fn transport_error(e: TransportFailure) -> TransportError {
    match e {
        TransportFailure::Unreachable { reason } => TransportError::Unreachable(reason),
        TransportFailure::TimedOut => TransportError::TimedOut,
    }
}

impl Transport for Foreign {
    fn publish(
        &mut self,
        relay: &RelayUrl,
        parcel: &core::Parcel,
    ) -> Result<Result<(), String>, TransportError> {
        let record = Parcel {
            message_id: parcel.message_id.to_string(),
            mailbox: parcel.mailbox.to_hex(),
            envelope: parcel.envelope.clone(),
            keep_until: parcel.keep_until,
        };
        let refusal = self
            .0
            .publish(relay.to_string(), record)
            .map_err(transport_error)?;
        Ok(refusal.map_or(Ok(()), Err))
    }

    fn fetch(
        &mut self,
        relay: &RelayUrl,
        mailbox: &Mailbox,
        since: Option<DateTime<Utc>>,
        _seen: &dyn Fn(&str) -> bool,
    ) -> Result<Fetched, TransportError> {
        let arrivals = self
            .0
            .fetch(relay.to_string(), mailbox.key.to_hex(), since)
            .map_err(transport_error)?;
        Ok(Fetched {
            arrivals: arrivals
                .into_iter()
                .map(|a| core::Arrival {
                    ids: a.ids,
                    envelope: a.envelope,
                })
                .collect(),
            ..Fetched::default()
        })
    }

    fn forget(
        &mut self,
        relay: &RelayUrl,
        mailbox: &Mailbox,
        ids: &[String],
    ) -> Result<(), TransportError> {
        self.0
            .forget(relay.to_string(), mailbox.key.to_hex(), ids.to_vec());
        Ok(())
    }
}

/// The options of a background sync: failed relays wait out their backoff,
/// and connections are spread over the default delay budget (10 s). Set
/// `retry_now` for a sync the member asked for.
#[uniffi::export]
pub fn default_sync_options() -> SyncOptions {
    SyncOptions::default()
}

/// Whether a relay address is plain `ws://` to another machine: whoever is
/// on the network between sees which relay a member uses, and when. Warn
/// before adding one, as the command line does.
#[uniffi::export]
pub fn relay_is_unencrypted_off_this_machine(url: String) -> Result<bool, TendError> {
    Ok(RelayUrl::parse(&url)?.is_unencrypted_off_this_machine())
}

#[uniffi::export]
impl TendVault {
    /// The relays I receive on, oldest first; the first four are in my card.
    pub async fn relays(&self) -> Result<Vec<String>, TendError> {
        self.with(|v| {
            Ok(v.delivery()
                .relays()?
                .iter()
                .map(ToString::to_string)
                .collect())
        })
        .await
    }

    /// Receive on a relay too (`wss://…`); comrades are sent my new card.
    pub async fn add_relay(&self, url: String) -> Result<(), TendError> {
        self.with(move |v| Ok(v.delivery().add_relay(&RelayUrl::parse(&url)?)?))
            .await
    }

    /// The SOCKS5 proxy every relay connection goes through, if set.
    pub async fn relay_proxy(&self) -> Result<Option<String>, TendError> {
        self.with(|v| Ok(v.delivery().proxy()?.map(|p| p.to_string())))
            .await
    }

    /// Sends every relay connection through a SOCKS5 proxy (Orbot listens
    /// on `socks5://127.0.0.1:9050`), each as a SOCKS user of its own so
    /// Tor gives it a circuit of its own; `None` connects directly again.
    pub async fn set_relay_proxy(&self, url: Option<String>) -> Result<(), TendError> {
        self.with(move |v| {
            let proxy = url.as_deref().map(core::ProxyUrl::parse).transpose()?;
            Ok(v.delivery().set_proxy(proxy.as_ref())?)
        })
        .await
    }

    pub async fn remove_relay(&self, url: String) -> Result<(), TendError> {
        self.with(move |v| Ok(v.delivery().remove_relay(&RelayUrl::parse(&url)?)?))
            .await
    }

    /// Sends the outbox and fetches what waits, through a transport the
    /// app brings. `retry_now` for a sync the member asked for; background
    /// syncs leave failed relays to their backoff. Connections are spread
    /// over `delay_budget` (give a background sync less than the time the
    /// OS grants it). Relay failures are in the summary, not thrown.
    pub async fn sync_with(
        &self,
        transport: Arc<dyn DeliveryTransport>,
        options: SyncOptions,
    ) -> Result<SyncSummary, TendError> {
        self.sync_through(Foreign(transport), options).await
    }
}

impl TendVault {
    async fn sync_through(
        &self,
        mut transport: impl Transport + Send + 'static,
        options: SyncOptions,
    ) -> Result<SyncSummary, TendError> {
        self.with(move |v| {
            Ok(v.delivery()
                .sync(&mut transport, options, &mut |_| {})?
                .into())
        })
        .await
    }
}

/// Tend's own relay client (cargo feature `network`, on by default): Nostr
/// over WebSocket and rustls, in Rust.
#[cfg(feature = "network")]
#[uniffi::export]
impl TendVault {
    /// Sends the outbox and fetches what waits, through Tend's Nostr client.
    /// As `sync_with` otherwise.
    pub async fn sync(&self, options: SyncOptions) -> Result<SyncSummary, TendError> {
        self.with(move |v| {
            let limits = core::nostr::Limits::default();
            Ok(v.delivery()
                .sync_through_relays(limits, options, &mut |_| {})?
                .into())
        })
        .await
    }
}
