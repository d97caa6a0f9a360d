//! What several formats' parsers share: byte searches ([`bytes`]), syslog headers ([`syslog`])
//! and their times resolved with a cache ([`headertime`]), local times without an offset
//! ([`localtime`]) and subscriber identifiers as producers print them ([`ident`]).

pub mod bytes;
pub mod headertime;
pub mod ident;
pub mod localtime;
pub mod syslog;
