//! Parsers: pure functions from one bounded frame of bytes to normalised events, plus the
//! framers that cut a byte stream into frames. No IO, no clock, no storage.

pub mod events;
pub mod framing;

use std::fmt;

/// Why a frame did not parse. `code` is stable (quarantine files, metrics labels and API errors
/// all use it); `reason` is for people and never contains the frame's personal data beyond
/// naming which field was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub code: &'static str,
    pub reason: String,
}

impl ParseError {
    pub fn new(code: &'static str, reason: impl Into<String>) -> Self {
        ParseError {
            code,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.reason)
    }
}

impl std::error::Error for ParseError {}

/// The input formats `tdr import --format` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// tdr's neutral JSON Lines event format (see README).
    Events,
}
