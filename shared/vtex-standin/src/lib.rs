//! A local stand-in for VTEX. It plays VTEX's side of the calls the connector makes, checks them the
//! way shared/docs/protocol.md describes, answers like VTEX, keeps every request it received, and
//! can be told to fail or to be slow. Tests start it in-process with [`serve`]; the `vtex-standin`
//! binary runs it for the local runner.
//!
//! Routes:
//! - VTEX's own (behind the [`gate`]: auth headers, fault injection, journal): [`oms`],
//!   [`catalog`] (notificator, change notification, suggestions) and [`fulfillment`] (the import
//!   flow in our own account).
//!   To add catalog / notificator / suggestion / import-flow routes: a new module with
//!   `pub fn routes() -> Router<Shared>` and its state behind a `Mutex` field of [`StandIn`], merged
//!   in [`vtex_routes`].
//! - Control (`/_standin/…`, no auth): `GET requests`, `POST faults`, `POST reset`, `POST orders`,
//!   `POST catalog/known`, `GET catalog/suggestions`, `GET|POST fulfillment`, `GET sellers`.
//!
//! # Several marketplace accounts
//!
//! [`StandInConfig::accounts`] are marketplace accounts, each with its own credentials: a call
//! under `/{an}/…` (the connector's base URL template `http://127.0.0.1:PORT/{an}`) is VTEX's
//! route `/…` of account `an`, checked against that account's credentials, and journaled with
//! `account` set. A call without such a prefix is the single account of
//! [`StandInConfig::credentials`] (`account` absent), as before. What the accounts hold (orders,
//! notifications) is one shared state: the journal tells the accounts apart.

pub mod catalog;
pub mod fulfillment;
pub mod oms;
pub mod placed;
pub mod sellers;

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use vtex::client::AppCredentials;
use vtex::oms::OmsErrorEnvelope;

/// Largest request body the stand-in reads (an invoice with an embedded XML fits).
const MAX_BODY: usize = 2 * 1024 * 1024;

/// Credentials the stand-in expects unless told otherwise (local runs and tests).
pub const DEFAULT_APP_KEY: &str = "vtexappkey-standin-LOCAL";
pub const DEFAULT_APP_TOKEN: &str = "standin-token";

#[derive(Debug, Clone)]
pub struct StandInConfig {
    /// The credentials of calls without an account prefix.
    pub credentials: AppCredentials,
    /// Marketplace accounts served under `/{an}/…`, by account name.
    pub accounts: BTreeMap<String, StandInAccount>,
}

/// One marketplace account of the stand-in.
#[derive(Debug, Clone)]
pub struct StandInAccount {
    pub credentials: AppCredentials,
    /// Whether its app key may register sellers (Seller Register's *Save Seller*); without it the
    /// Seller Register answers 403.
    pub may_register_sellers: bool,
}

impl Default for StandInConfig {
    fn default() -> Self {
        StandInConfig {
            credentials: AppCredentials::new(DEFAULT_APP_KEY, DEFAULT_APP_TOKEN),
            accounts: BTreeMap::new(),
        }
    }
}

impl StandInConfig {
    /// Adds the marketplace account `an` with its own credentials (allowed to register sellers).
    pub fn with_account(mut self, an: &str, credentials: AppCredentials) -> Self {
        self.accounts.insert(
            an.to_string(),
            StandInAccount {
                credentials,
                may_register_sellers: true,
            },
        );
        self
    }
}

/// The marketplace account a call was for (its `/{an}` prefix), as a request extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalledAccount(pub String);

/// Everything the stand-in knows. Each protocol area keeps its state behind its own lock.
#[derive(Debug)]
pub struct StandIn {
    pub config: StandInConfig,
    journal: Mutex<Vec<RecordedRequest>>,
    faults: Mutex<Faults>,
    pub oms: Mutex<oms::OmsState>,
    pub catalog: Mutex<catalog::CatalogState>,
    pub fulfillment: Mutex<fulfillment::FulfillmentState>,
    pub sellers: Mutex<sellers::SellersState>,
}

pub type Shared = Arc<StandIn>;

/// One request as received, and how it was answered. Credentials are never kept, only whether
/// they matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRequest {
    pub seq: u64,
    pub method: String,
    /// Path as received (percent-encoding kept).
    pub path: String,
    pub query: Option<String>,
    /// JSON body, or the raw text as a JSON string if it was not JSON, or null when empty.
    pub body: Value,
    pub status: u16,
    /// Answered by an injected fault: VTEX did not act on it.
    pub faulted: bool,
    pub authorized: bool,
    /// The marketplace account of the call (its `/{an}` prefix); absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

impl RecordedRequest {
    /// Accepted and acted upon (2xx, not a fault).
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status) && !self.faulted
    }
}

/// `POST /_standin/faults` body. Every field optional; a new body replaces the previous plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultPlan {
    /// Fail every n-th VTEX call (counting from this plan) with `status`.
    #[serde(default)]
    pub fail_every: Option<u64>,
    /// Status for `failEvery` (default 500).
    #[serde(default)]
    pub status: Option<u16>,
    /// Statuses for the next calls, in order, before `failEvery` applies.
    #[serde(default)]
    pub next: Vec<u16>,
    /// Delay before answering each VTEX call.
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// `Retry-After` seconds sent with 429 (and 503) answers; default 1.
    #[serde(default)]
    pub retry_after: Option<u64>,
}

#[derive(Debug, Default)]
struct Faults {
    plan: FaultPlan,
    next: VecDeque<u16>,
    calls: u64,
}

impl StandIn {
    pub fn new(config: StandInConfig) -> Shared {
        Arc::new(StandIn {
            config,
            journal: Mutex::new(Vec::new()),
            faults: Mutex::new(Faults::default()),
            oms: Mutex::new(oms::OmsState::default()),
            catalog: Mutex::new(catalog::CatalogState::default()),
            fulfillment: Mutex::new(fulfillment::FulfillmentState::default()),
            sellers: Mutex::new(sellers::SellersState::default()),
        })
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.journal).clone()
    }

    pub fn set_faults(&self, plan: FaultPlan) {
        let mut f = lock(&self.faults);
        f.next = plan.next.iter().copied().collect();
        f.plan = plan;
        f.calls = 0;
    }

    /// Takes the orders of a placement body as VTEX placed them ([`placed`]): OMS holds each at
    /// the value computed from the body. An order already held (VTEX retrying its placement)
    /// keeps what it has.
    pub fn place(&self, body: &Value) -> Result<Vec<placed::PlacedOrder>, String> {
        let orders = placed::placed_orders(body)?;
        let mut oms = lock(&self.oms);
        for o in &orders {
            oms.orders
                .entry(o.marketplace_order_id.clone())
                .or_insert_with(|| oms::OmsOrder {
                    value: Some(o.value),
                    ..oms::OmsOrder::default()
                });
        }
        Ok(orders)
    }

    /// Forgets requests, faults and every protocol area's state.
    pub fn reset(&self) {
        lock(&self.journal).clear();
        *lock(&self.faults) = Faults::default();
        *lock(&self.oms) = oms::OmsState::default();
        *lock(&self.catalog) = catalog::CatalogState::default();
        *lock(&self.fulfillment) = fulfillment::FulfillmentState::default();
        *lock(&self.sellers) = sellers::SellersState::default();
    }

    fn record(&self, mut r: RecordedRequest) {
        let mut j = lock(&self.journal);
        r.seq = j.len() as u64 + 1;
        j.push(r);
    }

    /// The fault (status, retry-after, delay) for the next VTEX call, if any.
    fn next_fault(&self) -> (Option<(u16, u64)>, Duration) {
        let mut f = lock(&self.faults);
        f.calls += 1;
        let delay = Duration::from_millis(f.plan.delay_ms.unwrap_or(0));
        let retry_after = f.plan.retry_after.unwrap_or(1);
        if let Some(s) = f.next.pop_front() {
            return (Some((s, retry_after)), delay);
        }
        let fault = match f.plan.fail_every {
            Some(n) if n > 0 && f.calls.is_multiple_of(n) => {
                Some((f.plan.status.unwrap_or(500), retry_after))
            }
            _ => None,
        };
        (fault, delay)
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An OMS-style error answer.
pub fn oms_error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(OmsErrorEnvelope::new(code, message))).into_response()
}

/// Routes VTEX would serve, wrapped by the gate.
pub fn vtex_routes(state: Shared) -> Router {
    Router::new()
        .merge(oms::routes())
        .merge(catalog::routes())
        .merge(fulfillment::routes())
        .merge(sellers::routes())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            fulfillment::imported_orders,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), gate))
        .with_state(state)
}

/// The whole stand-in: VTEX routes plus `/_standin/…` control routes, with the accounts'
/// `/{an}` prefixes taken off before routing ([`account_prefix`]).
pub fn router(state: Shared) -> Router {
    Router::new()
        .fallback_service(unprefixed_router(state.clone()))
        .layer(middleware::from_fn_with_state(state, account_prefix))
}

/// A call under `/{an}/…` for a configured account is the route `/…` of that account: the prefix
/// is taken off and the account handed on as [`CalledAccount`]. The suggestions API already
/// carries the account in its path (`/{an}/suggestions/…`), so its path is kept whole.
async fn account_prefix(State(s): State<Shared>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let (first, rest) = match path.strip_prefix('/').and_then(|p| p.split_once('/')) {
        Some((first, rest)) => (first.to_string(), format!("/{rest}")),
        None => return next.run(req).await,
    };
    if !s.config.accounts.contains_key(&first) {
        return next.run(req).await;
    }
    if !rest.starts_with("/suggestions/") {
        let path_and_query = match req.uri().query() {
            Some(q) => format!("{rest}?{q}"),
            None => rest,
        };
        let mut parts = req.uri().clone().into_parts();
        match path_and_query.parse() {
            Ok(pq) => parts.path_and_query = Some(pq),
            Err(_) => return StatusCode::BAD_REQUEST.into_response(),
        }
        match axum::http::Uri::from_parts(parts) {
            Ok(uri) => *req.uri_mut() = uri,
            Err(_) => return StatusCode::BAD_REQUEST.into_response(),
        }
    }
    req.extensions_mut().insert(CalledAccount(first));
    next.run(req).await
}

fn unprefixed_router(state: Shared) -> Router {
    let control = Router::new()
        .route("/_standin/requests", get(list_requests))
        .route("/_standin/faults", post(set_faults))
        .route("/_standin/reset", post(reset))
        .route("/_standin/orders", post(oms::register_orders))
        .with_state(state.clone());
    let catalog_control = catalog::control_routes().with_state(state.clone());
    let fulfillment_control = fulfillment::control_routes().with_state(state.clone());
    control
        .merge(catalog_control)
        .merge(fulfillment_control)
        .merge(oms::control_routes().with_state(state.clone()))
        .merge(sellers::control_routes().with_state(state.clone()))
        .merge(vtex_routes(state))
}

async fn list_requests(State(s): State<Shared>) -> Json<Vec<RecordedRequest>> {
    Json(s.requests())
}

async fn set_faults(State(s): State<Shared>, body: Bytes) -> Response {
    match serde_json::from_slice::<FaultPlan>(&body) {
        Ok(plan) => {
            s.set_faults(plan);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => oms_error(StatusCode::BAD_REQUEST, "STANDIN001", e.to_string()),
    }
}

async fn reset(State(s): State<Shared>) -> StatusCode {
    s.reset();
    StatusCode::NO_CONTENT
}

/// Every VTEX route passes here: faults first (VTEX fails before it acts), then the auth headers,
/// then the handler; whatever happens is journaled.
async fn gate(State(s): State<Shared>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_BODY).await.unwrap_or_default();
    let header = |n: &str| parts.headers.get(n).and_then(|v| v.to_str().ok());
    let account = parts.extensions.get::<CalledAccount>().map(|a| a.0.clone());
    // Each account checks its own credentials: another account's key is refused (403).
    let expected = account
        .as_ref()
        .and_then(|a| s.config.accounts.get(a))
        .map_or(&s.config.credentials, |a| &a.credentials);
    let authorized = match (header("x-vtex-api-appkey"), header("x-vtex-api-apptoken")) {
        (Some(k), Some(t)) => expected.matches(k, t),
        _ => false,
    };
    let mut rec = RecordedRequest {
        seq: 0,
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        body: if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        },
        status: 0,
        faulted: false,
        authorized,
        account,
    };
    let (fault, delay) = s.next_fault();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let resp = if let Some((status, retry_after)) = fault {
        rec.faulted = true;
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = oms_error(code, "STANDIN-FAULT", "injected fault");
        if (status == 429 || status == 503)
            && let Ok(v) = HeaderValue::from_str(&retry_after.to_string())
        {
            r.headers_mut().insert("retry-after", v);
        }
        r
    } else if header("x-vtex-api-appkey").is_none() || header("x-vtex-api-apptoken").is_none() {
        oms_error(
            StatusCode::UNAUTHORIZED,
            "AUTH001",
            "X-VTEX-API-AppKey and X-VTEX-API-AppToken are required",
        )
    } else if !authorized {
        oms_error(
            StatusCode::FORBIDDEN,
            "AUTH002",
            "The credentials are not valid for this account",
        )
    } else if let Some(refusal) = content_type_refusal(&parts) {
        refusal
    } else {
        next.run(Request::from_parts(parts, Body::from(bytes)))
            .await
    };
    rec.status = resp.status().as_u16();
    s.record(rec);
    resp
}

/// OMS reads its bodies as JSON only: a POST, PATCH or PUT under `/api/oms/` without
/// `Content-Type: application/json` is answered 415 before anything is read.
fn content_type_refusal(parts: &axum::http::request::Parts) -> Option<Response> {
    use axum::http::Method;
    if !parts.uri.path().starts_with("/api/oms/")
        || !matches!(parts.method, Method::POST | Method::PATCH | Method::PUT)
    {
        return None;
    }
    let json = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    (!json).then(|| {
        oms_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "OMS415",
            "Content-Type must be application/json",
        )
    })
}

/// Serves the stand-in on `addr` (port 0 picks a free one) with the default credentials.
pub async fn serve(addr: SocketAddr) -> std::io::Result<(SocketAddr, ServerHandle)> {
    serve_with(addr, StandInConfig::default()).await
}

pub async fn serve_with(
    addr: SocketAddr,
    config: StandInConfig,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let state = StandIn::new(config);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let app = router(state.clone());
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "stand-in server stopped");
        }
    });
    Ok((local, ServerHandle { state, task }))
}

/// A running stand-in. Dropping it stops the server.
#[derive(Debug)]
pub struct ServerHandle {
    state: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl ServerHandle {
    /// Direct access to what the stand-in holds (tests may also use the HTTP control routes).
    pub fn state(&self) -> &Shared {
        &self.state
    }

    pub fn credentials(&self) -> AppCredentials {
        self.state.config.credentials.clone()
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `{date, orderId, receipt}` answer.
pub fn receipt(order_id: &str) -> Response {
    Json(json!({
        "date": chrono::Utc::now().to_rfc3339(),
        "orderId": order_id,
        "receipt": uuid::Uuid::new_v4().simple().to_string(),
    }))
    .into_response()
}
