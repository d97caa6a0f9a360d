//! Every key of the `meta` family, and its value: the builders and the parsers, so the key
//! layout is written down once. The first byte of a key says what it is:
//!
//! * `schema`                           → schema version (u32 BE)
//! * `C` ‖ source ‖ 0 ‖ file id         → `tdr import` checkpoint of a file
//! * `F` ‖ source ‖ 0 ‖ device ‖ inode  → `tdr serve` checkpoint of a followed file
//!   (`F` ‖ source ‖ 0 ‖ 0xff ‖ fingerprint: one kept for the copy a rotation made)
//! * `N` ‖ source                       → frames `tdr serve` committed (u64 BE)
//! * `W`                                → the watermark: newest event time applied (i64 BE)
//! * `w` ‖ source ‖ 0 ‖ NAS             → one clock's newest event time (i64 BE)
//! * `R` ‖ NAS (length-prefixed) ‖ time ‖ source → a NAS reboot (empty value); a key without
//!   the source (written by an older tdr) holds for every source
//! * `V`/`v` ‖ day (i32 BE) ‖ source    → minute coverage of addresses / NAT (23 u64 LE, ORed)
//! * `Q` ‖ prefix length                → an IPv6 prefix length seen (empty value)
//! * `Z`                                → the widest NAT port block seen (u16 BE)
//! * `D` ‖ source ‖ 0 ‖ time (i64 BE) ‖ digest → a RADIUS request committed at `time` (empty
//!   value): the duplicate cache of the accounting server, kept for its window, so a request
//!   committed before a crash and retransmitted after it is answered, not stored again
//! * `policy`                           → the retention policy, as text ([`policy_text`])
//! * `policy.sig`                       → its signature by the appliance's key

use super::binding::{put_str, Reader};
use super::{Families, Family, StoreError};
use crate::model::{Domain, UnixSecs};

pub const SCHEMA: &[u8] = b"schema";
pub const CHECKPOINT: u8 = b'C';
pub const FILE: u8 = b'F';
pub const FRAMES: u8 = b'N';
pub const WATERMARK: &[u8] = b"W";
pub const CLOCK_MARK: u8 = b'w';
pub const REBOOT: u8 = b'R';
pub const COVERAGE: u8 = b'V';
/// Coverage of NAT producers (CGNAT port blocks, NAT64/NAT44 mappings), apart from addresses.
pub const NAT_COVERAGE: u8 = b'v';
pub const PREFIX_LEN: u8 = b'Q';
pub const NAT_SPAN: &[u8] = b"Z";
pub const POLICY: &[u8] = b"policy";
pub const RADIUS_SEEN: u8 = b'D';
pub const POLICY_SIG: &[u8] = b"policy.sig";
/// `X` ‖ h16: a subject's erasures ([`super::subject`]).
pub const ERASURE: u8 = b'X';
/// Present once every binding has its subscriber-index entries (a store made before the
/// index gets them on its first read-write open).
pub const SUBJECT_INDEX: &[u8] = b"subject_index";

/// The retention policy as stored and signed: one `class=period` a line, in class order.
pub fn policy_text(r: &crate::config::Retention) -> String {
    crate::model::Class::ALL
        .iter()
        .map(|c| format!("{}={}\n", c.as_str(), r.of(*c)))
        .collect()
}

/// The policy back from its text; `None` if it is not one.
pub fn parse_policy(text: &str) -> Option<crate::config::Retention> {
    use crate::config::Period;
    let get = |class: &str| -> Option<Period> {
        text.lines()
            .find_map(|l| l.strip_prefix(class)?.strip_prefix('='))
            .and_then(Period::parse)
    };
    Some(crate::config::Retention {
        security: get("security")?,
        billing: get("billing")?,
        statutory: get("statutory")?,
    })
}

/// Words of a day's minute bitmap (1 440 minutes).
pub const COVERAGE_WORDS: usize = 23;

/// A meta record: key and value.
pub type MetaRecord = (Vec<u8>, Vec<u8>);

/// `tdr import`'s checkpoint of the file `file_id` of `source`.
pub fn checkpoint_key(source: &str, file_id: &[u8]) -> Vec<u8> {
    let mut k = vec![CHECKPOINT];
    k.extend_from_slice(source.as_bytes());
    k.push(0);
    k.extend_from_slice(file_id);
    k
}

/// Where `tdr serve` keeps the checkpoints of source `source`'s files (followed by the file's
/// device and inode).
pub fn file_checkpoint_prefix(source: &str) -> Vec<u8> {
    let mut k = vec![FILE];
    k.extend_from_slice(source.as_bytes());
    k.push(0);
    k
}

/// `tdr serve`'s checkpoint of the file at (`dev`, `ino`).
pub fn file_checkpoint_key(source: &str, dev: u64, ino: u64) -> Vec<u8> {
    let mut k = file_checkpoint_prefix(source);
    k.extend_from_slice(&dev.to_be_bytes());
    k.extend_from_slice(&ino.to_be_bytes());
    k
}

/// A checkpoint of content no longer at its inode (a truncated file), kept for the copy that
/// rotation made of it, by the content's fingerprint.
pub fn file_archive_key(source: &str, fingerprint: &[u8; 16]) -> Vec<u8> {
    let mut k = file_checkpoint_prefix(source);
    k.push(0xff);
    k.extend_from_slice(fingerprint);
    k
}

/// Where the RADIUS listener `source` keeps the requests it committed, by time.
pub fn radius_seen_prefix(source: &str) -> Vec<u8> {
    let mut k = vec![RADIUS_SEEN];
    k.extend_from_slice(source.as_bytes());
    k.push(0);
    k
}

/// The record of a RADIUS request of listener `source`, committed at `t`, by its digest.
pub fn radius_seen_key(source: &str, t: UnixSecs, digest: &[u8; 16]) -> Vec<u8> {
    let mut k = radius_seen_prefix(source);
    k.extend_from_slice(&t.to_be_bytes());
    k.extend_from_slice(digest);
    k
}

/// The time and digest of a [`radius_seen_key`] (after its prefix).
pub fn decode_radius_seen(rest: &[u8]) -> Option<(UnixSecs, [u8; 16])> {
    if rest.len() != 24 {
        return None;
    }
    let t = UnixSecs::from_be_bytes(rest[..8].try_into().ok()?);
    Some((t, rest[8..].try_into().ok()?))
}

/// The count of frames (records) of `source` committed so far by `tdr serve`.
pub fn frames_key(source: &str) -> Vec<u8> {
    let mut k = vec![FRAMES];
    k.extend_from_slice(source.as_bytes());
    k
}

/// The newest event time of the clock of (`source`, `nas`).
pub fn clock_mark_key(source: &str, nas: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + source.len() + nas.len());
    k.push(CLOCK_MARK);
    k.extend_from_slice(source.as_bytes());
    k.push(0);
    k.extend_from_slice(nas.as_bytes());
    k
}

/// A prefix length seen.
pub fn prefix_len_key(plen: u8) -> [u8; 2] {
    [PREFIX_LEN, plen]
}

/// The minute bitmap of `source` in UTC day `day`, of one domain (with `source` empty: the
/// prefix of every source's bitmap of that day).
pub fn coverage_key(day: i64, domain: Domain, source: &str) -> Vec<u8> {
    let mut k = vec![match domain {
        Domain::Address => COVERAGE,
        Domain::Nat => NAT_COVERAGE,
    }];
    k.extend_from_slice(&(day as i32).to_be_bytes());
    k.extend_from_slice(source.as_bytes());
    k
}

/// A reboot of `nas` reported by `source`.
pub fn reboot_key(nas: &str, source: &str, t: UnixSecs) -> Vec<u8> {
    let mut k = vec![REBOOT];
    put_str(&mut k, nas);
    k.extend_from_slice(&t.to_be_bytes());
    k.extend_from_slice(source.as_bytes());
    k
}

/// (NAS, source, time) of a reboot key; the source is "" in a key written without one.
pub fn decode_reboot_key(k: &[u8]) -> Option<(String, String, UnixSecs)> {
    let mut r = Reader { b: k.get(1..)? };
    let nas = r.string()?;
    let t = i64::from_be_bytes(r.take(8)?.try_into().ok()?);
    let source = std::str::from_utf8(r.b).ok()?.to_string();
    Some((nas, source, t))
}

/// (source, NAS) of a clock mark key.
pub fn decode_clock_mark_key(k: &[u8]) -> Option<(&str, &str)> {
    std::str::from_utf8(k.get(1..)?).ok()?.split_once('\0')
}

/// A time value (watermark, clock mark).
pub fn decode_time(v: &[u8]) -> Option<UnixSecs> {
    <[u8; 8]>::try_from(v).ok().map(i64::from_be_bytes)
}

/// A frame count value.
pub fn decode_count(v: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(v).ok().map(u64::from_be_bytes)
}

/// The widest NAT block value.
pub fn decode_nat_span(v: &[u8]) -> Option<u16> {
    <[u8; 2]>::try_from(v).ok().map(u16::from_be_bytes)
}

pub fn encode_coverage(bits: &[u64; COVERAGE_WORDS]) -> Vec<u8> {
    let mut v = Vec::with_capacity(COVERAGE_WORDS * 8);
    for w in bits {
        v.extend_from_slice(&w.to_le_bytes());
    }
    v
}

pub fn decode_coverage(v: &[u8]) -> [u64; COVERAGE_WORDS] {
    let mut bits = [0u64; COVERAGE_WORDS];
    for (i, c) in v.chunks_exact(8).take(COVERAGE_WORDS).enumerate() {
        bits[i] = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
    }
    bits
}

/// The meta records the apply engine is restored from at open.
#[derive(Debug, PartialEq, Eq)]
pub enum EngineRecord<'a> {
    Watermark(UnixSecs),
    ClockMark {
        source: &'a str,
        nas: &'a str,
        mark: UnixSecs,
    },
    Reboot {
        nas: String,
        source: String,
        time: UnixSecs,
    },
    PrefixLen(u8),
    NatSpan(u16),
}

/// What a meta record tells the engine, if anything.
pub fn engine_record<'a>(k: &'a [u8], v: &[u8]) -> Option<EngineRecord<'a>> {
    match *k.first()? {
        b'W' if k.len() == 1 => decode_time(v).map(EngineRecord::Watermark),
        CLOCK_MARK => {
            let (source, nas) = decode_clock_mark_key(k)?;
            let mark = decode_time(v)?;
            Some(EngineRecord::ClockMark { source, nas, mark })
        }
        REBOOT => decode_reboot_key(k).map(|(nas, source, time)| EngineRecord::Reboot {
            nas,
            source,
            time,
        }),
        PREFIX_LEN if k.len() == 2 => Some(EngineRecord::PrefixLen(k[1])),
        b'Z' if k == NAT_SPAN => decode_nat_span(v).map(EngineRecord::NatSpan),
        _ => None,
    }
}

/// Every meta record whose key starts with `prefix`.
pub(crate) fn scan_prefix<B: Families + ?Sized>(
    b: &B,
    prefix: &[u8],
) -> Result<Vec<MetaRecord>, StoreError> {
    let mut out = Vec::new();
    let upper = super::keys::prefix_upper_bound(prefix);
    b.scan(Family::Meta, prefix, Some(&upper), &mut |k, v| {
        out.push((k.to_vec(), v.to_vec()));
        Ok(true)
    })?;
    Ok(out)
}

/// Every frame count ([`frames_key`]), by source.
pub(crate) fn frame_counts<B: Families + ?Sized>(b: &B) -> Result<Vec<(String, u64)>, StoreError> {
    Ok(scan_prefix(b, &[FRAMES])?
        .into_iter()
        .filter_map(|(k, v)| {
            Some((
                String::from_utf8_lossy(&k[1..]).into_owned(),
                decode_count(&v)?,
            ))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let k = reboot_key("bng1", "radius", -7);
        assert_eq!(
            decode_reboot_key(&k),
            Some(("bng1".into(), "radius".into(), -7))
        );
        // A key written before reboots named their source holds for every source.
        let old = &k[..k.len() - "radius".len()];
        assert_eq!(decode_reboot_key(old), Some(("bng1".into(), "".into(), -7)));
        assert_eq!(
            engine_record(&clock_mark_key("radius", "bng1"), &5i64.to_be_bytes()),
            Some(EngineRecord::ClockMark {
                source: "radius",
                nas: "bng1",
                mark: 5
            })
        );
        assert_eq!(
            engine_record(&prefix_len_key(56), b""),
            Some(EngineRecord::PrefixLen(56))
        );
        assert_eq!(engine_record(&frames_key("x"), &[0; 8]), None);
        let bits = {
            let mut b = [0u64; COVERAGE_WORDS];
            b[3] = 0x8001;
            b
        };
        assert_eq!(decode_coverage(&encode_coverage(&bits)), bits);
        assert!(file_archive_key("s", &[1; 16]).starts_with(&file_checkpoint_prefix("s")));
    }
}
