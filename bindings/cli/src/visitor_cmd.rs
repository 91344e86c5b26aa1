//! `tend visitor ...`: a member's pass for a prospective member, and the
//! visitor's side: joining with it and seeing the collective's face.

use clap::Subcommand;
use serde::Serialize;
use tend_core::Vault;
use tend_core::collective::VisitedCollective;
use tend_core::gatherings::Gathering;

use crate::gatherings_cmd::GatheringView;
use crate::output::Output;
use crate::render::{local, write_envelopes};
use crate::{CliResult, fail};

#[derive(Subcommand)]
pub enum VisitorCommand {
    /// A pass for someone who may join: it opens the collective's face (its
    /// name and agreements), never its members, to one visitor
    Pass {
        /// The collective
        name: String,
        /// How long it is valid: 90m, 12h, 30d (at most 90d)
        #[arg(long = "for", default_value = "30d")]
        valid_for: String,
        /// Also draw it as a QR code to scan
        #[arg(long)]
        qr: bool,
    },
    /// In the visitor's vault: join with a pass; prints the envelope for its member
    Join {
        /// The pass, TENDPASS:…
        pass: String,
        /// Write the envelope into this folder, made if missing [default: stdout]
        #[arg(long, value_parser = crate::args::out_folder)]
        out: Option<std::path::PathBuf>,
    },
    /// The collectives I visit, and what their faces show
    Show,
}

#[derive(Serialize)]
struct VisitView {
    collective: String,
    name: String,
    host: String,
    expires_at: String,
    agreements_version: Option<u32>,
    agreements: Option<String>,
    vouches: Option<u32>,
    vouches_needed: Option<u32>,
    /// Those it welcomes visitors to, as my host passed them on.
    gatherings: Vec<GatheringView>,
}

fn view(v: &VisitedCollective, gatherings: &[Gathering]) -> VisitView {
    VisitView {
        collective: v.collective.to_string(),
        name: v.name.clone(),
        host: v.host.clone(),
        expires_at: v.expires_at.to_rfc3339(),
        agreements_version: v.agreements_version,
        agreements: v.agreements.clone(),
        vouches: v.vouches,
        vouches_needed: v.vouches_needed,
        gatherings: welcoming(v, gatherings).map(GatheringView::from).collect(),
    }
}

/// The gatherings of the collective I visit.
fn welcoming<'a>(
    v: &'a VisitedCollective,
    gatherings: &'a [Gathering],
) -> impl Iterator<Item = &'a Gathering> {
    gatherings
        .iter()
        .filter(move |g| g.collective == Some(v.collective))
}

pub fn describe(v: &VisitedCollective, gatherings: &[Gathering]) -> String {
    let welcoming: Vec<String> = welcoming(v, gatherings)
        .map(|g| format!("\n  {}", crate::gatherings_cmd::describe(g)))
        .collect();
    let welcoming = match welcoming.is_empty() {
        true => String::new(),
        false => format!("\nGatherings you are welcome at:{}", welcoming.concat()),
    };
    let agreements = match &v.agreements {
        Some(text) => format!("Its agreements:\n{text}"),
        None => "Its agreements have not arrived yet (tend sync).".into(),
    };
    let progress = match (v.vouches, v.vouches_needed) {
        (Some(n), Some(needed)) => {
            format!(" Members have vouched for you {n} of the {needed} times that make you one.")
        }
        _ => String::new(),
    };
    format!(
        "{}, where {} invited you, until {}.{progress}\n{agreements}{welcoming}",
        v.name,
        v.host,
        local(v.expires_at)
    )
}

pub fn run(cmd: VisitorCommand, vault: &Vault, out: &Output) -> CliResult {
    let collectives = vault.collectives();
    match cmd {
        VisitorCommand::Pass {
            name,
            valid_for,
            qr,
        } => {
            let c = crate::args::collective(vault, &name)?;
            let valid_for = crate::args::duration(&valid_for)?;
            let pass = collectives.issue_pass(c.id, valid_for).map_err(fail)?;
            if qr {
                crate::output::print_line(&crate::sharing_cmd::qr_code(&pass.text)?)?;
            }
            eprintln!(
                "A pass for {} until {}: give it in person, to one visitor.",
                c.name,
                local(pass.expires_at)
            );
            out.show(
                &serde_json::json!({
                    "pass": pass.text,
                    "id": pass.id.to_string(),
                    "expires_at": pass.expires_at.to_rfc3339(),
                }),
                || pass.text.clone(),
            )
        }
        VisitorCommand::Join { pass, out: dir } => {
            let joined = collectives.join_with_pass(&pass).map_err(fail)?;
            eprintln!(
                "Visiting {}: {} is told you came, and will send its agreements.",
                joined.visit.name, joined.visit.host
            );
            write_envelopes(&[joined.sealed], dir, out)
        }
        VisitorCommand::Show => {
            let visits = collectives.visits().map_err(fail)?;
            let gatherings = vault.gatherings().list().map_err(fail)?;
            let views: Vec<_> = visits.iter().map(|v| view(v, &gatherings)).collect();
            out.show(&views, || {
                if visits.is_empty() {
                    return "You visit no collective. A member can give you a pass.".into();
                }
                visits
                    .iter()
                    .map(|v| describe(v, &gatherings))
                    .collect::<Vec<_>>()
                    .join("\n\n")
            })
        }
    }
}
