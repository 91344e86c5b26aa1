//! A SOCKS5 proxy for every relay connection, set per vault: Tor on a
//! desktop, Orbot on Android (both listen on 127.0.0.1:9050). Relay host
//! names are resolved by the proxy, never here, and each connection gets
//! a SOCKS user name of its own, which Tor's `IsolateSOCKSAuth` turns into
//! a circuit of its own.

use std::fmt;

use rusqlite::Connection;

use crate::vault::settings;
use crate::{Error, Result};

const SETTING: &str = "delivery.proxy";

/// `socks5://HOST:PORT` (`socks5h://` is read as the same: names are always
/// resolved by the proxy).
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    host: String,
    port: u16,
}

impl ProxyUrl {
    pub fn parse(text: &str) -> Result<ProxyUrl> {
        let bad = |why: &'static str| Error::invalid("proxy address", why);
        let text = text.trim();
        let rest = text
            .strip_prefix("socks5://")
            .or_else(|| text.strip_prefix("socks5h://"))
            .ok_or(bad("must start with socks5://"))?
            .trim_end_matches('/');
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or(bad("needs a port, as in socks5://127.0.0.1:9050"))?;
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or(bad("the port must be a number from 1 to 65535"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty()
            || host.len() > 255
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:".contains(&b))
        {
            return Err(bad("not a host name or address"));
        }
        Ok(ProxyUrl {
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "socks5://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "socks5://{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProxyUrl({self})")
    }
}

pub(crate) fn get(conn: &Connection) -> Result<Option<ProxyUrl>> {
    match settings::get(conn, SETTING)? {
        Some(text) if !text.is_empty() => Ok(Some(
            ProxyUrl::parse(&text).map_err(|_| Error::DatabaseDamaged)?,
        )),
        _ => Ok(None),
    }
}

pub(crate) fn set(conn: &Connection, proxy: Option<&ProxyUrl>) -> Result<()> {
    settings::set(
        conn,
        SETTING,
        &proxy.map(ToString::to_string).unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_addresses_are_normalised_or_refused() {
        let ok = |s: &str| ProxyUrl::parse(s).unwrap().to_string();
        assert_eq!(ok("socks5://127.0.0.1:9050"), "socks5://127.0.0.1:9050");
        assert_eq!(ok("socks5h://Localhost:9050/"), "socks5://localhost:9050");
        assert_eq!(ok("socks5://[::1]:9150"), "socks5://[::1]:9150");
        for bad in [
            "",
            "127.0.0.1:9050",
            "http://127.0.0.1:9050",
            "socks5://127.0.0.1",
            "socks5://127.0.0.1:0",
            "socks5://127.0.0.1:70000",
            "socks5://:9050",
            "socks5://user@host:9050",
            "socks5://ho st:9050",
        ] {
            assert!(ProxyUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
