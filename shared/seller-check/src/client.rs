//! The only way seller-check sends anything: to the base URL's origin, never following a redirect,
//! within the request budget, each request marked (`x-seller-check` and an `x-vtex-operation-id`
//! the seller's logs can be searched for).

use crate::config::{Config, Credential};
use crate::report::{Evidence, truncate};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use url::Url;

pub const MARKER_HEADER: &str = "x-seller-check";
const EXCERPT: usize = 600;

/// Which credential a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    Configured,
    Without,
    Wrong,
}

pub enum Body {
    Json(Value),
    Raw(String),
}

/// One request and what came back.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Method, path and query as shown in reports (secrets masked).
    pub shown: String,
    pub sent: Option<String>,
    pub status: Option<u16>,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Option<Value>,
    pub elapsed: Duration,
    pub error: Option<String>,
}

impl Exchange {
    pub fn evidence(&self) -> Evidence {
        Evidence {
            request: self.shown.clone(),
            sent: self.sent.clone(),
            status: self.status,
            elapsed_ms: Some(self.elapsed.as_millis() as u64),
            excerpt: match &self.error {
                Some(e) => e.clone(),
                None => truncate(&self.text, EXCERPT),
            },
        }
    }

    pub fn is(&self, status: u16) -> bool {
        self.status == Some(status)
    }

    /// `"POST /pvt/orders answered 400"` or the transport error, for problem lists.
    pub fn describe(&self) -> String {
        match (&self.error, self.status) {
            (Some(e), _) => format!("{}: {e}", self.shown),
            (None, Some(s)) => format!("{} answered {s}", self.shown),
            (None, None) => format!("{}: no answer", self.shown),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub struct Seller {
    http: reqwest::Client,
    base: Url,
    credential: Option<Credential>,
    an: String,
    sc: String,
    run_id: String,
    sent: AtomicU32,
    budget: u32,
}

impl Seller {
    pub fn new(cfg: &Config, run_id: &str) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(cfg.request_timeout)
            .user_agent(concat!("seller-check/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Seller {
            http,
            base: cfg.base.clone(),
            credential: cfg.credential.clone(),
            an: cfg.an.clone(),
            sc: cfg.sc.clone(),
            run_id: run_id.to_string(),
            sent: AtomicU32::new(0),
            budget: cfg.max_requests,
        })
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    pub fn has_credential(&self) -> bool {
        self.credential.is_some()
    }

    pub fn requests_sent(&self) -> u32 {
        self.sent.load(Ordering::Relaxed).min(self.budget)
    }

    /// The base as reports show it: no credential in it.
    pub fn shown_base(&self) -> String {
        let mut u = self.base.clone();
        let _ = u.set_password(None);
        let _ = u.set_username("");
        u.to_string()
    }

    /// `{base}[/{secret}]{route}?{base query}[&secret=…]&sc=…&an=…&{query}`; the second value is
    /// the same with secrets masked.
    fn url(&self, route: &str, query: &[(&str, &str)], auth: Auth) -> (Url, String) {
        let wrong = format!("wrong-{}", self.run_id);
        let secret = |s: &str| -> String {
            match auth {
                Auth::Configured => s.to_string(),
                Auth::Wrong => wrong.clone(),
                Auth::Without => String::new(),
            }
        };
        let mut url = self.base.clone();
        let prefix = self.base.path().trim_end_matches('/').to_string();
        let (path, shown_path) = match &self.credential {
            Some(Credential::PathSecret(s)) if auth != Auth::Without => (
                format!("{prefix}/{}{route}", secret(s)),
                format!(
                    "{prefix}/{}{route}",
                    if auth == Auth::Wrong {
                        "{wrong-secret}"
                    } else {
                        "{secret}"
                    }
                ),
            ),
            _ => (format!("{prefix}{route}"), format!("{prefix}{route}")),
        };
        url.set_path(&path);
        let mut pairs: Vec<(String, String)> = self
            .base
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut shown_pairs = pairs.clone();
        if let Some(Credential::QuerySecret(s)) = &self.credential
            && auth != Auth::Without
        {
            pairs.push(("secret".into(), secret(s)));
            shown_pairs.push(("secret".into(), "{secret}".into()));
        }
        for (k, v) in [("sc", self.sc.as_str()), ("an", self.an.as_str())] {
            if !pairs.iter().any(|(pk, _)| pk == k) {
                pairs.push((k.into(), v.into()));
                shown_pairs.push((k.into(), v.into()));
            }
        }
        for (k, v) in query {
            pairs.push((k.to_string(), v.to_string()));
            shown_pairs.push((k.to_string(), truncate(v, 80)));
        }
        url.query_pairs_mut().clear().extend_pairs(&pairs);
        let shown_query = shown_pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        (url, format!("{shown_path}?{shown_query}"))
    }

    pub async fn call(
        &self,
        method: Method,
        route: &str,
        query: &[(&str, &str)],
        body: Option<Body>,
        auth: Auth,
    ) -> Exchange {
        let (url, shown_url) = self.url(route, query, auth);
        let shown = format!("{method} {shown_url}");
        let n = self.sent.fetch_add(1, Ordering::Relaxed);
        let sent = body.as_ref().map(|b| match b {
            Body::Json(v) => truncate(&v.to_string(), 300),
            Body::Raw(s) => truncate(s, 300),
        });
        let refused = |error: String| Exchange {
            shown: shown.clone(),
            sent: sent.clone(),
            status: None,
            headers: HeaderMap::new(),
            text: String::new(),
            json: None,
            elapsed: Duration::ZERO,
            error: Some(error),
        };
        if n >= self.budget {
            return refused(format!(
                "not sent: the request budget (--max-requests {}) is spent",
                self.budget
            ));
        }
        // Built from the base alone, so this never fires; it stays as the guard of the promise
        // that nothing goes anywhere else.
        if url.origin() != self.base.origin() {
            return refused(format!("not sent: {url} is not on the base URL's host"));
        }
        let mut req = self
            .http
            .request(method, url)
            .header(MARKER_HEADER, &self.run_id)
            .header(
                "x-vtex-operation-id",
                format!("seller-check-{}-{n}", self.run_id),
            )
            .header("accept", "application/json");
        req = match (&self.credential, auth) {
            (Some(Credential::AppHeaders { key, token }), a) if a != Auth::Without => req
                .header("X-VTEX-API-AppKey", key)
                .header("X-VTEX-API-AppToken", pick(token, a, &self.run_id)),
            (Some(Credential::Authorization { key, token }), a) if a != Auth::Without => {
                let value = format!(
                    "VTEX key=\"{key}\" token=\"{}\"",
                    pick(token, a, &self.run_id)
                );
                match HeaderValue::from_str(&value) {
                    Ok(v) => req.header("authorization", v),
                    Err(_) => {
                        return refused("not sent: the app token is not a header value".into());
                    }
                }
            }
            _ => req,
        };
        req = match body {
            Some(Body::Json(v)) => req
                .header("content-type", "application/json")
                .body(v.to_string()),
            Some(Body::Raw(s)) => req.header("content-type", "application/json").body(s),
            None => req,
        };
        let started = Instant::now();
        match req.send().await {
            Err(e) => {
                let mut x = refused(transport_error(e));
                x.elapsed = started.elapsed();
                x
            }
            Ok(resp) => {
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                let text = resp.text().await.unwrap_or_default();
                let elapsed = started.elapsed();
                let json = serde_json::from_str(&text).ok();
                Exchange {
                    shown,
                    sent,
                    status: Some(status),
                    headers,
                    text,
                    json,
                    elapsed,
                    error: None,
                }
            }
        }
    }
}

fn pick(token: &str, auth: Auth, run_id: &str) -> String {
    match auth {
        Auth::Wrong => format!("wrong-{run_id}"),
        _ => token.to_string(),
    }
}

fn transport_error(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "no answer within the request timeout".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else {
        // Without the URL: it may carry the secret.
        format!("request failed: {}", e.without_url())
    }
}
