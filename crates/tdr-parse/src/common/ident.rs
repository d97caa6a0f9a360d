//! Subscriber identifiers as producers print them, normalised so that one device is one
//! string whichever log it came from.

use crate::ParseError;

/// Longest subscriber identifier a parser produces, in bytes (the `events` format's limit).
pub const MAX_SUBSCRIBER: usize = 253;

/// `id` if it is at most [`MAX_SUBSCRIBER`] bytes, else the parser's error `code`.
pub fn check_subscriber_len(id: String, code: &'static str) -> Result<String, ParseError> {
    if id.len() > MAX_SUBSCRIBER {
        Err(ParseError::new(
            code,
            "the client identifier is longer than 253 bytes",
        ))
    } else {
        Ok(id)
    }
}

/// A MAC address in any of the forms seen in logs (`aa:bb:cc:dd:ee:ff`, `AA-BB-CC-DD-EE-FF`,
/// `aabb.ccdd.eeff`, `aabbccddeeff`, unpadded `0:1b:2:3:4:5` from old dhcpd) as lower-case,
/// colon-separated, zero-padded `aa:bb:cc:dd:ee:ff`. `None` if it is not a 6-octet MAC.
pub fn normalize_mac(s: &str) -> Option<String> {
    let s = s.trim();
    if !s
        .bytes()
        .all(|b| b.is_ascii_hexdigit() || matches!(b, b':' | b'-' | b'.'))
    {
        return None;
    }
    let mut octets = [0u8; 6];
    if s.contains(':') || s.contains('-') {
        let sep = if s.contains(':') { ':' } else { '-' };
        let parts: Vec<&str> = s.split(sep).collect();
        if parts.len() != 6 {
            return None;
        }
        for (o, p) in octets.iter_mut().zip(parts) {
            if p.is_empty() || p.len() > 2 {
                return None;
            }
            *o = u8::from_str_radix(p, 16).ok()?;
        }
    } else {
        let hex: String = if s.contains('.') {
            let parts: Vec<&str> = s.split('.').collect();
            if parts.len() != 3 || parts.iter().any(|p| p.len() != 4) {
                return None;
            }
            parts.concat()
        } else {
            s.to_string()
        };
        if hex.len() != 12 {
            return None;
        }
        for (i, o) in octets.iter_mut().enumerate() {
            *o = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
    }
    Some(format_hex(&octets, ':'))
}

/// Colon-separated hex (`01:02:0a`), the form dhcpd and Kea print client ids and DUIDs in,
/// normalised to lower case and two digits per octet. `None` if it is not hex octets.
pub fn normalize_hex_id(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
        return None;
    }
    let mut out = Vec::new();
    for p in s.split(':') {
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        out.push(u8::from_str_radix(p, 16).ok()?);
    }
    Some(format_hex(&out, ':'))
}

/// Lower-case two-digit colon-separated hex, the form Kea and dhcpd print: usable as is.
pub fn is_canonical_hex(s: &[u8]) -> bool {
    s.len() % 3 == 2
        && s.iter().enumerate().all(|(i, &c)| {
            if i % 3 == 2 {
                c == b':'
            } else {
                c.is_ascii_digit() || (b'a'..=b'f').contains(&c)
            }
        })
}

/// `prefix` + the normalised hex id ([`normalize_hex_id`], with a fast path for the canonical
/// form), or `None` if `s` is not hex octets.
pub fn prefixed_hex_id(prefix: &str, s: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(prefix.len() + s.len());
    out.push_str(prefix);
    if is_canonical_hex(s) {
        out.push_str(std::str::from_utf8(s).ok()?);
    } else {
        out.push_str(&normalize_hex_id(std::str::from_utf8(s).ok()?)?);
    }
    Some(out)
}

/// A device's MAC ([`normalize_mac`], with a fast path for the canonical form); `None` for
/// the all-zero address, which servers log when they do not know the MAC and which names no
/// device.
pub fn device_mac(s: &[u8]) -> Option<String> {
    let m = if s.len() == 17 && is_canonical_hex(s) {
        std::str::from_utf8(s).ok()?.to_string()
    } else {
        normalize_mac(std::str::from_utf8(s).ok()?)?
    };
    (m != "00:00:00:00:00:00").then_some(m)
}

/// Bytes as lower-case hex octets joined by `sep`.
pub fn format_hex(bytes: &[u8], sep: char) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(sep);
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mac_form_is_one_string() {
        for f in [
            "00:1b:2c:3d:4e:5f",
            "00-1B-2C-3D-4E-5F",
            "001b.2c3d.4e5f",
            "001B2C3D4E5F",
            "0:1b:2c:3d:4e:5f",
        ] {
            assert_eq!(
                normalize_mac(f).as_deref(),
                Some("00:1b:2c:3d:4e:5f"),
                "{f}"
            );
        }
        for bad in [
            "",
            "00:1b:2c:3d:4e",
            "00:1b:2c:3d:4e:5f:60",
            "zz:1b:2c:3d:4e:5f",
            "+46701234567",
        ] {
            assert_eq!(normalize_mac(bad), None, "{bad}");
        }
        assert_eq!(normalize_hex_id("1:A:ff").as_deref(), Some("01:0a:ff"));
        assert_eq!(normalize_hex_id("1:A:fff"), None);
    }
}
