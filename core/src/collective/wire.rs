//! The bodies of `collective.*` envelopes (`docs/collective.md`,
//! "Envelopes"). Changes and cards travel as the bytes their authors
//! signed; they are checked when received, not here.

use std::collections::BTreeMap;

use super::change::{Change, CollectiveId, MAX_CHANGE_BYTES};
use crate::bytes::Reader;
use crate::envelope::EnvelopeError;
use crate::identity::{IdentityKey, MAX_CARD_BYTES};

const VERSION: u8 = 1;

/// Changes to one collective, the cards of the members they add, and how
/// many changes the sender holds (so a receiver who holds fewer asks).
pub(crate) struct Changes {
    pub collective: CollectiveId,
    pub held: u32,
    pub changes: Vec<Vec<u8>>,
    pub cards: Vec<Vec<u8>>,
}

/// What a member holds of a collective: for each author, how many of their
/// changes in a row; and the members whose cards they lack. The answer is
/// the changes beyond, and the cards.
pub(crate) struct Ask {
    pub collective: CollectiveId,
    pub heads: BTreeMap<IdentityKey, u64>,
    pub cards: Vec<IdentityKey>,
}

/// Changes in one body: a welcome carries the whole log, in one envelope
/// unless it is very long. The members' cards (at most 255 of 1 KiB) fit
/// beside them within `MAX_BODY_BYTES`.
pub(crate) const PART_BYTES: usize = 704 * 1024;

impl Changes {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![VERSION];
        out.extend_from_slice(&self.collective.0);
        out.extend_from_slice(&self.held.to_be_bytes());
        for list in [&self.changes, &self.cards] {
            out.extend_from_slice(&(list.len() as u16).to_be_bytes());
            for item in list {
                out.extend_from_slice(&(item.len() as u16).to_be_bytes());
                out.extend_from_slice(item);
            }
        }
        out
    }

    pub fn parse(body: &[u8]) -> Result<Changes, EnvelopeError> {
        let mut r = Reader::new(body, EnvelopeError::Malformed);
        let collective = header(&mut r)?;
        let held = r.u32()?;
        let changes = items(&mut r, MAX_CHANGE_BYTES)?;
        let cards = items(&mut r, MAX_CARD_BYTES)?;
        if !r.rest().is_empty() || changes.len() + cards.len() == 0 {
            return Err(EnvelopeError::Malformed);
        }
        Ok(Changes {
            collective,
            held,
            changes,
            cards,
        })
    }
}

/// `changes` cut into runs of at most [`PART_BYTES`] of change bytes, each
/// a body of its own; the cards a body carries go beside, within its limit.
pub(crate) fn parts(changes: &[Change]) -> Vec<&[Change]> {
    let mut parts = Vec::new();
    let (mut start, mut size) = (0, 0);
    for (i, change) in changes.iter().enumerate() {
        let len = change.as_bytes().len() + 2;
        if size + len > PART_BYTES && i > start {
            parts.push(&changes[start..i]);
            (start, size) = (i, 0);
        }
        size += len;
    }
    if start < changes.len() {
        parts.push(&changes[start..]);
    }
    parts
}

impl Ask {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![VERSION];
        out.extend_from_slice(&self.collective.0);
        out.extend_from_slice(&(self.heads.len() as u32).to_be_bytes());
        for (author, seq) in &self.heads {
            out.extend_from_slice(author.as_bytes());
            out.extend_from_slice(&seq.to_be_bytes());
        }
        out.extend_from_slice(&(self.cards.len() as u16).to_be_bytes());
        for key in &self.cards {
            out.extend_from_slice(key.as_bytes());
        }
        out
    }

    pub fn parse(body: &[u8]) -> Result<Ask, EnvelopeError> {
        let mut r = Reader::new(body, EnvelopeError::Malformed);
        let collective = header(&mut r)?;
        let n = r.u32()? as usize;
        if n > r.rest().len() / 40 {
            return Err(EnvelopeError::Malformed);
        }
        let mut heads = BTreeMap::new();
        for _ in 0..n {
            heads.insert(IdentityKey(r.array()?), r.u64()?);
        }
        let wanted = r.u16()?;
        let cards = (0..wanted)
            .map(|_| r.array().map(IdentityKey))
            .collect::<Result<Vec<_>, _>>()?;
        if !r.rest().is_empty() || heads.len() != n {
            return Err(EnvelopeError::Malformed);
        }
        Ok(Ask {
            collective,
            heads,
            cards,
        })
    }
}

fn header(r: &mut Reader<'_, EnvelopeError>) -> Result<CollectiveId, EnvelopeError> {
    match r.u8()? {
        VERSION => Ok(CollectiveId(r.array()?)),
        other => Err(EnvelopeError::UnsupportedVersion(other)),
    }
}

fn items(r: &mut Reader<'_, EnvelopeError>, max: usize) -> Result<Vec<Vec<u8>>, EnvelopeError> {
    let n = r.u16()?;
    let mut items = Vec::with_capacity(usize::from(n).min(r.rest().len() / 2));
    for _ in 0..n {
        let len = usize::from(r.u16()?);
        if len > max {
            return Err(EnvelopeError::TooLarge {
                size: len as u64,
                max: max as u64,
            });
        }
        items.push(r.take(len)?.to_vec());
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_and_every_cut_is_refused() {
        let body = Changes {
            collective: CollectiveId([7; 16]),
            held: 3,
            changes: vec![vec![1; 130], vec![2; 200]],
            cards: vec![vec![3; 300]],
        }
        .to_bytes();
        let parsed = Changes::parse(&body).unwrap();
        assert_eq!((parsed.held, parsed.changes.len()), (3, 2));
        assert_eq!(parsed.cards, vec![vec![3; 300]]);
        for cut in 0..body.len() {
            assert!(Changes::parse(&body[..cut]).is_err(), "cut at {cut}");
        }
        let ask = Ask {
            collective: CollectiveId([7; 16]),
            heads: [(IdentityKey([9; 32]), 4)].into(),
            cards: vec![IdentityKey([8; 32])],
        }
        .to_bytes();
        assert_eq!(Ask::parse(&ask).unwrap().heads[&IdentityKey([9; 32])], 4);
        for cut in 0..ask.len() {
            assert!(Ask::parse(&ask[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn an_item_over_its_limit_is_too_large() {
        let mut body = vec![VERSION];
        body.extend_from_slice(&[0; 16]);
        body.extend_from_slice(&0u32.to_be_bytes());
        body.extend_from_slice(&1u16.to_be_bytes());
        body.extend_from_slice(&u16::MAX.to_be_bytes());
        body.extend(vec![0; usize::from(u16::MAX)]);
        assert!(matches!(
            Changes::parse(&body),
            Err(EnvelopeError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_long_log_goes_in_parts_each_within_the_limit() {
        let signing = ed25519_dalek::SigningKey::from_bytes(&[4; 32]);
        let text = "x".repeat(crate::collective::MAX_AGREEMENTS_BYTES);
        let changes: Vec<Change> = (1..=100)
            .map(|n| {
                let op = crate::collective::Op::Agreements {
                    version: n as u32,
                    major: false,
                    text: text.clone(),
                };
                Change::sign(&signing, CollectiveId([1; 16]), n, n, op).unwrap()
            })
            .collect();
        let parts = parts(&changes);
        assert!(parts.len() >= 3, "{}", parts.len());
        assert_eq!(parts.iter().map(|p| p.len()).sum::<usize>(), 100);
        let bytes = |p: &[Change]| p.iter().map(|c| c.as_bytes().len() + 2).sum::<usize>();
        assert!(parts.iter().all(|p| bytes(p) <= PART_BYTES));
    }
}
