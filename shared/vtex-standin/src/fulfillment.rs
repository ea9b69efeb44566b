//! The import flow as our own VTEX account plays it (shared/docs/protocol.md §Import,
//! §Marketplace services endpoint): place a fulfillment order for an affiliate, authorize its
//! dispatch, start handling once the grace period passed, and — for invoices on an imported order —
//! notify the order's marketplace-services endpoint the way OMS does (`POST
//! {mse}/pub/orders/{orderId}/invoice`).
//!
//! Where VTEX's behaviour is unknown the stand-in takes the stricter plausible choice, so a
//! connector bug shows here: placing the same `(affiliateId, marketplaceOrderId)` twice is refused
//! (409), authorizing twice is refused (409), and start-handling answers `409 OMS003` outside
//! `ready-for-handling` (before the grace period ends, and after handling started).
//!
//! Order statuses: `waiting-ffmt-authorization` → (authorize) `window-to-cancel` → (grace)
//! `ready-for-handling` → (start-handling) `handling`; `invoiced` once the sale invoices reach
//! the order value; `canceled`. Invoices, tracking and cancel use the [`crate::oms`] routes; a
//! middleware ([`imported_orders`]) answers `GET` for imported orders and calls the mse.
//!
//! Control: `GET /_standin/fulfillment` (orders, mse calls), `POST /_standin/fulfillment`
//! `{"graceSeconds": 0, "knownSkus": ["1", "2"] | null}`.

use crate::{Shared, lock, oms_error};
use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Grace period between authorize-dispatch and `ready-for-handling` unless told otherwise (VTEX
/// uses 30 minutes; a few seconds keep local runs short).
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// How long the stand-in waits for the connector's mse to answer.
const MSE_TIMEOUT: Duration = Duration::from_secs(5);

const MAX_BODY: usize = 2 * 1024 * 1024;

#[derive(Debug)]
pub struct FulfillmentState {
    /// Wait after authorize-dispatch before the order is `ready-for-handling`.
    pub grace: Duration,
    /// SKU ids a placement may name; `None` accepts any.
    pub known_skus: Option<BTreeSet<String>>,
    /// Imported orders by the order id the stand-in returned.
    pub orders: BTreeMap<String, ImportedOrder>,
    /// Every call made to a marketplace-services endpoint, oldest first.
    pub mse_calls: Vec<MseCall>,
    http: reqwest::Client,
}

impl Default for FulfillmentState {
    fn default() -> Self {
        FulfillmentState {
            grace: DEFAULT_GRACE,
            known_skus: None,
            orders: BTreeMap::new(),
            mse_calls: Vec::new(),
            http: reqwest::Client::builder()
                .timeout(MSE_TIMEOUT)
                .build()
                .unwrap_or_default(),
        }
    }
}

impl FulfillmentState {
    /// Placements (accepted) of `(affiliate, marketplace order)`.
    pub fn order_for(
        &self,
        affiliate_id: &str,
        marketplace_order_id: &str,
    ) -> Option<&ImportedOrder> {
        self.orders.values().find(|o| {
            o.affiliate_id == affiliate_id && o.marketplace_order_id == marketplace_order_id
        })
    }
}

/// One order placed through `POST /api/fulfillment/pvt/orders`.
#[derive(Debug, Clone)]
pub struct ImportedOrder {
    pub order_id: String,
    pub affiliate_id: String,
    pub sales_channel: Option<String>,
    pub marketplace_order_id: String,
    pub mse: String,
    /// Items plus freight, cents.
    pub value: i64,
    /// The placement element as received.
    pub body: Value,
    pub authorized_at: Option<Instant>,
    pub handling: bool,
}

impl ImportedOrder {
    /// The workflow status, before invoices and cancellation are considered.
    fn workflow_status(&self, grace: Duration) -> &'static str {
        match self.authorized_at {
            None => "waiting-ffmt-authorization",
            Some(_) if self.handling => "handling",
            Some(at) if at.elapsed() >= grace => "ready-for-handling",
            Some(_) => "window-to-cancel",
        }
    }
}

/// A notification the stand-in sent to an mse.
#[derive(Debug, Clone, PartialEq)]
pub struct MseCall {
    pub order_id: String,
    /// `invoice` (after an invoice POST) or `tracking` (after a tracking PATCH).
    pub kind: &'static str,
    pub body: Value,
    /// The mse's answer, or `None` when it could not be reached.
    pub status: Option<u16>,
}

/// The status OMS would report for an imported order.
fn status_of(s: &crate::StandIn, order: &ImportedOrder, grace: Duration) -> &'static str {
    let oms = lock(&s.oms);
    match oms.orders.get(&order.order_id) {
        Some(o) if o.canceled => "canceled",
        Some(o) if o.status() == "invoiced" => "invoiced",
        _ => order.workflow_status(grace),
    }
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/fulfillment/pvt/orders", post(place))
        .route("/api/fulfillment/pvt/orders/{id}/fulfill", post(authorize))
        .route(
            "/api/oms/pvt/orders/{id}/start-handling",
            post(start_handling),
        )
}

pub fn control_routes() -> Router<Shared> {
    Router::new().route("/_standin/fulfillment", get(show).post(configure))
}

fn bad(code: &str, message: impl Into<String>) -> Response {
    oms_error(StatusCode::BAD_REQUEST, code, message)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AffiliateQuery {
    #[serde(default)]
    affiliate_id: Option<String>,
    #[serde(default)]
    sc: Option<String>,
}

fn str_field<'a>(m: &'a Map<String, Value>, path: &str, key: &str) -> Result<&'a str, String> {
    match m.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(Value::String(_)) => Err(format!("{path}{key} must not be empty")),
        Some(_) => Err(format!("{path}{key} must be a string")),
        None => Err(format!("{path}{key} is required")),
    }
}

fn int_field(m: &Map<String, Value>, path: &str, key: &str, required: bool) -> Result<i64, String> {
    match m.get(key) {
        Some(Value::Number(n)) if n.is_i64() => n.as_i64().ok_or_else(|| key.to_string()),
        Some(Value::Number(_)) => Err(format!("{path}{key} must be an integer (cents)")),
        None | Some(Value::Null) if !required => Ok(0),
        Some(_) => Err(format!("{path}{key} must be an integer")),
        None => Err(format!("{path}{key} is required")),
    }
}

fn object<'a>(v: Option<&'a Value>, path: &str) -> Result<&'a Map<String, Value>, String> {
    v.and_then(Value::as_object)
        .ok_or_else(|| format!("{path} is required and must be an object"))
}

/// Checks one placement element as EMO describes it; returns `(marketplaceOrderId, mse, value,
/// SKU ids)`.
fn check_order(o: &Value) -> Result<(String, String, i64, Vec<String>), String> {
    let m = o.as_object().ok_or("each order must be a JSON object")?;
    let mkp = str_field(m, "", "marketplaceOrderId")?.to_string();
    let mse = str_field(m, "", "marketplaceServicesEndpoint")?.to_string();
    if !(mse.starts_with("http://") || mse.starts_with("https://")) {
        return Err("marketplaceServicesEndpoint must be a full URL".into());
    }
    int_field(m, "", "marketplacePaymentValue", true)?;
    let items = match m.get("items") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        _ => return Err("items is required and must not be empty".into()),
    };
    let mut value = 0i64;
    let mut skus = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let path = format!("items[{i}].");
        let it = it
            .as_object()
            .ok_or(format!("items[{i}] must be an object"))?;
        skus.push(str_field(it, &path, "id")?.to_string());
        str_field(it, &path, "seller")?;
        let q = int_field(it, &path, "quantity", true)?;
        if q < 1 {
            return Err(format!("{path}quantity must be at least 1"));
        }
        let price = int_field(it, &path, "price", false)?;
        value += price * q;
    }
    let client = object(m.get("clientProfileData"), "clientProfileData")?;
    for k in ["email", "firstName", "lastName", "documentType", "document"] {
        str_field(client, "clientProfileData.", k)?;
    }
    let shipping = object(m.get("shippingData"), "shippingData")?;
    let address = object(shipping.get("address"), "shippingData.address")?;
    for k in [
        "addressType",
        "receiverName",
        "postalCode",
        "city",
        "state",
        "country",
        "street",
        "number",
    ] {
        str_field(address, "shippingData.address.", k)?;
    }
    let logistics = match shipping.get("logisticsInfo") {
        Some(Value::Array(a)) => a,
        _ => return Err("shippingData.logisticsInfo is required (an array)".into()),
    };
    for (j, l) in logistics.iter().enumerate() {
        let path = format!("shippingData.logisticsInfo[{j}].");
        let l = l.as_object().ok_or(format!("{path} must be an object"))?;
        let index = int_field(l, &path, "itemIndex", true)?;
        if index < 0 || index as usize >= items.len() {
            return Err(format!("{path}itemIndex names no item"));
        }
        if !l.contains_key("selectedSla") {
            return Err(format!("{path}selectedSla is required (null allowed, C29)"));
        }
        value += int_field(l, &path, "price", true)?;
    }
    Ok((mkp, mse, value, skus))
}

/// `POST /api/fulfillment/pvt/orders?affiliateId=…&sc=…`: an array of orders (echoed with
/// `orderId`) or one object (answered in EMO's `{orderId, status, message, orderData}`).
async fn place(State(s): State<Shared>, Query(q): Query<AffiliateQuery>, body: Bytes) -> Response {
    let Some(affiliate) = q.affiliate_id.filter(|a| !a.trim().is_empty()) else {
        return bad("FMT001", "affiliateId is required in the query string");
    };
    if !(affiliate.len() == 3 && affiliate.bytes().all(|b| b.is_ascii_alphabetic())) {
        return bad("FMT001", "affiliateId must have three letters");
    }
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad("FMT002", format!("Invalid JSON: {e}")),
    };
    let (orders, as_array) = match parsed {
        Value::Array(a) if !a.is_empty() => (a, true),
        Value::Array(_) => return bad("FMT002", "The order list is empty"),
        o @ Value::Object(_) => (vec![o], false),
        _ => return bad("FMT002", "Body must be an order or an array of orders"),
    };
    let mut checked = Vec::new();
    for o in &orders {
        match check_order(o) {
            Ok(c) => checked.push(c),
            Err(m) => return bad("FMT003", m),
        }
    }
    let mut f = lock(&s.fulfillment);
    for (mkp, _, _, skus) in &checked {
        if let Some(known) = &f.known_skus
            && let Some(missing) = skus.iter().find(|id| !known.contains(*id))
        {
            return bad(
                "FMT007",
                format!(
                    "Item {missing} not found: the SKU does not exist or is not active in this account"
                ),
            );
        }
        let id = format!("{affiliate}-{mkp}");
        if f.orders.contains_key(&id) {
            return oms_error(
                StatusCode::CONFLICT,
                "FMT009",
                format!("Order {id} already exists"),
            );
        }
    }
    let mut answers = Vec::new();
    for (o, (mkp, mse, value, _)) in orders.iter().zip(checked) {
        let id = format!("{affiliate}-{mkp}");
        f.orders.insert(
            id.clone(),
            ImportedOrder {
                order_id: id.clone(),
                affiliate_id: affiliate.clone(),
                sales_channel: q.sc.clone(),
                marketplace_order_id: mkp.clone(),
                mse,
                value,
                body: o.clone(),
                authorized_at: None,
                handling: false,
            },
        );
        // OMS holds the order from now on: invoices are checked against its value.
        lock(&s.oms).orders.entry(id.clone()).or_default().value = Some(value);
        let mut echo = o.clone();
        if let Some(m) = echo.as_object_mut() {
            m.insert("orderId".into(), json!(id));
        }
        answers.push((id, echo));
    }
    if as_array {
        Json(Value::Array(answers.into_iter().map(|(_, e)| e).collect())).into_response()
    } else {
        let (id, data) = answers.remove(0);
        Json(json!({
            "orderId": id,
            "status": "success",
            "message": "Order placed successfully",
            "orderData": data,
        }))
        .into_response()
    }
}

/// `POST /api/fulfillment/pvt/orders/{orderId}/fulfill?affiliateId=…`: `{"marketplaceOrderId"}`
/// (EMO) or `[{"marketplaceOrderId"}]` (S0), answered `201` as EMO shows.
async fn authorize(
    State(s): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<AffiliateQuery>,
    body: Bytes,
) -> Response {
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad("FMT002", format!("Invalid JSON: {e}")),
    };
    let element = match &parsed {
        Value::Array(a) if a.len() == 1 => &a[0],
        other => other,
    };
    let Some(mkp) = element.get("marketplaceOrderId").and_then(Value::as_str) else {
        return bad("FMT003", "marketplaceOrderId is required");
    };
    let grace;
    {
        let f = lock(&s.fulfillment);
        grace = f.grace;
        let Some(order) = f.orders.get(&id) else {
            return oms_error(
                StatusCode::NOT_FOUND,
                "FMT404",
                format!("Order {id} not found"),
            );
        };
        if q.affiliate_id.as_deref() != Some(order.affiliate_id.as_str()) {
            return bad("FMT001", "affiliateId does not match the order's affiliate");
        }
        if order.marketplace_order_id != mkp {
            return bad("FMT003", "marketplaceOrderId does not match the order");
        }
        if order.authorized_at.is_some() {
            return oms_error(
                StatusCode::CONFLICT,
                "FMT012",
                format!("Order {id} is already authorized"),
            );
        }
    }
    let snapshot = lock(&s.fulfillment).orders.get(&id).cloned();
    if let Some(order) = snapshot
        && status_of(&s, &order, grace) == "canceled"
    {
        return oms_error(
            StatusCode::CONFLICT,
            "FMT013",
            format!("Order {id} is canceled"),
        );
    }
    if let Some(order) = lock(&s.fulfillment).orders.get_mut(&id) {
        order.authorized_at = Some(Instant::now());
    }
    (
        StatusCode::CREATED,
        Json(json!({
            "status": "success",
            "message": "Order created successfully",
            "orderId": id,
            "details": {
                "createdAt": chrono::Utc::now().to_rfc3339(),
                "marketplaceOrderId": mkp,
                "status": "pending",
            },
        })),
    )
        .into_response()
}

/// `POST /api/oms/pvt/orders/{orderId}/start-handling`: `204` in `ready-for-handling`, else
/// `409 OMS003`.
async fn start_handling(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    let (order, grace) = {
        let f = lock(&s.fulfillment);
        (f.orders.get(&id).cloned(), f.grace)
    };
    let Some(order) = order else {
        return oms_error(StatusCode::NOT_FOUND, "OMS404", "Order not found");
    };
    if status_of(&s, &order, grace) != "ready-for-handling" {
        return oms_error(
            StatusCode::CONFLICT,
            "OMS003",
            "Order status should be ready-for-handling to perform this action",
        );
    }
    if let Some(o) = lock(&s.fulfillment).orders.get_mut(&id) {
        o.handling = true;
    }
    StatusCode::NO_CONTENT.into_response()
}

/// The OMS view of an imported order (`GET /api/oms/pvt/orders/{orderId}`).
fn order_view(s: &crate::StandIn, order: &ImportedOrder, grace: Duration) -> Value {
    let status = status_of(s, order, grace);
    let packages: Vec<Value> = lock(&s.oms)
        .orders
        .get(&order.order_id)
        .map(|o| {
            o.invoices
                .iter()
                .map(|i| {
                    json!({
                        "invoiceNumber": i.number,
                        "invoiceValue": i.value,
                        "type": i.kind,
                        "trackingNumber": i.tracking_number,
                        "courier": i.courier,
                        "trackingUrl": i.tracking_url,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "orderId": order.order_id,
        "marketplaceOrderId": order.marketplace_order_id,
        "marketplaceServicesEndpoint": order.mse,
        "affiliateId": order.affiliate_id,
        "salesChannel": order.sales_channel,
        "origin": "Fulfillment",
        "status": status,
        "value": order.value,
        "packageAttachment": { "packages": packages },
    })
}

/// Layered over the VTEX routes (inside the gate): answers `GET` for imported orders, and after
/// an invoice POST or a tracking PATCH on an imported order that OMS accepted, notifies the
/// order's mse with the invoice as OMS then holds it.
pub async fn imported_orders(State(s): State<Shared>, req: Request, next: Next) -> Response {
    let segs: Vec<String> = req
        .uri()
        .path()
        .trim_start_matches('/')
        .split('/')
        .map(str::to_string)
        .collect();
    let oms_path = segs.len() >= 5 && segs[..4] == ["api", "oms", "pvt", "orders"];
    if !oms_path {
        return next.run(req).await;
    }
    let id = segs[4].clone();
    let (order, grace) = {
        let f = lock(&s.fulfillment);
        (f.orders.get(&id).cloned(), f.grace)
    };
    let Some(order) = order else {
        return next.run(req).await;
    };
    let method = req.method().clone();
    let rest: Vec<&str> = segs[5..].iter().map(String::as_str).collect();
    match (&method, rest.as_slice()) {
        (&Method::GET, []) => Json(order_view(&s, &order, grace)).into_response(),
        (&Method::POST, ["invoice"]) => {
            let (parts, body) = req.into_parts();
            let bytes = to_bytes(body, MAX_BODY).await.unwrap_or_default();
            let resp = next
                .run(Request::from_parts(parts, Body::from(bytes.clone())))
                .await;
            if resp.status().is_success()
                && let Ok(invoice) = serde_json::from_slice::<Value>(&bytes)
            {
                notify_mse(&s, &order, "invoice", invoice).await;
            }
            resp
        }
        (&Method::PATCH, ["invoice", number]) => {
            let number = (*number).to_string();
            let resp = next.run(req).await;
            if resp.status().is_success() {
                let stored = lock(&s.oms).orders.get(&id).and_then(|o| {
                    o.invoices.iter().find(|i| i.number == number).map(|i| {
                        let mut body = i.body.clone();
                        if let Some(m) = body.as_object_mut() {
                            m.insert("trackingNumber".into(), json!(i.tracking_number));
                            m.insert("courier".into(), json!(i.courier));
                            m.insert("trackingUrl".into(), json!(i.tracking_url));
                            m.insert("dispatchedDate".into(), json!(i.dispatched_date));
                        }
                        body
                    })
                });
                if let Some(body) = stored {
                    notify_mse(&s, &order, "tracking", body).await;
                }
            }
            resp
        }
        _ => next.run(req).await,
    }
}

/// `POST {mse}/pub/orders/{orderId}/invoice`, recorded in [`FulfillmentState::mse_calls`]. The
/// answer does not change VTEX's own answer.
async fn notify_mse(s: &crate::StandIn, order: &ImportedOrder, kind: &'static str, body: Value) {
    let http = lock(&s.fulfillment).http.clone();
    let status = match mse_url(&order.mse, &order.order_id) {
        Some(url) => match http.post(url).json(&body).send().await {
            Ok(r) => Some(r.status().as_u16()),
            Err(e) => {
                tracing::warn!(order_id = %order.order_id, error = %e.without_url(), "mse unreachable");
                None
            }
        },
        None => None,
    };
    lock(&s.fulfillment).mse_calls.push(MseCall {
        order_id: order.order_id.clone(),
        kind,
        body,
        status,
    });
}

/// `{mse}/pub/orders/{orderId}/invoice`, keeping the mse's own path and query.
fn mse_url(mse: &str, order_id: &str) -> Option<reqwest::Url> {
    let mut url = reqwest::Url::parse(mse).ok()?;
    {
        let mut path = url.path_segments_mut().ok()?;
        path.pop_if_empty();
        path.extend(["pub", "orders", order_id, "invoice"]);
    }
    Some(url)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Configure {
    #[serde(default)]
    grace_seconds: Option<f64>,
    /// Absent: unchanged; `null`: any SKU; a list: only these.
    #[serde(default, deserialize_with = "present")]
    known_skus: Option<Option<Vec<String>>>,
}

fn present<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<Vec<String>>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

async fn configure(State(s): State<Shared>, body: Bytes) -> Response {
    let c: Configure = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return oms_error(StatusCode::BAD_REQUEST, "STANDIN003", e.to_string()),
    };
    let mut f = lock(&s.fulfillment);
    if let Some(secs) = c.grace_seconds {
        if !(secs.is_finite() && secs >= 0.0) {
            return oms_error(
                StatusCode::BAD_REQUEST,
                "STANDIN003",
                "graceSeconds must be >= 0",
            );
        }
        f.grace = Duration::from_secs_f64(secs);
    }
    if let Some(skus) = c.known_skus {
        f.known_skus = skus.map(|v| v.into_iter().collect());
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn show(State(s): State<Shared>) -> Response {
    let (orders, grace, known, calls) = {
        let f = lock(&s.fulfillment);
        (
            f.orders.values().cloned().collect::<Vec<_>>(),
            f.grace,
            f.known_skus.clone(),
            f.mse_calls.clone(),
        )
    };
    let orders: Vec<Value> = orders.iter().map(|o| order_view(&s, o, grace)).collect();
    let calls: Vec<Value> = calls
        .iter()
        .map(|c| json!({"orderId": c.order_id, "kind": c.kind, "status": c.status, "body": c.body}))
        .collect();
    Json(json!({
        "graceSeconds": grace.as_secs_f64(),
        "knownSkus": known,
        "orders": orders,
        "mseCalls": calls,
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mse_url_appends_the_protocol_path() {
        assert_eq!(
            mse_url("https://api.example.com/vtex/s3cr3t", "EXT-1")
                .unwrap()
                .as_str(),
            "https://api.example.com/vtex/s3cr3t/pub/orders/EXT-1/invoice"
        );
        assert_eq!(
            mse_url("http://127.0.0.1:9/mse/?an=x", "EXT-1")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/mse/pub/orders/EXT-1/invoice?an=x"
        );
        assert!(mse_url("not a url", "EXT-1").is_none());
    }

    #[test]
    fn placement_checks_name_the_missing_field() {
        let mut o = json!({
            "marketplaceOrderId": "1", "marketplaceServicesEndpoint": "https://mse",
            "marketplacePaymentValue": 1100,
            "items": [{"id": "1", "quantity": 1, "seller": "1", "price": 900}],
            "clientProfileData": {"email": "e", "firstName": "f", "lastName": "l", "documentType": "cpf", "document": "d"},
            "shippingData": {
                "address": {"addressType": "residential", "receiverName": "r", "postalCode": "p", "city": "c",
                            "state": "s", "country": "BRA", "street": "st", "number": "1"},
                "logisticsInfo": [{"itemIndex": 0, "selectedSla": null, "price": 200}]
            }
        });
        assert_eq!(check_order(&o).unwrap().2, 1100);
        o["shippingData"]["address"]
            .as_object_mut()
            .unwrap()
            .remove("city");
        assert!(
            check_order(&o)
                .unwrap_err()
                .contains("shippingData.address.city")
        );
        o["shippingData"]["address"]["city"] = json!("c");
        o["items"][0]["price"] = json!(9.0);
        assert!(check_order(&o).unwrap_err().contains("items[0].price"));
    }
}
