//! The legal officer's pages: inbox, new case, the case page and its results.

use super::Entry;

pub const TEXTS: &[Entry] = &[];
