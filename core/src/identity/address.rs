//! Where a member receives: a mailbox key and the relays that serve it.
//! Both travel in the comrade card (`docs/comrade-card.md`).

use std::fmt;
use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};
use secp256k1::{All, Scalar, Secp256k1, XOnlyPublicKey};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// Relays named in a card, at most; more would not fit a QR code.
pub const MAX_RELAY_HINTS: usize = 4;
/// Longest relay address accepted, in bytes.
pub const MAX_RELAY_URL_BYTES: usize = 120;

/// A mailbox's public key: a BIP-340 (x-only secp256k1) key that Nostr
/// events are tagged with. Random, used only for addressing, never derived
/// from an identity key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MailboxKey(pub(crate) [u8; 32]);

impl MailboxKey {
    /// `None` unless the bytes are a valid x-only point.
    pub fn from_slice(bytes: &[u8]) -> Option<MailboxKey> {
        let key = nostr::prelude::PublicKey::from_slice(bytes).ok()?;
        key.xonly().ok()?;
        Some(MailboxKey(key.to_bytes()))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex, as Nostr writes keys in tags and filters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for MailboxKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MailboxKey({}…)", &self.to_hex()[..8])
    }
}

/// A relay's WebSocket address: `ws://` or `wss://`, a host, optionally a
/// port and a path; lowercased scheme and host, no trailing slash.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelayUrl(String);

#[cfg(feature = "uniffi")]
uniffi::custom_type!(RelayUrl, String, {
    lower: |url| url.0,
    try_lift: |text| RelayUrl::parse(&text).map_err(|e| uniffi::deps::anyhow::anyhow!("{e}")),
});

impl RelayUrl {
    pub fn parse(text: &str) -> Result<RelayUrl> {
        let bad = |why: &'static str| Error::invalid("relay address", why);
        let text = text.trim();
        if text.len() > MAX_RELAY_URL_BYTES {
            return Err(bad("at most 120 characters"));
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad("letters, digits and punctuation only, no spaces"));
        }
        let (scheme, rest) = text
            .split_once("://")
            .ok_or(bad("must start with wss:// or ws://"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "wss" && scheme != "ws" {
            return Err(bad("must start with wss:// or ws://"));
        }
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if authority.is_empty() || authority.contains('@') {
            return Err(bad("needs a host, and no user name"));
        }
        if path.contains(['#', '?']) {
            return Err(bad("no query or fragment"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
                if port.parse::<u16>().map_or(true, |p| p == 0) {
                    return Err(bad("the port must be a number from 1 to 65535"));
                }
                (host, Some(port))
            }
            _ => (authority, None),
        };
        if host.is_empty()
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b))
        {
            return Err(bad("not a host name or address"));
        }
        let mut url = format!("{scheme}://{}", host.to_ascii_lowercase());
        if let Some(port) = port {
            url.push(':');
            url.push_str(port);
        }
        url.push_str(path.trim_end_matches('/'));
        Ok(RelayUrl(url))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Plain `ws://` to anything but this machine: whoever is on the network
    /// between sees which relay a member uses, and when. Apps warn on it.
    pub fn is_unencrypted_off_this_machine(&self) -> bool {
        let Some(rest) = self.0.strip_prefix("ws://") else {
            return false;
        };
        let authority = rest.split('/').next().unwrap_or("");
        let host = match authority.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            _ => authority,
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host != "localhost"
            && !host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    pub(crate) fn from_stored(text: String) -> Result<RelayUrl> {
        RelayUrl::parse(&text).map_err(|_| Error::DatabaseDamaged)
    }
}

impl fmt::Display for RelayUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RelayUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RelayUrl({})", self.0)
    }
}

/// A mailbox and the relays it is served on.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Address {
    /// The base key: with a `seed`, never addressed itself; each week's
    /// mailbox is derived from it ([`Address::mailbox_at`]).
    pub mailbox: MailboxKey,
    /// Makes a new mailbox every week that only those who hold the card can
    /// tell belongs to this one. `None` on cards from before weekly mailboxes:
    /// `mailbox` is addressed as it is.
    pub seed: Option<MailboxSeed>,
    pub relays: Vec<RelayUrl>,
    /// A pair that takes over at a week's start, announced ahead so the
    /// change looks like any week's (a comrade was cut off).
    pub next: Option<NextMailbox>,
}

impl Address {
    /// The mailbox to address at `at`: this week's, of the pair serving then.
    pub fn mailbox_at(&self, at: DateTime<Utc>) -> MailboxKey {
        let week = week_of(at);
        match (&self.next, &self.seed) {
            (Some(next), _) if week >= next.from_week => next.seed.derive(&next.mailbox, week).0,
            (_, Some(seed)) => seed.derive(&self.mailbox, week).0,
            (_, None) => self.mailbox,
        }
    }
}

/// The pair a card announces for weeks from `from_week` on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NextMailbox {
    pub mailbox: MailboxKey,
    pub seed: MailboxSeed,
    pub from_week: i64,
}

impl NextMailbox {
    /// Its form in the card: base key, seed, week as 8 bytes big-endian.
    pub(crate) fn to_bytes(self) -> [u8; 72] {
        let mut bytes = [0; 72];
        bytes[..32].copy_from_slice(&self.mailbox.0);
        bytes[32..64].copy_from_slice(&self.seed.0);
        bytes[64..].copy_from_slice(&self.from_week.to_be_bytes());
        bytes
    }

    /// `None` unless 72 bytes holding a valid base key.
    pub(crate) fn from_slice(bytes: &[u8]) -> Option<NextMailbox> {
        let bytes: &[u8; 72] = bytes.try_into().ok()?;
        Some(NextMailbox {
            mailbox: MailboxKey::from_slice(&bytes[..32])?,
            seed: MailboxSeed(bytes[32..64].try_into().ok()?),
            from_week: i64::from_be_bytes(bytes[64..].try_into().ok()?),
        })
    }

    /// One nobody holds the secret of, for tests.
    #[cfg(test)]
    pub(crate) fn made_up(from_week: i64) -> NextMailbox {
        let key = nostr::prelude::Keys::generate().public_key().to_bytes();
        NextMailbox {
            mailbox: MailboxKey(key),
            seed: MailboxSeed(rand::random()),
            from_week,
        }
    }
}

/// A week's mailbox lasts this long; weeks begin at Unix time 0 (Thursdays,
/// 00:00 UTC), the same moment for every member.
pub const MAILBOX_WEEK: Duration = Duration::days(7);

/// The week `at` falls in.
pub fn week_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(MAILBOX_WEEK.num_seconds())
}

/// When week `week` begins.
pub fn week_start(week: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(week.saturating_mul(MAILBOX_WEEK.num_seconds()), 0)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// 32 random bytes in the card that make each week's mailbox from the base
/// key, as BIP-341 tweaks a key: `P_w = P + t_w·G` with
/// `t_w = SHA-256("tend mailbox week v1" ‖ seed ‖ P ‖ w as 8 bytes BE ‖ n)`,
/// `n` the first byte from 0 that gives a valid scalar and point. Anyone
/// with the card derives `P_w`; only the owner, holding `P`'s secret, can
/// derive its secret; a relay cannot tell that two weeks' keys are related.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct MailboxSeed(pub(crate) [u8; 32]);

impl MailboxSeed {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Week `week`'s mailbox, and the tweak that made it.
    pub(crate) fn derive(&self, base: &MailboxKey, week: i64) -> (MailboxKey, Scalar) {
        let secp = secp();
        let base = XOnlyPublicKey::from_byte_array(&base.0).expect("a MailboxKey is a point");
        for n in 0..=u8::MAX {
            let digest = Sha256::new()
                .chain_update(b"tend mailbox week v1")
                .chain_update(self.0)
                .chain_update(base.serialize())
                .chain_update(week.to_be_bytes())
                .chain_update([n])
                .finalize();
            let Ok(tweak) = Scalar::from_be_bytes(digest.into()) else {
                continue;
            };
            if let Ok((key, _)) = base.add_tweak(secp, &tweak) {
                return (MailboxKey(key.serialize()), tweak);
            }
        }
        unreachable!("256 tries each failing with probability 2^-128")
    }
}

impl fmt::Debug for MailboxSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MailboxSeed(…)")
    }
}

pub(crate) fn secp() -> &'static Secp256k1<All> {
    static SECP: OnceLock<Secp256k1<All>> = OnceLock::new();
    SECP.get_or_init(Secp256k1::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ws_is_flagged_only_off_this_machine() {
        for (url, flagged) in [
            ("ws://relay.example.org", true),
            ("ws://192.168.1.5:7447", true),
            ("wss://relay.example.org", false),
            ("ws://localhost:7447", false),
            ("ws://127.0.0.1:9/", false),
            ("ws://[::1]:7447", false),
        ] {
            let url = RelayUrl::parse(url).unwrap();
            assert_eq!(url.is_unencrypted_off_this_machine(), flagged, "{url}");
        }
    }

    #[test]
    fn relay_addresses_are_normalised_or_refused() {
        let ok = |s: &str| RelayUrl::parse(s).unwrap().to_string();
        assert_eq!(ok("wss://Relay.Example.org/"), "wss://relay.example.org");
        assert_eq!(ok(" ws://127.0.0.1:7447 "), "ws://127.0.0.1:7447");
        assert_eq!(ok("WSS://r.example/nostr/"), "wss://r.example/nostr");
        assert_eq!(ok("ws://[::1]:8080"), "ws://[::1]:8080");
        for bad in [
            "",
            "relay.example.org",
            "https://relay.example.org",
            "wss://",
            "wss://user@relay.example",
            "wss://relay.example:0",
            "wss://relay.example:99999",
            "wss://relay example",
            "wss://relay.example/?q=1",
            "wss://relay.example/#x",
            "wss://réseau.example",
        ] {
            assert!(RelayUrl::parse(bad).is_err(), "{bad}");
        }
        assert!(RelayUrl::parse(&format!("wss://{}.org", "a".repeat(120))).is_err());
    }

    #[test]
    fn mailbox_keys_must_be_curve_points() {
        let keys = nostr::prelude::Keys::generate();
        let good = keys.public_key().to_bytes();
        assert_eq!(MailboxKey::from_slice(&good).unwrap().0, good);
        assert!(MailboxKey::from_slice(&[0u8; 32]).is_none());
        assert!(MailboxKey::from_slice(&good[..31]).is_none());
    }
}
