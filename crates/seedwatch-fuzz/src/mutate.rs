//! Mutations that find what breaks decoders of length-prefixed and text formats: bit flips,
//! interesting bytes and integers, varint tampering, cut and repeated ranges, splices of two
//! inputs.

/// Makes new inputs from corpus entries.
#[derive(Debug)]
pub struct Mutator {
    rng: fastrand::Rng,
    /// Largest input made.
    max_len: usize,
}

const INTERESTING: [u8; 12] = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x1a, 0x22, b'{', b'"', b':'];

impl Mutator {
    /// A mutator seeded for repeatable runs.
    pub fn new(seed: u64, max_len: usize) -> Self {
        Mutator { rng: fastrand::Rng::with_seed(seed), max_len }
    }

    /// A random corpus index.
    pub fn pick(&mut self, len: usize) -> usize {
        self.rng.usize(..len.max(1))
    }

    /// `input` changed by one to eight mutations; `other` may be spliced in.
    pub fn mutate(&mut self, input: &[u8], other: &[u8]) -> Vec<u8> {
        let mut out = input.to_vec();
        for _ in 0..self.rng.usize(1..=8) {
            self.once(&mut out, other);
        }
        out.truncate(self.max_len);
        out
    }

    fn once(&mut self, out: &mut Vec<u8>, other: &[u8]) {
        let r = &mut self.rng;
        if out.is_empty() {
            out.extend((0..r.usize(1..16)).map(|_| r.u8(..)));
            return;
        }
        let at = r.usize(..out.len());
        match r.u8(..12) {
            0 => out[at] ^= 1 << r.u8(..8),
            1 => out[at] = INTERESTING[r.usize(..INTERESTING.len())],
            2 => out[at] = r.u8(..),
            // A varint made longer, larger or endless: lengths and tags are varints.
            3 => {
                let n = r.usize(1..=10);
                out.splice(at..at, std::iter::repeat_n(0xff, n));
            }
            4 => {
                let end = (at + r.usize(1..=16)).min(out.len());
                out.drain(at..end);
            }
            5 if r.bool() => out.truncate(at),
            6 => {
                let end = (at + r.usize(1..=64)).min(out.len());
                let copy = out[at..end].to_vec();
                let to = r.usize(..=out.len());
                out.splice(to..to, copy.iter().copied().cycle().take(copy.len() * r.usize(1..=4)));
            }
            7 if !other.is_empty() => {
                let from = r.usize(..other.len());
                let end = (from + r.usize(1..=256)).min(other.len());
                out.splice(at..at, other[from..end].iter().copied());
            }
            8 => {
                let big = [0u8, 0x7f, 0xff, 0x80].map(|b| b.to_le_bytes()[0]);
                let len = r.usize(1..=8).min(out.len() - at);
                let v = big[r.usize(..big.len())];
                out[at..at + len].fill(v);
            }
            9 | 10 => {
                let byte = r.u8(..);
                out.insert(at, byte);
            }
            _ => out[at] = out[at].wrapping_add(r.u8(1..=3)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_change_inputs_and_stay_bounded() {
        let mut m = Mutator::new(1, 64);
        let input = b"hello, protobuf and json".to_vec();
        let mut changed = 0;
        for _ in 0..1000 {
            let out = m.mutate(&input, b"other bytes");
            assert!(out.len() <= 64);
            changed += usize::from(out != input);
        }
        assert!(changed > 900, "{changed}");
        assert_eq!(Mutator::new(7, 64).mutate(&input, b""), Mutator::new(7, 64).mutate(&input, b""), "repeatable");
    }
}
