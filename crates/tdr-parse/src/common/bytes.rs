//! Byte-string searches (memchr), for parsers that work on the raw frame.

/// First occurrence of the byte `needle` in `hay`.
pub fn find_byte(needle: u8, hay: &[u8]) -> Option<usize> {
    memchr::memchr(needle, hay)
}

/// First occurrence of `needle` in `hay`; `None` for an empty needle.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    memchr::memmem::find(hay, needle)
}

/// Last occurrence of `needle` in `hay`; `None` for an empty needle.
pub fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    memchr::memmem::rfind(hay, needle)
}
