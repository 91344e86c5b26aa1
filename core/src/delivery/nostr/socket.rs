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
        let request = relay
            .as_str()
            .into_client_request()
            .map_err(|e| unreachable(&e))?;
        let (stream, _) = dial(relay, request.uri(), timeout, proxy)?;
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

fn unreachable(e: &dyn std::fmt::Display) -> TransportError {
    TransportError::Unreachable(e.to_string())
}

/// A TCP connection to the relay's host, through `proxy` when one is set
/// (the proxy resolves the name), with read and write timeouts; and the
/// host it reaches.
fn dial(
    relay: &RelayUrl,
    uri: &tungstenite::http::Uri,
    timeout: Duration,
    proxy: Option<&ProxyUrl>,
) -> Result<(TcpStream, String), TransportError> {
    let host = uri
        .host()
        .unwrap_or_default()
        .trim_matches(['[', ']'])
        .to_owned();
    let port = uri
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
    Ok((stream, host))
}

/// A relay document larger than this is not read: NIP-11 documents are a
/// few hundred bytes.
const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// The relay's NIP-11 document: an HTTP GET of its address with `Accept:
/// application/nostr+json`, on a connection of its own. Only a 200 with a
/// body of at most [`MAX_DOCUMENT_BYTES`] counts.
pub(crate) fn relay_document(
    relay: &RelayUrl,
    timeout: Duration,
    deadline: Instant,
    proxy: Option<&ProxyUrl>,
) -> Result<Vec<u8>, TransportError> {
    let uri: tungstenite::http::Uri = relay.as_str().parse().map_err(|e| unreachable(&e))?;
    let (stream, host) = dial(relay, &uri, timeout, proxy)?;
    let authority = uri.authority().map_or(host.as_str(), |a| a.as_str());
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/nostr+json\r\nConnection: close\r\n\r\n",
        uri.path()
    );
    let response = if relay.as_str().starts_with("wss:") {
        let name = rustls::pki_types::ServerName::try_from(host).map_err(|e| unreachable(&e))?;
        let tls = rustls::ClientConnection::new(tls_config(), name).map_err(|e| unreachable(&e))?;
        exchange(rustls::StreamOwned::new(tls, stream), &request, deadline)?
    } else {
        exchange(stream, &request, deadline)?
    };
    http_body(&response).ok_or(TransportError::Unreachable("no relay document".into()))
}

/// Writes the request, then reads until the server closes, the deadline or
/// the size limit.
fn exchange(
    mut stream: impl std::io::Read + std::io::Write,
    request: &str,
    deadline: Instant,
) -> Result<Vec<u8>, TransportError> {
    stream
        .write_all(request.as_bytes())
        .and_then(|()| stream.flush())
        .map_err(|e| unreachable(&e))?;
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    while response.len() <= MAX_DOCUMENT_BYTES + 4096 && Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
            // A server that closes without TLS's close_notify: what came is all.
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => break,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(TransportError::TimedOut);
            }
            Err(e) => return Err(unreachable(&e)),
        }
    }
    Ok(response)
}

/// The body of a whole 200 response, plain or chunked.
pub(crate) fn http_body(response: &[u8]) -> Option<Vec<u8>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(start) = parsed.parse(response).ok()? else {
        return None;
    };
    if parsed.code != Some(200) {
        return None;
    }
    let header = |name: &str| {
        parsed
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
    };
    let mut body = &response[start..];
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut whole = Vec::new();
        loop {
            let httparse::Status::Complete((at, len)) = httparse::parse_chunk_size(body).ok()?
            else {
                return None;
            };
            let len = usize::try_from(len).ok()?;
            if len == 0 {
                break;
            }
            whole.extend_from_slice(body.get(at..at.checked_add(len)?)?);
            body = body.get(at + len + 2..)?;
        }
        return (whole.len() <= MAX_DOCUMENT_BYTES).then_some(whole);
    }
    if let Some(len) = header("content-length").and_then(|v| v.trim().parse::<usize>().ok()) {
        body = body.get(..len)?;
    }
    (body.len() <= MAX_DOCUMENT_BYTES).then(|| body.to_vec())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relay_document_is_read_whole_plain_or_chunked_or_not_at_all() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}trailing";
        assert_eq!(http_body(plain).unwrap(), b"{}");
        let chunked =
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n3\r\n{\"a\r\n3\r\n\":1\r\n1\r\n}\r\n0\r\n\r\n";
        assert_eq!(http_body(chunked).unwrap(), b"{\"a\":1}");
        let closed = b"HTTP/1.1 200 OK\r\n\r\n{\"name\":\"r\"}";
        assert_eq!(http_body(closed).unwrap(), b"{\"name\":\"r\"}");
        for refused in [
            &b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}"[..],
            b"HTTP/1.1 200 OK\r\nContent-Len",
            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{}",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n{}",
            b"not http at all",
            b"",
        ] {
            assert!(
                http_body(refused).is_none(),
                "{:?}",
                String::from_utf8_lossy(refused)
            );
        }
        let big = [
            &b"HTTP/1.1 200 OK\r\n\r\n"[..],
            &vec![b' '; MAX_DOCUMENT_BYTES + 1],
        ]
        .concat();
        assert!(http_body(&big).is_none());
    }
}
