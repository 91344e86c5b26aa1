//! Recovery through comrades: choosing custodians, the shares I keep for
//! others and their release, and coming back with nothing but a request.

use std::sync::Arc;

use tend_core::SecretString;
use tend_core::comrades::IdentityKey;
use tend_core::custody::{CustodyStatus, HeldShare, RecoveryRequest, RequestCode};
use tend_core::sealed::OpenWith;

use crate::numbers::{count, from_app};
use crate::vault::{self, KeyProvider, TendVault, backup_file};
use crate::{TendError, off_thread};

#[uniffi::export]
impl TendVault {
    /// Splits a new backup key among these comrades (2 to 16), any
    /// `threshold` of whom can open my automatic backups from now on. Their
    /// shares go with the next sync.
    pub async fn choose_custodians(
        &self,
        threshold: i32,
        comrade_ids: Vec<String>,
    ) -> Result<CustodyStatus, TendError> {
        let threshold = from_app(threshold, "threshold")?;
        self.with(move |v| {
            let ids = comrade_ids
                .iter()
                .map(|id| id.parse())
                .collect::<Result<Vec<_>, _>>()?;
            Ok(v.custody().choose(threshold, &ids)?.status)
        })
        .await
    }

    /// My plan and who said lately that they keep their share.
    pub async fn custody_status(&self) -> Result<Option<CustodyStatus>, TendError> {
        self.with(|v| Ok(v.custody().status()?)).await
    }

    /// The shares I keep for comrades who chose me.
    pub async fn custody_held(&self) -> Result<Vec<HeldShare>, TendError> {
        self.with(|v| Ok(v.custody().held()?)).await
    }

    /// For a comrade who shows me their recovery code in person: the share
    /// I keep for them (`owner_key`, or the only one I keep), sealed to
    /// that code alone. The app hands the bytes over however it can.
    pub async fn release_custody_share(
        &self,
        code: String,
        owner_key: Option<IdentityKey>,
    ) -> Result<Vec<u8>, TendError> {
        self.with(move |v| {
            let code = RequestCode::parse(&code)?;
            Ok(v.custody().release(&code, owner_key.as_ref())?)
        })
        .await
    }
}

/// The recovering member's side: show [`RecoveryRequesting::code`] as a QR
/// code to each custodian, keep [`RecoveryRequesting::save`]'s bytes until
/// enough releases have come, then recover.
#[derive(uniffi::Object)]
pub struct RecoveryRequesting {
    request: RecoveryRequest,
}

#[uniffi::export]
impl RecoveryRequesting {
    #[uniffi::constructor]
    pub fn new() -> Arc<RecoveryRequesting> {
        Arc::new(RecoveryRequesting {
            request: RecoveryRequest::new(),
        })
    }

    /// A request saved before, with the passphrase it was saved under.
    #[uniffi::constructor]
    pub fn load(saved: Vec<u8>, passphrase: String) -> Result<Arc<RecoveryRequesting>, TendError> {
        let request = RecoveryRequest::load(&saved, &SecretString::from(passphrase))?;
        Ok(Arc::new(RecoveryRequesting { request }))
    }

    /// The text of the QR code (`TENDC:`…).
    pub fn code(&self) -> String {
        self.request.code().to_text()
    }

    /// The request under age, sealed with the new vault's passphrase
    /// (checked for strength): keep it where the app keeps files.
    pub fn save(&self, passphrase: String) -> Result<Vec<u8>, TendError> {
        Ok(self.request.save(&SecretString::from(passphrase))?)
    }

    /// How many of `releases` are shares of the key they rebuild; an error
    /// when they rebuild none yet.
    pub fn releases_set_aside(&self, releases: Vec<Vec<u8>>) -> Result<i32, TendError> {
        Ok(count(self.request.recover(&releases)?.set_aside.len()))
    }

    /// A new vault, its key wrapped by the key store, from the automatic
    /// backup at `backup_path`, opened with the key the releases rebuild.
    pub async fn recover(
        self: Arc<Self>,
        releases: Vec<Vec<u8>>,
        backup_path: String,
        dir: String,
        provider: Arc<dyn KeyProvider>,
    ) -> Result<Arc<TendVault>, TendError> {
        off_thread(move || {
            let opener = self.opener(&releases)?;
            vault::restore_wrapped(dir, backup_file(&backup_path)?, &opener, provider)
        })
        .await
    }

    /// As `recover`, the new vault sealed by a passphrase of its own.
    pub async fn recover_with_passphrase(
        self: Arc<Self>,
        releases: Vec<Vec<u8>>,
        backup_path: String,
        dir: String,
        passphrase: String,
    ) -> Result<Arc<TendVault>, TendError> {
        off_thread(move || {
            let opener = self.opener(&releases)?;
            vault::restore_with_passphrase(dir, backup_file(&backup_path)?, &opener, &passphrase)
        })
        .await
    }
}

impl RecoveryRequesting {
    fn opener(&self, releases: &[Vec<u8>]) -> Result<OpenWith, TendError> {
        Ok(self.request.recover(releases)?.opener)
    }
}
