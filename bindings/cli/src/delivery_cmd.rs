//! `tend relays` and `tend sync`: delivery through Nostr relays.

use std::time::Duration;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use tend_core::Vault;
use tend_core::delivery::nostr::Limits;
use tend_core::delivery::{ProxyUrl, RelayReport, RelayUrl, SyncOptions, SyncProgress, SyncReport};

use crate::output::Output;
use crate::{CliResult, fail};

#[derive(Subcommand)]
pub enum RelaysCommand {
    /// Receive on a relay too (wss://…, or ws:// on a local network); comrades are sent your new card
    Add { url: String },
    /// The relays you receive on; the first four are in your card
    List,
    /// Stop receiving on a relay
    Remove { url: String },
    /// Send every relay connection through a SOCKS5 proxy (Tor or Orbot:
    /// socks5://127.0.0.1:9050), each on a circuit of its own; no URL shows the one set
    Proxy {
        url: Option<String>,
        /// Connect to relays directly again
        #[arg(long, conflicts_with = "url")]
        off: bool,
    },
}

pub fn relays(cmd: RelaysCommand, vault: &Vault, out: &Output) -> CliResult {
    let delivery = vault.delivery();
    match cmd {
        RelaysCommand::Add { url } => {
            let url = RelayUrl::parse(&url).map_err(fail)?;
            if url.is_unencrypted_off_this_machine() {
                eprintln!(
                    "Warning: {url} is not encrypted (ws://): anyone on the network between \
                     you and it sees which relay you use and when. Use wss:// unless it is \
                     on a network you trust."
                );
            }
            delivery.add_relay(&url).map_err(fail)?;
            out.done(&format!(
                "Receiving on {url}. Run `tend sync` to send comrades your new card."
            ))
        }
        RelaysCommand::List => {
            let relays = delivery.relays().map_err(fail)?;
            let address = delivery.my_address().map_err(fail)?;
            let mailbox = address.mailbox_at(chrono::Utc::now());
            let next_from = address
                .next
                .map(|n| tend_core::delivery::week_start(n.from_week));
            out.show(
                &json!({
                    "relays": relays.iter().map(RelayUrl::as_str).collect::<Vec<_>>(),
                    "mailbox": mailbox.to_hex(),
                    "next_series_from": next_from.map(|t| t.to_rfc3339()),
                }),
                || {
                    if relays.is_empty() {
                        return "No relays: envelopes travel only as files or text. \
                                Add one with `tend relays add wss://…`."
                            .into();
                    }
                    let list: Vec<String> = relays.iter().map(|r| format!("  {r}")).collect();
                    let next = next_from.map_or(String::new(), |t| {
                        format!(
                            "\nA new series begins {} (you removed or blocked a comrade).",
                            t.format("%Y-%m-%d %H:%M UTC")
                        )
                    });
                    format!(
                        "Receiving on:\n{}\nMailbox {}… this week (a new one each week).{next}",
                        list.join("\n"),
                        &mailbox.to_hex()[..16]
                    )
                },
            )
        }
        RelaysCommand::Proxy { url, off } => {
            if off {
                delivery.set_proxy(None).map_err(fail)?;
            } else if let Some(url) = url {
                let proxy = ProxyUrl::parse(&url).map_err(fail)?;
                delivery.set_proxy(Some(&proxy)).map_err(fail)?;
            }
            let proxy = delivery.proxy().map_err(fail)?;
            out.show(
                &json!({ "proxy": proxy.as_ref().map(ToString::to_string) }),
                || match &proxy {
                    Some(p) => format!(
                        "Every relay connection goes through {p}, each as a SOCKS user of its own."
                    ),
                    None => "No proxy: relays see this device's IP address.".into(),
                },
            )
        }
        RelaysCommand::Remove { url } => {
            let url = RelayUrl::parse(&url).map_err(fail)?;
            delivery.remove_relay(&url).map_err(fail)?;
            out.done(&format!("No longer receiving on {url}."))
        }
    }
}

/// `tend sync`: sends the outbox, fetches the mailboxes, prints a summary
/// per relay.
pub fn sync(vault: &Vault, spread: Duration, out: &Output) -> CliResult {
    if vault.delivery().relays().map_err(fail)?.is_empty() {
        return Err("no relays yet: add one with `tend relays add wss://…`".into());
    }
    let report = sync_now(vault, spread)?;
    out.show(&report_json(&report), || describe(&report))?;
    if report.relays.iter().all(|r| r.unreachable.is_some()) {
        return Err("no relay could be reached; what waits is kept and sent next time".into());
    }
    Ok(())
}

/// A sync the member asked for: failed relays are tried at once, its
/// connections spread over `spread`. Progress goes to stderr when it is a
/// terminal.
pub fn sync_now(vault: &Vault, spread: Duration) -> CliResult<SyncReport> {
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
    let report = vault
        .delivery()
        .sync_through_relays(
            Limits::default(),
            SyncOptions {
                retry_now: true,
                delay_budget: spread,
            },
            &mut |p| {
                bar.set_message(match p {
                    SyncProgress::Sending { relay, parcels } => {
                        format!("{relay}: sending {parcels}")
                    }
                    SyncProgress::Fetching { relay, .. } => format!("{relay}: fetching"),
                    SyncProgress::Opening { done, of } => format!("opening {done}/{of}"),
                });
                bar.tick();
            },
        )
        .map_err(fail)?;
    bar.finish_and_clear();
    Ok(report)
}

/// One line per relay.
pub fn describe(report: &SyncReport) -> String {
    let mut lines: Vec<String> = report.relays.iter().map(describe_relay).collect();
    if report.retired {
        lines.push(
            "This vault was restored on another phone, which has taken over: this copy sent \
             nothing and is read-only from now on. Wipe it when you no longer need to read it."
                .into(),
        );
    }
    lines.join("\n")
}

fn describe_relay(r: &RelayReport) -> String {
    let url = r.relay.as_ref().map_or("?", RelayUrl::as_str);
    let mut parts = vec![
        format!("sent {}", r.sent),
        format!("received {}", r.received),
    ];
    if r.refused > 0 {
        parts.push(format!("refused by the relay {}", r.refused));
    }
    if r.duplicates > 0 {
        parts.push(format!("already had {}", r.duplicates));
    }
    let rejected: usize = r.rejected.values().sum();
    if rejected > 0 {
        let why: Vec<String> = r.rejected.iter().map(|(e, n)| format!("{n} {e}")).collect();
        parts.push(format!("would not open {rejected} ({})", why.join("; ")));
    }
    if r.from_strangers > 0 {
        parts.push(format!("{} from people not yet comrades", r.from_strangers));
    }
    if r.turned_down > 0 {
        parts.push(format!(
            "turned down {} (about nothing this vault holds)",
            r.turned_down
        ));
    }
    if !r.problems.is_empty() {
        let what: Vec<String> = r
            .problems
            .iter()
            .map(|(p, n)| format!("{n}× {p}"))
            .collect();
        parts.push(format!("bad answers: {}", what.join("; ")));
    }
    match &r.unreachable {
        Some(e) => format!("  {url}: {e}; what waits is kept and tried again"),
        None => format!("  {url}: {}", parts.join(", ")),
    }
}

fn report_json(report: &SyncReport) -> serde_json::Value {
    json!({
        "relays": report.relays.iter().map(|r| json!({
            "relay": r.relay.as_ref().map(RelayUrl::as_str),
            "sent": r.sent,
            "refused": r.refused,
            "received": r.received,
            "duplicates": r.duplicates,
            "rejected": r.rejected.iter().map(|(e, n)| (format!("{e:?}"), *n)).collect::<std::collections::BTreeMap<_, _>>(),
            "from_strangers": r.from_strangers,
            "turned_down": r.turned_down,
            "problems": r.problems.iter().map(|(p, n)| (format!("{p:?}"), *n)).collect::<std::collections::BTreeMap<_, _>>(),
            "unreachable": r.unreachable.as_ref().map(ToString::to_string),
        })).collect::<Vec<_>>(),
        "opened": report.opened.iter().map(|o| json!({
            "message_id": o.message_id.to_string(),
            "from": o.sender.name,
            "kind": o.kind,
        })).collect::<Vec<_>>(),
        "retired": report.retired,
    })
}
