//! One short WebSocket session with a relay: blocking, with deadlines, over
//! rustls (ring, Mozilla's roots) for `wss://`. Phones kill background
//! sockets, so a session does one thing and closes.

use std::io::ErrorKind;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tungstenite::client::IntoClientRequest;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Connector, Message, WebSocket};

use super::socks;
use crate::delivery::{ProxyUrl, RelayUrl, TransportError};

/// Frames larger than this end the session: no event Tend reads is near it.
const MAX_MESSAGE_BYTES: usize = 1 << 20;

pub(crate) struct Socket {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    deadline: Instant,
}

/// What the relay said next.
pub(crate) enum Said {
    Text(String),
    /// A frame over the limit or not text: skipped.
    Unusable,
}

impl Socket {
    /// Connects within `timeout`, through `proxy` when one is set; every
    /// later read must finish by `deadline`.
    pub fn open(
        relay: &RelayUrl,
        timeout: Duration,
        deadline: Instant,
        proxy: Option<&ProxyUrl>,
    ) -> Result<Socket, TransportError> {
        let unreachable = |e: &dyn std::fmt::Display| TransportError::Unreachable(e.to_string());
        let request = relay
            .as_str()
            .into_client_request()
            .map_err(|e| unreachable(&e))?;
        let host = request
            .uri()
            .host()
            .unwrap_or_default()
            .trim_matches(['[', ']'])
            .to_owned();
        let port = request
            .uri()
            .port_u16()
            .unwrap_or(if relay.as_str().starts_with("wss:") {
                443
            } else {
                80
            });
        let (dial_host, dial_port) = match proxy {
            Some(proxy) => (proxy.host(), proxy.port()),
            None => (host.as_str(), port),
        };
        let addr = (dial_host, dial_port)
            .to_socket_addrs()
            .map_err(|e| unreachable(&e))?
            .next()
            .ok_or(TransportError::Unreachable(
                "no address for that host".into(),
            ))?;
        let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| unreachable(&e))?;
        stream
            .set_read_timeout(Some(timeout))
            .and_then(|()| stream.set_write_timeout(Some(timeout)))
            .and_then(|()| stream.set_nodelay(true))
            .map_err(|e| unreachable(&e))?;
        if proxy.is_some() {
            socks::connect(&mut stream, &host, port)?;
        }
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_MESSAGE_BYTES));
        let (ws, _) = tungstenite::client_tls_with_config(
            request,
            stream,
            Some(config),
            Some(Connector::Rustls(tls_config())),
        )
        .map_err(|e| match e {
            tungstenite::HandshakeError::Failure(e) => unreachable(&e),
            tungstenite::HandshakeError::Interrupted(_) => TransportError::TimedOut,
        })?;
        Ok(Socket { ws, deadline })
    }

    pub fn send(&mut self, text: String) -> Result<(), TransportError> {
        self.ws
            .send(Message::text(text))
            .map_err(|e| TransportError::Unreachable(e.to_string()))
    }

    /// Sends many messages, flushing once.
    pub fn send_all(
        &mut self,
        texts: impl IntoIterator<Item = String>,
    ) -> Result<(), TransportError> {
        for text in texts {
            self.ws
                .write(Message::text(text))
                .map_err(|e| TransportError::Unreachable(e.to_string()))?;
        }
        self.ws
            .flush()
            .map_err(|e| TransportError::Unreachable(e.to_string()))
    }

    /// The next text message; pings are answered on the way.
    pub fn next(&mut self) -> Result<Said, TransportError> {
        loop {
            if Instant::now() > self.deadline {
                return Err(TransportError::TimedOut);
            }
            match self.ws.read() {
                Ok(Message::Text(text)) => return Ok(Said::Text(text.as_str().to_owned())),
                Ok(Message::Binary(_)) => return Ok(Said::Unusable),
                Ok(Message::Close(_)) => {
                    return Err(TransportError::Unreachable(
                        "the relay closed the connection".into(),
                    ));
                }
                Ok(_) => continue, // ping, pong, raw frames
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    return Err(TransportError::TimedOut);
                }
                Err(tungstenite::Error::Capacity(_)) => {
                    return Err(TransportError::Unreachable(
                        "the relay sent a message over 1 MiB".into(),
                    ));
                }
                Err(e) => return Err(TransportError::Unreachable(e.to_string())),
            }
        }
    }

    pub fn close(mut self) {
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
    }
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            Arc::new(
                rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .expect("ring supports TLS 1.2 and 1.3")
                    .with_root_certificates(roots)
                    .with_no_client_auth(),
            )
        })
        .clone()
}
