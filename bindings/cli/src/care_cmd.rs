//! `tend care ...`: ask comrades for help, offer, accept, fulfil, thank.

use std::path::PathBuf;
use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use clap::Subcommand;
use serde::Serialize;
use tend_core::Vault;
use tend_core::care::{
    CareCategory, CareRequest, CareRole, CareStatus, CareUrgency, NewCareRequest, Offer, OfferId,
    OfferState, RequestId,
};
use tend_core::envelope::Opened;

use crate::args::local_time;
use crate::args::recipients;
use crate::args::system_time_zone;
use crate::output::Output;
use crate::render::write_envelopes;
use crate::{CliResult, fail};

#[derive(Subcommand)]
pub enum CareCommand {
    /// Ask comrades or circles for help; writes the envelope
    Post {
        /// ride, food, groceries, childcare, talk, housing, money, errand or other
        #[arg(long)]
        category: String,
        /// What is needed, in a few words (comrades see it)
        #[arg(long)]
        title: String,
        /// More about it, if you want
        #[arg(long, default_value = "")]
        details: String,
        /// now, today, this-week or flexible
        #[arg(long, default_value = "flexible")]
        urgency: String,
        /// Local time it is needed by, e.g. 2026-11-27T10:00
        #[arg(long)]
        needed_by: Option<String>,
        /// How long it stays open, e.g. 12h or 3d [default: from the urgency]
        #[arg(long)]
        expires_in: Option<String>,
        /// A coarse place, such as a neighbourhood
        #[arg(long)]
        location: Option<String>,
        /// Asking for someone without a phone
        #[arg(long)]
        on_behalf_of: Option<String>,
        /// Comrade or circle names, comma-separated
        #[arg(long, required = true, value_delimiter = ',')]
        to: Vec<String>,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// Offer help with a comrade's request; only they are told
    Offer {
        id: String,
        /// What you can offer, such as "I can drive"
        #[arg(long)]
        message: String,
        /// Local time I can help, e.g. 2026-11-27T09:15
        #[arg(long)]
        when: Option<String>,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// Accept one offer on my request; the others hear only "covered"
    Accept {
        offer_id: String,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// Withdraw my request, or take back my offer on someone else's
    Withdraw {
        id: String,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// Mark a matched request fulfilled (the member who asked, or the helper)
    Fulfil {
        id: String,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// Thank the helper of my request
    Thank {
        id: String,
        /// A few words of thanks
        #[arg(long)]
        note: String,
        /// Write the envelopes into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<PathBuf>,
    },
    /// My requests, requests I could help with, and my commitments
    List {
        /// Only my own requests, with their offers
        #[arg(long, conflicts_with_all = ["for_me", "commitments"])]
        mine: bool,
        /// Only requests I could help with
        #[arg(long, conflicts_with = "commitments")]
        for_me: bool,
        /// Only what I offered and was accepted for
        #[arg(long)]
        commitments: bool,
    },
    /// Search requests by their words
    Search { words: String },
    /// Days a closed request is kept before it is deleted (shows it without DAYS)
    Retention { days: Option<u32> },
}

#[derive(Serialize)]
struct RequestView {
    id: String,
    from: Option<String>,
    category: CareCategory,
    title: String,
    details: String,
    urgency: CareUrgency,
    needed_by: Option<String>,
    expires_at: String,
    location: Option<String>,
    on_behalf_of: Option<String>,
    status: String,
    role: String,
    helper: Option<String>,
    thanks: Option<String>,
    offers: Vec<OfferView>,
}

#[derive(Serialize)]
struct OfferView {
    id: String,
    request: String,
    from: Option<String>,
    message: String,
    can_help_at: Option<String>,
    state: String,
}

fn request_view(r: &CareRequest, offers: &[Offer]) -> RequestView {
    RequestView {
        id: r.id.to_string(),
        from: r.requester.as_ref().map(|p| p.name.clone()),
        category: r.category,
        title: r.title.clone(),
        details: r.details.clone(),
        urgency: r.urgency,
        needed_by: r.needed_by.map(|t| t.to_rfc3339()),
        expires_at: r.expires_at.to_rfc3339(),
        location: r.location.clone(),
        on_behalf_of: r.on_behalf_of.clone(),
        status: shown_status(r),
        role: format!("{:?}", r.role).to_lowercase(),
        helper: r.helper.as_ref().map(|p| p.name.clone()),
        thanks: r.thanks.clone(),
        offers: offers.iter().map(offer_view).collect(),
    }
}

fn offer_view(o: &Offer) -> OfferView {
    OfferView {
        id: o.id.to_string(),
        request: o.request.to_string(),
        from: o.helper.as_ref().map(|p| p.name.clone()),
        message: o.message.clone(),
        can_help_at: o.can_help_at.map(|t| t.to_rfc3339()),
        state: format!("{:?}", o.state).to_lowercase(),
    }
}

/// "covered" is all someone who was not chosen learns.
fn shown_status(r: &CareRequest) -> String {
    if r.is_covered() {
        return "covered, thank you".into();
    }
    r.status.to_string()
}

pub fn run(cmd: CareCommand, vault: &Vault, out: &Output) -> CliResult {
    let care = vault.care();
    match cmd {
        CareCommand::Post {
            category,
            title,
            details,
            urgency,
            needed_by,
            expires_in,
            location,
            on_behalf_of,
            to,
            out: dir,
        } => {
            let now = Utc::now();
            let request = NewCareRequest {
                details,
                needed_by: needed_by.as_deref().map(local_to_utc).transpose()?,
                expires_at: expires_in
                    .as_deref()
                    .map(|e| {
                        crate::args::duration(e).and_then(|d| {
                            now.checked_add_signed(d)
                                .ok_or_else(|| format!("{e:?} is too far ahead"))
                        })
                    })
                    .transpose()?,
                location,
                on_behalf_of,
                ..NewCareRequest::new(
                    CareCategory::from_str(&category).map_err(fail)?,
                    &title,
                    CareUrgency::from_str(&urgency).map_err(fail)?,
                    recipients(vault, &to)?,
                )
            };
            let posted = care.post(&request).map_err(fail)?;
            eprintln!(
                "Request {} is open until {}.",
                posted.request.id,
                local(posted.request.expires_at)
            );
            write_envelopes(&[posted.sealed], dir, out)
        }
        CareCommand::Offer {
            id,
            message,
            when,
            out: dir,
        } => {
            let when = when.as_deref().map(local_to_utc).transpose()?;
            let offered = care
                .offer_help(request_id(&id)?, &message, when)
                .map_err(fail)?;
            eprintln!("Offer {} made.", offered.offer.id);
            write_envelopes(&[offered.sealed], dir, out)
        }
        CareCommand::Accept { offer_id, out: dir } => {
            let id = OfferId::from_str(&offer_id).map_err(fail)?;
            write_envelopes(&care.accept(id).map_err(fail)?, dir, out)
        }
        CareCommand::Withdraw { id, out: dir } => {
            write_envelopes(&care.withdraw(request_id(&id)?).map_err(fail)?, dir, out)
        }
        CareCommand::Fulfil { id, out: dir } => {
            write_envelopes(&care.fulfil(request_id(&id)?).map_err(fail)?, dir, out)
        }
        CareCommand::Thank { id, note, out: dir } => {
            let sealed = care.thank(request_id(&id)?, &note).map_err(fail)?;
            write_envelopes(&[sealed], dir, out)
        }
        CareCommand::List {
            mine,
            for_me,
            commitments,
        } => list(vault, mine, for_me, commitments, out),
        CareCommand::Search { words } => {
            let found = care.search(&words, 50).map_err(fail)?;
            let views: Vec<_> = found.iter().map(|r| request_view(r, &[])).collect();
            out.show(&views, || {
                if found.is_empty() {
                    return "No request mentions that.".into();
                }
                found.iter().map(describe).collect::<Vec<_>>().join("\n\n")
            })
        }
        CareCommand::Retention { days: None } => {
            let days = care.retention_days().map_err(fail)?;
            out.show(&serde_json::json!({ "days": days }), || {
                format!(
                    "Closed requests are deleted {} after they close.",
                    crate::output::count(days, "day", "days")
                )
            })
        }
        CareCommand::Retention { days: Some(days) } => {
            let deleted = care.set_retention_days(days).map_err(fail)?;
            out.done(&format!(
                "Closed requests are now kept {}; {deleted} deleted now.",
                crate::output::count(days, "day", "days")
            ))
        }
    }
}

fn list(vault: &Vault, mine: bool, for_me: bool, commitments: bool, out: &Output) -> CliResult {
    let all = !(mine || for_me || commitments);
    let care = vault.care();
    let mut sections = Vec::new();
    // The same keys whatever was asked: a section not listed is null.
    let mut json = serde_json::Map::new();
    for key in ["mine", "for_me", "commitments"] {
        json.insert(key.into(), serde_json::Value::Null);
    }
    if all || mine {
        let requests = care.mine().map_err(fail)?;
        let views: Vec<_> = requests
            .iter()
            .map(|m| request_view(&m.request, &m.offers))
            .collect();
        json.insert(
            "mine".into(),
            serde_json::to_value(views).map_err(|e| e.to_string())?,
        );
        sections.push(section(
            "My requests",
            requests.iter().map(|m| {
                let mut text = describe(&m.request);
                for o in &m.offers {
                    text.push_str(&format!("\n    offer {}  {}", o.id, describe_offer(o)));
                }
                text
            }),
        ));
    }
    if all || for_me {
        let could = care.could_help(50).map_err(fail)?;
        let views: Vec<_> = could.iter().map(|r| request_view(r, &[])).collect();
        json.insert(
            "for_me".into(),
            serde_json::to_value(views).map_err(|e| e.to_string())?,
        );
        sections.push(section(
            "Requests I could help with",
            could.iter().map(describe),
        ));
    }
    if all || commitments {
        let mine = care.commitments().map_err(fail)?;
        let views: Vec<_> = mine
            .iter()
            .map(|c| request_view(&c.request, std::slice::from_ref(&c.offer)))
            .collect();
        json.insert(
            "commitments".into(),
            serde_json::to_value(views).map_err(|e| e.to_string())?,
        );
        sections.push(section(
            "My commitments",
            mine.iter()
                .map(|c| format!("{}\n    {}", describe(&c.request), describe_offer(&c.offer))),
        ));
    }
    out.show(&json, || sections.join("\n\n"))
}

fn section(title: &str, items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        return format!("{title}: none.");
    }
    format!("{title}:\n{}", items.join("\n"))
}

/// One request in a few lines.
pub fn describe(r: &CareRequest) -> String {
    let who = match (&r.requester, &r.on_behalf_of) {
        (None, None) => "I ask".to_owned(),
        (None, Some(o)) => format!("I ask for {o}"),
        (Some(p), None) => format!("{} asks", p.name),
        (Some(p), Some(o)) => format!("{} asks for {o}", p.name),
    };
    let mut text = format!(
        "  {}  [{}, {}]  {who} for {}: “{}”",
        r.id,
        r.urgency,
        shown_status(r),
        r.category.label(),
        r.title
    );
    if !r.details.is_empty() {
        text.push_str(&format!("\n    {}", r.details));
    }
    let mut facts = Vec::new();
    if let Some(n) = r.needed_by {
        facts.push(format!("needed by {}", local(n)));
    }
    if r.status == CareStatus::Open {
        facts.push(format!("open until {}", local(r.expires_at)));
    }
    if let Some(l) = &r.location {
        facts.push(format!("near {l}"));
    }
    if let Some(h) = &r.helper {
        facts.push(format!("{} is helping", h.name));
    }
    if r.role == CareRole::Helper {
        facts.push("you are helping".into());
    }
    if let Some(t) = &r.thanks {
        facts.push(format!("thanks: “{t}”"));
    }
    if !facts.is_empty() {
        text.push_str(&format!("\n    {}", facts.join("; ")));
    }
    text
}

fn describe_offer(o: &Offer) -> String {
    let who = o.helper.as_ref().map_or("I", |p| p.name.as_str());
    let when = o
        .can_help_at
        .map(|t| format!(" at {}", local(t)))
        .unwrap_or_default();
    let state = match o.state {
        OfferState::Pending => "pending",
        OfferState::Accepted => "accepted",
        OfferState::Declined => "covered, thank you",
        OfferState::Withdrawn => "withdrawn",
    };
    format!("{who} can help{when} ({state}): “{}”", o.message)
}

/// What `tend inbox open` says about a care envelope it opened.
pub fn describe_opened(vault: &Vault, opened: &Opened) -> Option<String> {
    let id = tend_core::care::request_of(opened)?;
    let request = vault.care().get(id).ok()?;
    Some(describe(&request))
}

fn request_id(text: &str) -> CliResult<RequestId> {
    RequestId::from_str(text).map_err(fail)
}

fn local_to_utc(text: &str) -> CliResult<DateTime<Utc>> {
    let naive = local_time(text)?;
    system_time_zone()
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| format!("{text} does not exist in this time zone (a clock change)"))
}

use crate::render::local;
