//! A real browser for the desk's tests: Debian's `chromium` driven through WebDriver
//! (`chromedriver`, started and stopped by the test itself), axe-core injected into each page for
//! the accessibility check, screenshots written beside the build, and the few page helpers the
//! desk tests share (fill, click, read, wait — all bounded, all panicking with the page's state).
//!
//! It owns no knowledge of the desk's pages (their URLs and ids live in the tests); it must not
//! reach the outside network (chromium runs with every background fetch switched off).
//!
//! One [`Driver`] per test: dropping it ends its browsers and the chromedriver process group.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::ClientBuilder;
/// The browser and element locators, for the tests (they need no fantoccini of their own).
pub use fantoccini::{Client, Locator};
use serde_json::{json, Value};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const MISSING: &str = "install chromium and chromium-driver (tools/test.sh does)";

/// How long chromedriver may take to answer ready, and a browser session to open.
const START_TIMEOUT: Duration = Duration::from_secs(30);
const SESSION_TIMEOUT: Duration = Duration::from_secs(90);
/// How long [`wait_for`] (and the helpers built on it) waits for an element.
pub const WAIT: Duration = Duration::from_secs(10);

/// The flags every browser runs with: headless, and nothing that reaches for the network on its
/// own (this machine has none; a CI runner should not either). The desk's test certificate is
/// self-signed, hence `--ignore-certificate-errors`.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--ignore-certificate-errors",
    "--window-size=1280,1024",
    "--lang=sv",
];

/// A running `chromedriver` on a free loopback port. [`Driver::browser`] opens browsers on it.
#[derive(Debug)]
pub struct Driver {
    child: Child,
    port: u16,
    /// chromedriver's own output (a temp file), quoted when it fails.
    log: PathBuf,
    /// Sessions opened through [`Driver::browser`], deleted on drop even when the test panicked
    /// before closing its clients.
    sessions: Mutex<Vec<String>>,
    /// Each browser's profile directory (and the log's directory); removed after the browsers
    /// have ended.
    dirs: Mutex<Vec<tempfile::TempDir>>,
}

impl Driver {
    /// Starts `/usr/bin/chromedriver --port=<free port>` and waits (at most 30 s) until its
    /// `/status` says ready. Panics naming the packages when chromium or its driver is missing.
    pub fn start() -> Driver {
        for bin in [CHROMEDRIVER, CHROMIUM] {
            assert!(Path::new(bin).exists(), "{bin} is missing: {MISSING}");
        }
        let dir = tempfile::Builder::new()
            .prefix("tdr-chromedriver")
            .tempdir()
            .expect("a temp directory for chromedriver's log");
        let log = dir.path().join("chromedriver.log");
        let out = std::fs::File::create(&log).expect("chromedriver's log file");
        let err = out.try_clone().expect("chromedriver's log file");
        let port = crate::cli::free_port();
        let mut cmd = Command::new(CHROMEDRIVER);
        cmd.arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // Its own process group, so that drop ends chromedriver and every chromium it
            // started with one signal.
            .process_group(0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {CHROMEDRIVER} ({e}): {MISSING}"));
        let mut driver = Driver {
            child,
            port,
            log,
            sessions: Mutex::new(Vec::new()),
            dirs: Mutex::new(vec![dir]),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!(
                    "chromedriver exited at start ({status}); its output:\n{}",
                    driver.log_text()
                );
            }
            if let Some((200, body)) = http(port, "GET", "/status") {
                let ready = serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|v| v["value"]["ready"].as_bool());
                if ready == Some(true) {
                    return driver;
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "chromedriver on port {port} not ready after {START_TIMEOUT:?}; its output:\n{}",
                    driver.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// The WebDriver URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Opens a new browser: its own profile directory, so two browsers are two people with their
    /// own cookies. Swedish (`Accept-Language: sv`), 1280×1024, headless.
    pub async fn browser(&self) -> Client {
        let profile = tempfile::Builder::new()
            .prefix("tdr-chromium")
            .tempdir()
            .expect("a temp directory for a browser profile");
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let caps = json!({
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "timeouts": {"script": 60_000, "pageLoad": 30_000, "implicit": 0},
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": args,
                "prefs": {"intl.accept_languages": "sv"},
            },
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let connect = async {
            ClientBuilder::new(connector)
                .capabilities(caps)
                .connect(&self.url())
                .await
        };
        let client = match tokio::time::timeout(SESSION_TIMEOUT, connect).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => panic!(
                "chromium did not start through chromedriver: {e}; chromedriver's output:\n{}",
                self.log_text()
            ),
            Err(_) => panic!(
                "no browser session after {SESSION_TIMEOUT:?}; chromedriver's output:\n{}",
                self.log_text()
            ),
        };
        if let Ok(Some(id)) = client.session_id().await {
            lock(&self.sessions).push(id);
        }
        lock(&self.dirs).push(profile);
        client
    }

    fn log_text(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Close the browsers the polite way first (chromedriver ends chromium and its helpers),
        // then end the whole process group in case a browser hangs.
        for id in lock(&self.sessions).drain(..) {
            let _ = http(self.port, "DELETE", &format!("/session/{id}"));
        }
        let pgid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) with a negative pid signals the process group chromedriver leads (it
        // was spawned with process_group(0)); no memory is involved.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One HTTP/1.1 request without a body to chromedriver on loopback; the status and body, or
/// `None` when it does not answer (yet).
fn http(port: u16, method: &str, path: &str) -> Option<(u16, String)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(5))).ok()?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).ok()?;
    // chromedriver answers `Connection: close` but keeps the socket open: read the head, then
    // exactly Content-Length bytes.
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let (head_len, body_len) = loop {
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).into_owned();
            let len = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())?;
            break (end + 4, len);
        }
    };
    while raw.len() < head_len + body_len {
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&raw[..head_len]);
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let body = String::from_utf8_lossy(&raw[head_len..head_len + body_len]).into_owned();
    Some((status, body))
}

/// A serious or critical accessibility violation axe-core found on a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// axe's rule id (`label`, `image-alt`, `color-contrast`, …).
    pub id: String,
    /// `serious` or `critical`.
    pub impact: String,
    /// axe's one-line description of the rule.
    pub help: String,
    /// A CSS selector per offending element (shadow-DOM paths joined by ` >>> `).
    pub targets: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {} — {}",
            self.id,
            self.impact,
            self.help,
            self.targets.join(", ")
        )
    }
}

/// The workspace's `tests/axe/node_modules/axe-core/axe.min.js` (from `npm ci --prefix
/// tests/axe`).
pub fn axe_source_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/axe/node_modules/axe-core/axe.min.js")
}

fn axe_source() -> &'static str {
    static SRC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SRC.get_or_init(|| {
        let path = axe_source_path();
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "axe-core is missing ({}: {e}): run `npm ci --prefix tests/axe` \
                 (tools/test.sh does)",
                path.display()
            )
        })
    })
}

/// Runs axe-core on the current page and returns its serious and critical violations.
///
/// axe is injected through WebDriver's script execution, which the page's
/// Content-Security-Policy does not govern (tests/desk_harness.rs checks this under
/// `default-src 'self'`).
pub async fn axe(client: &Client) -> Vec<Violation> {
    client
        .execute(axe_source(), vec![])
        .await
        .unwrap_or_else(|e| panic!("injecting axe-core failed: {e}"));
    const RUN: &str = r#"
        const done = arguments[arguments.length - 1];
        if (typeof window.axe === 'undefined') { done({error: 'axe is not defined after injection'}); return; }
        window.axe.run(document, {resultTypes: ['violations']}).then(function (r) {
            done({violations: r.violations.map(function (v) {
                return {
                    id: v.id,
                    impact: v.impact || '',
                    help: v.help,
                    targets: v.nodes.map(function (n) {
                        return n.target.map(function (t) {
                            return Array.isArray(t) ? t.join(' >>> ') : String(t);
                        }).join(' ');
                    }),
                };
            })});
        }, function (e) { done({error: String(e && e.message || e)}); });
    "#;
    let out = client
        .execute_async(RUN, vec![])
        .await
        .unwrap_or_else(|e| panic!("running axe-core failed: {e}"));
    if let Some(e) = out.get("error") {
        panic!("axe-core failed on the page: {e}");
    }
    let list = out["violations"]
        .as_array()
        .unwrap_or_else(|| panic!("axe-core answered without violations: {out}"));
    list.iter()
        .map(|v| Violation {
            id: v["id"].as_str().unwrap_or_default().to_string(),
            impact: v["impact"].as_str().unwrap_or_default().to_string(),
            help: v["help"].as_str().unwrap_or_default().to_string(),
            targets: v["targets"]
                .as_array()
                .map(|t| {
                    t.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .filter(|v| v.impact == "serious" || v.impact == "critical")
        .collect()
}

/// Where screenshots go: `$TDR_SCREENSHOTS`, else `$CARGO_TARGET_DIR/desk-screenshots`, else
/// `target/desk-screenshots` (relative to the test's working directory, the package root).
pub fn screenshot_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("TDR_SCREENSHOTS").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    match std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        Some(t) => PathBuf::from(t).join("desk-screenshots"),
        None => PathBuf::from("target/desk-screenshots"),
    }
}

/// Writes a PNG of the browser's viewport to `<screenshot_dir>/<name>.png` and returns its path.
/// `name` is a plain file stem (letters, digits, `-`, `_`, `.`).
pub async fn screenshot(client: &Client, name: &str) -> PathBuf {
    assert!(
        !name.is_empty()
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')),
        "screenshot name {name:?}: letters, digits, '-', '_' and '.' only"
    );
    let png = client
        .screenshot()
        .await
        .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path
}

/// Writes the page's screenshot as `<name>.png` (see [`screenshot`]), then runs axe-core and
/// panics listing every serious or critical violation. Returns the screenshot's path.
pub async fn assert_accessible(client: &Client, name: &str) -> PathBuf {
    let shot = screenshot(client, name).await;
    let found = axe(client).await;
    if !found.is_empty() {
        let list: Vec<String> = found.iter().map(|v| format!("  {v}")).collect();
        panic!(
            "page {name} ({}): {} serious or critical accessibility violation(s):\n{}\n\
             screenshot: {}",
            current_path(client).await,
            found.len(),
            list.join("\n"),
            shot.display()
        );
    }
    shot
}

/// Waits (at most [`WAIT`]) for an element matching `css`; panics with the page's path and its
/// `#error` text, if any.
pub async fn wait_for(client: &Client, css: &str) -> Element {
    match client
        .wait()
        .at_most(WAIT)
        .every(Duration::from_millis(50))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(e) => e,
        Err(e) => panic!(
            "no {css} after {WAIT:?} on {}{} ({e})",
            current_path(client).await,
            page_error(client).await
        ),
    }
}

/// Whether an element matching `css` is on the page now (no waiting).
pub async fn is_present(client: &Client, css: &str) -> bool {
    !client
        .find_all(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("finding {css}: {e}"))
        .is_empty()
}

/// Replaces the value of the field at `css` with `text`. Date and time inputs get their value
/// set directly (typing into them depends on the browser's locale), with `input` and `change`
/// events as if typed.
pub async fn fill(client: &Client, css: &str, text: &str) {
    let el = wait_for(client, css).await;
    let kind = el.attr("type").await.ok().flatten().unwrap_or_default();
    if matches!(
        kind.as_str(),
        "date" | "time" | "datetime-local" | "month" | "week"
    ) {
        const SET: &str = "const e = arguments[0]; e.value = arguments[1]; \
            e.dispatchEvent(new Event('input', {bubbles: true})); \
            e.dispatchEvent(new Event('change', {bubbles: true}));";
        let el_json = serde_json::to_value(&el).expect("an element reference");
        client
            .execute(SET, vec![el_json, json!(text)])
            .await
            .unwrap_or_else(|e| panic!("setting {css}: {e}"));
        return;
    }
    if kind != "file" {
        el.clear()
            .await
            .unwrap_or_else(|e| panic!("clearing {css}: {e}"));
    }
    el.send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
}

/// Chooses a file for the file input at `css`.
pub async fn upload(client: &Client, css: &str, file: &Path) {
    let file = file
        .canonicalize()
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    fill(client, css, &file.to_string_lossy()).await;
}

/// Chooses the option with `value` in the `<select>` at `css`.
pub async fn select(client: &Client, css: &str, value: &str) {
    wait_for(client, css)
        .await
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("selecting {value:?} in {css}: {e}"));
}

/// Clicks the element at `css` (waiting for it first).
pub async fn click(client: &Client, css: &str) {
    wait_for(client, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
}

/// The rendered text of the element at `css` (waiting for it first).
pub async fn text_of(client: &Client, css: &str) -> String {
    wait_for(client, css)
        .await
        .text()
        .await
        .unwrap_or_else(|e| panic!("reading {css}: {e}"))
}

/// The path of the page the browser shows (`/desk/cases/7`), without query or fragment.
pub async fn current_path(client: &Client) -> String {
    client
        .current_url()
        .await
        .map(|u| u.path().to_string())
        .unwrap_or_else(|e| format!("<no url: {e}>"))
}

/// Goes to `url` and waits until the page has loaded.
pub async fn goto(client: &Client, url: &str) {
    client
        .goto(url)
        .await
        .unwrap_or_else(|e| panic!("going to {url}: {e}"));
}

/// `: <text of #error>` when the page shows one, for panic messages.
async fn page_error(client: &Client) -> String {
    match client.find(Locator::Css("#error")).await {
        Ok(e) => match e.text().await {
            Ok(t) => format!(": {t}"),
            Err(_) => String::new(),
        },
        Err(_) => String::new(),
    }
}
