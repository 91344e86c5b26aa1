//! Card chains: whether a comrade's card extends the chain of theirs I
//! hold, and the identity conflict when two of their cards fork
//! (`docs/comrade-card.md`, "Card chains").

use std::collections::BTreeMap;

use super::card::{Card, chain_hash};

/// A comrade's cards as I took them: chain hash by number, a contiguous
/// run ending at the card I hold.
pub type Held = BTreeMap<u32, [u8; 32]>;

/// Digests of earlier cards one envelope carries, so a comrade who missed
/// this many of my cards still follows my chain.
pub const MAX_LINKS: usize = 32;

/// How many of a comrade's chain hashes I keep, to see a fork in an older card.
pub const HELD_HASHES: usize = 64;

/// What a chained card, with the digests of the cards before it, is to
/// the chain I hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// One I already hold, or too old to check against what I kept.
    Known,
    /// It extends my chain: these hashes, its own last, join what I hold.
    Extends(Vec<(u32, [u8; 32])>),
    /// Two cards at one number, or a card whose chain does not meet mine.
    Fork,
    /// Newer than mine by more cards than it carries digests of: it cannot
    /// be checked, and taking it unchecked is what a thief would want.
    Gap,
}

/// Judges `card` (chained) carrying `links`, the digests of the cards
/// numbered just before it. An empty `held` is a comrade whose card I hold
/// is version 1: their first chained card starts the chain.
pub fn judge(held: &Held, card: &Card, links: &[[u8; 32]]) -> Verdict {
    let (Some(link), Some(hash)) = (card.chain(), card.chain_hash()) else {
        return Verdict::Fork;
    };
    let n = link.seq;
    if let Some(kept) = held.get(&n) {
        return match *kept == hash {
            true => Verdict::Known,
            false => Verdict::Fork,
        };
    }
    let Some((&head, _)) = held.last_key_value() else {
        return Verdict::Extends(vec![(n, hash)]);
    };
    if n < head {
        // Older than all I kept (those in between would be in `held`).
        return Verdict::Known;
    }
    // Links cover numbers first..n; the anchor is the card I hold before them.
    let Some(first) = n.checked_sub(links.len() as u32).filter(|&f| f >= 1) else {
        return Verdict::Fork;
    };
    if head + 1 < first {
        return Verdict::Gap;
    }
    let mut at = held[&head];
    let mut joined = Vec::with_capacity((n - head) as usize);
    for seq in head + 1..n {
        at = chain_hash(seq, &at, &links[(seq - first) as usize]);
        joined.push((seq, at));
    }
    if link.prev != at {
        return Verdict::Fork;
    }
    joined.push((n, hash));
    Verdict::Extends(joined)
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use ed25519_dalek::SigningKey;

    use super::super::card::ChainLink;
    use super::super::keys::EncryptionSecret;
    use super::*;

    /// Cards 1..=n of one chain, with `name` on the last.
    fn chain(n: u32, last_name: &str) -> Vec<Card> {
        let mut cards = Vec::new();
        for seq in 1..=n {
            let name = if seq == n { last_name } else { "Alice" };
            cards.push(next(&cards, name));
        }
        cards
    }

    /// The card after `cards`, named `name`.
    fn next(cards: &[Card], name: &str) -> Card {
        let signing = SigningKey::from_bytes(&[7; 32]);
        let key = EncryptionSecret::from_bytes(&[9; 32]).unwrap().public();
        let prev = cards.last().map_or([0; 32], |c| c.chain_hash().unwrap());
        let seq = cards.len() as u32 + 1;
        let issued = DateTime::from_timestamp(1_790_000_000 + i64::from(seq), 0).unwrap();
        let link = ChainLink { seq, prev };
        Card::issue(&signing, key.into(), name, None, issued, Some(link)).unwrap()
    }

    fn held(cards: &[Card]) -> Held {
        cards
            .iter()
            .map(|c| (c.chain().unwrap().seq, c.chain_hash().unwrap()))
            .collect()
    }

    fn digests(cards: &[Card]) -> Vec<[u8; 32]> {
        cards.iter().map(Card::digest).collect()
    }

    #[test]
    fn a_card_carrying_the_digests_i_missed_extends_my_chain() {
        let cards = chain(6, "Alice");
        let mine = held(&cards[..2]);
        let verdict = judge(&mine, &cards[5], &digests(&cards[1..5]));
        let expected: Vec<_> = held(&cards[2..]).into_iter().collect();
        assert_eq!(verdict, Verdict::Extends(expected));
        assert_eq!(
            judge(&mine, &cards[2], &[]),
            Verdict::Extends(vec![(3, cards[2].chain_hash().unwrap())]),
            "the next card needs no digests"
        );
    }

    #[test]
    fn a_card_i_hold_or_an_older_one_is_known() {
        let cards = chain(4, "Alice");
        let mine = held(&cards[1..]);
        assert_eq!(judge(&mine, &cards[3], &[]), Verdict::Known);
        assert_eq!(judge(&mine, &cards[1], &[]), Verdict::Known);
        assert_eq!(
            judge(&mine, &cards[0], &[]),
            Verdict::Known,
            "older than I kept"
        );
    }

    #[test]
    fn two_cards_at_one_number_or_chains_that_do_not_meet_fork() {
        let cards = chain(4, "Alice");
        let other = chain(4, "Mallory");
        let mine = held(&cards);
        assert_eq!(judge(&mine, &other[3], &[]), Verdict::Fork, "same number");
        // A thief's card 4 and 5 after the genuine 3; I hold the genuine 4.
        let mut theirs = cards[..3].to_vec();
        theirs.push(next(&theirs, "Mallory"));
        let five = next(&theirs, "Mallory");
        assert_eq!(judge(&mine, &five, &digests(&theirs)), Verdict::Fork);
        // I hold only up to 3: the thief's 5 extends it, and then the genuine 4 forks.
        let Verdict::Extends(joined) = judge(&held(&cards[..3]), &five, &digests(&theirs)) else {
            panic!("the thief's chain extends what I held")
        };
        let mut after: Held = held(&cards[..3]);
        after.extend(joined);
        assert_eq!(judge(&after, &cards[3], &[]), Verdict::Fork);
        // Wrong digests for what I missed: the chain does not meet mine.
        let six = chain(6, "Alice");
        assert_eq!(
            judge(&held(&six[..2]), &six[5], &[[1; 32]; 4]),
            Verdict::Fork
        );
    }

    #[test]
    fn a_card_further_ahead_than_its_digests_reach_is_a_gap() {
        let cards = chain(6, "Alice");
        let mine = held(&cards[..1]);
        assert_eq!(
            judge(&mine, &cards[5], &digests(&cards[2..5])),
            Verdict::Gap
        );
        assert_eq!(judge(&mine, &cards[5], &[]), Verdict::Gap);
    }

    #[test]
    fn a_first_chained_card_after_a_version_1_card_starts_the_chain() {
        let cards = chain(3, "Alice");
        assert_eq!(
            judge(&Held::new(), &cards[2], &[]),
            Verdict::Extends(vec![(3, cards[2].chain_hash().unwrap())])
        );
    }
}
