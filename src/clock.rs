//! Time as an input. Every component that needs "now" takes a `&dyn Clock`, so retention,
//! TTL and audit timestamps are testable with a fixed clock. Nothing else reads the system time.

use std::sync::atomic::{AtomicI64, Ordering};

pub use crate::model::UnixSecs;

pub trait Clock: Send + Sync {
    fn now(&self) -> UnixSecs;
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixSecs {
        chrono::Utc::now().timestamp()
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug, Default)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    pub fn new(t: UnixSecs) -> Self {
        FixedClock(AtomicI64::new(t))
    }
    pub fn set(&self, t: UnixSecs) {
        self.0.store(t, Ordering::SeqCst);
    }
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> UnixSecs {
        self.0.load(Ordering::SeqCst)
    }
}
