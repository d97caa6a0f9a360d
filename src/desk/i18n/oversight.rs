//! The auditor's, the security team's and the admin's pages.

use super::Entry;

pub const TEXTS: &[Entry] = &[];
