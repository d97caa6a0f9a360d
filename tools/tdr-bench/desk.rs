//! Page render times of the desk of a running `tdr serve` (tools/desk-bench.sh): signs a new
//! user in as a person would the first time (one-time password, a password of their own, TOTP
//! enrolment from the page's secret), then fetches each page ROUNDS times, one after another on
//! one keep-alive HTTPS connection, and reports p50/p99/max per page. A page that does not
//! answer 200 fails the run (a redirect to the sign-in would time the wrong page).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{json, Value};

type Error = Box<dyn std::error::Error + Send + Sync>;

const COOKIE: &str = "__Host-tdr_session";

struct Browser {
    send: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
    cookie: Option<String>,
}

struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Browser {
    async fn go(
        &mut self,
        method: &str,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<Answer, Error> {
        let mut b = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host);
        if let Some(c) = &self.cookie {
            b = b.header("cookie", format!("{COOKIE}={c}"));
        }
        let body = if method == "POST" {
            b = b
                .header("content-type", "application/x-www-form-urlencoded")
                .header("origin", format!("https://{}", self.host));
            form.iter()
                .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
                .collect::<Vec<_>>()
                .join("&")
        } else {
            String::new()
        };
        self.send.ready().await?;
        let resp = self
            .send
            .send_request(b.body(Full::new(Bytes::from(body)))?)
            .await?;
        let status = resp.status().as_u16();
        let header = |k: &str| {
            resp.headers()
                .get(k)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let location = header("location");
        if let Some(c) = header("set-cookie") {
            if let Some(v) = c.strip_prefix(&format!("{COOKIE}=")) {
                self.cookie = Some(v.split(';').next().unwrap_or("").to_string());
            }
        }
        let bytes = resp.into_body().collect().await?.to_bytes();
        Ok(Answer {
            status,
            location,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn between<'a>(body: &'a str, start: &str, end: &str) -> Result<&'a str, Error> {
    let i = body
        .find(start)
        .ok_or_else(|| format!("`{start}` not on the page"))?
        + start.len();
    let j = body[i..].find(end).ok_or("unterminated")?;
    Ok(&body[i..i + j])
}

fn csrf(body: &str) -> Result<String, Error> {
    Ok(between(body, "name=\"_csrf\" value=\"", "\"")?.to_string())
}

fn expect_redirect(a: &Answer, to: &str) -> Result<(), Error> {
    if a.location.as_deref() == Some(to) {
        Ok(())
    } else {
        Err(format!(
            "expected a redirect to {to}, got {} {:?}",
            a.status, a.location
        )
        .into())
    }
}

/// Signs `user` in for the first time with their one-time password.
async fn first_sign_in(b: &mut Browser, user: &str, one_time: &str) -> Result<(), Error> {
    let page = b.go("GET", "/desk/signin", &[]).await?;
    let token = csrf(&page.body)?;
    let a = b
        .go(
            "POST",
            "/desk/signin",
            &[("_csrf", &token), ("user", user), ("password", one_time)],
        )
        .await?;
    expect_redirect(&a, "/desk/signin/password")?;
    let own = format!("bench password {}", hex::encode(rand::random::<[u8; 8]>()));
    let a = b
        .go(
            "POST",
            "/desk/signin/password",
            &[("_csrf", &token), ("password", &own), ("password2", &own)],
        )
        .await?;
    expect_redirect(&a, "/desk/signin/enroll")?;
    let page = b.go("GET", "/desk/signin/enroll", &[]).await?;
    let secret = between(&page.body, "id=\"totp-secret\">", "<")?.to_string();
    let now = chrono::Utc::now().timestamp();
    let code = tdr::legal::totp::code(&secret, now).ok_or("bad secret")?;
    let a = b
        .go(
            "POST",
            "/desk/signin/enroll",
            &[("_csrf", &token), ("code", &code)],
        )
        .await?;
    expect_redirect(&a, "/desk/")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Signs in and times `pages`, `rounds` fetches each.
pub fn run(
    url: &str,
    ca: Option<&Path>,
    user: &str,
    one_time: &str,
    pages: &[String],
    rounds: usize,
) -> Result<Value, Error> {
    let u = super::api::url_parts::parse(url)?;
    let tls = match (u.https, ca) {
        (true, Some(ca)) => Some(Arc::new(super::api::tls_config(ca)?)),
        (true, None) => return Err("https needs --ca".into()),
        (false, _) => None,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let send = super::api::connect(&u, tls).await?;
        let mut b = Browser {
            send,
            host: format!("{}:{}", u.host, u.port),
            cookie: None,
        };
        first_sign_in(&mut b, user, one_time).await?;
        let mut out = serde_json::Map::new();
        for page in pages {
            let mut lat = Vec::with_capacity(rounds);
            let mut bytes = 0;
            for _ in 0..rounds {
                let t = Instant::now();
                let a = b.go("GET", page, &[]).await?;
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
                if a.status != 200 {
                    return Err(format!("{page}: status {} ({:?})", a.status, a.location).into());
                }
                bytes = a.body.len();
            }
            lat.sort_by(f64::total_cmp);
            out.insert(
                page.clone(),
                json!({"n": rounds, "bytes": bytes,
                       "p50_ms": percentile(&lat, 0.5), "p99_ms": percentile(&lat, 0.99),
                       "max_ms": lat.last().copied().unwrap_or(f64::NAN)}),
            );
        }
        Ok(Value::Object(out))
    })
}
