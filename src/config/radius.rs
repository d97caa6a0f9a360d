//! `[[radius]]`: RADIUS accounting servers (RFC 2866 over UDP, or over TLS as RFC 6614's
//! RADIUS/TLS). Each listener names the networks its clients (the NASes, or the proxies that
//! speak TLS for them) send from, each with the file holding its shared secret (over TLS,
//! RFC 6614's fixed `radsec` unless a file is given); a datagram or connection from anywhere
//! else is dropped unanswered and counted. A TLS listener requires client certificates signed
//! by its `client_ca`.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use toml::Table;

use super::sources::{array_of, check_keys, source_name, tls_file};
use crate::model::Class;

/// One accounting listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RadiusSource {
    pub name: String,
    /// `listen`: the UDP address (RADIUS accounting's port is 1813).
    pub listen: SocketAddr,
    /// `class`: the retention class of its records.
    pub class: Class,
    /// `clients`: who may send, and with which secret.
    pub clients: Vec<RadiusClient>,
    /// `duplicate_window_secs`: how long a committed request is remembered, so a
    /// retransmission of it (also one sent after a restart) is answered and not stored again.
    pub duplicate_window_secs: u64,
    /// `transport = "tls"` (RFC 6614): the server certificate and key, and the CA the clients'
    /// certificates must chain to. `None`: UDP.
    pub tls: Option<RadiusTls>,
}

/// A RADIUS/TLS listener's PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RadiusTls {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: PathBuf,
}

/// A client network and the file with its shared secret (read when the listener starts:
/// the configuration holds no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RadiusClient {
    pub network: IpNet,
    /// `None` only over TLS: the secret is RFC 6614's `radsec`.
    pub secret_file: Option<PathBuf>,
}

/// RFC 5080 §2.2.2 asks for a cache longer than a client retries; ten minutes also covers a
/// restart of the daemon while a NAS retransmits.
pub const DEFAULT_DUPLICATE_WINDOW_SECS: u64 = 600;

/// The `[[radius]]` listeners of `table`; `names` holds every source name already taken.
pub(super) fn parse(
    table: &Table,
    names: &mut BTreeSet<String>,
    errs: &mut Vec<String>,
) -> Vec<RadiusSource> {
    let mut out = Vec::new();
    let mut listens = BTreeSet::new();
    for (i, t) in array_of(table, "radius", errs).into_iter().enumerate() {
        let at = format!("radius[{i}]");
        check_keys(
            t,
            &at,
            &[
                "name",
                "listen",
                "class",
                "clients",
                "duplicate_window_secs",
                "transport",
                "tls_cert",
                "tls_key",
                "client_ca",
            ],
            errs,
        );
        let tls = transport(t, &at, errs);
        let name = source_name(t, &at, names, errs);
        let listen = match t
            .get("listen")
            .map(|v| v.as_str().and_then(|s| s.parse::<SocketAddr>().ok()))
        {
            None => {
                errs.push(format!(
                    "`{at}.listen` is missing: an address like \"0.0.0.0:1813\""
                ));
                None
            }
            Some(Some(a)) => {
                if !listens.insert(a) {
                    errs.push(format!(
                        "`{at}.listen`: {a} is used by another RADIUS listener"
                    ));
                }
                Some(a)
            }
            Some(None) => {
                errs.push(format!(
                    "`{at}.listen` is not an address like \"0.0.0.0:1813\""
                ));
                None
            }
        };
        let class = match t.get("class") {
            None => Some(Class::Security),
            Some(v) => match v.as_str().and_then(Class::parse) {
                Some(c) => Some(c),
                None => {
                    errs.push(format!(
                        "`{at}.class` must be \"security\", \"billing\" or \"statutory\""
                    ));
                    None
                }
            },
        };
        let duplicate_window_secs = match t.get("duplicate_window_secs") {
            None => Some(DEFAULT_DUPLICATE_WINDOW_SECS),
            Some(v) => match v.as_integer() {
                Some(n) if (10..=86_400).contains(&n) => Some(n as u64),
                _ => {
                    errs.push(format!(
                        "`{at}.duplicate_window_secs` must be an integer from 10 to 86400"
                    ));
                    None
                }
            },
        };
        // Over TLS a client network may go without a secret file, whatever else is wrong.
        let wants_tls = t.get("transport").and_then(|v| v.as_str()) == Some("tls");
        let clients = clients(t, &at, wants_tls, errs);
        if let (
            Some(name),
            Some(listen),
            Some(class),
            Some(duplicate_window_secs),
            Some(clients),
            Some(tls),
        ) = (name, listen, class, duplicate_window_secs, clients, tls)
        {
            out.push(RadiusSource {
                name,
                listen,
                class,
                clients,
                duplicate_window_secs,
                tls,
            });
        }
    }
    out
}

/// `transport`: `Some(None)` for UDP (the default), `Some(Some(..))` for TLS with its three
/// readable PEM files, `None` after naming what is wrong.
fn transport(t: &Table, at: &str, errs: &mut Vec<String>) -> Option<Option<RadiusTls>> {
    const TLS_KEYS: [&str; 3] = ["tls_cert", "tls_key", "client_ca"];
    match t.get("transport").map(|v| v.as_str()) {
        None | Some(Some("udp")) => {
            for key in TLS_KEYS {
                if t.contains_key(key) {
                    errs.push(format!("`{at}.{key}` is only for transport \"tls\""));
                }
            }
            Some(None)
        }
        Some(Some("tls")) => {
            // RFC 6614 §2.3 asks for mutual authentication: `client_ca` signs the clients'
            // certificates, and a client without one is refused.
            let mut file = |key: &str| tls_file(t, at, key, errs);
            let [cert, key, client_ca] = TLS_KEYS.map(&mut file);
            Some(Some(RadiusTls {
                cert: cert?,
                key: key?,
                client_ca: client_ca?,
            }))
        }
        Some(_) => {
            errs.push(format!("`{at}.transport` must be \"udp\" or \"tls\""));
            None
        }
    }
}

/// `clients = [{ network = "10.255.0.0/16", secret_file = "/etc/tdr/radius/bng.secret" }]`;
/// over TLS `secret_file` may be left out (the secret is then `radsec`).
fn clients(t: &Table, at: &str, tls: bool, errs: &mut Vec<String>) -> Option<Vec<RadiusClient>> {
    let before = errs.len();
    let Some(items) = t.get("clients").and_then(|v| v.as_array()) else {
        errs.push(format!(
            "`{at}.clients` is missing or not a list: [{{ network = \"10.255.0.0/16\", \
             secret_file = \"/etc/tdr/radius/bng.secret\" }}]"
        ));
        return None;
    };
    if items.is_empty() {
        errs.push(format!(
            "`{at}.clients` is empty: no NAS could reach the listener"
        ));
    }
    let mut out = Vec::new();
    for (j, item) in items.iter().enumerate() {
        let at = format!("{at}.clients[{j}]");
        let Some(c) = item.as_table() else {
            errs.push(format!("`{at}` must be a table {{ network, secret_file }}"));
            continue;
        };
        check_keys(c, &at, &["network", "secret_file"], errs);
        let network = match c.get("network").and_then(|v| v.as_str()) {
            Some(s) => match s.parse::<IpNet>() {
                Ok(n) => Some(n.trunc()),
                Err(_) => {
                    errs.push(format!(
                        "`{at}.network` is not a CIDR prefix like \"10.255.0.0/16\""
                    ));
                    None
                }
            },
            None => {
                errs.push(format!(
                    "`{at}.network` is missing: a CIDR prefix like \"10.255.0.0/16\""
                ));
                None
            }
        };
        let secret_file = match c.get("secret_file").and_then(|v| v.as_str()) {
            Some(p) if !p.is_empty() => Some(Some(PathBuf::from(p))),
            None if tls && !c.contains_key("secret_file") => Some(None),
            _ => {
                errs.push(format!(
                    "`{at}.secret_file` is missing: the path of a file holding the shared secret \
                     (the configuration holds no secret)"
                ));
                None
            }
        };
        if let (Some(network), Some(secret_file)) = (network, secret_file) {
            if out.iter().any(|o: &RadiusClient| o.network == network) {
                errs.push(format!("`{at}.network` {network} is listed twice"));
            }
            out.push(RadiusClient {
                network,
                secret_file,
            });
        }
    }
    (errs.len() == before).then_some(out)
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    /// Every problem in `want` is named (as the start of one), and nothing else.
    fn assert_problems(e: &[String], want: &[&str]) {
        for w in want {
            assert!(e.iter().any(|p| p.starts_with(w)), "{w} not in {e:#?}");
        }
        assert_eq!(e.len(), want.len(), "{e:#?}");
    }

    #[test]
    fn a_radius_listener_is_read() {
        let c = Config::parse(
            r#"
[[radius]]
name = "bng-acct"
listen = "0.0.0.0:1813"
class = "statutory"
duplicate_window_secs = 900
clients = [
  { network = "10.255.0.0/16", secret_file = "/etc/tdr/radius/bng.secret" },
  { network = "2001:db8:ff::/48", secret_file = "/etc/tdr/radius/bng6.secret" },
]
"#,
        )
        .unwrap();
        let r = &c.radius[0];
        assert_eq!(r.name, "bng-acct");
        assert_eq!(r.listen.port(), 1813);
        assert_eq!(r.class, crate::model::Class::Statutory);
        assert_eq!(r.duplicate_window_secs, 900);
        assert_eq!(r.clients.len(), 2);
        assert_eq!(r.clients[1].network.to_string(), "2001:db8:ff::/48");
    }

    #[test]
    fn every_bad_radius_key_is_named_at_once() {
        let e = Config::parse(
            r#"
[[radius]]
name = "a"
listen = "nowhere"
class = "forever"
secret = "s3cret"
duplicate_window_secs = 1
clients = [{ network = "10.0.0.0/33" }, { network = "10.1.0.0/16", secret_file = "/x", port = 1 }]
"#,
        )
        .unwrap_err()
        .0;
        assert_problems(
            &e,
            &[
                "`radius[0].listen` is not an address",
                "`radius[0].class` must be",
                "unknown key `radius[0].secret`",
                "`radius[0].duplicate_window_secs` must be",
                "`radius[0].clients[0].network` is not a CIDR prefix",
                "`radius[0].clients[0].secret_file` is missing",
                "unknown key `radius[0].clients[1].port`",
            ],
        );
    }

    #[test]
    fn a_tls_listener_needs_its_three_pem_files_and_may_leave_out_secrets() {
        let pem = tempfile::NamedTempFile::new().unwrap();
        let p = pem.path().display();
        let c = Config::parse(&format!(
            r#"
[[radius]]
name = "radsec"
listen = "0.0.0.0:2083"
transport = "tls"
tls_cert = "{p}"
tls_key = "{p}"
client_ca = "{p}"
clients = [{{ network = "10.255.1.0/24" }}, {{ network = "10.255.2.0/24", secret_file = "/x" }}]
"#
        ))
        .unwrap();
        let r = &c.radius[0];
        assert_eq!(
            r.tls.as_ref().map(|t| t.client_ca.as_path()),
            Some(pem.path())
        );
        assert_eq!(r.clients[0].secret_file, None);
        assert_eq!(
            r.clients[1].secret_file.as_deref(),
            Some(std::path::Path::new("/x"))
        );

        let e = Config::parse(
            r#"
[[radius]]
name = "a"
listen = "0.0.0.0:2083"
transport = "tls"
tls_key = "/nonexistent/key.pem"
clients = [{ network = "10.0.0.0/8" }]
[[radius]]
name = "b"
listen = "0.0.0.0:1813"
client_ca = "/etc/ca.pem"
clients = [{ network = "10.0.0.0/8" }]
[[radius]]
name = "c"
listen = "0.0.0.0:1814"
transport = "dtls"
clients = [{ network = "10.0.0.0/8", secret_file = "/x" }]
"#,
        )
        .unwrap_err()
        .0;
        assert_problems(
            &e,
            &[
                "`radius[0].tls_cert` is missing",
                "`radius[0].tls_key`: cannot read /nonexistent/key.pem",
                "`radius[0].client_ca` is missing",
                "`radius[1].client_ca` is only for transport \"tls\"",
                "`radius[1].clients[0].secret_file` is missing",
                "`radius[2].transport` must be \"udp\" or \"tls\"",
            ],
        );
    }

    #[test]
    fn a_radius_listener_may_not_take_another_sources_name() {
        let e = Config::parse(
            r#"
[[file]]
name = "bng"
path = "/var/log/radius/detail-*"
format = "radius-detail"
[[radius]]
name = "bng"
listen = "0.0.0.0:1813"
clients = [{ network = "10.0.0.0/8", secret_file = "/x" }]
"#,
        )
        .unwrap_err()
        .0;
        assert!(
            e.iter().any(|p| p.contains("used by another source")),
            "{e:#?}"
        );
    }
}
