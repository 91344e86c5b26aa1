//! Tend's own transport: Nostr relays (NIP-01), events in the style of
//! NIP-59 with NIP-40 expiry (no NIP-09 deletion requests). Event layout:
//! `event.rs` and `docs/delivery.md`; the client: [`NostrTransport`] (cargo
//! feature `network`).

#[cfg(feature = "network")]
mod event;
#[cfg(feature = "network")]
mod socket;
#[cfg(feature = "network")]
mod socks;
#[cfg(feature = "network")]
mod transport;

#[cfg(feature = "network")]
pub use transport::{Limits, NostrTransport};

/// What a relay says, read as a fetch reads it: for the fuzzer.
#[cfg(all(feature = "network", feature = "testing"))]
pub(crate) fn check_relay_message(data: &[u8]) {
    use nostr::prelude::RelayMessage;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(RelayMessage::Event { event, .. }) = RelayMessage::from_json(text) {
        let mailbox = crate::identity::MailboxKey::from_slice(&event.pubkey.to_bytes());
        if let Some(mailbox) = mailbox
            && event::check(&event, &mailbox).is_ok()
        {
            let _ = event::Assembler::default().add(
                event.id.to_hex(),
                event.pubkey.to_bytes(),
                &event.content,
            );
        }
    }
}

/// Each line of `data` as an event's content, into one assembler.
#[cfg(all(feature = "network", feature = "testing"))]
pub(crate) fn assemble_lines(data: &[u8]) {
    let mut assembler = event::Assembler::default();
    for (i, line) in data.split(|b| *b == b'\n').enumerate() {
        let _ = assembler.add(i.to_string(), [0; 32], &String::from_utf8_lossy(line));
    }
}

/// A relay's HTTP answer to a NIP-11 request, read as publishing reads it:
/// for the fuzzer.
#[cfg(all(feature = "network", feature = "testing"))]
pub(crate) fn read_relay_document(data: &[u8]) {
    if let Some(body) = socket::http_body(data) {
        let _ = transport::min_pow(&body);
    }
}
