//! OMS as the connector sees it (shared/docs/protocol.md §Invoices and tracking): invoice
//! notification, tracking PATCH, carrier-status PUT, seller cancel and get order. Checks follow the
//! contract; where real OMS behaviour is unknown the stand-in is the stricter of the plausible
//! choices, so a connector bug shows up here rather than in production.

use crate::{Shared, lock, oms_error, receipt};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct OmsState {
    pub orders: HashMap<String, OmsOrder>,
}

/// An order as OMS holds it: only orders VTEX placed ([`crate::placed`]) or the import flow
/// created exist; every call about any other order is a 404.
#[derive(Debug, Default, Clone)]
pub struct OmsOrder {
    /// Order value in cents, as VTEX computed it from the placement body.
    pub value: Option<i64>,
    pub canceled: bool,
    pub cancel_reason: Option<String>,
    /// Invoices in arrival order.
    pub invoices: Vec<OmsInvoice>,
    /// A status planted by a test ([`OmsDrift::status`]): answered by the GET in place of the one
    /// the invoices give.
    pub status_override: Option<String>,
}

#[derive(Debug, Clone)]
pub struct OmsInvoice {
    pub number: String,
    pub kind: String,
    pub value: i64,
    /// The body of the first POST (a re-POST changes nothing, C15).
    pub body: Value,
    pub tracking_number: Option<String>,
    pub courier: Option<String>,
    pub tracking_url: Option<String>,
    pub dispatched_date: Option<String>,
    /// Every carrier event received by PUT, in order (recorded, not replaced: S1).
    pub events: Vec<Value>,
    pub delivered_date: Option<String>,
    pub is_delivered: bool,
}

impl OmsOrder {
    fn sum(&self, kind: &str) -> i64 {
        self.invoices
            .iter()
            .filter(|i| i.kind == kind)
            .map(|i| i.value)
            .sum()
    }

    /// The status the GET answers: a planted one, else [`OmsOrder::status`].
    pub fn shown_status(&self) -> String {
        self.status_override
            .clone()
            .unwrap_or_else(|| self.status().to_string())
    }

    /// OMS-like status name.
    pub fn status(&self) -> &'static str {
        let out = self.sum("Output");
        if self.canceled {
            "canceled"
        } else if out == 0 {
            "handling"
        } else if self.value.is_some_and(|v| out < v) {
            "partial-invoiced"
        } else {
            "invoiced"
        }
    }

    fn fully_invoiced(&self) -> bool {
        let out = self.sum("Output");
        out > 0 && self.value.is_none_or(|v| out == v)
    }
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/oms/pvt/orders/{id}", get(get_order))
        .route("/api/oms/pvt/orders/{id}/invoice", post(post_invoice))
        .route(
            "/api/oms/pvt/orders/{id}/invoice/{number}",
            patch(patch_tracking),
        )
        .route(
            "/api/oms/pvt/orders/{id}/invoice/{number}/tracking",
            put(put_tracking),
        )
        .route("/api/oms/pvt/orders/{id}/cancel", post(cancel))
}

/// `POST /_standin/orders` with the placement body VTEX sent the seller (array or object): OMS now
/// holds those orders, each at the value VTEX computes from the body ([`crate::placed`]). Answers
/// `[{marketplaceOrderId, value, marketplacePaymentValue}]`.
pub async fn register_orders(State(s): State<Shared>, body: Bytes) -> Response {
    let placed = serde_json::from_slice::<Value>(&body)
        .map_err(|e| e.to_string())
        .and_then(|b| s.place(&b));
    match placed {
        Ok(orders) => axum::Json(
            orders
                .iter()
                .map(|o| {
                    json!({
                        "marketplaceOrderId": o.marketplace_order_id,
                        "value": o.value,
                        "marketplacePaymentValue": o.marketplace_payment_value,
                    })
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => oms_error(StatusCode::BAD_REQUEST, "STANDIN002", e),
    }
}

fn order_not_found() -> Response {
    oms_error(StatusCode::NOT_FOUND, "OMS404", "Order not found")
}

fn order_canceled() -> Response {
    oms_error(StatusCode::CONFLICT, "OMS011", "Order is canceled")
}

fn bad(message: impl Into<String>) -> Response {
    oms_error(StatusCode::BAD_REQUEST, "OMS001", message)
}

fn json_object(body: &Bytes) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(String::from("Body must be a JSON object")),
        Err(e) => Err(format!("Invalid JSON: {e}")),
    }
}

fn required_str<'a>(m: &'a Map<String, Value>, key: &str) -> Result<&'a str, String> {
    match m.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(Value::String(_)) => Err(format!("{key} must not be empty")),
        Some(_) => Err(format!("{key} must be a string")),
        None => Err(format!("{key} is required")),
    }
}

/// Optional string field: absent, null or a string.
fn optional_str<'a>(m: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{key} must be a string or null")),
    }
}

/// Present (possibly null) string field, for bodies whose keys OMS marks required.
fn present_nullable_str<'a>(
    m: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a str>, String> {
    if !m.contains_key(key) {
        return Err(format!("{key} is required (null allowed)"));
    }
    optional_str(m, key)
}

/// An integer number of cents: a JSON integer, not a float and not a string.
fn cents(v: Option<&Value>, key: &str) -> Result<i64, String> {
    match v {
        Some(Value::Number(n)) if n.is_i64() => n.as_i64().ok_or_else(|| key.to_string()),
        Some(Value::Number(_)) => Err(format!("{key} must be an integer in cents")),
        Some(_) => Err(format!(
            "{key} must be a JSON integer in cents (the connector sends integers)"
        )),
        None => Err(format!("{key} is required")),
    }
}

/// `yyyy-mm-dd` followed by `T` or a space and `hh:mm`.
fn has_time(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    b.len() >= 16
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && (b[10] == b'T' || b[10] == b' ')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
}

async fn post_invoice(State(s): State<Shared>, Path(id): Path<String>, body: Bytes) -> Response {
    let m = match json_object(&body) {
        Ok(m) => m,
        Err(m) => return bad(m),
    };
    let parsed = (|| -> Result<OmsInvoice, String> {
        let kind = required_str(&m, "type")?;
        if kind != "Output" && kind != "Input" {
            return Err(String::from("type must be Output or Input"));
        }
        let issuance = required_str(&m, "issuanceDate")?;
        if !has_time(issuance) {
            return Err(String::from("issuanceDate must include date and time"));
        }
        let number = required_str(&m, "invoiceNumber")?;
        let value = cents(m.get("invoiceValue"), "invoiceValue")?;
        if value <= 0 {
            return Err(String::from("invoiceValue must be greater than zero"));
        }
        let items = match m.get("items") {
            Some(Value::Array(a)) if !a.is_empty() => a,
            _ => return Err(String::from("items is required and must not be empty")),
        };
        for (i, item) in items.iter().enumerate() {
            let Value::Object(it) = item else {
                return Err(format!("items[{i}] must be an object"));
            };
            required_str(it, "id")?;
            if cents(it.get("price"), "items[].price")? < 0 {
                return Err(String::from("items[].price must not be negative"));
            }
            if cents(it.get("quantity"), "items[].quantity")? <= 0 {
                return Err(String::from("items[].quantity must be greater than zero"));
            }
            optional_str(it, "description")?;
        }
        // OMS answers a null courier on an invoice with a 400: "" is how an invoice says "none yet".
        if matches!(m.get("courier"), Some(Value::Null)) {
            return Err(String::from(
                "courier must be a string: send \"\" when there is no carrier yet",
            ));
        }
        for k in [
            "invoiceKey",
            "invoiceUrl",
            "embeddedInvoice",
            "courier",
            "trackingNumber",
            "trackingUrl",
            "dispatchedDate",
        ] {
            optional_str(&m, k)?;
        }
        let text = |k: &str| {
            optional_str(&m, k)
                .ok()
                .flatten()
                .filter(|v| !v.trim().is_empty())
                .map(str::to_string)
        };
        Ok(OmsInvoice {
            number: number.to_string(),
            kind: kind.to_string(),
            value,
            body: Value::Object(m.clone()),
            tracking_number: text("trackingNumber"),
            courier: text("courier"),
            tracking_url: text("trackingUrl"),
            dispatched_date: text("dispatchedDate"),
            events: Vec::new(),
            delivered_date: None,
            is_delivered: false,
        })
    })();
    let invoice = match parsed {
        Ok(i) => i,
        Err(m) => return bad(m),
    };
    let mut oms = lock(&s.oms);
    let Some(order) = oms.orders.get_mut(&id) else {
        return order_not_found();
    };
    if order.invoices.iter().any(|i| i.number == invoice.number) {
        // C15: same invoiceNumber again → a new receipt, nothing else changes.
        return receipt(&id);
    }
    if order.canceled {
        return order_canceled();
    }
    let out = order.sum("Output");
    if invoice.kind == "Output" {
        if let Some(total) = order.value
            && out + invoice.value > total
        {
            {
                return bad(format!(
                    "Invoices would add up to {} but the order value is {total}",
                    out + invoice.value
                ));
            }
        }
    } else {
        if !order.fully_invoiced() {
            return bad("A return invoice needs the order fully invoiced first");
        }
        if order.sum("Input") + invoice.value > out {
            return bad("Return invoices would exceed the invoiced value");
        }
    }
    order.invoices.push(invoice);
    receipt(&id)
}

async fn patch_tracking(
    State(s): State<Shared>,
    Path((id, number)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let m = match json_object(&body) {
        Ok(m) => m,
        Err(m) => return bad(m),
    };
    let checked = (|| -> Result<[Option<String>; 4], String> {
        if m.contains_key("isDelivered") {
            return Err(String::from(
                "isDelivered is not a PATCH field: use PUT …/tracking (C18)",
            ));
        }
        let tn = required_str(&m, "trackingNumber")?.to_string();
        let mut out = [Some(tn), None, None, None];
        for (i, k) in ["trackingUrl", "courier", "dispatchedDate"]
            .iter()
            .enumerate()
        {
            let v = present_nullable_str(&m, k)?;
            if v.is_some_and(|v| v.trim().is_empty()) {
                return Err(format!(
                    "{k} is blank: a blank string would erase the stored value (C18)"
                ));
            }
            out[i + 1] = v.map(str::to_string);
        }
        Ok(out)
    })();
    let [tn, url, courier, dispatched] = match checked {
        Ok(v) => v,
        Err(m) => return bad(m),
    };
    let mut oms = lock(&s.oms);
    let inv = match tracked_invoice(&mut oms, &id, &number) {
        Ok(inv) => inv,
        Err(resp) => return *resp,
    };
    inv.tracking_number = tn;
    inv.tracking_url = url;
    inv.courier = courier;
    inv.dispatched_date = dispatched;
    receipt(&id)
}

/// The sale invoice a tracking call is about: 404 for an unknown order or invoice, 409 once the
/// order is canceled, 400 for a return (tracking goes on the package that ships).
fn tracked_invoice<'a>(
    oms: &'a mut OmsState,
    id: &str,
    number: &str,
) -> Result<&'a mut OmsInvoice, Box<Response>> {
    let Some(order) = oms.orders.get_mut(id) else {
        return Err(Box::new(order_not_found()));
    };
    if order.canceled {
        return Err(Box::new(order_canceled()));
    }
    let Some(inv) = order.invoices.iter_mut().find(|i| i.number == number) else {
        return Err(Box::new(oms_error(
            StatusCode::NOT_FOUND,
            "OMS404",
            "Invoice not found",
        )));
    };
    if inv.kind != "Output" {
        return Err(Box::new(bad(
            "Tracking is registered on sale (Output) invoices, not on a return",
        )));
    }
    Ok(inv)
}

async fn put_tracking(
    State(s): State<Shared>,
    Path((id, number)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let m = match json_object(&body) {
        Ok(m) => m,
        Err(m) => return bad(m),
    };
    let checked = (|| -> Result<(bool, Option<String>, Vec<Value>), String> {
        let delivered = match m.get("isDelivered") {
            Some(Value::Bool(b)) => *b,
            _ => {
                return Err(String::from(
                    "isDelivered is required and must be a boolean",
                ));
            }
        };
        let date = present_nullable_str(&m, "deliveredDate")?;
        if delivered && date.is_none_or(|d| !has_time(d)) {
            return Err(String::from(
                "deliveredDate (yyyy-mm-dd hh:mm) is required when isDelivered is true",
            ));
        }
        let events = match m.get("events") {
            Some(Value::Array(a)) => a.clone(),
            _ => return Err(String::from("events is required and must be an array")),
        };
        for (i, e) in events.iter().enumerate() {
            let Value::Object(e) = e else {
                return Err(format!("events[{i}] must be an object"));
            };
            for k in ["city", "state", "description", "date"] {
                if !matches!(e.get(k), Some(Value::String(_))) {
                    return Err(format!("events[{i}].{k} is required (string)"));
                }
            }
        }
        Ok((delivered, date.map(str::to_string), events))
    })();
    let (delivered, date, events) = match checked {
        Ok(v) => v,
        Err(m) => return bad(m),
    };
    let mut oms = lock(&s.oms);
    let inv = match tracked_invoice(&mut oms, &id, &number) {
        Ok(inv) => inv,
        Err(resp) => return *resp,
    };
    if inv.tracking_number.is_none() {
        return bad("The invoice has no tracking number: PATCH tracking first");
    }
    inv.events.extend(events);
    if delivered {
        inv.is_delivered = true;
        inv.delivered_date = date;
    }
    receipt(&id)
}

async fn cancel(State(s): State<Shared>, Path(id): Path<String>, body: Bytes) -> Response {
    let m = match json_object(&body) {
        Ok(m) => m,
        Err(m) => return bad(m),
    };
    let reason = match required_str(&m, "reason") {
        Ok(r) => r.to_string(),
        Err(m) => return bad(m),
    };
    let mut oms = lock(&s.oms);
    let Some(order) = oms.orders.get_mut(&id) else {
        return order_not_found();
    };
    if order.canceled {
        return receipt(&id);
    }
    let out = order.sum("Output");
    if out > 0 && !order.fully_invoiced() {
        return bad("A partially invoiced order cannot be canceled");
    }
    if out > 0 && order.sum("Input") < out {
        return oms_error(
            StatusCode::BAD_REQUEST,
            "OMS002",
            "An invoiced order cannot be canceled: send a return (Input) invoice first",
        );
    }
    order.canceled = true;
    order.cancel_reason = Some(reason);
    receipt(&id)
}

/// `GET /api/oms/pvt/orders/{id}` (§Get order), reduced to what reconciliation reads: the
/// status, the value, and each invoice as a package (`packageAttachment.packages[]`) with what its
/// POST carried, its tracking and its carrier status. `packageAttachment` is null until the first
/// invoice, as OMS has it.
async fn get_order(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    let oms = lock(&s.oms);
    let Some(o) = oms.orders.get(&id) else {
        return oms_error(StatusCode::NOT_FOUND, "OMS404", "Order not found");
    };
    let packages: Vec<Value> = o
        .invoices
        .iter()
        .map(|i| {
            let sent = |k: &str| i.body.get(k).cloned().unwrap_or(Value::Null);
            json!({
                "invoiceNumber": i.number,
                "invoiceValue": i.value,
                "type": i.kind,
                "issuanceDate": sent("issuanceDate"),
                "invoiceKey": sent("invoiceKey"),
                "invoiceUrl": sent("invoiceUrl"),
                "items": sent("items"),
                "trackingNumber": i.tracking_number,
                "courier": i.courier,
                "trackingUrl": i.tracking_url,
                "courierStatus": {
                    "status": if i.is_delivered { "delivered" } else { "ok" },
                    "finished": i.is_delivered,
                    "deliveredDate": i.delivered_date,
                    "data": i.events,
                },
            })
        })
        .collect();
    let attachment = if packages.is_empty() {
        Value::Null
    } else {
        json!({ "packages": packages })
    };
    axum::Json(json!({
        "orderId": id,
        "marketplaceOrderId": id,
        "status": o.shown_status(),
        "value": o.value,
        "cancelReason": o.cancel_reason,
        "packageAttachment": attachment,
    }))
    .into_response()
}

/// `POST /_standin/oms/drift`: makes OMS hold something else than what the connector's calls
/// left there, as a test of reconciliation needs. Every field but `marketplaceOrderId` is
/// optional; each one present is applied, in this order.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OmsDrift {
    pub marketplace_order_id: String,
    /// The status OMS answers from now on (e.g. `canceled`: canceled at VTEX). `canceled`,
    /// `cancel` and `cancellation-requested` also refuse further invoices, as a cancel does.
    #[serde(default)]
    pub status: Option<String>,
    /// The order value OMS holds, in cents.
    #[serde(default)]
    pub value: Option<i64>,
    /// An invoice OMS holds without an answer having reached the connector (a lost answer).
    #[serde(default)]
    pub add_invoice: Option<PlantedInvoice>,
    /// The number of an invoice OMS no longer holds.
    #[serde(default)]
    pub drop_invoice: Option<String>,
    /// Another tracking number on one of OMS's invoices (`null` removes it).
    #[serde(default)]
    pub tracking: Option<PlantedTracking>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlantedInvoice {
    pub invoice_number: String,
    pub invoice_value: i64,
    /// `Output` (default) or `Input`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub tracking_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlantedTracking {
    pub invoice_number: String,
    #[serde(default)]
    pub tracking_number: Option<String>,
}

/// Applies `drift` to what OMS holds; the reason when the order or the invoice is unknown.
pub fn plant(state: &crate::StandIn, drift: &OmsDrift) -> Result<(), String> {
    let mut oms = lock(&state.oms);
    let Some(order) = oms.orders.get_mut(&drift.marketplace_order_id) else {
        return Err(String::from("no such order at OMS"));
    };
    if let Some(status) = &drift.status {
        order.canceled = order.canceled
            || matches!(
                status.as_str(),
                "canceled" | "cancel" | "cancellation-requested"
            );
        order.status_override = Some(status.clone());
    }
    if let Some(v) = drift.value {
        order.value = Some(v);
    }
    if let Some(i) = &drift.add_invoice {
        let kind = i.kind.clone().unwrap_or_else(|| String::from("Output"));
        if kind != "Output" && kind != "Input" {
            return Err(String::from("type must be Output or Input"));
        }
        order.invoices.retain(|x| x.number != i.invoice_number);
        order.invoices.push(OmsInvoice {
            number: i.invoice_number.clone(),
            kind,
            value: i.invoice_value,
            body: json!({ "invoiceNumber": i.invoice_number, "invoiceValue": i.invoice_value }),
            tracking_number: i.tracking_number.clone(),
            courier: None,
            tracking_url: None,
            dispatched_date: None,
            events: Vec::new(),
            delivered_date: None,
            is_delivered: false,
        });
    }
    if let Some(number) = &drift.drop_invoice {
        let before = order.invoices.len();
        order.invoices.retain(|x| &x.number != number);
        if order.invoices.len() == before {
            return Err(String::from("no such invoice at OMS"));
        }
    }
    if let Some(t) = &drift.tracking {
        let Some(inv) = order
            .invoices
            .iter_mut()
            .find(|x| x.number == t.invoice_number)
        else {
            return Err(String::from("no such invoice at OMS"));
        };
        inv.tracking_number = t.tracking_number.clone();
    }
    Ok(())
}

/// Control routes of OMS's state: `POST /_standin/oms/drift` ([`OmsDrift`]; 204, or 400 / 404).
pub fn control_routes() -> Router<Shared> {
    Router::new().route("/_standin/oms/drift", post(plant_drift))
}

async fn plant_drift(State(s): State<Shared>, body: Bytes) -> Response {
    let drift = match serde_json::from_slice::<OmsDrift>(&body) {
        Ok(d) => d,
        Err(e) => return oms_error(StatusCode::BAD_REQUEST, "STANDIN003", e.to_string()),
    };
    match plant(&s, &drift) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => oms_error(StatusCode::NOT_FOUND, "STANDIN404", e),
    }
}
