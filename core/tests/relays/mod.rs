//! Relays for the delivery tests: an honest in-process one, a hostile one
//! that answers every request with a script, and the real nostr-rs-relay
//! when `TEND_RELAY_BIN` names it (`.ci/run` builds it).

#![allow(dead_code)]

pub mod journeys;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nostr::prelude::Event;
use serde_json::{Value, json};
use tend_core::delivery::RelayUrl;
use tungstenite::Message;

/// What an in-process relay saw and holds.
#[derive(Default)]
pub struct Seen {
    /// What it holds now.
    pub events: Vec<Event>,
    /// Every event it was ever sent.
    pub published: Vec<Event>,
    /// The `#p` values of every REQ, one list per connection.
    pub requests: Vec<Vec<String>>,
    pub deletions: usize,
    /// The key each connection authenticated as (NIP-42).
    pub auths: Vec<(usize, String)>,
    /// Every frame a client sent, in order: what a relay that records
    /// everything would keep.
    pub frames: Vec<Frame>,
    /// Connections accepted, NIP-11 requests included.
    pub connections: usize,
    /// NIP-11 documents asked for (a plain HTTP GET).
    pub documents: usize,
}

/// One frame a client sent, with its connection and when it came.
#[derive(Clone, Debug)]
pub struct Frame {
    pub connection: usize,
    pub at: Instant,
    pub said: Said,
}

#[derive(Clone, Debug)]
pub enum Said {
    Event(Event),
    /// A REQ's `#p` values.
    Req(Vec<String>),
    Other(String),
}

impl Seen {
    /// The `p` tags of every event each connection published, by connection.
    pub fn published_by_connection(&self) -> std::collections::BTreeMap<usize, Vec<String>> {
        let mut by = std::collections::BTreeMap::<usize, Vec<String>>::new();
        for f in &self.frames {
            if let Said::Event(e) = &f.said {
                by.entry(f.connection).or_default().extend(p_tags(e));
            }
        }
        by
    }
}

type Script = dyn Fn(&str) -> Vec<String> + Send + Sync;

/// An in-process relay: honest NIP-01 storage, or a script answering REQs.
pub struct FakeRelay {
    pub url: RelayUrl,
    pub seen: Arc<Mutex<Seen>>,
    down: Arc<AtomicBool>,
}

/// How an in-process relay misbehaves.
#[derive(Clone, Default)]
struct Quirks {
    script: Option<Arc<Script>>,
    refuse: Option<&'static str>,
    /// The most events one REQ returns, as strfry's `maxFilterLimit`.
    cap: Option<usize>,
    /// NIP-42: nothing is taken or served before the client authenticates,
    /// and a mailbox is served only to its own key.
    auth: bool,
    /// NIP-13: events with fewer leading zero bits in their id are refused.
    pow: Option<u8>,
    /// The demand is in the NIP-11 document, and refusals give no reason.
    pow_in_document: bool,
}

impl FakeRelay {
    pub fn honest() -> FakeRelay {
        FakeRelay::start(Quirks::default())
    }

    /// Answers each REQ with `script(subscription id)`, sent as is.
    pub fn hostile(script: impl Fn(&str) -> Vec<String> + Send + Sync + 'static) -> FakeRelay {
        FakeRelay::start(Quirks {
            script: Some(Arc::new(script)),
            ..Quirks::default()
        })
    }

    /// Refuses every event with `reason`.
    pub fn refusing(reason: &'static str) -> FakeRelay {
        FakeRelay::start(Quirks {
            refuse: Some(reason),
            ..Quirks::default()
        })
    }

    /// Honest, but asks every client to authenticate (NIP-42), serves a
    /// mailbox only to its key, and wants `pow` bits of work (NIP-13).
    pub fn guarded(pow: Option<u8>) -> FakeRelay {
        FakeRelay::start(Quirks {
            auth: true,
            pow,
            ..Quirks::default()
        })
    }

    /// Honest, but wants `pow` bits of work, says so only in its NIP-11
    /// document, and refuses too little with no reason given.
    pub fn pow_in_document(pow: u8) -> FakeRelay {
        FakeRelay::start(Quirks {
            pow: Some(pow),
            pow_in_document: true,
            ..Quirks::default()
        })
    }

    /// Honest, but returns at most `cap` events a REQ, newest first.
    pub fn capped(cap: usize) -> FakeRelay {
        FakeRelay::start(Quirks {
            cap: Some(cap),
            ..Quirks::default()
        })
    }

    fn start(quirks: Quirks) -> FakeRelay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = RelayUrl::parse(&format!("ws://{}", listener.local_addr().unwrap())).unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let down = Arc::new(AtomicBool::new(false));
        let (s, d) = (seen.clone(), down.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if d.load(Ordering::SeqCst) {
                    drop(stream); // refuses, as a relay that is down would
                    continue;
                }
                let (s, quirks) = (s.clone(), quirks.clone());
                std::thread::spawn(move || serve(stream, &s, &quirks));
            }
        });
        FakeRelay { url, seen, down }
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    pub fn events(&self) -> Vec<Event> {
        self.seen.lock().unwrap().events.clone()
    }

    /// Stores events as if others had published them.
    pub fn hold(&self, events: Vec<Event>) {
        self.seen.lock().unwrap().events.extend(events);
    }

    pub fn published(&self) -> Vec<Event> {
        self.seen.lock().unwrap().published.clone()
    }
}

fn serve(stream: TcpStream, seen: &Mutex<Seen>, quirks: &Quirks) {
    let connection = {
        let mut seen = seen.lock().unwrap();
        seen.connections += 1;
        seen.connections
    };
    if asks_for_document(&stream) {
        seen.lock().unwrap().documents += 1;
        serve_document(stream, quirks);
        return;
    }
    let Ok(mut ws) = tungstenite::accept(stream) else {
        return;
    };
    let challenge = format!("challenge-{connection}");
    let mut authed: Option<String> = None;
    if quirks.auth {
        let _ = ws.send(Message::text(json!(["AUTH", challenge]).to_string()));
    }
    let mut asked = Vec::new();
    while let Ok(message) = ws.read() {
        let Message::Text(text) = message else {
            continue;
        };
        let Ok(Value::Array(parts)) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        let said = match parts.first().and_then(Value::as_str) {
            Some("EVENT") => Said::Event(Event::from_json(parts[1].to_string()).unwrap()),
            Some("REQ") => Said::Req(
                parts[2]["#p"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
            ),
            _ => Said::Other(text.to_string()),
        };
        seen.lock().unwrap().frames.push(Frame {
            connection,
            at: Instant::now(),
            said,
        });
        let replies = match parts.first().and_then(Value::as_str) {
            Some("AUTH") => {
                let event = Event::from_json(parts[1].to_string()).unwrap();
                let answers = event.kind.as_u16() == 22242
                    && event.verify().is_ok()
                    && event
                        .tags
                        .iter()
                        .any(|t| t.kind() == "challenge" && t.content() == Some(&challenge));
                if answers {
                    authed = Some(event.pubkey.to_hex());
                    seen.lock()
                        .unwrap()
                        .auths
                        .push((connection, event.pubkey.to_hex()));
                }
                vec![json!(["OK", event.id.to_hex(), answers, ""]).to_string()]
            }
            Some("EVENT") if quirks.auth && authed.is_none() => {
                let event = Event::from_json(parts[1].to_string()).unwrap();
                vec![
                    json!([
                        "OK",
                        event.id.to_hex(),
                        false,
                        "auth-required: who are you?"
                    ])
                    .to_string(),
                ]
            }
            Some("EVENT")
                if quirks.pow.is_some_and(|bits| {
                    let event = Event::from_json(parts[1].to_string()).unwrap();
                    !event.id.check_pow(bits)
                }) =>
            {
                let event = Event::from_json(parts[1].to_string()).unwrap();
                let bits = quirks.pow.unwrap();
                let reason = match quirks.pow_in_document {
                    true => "blocked: no".to_owned(),
                    false => format!("pow: difficulty {bits} required"),
                };
                vec![json!(["OK", event.id.to_hex(), false, reason]).to_string()]
            }
            Some("REQ")
                if quirks.auth
                    && authed.as_ref().is_none_or(|me| {
                        parts[2]["#p"]
                            .as_array()
                            .is_none_or(|p| p.iter().any(|v| v != me))
                    }) =>
            {
                let sub = parts[1].as_str().unwrap_or_default();
                let why = if authed.is_none() {
                    "auth-required: who are you?"
                } else {
                    "restricted: not your mailbox"
                };
                vec![json!(["CLOSED", sub, why]).to_string()]
            }
            Some("EVENT") => {
                let event = Event::from_json(parts[1].to_string()).unwrap();
                if let Some(reason) = quirks.refuse {
                    let refusal = json!(["OK", event.id.to_hex(), false, reason]).to_string();
                    let _ = ws.send(Message::text(refusal));
                    continue;
                }
                let ok = event.verify().is_ok();
                let mut seen = seen.lock().unwrap();
                if ok && event.kind.as_u16() == 5 {
                    seen.deletions += 1;
                    let ids: Vec<String> = event.tags.event_ids().map(|e| e.to_hex()).collect();
                    let who = event.pubkey.to_hex();
                    // Lets a p-tagged recipient delete, as the issue hopes relays will.
                    seen.events.retain(|e| {
                        !(ids.contains(&e.id.to_hex())
                            && (e.pubkey == event.pubkey || p_tags(e).contains(&who)))
                    });
                } else if ok && !seen.events.iter().any(|e| e.id == event.id) {
                    seen.events.push(event.clone());
                    seen.published.push(event.clone());
                }
                vec![
                    json!([
                        "OK",
                        event.id.to_hex(),
                        ok,
                        if ok { "" } else { "invalid: bad signature" }
                    ])
                    .to_string(),
                ]
            }
            Some("REQ") => {
                let sub = parts[1].as_str().unwrap_or_default().to_owned();
                let filter = &parts[2];
                let wanted: Vec<String> = filter["#p"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                for p in &wanted {
                    if !asked.contains(p) {
                        asked.push(p.clone());
                    }
                }
                seen.lock().unwrap().requests.push(asked.clone());
                match &quirks.script {
                    Some(script) => script(&sub),
                    None => {
                        let since = filter["since"].as_u64().unwrap_or(0);
                        let until = filter["until"].as_u64().unwrap_or(u64::MAX);
                        let limit = filter["limit"].as_u64().map_or(usize::MAX, |l| l as usize);
                        let seen = seen.lock().unwrap();
                        let mut matching: Vec<&Event> = seen
                            .events
                            .iter()
                            .filter(|e| e.kind.as_u16() == 1059)
                            .filter(|e| (since..=until).contains(&e.created_at.as_secs()))
                            .filter(|e| p_tags(e).iter().any(|p| wanted.contains(p)))
                            .collect();
                        matching.sort_by_key(|e| std::cmp::Reverse(e.created_at));
                        matching.truncate(limit.min(quirks.cap.unwrap_or(usize::MAX)));
                        let mut out: Vec<String> = matching
                            .into_iter()
                            .map(|e| {
                                json!([
                                    "EVENT",
                                    sub,
                                    serde_json::from_str::<Value>(&e.as_json()).unwrap()
                                ])
                                .to_string()
                            })
                            .collect();
                        out.push(json!(["EOSE", sub]).to_string());
                        out
                    }
                }
            }
            _ => vec![],
        };
        for reply in replies {
            if ws.send(Message::text(reply)).is_err() {
                return;
            }
        }
    }
}

/// Whether a connection opens with a plain GET, no WebSocket upgrade: a
/// NIP-11 request.
fn asks_for_document(stream: &TcpStream) -> bool {
    let mut head = [0u8; 2048];
    for _ in 0..100 {
        let n = stream.peek(&mut head).unwrap_or(0);
        let text = String::from_utf8_lossy(&head[..n]).to_ascii_lowercase();
        if text.contains("\r\n\r\n") || n == head.len() {
            return text.starts_with("get ") && !text.contains("upgrade: websocket");
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    false
}

/// The NIP-11 document, in chunks, as relays behind a proxy often send it.
fn serve_document(mut stream: TcpStream, quirks: &Quirks) {
    use std::io::{Read, Write};
    let mut head = [0u8; 2048];
    let _ = stream.read(&mut head);
    let mut document = json!({"name": "fake relay", "supported_nips": [1, 11, 13, 40, 42]});
    if quirks.pow_in_document {
        document["limitation"] = json!({"min_pow_difficulty": quirks.pow});
    }
    let body = document.to_string();
    let (a, b) = body.split_at(body.len() / 2);
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/nostr+json\r\n\
         Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
}

pub fn p_tags(event: &Event) -> Vec<String> {
    event
        .tags
        .iter()
        .filter(|t| t.kind() == "p")
        .filter_map(|t| t.content().map(str::to_owned))
        .collect()
}

/// A SOCKS5 proxy on loopback (user name and password required, as Tor
/// takes them for isolation) that records each connection's user name and
/// target, then relays bytes both ways.
pub struct SocksProxy {
    pub url: String,
    /// (user name, target host:port), one per connection.
    pub log: Arc<Mutex<Vec<(String, String)>>>,
}

impl SocksProxy {
    pub fn start() -> SocksProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("socks5://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let l = l.clone();
                std::thread::spawn(move || {
                    let _ = socks_serve(stream, &l);
                });
            }
        });
        SocksProxy { url, log }
    }
}

fn socks_serve(mut client: TcpStream, log: &Mutex<Vec<(String, String)>>) -> std::io::Result<()> {
    use std::io::{Read, Write};
    let read = |n: usize, c: &mut TcpStream| -> std::io::Result<Vec<u8>> {
        let mut buf = vec![0; n];
        c.read_exact(&mut buf)?;
        Ok(buf)
    };
    let head = read(2, &mut client)?;
    assert_eq!(head[0], 5);
    let methods = read(head[1] as usize, &mut client)?;
    if !methods.contains(&2) {
        return client.write_all(&[5, 0xff]);
    }
    client.write_all(&[5, 2])?;
    let ulen = read(2, &mut client)?[1] as usize;
    let user = String::from_utf8(read(ulen, &mut client)?).unwrap();
    let plen = read(1, &mut client)?[0] as usize;
    read(plen, &mut client)?;
    client.write_all(&[1, 0])?;
    let request = read(4, &mut client)?;
    assert_eq!(&request[..3], &[5, 1, 0]);
    let host = match request[3] {
        1 => std::net::Ipv4Addr::from(<[u8; 4]>::try_from(read(4, &mut client)?).unwrap())
            .to_string(),
        3 => {
            let len = read(1, &mut client)?[0] as usize;
            String::from_utf8(read(len, &mut client)?).unwrap()
        }
        other => panic!("address type {other}"),
    };
    let port = u16::from_be_bytes(read(2, &mut client)?.try_into().unwrap());
    let target = format!("{host}:{port}");
    log.lock().unwrap().push((user, target.clone()));
    let upstream = TcpStream::connect(&target)?;
    client.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0])?;
    let (mut a, mut b) = (client.try_clone()?, upstream.try_clone()?);
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut a, &mut b);
        let _ = b.shutdown(std::net::Shutdown::Both);
    });
    let (mut up, mut down) = (upstream, client);
    let _ = std::io::copy(&mut up, &mut down);
    let _ = down.shutdown(std::net::Shutdown::Both);
    Ok(())
}

/// Publishes events as anyone may, on one connection, waiting for each OK.
pub fn publish_raw(relay: &RelayUrl, events: &[Event]) {
    let (mut ws, _) = tungstenite::connect(relay.as_str()).unwrap();
    for e in events {
        let frame = json!([
            "EVENT",
            serde_json::from_str::<Value>(&e.as_json()).unwrap()
        ]);
        ws.write(Message::text(frame.to_string())).unwrap();
    }
    ws.flush().unwrap();
    let mut answered = 0;
    while answered < events.len() {
        if let Message::Text(text) = ws.read().unwrap()
            && text.as_str().starts_with("[\"OK\"")
        {
            assert!(text.as_str().contains("true"), "{text}");
            answered += 1;
        }
    }
    let _ = ws.close(None);
}

/// nostr-rs-relay on 127.0.0.1 with a database in `dir`; stopped on drop.
pub struct RealRelay {
    pub url: RelayUrl,
    pub dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl RealRelay {
    /// `None` when `TEND_RELAY_BIN` is not set.
    pub fn binary() -> Option<PathBuf> {
        std::env::var_os("TEND_RELAY_BIN").map(PathBuf::from)
    }

    pub fn start(dir: &Path) -> RealRelay {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(
            dir.join("config.toml"),
            format!(
                "[info]\nrelay_url = \"ws://127.0.0.1:{port}/\"\nname = \"tend tests\"\n\
                 [network]\naddress = \"127.0.0.1\"\nport = {port}\n\
                 [limits]\nmax_event_bytes = 131072\nmax_ws_message_bytes = 1048576\n\
                 max_ws_frame_bytes = 1048576\n"
            ),
        )
        .unwrap();
        let mut relay = RealRelay {
            url: RelayUrl::parse(&format!("ws://127.0.0.1:{port}")).unwrap(),
            dir: dir.to_owned(),
            port,
            child: None,
        };
        relay.resume();
        relay
    }

    /// Stops the process; the database stays.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and database.
    pub fn resume(&mut self) {
        let bin = RealRelay::binary().expect("TEND_RELAY_BIN names nostr-rs-relay");
        let child = Command::new(bin)
            .arg("--db")
            .arg(&self.dir)
            .arg("--config")
            .arg(self.dir.join("config.toml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nostr-rs-relay starts");
        self.child = Some(child);
        let until = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < until, "nostr-rs-relay did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for RealRelay {
    fn drop(&mut self) {
        self.stop();
    }
}
