//! What a member does to a collective. Each is one transaction: the change
//! is signed, judged by the rules against the log I hold (a refused one is
//! never stored or sent), and sealed to the members.

use std::cell::OnceCell;

use chrono::Utc;
use rusqlite::Connection;

use super::change::{Change, CollectiveId, Op, Settings};
use super::state::{Log, Outcome, State};
use super::store::{self, Kept};
use super::wire::{self, Changes};
use super::{
    Collective, CollectiveAgreements, CollectiveError, Collectives, MadeChange, Member, kinds,
};
use crate::comrades::{self, ComradeId, IdentityKey};
use crate::envelope::{self, MAX_RECIPIENTS, Outgoing, Sealed};
use crate::identity::RelayUrl;
use crate::vault::memo;
use crate::{Error, Result, identity};

/// The agreements a new collective starts with, after the zine's
/// restorative gathering; stewards propose their own from there.
pub const STARTER_AGREEMENTS: &str = "\
Our monthly restorative gathering is for members only, at a time we can all predict.
We do quiet things side by side, each our own: reading, drawing, mending, writing, resting.
We open with a short greeting round: each of us may say what we will work on, or pass.
Talk is secondary, and quiet is welcome.
Nobody has to share anything, and what is shared stays with us.";

/// A collective open for one action: its row, its log, and me; the state
/// is folded once for each version of the log, not at every look. When
/// the action ends, log and state stay in the vault's memo for the next.
pub(super) struct Open {
    pub kept: Kept,
    pub log: Log,
    pub me: IdentityKey,
    folded: OnceCell<State>,
}

/// A log and its state as an earlier action left them, and the token
/// the log had then.
struct Remembered {
    log_token: i64,
    log: Log,
    folded: OnceCell<State>,
}

impl Open {
    pub fn new(kept: Kept, log: Log, me: IdentityKey) -> Open {
        Open {
            kept,
            log,
            me,
            folded: OnceCell::new(),
        }
    }

    /// The collective as my vault keeps it: from the memo if its log has
    /// not changed since, else read and folded anew.
    fn load(conn: &Connection, id: CollectiveId, kept: Kept) -> Result<Open> {
        let me = identity::identity_key(conn)?;
        match memo::take::<Remembered>(&id.0) {
            Some(r) if r.log_token == kept.log_token && r.log.collective() == id => Ok(Open {
                kept,
                log: r.log,
                me,
                folded: r.folded,
            }),
            _ => {
                let log = store::log(conn, kept.seq, id)?;
                Ok(Open::new(kept, log, me))
            }
        }
    }

    pub fn state(&self) -> &State {
        self.folded.get_or_init(|| self.log.state())
    }

    /// Takes a change into the log and the vault; whether it was new.
    pub fn add(&mut self, tx: &Connection, change: Change) -> Result<bool> {
        let new = store::add(tx, &mut self.kept, &mut self.log, change)?;
        if new {
            self.folded = OnceCell::new();
        }
        Ok(new)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        let id = self.log.collective();
        let remembered = Remembered {
            log_token: self.kept.log_token,
            log: std::mem::replace(&mut self.log, Log::new(id)),
            folded: std::mem::take(&mut self.folded),
        };
        memo::put(id.0.to_vec(), remembered);
    }
}

impl Collectives<'_> {
    /// Founds a collective: I am its first member and steward. Its
    /// agreements start as `agreements` (accepted by me), or none.
    pub fn create(&self, name: &str, agreements: Option<&str>) -> Result<Collective> {
        let name = crate::name::clean(name)?.to_owned();
        let now = Utc::now();
        self.vault.with_tx(|tx| {
            let id = CollectiveId::random();
            let kept = store::insert(tx, id, now)?;
            let mut open = Open::new(kept, super::Log::new(id), identity::identity_key(tx)?);
            make(tx, &mut open, Op::Found { name })?;
            if let Some(text) = agreements {
                let op = agreements_op(open.state(), text, true)?;
                make(tx, &mut open, op)?;
                make(tx, &mut open, Op::Accept { version: 1 })?;
            }
            Ok(view(&open, open.state()))
        })
    }

    /// The collectives I keep, in the order I joined them.
    pub fn list(&self) -> Result<Vec<Collective>> {
        self.vault.with_conn(|conn| {
            store::ids(conn)?
                .into_iter()
                .map(|id| {
                    let open = open(conn, id)?;
                    Ok(view(&open, open.state()))
                })
                .collect()
        })
    }

    pub fn get(&self, id: CollectiveId) -> Result<Collective> {
        self.vault.with_conn(|conn| {
            let open = open(conn, id)?;
            Ok(view(&open, open.state()))
        })
    }

    /// The collective called `name` (ignoring case), or with this id.
    pub fn find(&self, name: &str) -> Result<Collective> {
        let all = self.list()?;
        if let Ok(id) = name.parse::<CollectiveId>()
            && let Some(c) = all.iter().find(|c| c.id == id)
        {
            return Ok(c.clone());
        }
        let mut named = all
            .into_iter()
            .filter(|c| c.name.to_lowercase() == name.trim().to_lowercase());
        match (named.next(), named.next()) {
            (Some(c), None) => Ok(c),
            (Some(_), Some(_)) => Err(Error::invalid(
                "collective",
                "two collectives have that name: use its id",
            )),
            (None, _) => Err(Error::NotFound { what: "collective" }),
        }
    }

    /// Everyone who is a member, stewards first, then by name.
    pub fn members(&self, id: CollectiveId) -> Result<Vec<Member>> {
        self.vault.with_conn(|conn| {
            let open = open(conn, id)?;
            let state = open.state();
            let mut members = state
                .members
                .iter()
                .map(|key| member(conn, &open, state, key))
                .collect::<Result<Vec<_>>>()?;
            members.sort_by(|a, b| {
                (!a.steward, a.name.to_lowercase()).cmp(&(!b.steward, b.name.to_lowercase()))
            });
            Ok(members)
        })
    }

    /// A steward adds comrades as members. They are sent the whole log and
    /// the members' cards; the members are sent theirs.
    pub fn add_members(&self, id: CollectiveId, comrades: &[ComradeId]) -> Result<MadeChange> {
        if comrades.is_empty() {
            return Err(Error::invalid("members", "name at least one comrade"));
        }
        self.changing(|tx| {
            let mut open = open(tx, id)?;
            let keys = comrades
                .iter()
                .map(|c| Ok(comrades::by_id(tx, *c)?.identity_key))
                .collect::<Result<Vec<_>>>()?;
            add_members(tx, &mut open, &keys)
        })
    }

    /// A steward removes a member; they are told, and sent nothing more.
    pub fn remove_member(&self, id: CollectiveId, comrade: ComradeId) -> Result<MadeChange> {
        self.vault.with_tx(|tx| {
            let key = comrades::by_id(tx, comrade)?.identity_key;
            let mut open = open(tx, id)?;
            let seen = open.log.last_seq(&key);
            let change = make(tx, &mut open, Op::RemoveMember { member: key, seen })?;
            tell_members(tx, &open, change, &[key])
        })
    }

    /// Leaves the collective: the members are told, and my vault forgets it.
    pub fn leave(&self, id: CollectiveId) -> Result<Vec<Sealed>> {
        self.vault.with_tx(|tx| {
            let mut open = open(tx, id)?;
            let mut sealed = Vec::new();
            if open.state().members.contains(&open.me) {
                // Seen includes the leaving itself, which would otherwise refuse it.
                let (me, seen) = (open.me, open.log.last_seq(&open.me) + 1);
                let change = make(tx, &mut open, Op::RemoveMember { member: me, seen })?;
                sealed = tell_members(tx, &open, change, &[])?.sealed;
            }
            store::delete(tx, open.kept.seq)?;
            Ok(sealed)
        })
    }

    pub fn add_steward(&self, id: CollectiveId, comrade: ComradeId) -> Result<MadeChange> {
        self.member_change(id, comrade, |member| Op::AddSteward { member })
    }

    pub fn remove_steward(&self, id: CollectiveId, comrade: ComradeId) -> Result<MadeChange> {
        self.member_change(id, comrade, |member| Op::RemoveSteward { member })
    }

    /// A steward proposes the next version of the agreements, and accepts
    /// it. A major one asks every member to accept again.
    pub fn propose_agreements(
        &self,
        id: CollectiveId,
        text: &str,
        major: bool,
    ) -> Result<MadeChange> {
        self.vault.with_tx(|tx| {
            let mut open = open(tx, id)?;
            let op = agreements_op(open.state(), text, major)?;
            let version = match &op {
                Op::Agreements { version, .. } => *version,
                _ => unreachable!("agreements_op makes agreements"),
            };
            let proposed = make(tx, &mut open, op)?;
            let accepted = make(tx, &mut open, Op::Accept { version })?;
            tell_all(tx, &open, &[proposed, accepted])
        })
    }

    /// I accept the current agreements.
    pub fn accept_agreements(&self, id: CollectiveId) -> Result<MadeChange> {
        self.vault.with_tx(|tx| {
            let mut open = open(tx, id)?;
            let version = open
                .log
                .state()
                .agreements
                .map(|a| a.version)
                .ok_or(Error::NotFound { what: "agreements" })?;
            let change = make(tx, &mut open, Op::Accept { version })?;
            tell_all(tx, &open, &[change])
        })
    }

    pub fn rename(&self, id: CollectiveId, name: &str) -> Result<MadeChange> {
        let name = crate::name::clean(name)?.to_owned();
        self.vault.with_tx(|tx| {
            let mut open = open(tx, id)?;
            let change = make(tx, &mut open, Op::Rename { name })?;
            tell_all(tx, &open, &[change])
        })
    }

    /// A steward changes the collective's settings (all of them at once).
    pub fn set_settings(&self, id: CollectiveId, settings: &Settings) -> Result<MadeChange> {
        if let Some(day) = settings.review_agreements_on
            && day < Utc::now().date_naive()
        {
            return Err(Error::invalid("review date", "today or later"));
        }
        if !settings.fits() {
            return Err(Error::invalid(
                "settings",
                "at most 8 relays, a pulse threshold of 3 or more, a mood scale of 3 to 10 \
                 steps, and rounds kept 1 to 365 days",
            ));
        }
        self.vault.with_tx(|tx| {
            let mut open = open(tx, id)?;
            let change = make(tx, &mut open, Op::Settings(settings.clone()))?;
            tell_all(tx, &open, &[change])
        })
    }

    fn member_change(
        &self,
        id: CollectiveId,
        comrade: ComradeId,
        op: impl FnOnce(IdentityKey) -> Op,
    ) -> Result<MadeChange> {
        self.vault.with_tx(|tx| {
            let key = comrades::by_id(tx, comrade)?.identity_key;
            let mut open = open(tx, id)?;
            let change = make(tx, &mut open, op(key))?;
            tell_all(tx, &open, &[change])
        })
    }
}

/// Adds `newcomers` as members, by my hand: the members before are sent
/// the additions, the newcomers the whole log, in parts each beginning with
/// what makes them members, so any part arriving first welcomes them.
pub(super) fn add_members(
    tx: &Connection,
    open: &mut Open,
    newcomers: &[IdentityKey],
) -> Result<MadeChange> {
    let before = open.state().members.clone();
    let mut made = Vec::new();
    for key in newcomers {
        made.push(make(tx, open, Op::AddMember { member: *key })?);
    }
    let state = open.state();
    let members: Vec<IdentityKey> = before.into_iter().filter(|k| *k != open.me).collect();
    let mut sealed = seal(tx, open, (&made, &[]), &[], &members)?;
    let rest: Vec<Change> = open
        .log
        .changes()
        .filter(|c| !made.contains(c))
        .cloned()
        .collect();
    sealed.extend(seal(tx, open, (&made, &rest), &[], newcomers)?);
    sealed.extend(super::visitors::send_faces(tx, open, Utc::now())?);
    Ok(MadeChange {
        collective: view(open, state),
        sealed,
    })
}

/// The members of a collective I am a member of, but me: whom a gathering
/// of the collective invites.
pub(crate) fn fellow_members(conn: &Connection, id: CollectiveId) -> Result<Vec<IdentityKey>> {
    let open = open(conn, id)?;
    let state = open.state();
    if !state.members.contains(&open.me) {
        return Err(CollectiveError::NotAMember.into());
    }
    Ok(others(&open, state).collect())
}

/// The relays a collective I am a member of asks its members to use.
pub(crate) fn relays_asked(conn: &Connection, id: CollectiveId) -> Result<Vec<RelayUrl>> {
    let open = open(conn, id)?;
    let state = open.state();
    if !state.members.contains(&open.me) {
        return Err(CollectiveError::NotAMember.into());
    }
    Ok(state.settings.relays.clone())
}

/// Who a collective's members and stewards are, as my vault folds it.
pub(crate) struct Membership {
    pub me: IdentityKey,
    pub members: std::collections::BTreeSet<IdentityKey>,
    pub stewards: std::collections::BTreeSet<IdentityKey>,
    pub settings: Settings,
}

/// A collective I am a member of, or `NotAMember`.
pub(crate) fn membership(conn: &Connection, id: CollectiveId) -> Result<Membership> {
    let open = open(conn, id)?;
    let state = open.state();
    if !state.members.contains(&open.me) {
        return Err(CollectiveError::NotAMember.into());
    }
    Ok(Membership {
        me: open.me,
        members: state.members.clone(),
        stewards: state.stewards.clone(),
        settings: state.settings.clone(),
    })
}

/// The settings of a collective I am a member of; `None` for one I am not
/// (or no longer) in.
pub(crate) fn settings_of(conn: &Connection, id: CollectiveId) -> Result<Option<Settings>> {
    let Some(open) = open_kept(conn, id)? else {
        return Ok(None);
    };
    let state = open.state();
    Ok(state
        .members
        .contains(&open.me)
        .then(|| state.settings.clone()))
}

/// The collectives I am a member of that set a day to review their
/// agreements: each one's id, name and that day.
pub(crate) fn reviews(conn: &Connection) -> Result<Vec<(CollectiveId, String, chrono::NaiveDate)>> {
    let mut out = Vec::new();
    for id in store::ids(conn)? {
        let open = open(conn, id)?;
        let state = open.state();
        if let Some(day) = state.settings.review_agreements_on
            && state.members.contains(&open.me)
        {
            out.push((id, state.name.clone().unwrap_or_default(), day));
        }
    }
    Ok(out)
}

fn agreements_op(state: &State, text: &str, major: bool) -> Result<Op> {
    let text = text.trim();
    if text.is_empty() || text.len() > super::MAX_AGREEMENTS_BYTES {
        return Err(Error::invalid("agreements", "1 to 16,384 bytes of text"));
    }
    Ok(Op::Agreements {
        version: state.agreements.as_ref().map_or(0, |a| a.version) + 1,
        major,
        text: text.to_owned(),
    })
}

pub(super) fn open(conn: &Connection, id: CollectiveId) -> Result<Open> {
    open_kept(conn, id)?.ok_or(Error::NotFound { what: "collective" })
}

/// The collective, if my vault keeps it.
pub(super) fn open_kept(conn: &Connection, id: CollectiveId) -> Result<Option<Open>> {
    store::kept(conn, id)?
        .map(|kept| Open::load(conn, id, kept))
        .transpose()
}

/// Signs `op` as mine, keeps it, and checks the rules count it: one they
/// refuse fails the whole transaction.
pub(super) fn make(tx: &Connection, open: &mut Open, op: Op) -> Result<Change> {
    if !matches!(op, Op::Found { .. }) && !open.state().members.contains(&open.me) {
        return Err(CollectiveError::NotAMember.into());
    }
    let keys = identity::load(tx)?;
    let change = open
        .log
        .make(&keys.signing, op)
        .map_err(CollectiveError::from)?;
    let key = (change.author, change.seq);
    open.add(tx, change.clone())?;
    match open.state().outcomes.get(&key) {
        Some(Outcome::Applied) => Ok(change),
        Some(Outcome::Refused(refusal)) => {
            Err(CollectiveError::Refused { refusal: *refusal }.into())
        }
        _ => Err(CollectiveError::NotAMember.into()),
    }
}

/// `change` to every member but me, and to `also` (a member just removed).
fn tell_members(
    tx: &Connection,
    open: &Open,
    change: Change,
    also: &[IdentityKey],
) -> Result<MadeChange> {
    let state = open.state();
    let to: Vec<IdentityKey> = others(open, state).chain(also.iter().copied()).collect();
    let mut sealed = seal(tx, open, (&[change], &[]), &[], &to)?;
    sealed.extend(super::visitors::send_faces(tx, open, Utc::now())?);
    Ok(MadeChange {
        sealed,
        collective: view(open, state),
    })
}

fn tell_all(tx: &Connection, open: &Open, changes: &[Change]) -> Result<MadeChange> {
    let state = open.state();
    let to: Vec<IdentityKey> = others(open, state).collect();
    let mut sealed = seal(tx, open, (changes, &[]), &[], &to)?;
    sealed.extend(super::visitors::send_faces(tx, open, Utc::now())?);
    Ok(MadeChange {
        sealed,
        collective: view(open, state),
    })
}

pub(super) fn others<'a>(
    open: &'a Open,
    state: &'a State,
) -> impl Iterator<Item = IdentityKey> + 'a {
    state.members.iter().copied().filter(|k| *k != open.me)
}

/// Seals `lead` and `changes` to the comrades among `to`: `changes` in
/// as many bodies as their size needs, each beginning with `lead` (a
/// newcomer's welcome begins with their addition, so any part arriving
/// first is taken), and carrying the cards of the members its changes add
/// and of `cards`. Recipients go in groups within an envelope's limit;
/// members whose card I do not hold are left out.
pub(super) fn seal(
    tx: &Connection,
    open: &Open,
    (lead, changes): (&[Change], &[Change]),
    cards: &[IdentityKey],
    to: &[IdentityKey],
) -> Result<Vec<Sealed>> {
    let peers = comrades::peers_for_keys(tx, to)?;
    if peers.is_empty() || lead.len() + changes.len() + cards.len() == 0 {
        return Ok(Vec::new());
    }
    let state = open.state();
    let mut parts = wire::parts(changes);
    if parts.is_empty() {
        parts.push(&[]);
    }
    let mut bodies = Vec::new();
    for part in parts {
        let part: Vec<&Change> = lead.iter().chain(part).collect();
        let added = part.iter().filter_map(|c| match &c.op {
            Op::Found { .. } => Some(c.author),
            Op::AddMember { member } => Some(*member),
            _ => None,
        });
        // Each member's card once, looked up once.
        let wanted: std::collections::BTreeSet<IdentityKey> = added
            .chain(cards.iter().copied())
            .filter(|k| state.members.contains(k))
            .collect();
        let mut with = Vec::new();
        for key in wanted {
            with.extend(comrades::card_of_unblocked(tx, &key)?);
        }
        with.truncate(usize::from(u8::MAX));
        bodies.push(
            Changes {
                collective: open.log.collective(),
                held: open.log.len() as u32,
                changes: part.iter().map(|c| c.as_bytes().to_vec()).collect(),
                cards: with,
            }
            .to_bytes(),
        );
    }
    let subject = subject(open.log.collective());
    let mut sealed = Vec::new();
    for group in peers.chunks(MAX_RECIPIENTS - 2) {
        for body in &bodies {
            let outgoing = Outgoing {
                kind: kinds::COLLECTIVE_CHANGES,
                body,
                to: &[],
                expires_at: None,
            };
            sealed.push(envelope::seal_in(
                tx,
                group.to_vec(),
                &outgoing,
                Some(&subject),
            )?);
        }
    }
    Ok(sealed)
}

/// What outbox envelopes about a collective are filed under.
pub(super) fn subject(id: CollectiveId) -> String {
    format!("collective:{id}")
}

fn view(open: &Open, state: &State) -> Collective {
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Collective {
        id: open.log.collective(),
        name: state.name.clone().unwrap_or_default(),
        members: count(state.members.len()),
        stewards: count(state.stewards.len()),
        i_am_member: state.members.contains(&open.me),
        i_am_steward: state.stewards.contains(&open.me),
        agreements: state.agreements.as_ref().map(|a| CollectiveAgreements {
            version: a.version,
            major_version: a.major_version,
            text: a.text.clone(),
            i_accepted: state
                .accepted
                .get(&open.me)
                .is_some_and(|v| *v >= a.major_version),
            not_yet_accepted: count(state.not_yet_accepted()),
        }),
        joined_at: open.kept.joined_at,
        waiting: count(
            state
                .outcomes
                .values()
                .filter(|o| **o == Outcome::Pending)
                .count(),
        ),
        settings: state.settings.clone(),
    }
}

fn member(conn: &Connection, open: &Open, state: &State, key: &IdentityKey) -> Result<Member> {
    let me = *key == open.me;
    let comrade = if me {
        None
    } else {
        comrades::by_identity(conn, key)?
    };
    let name = match (&comrade, me) {
        (_, true) => "you".to_owned(),
        (Some(c), _) => c.name.clone(),
        (None, _) => format!("member {}", &hex::encode(key.as_bytes())[..8]),
    };
    Ok(Member {
        identity_key: *key,
        name,
        comrade: comrade.as_ref().map(|c| c.id),
        me,
        steward: state.stewards.contains(key),
        verified: comrade.is_some_and(|c| c.verified),
    })
}
