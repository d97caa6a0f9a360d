//! [`Framing::Statements`](super::Framing::Statements): top-level statements ending in `;` or in a brace block
//! (`dhcpd.leases`), with quoted strings, backslash escapes and `#` comments.

use super::{head, Frame, Framer, Step};
use crate::common::bytes::{find, find_byte};

impl Framer {
    pub(super) fn next_statement<'a>(&mut self, buf: &'a [u8], pos: usize) -> Step<'a> {
        let rest = &buf[pos..];
        let lead = skip_space_and_comments(rest);
        if lead > 0 {
            return Step::Skip { next: pos + lead };
        }
        match statement_end(rest, self.max) {
            Scan::End(end) => Step::Frame {
                start: pos,
                next: pos + end,
                frame: Frame::Data(&rest[..end]),
            },
            Scan::More => Step::NeedMore,
            Scan::TooLong => {
                self.skipping = true;
                Step::Frame {
                    start: pos,
                    next: pos + self.max,
                    frame: Frame::TooLong {
                        head: head(rest),
                        len: None,
                    },
                }
            }
        }
    }
}

/// Where the rest of a skipped over-long statement ends: the dhcpd.leases writer closes every
/// top-level block with "}" alone on a line.
pub(super) fn skip_end(rest: &[u8]) -> Option<usize> {
    find(rest, b"\n}\n").map(|i| i + 3)
}

fn skip_space_and_comments(rest: &[u8]) -> usize {
    let mut i = 0;
    loop {
        while i < rest.len() && rest[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < rest.len() && rest[i] == b'#' {
            match find_byte(b'\n', &rest[i..]) {
                Some(nl) => i += nl + 1,
                None => return i, // a comment still being written
            }
        } else {
            return i;
        }
    }
}

enum Scan {
    End(usize),
    More,
    TooLong,
}

/// Scans one top-level statement: ends after a `;` at depth 0 or after the `}` that closes
/// the outermost block.
fn statement_end(rest: &[u8], max: usize) -> Scan {
    let mut depth = 0usize;
    let mut in_str = false;
    let mut esc = false;
    let mut comment = false;
    for (i, &b) in rest.iter().enumerate() {
        if i >= max {
            return Scan::TooLong;
        }
        if comment {
            comment = b != b'\n';
            continue;
        }
        if in_str {
            if esc {
                esc = false;
            } else if b == b'\\' {
                esc = true;
            } else if b == b'"' {
                in_str = false;
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'#' => comment = true,
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Scan::End(i + 1);
                }
            }
            b';' if depth == 0 => return Scan::End(i + 1),
            _ => {}
        }
    }
    if rest.len() > max {
        Scan::TooLong
    } else {
        Scan::More
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::{frame_all, tests::data, Framing};

    #[test]
    fn statements_respect_strings_comments_and_nesting() {
        let buf = b"# header\nauthoring-byte-order little-endian;\n\nlease 10.0.0.1 {\n  uid \"a}\\\";{\";\n  on expiry { log(\"x\"); }\n  # } not the end\n}\nlease 10.0.0.2 {\n  starts";
        let v = data(&frame_all(Framing::Statements, 1000, buf));
        assert_eq!(v[0].1, "authoring-byte-order little-endian;");
        assert!(v[1].1.starts_with("lease 10.0.0.1 {"));
        assert!(v[1].1.ends_with("# } not the end\n}"));
        assert_eq!(v[2].1, "lease 10.0.0.2 {\n  starts", "the tail at the end");
        let mut f = Framer::new(Framing::Statements, 1000);
        assert_eq!(f.next(b"lease 1.2.3.4 { starts 1;", 0), Step::NeedMore);
    }
}
