//! What several formats' parsers share: syslog headers ([`syslog`]), local times without an
//! offset ([`localtime`]) and subscriber identifiers as producers print them ([`ident`]).

pub mod ident;
pub mod localtime;
pub mod syslog;
