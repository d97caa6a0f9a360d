//! The `tdr` binary on a data directory, as the integration tests drive it: runs with or
//! without a bearer token, users with tokens, cases registered by one legal officer and
//! approved by another, and the audit entries written.
//!
//! Tests pass the binary's path (`env!("CARGO_BIN_EXE_tdr")`, set for tests of the `tdr`
//! package), either to each function or once to a [`Tdr`] handle.

use std::path::Path;
use std::process::Output;

/// Runs `tdr --data-dir DATA ARGS` as the holder of `token` (`None`: no `TDR_TOKEN` at all,
/// whatever the test runner's environment holds).
pub fn tdr_as(tdr_bin: &str, data_dir: &Path, token: Option<&str>, args: &[&str]) -> Output {
    let mut c = std::process::Command::new(tdr_bin);
    c.arg("--data-dir").arg(data_dir).args(args);
    match token {
        Some(t) => c.env("TDR_TOKEN", t),
        None => c.env_remove("TDR_TOKEN"),
    };
    c.output().unwrap()
}

/// A process's standard output, lossily decoded.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A process's standard error, lossily decoded.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A port free for both TCP and UDP on 127.0.0.1 (as far as can be known before binding).
pub fn free_port() -> u16 {
    loop {
        let t = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = t.local_addr().unwrap().port();
        if std::net::UdpSocket::bind(("127.0.0.1", p)).is_ok() {
            return p;
        }
    }
}

/// Adds a user with `role` (legal, security, auditor, ops) and returns their bearer token.
pub fn user(tdr_bin: &str, data_dir: &Path, name: &str, role: &str) -> String {
    Tdr::new(tdr_bin, data_dir).user(name, role)
}

/// Two legal officers (name, token): the first registers cases and runs lookups, the second
/// approves. Names are unique within the test process, so a data directory can hold several.
pub fn officers(tdr_bin: &str, data_dir: &Path) -> [(String, String); 2] {
    Tdr::new(tdr_bin, data_dir).officers()
}

/// A case request of `request_type` (ipred, law_enforcement, abuse) naming `scope`; an IPRED
/// order has gained legal force yesterday, so lookups may run.
pub fn case_request(request_type: &str, scope: serde_json::Value) -> serde_json::Value {
    let yesterday = crate::ev::yesterday();
    let mut r = serde_json::json!({
        "request_type": request_type,
        "authority": "Polismyndigheten",
        "case_number": "5000-K1-26",
        "scope": scope,
    });
    if request_type != "abuse" {
        r["decision_date"] = yesterday.clone().into();
        r["order_sha256"] = "ab".repeat(32).into();
    }
    if request_type == "ipred" {
        r["authority"] = "Patent- och marknadsdomstolen".into();
        r["legal_force_date"] = yesterday.into();
    }
    r
}

/// `tdr case create --file -` as the holder of `token`, the request on standard input.
pub fn create_case(
    tdr_bin: &str,
    data_dir: &Path,
    token: &str,
    request: &serde_json::Value,
) -> Output {
    use std::io::Write;
    let mut child = std::process::Command::new(tdr_bin)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["case", "create", "--file", "-"])
        .env("TDR_TOKEN", token)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Registers a case with the first officer and approves it with the second; returns its id.
pub fn open_case(
    tdr_bin: &str,
    data_dir: &Path,
    officers: &[(String, String); 2],
    request_type: &str,
    scope: serde_json::Value,
) -> String {
    Tdr::new(tdr_bin, data_dir)
        .case(request_type, scope)
        .registered_by(&officers[0].1)
        .approved_by(&officers[1].1)
}

/// Two new legal officers and an approved case of `request_type` naming `scope`: returns the
/// token of the officer who registered it (and runs its lookups) and the case id.
pub fn legal_case(
    tdr_bin: &str,
    data_dir: &Path,
    request_type: &str,
    scope: serde_json::Value,
) -> (String, String) {
    Tdr::new(tdr_bin, data_dir).legal_case(request_type, scope)
}

/// Every audit entry in the data directory's audit segments, in order.
pub fn audit_entries(data_dir: &Path) -> Vec<serde_json::Value> {
    let mut segs: Vec<_> = std::fs::read_dir(data_dir.join("audit"))
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name().is_some_and(|n| {
                        let n = n.to_string_lossy();
                        n.starts_with("audit-") && n.ends_with(".log")
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    segs.sort();
    segs.iter()
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<serde_json::Value>>()
        })
        .collect()
}

/// The `tdr` binary on one data directory: `Tdr::new(BIN, &data).user("anna", "legal")`,
/// `.case("ipred", scope).registered_by(&a).approved_by(&b)`.
#[derive(Clone, Copy)]
pub struct Tdr<'a> {
    bin: &'a str,
    data: &'a Path,
}

impl<'a> Tdr<'a> {
    pub fn new(bin: &'a str, data: &'a Path) -> Tdr<'a> {
        Tdr { bin, data }
    }

    /// `tdr --data-dir DATA ARGS` without a token.
    pub fn run(&self, args: &[&str]) -> Output {
        tdr_as(self.bin, self.data, None, args)
    }

    /// `tdr --data-dir DATA ARGS` as the holder of `token`.
    pub fn run_as(&self, token: &str, args: &[&str]) -> Output {
        tdr_as(self.bin, self.data, Some(token), args)
    }

    /// The two administrators of this data directory (their tokens), bootstrapped by this
    /// process (the service user) on first use; the daemon must be running.
    pub fn admins(&self) -> [String; 2] {
        static ADMINS: std::sync::Mutex<Vec<(std::path::PathBuf, [String; 2])>> =
            std::sync::Mutex::new(Vec::new());
        let mut known = ADMINS.lock().unwrap();
        if let Some((_, a)) = known.iter().find(|(d, _)| d == self.data) {
            return a.clone();
        }
        let boot = |name: &str| {
            let person = format!("Admin {name}");
            let o = tdr_as(
                self.bin,
                self.data,
                None,
                &[
                    "admin",
                    "bootstrap",
                    name,
                    "--person",
                    &person,
                    "--employee-id",
                    name,
                ],
            );
            assert!(o.status.success(), "admin bootstrap {name}: {}", stderr(&o));
            String::from_utf8(o.stdout).unwrap().trim().to_string()
        };
        let a = [boot("admin-1"), boot("admin-2")];
        known.push((self.data.to_path_buf(), a.clone()));
        a
    }

    /// Adds a user with `role` (legal, security, auditor, ops, admin) for a person of their
    /// own (named after the user), approved by the second administrator; returns the token.
    pub fn user(&self, name: &str, role: &str) -> String {
        self.user_of(name, role, &format!("Person {name}"), &format!("E-{name}"))
    }

    /// As [`user`](Self::user), for the person `person` with `employee_id` (two users of
    /// one person are one pair of eyes).
    pub fn user_of(&self, name: &str, role: &str, person: &str, employee_id: &str) -> String {
        self.account_of(name, role, person, employee_id).token
    }

    /// As [`user`](Self::user), with the desk's one-time password too.
    pub fn account(&self, name: &str, role: &str) -> Account {
        self.account_of(name, role, &format!("Person {name}"), &format!("E-{name}"))
    }

    /// A user for `person` (`employee_id`), approved by the second administrator unless ops:
    /// their token and one-time desk password.
    pub fn account_of(&self, name: &str, role: &str, person: &str, employee_id: &str) -> Account {
        let [a, b] = self.admins();
        let o = tdr_as(
            self.bin,
            self.data,
            Some(&a),
            &[
                "user",
                "add",
                name,
                "--role",
                role,
                "--person",
                person,
                "--employee-id",
                employee_id,
            ],
        );
        assert!(o.status.success(), "user add {name}: {}", stderr(&o));
        let desk_password = desk_password(&stderr(&o));
        let token = String::from_utf8(o.stdout).unwrap().trim().to_string();
        assert!(token.starts_with("tdr_"), "{token}");
        // Ops users (no personal data) are active at once; every other role waits for a second
        // admin.
        if role != "ops" {
            let o = tdr_as(self.bin, self.data, Some(&b), &["user", "approve", name]);
            assert!(o.status.success(), "user approve {name}: {}", stderr(&o));
        }
        Account {
            name: name.to_string(),
            token,
            desk_password,
        }
    }

    /// Two new legal officers (name, token), named uniquely within the test process.
    pub fn officers(&self) -> [(String, String); 2] {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let a = format!("officer{n}a");
        let b = format!("officer{n}b");
        let ta = self.user(&a, "legal");
        let tb = self.user(&b, "legal");
        [(a, ta), (b, tb)]
    }

    /// A case of `request_type` naming `scope` ([`case_request`]), still to be registered.
    pub fn case(&self, request_type: &str, scope: serde_json::Value) -> NewCase<'a> {
        NewCase {
            tdr: *self,
            request: case_request(request_type, scope),
        }
    }

    /// Two new legal officers and an approved case: the registering officer's token and the
    /// case id.
    pub fn legal_case(&self, request_type: &str, scope: serde_json::Value) -> (String, String) {
        let [(_, a), (_, b)] = self.officers();
        let id = self
            .case(request_type, scope)
            .registered_by(&a)
            .approved_by(&b);
        (a, id)
    }
}

/// A case request not registered yet.
pub struct NewCase<'a> {
    tdr: Tdr<'a>,
    request: serde_json::Value,
}

impl<'a> NewCase<'a> {
    /// `tdr case create` as the holder of `token`; asserts it succeeds in state `registered`.
    pub fn registered_by(self, token: &str) -> RegisteredCase<'a> {
        let o = create_case(self.tdr.bin, self.tdr.data, token, &self.request);
        assert!(o.status.success(), "case create: {}", stderr(&o));
        let c: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let id = c["id"].as_str().unwrap().to_string();
        assert_eq!(c["state"], "registered", "{c}");
        RegisteredCase { tdr: self.tdr, id }
    }
}

/// A registered case waiting for approval.
pub struct RegisteredCase<'a> {
    tdr: Tdr<'a>,
    pub id: String,
}

impl RegisteredCase<'_> {
    /// `tdr case approve ID` as the holder of `token`; asserts it succeeds and returns the id.
    pub fn approved_by(self, token: &str) -> String {
        let o = self.tdr.run_as(token, &["case", "approve", &self.id]);
        assert!(o.status.success(), "case approve: {}", stderr(&o));
        self.id
    }
}

/// A user as their administrator hands them over: the API token and the desk's one-time
/// password.
#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    pub token: String,
    pub desk_password: String,
}

/// The one-time desk password `tdr user add` (or `reset-password`, `admin bootstrap`) printed
/// on stderr.
pub fn desk_password(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("desk password: "))
        .map(|p| p.trim().to_string())
        .unwrap_or_else(|| panic!("no desk password in: {stderr}"))
}
