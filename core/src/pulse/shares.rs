//! Additive secret sharing modulo a prime: an answer is split into random
//! shares that sum to it, one per tallier; any shares but all of them are
//! uniformly random, and sums of shares add up to sums of answers.

use rand::Rng;
use zeroize::Zeroizing;

/// The Mersenne prime 2^61 − 1: sums of two values below it fit a `u64`.
pub(crate) const P: u64 = (1 << 61) - 1;
/// Green, yellow, red, how many gave a mood, and the sum of the moods.
pub(crate) const WIDTH: usize = 5;
pub(crate) type Vector = [u64; WIDTH];

pub(crate) fn add(a: &Vector, b: &Vector) -> Vector {
    std::array::from_fn(|i| (a[i] + b[i]) % P)
}

fn sub(a: &Vector, b: &Vector) -> Vector {
    std::array::from_fn(|i| (a[i] + P - b[i]) % P)
}

/// `answer` as `n` shares: `n − 1` drawn at random, the last what makes
/// them sum to it.
pub(crate) fn split(answer: &Vector, n: usize) -> Vec<Zeroizing<Vector>> {
    let mut rng = rand::rngs::OsRng;
    let mut shares: Vec<Zeroizing<Vector>> = (1..n)
        .map(|_| Zeroizing::new(std::array::from_fn(|_| rng.gen_range(0..P))))
        .collect();
    let drawn = shares.iter().fold([0; WIDTH], |acc, s| add(&acc, s));
    shares.push(Zeroizing::new(sub(answer, &drawn)));
    shares
}

/// Every value is below the prime: what a share or a sum must be.
pub(crate) fn fits(v: &Vector) -> bool {
    v.iter().all(|&x| x < P)
}

/// What the totals say, once they pass every check an honest count
/// passes: the colours add up to the answers, moods are on the scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub green: u64,
    pub yellow: u64,
    pub red: u64,
    pub moods: u64,
    pub mood_sum: u64,
}

/// A total over `answers` answers on a scale of `steps`, checked; `None`
/// when it cannot be one (a tallier counted a share it did not hold, or
/// lied: the result is then random, and passes with probability ~2^-61).
pub(crate) fn counts(total: &Vector, answers: u64, steps: u8) -> Option<Counts> {
    let [green, yellow, red, moods, mood_sum] = *total;
    let colours = green.checked_add(yellow)?.checked_add(red)?;
    let fits = colours == answers
        && moods <= answers
        && mood_sum >= moods
        && mood_sum <= moods.checked_mul(u64::from(steps))?;
    fits.then_some(Counts {
        green,
        yellow,
        red,
        moods,
        mood_sum,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_sum_to_the_answer_and_sums_of_shares_to_the_total() {
        let answers: Vec<Vector> = (0..40u64)
            .map(|i| {
                let mut v = [0; WIDTH];
                v[(i % 3) as usize] = 1;
                if i % 4 != 0 {
                    v[3] = 1;
                    v[4] = 1 + i % 5;
                }
                v
            })
            .collect();
        let split: Vec<_> = answers.iter().map(|a| split(a, 3)).collect();
        for (a, s) in answers.iter().zip(&split) {
            assert!(s.iter().all(|s| fits(s)));
            assert_eq!(s.iter().fold([0; WIDTH], |acc, s| add(&acc, s)), *a);
        }
        let per_tallier: Vec<Vector> = (0..3)
            .map(|t| split.iter().fold([0; WIDTH], |acc, s| add(&acc, &s[t])))
            .collect();
        let total = per_tallier.iter().fold([0; WIDTH], |acc, s| add(&acc, s));
        let expected = answers.iter().fold([0; WIDTH], |acc, a| add(&acc, a));
        assert_eq!(total, expected);
        let c = counts(&total, 40, 5).unwrap();
        assert_eq!((c.green, c.yellow, c.red, c.moods), (14, 13, 13, 30));
    }

    #[test]
    fn a_total_missing_one_share_fails_its_checks() {
        let answer = [0, 1, 0, 1, 3];
        let shares = split(&answer, 3);
        let missing = add(&shares[0], &shares[1]);
        assert_eq!(
            counts(&add(&missing, &shares[2]), 1, 5).map(|c| c.yellow),
            Some(1)
        );
        assert_eq!(counts(&missing, 1, 5), None);
        assert_eq!(counts(&[1, 0, 0, 1, 6], 1, 5), None, "mood above the scale");
        assert_eq!(
            counts(&[1, 0, 0, 0, 0], 2, 5),
            None,
            "colours short of the answers"
        );
        assert_eq!(counts(&[u64::MAX, 1, 0, 0, 0], 0, 5), None);
    }
}
