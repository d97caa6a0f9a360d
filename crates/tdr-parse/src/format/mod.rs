//! One parser per input format, each in its own file named after the format (`--format
//! radius-detail` is [`radius_detail`]). Every parser implements [`crate::Parser`] and is
//! built through [`crate::parser`]; what they share lives in [`crate::common`].

pub mod accel_ppp;
pub mod asterisk_cdr;
pub mod dhcpd_leases;
pub mod dhcpd_syslog;
pub mod events;
pub mod freeswitch_cdr;
pub mod ipfix;
pub mod jool;
pub mod juniper_nat;
pub mod junos_ngs_nat;
pub mod kea_leases;
pub mod kea_legal;
pub mod kea_log;
pub mod mikrotik_dhcp;
pub mod nfdump_nat;
pub mod radius_detail;
pub mod vpp_nat;
