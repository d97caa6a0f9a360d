//! Syslog header times resolved to UTC with a cache, for line parsers that read thousands of
//! lines per second of the same few seconds: the last header time resolved, and for RFC 3164
//! headers (no year, local time) the UTC time of the hour they fall in when all of that hour
//! maps to it with one year and one offset. Pure: the stream's zone and reference time come
//! from the [`Context`].

use crate::common::syslog::HeaderTime;
use crate::model::UnixSecs;
use crate::{Context, ParseError};

/// One stream's header-time cache.
#[derive(Debug, Default)]
pub struct HeaderClock {
    last: Option<(HeaderTime, Result<UnixSecs, ParseError>)>,
    /// The last RFC 3164 (month, day, hour) looked at, and `base` when every second of it
    /// maps to `base + mm * 60 + ss`.
    hour: Option<((u32, u32, u32), Option<UnixSecs>)>,
}

impl HeaderClock {
    /// Forgets what depends on the reference time (call when it moves).
    pub fn reset(&mut self) {
        *self = HeaderClock::default();
    }

    /// `ht` in UTC, as [`HeaderTime::resolve`] answers it.
    pub fn resolve(&mut self, ht: HeaderTime, ctx: &Context) -> Result<UnixSecs, ParseError> {
        if let Some((k, r)) = &self.last {
            if *k == ht {
                return r.clone();
            }
        }
        if let HeaderTime::NoYear {
            month,
            day,
            hms: (h, m, s),
        } = ht
        {
            if s < 60 {
                if let Some(base) = self.hour_base(month, day, h, ctx) {
                    return Ok(base + i64::from(m * 60 + s));
                }
            }
        }
        let r = ht.resolve(ctx);
        self.last = Some((ht, r.clone()));
        r
    }

    /// The UTC time of `hh:00:00` on that day when all of the hour resolves with one year and
    /// one offset (its first and last second are exactly 3599 s apart, and the same hour a
    /// year later is past the reference, so no second of it could pick a later year).
    fn hour_base(&mut self, month: u32, day: u32, hour: u32, ctx: &Context) -> Option<UnixSecs> {
        if let Some((k, base)) = self.hour {
            if k == (month, day, hour) {
                return base;
            }
        }
        let at = |m, s| {
            HeaderTime::NoYear {
                month,
                day,
                hms: (hour, m, s),
            }
            .resolve(ctx)
            .ok()
        };
        let limit = ctx.reference.saturating_add(86_400);
        let base = match (at(0, 0), at(59, 59)) {
            (Some(t0), Some(t1)) if t1 - t0 == 3599 && t0 + 364 * 86_400 > limit => Some(t0),
            _ => None,
        };
        self.hour = Some(((month, day, hour), base));
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The cache answers exactly what the full year inference answers, also around DST
        /// changes, year ends and the reference time.
        #[test]
        fn agrees_with_resolve(
            times in proptest::collection::vec(
                (prop_oneof![Just(3u32), Just(10), Just(12), Just(1), Just(2)], 1u32..32, 0u32..24, 0u32..60, 0u32..61),
                1..40),
            reference in 1_790_000_000i64..1_830_000_000,
        ) {
            let mut c = Context::new("t", reference);
            c.tz = Some("Europe/Stockholm".parse().unwrap());
            let mut clock = HeaderClock::default();
            for (month, day, h, m, s) in times {
                let ht = HeaderTime::NoYear { month, day, hms: (h, m, s) };
                prop_assert_eq!(clock.resolve(ht, &c), ht.resolve(&c), "{:?}", ht);
            }
        }
    }
}
