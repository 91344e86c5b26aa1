//! Key material. Zeroized on drop and never printed.

use std::fmt;

use rand::RngCore;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The vault's 32-byte data key: what SQLCipher encrypts pages with.
///
/// Apps wrap it with the Android Keystore or iOS Keychain; passphrase
/// vaults wrap it with an Argon2id-derived key in the vault header.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; 32]);

/// In constant time: how long a comparison takes says nothing of the key.
impl PartialEq for DataKey {
    fn eq(&self, other: &Self) -> bool {
        subtle::ConstantTimeEq::ct_eq(&self.0[..], &other.0[..]).into()
    }
}

impl Eq for DataKey {}

impl DataKey {
    pub const LEN: usize = 32;

    pub fn generate() -> Self {
        let mut key = DataKey([0; 32]);
        rand::rngs::OsRng.fill_bytes(&mut key.0);
        key
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        DataKey(bytes)
    }

    /// Accepts exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> crate::Result<Self> {
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| crate::Error::invalid("key", "a data key is exactly 32 bytes"))?;
        Ok(DataKey(array))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The raw-key form of `PRAGMA key`, which skips SQLCipher's own PBKDF2.
    pub(crate) fn sqlcipher_pragma_value(&self) -> Zeroizing<String> {
        let mut value = Zeroizing::new(String::with_capacity(67));
        value.push_str("x'");
        value.push_str(&Zeroizing::new(hex::encode(self.0)));
        value.push('\'');
        value
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::DataKey;

    #[test]
    fn data_keys_compare_by_value() {
        let mut other = [7; 32];
        other[31] = 8;
        assert!(DataKey::from_bytes([7; 32]) == DataKey::from_bytes([7; 32]));
        assert!(DataKey::from_bytes([7; 32]) != DataKey::from_bytes(other));
    }
}
