//! Coming back through custodians. The member, with nothing left, makes a
//! recovery request: a one-time age key whose public half is a code (a QR)
//! they show each custodian in person. A custodian releases the share it
//! keeps, sealed to that key alone; with `threshold` releases the backup
//! key is rebuilt, and opens the member's automatic backups.

use std::io::{Read, Write};
use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::{Custody, KeptShare, ShareBody, held_share, recover};
use crate::comrades::IdentityKey;
use crate::sealed::{self, OpenWith, Refused, SealWith};
use crate::{Error, Result};

const CODE_PREFIX: &str = "TENDC:";
const CODE_VERSION: u8 = 1;
/// The saved request: this line, then the one-time identity, under age.
const SAVED_HEAD: &str = "tend recovery request v1\n";
/// A release is a share's body under age: far below this.
const MAX_RELEASE_BYTES: u64 = 4096;

/// What a recovering member shows, and a custodian scans.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestCode {
    recipient: age::x25519::Recipient,
}

impl std::fmt::Debug for RequestCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestCode")
    }
}

fn bad_code(problem: &'static str) -> Error {
    Error::invalid("recovery code", problem)
}

fn bad_release(problem: &'static str) -> Error {
    Error::invalid("release", problem)
}

impl RequestCode {
    /// `TENDC:` and Base32 of a version byte and the key's 32 bytes.
    pub fn to_text(&self) -> String {
        let (_, key) =
            bech32::decode(&self.recipient.to_string()).expect("age recipients are bech32");
        let mut bytes = vec![CODE_VERSION];
        bytes.extend_from_slice(&key);
        crate::bytes::to_text(CODE_PREFIX, &bytes)
    }

    /// The one-time key releases are sealed to.
    pub fn recipient(&self) -> &age::x25519::Recipient {
        &self.recipient
    }

    pub fn parse(text: &str) -> Result<RequestCode> {
        let bytes = crate::bytes::from_text(CODE_PREFIX, text, 33)
            .ok_or(bad_code("not a Tend recovery code"))?;
        match bytes.split_first() {
            Some((&CODE_VERSION, key)) if key.len() == 32 => {
                let text = bech32::encode_lower::<bech32::Bech32>(
                    bech32::Hrp::parse_unchecked("age"),
                    key,
                )
                .map_err(|_| bad_code("cut short"))?;
                let recipient = age::x25519::Recipient::from_str(&text)
                    .map_err(|_| bad_code("names no key"))?;
                Ok(RequestCode { recipient })
            }
            Some((&CODE_VERSION, _)) => Err(bad_code("cut short")),
            _ => Err(bad_code("from a newer Tend")),
        }
    }
}

impl Custody<'_> {
    /// The share I keep for `owner`, sealed to the recovery request whose
    /// code they showed me in person: only that request opens it. `owner`
    /// may be left out when I keep one member's share only. Writes nothing,
    /// so a retired copy can still release.
    pub fn release(&self, code: &RequestCode, owner: Option<&IdentityKey>) -> Result<Vec<u8>> {
        let owner = match owner {
            Some(owner) => *owner,
            None => match self.held()?.as_slice() {
                [one] => one.owner_key,
                [] => return Err(Error::NotFound { what: "a share" }),
                _ => {
                    return Err(Error::invalid(
                        "owner",
                        "you keep several comrades' shares: say whose",
                    ));
                }
            },
        };
        let kept = self
            .vault
            .with_conn(|conn| held_share(conn, &owner))?
            .ok_or(Error::NotFound { what: "a share" })?;
        let body = Zeroizing::new(
            serde_json::to_vec(&ShareBody {
                v: 1,
                plan: kept.plan,
                threshold: kept.threshold,
                count: kept.count,
                recipient: kept.recipient.clone(),
                share: data_encoding::BASE32_NOPAD.encode(&kept.bytes),
            })
            .map_err(|_| Error::DatabaseDamaged)?,
        );
        seal_bytes(&SealWith::Recipient(code.recipient.clone()), &body)
    }
}

/// The recovering member's side: a one-time key, kept (sealed with the
/// new vault's passphrase) until enough releases have come.
pub struct RecoveryRequest {
    identity: age::x25519::Identity,
}

impl std::fmt::Debug for RecoveryRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryRequest(<redacted>)")
    }
}

/// The backup key, rebuilt.
pub struct Recovered {
    /// Opens the automatic backups the plan's key sealed.
    pub opener: OpenWith,
    /// The releases (by their place in what was given) that were not
    /// shares of that key: a custodian who lied, or one of an older plan.
    pub set_aside: Vec<usize>,
}

impl std::fmt::Debug for Recovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recovered")
            .field("set_aside", &self.set_aside)
            .finish_non_exhaustive()
    }
}

impl Default for RecoveryRequest {
    fn default() -> Self {
        Self::new()
    }
}

impl RecoveryRequest {
    pub fn new() -> RecoveryRequest {
        RecoveryRequest {
            identity: age::x25519::Identity::generate(),
        }
    }

    pub fn code(&self) -> RequestCode {
        RequestCode {
            recipient: self.identity.to_public(),
        }
    }

    /// The request sealed with age to `passphrase`, to keep while
    /// custodians are met: whoever opens it can open their releases. The
    /// passphrase must be strong enough for a vault: it will be the new one's.
    pub fn save(&self, passphrase: &SecretString) -> Result<Vec<u8>> {
        crate::passphrase::check(passphrase.expose_secret(), &[])?;
        let text = Zeroizing::new(format!(
            "{SAVED_HEAD}{}\n",
            self.identity.to_string().expose_secret()
        ));
        seal_bytes(&SealWith::Passphrase(passphrase.clone()), text.as_bytes())
    }

    pub fn load(saved: &[u8], passphrase: &SecretString) -> Result<RecoveryRequest> {
        let text = open_bytes(
            saved,
            &OpenWith::Passphrase(passphrase.clone()),
            1024,
            "recovery request",
        )?;
        let damaged = || Error::invalid("recovery request", "is damaged");
        let text = std::str::from_utf8(&text).map_err(|_| damaged())?;
        let key = text.strip_prefix(SAVED_HEAD).ok_or_else(damaged)?;
        let identity = age::x25519::Identity::from_str(key.trim()).map_err(|_| damaged())?;
        Ok(RecoveryRequest { identity })
    }

    /// One custodian's release: `Error::WrongKey` when sealed to another
    /// request, `Invalid` when it is not a release.
    pub fn open_release(&self, release: &[u8]) -> Result<KeptShare> {
        let opener = OpenWith::Identity(self.identity.clone());
        let body = open_bytes(release, &opener, MAX_RELEASE_BYTES, "release")?;
        let (body, bytes) = ShareBody::parse(&body).ok_or(bad_release("is not a release"))?;
        Ok(KeptShare {
            plan: body.plan,
            threshold: body.threshold,
            count: body.count,
            recipient: body.recipient,
            bytes,
        })
    }

    /// The backup key from custodians' releases. Releases are grouped by
    /// the key they claim to be shares of, the largest group first; in a
    /// group, a share that does not fit the others is set aside, as long
    /// as `threshold` sound ones remain. Fewer: `Error::Invalid`.
    pub fn recover(&self, releases: &[Vec<u8>]) -> Result<Recovered> {
        let shares = releases
            .iter()
            .map(|r| self.open_release(r))
            .collect::<Result<Vec<_>>>()?;
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (i, share) in shares.iter().enumerate() {
            let same = |g: &&mut Vec<usize>| {
                let first = &shares[g[0]];
                (first.recipient.as_str(), first.threshold)
                    == (share.recipient.as_str(), share.threshold)
            };
            match groups.iter_mut().find(same) {
                Some(group) => group.push(i),
                None => groups.push(vec![i]),
            }
        }
        groups.sort_by_key(|g| std::cmp::Reverse(g.len()));
        let mut refused = Error::invalid("shares", "fewer than the threshold");
        for group in groups {
            let first = &shares[group[0]];
            match rebuild(&shares, &group, first.threshold, &first.recipient) {
                Ok((identity, sound)) => {
                    return Ok(Recovered {
                        opener: OpenWith::Identity(identity),
                        set_aside: (0..shares.len()).filter(|i| !sound.contains(i)).collect(),
                    });
                }
                Err(e) => refused = e,
            }
        }
        Err(refused)
    }
}

/// The key from the shares at `group`: all of them, or else the first set
/// of `threshold` that fits, with every other share that fits it too.
fn rebuild(
    shares: &[KeptShare],
    group: &[usize],
    threshold: u8,
    recipient: &str,
) -> Result<(age::x25519::Identity, Vec<usize>)> {
    let bytes = |pick: &[usize]| -> Vec<Vec<u8>> {
        pick.iter().map(|&i| shares[i].bytes.to_vec()).collect()
    };
    let all = recover(threshold, recipient, &bytes(group));
    let t = usize::from(threshold);
    if all.is_ok() || group.len() <= t {
        return all.map(|identity| (identity, group.to_vec()));
    }
    for pick in subsets(group, t) {
        if let Ok(identity) = recover(threshold, recipient, &bytes(&pick)) {
            let sound = group
                .iter()
                .copied()
                .filter(|i| {
                    let mut with = pick[..t - 1].to_vec();
                    with.push(*i);
                    pick.contains(i) || recover(threshold, recipient, &bytes(&with)).is_ok()
                })
                .collect();
            return Ok((identity, sound));
        }
    }
    all.map(|identity| (identity, group.to_vec()))
}

/// Every `k`-element subset of `items`, in order.
fn subsets(items: &[usize], k: usize) -> Vec<Vec<usize>> {
    if k == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for (i, &first) in items.iter().enumerate() {
        for mut rest in subsets(&items[i + 1..], k - 1) {
            rest.insert(0, first);
            out.push(rest);
        }
    }
    out
}

fn seal_bytes(with: &SealWith, bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut writer = sealed::seal(with, &mut out, "sealing")?;
    writer.write_all(bytes).map_err(Error::io("sealing"))?;
    writer.finish().map_err(Error::io("sealing"))?;
    Ok(out)
}

/// What `with` opens of `sealed`, at most `max` bytes; `what` names it in errors.
fn open_bytes(
    sealed: &[u8],
    with: &OpenWith,
    max: u64,
    what: &'static str,
) -> Result<Zeroizing<Vec<u8>>> {
    let damaged = || Error::invalid(what, "is damaged or cut short");
    let mut reader = sealed::open(sealed, with).map_err(|refused| match refused {
        Refused::WrongKey => Error::WrongKey,
        Refused::TooMuchWork => Error::invalid("passphrase", "work factor is too high"),
        Refused::Damaged => damaged(),
    })?;
    let mut out = Zeroizing::new(Vec::new());
    (&mut reader)
        .take(max + 1)
        .read_to_end(&mut out)
        .map_err(|_| damaged())?;
    if out.len() as u64 > max {
        return Err(Error::invalid(what, "is too large"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: &str = include_str!("../../../docs/vectors/custody-v1.json");

    fn identity_from(bytes: [u8; 32]) -> age::x25519::Identity {
        let text = bech32::encode_upper::<bech32::Bech32>(
            bech32::Hrp::parse_unchecked(super::super::AGE_SECRET_HRP),
            &bytes,
        )
        .unwrap();
        text.parse().unwrap()
    }

    /// A request and a backup key from fixed bytes; the shares and the
    /// release are random each time they are written, and checked by what
    /// they open to.
    fn vectors_now() -> serde_json::Value {
        let request = RecoveryRequest {
            identity: identity_from([0x42; 32]),
        };
        let backup_key = identity_from([0x07; 32]);
        let shares: Vec<String> = blahaj::Sharks(2)
            .dealer(&[0x07; 32])
            .take(3)
            .map(|s| data_encoding::BASE32_NOPAD.encode(&Vec::from(&s)))
            .collect();
        let body = serde_json::to_string(&ShareBody {
            v: 1,
            plan: "0192f0e4-7d3a-7c4e-9a1b-3f5e6d7c8b9a".parse().unwrap(),
            threshold: 2,
            count: 3,
            recipient: backup_key.to_public().to_string(),
            share: shares[0].clone(),
        })
        .unwrap();
        let release = seal_bytes(
            &SealWith::Recipient(request.code().recipient.clone()),
            body.as_bytes(),
        )
        .unwrap();
        serde_json::json!({
            "about": "Recovery through custodians; see docs/custody.md. The request's identity and the backup key are published here, so they protect nothing. The shares are any valid 2-of-3 dealing of the backup key's 32 bytes over GF(256) with the polynomial 0x11d; the release is the first share's body sealed with age to the request.",
            "request_identity": request.identity.to_string().expose_secret(),
            "request_code": request.code().to_text(),
            "backup_identity": backup_key.to_string().expose_secret(),
            "backup_recipient": backup_key.to_public().to_string(),
            "threshold": 2,
            "shares_base32": shares,
            "release_body": body,
            "release_base64": data_encoding::BASE64.encode(&release),
        })
    }

    #[test]
    fn the_checked_in_custody_vectors_hold() {
        let now = vectors_now();
        let Some(stored) = crate::bytes::checked_in_vectors("custody-v1.json", VECTORS, &now)
        else {
            return;
        };
        for exact in [
            "request_identity",
            "request_code",
            "backup_identity",
            "backup_recipient",
        ] {
            assert_eq!(stored[exact], now[exact], "{exact}");
        }
        let request = RecoveryRequest {
            identity: stored["request_identity"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap(),
        };
        assert_eq!(
            RequestCode::parse(stored["request_code"].as_str().unwrap()).unwrap(),
            request.code()
        );
        let release = data_encoding::BASE64
            .decode(stored["release_base64"].as_str().unwrap().as_bytes())
            .unwrap();
        let kept = request.open_release(&release).unwrap();
        let body: serde_json::Value =
            serde_json::from_str(stored["release_body"].as_str().unwrap()).unwrap();
        assert_eq!(
            data_encoding::BASE32_NOPAD.encode(&kept.bytes),
            body["share"].as_str().unwrap()
        );
        let shares: Vec<Vec<u8>> = stored["shares_base32"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                data_encoding::BASE32_NOPAD
                    .decode(s.as_str().unwrap().as_bytes())
                    .unwrap()
            })
            .collect();
        let recipient = stored["backup_recipient"].as_str().unwrap();
        for pair in [[0, 1], [1, 2], [0, 2]] {
            let two: Vec<Vec<u8>> = pair.iter().map(|&i| shares[i].clone()).collect();
            let key = recover(2, recipient, &two).unwrap();
            assert_eq!(
                key.to_string().expose_secret(),
                stored["backup_identity"].as_str().unwrap()
            );
        }
    }

    #[test]
    fn a_request_code_is_only_a_request_code() {
        let code = RecoveryRequest::new().code().to_text();
        assert!(code.starts_with("TENDC:"));
        assert!(!format!("{:?}", RecoveryRequest::new()).contains("AGE-SECRET"));
        for bad in [
            "TENDC:",
            "TENDM:AAAA",
            &code[..code.len() - 4],
            &format!("{code}AAAA"),
        ] {
            assert!(
                matches!(RequestCode::parse(bad), Err(Error::Invalid { .. })),
                "{bad}"
            );
        }
    }
}
