//! A pool of numbered resources (addresses, prefixes, CGNAT port blocks): O(1) random take,
//! take of a given item, and release. A share of takes reuses the most recently released item,
//! so the same address passes from one subscriber to another within seconds, as on a busy
//! RADIUS pool — that is what exercises tdr's boundary handling.

use rand::Rng;
use std::collections::VecDeque;

const NOT_FREE: u32 = u32::MAX;
const RECENT_CAP: usize = 64;

pub struct Pool {
    /// The free items, in no particular order.
    free: Vec<u32>,
    /// `pos[item]` is the item's index in `free`, or `NOT_FREE`.
    pos: Vec<u32>,
    /// Recently released items, newest last; entries may since have been taken again.
    recent: VecDeque<u32>,
}

impl Pool {
    /// A pool of items `0..n`, all free.
    pub fn new(n: u32) -> Self {
        Pool {
            free: (0..n).collect(),
            pos: (0..n).collect(),
            recent: VecDeque::with_capacity(RECENT_CAP),
        }
    }

    #[cfg(test)]
    pub fn free_count(&self) -> usize {
        self.free.len()
    }

    pub fn is_free(&self, item: u32) -> bool {
        self.pos.get(item as usize).is_some_and(|&p| p != NOT_FREE)
    }

    fn remove_at(&mut self, idx: usize) -> u32 {
        let item = self.free.swap_remove(idx);
        if let Some(&moved) = self.free.get(idx) {
            self.pos[moved as usize] = idx as u32;
        }
        self.pos[item as usize] = NOT_FREE;
        item
    }

    /// Takes `item` if it is free.
    pub fn take_specific(&mut self, item: u32) -> bool {
        if !self.is_free(item) {
            return false;
        }
        let idx = self.pos[item as usize] as usize;
        self.remove_at(idx);
        true
    }

    /// Takes a free item: with probability `quick_reuse` the most recently released one,
    /// otherwise a random one; never `avoid` unless it is the only free item.
    pub fn take<R: Rng>(
        &mut self,
        rng: &mut R,
        quick_reuse: f64,
        avoid: Option<u32>,
    ) -> Option<u32> {
        if self.free.is_empty() {
            return None;
        }
        if quick_reuse > 0.0 && rng.gen_bool(quick_reuse) {
            while let Some(item) = self.recent.pop_back() {
                if Some(item) != avoid && self.take_specific(item) {
                    return Some(item);
                }
            }
        }
        let mut idx = rng.gen_range(0..self.free.len());
        if Some(self.free[idx]) == avoid && self.free.len() > 1 {
            idx = (idx + 1) % self.free.len();
        }
        Some(self.remove_at(idx))
    }

    /// Returns `item` to the pool (no-op if it is already free).
    pub fn release(&mut self, item: u32) {
        if self.is_free(item) || item as usize >= self.pos.len() {
            return;
        }
        self.pos[item as usize] = self.free.len() as u32;
        self.free.push(item);
        if self.recent.len() == RECENT_CAP {
            self.recent.pop_front();
        }
        self.recent.push_back(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn takes_each_item_once_until_released() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut pool = Pool::new(50);
        let mut taken = Vec::new();
        while let Some(i) = pool.take(&mut rng, 0.3, None) {
            assert!(!taken.contains(&i));
            taken.push(i);
        }
        assert_eq!(taken.len(), 50);
        pool.release(taken[3]);
        pool.release(taken[3]);
        assert_eq!(pool.free_count(), 1);
        assert_eq!(pool.take(&mut rng, 1.0, None), Some(taken[3]));
    }

    #[test]
    fn quick_reuse_prefers_newest_and_honours_avoid() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut pool = Pool::new(10);
        for i in 0..10 {
            assert!(pool.take_specific(i));
        }
        pool.release(4);
        pool.release(6);
        assert_eq!(pool.take(&mut rng, 1.0, Some(6)), Some(4));
        assert_eq!(pool.take(&mut rng, 1.0, Some(6)), Some(6));
        assert_eq!(pool.take(&mut rng, 1.0, None), None);
    }
}
