//! `--oms-listen`: seller-check plays the marketplace's OMS for the seller under test, answers as
//! OMS does (`{date, orderId, receipt}`, its error envelope, one 429 with `Retry-After`), keeps
//! every call, and judges them once the orders it placed are invoiced.
//!
//! Paths are matched from `/pvt/orders/` on, so both the OMS host form
//! (`/api/oms/pvt/orders/{id}/…`) and a marketplace-services-endpoint form (`{mse}/pvt/orders/…`)
//! are understood.

use crate::judge::{Judge, arr, is_int, is_iso_datetime, skip, str_of};
use crate::report::{Evidence, RuleResult, truncate};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Invoice,
    Tracking(String),
    Status(String),
    Cancel,
    GetOrder,
    Other,
}

#[derive(Debug, Clone)]
struct Call {
    at: Instant,
    method: String,
    path: String,
    /// The order id in the path, decoded.
    path_id: Option<String>,
    /// The marketplace order id the path id resolves to (it may have named the seller's id).
    order: Option<String>,
    kind: Kind,
    body: Option<Value>,
    raw: String,
    status: u16,
}

impl Call {
    fn evidence(&self) -> Evidence {
        Evidence {
            request: format!("{} {} (received)", self.method, self.path),
            sent: Some(truncate(&self.raw, 300)),
            status: Some(self.status),
            elapsed_ms: None,
            excerpt: format!("answered {}", self.status),
        }
    }

    fn invoice_number(&self) -> Option<String> {
        match &self.kind {
            Kind::Invoice => self
                .body
                .as_ref()
                .and_then(|b| str_of(b, "invoiceNumber"))
                .map(str::to_string),
            Kind::Tracking(n) | Kind::Status(n) => Some(n.clone()),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
struct Expected {
    marketplace_order_id: String,
    seller_order_id: String,
    value: i64,
    fulfilled_at: Option<Instant>,
}

struct State_ {
    expected: Vec<Expected>,
    calls: Vec<Call>,
    /// The one invoice answered 429: (order, invoice number, when).
    throttled: Option<(String, Option<String>, Instant)>,
    /// Accepted invoices: (order, number) → (type, value).
    invoices: HashMap<(String, String), (String, Option<i64>)>,
    tracked: HashSet<(String, String)>,
    retry_after: u64,
    receipts: u64,
}

type Shared = Arc<Mutex<State_>>;

pub struct Oms {
    state: Shared,
    pub addr: SocketAddr,
    retry_after: Duration,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Oms {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Oms {
    pub async fn start(addr: SocketAddr, retry_after_secs: u64) -> Result<Oms, String> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("--oms-listen {addr}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let state: Shared = Arc::new(Mutex::new(State_ {
            expected: Vec::new(),
            calls: Vec::new(),
            throttled: None,
            invoices: HashMap::new(),
            tracked: HashSet::new(),
            retry_after: retry_after_secs,
            receipts: 0,
        }));
        let app = Router::new().fallback(handle).with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Oms {
            state,
            addr,
            retry_after: Duration::from_secs(retry_after_secs),
            task,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State_> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An order this run placed, with the value its invoices must reach.
    pub fn expect(&self, marketplace_order_id: &str, seller_order_id: &str, value: i64) {
        self.lock().expected.push(Expected {
            marketplace_order_id: marketplace_order_id.into(),
            seller_order_id: seller_order_id.into(),
            value,
            fulfilled_at: None,
        });
    }

    /// The order's fulfill, sent at `sent`, was answered 200. The time is when the call went out,
    /// not when its answer came back: a seller may invoice as soon as it authorized, before its
    /// answer reaches us, and that invoice does follow the fulfill.
    pub fn fulfilled(&self, marketplace_order_id: &str, sent: Instant) {
        let mut s = self.lock();
        for e in s.expected.iter_mut() {
            if e.marketplace_order_id == marketplace_order_id && e.fulfilled_at.is_none() {
                e.fulfilled_at = Some(sent);
            }
        }
    }

    fn invoiced(&self, order: &str) -> (i64, Option<i64>) {
        let s = self.lock();
        let sum = s
            .invoices
            .iter()
            .filter(|((o, _), (t, _))| o == order && t == "Output")
            .map(|(_, (_, v))| v.unwrap_or(0))
            .sum();
        let value = s
            .expected
            .iter()
            .find(|e| e.marketplace_order_id == order)
            .map(|e| e.value);
        (sum, value)
    }

    /// Until the order's invoices reach its value and the seller has been quiet for `quiet` (its
    /// tracking may follow the last invoice), or `deadline`.
    pub async fn wait(&self, order: &str, deadline: Instant, quiet: Duration) {
        while Instant::now() < deadline {
            let (sum, value) = self.invoiced(order);
            let last = self.lock().calls.last().map(|c| c.at);
            if value.is_some_and(|v| sum >= v) && last.is_none_or(|t| t.elapsed() >= quiet) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The OMS rules, judged on every call received for the order `main`, fulfilled at `main`.
    pub fn judge(&self, main: &str, waited: Duration) -> Vec<RuleResult> {
        let s = self.lock();
        vec![
            invoice_fields(&s, main, waited),
            order_ids(&s),
            tracking_after_invoice(&s),
            events_after_tracking(&s),
            add_up(&s, main),
            retry_after(&s, self.retry_after),
        ]
    }
}

async fn handle(State(state): State<Shared>, method: Method, uri: Uri, body: Bytes) -> Response {
    let raw = String::from_utf8_lossy(&body).into_owned();
    let json: Option<Value> = serde_json::from_str(&raw).ok();
    let path = uri.path().to_string();
    let (path_id, kind) = parse(&path, &method);
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    let order = path_id.as_ref().and_then(|id| {
        s.expected
            .iter()
            .find(|e| &e.marketplace_order_id == id || &e.seller_order_id == id)
            .map(|e| e.marketplace_order_id.clone())
    });
    let mut retry_after = None;
    let (status, answer) = match (&kind, &order) {
        (Kind::Other, _) if path.contains("/notificator/") || path.contains("/catalog_system/") => {
            (StatusCode::ACCEPTED, Value::Null)
        }
        (Kind::Other, _) => (
            StatusCode::NOT_FOUND,
            envelope("OMS404", "No such OMS route"),
        ),
        (_, None) => (StatusCode::NOT_FOUND, envelope("OMS001", "Order not found")),
        (Kind::Invoice, Some(o)) => {
            let number = json
                .as_ref()
                .and_then(|b| str_of(b, "invoiceNumber"))
                .map(str::to_string);
            if s.throttled.is_none() {
                s.throttled = Some((o.clone(), number, Instant::now()));
                retry_after = Some(s.retry_after);
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    envelope("OMS429", "Too many requests"),
                )
            } else {
                let n = number.unwrap_or_default();
                let b = json.clone().unwrap_or(Value::Null);
                let kind = str_of(&b, "type").unwrap_or("").to_string();
                s.invoices
                    .entry((o.clone(), n.clone()))
                    .or_insert((kind, invoice_value(&b)));
                if str_of(&b, "trackingNumber").is_some_and(|t| !t.is_empty()) {
                    s.tracked.insert((o.clone(), n));
                }
                (StatusCode::OK, receipt(&mut s, o))
            }
        }
        (Kind::Tracking(n), Some(o)) => {
            if s.invoices.contains_key(&(o.clone(), n.clone())) {
                s.tracked.insert((o.clone(), n.clone()));
                (StatusCode::OK, receipt(&mut s, o))
            } else {
                (
                    StatusCode::NOT_FOUND,
                    envelope("OMS002", "Invoice not found"),
                )
            }
        }
        (Kind::Status(n), Some(o)) => {
            if s.tracked.contains(&(o.clone(), n.clone())) {
                (StatusCode::OK, receipt(&mut s, o))
            } else {
                (
                    StatusCode::BAD_REQUEST,
                    envelope("OMS003", "No tracking number for this invoice"),
                )
            }
        }
        (Kind::Cancel, Some(o)) => (StatusCode::OK, receipt(&mut s, o)),
        (Kind::GetOrder, Some(o)) => {
            let value = s
                .expected
                .iter()
                .find(|e| &e.marketplace_order_id == o)
                .map(|e| e.value);
            (StatusCode::OK, json!({"orderId": o, "value": value}))
        }
    };
    s.calls.push(Call {
        at: Instant::now(),
        method: method.to_string(),
        path,
        path_id,
        order,
        kind,
        body: json,
        raw,
        status: status.as_u16(),
    });
    drop(s);
    let mut resp = if answer.is_null() {
        status.into_response()
    } else {
        (status, axum::Json(answer)).into_response()
    };
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert("retry-after", HeaderValue::from(secs));
    }
    resp
}

fn receipt(s: &mut State_, order: &str) -> Value {
    s.receipts += 1;
    json!({
        "date": chrono::Utc::now().to_rfc3339(),
        "orderId": order,
        "receipt": format!("seller-check-receipt-{}", s.receipts),
    })
}

fn envelope(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "exception": null}})
}

/// An integer, or a digit string (OMS's own schema types it as a string, C13).
fn invoice_value(b: &Value) -> Option<i64> {
    let v = b.get("invoiceValue")?;
    if is_int(v) {
        v.as_i64()
    } else {
        v.as_str()
            .filter(|s| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|s| s.parse().ok())
    }
}

fn parse(path: &str, method: &Method) -> (Option<String>, Kind) {
    let Some((_, rest)) = path.split_once("/pvt/orders/") else {
        return (None, Kind::Other);
    };
    let segs: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let id = segs.first().cloned();
    let kind = match (
        segs.len(),
        segs.get(1).map(String::as_str),
        segs.get(3).map(String::as_str),
    ) {
        (1, _, _) if method == Method::GET => Kind::GetOrder,
        (2, Some("invoice"), _) if method == Method::POST => Kind::Invoice,
        (3, Some("invoice"), _) if method == Method::PATCH || method == Method::POST => {
            Kind::Tracking(segs[2].clone())
        }
        (4, Some("invoice"), Some("tracking"))
            if method == Method::PUT || method == Method::POST =>
        {
            Kind::Status(segs[2].clone())
        }
        (2, Some("cancel"), _) if method == Method::POST => Kind::Cancel,
        _ => Kind::Other,
    };
    (id, kind)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn invoice_fields(s: &State_, main: &str, waited: Duration) -> RuleResult {
    let mut j = Judge::new();
    let invoices: Vec<&Call> = s.calls.iter().filter(|c| c.kind == Kind::Invoice).collect();
    if invoices.is_empty() {
        j.problem(format!(
            "no invoice reached the OMS in {:.0} s after the fulfill of {main} \
             (is the seller's VTEX base URL this listener, and did its ERP invoice the order? see --erp-hook)",
            waited.as_secs_f64()
        ));
    }
    for c in &invoices {
        j.saw_evidence(c.evidence());
        let at = format!("{} {}", c.method, c.path);
        if let Some(o) = &c.order {
            let fulfilled = s
                .expected
                .iter()
                .find(|e| &e.marketplace_order_id == o)
                .and_then(|e| e.fulfilled_at);
            j.ensure(fulfilled.is_some_and(|f| f <= c.at), || {
                format!(
                    "{at}: invoice for an order VTEX has not authorized (no /fulfill before it)"
                )
            });
        }
        let Some(b) = c.body.as_ref().filter(|b| b.is_object()) else {
            j.problem(format!("{at}: the body is not a JSON object"));
            continue;
        };
        j.ensure(
            matches!(str_of(b, "type"), Some("Output" | "Input")),
            || format!("{at}: type is {} (Output or Input)", show(b.get("type"))),
        );
        j.ensure(
            str_of(b, "invoiceNumber").is_some_and(|n| !n.is_empty()),
            || format!("{at}: invoiceNumber is missing"),
        );
        j.ensure(
            str_of(b, "issuanceDate").is_some_and(is_iso_datetime),
            || {
                format!(
                    "{at}: issuanceDate is {} (a date and a time)",
                    show(b.get("issuanceDate"))
                )
            },
        );
        j.ensure(invoice_value(b).is_some_and(|v| v > 0), || {
            format!(
                "{at}: invoiceValue is {} (integer cents > 0, freight share included)",
                show(b.get("invoiceValue"))
            )
        });
        let items = arr(b, "items");
        j.ensure(!items.is_empty(), || {
            format!("{at}: items[] is empty or missing")
        });
        for (i, it) in items.iter().enumerate() {
            j.ensure(it.get("id").is_some_and(Value::is_string), || {
                format!("{at}: items[{i}].id is {}", show(it.get("id")))
            });
            j.ensure(
                it.get("price")
                    .is_some_and(|p| is_int(p) && p.as_i64().unwrap_or(-1) >= 0),
                || {
                    format!(
                        "{at}: items[{i}].price is {} (the unit price in integer cents)",
                        show(it.get("price"))
                    )
                },
            );
            j.ensure(
                it.get("quantity")
                    .is_some_and(|q| is_int(q) && q.as_i64().unwrap_or(0) > 0),
                || {
                    format!(
                        "{at}: items[{i}].quantity is {} (a whole number > 0)",
                        show(it.get("quantity"))
                    )
                },
            );
        }
    }
    j.finish(
        "oms.invoice-fields",
        format!(
            "{} invoice call(s), each after its fulfill and well formed",
            invoices.len()
        ),
    )
}

fn order_ids(s: &State_) -> RuleResult {
    let mut j = Judge::new();
    let calls: Vec<&Call> = s.calls.iter().filter(|c| c.path_id.is_some()).collect();
    if calls.is_empty() {
        return skip(
            "oms.marketplace-order-id-in-path",
            "the seller made no OMS order call",
        );
    }
    for c in &calls {
        let id = c.path_id.as_deref().unwrap_or("");
        let is_marketplace = s.expected.iter().any(|e| e.marketplace_order_id == id);
        if !is_marketplace {
            j.saw_evidence(c.evidence());
            if s.expected.iter().any(|e| e.seller_order_id == id) {
                j.problem(format!("{} {}: the path carries the seller's orderId {id:?}, not the marketplaceOrderId", c.method, c.path));
            } else {
                j.problem(format!(
                    "{} {}: {id:?} is no marketplace order id this run placed",
                    c.method, c.path
                ));
            }
        }
    }
    if let Some(c) = calls.first() {
        j.saw_evidence(c.evidence());
    }
    j.finish(
        "oms.marketplace-order-id-in-path",
        format!("{} OMS calls, each on the marketplaceOrderId", calls.len()),
    )
}

fn tracking_after_invoice(s: &State_) -> RuleResult {
    let mut j = Judge::new();
    let mut n = 0;
    for (k, c) in s.calls.iter().enumerate() {
        let Kind::Tracking(number) = &c.kind else {
            continue;
        };
        n += 1;
        j.saw_evidence(c.evidence());
        let accepted_before = s.calls[..k].iter().any(|p| {
            p.kind == Kind::Invoice
                && p.status == 200
                && p.order == c.order
                && p.invoice_number().as_deref() == Some(number)
        });
        j.ensure(accepted_before, || {
            format!(
                "{} {}: tracking for invoice {number:?} before OMS accepted that invoice",
                c.method, c.path
            )
        });
        if let Some(b) = &c.body {
            j.ensure(
                str_of(b, "trackingNumber").is_some_and(|t| !t.is_empty()),
                || format!("{} {}: trackingNumber is missing", c.method, c.path),
            );
            j.ensure(b.get("isDelivered").is_none(), || {
                format!(
                    "{} {}: isDelivered belongs to PUT …/tracking, not to the tracking PATCH (C18)",
                    c.method, c.path
                )
            });
        }
    }
    if n == 0 {
        return j.skip(
            "oms.tracking-after-invoice",
            "the seller sent no tracking number",
        );
    }
    j.finish(
        "oms.tracking-after-invoice",
        format!("{n} tracking call(s), each on an accepted invoice"),
    )
}

fn events_after_tracking(s: &State_) -> RuleResult {
    let mut j = Judge::new();
    let mut n = 0;
    for (k, c) in s.calls.iter().enumerate() {
        let Kind::Status(number) = &c.kind else {
            continue;
        };
        n += 1;
        j.saw_evidence(c.evidence());
        let at = format!("{} {}", c.method, c.path);
        let tracked_before = s.calls[..k].iter().any(|p| {
            p.order == c.order
                && p.invoice_number().as_deref() == Some(number)
                && match &p.kind {
                    Kind::Tracking(_) => true,
                    Kind::Invoice => p
                        .body
                        .as_ref()
                        .and_then(|b| str_of(b, "trackingNumber"))
                        .is_some_and(|t| !t.is_empty()),
                    _ => false,
                }
        });
        j.ensure(tracked_before, || {
            format!("{at}: carrier events before any tracking number for invoice {number:?}")
        });
        let Some(b) = &c.body else {
            j.problem(format!("{at}: the body is not JSON"));
            continue;
        };
        j.ensure(b.get("isDelivered").is_some_and(Value::is_boolean), || {
            format!("{at}: isDelivered is {}", show(b.get("isDelivered")))
        });
        j.ensure(
            b.get("deliveredDate")
                .is_some_and(|d| d.is_null() || d.is_string()),
            || {
                format!(
                    "{at}: deliveredDate is {} (null until delivered)",
                    show(b.get("deliveredDate"))
                )
            },
        );
        match b.get("events").and_then(Value::as_array) {
            None => j.problem(format!("{at}: events[] is missing")),
            Some(events) => {
                for (e, ev) in events.iter().enumerate() {
                    for key in ["city", "state", "description", "date"] {
                        j.ensure(ev.get(key).is_some_and(Value::is_string), || {
                            format!("{at}: events[{e}].{key} is {}", show(ev.get(key)))
                        });
                    }
                }
            }
        }
    }
    if n == 0 {
        return j.skip(
            "oms.events-after-tracking",
            "the seller sent no carrier events",
        );
    }
    j.finish(
        "oms.events-after-tracking",
        format!("{n} carrier event call(s), each after a tracking number"),
    )
}

fn add_up(s: &State_, main: &str) -> RuleResult {
    let mut j = Judge::new();
    let Some(value) = s
        .expected
        .iter()
        .find(|e| e.marketplace_order_id == main)
        .map(|e| e.value)
    else {
        return skip("oms.invoices-add-up", "no order was placed");
    };
    let mut seen = HashSet::new();
    let mut sum = 0i64;
    let mut count = 0;
    for c in s
        .calls
        .iter()
        .filter(|c| c.kind == Kind::Invoice && c.status == 200 && c.order.as_deref() == Some(main))
    {
        let Some(b) = &c.body else { continue };
        if str_of(b, "type") != Some("Output") || !seen.insert(c.invoice_number()) {
            continue;
        }
        count += 1;
        j.saw_evidence(c.evidence());
        sum += invoice_value(b).unwrap_or(0);
        j.ensure(sum <= value, || {
            format!(
                "after invoice {}, Output invoices add up to {sum}, over the order value {value}",
                c.invoice_number().unwrap_or_default()
            )
        });
    }
    if count == 0 {
        return j.skip(
            "oms.invoices-add-up",
            "no Output invoice was accepted (see oms.invoice-fields)",
        );
    }
    j.ensure(sum == value, || {
        format!("{count} Output invoice(s) add up to {sum}, the order value is {value} (items at unit price plus freight)")
    });
    j.finish(
        "oms.invoices-add-up",
        format!("{count} Output invoice(s) add up to {value}, the order value"),
    )
}

fn retry_after(s: &State_, wait: Duration) -> RuleResult {
    let mut j = Judge::new();
    let Some((order, number, _)) = &s.throttled else {
        return skip(
            "oms.retry-after-429",
            "no invoice arrived, so none was answered 429",
        );
    };
    let Some(k) = s.calls.iter().position(|c| c.status == 429) else {
        return skip("oms.retry-after-429", "no invoice was answered 429");
    };
    j.saw_evidence(s.calls[k].evidence());
    let at = &s.calls[k].at;
    let again = s.calls[k + 1..].iter().find(|c| {
        c.kind == Kind::Invoice
            && c.order.as_ref() == Some(order)
            && (number.is_none() || c.invoice_number() == *number)
    });
    match again {
        None => j.problem(format!(
            "invoice {} answered 429 (Retry-After: {} s) was never sent again",
            number.clone().unwrap_or_default(),
            wait.as_secs()
        )),
        Some(c) => {
            j.saw_evidence(c.evidence());
            let gap = c.at.duration_since(*at);
            // The clocks are the same; the slack covers the scheduling of this listener only.
            j.ensure(gap + Duration::from_millis(50) >= wait, || {
                format!(
                    "sent again {} ms after the 429, before its Retry-After of {} s",
                    gap.as_millis(),
                    wait.as_secs()
                )
            });
        }
    }
    let gap = again
        .map(|c| c.at.duration_since(*at).as_millis())
        .unwrap_or(0);
    j.finish(
        "oms.retry-after-429",
        format!(
            "the invoice answered 429 (Retry-After: {} s) came again {gap} ms later",
            wait.as_secs()
        ),
    )
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "missing".into(),
        Some(v) => truncate(&v.to_string(), 80),
    }
}
