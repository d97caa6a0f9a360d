//! The desk's browser harness (`tdr_testkit::browser`) tested on its own: tiny pages served over
//! a real socket by the test, with the strict Content-Security-Policy the desk sends. axe-core
//! must report exactly the violations planted in a page and none on an accessible one, even
//! under that policy; two browsers must not share cookies; the helpers must fill, click, read and
//! wait on a real form; screenshots must be written.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tdr_testkit::browser::{
    assert_accessible, axe, click, current_path, fill, goto, is_present, screenshot, text_of,
    wait_for, Driver,
};

const CSP: &str = "default-src 'self'";

/// A page with an unlabelled text field and an image without alt text — axe's `label` and
/// `image-alt` rules, both critical — and an inline script the policy must block.
const BAD: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bad</title></head>
<body><main><h1>A bad page</h1>
<form action="/echo"><input type="text" name="q"></form>
<img src="/dot.png">
</main>
<script>document.title = 'inline script ran';</script>
</body></html>"#;

/// The same content made accessible.
const GOOD: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>good</title></head>
<body><main><h1>A good page</h1>
<form action="/echo"><label for="q">Search</label> <input type="text" id="q" name="q"></form>
<img src="/dot.png" alt="A black dot">
</main></body></html>"#;

/// A form for the helpers, and an element that a same-origin script adds after a while.
const FORM: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>form</title>
<script src="/late.js" defer></script></head>
<body><main><h1>A form</h1>
<form action="/echo" method="get">
<label for="name">Name</label> <input type="text" id="name" name="name" value="old">
<label for="day">Day</label> <input type="date" id="day" name="day">
<button id="go" type="submit">Go</button>
</form></main></body></html>"#;

const LATE_JS: &str = "setTimeout(function () {\n\
    var p = document.createElement('p'); p.id = 'late'; p.textContent = 'arrived';\n\
    document.querySelector('main').appendChild(p);\n}, 700);\n";

/// A 1×1 black PNG.
const DOT_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3a, 0x7e, 0x9b,
    0x55, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x01, 0x48, 0xaf, 0xa4, 0x71, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

/// A loopback HTTP/1.1 server (one thread per connection, `Connection: close`) that answers every
/// page with the strict policy and records each request's head.
struct Site {
    base: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Site {
    fn start() -> Site {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let seen = seen.clone();
                std::thread::spawn(move || answer(conn, &seen));
            }
        });
        Site { base, requests }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The heads of the requests for `path` (exactly, query included) seen so far.
    fn heads(&self, path: &str) -> Vec<String> {
        let prefix = format!("GET {path} ");
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.starts_with(&prefix))
            .cloned()
            .collect()
    }
}

fn answer(mut conn: TcpStream, seen: &Mutex<Vec<String>>) {
    // Browsers open spare connections that never carry a request: do not wait on them forever.
    conn.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match conn.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let target = head.split(' ').nth(1).unwrap_or("/").to_string();
    seen.lock().unwrap().push(head);
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let echo;
    let (status, kind, body, extra): (&str, &str, &[u8], &str) = match path {
        "/bad" => ("200 OK", "text/html; charset=utf-8", BAD.as_bytes(), ""),
        "/good" => ("200 OK", "text/html; charset=utf-8", GOOD.as_bytes(), ""),
        "/form" => ("200 OK", "text/html; charset=utf-8", FORM.as_bytes(), ""),
        "/late.js" => ("200 OK", "text/javascript", LATE_JS.as_bytes(), ""),
        "/dot.png" => ("200 OK", "image/png", DOT_PNG, ""),
        "/cookie" => (
            "200 OK",
            "text/html; charset=utf-8",
            GOOD.as_bytes(),
            "Set-Cookie: who=first; Path=/; HttpOnly; SameSite=Strict\r\n",
        ),
        "/echo" => {
            echo = format!(
                "<!doctype html><html lang=\"en\"><head><title>echo</title></head>\
                 <body><main><h1>Echo</h1><p id=\"query\">{}</p></main></body></html>",
                query.replace('&', "&amp;").replace('<', "&lt;")
            );
            ("200 OK", "text/html; charset=utf-8", echo.as_bytes(), "")
        }
        _ => ("404 Not Found", "text/plain", b"not found".as_slice(), ""),
    };
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
         Content-Security-Policy: {CSP}\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(reply.as_bytes());
    let _ = conn.write_all(body);
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn assert_png(path: &std::path::Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.len() > 100 && bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG screenshot ({} bytes)",
        path.display(),
        bytes.len()
    );
}

#[tokio::test]
async fn axe_reports_exactly_the_planted_violations_under_a_strict_csp() {
    let site = Site::start();
    let t0 = Instant::now();
    let driver = Driver::start();
    let t1 = Instant::now();
    let b = driver.browser().await;
    let t2 = Instant::now();
    goto(&b, &site.url("/bad")).await;

    // The policy is in force on the page: its inline script did not run.
    assert_eq!(
        b.title().await.unwrap(),
        "bad",
        "the inline script ran despite the CSP"
    );
    let head = &site.heads("/bad")[0];
    assert!(head.contains("GET /bad HTTP/1.1"), "{head}");

    let t3 = Instant::now();
    let found = axe(&b).await;
    let t4 = Instant::now();
    eprintln!(
        "timing: chromedriver ready {:?}, browser session {:?}, first axe run {:?}",
        t1 - t0,
        t2 - t1,
        t4 - t3
    );
    let mut ids: Vec<&str> = found.iter().map(|v| v.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["image-alt", "label"], "{found:#?}");
    for v in &found {
        assert_eq!(v.impact, "critical", "{v}");
        assert_eq!(v.targets.len(), 1, "{v}");
    }
    let target = |id: &str| found.iter().find(|v| v.id == id).unwrap().targets[0].clone();
    assert!(target("label").starts_with("input"), "{found:#?}");
    assert!(target("image-alt").starts_with("img"), "{found:#?}");

    // A second run on the same page (axe injected again) agrees.
    let t5 = Instant::now();
    assert_eq!(axe(&b).await.len(), 2);
    eprintln!("timing: second axe run {:?}", t5.elapsed());

    // assert_accessible panics naming both rules, after writing the screenshot.
    let c = b.clone();
    let failed = tokio::spawn(async move { assert_accessible(&c, "harness-bad").await })
        .await
        .expect_err("assert_accessible passed a page with two critical violations");
    let msg = failed.into_panic();
    let msg = msg
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_else(|| "<not a string>".into());
    assert!(
        msg.contains("image-alt") && msg.contains("label") && msg.contains("/bad"),
        "{msg}"
    );
    assert_png(&tdr_testkit::browser::screenshot_dir().join("harness-bad.png"));
    b.close().await.unwrap();
}

#[tokio::test]
async fn an_accessible_page_passes_and_its_screenshot_is_written() {
    let site = Site::start();
    let driver = Driver::start();
    let b = driver.browser().await;
    goto(&b, &site.url("/good")).await;
    assert_eq!(axe(&b).await, vec![]);
    let shot = assert_accessible(&b, "harness-good").await;
    assert_eq!(
        shot,
        tdr_testkit::browser::screenshot_dir().join("harness-good.png")
    );
    assert_png(&shot);
    // The image was fetched from 'self' under the policy: the page is what axe checked.
    assert_eq!(site.heads("/dot.png").len(), 1);
    b.close().await.unwrap();
}

#[tokio::test]
async fn two_browsers_are_two_people_speaking_swedish() {
    let site = Site::start();
    let driver = Driver::start();
    let first = driver.browser().await;
    let second = driver.browser().await;

    goto(&first, &site.url("/cookie")).await;
    goto(&first, &site.url("/echo?who=first")).await;
    goto(&second, &site.url("/echo?who=second")).await;

    let first_cookies = first.get_all_cookies().await.unwrap();
    assert!(
        first_cookies
            .iter()
            .any(|c| c.name() == "who" && c.value() == "first"),
        "{first_cookies:?}"
    );
    assert_eq!(second.get_all_cookies().await.unwrap().len(), 0);

    // What the server saw: the cookie from the first browser only, and Swedish from both.
    let seen_first = &site.heads("/echo?who=first")[0];
    let seen_second = &site.heads("/echo?who=second")[0];
    assert_eq!(
        header(seen_first, "cookie"),
        Some("who=first"),
        "{seen_first}"
    );
    assert_eq!(header(seen_second, "cookie"), None, "{seen_second}");
    for head in [seen_first, seen_second] {
        let lang = header(head, "accept-language").unwrap_or_default();
        assert!(lang.starts_with("sv"), "Accept-Language {lang:?}");
    }
    let lang = second
        .execute("return navigator.language", vec![])
        .await
        .unwrap();
    assert_eq!(lang, "sv");
    first.close().await.unwrap();
    second.close().await.unwrap();
}

#[tokio::test]
async fn helpers_fill_click_read_and_wait_on_a_real_form() {
    let site = Site::start();
    let driver = Driver::start();
    let b = driver.browser().await;
    goto(&b, &site.url("/form")).await;
    assert_eq!(current_path(&b).await, "/form");

    // A same-origin script (allowed by the policy) adds #late after 700 ms: wait_for waits.
    assert!(!is_present(&b, "#late").await);
    wait_for(&b, "#late").await;
    assert_eq!(text_of(&b, "#late").await, "arrived");

    // fill replaces the old value (non-ASCII typed as such) and sets a date input directly.
    fill(&b, "#name", "Åsa Öberg").await;
    fill(&b, "#day", "2026-01-15").await;
    screenshot(&b, "harness-form").await;
    click(&b, "#go").await;
    wait_for(&b, "#query").await;
    assert_eq!(current_path(&b).await, "/echo");
    assert_eq!(
        text_of(&b, "#query").await,
        "name=%C3%85sa+%C3%96berg&day=2026-01-15"
    );
    b.close().await.unwrap();
}
