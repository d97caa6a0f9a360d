//! The simulation's agenda: actions keyed by whole seconds, handed out one second at a time in
//! scheduling order — the same order as a binary heap on (time, sequence), but a ring of
//! one-second buckets for the near future (where nearly all actions land: interims, renews,
//! reconnects) and a heap only for the far future, which keeps tens of millions of actions
//! cheap.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

pub struct Calendar<T> {
    /// `ring[t % len]` holds the actions at second `t` for `now <= t < now + len`.
    ring: Vec<Vec<(u64, T)>>,
    in_ring: usize,
    far: BinaryHeap<Reverse<(i64, u64, T)>>,
    now: i64,
    seq: u64,
}

impl<T: Ord + Copy> Calendar<T> {
    /// An empty agenda starting at second `start`, with a ring of `horizon` seconds.
    pub fn new(start: i64, horizon: usize) -> Self {
        Calendar {
            ring: (0..horizon.max(1)).map(|_| Vec::new()).collect(),
            in_ring: 0,
            far: BinaryHeap::new(),
            now: start,
            seq: 0,
        }
    }

    fn slot(&self, t: i64) -> usize {
        t.rem_euclid(self.ring.len() as i64) as usize
    }

    /// Schedules `item` at second `t` (a time in the past is taken as now).
    pub fn push(&mut self, t: i64, item: T) {
        let t = t.max(self.now);
        self.seq += 1;
        if t < self.now + self.ring.len() as i64 {
            let slot = self.slot(t);
            self.ring[slot].push((self.seq, item));
            self.in_ring += 1;
        } else {
            self.far.push(Reverse((t, self.seq, item)));
        }
    }

    /// Moves the actions of the earliest second that has any into `out` (in scheduling
    /// order) and returns that second; `None` when nothing is left. Actions scheduled for the
    /// returned second while handling `out` come in the next batch.
    pub fn next_batch(&mut self, out: &mut Vec<(u64, T)>) -> Option<i64> {
        out.clear();
        loop {
            if self.in_ring == 0 {
                let Reverse((t, _, _)) = self.far.peek()?;
                self.now = self.now.max(*t);
            }
            let slot = self.slot(self.now);
            while let Some(Reverse((t, seq, item))) = self.far.peek().copied() {
                if t != self.now {
                    break;
                }
                self.far.pop();
                self.ring[slot].push((seq, item));
                self.in_ring += 1;
            }
            if !self.ring[slot].is_empty() {
                std::mem::swap(out, &mut self.ring[slot]);
                self.in_ring -= out.len();
                out.sort_unstable_by_key(|&(seq, _)| seq);
                return Some(self.now);
            }
            self.now += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn hands_out_in_heap_order() {
        let mut rng = StdRng::seed_from_u64(5);
        let mut cal = Calendar::new(100, 16);
        let mut heap = BinaryHeap::new();
        let mut seq = 0u64;
        let mut now = 100;
        let mut batch = Vec::new();
        for _ in 0..20 {
            for _ in 0..rng.gen_range(0..30) {
                let t = now + rng.gen_range(0..40);
                let item = rng.gen_range(0..1000u32);
                cal.push(t, item);
                seq += 1;
                heap.push(Reverse((t, seq, item)));
            }
            let Some(t) = cal.next_batch(&mut batch) else {
                continue;
            };
            now = t;
            for &(s, item) in &batch {
                assert_eq!(heap.pop(), Some(Reverse((t, s, item))));
            }
        }
        while let Some(t) = cal.next_batch(&mut batch) {
            for &(s, item) in &batch {
                assert_eq!(heap.pop(), Some(Reverse((t, s, item))));
            }
        }
        assert!(heap.is_empty());
    }
}
