//! Moving phone to phone: the new phone's receiver and the old phone's send.

use std::sync::{Arc, Mutex};

use tend_core::Vault;
use tend_core::delivery::{MoveCode, MoveReceiver, RelayUrl, Transport};

use crate::delivery::{DeliveryTransport, Foreign};
use crate::numbers::{big_count, count};
use crate::vault::{self, KeyProvider, TendVault};
use crate::{TendError, off_thread};

/// The new phone's side of a move: show [`MoveReceiving::code`] as a QR
/// code and [`MoveReceiving::short_code`] beside it, fetch until it says
/// the vault came, then restore.
#[derive(uniffi::Object)]
pub struct MoveReceiving {
    receiver: Mutex<MoveReceiver>,
    /// The sealed backup once every piece came: only the receiver's key opens it.
    whole: Mutex<Option<Vec<u8>>>,
}

/// What the old phone sent.
#[derive(uniffi::Record)]
pub struct MoveSummary {
    pub pieces: i32,
    pub bytes: i64,
    /// Every piece reached a relay, and this vault retired (read-only).
    pub complete: bool,
}

/// The six digits the old phone shows for a scanned code: the member
/// checks they are the new phone's before sending.
#[uniffi::export]
pub fn move_short_code(code: String) -> Result<String, TendError> {
    Ok(MoveCode::parse(&code)?.short_code())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[uniffi::export]
impl MoveReceiving {
    /// A one-time key and a code naming 1 to 4 relays to meet on.
    #[uniffi::constructor]
    pub fn new(relays: Vec<String>) -> Result<Arc<MoveReceiving>, TendError> {
        let relays = relays
            .iter()
            .map(|r| RelayUrl::parse(r))
            .collect::<tend_core::Result<Vec<_>>>()?;
        Ok(Arc::new(MoveReceiving {
            receiver: Mutex::new(MoveReceiver::new(relays)?),
            whole: Mutex::new(None),
        }))
    }

    /// The text of the QR code (`TENDM:`…).
    pub fn code(&self) -> String {
        lock(&self.receiver).code().to_text()
    }

    pub fn short_code(&self) -> String {
        lock(&self.receiver).code().short_code()
    }

    /// Fetches through the app's transport; true once the whole vault came.
    pub async fn fetch_with(
        self: Arc<Self>,
        transport: Arc<dyn DeliveryTransport>,
    ) -> Result<bool, TendError> {
        off_thread(move || self.fetch_through(&mut Foreign(transport))).await
    }

    /// A new vault, its key wrapped by the key store, from what came.
    pub async fn restore(
        self: Arc<Self>,
        dir: String,
        provider: Arc<dyn KeyProvider>,
    ) -> Result<Arc<TendVault>, TendError> {
        off_thread(move || {
            let (whole, opener) = self.arrived()?;
            vault::restore_wrapped(dir, whole.as_slice(), &opener, provider)
        })
        .await
    }

    /// As `restore`, the new vault sealed by a passphrase of its own.
    pub async fn restore_with_passphrase(
        self: Arc<Self>,
        dir: String,
        passphrase: String,
    ) -> Result<Arc<TendVault>, TendError> {
        off_thread(move || {
            let (whole, opener) = self.arrived()?;
            vault::restore_with_passphrase(dir, whole.as_slice(), &opener, &passphrase)
        })
        .await
    }
}

/// Tend's own relay client.
#[cfg(feature = "network")]
#[uniffi::export]
impl MoveReceiving {
    /// Fetches through Tend's Nostr client; true once the whole vault came.
    pub async fn fetch(self: Arc<Self>) -> Result<bool, TendError> {
        off_thread(move || {
            let limits = tend_core::delivery::nostr::Limits::default();
            self.fetch_through(&mut tend_core::delivery::nostr::NostrTransport::new(limits))
        })
        .await
    }
}

impl MoveReceiving {
    fn fetch_through(&self, transport: &mut dyn Transport) -> Result<bool, TendError> {
        let mut whole = lock(&self.whole);
        if whole.is_none() {
            *whole = lock(&self.receiver).fetch(transport)?;
        }
        Ok(whole.is_some())
    }

    fn arrived(&self) -> Result<(Vec<u8>, tend_core::sealed::OpenWith), TendError> {
        let whole = lock(&self.whole).clone().ok_or(TendError::NotFound {
            what: "the moved vault (fetch until it has come)".into(),
        })?;
        Ok((whole, lock(&self.receiver).opener()))
    }
}

#[uniffi::export]
impl TendVault {
    /// The old phone's side: sends this whole vault to the new phone whose
    /// code was scanned, through the app's transport. Show
    /// `move_short_code` first. Once complete this vault is read-only.
    pub async fn send_move_with(
        &self,
        code: String,
        transport: Arc<dyn DeliveryTransport>,
    ) -> Result<MoveSummary, TendError> {
        self.with(move |v| send(v, &code, &mut Foreign(transport)))
            .await
    }
}

/// Tend's own relay client.
#[cfg(feature = "network")]
#[uniffi::export]
impl TendVault {
    /// As `send_move_with`, through Tend's Nostr client.
    pub async fn send_move(&self, code: String) -> Result<MoveSummary, TendError> {
        self.with(move |v| {
            let limits = tend_core::delivery::nostr::Limits::default();
            send(
                v,
                &code,
                &mut tend_core::delivery::nostr::NostrTransport::new(limits),
            )
        })
        .await
    }
}

fn send(
    vault: &Vault,
    code: &str,
    transport: &mut dyn Transport,
) -> Result<MoveSummary, TendError> {
    let sent = vault
        .delivery()
        .send_move(&MoveCode::parse(code)?, transport)?;
    Ok(MoveSummary {
        pieces: count(sent.pieces),
        bytes: big_count(sent.bytes),
        complete: sent.complete,
    })
}
