//! The outbound VTEX client (OMS calls of shared/docs/protocol.md §Invoices and tracking). Every
//! call answers a [`CallOutcome`]: the caller decides about retries (through its queue, never by
//! sleeping), this client only classifies what VTEX said.

use crate::oms::{CancelRequest, InvoiceRequest, OmsReceipt, TrackingPatch, TrackingStatusRequest};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use std::fmt;
use std::time::Duration;
use url::Url;

/// Production base: the marketplace account host. `{an}` is replaced by the order's account.
pub const PRODUCTION_BASE_URL: &str = "https://{an}.vtexcommercestable.com.br";

/// Default per-call timeout: long enough for a slow OMS, short enough to leave the Lambda time
/// to record the outcome.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest error body kept in a [`CallOutcome::Rejected`] (it lands in the order log).
pub(crate) const MAX_ERROR_BODY: usize = 600;

/// Most of a VTEX answer read. An order read back whole is tens of kilobytes; anything past
/// this is not an answer we use, and reading it could exhaust a 256 MB Lambda. Reading stops at
/// the limit (see [`read_limited`]).
pub const MAX_ANSWER_BYTES: usize = 2 * 1024 * 1024;

/// Longest `Retry-After` honoured: SQS's longest message delay. A longer (or absurd) value means
/// "later", not "in three years", and must not overflow date arithmetic downstream.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(15 * 60);

/// Longest id put into a URL path segment.
pub use domain::outbound::MAX_PATH_ID_LEN as MAX_SEGMENT_LEN;

/// The HTTP client every VTEX client of this crate uses: a timeout, a connect timeout, and no
/// redirects. reqwest would follow up to ten, stripping only the standard auth headers on a
/// cross-host hop, so `X-VTEX-API-AppKey` / `AppToken` would go wherever a 30x points; a 30x is
/// answered to the caller as it is (a refusal).
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, ClientError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(3)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| ClientError::Config(format!("HTTP client: {e}")))
}

/// Refuses a path segment that the URL would not carry as one opaque id, before any URL is built
/// ([`domain::outbound::path_id_problem`]). The error says why, never the value (it may be anything
/// a message carried). Every URL builder of this crate calls it on every segment.
pub fn check_segment(segment: &str) -> Result<(), ClientError> {
    match domain::outbound::path_id_problem(segment) {
        None => Ok(()),
        Some(why) => Err(ClientError::Config(format!(
            "refused before any call: an id in the URL path {why}"
        ))),
    }
}

pub(crate) fn check_segments(segments: &[&str]) -> Result<(), ClientError> {
    segments.iter().try_for_each(|s| check_segment(s))
}

/// What of a VTEX refusal's body is kept (it lands in the order log, the DLQ `reason` and the
/// logs): VTEX's error code and message when the body is its JSON envelope (`{"error": {"code",
/// "message"}}`, or a top-level `code` / `message` / `Message`), else the text; either way with
/// quoted spans and long digit runs removed ([`domain::wire_error::without_values`]: a placement
/// refusal may quote the customer's document or name), at most [`MAX_ERROR_BODY`] characters.
pub fn refusal_excerpt(text: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(text).ok();
    let pick = |v: &serde_json::Value, keys: &[&str]| -> Option<String> {
        keys.iter().find_map(|k| match v.get(*k)? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let summary = parsed.and_then(|v| {
        let inner = v.get("error").filter(|e| e.is_object()).unwrap_or(&v);
        let code = pick(inner, &["code", "Code"]);
        let message = pick(inner, &["message", "Message"]).or_else(|| pick(&v, &["error"]));
        match (code, message) {
            (None, None) => None,
            (Some(c), None) => Some(c),
            (None, Some(m)) => Some(m),
            (Some(c), Some(m)) => Some(format!("{c}: {m}")),
        }
    });
    let text = summary.as_deref().unwrap_or(text);
    domain::wire_error::without_values(text)
        .chars()
        .take(MAX_ERROR_BODY)
        .collect()
}

/// A response body read up to a limit.
pub(crate) struct Limited {
    /// What was read (lossy UTF-8), at most the limit.
    pub text: String,
    /// `false` when the body was longer than the limit (declared or seen): `text` is a prefix.
    pub complete: bool,
}

/// Reads at most `limit` bytes of `resp`'s body, stopping there (the rest is never read; the
/// connection is dropped). A body that fails mid-way reads as what arrived, like an empty one.
pub(crate) async fn read_limited(mut resp: reqwest::Response, limit: usize) -> Limited {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Limited {
            text: String::new(),
            complete: false,
        };
    }
    let mut buf: Vec<u8> = Vec::new();
    let mut complete = true;
    while let Ok(Some(chunk)) = resp.chunk().await {
        if buf.len() + chunk.len() > limit {
            buf.extend_from_slice(&chunk[..limit - buf.len()]);
            complete = false;
            break;
        }
        buf.extend_from_slice(&chunk);
    }
    Limited {
        text: String::from_utf8_lossy(&buf).into_owned(),
        complete,
    }
}

/// The VTEX app key and token ([`SecretString`]s: zeroed when dropped, exposed only to build the
/// request headers). `Debug` and `Display` never show them.
#[derive(Clone)]
pub struct AppCredentials {
    key: SecretString,
    token: SecretString,
}

impl PartialEq for AppCredentials {
    fn eq(&self, other: &Self) -> bool {
        self.matches(other.key.expose_secret(), other.token.expose_secret())
    }
}

impl Eq for AppCredentials {}

impl AppCredentials {
    pub fn new(key: impl Into<String>, token: impl Into<String>) -> Self {
        AppCredentials {
            key: SecretString::from(key.into()),
            token: SecretString::from(token.into()),
        }
    }

    /// Parses the Secrets Manager secret `{"appKey": "…", "appToken": "…"}`. The error never
    /// quotes the secret.
    pub fn from_secret_json(text: &str) -> Result<Self, ClientError> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Secret {
            app_key: String,
            app_token: String,
        }
        let s: Secret = serde_json::from_str(text).map_err(|_| {
            ClientError::Config(
                "credentials secret must be JSON {\"appKey\": \"…\", \"appToken\": \"…\"}".into(),
            )
        })?;
        if s.app_key.trim().is_empty() || s.app_token.trim().is_empty() {
            return Err(ClientError::Config(
                "credentials secret has an empty appKey or appToken".into(),
            ));
        }
        Ok(AppCredentials::new(s.app_key.trim(), s.app_token.trim()))
    }

    /// Whether `key`/`token` equal these credentials (for stand-ins and inbound checks).
    pub fn matches(&self, key: &str, token: &str) -> bool {
        // Length-independent compare; these are not hot paths.
        let eq = |a: &str, b: &str| {
            a.len() == b.len()
                && a.bytes()
                    .zip(b.bytes())
                    .fold(0u8, |acc, (x, y)| acc | (x ^ y))
                    == 0
        };
        eq(self.key.expose_secret(), key) & eq(self.token.expose_secret(), token)
    }

    pub(crate) fn headers(&self) -> Result<HeaderMap, ClientError> {
        let mut h = HeaderMap::new();
        let secret = |v: &str| {
            let mut hv = HeaderValue::from_str(v).map_err(|_| {
                ClientError::Config("app key/token is not a valid header value".into())
            })?;
            hv.set_sensitive(true);
            Ok::<_, ClientError>(hv)
        };
        h.insert("X-VTEX-API-AppKey", secret(self.key.expose_secret())?);
        h.insert("X-VTEX-API-AppToken", secret(self.token.expose_secret())?);
        h.insert(ACCEPT, HeaderValue::from_static("application/json"));
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok(h)
    }
}

impl fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppCredentials(<redacted>)")
    }
}

impl fmt::Display for AppCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What VTEX said to one OMS call, with OMS's receipt on success.
pub type CallOutcome = domain::outbound::CallOutcome<OmsReceipt>;

/// A call that could not even be built: configuration, not VTEX.
pub use domain::outbound::CallError as ClientError;

/// reqwest-based OMS client. Cheap to clone (shares the connection pool).
#[derive(Clone)]
pub struct VtexClient {
    http: reqwest::Client,
    base_url: String,
    default_account: Option<String>,
    creds: AppCredentials,
}

impl fmt::Debug for VtexClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VtexClient")
            .field("base_url", &self.base_url)
            .field("default_account", &self.default_account)
            .finish_non_exhaustive()
    }
}

impl VtexClient {
    /// `base_url` is either a fixed URL (a stand-in, a proxy) or a template containing `{an}`
    /// ([`PRODUCTION_BASE_URL`]), filled per call with the order's account.
    pub fn new(base_url: impl Into<String>, creds: AppCredentials) -> Result<Self, ClientError> {
        Self::with_timeout(base_url, creds, DEFAULT_TIMEOUT)
    }

    pub fn with_timeout(
        base_url: impl Into<String>,
        creds: AppCredentials,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        let base_url = base_url.into().trim_end_matches('/').to_string();
        Url::parse(&base_url.replace("{an}", "account"))
            .map_err(|e| ClientError::Config(format!("invalid VTEX base URL: {e}")))?;
        creds.headers()?;
        let http = http_client(timeout)?;
        Ok(VtexClient {
            http,
            base_url,
            default_account: None,
            creds,
        })
    }

    /// The connection pool and defaults of [`crate::accounts::AccountClients`]: it makes no call
    /// itself (its credentials are empty; VTEX would refuse them); every call goes through a
    /// [`VtexClient::for_account`] client with the account's own credentials.
    pub fn without_credentials(
        base_url: impl Into<String>,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        Self::with_timeout(base_url, AppCredentials::new("", ""), timeout)
    }

    /// A client for one marketplace account: `base_url` (a template with `{an}`, or fixed) and that
    /// account's credentials, sharing this client's connection pool, timeout and default account.
    pub fn for_account(
        &self,
        base_url: &str,
        creds: AppCredentials,
    ) -> Result<VtexClient, ClientError> {
        let base_url = base_url.trim().trim_end_matches('/').to_string();
        Url::parse(&base_url.replace("{an}", "account"))
            .map_err(|e| ClientError::Config(format!("invalid VTEX base URL: {e}")))?;
        creds.headers()?;
        Ok(VtexClient {
            http: self.http.clone(),
            base_url,
            default_account: self.default_account.clone(),
            creds,
        })
    }

    /// The base URL template calls go to when a marketplace entry names none.
    pub fn base_url_template(&self) -> &str {
        &self.base_url
    }

    /// The credentials this client sends.
    pub fn credentials(&self) -> &AppCredentials {
        &self.creds
    }

    /// The account used when an order carries no `an`.
    pub fn default_account(&self) -> Option<&str> {
        self.default_account.as_deref()
    }

    /// The account used when an order carries no `an` (endpoint registered without it).
    pub fn with_default_account(mut self, an: Option<String>) -> Self {
        self.default_account = an.filter(|a| !a.trim().is_empty());
        self
    }

    /// The base URL for `an`, with `{an}` filled in. Account names are host labels: refused unless
    /// `[A-Za-z0-9-]+`, so an order's data can never redirect our credentials to another host.
    pub fn base_for(&self, an: &str) -> Result<Url, ClientError> {
        let text = if self.base_url.contains("{an}") {
            let account = Some(an.trim())
                .filter(|a| !a.is_empty())
                .or(self.default_account.as_deref())
                .ok_or_else(|| {
                    ClientError::Config(
                        "order has no marketplace account (an) and no default account is configured"
                            .into(),
                    )
                })?;
            if !account
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(ClientError::Config(format!(
                    "account name {account:?} is not a valid host label"
                )));
            }
            self.base_url.replace("{an}", account)
        } else {
            self.base_url.clone()
        };
        Url::parse(&text).map_err(|e| ClientError::Config(format!("invalid VTEX base URL: {e}")))
    }

    fn oms_url(&self, an: &str, segments: &[&str]) -> Result<Url, ClientError> {
        check_segments(segments)?;
        let mut url = self.base_for(an)?;
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| ClientError::Config("VTEX base URL cannot have a path".into()))?;
            path.pop_if_empty();
            // Each id is one percent-encoded segment (shared/docs/protocol.md §Hosts and ids:
            // URL-encode the invoice number).
            path.extend(["api", "oms", "pvt", "orders"]);
            path.extend(segments);
        }
        Ok(url)
    }

    /// `POST /api/oms/pvt/orders/{marketplaceOrderId}/invoice` (§Invoices).
    pub async fn send_invoice(
        &self,
        an: &str,
        marketplace_order_id: &str,
        body: &InvoiceRequest,
    ) -> Result<CallOutcome, ClientError> {
        let url = self.oms_url(an, &[marketplace_order_id, "invoice"])?;
        self.call(Method::POST, url, body).await
    }

    /// `PATCH …/invoice/{invoiceNumber}` (§Tracking).
    pub async fn patch_tracking(
        &self,
        an: &str,
        marketplace_order_id: &str,
        invoice_number: &str,
        body: &TrackingPatch,
    ) -> Result<CallOutcome, ClientError> {
        let url = self.oms_url(an, &[marketplace_order_id, "invoice", invoice_number])?;
        self.call(Method::PATCH, url, body).await
    }

    /// `PUT …/invoice/{invoiceNumber}/tracking` (§Carrier events).
    pub async fn put_tracking_status(
        &self,
        an: &str,
        marketplace_order_id: &str,
        invoice_number: &str,
        body: &TrackingStatusRequest,
    ) -> Result<CallOutcome, ClientError> {
        let url = self.oms_url(
            an,
            &[marketplace_order_id, "invoice", invoice_number, "tracking"],
        )?;
        self.call(Method::PUT, url, body).await
    }

    /// `POST /api/oms/pvt/orders/{marketplaceOrderId}/cancel` (§Seller cancel).
    pub async fn cancel_order(
        &self,
        an: &str,
        marketplace_order_id: &str,
        body: &CancelRequest,
    ) -> Result<CallOutcome, ClientError> {
        let url = self.oms_url(an, &[marketplace_order_id, "cancel"])?;
        self.call(Method::POST, url, body).await
    }

    async fn call<B: Serialize>(
        &self,
        method: Method,
        url: Url,
        body: &B,
    ) -> Result<CallOutcome, ClientError> {
        let headers = self.creds.headers()?;
        let path = url.path().to_string();
        let sent = self
            .http
            .request(method.clone(), url)
            .headers(headers)
            .json(body)
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => {
                let kind = if e.is_timeout() {
                    "timeout"
                } else if e.is_connect() {
                    "connection failed"
                } else {
                    "transport error"
                };
                tracing::warn!(%method, path, kind, "VTEX call failed");
                return Ok(CallOutcome::Retryable {
                    retry_after: None,
                    reason: format!("{kind} calling VTEX"),
                });
            }
        };
        let status = resp.status();
        let retry_after = parse_retry_after(resp.headers().get(RETRY_AFTER));
        let body = read_limited(resp, MAX_ANSWER_BYTES).await;
        tracing::info!(%method, path, status = status.as_u16(), complete = body.complete, "VTEX answered");
        Ok(classify(status, retry_after, &body.text))
    }
}

/// What VTEX answered to one call, unclassified, for calls that read more than a receipt (the
/// import flow in [`crate::fulfillment`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawAnswer {
    Answered {
        status: StatusCode,
        retry_after: Option<Duration>,
        text: String,
    },
    /// Timeout, connection or transport failure: the call may or may not have landed.
    NoAnswer { reason: String },
}

impl VtexClient {
    /// One call with this client's credentials; `body` `None` sends no body at all.
    pub(crate) async fn exchange(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
    ) -> Result<RawAnswer, ClientError> {
        let headers = self.creds.headers()?;
        let path = url.path().to_string();
        let mut request = self.http.request(method.clone(), url).headers(headers);
        if let Some(b) = body {
            request = request.json(b);
        }
        let resp = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let kind = if e.is_timeout() {
                    "timeout"
                } else if e.is_connect() {
                    "connection failed"
                } else {
                    "transport error"
                };
                tracing::warn!(%method, path, kind, "VTEX call failed");
                return Ok(RawAnswer::NoAnswer {
                    reason: format!("{kind} calling VTEX"),
                });
            }
        };
        let status = resp.status();
        let retry_after = parse_retry_after(resp.headers().get(RETRY_AFTER));
        let body = read_limited(resp, MAX_ANSWER_BYTES).await;
        tracing::info!(%method, path, status = status.as_u16(), complete = body.complete, "VTEX answered");
        if !body.complete && status.is_success() {
            // What the caller would parse is cut: the answer was not read, as if none came. A
            // refusal keeps its status (its body is cut to an excerpt anyway).
            return Ok(RawAnswer::NoAnswer {
                reason: format!(
                    "VTEX answered {} with a body over the limit",
                    status.as_u16()
                ),
            });
        }
        Ok(RawAnswer::Answered {
            status,
            retry_after,
            text: body.text,
        })
    }
}

fn classify(status: StatusCode, retry_after: Option<Duration>, text: &str) -> CallOutcome {
    if status.is_success() {
        return CallOutcome::Success(serde_json::from_str(text).unwrap_or_default());
    }
    if status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
    {
        return CallOutcome::Retryable {
            retry_after,
            reason: format!("VTEX answered {}", status.as_u16()),
        };
    }
    CallOutcome::Rejected {
        status: status.as_u16(),
        body: refusal_excerpt(text),
    }
}

/// `Retry-After` as delta-seconds or an HTTP date, capped at [`MAX_RETRY_AFTER`].
pub fn parse_retry_after(value: Option<&HeaderValue>) -> Option<Duration> {
    let v = value?.to_str().ok()?.trim();
    let wait = if let Ok(secs) = v.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
        let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
        delta.to_std().unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> VtexClient {
        VtexClient::new(base, AppCredentials::new("vtexappkey-x", "SECRET-TOKEN")).unwrap()
    }

    #[test]
    fn credentials_never_show_in_debug_or_display() {
        let c = AppCredentials::new("vtexappkey-x", "SECRET-TOKEN");
        let shown = format!("{c:?} {c} {:?}", client("http://127.0.0.1:1"));
        assert!(
            !shown.contains("SECRET") && !shown.contains("vtexappkey"),
            "{shown}"
        );
    }

    #[test]
    fn secret_json_parses_and_errors_do_not_quote_it() {
        let c = AppCredentials::from_secret_json(r#"{"appKey":"k","appToken":"t"}"#).unwrap();
        assert!(c.matches("k", "t"));
        assert!(!c.matches("k", "x"));
        let err = AppCredentials::from_secret_json(r#"{"appKey":"SECRET"}"#).unwrap_err();
        assert!(!err.to_string().contains("SECRET"));
    }

    #[test]
    fn production_base_takes_the_orders_account_or_the_default() {
        let c = client(PRODUCTION_BASE_URL);
        assert_eq!(
            c.base_for("luxstore").unwrap().as_str(),
            "https://luxstore.vtexcommercestable.com.br/"
        );
        assert!(c.base_for("").is_err());
        let c = c.with_default_account(Some("mkp".into()));
        assert_eq!(
            c.base_for("").unwrap().host_str(),
            Some("mkp.vtexcommercestable.com.br")
        );
        assert!(c.base_for("evil.com/x").is_err());
    }

    #[test]
    fn ids_are_percent_encoded_path_segments() {
        let c = client("http://127.0.0.1:9/prefix/");
        let url = c
            .oms_url("", &["959311095-01", "invoice", "NF 1?#%"])
            .unwrap();
        assert_eq!(
            url.path(),
            "/prefix/api/oms/pvt/orders/959311095-01/invoice/NF%201%3F%23%25"
        );
    }

    #[test]
    fn statuses_are_classified() {
        assert!(matches!(
            classify(StatusCode::OK, None, r#"{"receipt":"r"}"#),
            CallOutcome::Success(OmsReceipt {
                receipt: Some(_),
                ..
            })
        ));
        assert!(matches!(
            classify(StatusCode::OK, None, ""),
            CallOutcome::Success(_)
        ));
        for s in [429u16, 500, 502, 503, 504] {
            assert!(matches!(
                classify(StatusCode::from_u16(s).unwrap(), None, ""),
                CallOutcome::Retryable { .. }
            ));
        }
        for s in [400u16, 401, 403, 404, 409] {
            assert!(matches!(
                classify(StatusCode::from_u16(s).unwrap(), None, "x"),
                CallOutcome::Rejected { .. }
            ));
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(
            parse_retry_after(Some(&HeaderValue::from_static("7"))),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after(Some(&HeaderValue::from_static(
                "Wed, 21 Oct 2015 07:28:00 GMT"
            ))),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after(Some(&HeaderValue::from_static("soon"))),
            None
        );
    }

    #[tokio::test]
    async fn an_unreachable_host_is_retryable() {
        let c = VtexClient::with_timeout(
            "http://127.0.0.1:9",
            AppCredentials::new("k", "t"),
            Duration::from_millis(500),
        )
        .unwrap();
        let out = c
            .cancel_order("", "1", &CancelRequest { reason: "x".into() })
            .await
            .unwrap();
        assert!(matches!(out, CallOutcome::Retryable { .. }), "{out:?}");
    }

    /// A local server: every request is counted with its headers, and answered by `answer`.
    async fn serve(
        answer: fn() -> axum::response::Response,
    ) -> (String, std::sync::Arc<std::sync::Mutex<Vec<HeaderMap>>>) {
        use std::sync::{Arc, Mutex};
        let seen: Arc<Mutex<Vec<HeaderMap>>> = Arc::default();
        let log = seen.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap| {
            log.lock().unwrap().push(headers);
            async move { answer() }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{addr}"), seen)
    }

    fn creds() -> AppCredentials {
        AppCredentials::new("vtexappkey-home", "HOME-TOKEN")
    }

    #[tokio::test]
    async fn a_redirect_is_answered_not_followed_and_the_credentials_stay_home() {
        use axum::response::IntoResponse;
        // Where the redirect points: it must never be called.
        let (elsewhere, seen_elsewhere) = serve(|| "ok".into_response()).await;
        static TARGET: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        TARGET.set(format!("{elsewhere}/collect")).unwrap();
        let (home, seen_home) = serve(|| {
            (
                StatusCode::TEMPORARY_REDIRECT,
                [("location", TARGET.get().unwrap().as_str())],
            )
                .into_response()
        })
        .await;
        let oms = VtexClient::new(home.clone(), creds()).unwrap();
        let out = oms
            .cancel_order("", "959311095", &CancelRequest { reason: "x".into() })
            .await
            .unwrap();
        assert!(
            matches!(out, CallOutcome::Rejected { status: 307, .. }),
            "{out:?}"
        );
        let catalog = crate::catalog::CatalogClient::with_defaults(
            &crate::catalog::CatalogEndpoints {
                base_url: home.clone(),
                suggestions_base_url: home,
                account: "mkp".into(),
                seller_id: "1".into(),
            },
            creds(),
        )
        .unwrap();
        let out = catalog
            .notify(crate::catalog::NotifyKind::Price, "2002495")
            .await
            .unwrap();
        assert!(
            matches!(
                out,
                domain::outbound::CatalogOutcome::Rejected { status: 307, .. }
            ),
            "{out:?}"
        );
        assert_eq!(seen_home.lock().unwrap().len(), 2);
        assert!(
            seen_elsewhere.lock().unwrap().is_empty(),
            "the redirect was followed, with {:?}",
            seen_elsewhere.lock().unwrap()
        );
    }

    #[test]
    fn retry_after_is_capped_however_long_it_says() {
        for v in [
            "99999999999999",
            "18446744073709551615",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            assert_eq!(
                parse_retry_after(Some(&HeaderValue::from_static(v))),
                Some(MAX_RETRY_AFTER),
                "{v}"
            );
        }
        // What a caller does with it (now + wait) cannot overflow.
        let wait = parse_retry_after(Some(&HeaderValue::from_static("99999999999999"))).unwrap();
        let _ = chrono::Utc::now() + chrono::Duration::from_std(wait).unwrap();
    }

    /// A 200 whose body never ends (streamed, no length) or declares more than the limit.
    fn endless() -> axum::response::Response {
        let chunk = bytes_of(64 * 1024);
        let stream = futures::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
        axum::response::Response::new(axum::body::Body::from_stream(stream))
    }

    fn bytes_of(n: usize) -> axum::body::Bytes {
        axum::body::Bytes::from(vec![b'x'; n])
    }

    fn declared_too_long() -> axum::response::Response {
        axum::response::Response::new(axum::body::Body::from(bytes_of(MAX_ANSWER_BYTES + 1)))
    }

    #[tokio::test]
    async fn an_answer_is_read_up_to_the_limit_and_no_further() {
        for answer in [
            endless as fn() -> axum::response::Response,
            declared_too_long,
        ] {
            let (base, _) = serve(answer).await;
            // Long enough that only the limit, not the timeout, can end an endless read.
            let c = VtexClient::with_timeout(base, creds(), Duration::from_secs(300)).unwrap();
            let url = c.oms_url("", &["959311095"]).unwrap();
            let out = c.exchange(Method::GET, url, None).await.unwrap();
            assert!(
                matches!(out, RawAnswer::NoAnswer { .. }),
                "a body over the limit was taken as an answer"
            );
        }
    }

    #[tokio::test]
    async fn ids_that_would_leave_their_path_segment_are_refused_before_any_call() {
        use axum::response::IntoResponse;
        let (base, seen) = serve(|| "{}".into_response()).await;
        let oms = VtexClient::new(base.clone(), creds()).unwrap();
        let catalog = crate::catalog::CatalogClient::with_defaults(
            &crate::catalog::CatalogEndpoints {
                base_url: base.clone(),
                suggestions_base_url: base,
                account: "mkp".into(),
                seller_id: "1".into(),
            },
            creds(),
        )
        .unwrap();
        let long = "9".repeat(MAX_SEGMENT_LEN + 1);
        for bad in [
            "..",
            ".",
            "",
            "959/311",
            "959\\311",
            "959\u{0}311",
            "959\n311",
            "959\u{7f}",
            &long,
        ] {
            let cancel = oms
                .cancel_order("", bad, &CancelRequest { reason: "x".into() })
                .await;
            assert!(
                matches!(cancel, Err(ClientError::Config(_))),
                "{bad:?}: {cancel:?}"
            );
            let invoice = oms
                .patch_tracking(
                    "",
                    "959311095",
                    bad,
                    &TrackingPatch {
                        tracking_number: "SR1".into(),
                        tracking_url: None,
                        courier: None,
                        dispatched_date: None,
                    },
                )
                .await;
            assert!(matches!(invoice, Err(ClientError::Config(_))), "{bad:?}");
            let notify = catalog
                .notify(crate::catalog::NotifyKind::Inventory, bad)
                .await;
            assert!(matches!(notify, Err(ClientError::Config(_))), "{bad:?}");
            let lookup = oms.get_order("", bad).await;
            assert!(matches!(lookup, Err(ClientError::Config(_))), "{bad:?}");
            if let Err(ClientError::Config(why)) = cancel
                && bad.len() > 2
            {
                assert!(!why.contains(bad), "the error quotes the id: {why}");
            }
        }
        assert!(
            seen.lock().unwrap().is_empty(),
            "a refused id reached the server"
        );
        // A long but valid id passes.
        let ok = oms
            .cancel_order(
                "",
                &"9".repeat(MAX_SEGMENT_LEN),
                &CancelRequest { reason: "x".into() },
            )
            .await;
        assert!(ok.is_ok(), "{ok:?}");
    }

    #[test]
    fn a_refusal_keeps_vtex_s_code_and_message_without_the_values_it_quotes() {
        let body = r#"{"error": {"code": "FMT007", "message": "Invalid document 14310315771 of client \"Jonas Alves\"", "exception": null}}"#;
        let CallOutcome::Rejected { status, body } = classify(StatusCode::BAD_REQUEST, None, body)
        else {
            panic!("a 400 is a refusal")
        };
        assert_eq!(status, 400);
        assert!(body.starts_with("FMT007: Invalid document"), "{body}");
        assert!(
            !body.contains("14310315771") && !body.contains("Jonas"),
            "{body}"
        );
        let plain = refusal_excerpt("<html>customer conta@dominio.com.br 'x' 41998718616</html>");
        assert!(!plain.contains("41998718616"), "{plain}");
        assert!(refusal_excerpt(&"x".repeat(5000)).chars().count() <= MAX_ERROR_BODY);
    }
}
