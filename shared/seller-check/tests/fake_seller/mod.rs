//! A small External Seller that follows the protocol, except for the one rule a [`Break`] names.
//! seller-check must fail that rule and nothing else.
//!
//! Catalog: `A` (price 1000, list 1200, 50 units), `B` (500, 3 units), `Z` (known, out of stock).
//! Every route sits behind the path secret [`SECRET`]. After its first fulfill an order is
//! invoiced in two packages through the order's `marketplaceServicesEndpoint`, then tracked.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const SECRET: &str = "fake-secret";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Break {
    Nothing,
    IndexationQuotesSlas,
    CheckoutForgetsAddress,
    WrongIndexes,
    NoClamp,
    DropsUnknownItems,
    FloatMoney,
    NumericShippingEstimate,
    PickupWithoutStoreInfo,
    WindowWithoutEnd,
    GetIgnoresPurchaseContext,
    NoCacheHeader,
    PlainTextErrors,
    Slow,
    NoAuth,
    AnswersAnObject,
    NewIdOnRetry,
    FulfillWithoutReceipt,
    NewReceiptOnRepeat,
    UnknownOrder200,
    AcceptsMismatchedMarketplaceId,
    CancelKeepsStock,
    Oversells,
    InvoiceItemPriceInReais,
    SellerIdInOmsPath,
    TrackingBeforeInvoice,
    EventsBeforeTracking,
    InvoicesWithoutFreight,
    IgnoresRetryAfter,
}

struct Sku {
    price: i64,
    list: i64,
    /// Sellable: on hand minus what is reserved.
    sellable: i64,
}

struct Order {
    marketplace_order_id: String,
    sku: String,
    quantity: i64,
    price: i64,
    freight: i64,
    mse: String,
    canceled: bool,
    receipt: Option<String>,
    invoiced: bool,
}

struct Fake {
    brk: Break,
    skus: HashMap<&'static str, Sku>,
    orders: HashMap<String, Order>,
    by_marketplace_id: HashMap<String, String>,
    next: u64,
    /// Every request received: (path, its `x-seller-check` header).
    pub seen: Vec<(String, Option<String>)>,
}

type Shared = Arc<Mutex<Fake>>;

/// What the fake received, for the tests.
pub struct Seen(Shared);

impl Seen {
    pub fn requests(&self) -> Vec<(String, Option<String>)> {
        self.0.lock().unwrap().seen.clone()
    }

    pub fn marketplace_order_ids(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .by_marketplace_id
            .keys()
            .cloned()
            .collect()
    }
}

/// Starts the fake on a free port; returns its base URL.
pub async fn start(brk: Break) -> (String, Seen) {
    let skus = HashMap::from([
        (
            "A",
            Sku {
                price: 1000,
                list: 1200,
                sellable: 50,
            },
        ),
        (
            "B",
            Sku {
                price: 500,
                list: 500,
                sellable: 3,
            },
        ),
        (
            "Z",
            Sku {
                price: 700,
                list: 700,
                sellable: 0,
            },
        ),
    ]);
    let state = Arc::new(Mutex::new(Fake {
        brk,
        skus,
        orders: HashMap::new(),
        by_marketplace_id: HashMap::new(),
        next: 0,
        seen: Vec::new(),
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().fallback(route).with_state(state.clone());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}"), Seen(state))
}

fn envelope(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message, "exception": null}})),
    )
        .into_response()
}

fn ok(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

async fn route(
    State(fake): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let marker = headers
        .get("x-seller-check")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let brk = {
        let mut f = fake.lock().unwrap();
        f.seen.push((uri.path().to_string(), marker));
        f.brk
    };
    let path = uri.path().to_string();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let Some(pvt) = segs.iter().position(|s| *s == "pvt") else {
        return envelope(StatusCode::NOT_FOUND, "HTTP404", "No such route");
    };
    if brk != Break::NoAuth && segs[..pvt] != [SECRET] {
        return envelope(StatusCode::UNAUTHORIZED, "AUTH001", "Unauthorized");
    }
    let tail = &segs[pvt + 1..];
    let query: HashMap<String, String> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    match (method.clone(), tail) {
        (_, ["orderForms", "simulation"]) => {
            let text = if method == Method::GET {
                query.get("purchaseContext").cloned().unwrap_or_default()
            } else {
                String::from_utf8_lossy(&body).into_owned()
            };
            simulation(&fake, brk, &text, method == Method::GET).await
        }
        (Method::POST, ["orders"]) => placement(&fake, &body).await,
        (Method::POST, ["orders", id, "fulfill"]) => fulfill(&fake, id, &body),
        (Method::POST, ["orders", id, "cancel"]) => cancel(&fake, id),
        _ => envelope(StatusCode::NOT_FOUND, "HTTP404", "No such route"),
    }
}

fn sla(
    id: &str,
    channel: &str,
    price: i64,
    estimate: Value,
    windows: Value,
    pickup: Value,
) -> Value {
    json!({"id": id, "deliveryChannel": channel, "name": id, "price": price, "shippingEstimate": estimate,
           "availableDeliveryWindows": windows, "pickupStoreInfo": pickup})
}

async fn simulation(fake: &Shared, brk: Break, text: &str, get: bool) -> Response {
    let bad = |m: &str| {
        if brk == Break::PlainTextErrors {
            (StatusCode::BAD_REQUEST, "bad request").into_response()
        } else {
            envelope(StatusCode::BAD_REQUEST, "SIM001", m)
        }
    };
    let Ok(req) = serde_json::from_str::<Value>(text) else {
        return bad("malformed JSON");
    };
    let Some(items) = req.get("items").and_then(Value::as_array) else {
        return bad("items is required");
    };
    let postal = req
        .get("postalCode")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty());
    let checkout = postal.is_some() && !(get && brk == Break::GetIgnoresPurchaseContext);
    if checkout && brk == Break::Slow {
        tokio::time::sleep(Duration::from_millis(2600)).await;
    }
    let quote_slas = checkout || brk == Break::IndexationQuotesSlas;
    let f = fake.lock().unwrap();
    let (mut out_items, mut out_lis) = (Vec::new(), Vec::new());
    for (i, it) in items.iter().enumerate() {
        let id = it.get("id").and_then(Value::as_str).unwrap_or("");
        let asked = it.get("quantity").and_then(Value::as_i64).unwrap_or(0);
        let sku = f.skus.get(id);
        let stock = sku.map_or(0, |s| s.sellable.max(0));
        if sku.is_none() && brk == Break::DropsUnknownItems {
            continue;
        }
        // The usual mistake: echo the quantity asked for an item in stock.
        let quantity = if brk == Break::NoClamp && stock > 0 {
            asked
        } else {
            asked.min(stock)
        };
        let index = if brk == Break::WrongIndexes { i + 1 } else { i };
        let list: Value = match (sku, brk) {
            (Some(s), Break::FloatMoney) => json!(s.list as f64 / 100.0),
            (Some(s), _) => json!(s.list),
            (None, _) => json!(0),
        };
        out_items.push(json!({
            "id": id, "requestIndex": index, "price": sku.map_or(0, |s| s.price), "listPrice": list,
            "quantity": quantity, "seller": it.get("seller").cloned().unwrap_or(json!("1")),
            "merchantName": null, "measurementUnit": "un", "unitMultiplier": 1, "priceTags": [],
            "priceValidUntil": null, "offerings": []
        }));
        let slas = if quote_slas && quantity > 0 {
            let estimate = if brk == Break::NumericShippingEstimate {
                json!(5)
            } else {
                json!("5bd")
            };
            let window = if brk == Break::WindowWithoutEnd {
                json!([{"startDateUtc": "2026-12-03T08:00:00+00:00", "price": 0}])
            } else {
                json!([{"startDateUtc": "2026-12-03T08:00:00+00:00", "endDateUtc": "2026-12-03T13:00:00+00:00", "price": 0}])
            };
            let store = if brk == Break::PickupWithoutStoreInfo {
                Value::Null
            } else {
                json!({"isPickupStore": true, "friendlyName": "Loja Centro", "additionalInfo": "",
                    "address": {"addressType": "pickup", "receiverName": null, "addressId": "loja-centro",
                        "postalCode": "22051-030", "city": "Rio de Janeiro", "state": "RJ", "country": "BRA",
                        "street": "Rua A", "number": "1", "neighborhood": "Centro", "complement": "",
                        "reference": null, "geoCoordinates": [-43.18, -22.97]}})
            };
            vec![
                sla("normal", "delivery", 500, estimate, json!([]), Value::Null),
                sla(
                    "scheduled",
                    "delivery",
                    800,
                    json!("2d"),
                    window,
                    Value::Null,
                ),
                sla(
                    "loja-centro",
                    "pickup-in-point",
                    0,
                    json!("1bd"),
                    json!([]),
                    store,
                ),
            ]
        } else {
            vec![]
        };
        out_lis.push(json!({
            "itemIndex": index, "quantity": quantity, "stockBalance": stock, "shipsTo": ["BRA"],
            "slas": slas,
            "deliveryChannels": [{"id": "delivery", "stockBalance": stock}, {"id": "pickup-in-point", "stockBalance": 0}]
        }));
    }
    let echo = checkout && brk != Break::CheckoutForgetsAddress;
    let answer = json!({
        "items": out_items, "logisticsInfo": out_lis,
        "postalCode": if echo { req.get("postalCode").cloned().unwrap_or(Value::Null) } else { Value::Null },
        "country": if echo { req.get("country").cloned().unwrap_or(Value::Null) } else { Value::Null },
        "allowMultipleDeliveries": true
    });
    let mut resp = ok(answer);
    if get && brk != Break::NoCacheHeader {
        resp.headers_mut()
            .insert("cache-control", "public, max-age=60".parse().unwrap());
    }
    resp
}

async fn placement(fake: &Shared, body: &[u8]) -> Response {
    let Ok(Value::Array(orders)) = serde_json::from_slice::<Value>(body) else {
        return envelope(
            StatusCode::BAD_REQUEST,
            "ORD001",
            "an array of orders is expected",
        );
    };
    let mut answers = Vec::new();
    for o in orders {
        let mkp = o
            .get("marketplaceOrderId")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let item = o.pointer("/items/0").cloned().unwrap_or(Value::Null);
        let sku = item
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let quantity = item.get("quantity").and_then(Value::as_i64).unwrap_or(0);
        let price = item.get("price").and_then(Value::as_i64).unwrap_or(0);
        let freight = o
            .pointer("/shippingData/logisticsInfo/0/price")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let mse = o
            .get("marketplaceServicesEndpoint")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let mut f = fake.lock().unwrap();
        let brk = f.brk;
        let existing = f.by_marketplace_id.get(&mkp).cloned();
        let id = match existing {
            Some(id) if brk != Break::NewIdOnRetry => id,
            _ => {
                let Some(s) = f.skus.get_mut(sku.as_str()) else {
                    return envelope(StatusCode::BAD_REQUEST, "ORD002", "unknown SKU");
                };
                if quantity < 1 || (s.sellable < quantity && brk != Break::Oversells) {
                    return envelope(StatusCode::CONFLICT, "ORD003", "not enough stock");
                }
                s.sellable -= quantity;
                f.next += 1;
                let id = format!("FAKE-{}", f.next);
                f.by_marketplace_id.entry(mkp.clone()).or_insert(id.clone());
                f.orders.insert(
                    id.clone(),
                    Order {
                        marketplace_order_id: mkp.clone(),
                        sku,
                        quantity,
                        price,
                        freight,
                        mse,
                        canceled: false,
                        receipt: None,
                        invoiced: false,
                    },
                );
                id
            }
        };
        let mut echoed = o.clone();
        echoed["orderId"] = json!(id);
        echoed["followUpEmail"] = json!("");
        answers.push(echoed);
    }
    if fake.lock().unwrap().brk == Break::AnswersAnObject && answers.len() == 1 {
        return ok(answers.remove(0));
    }
    ok(Value::Array(answers))
}

fn fulfill(fake: &Shared, id: &str, body: &[u8]) -> Response {
    let req: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let mkp = req
        .get("marketplaceOrderId")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut f = fake.lock().unwrap();
    let brk = f.brk;
    f.next += 1;
    let fresh = format!("receipt-{}", f.next);
    let Some(o) = f.orders.get_mut(id) else {
        if brk == Break::UnknownOrder200 {
            return ok(
                json!({"date": "2026-12-01T00:00:00Z", "marketplaceOrderId": mkp, "orderId": id, "receipt": fresh}),
            );
        }
        return envelope(StatusCode::NOT_FOUND, "ORD005", "unknown order");
    };
    if o.marketplace_order_id != mkp && brk != Break::AcceptsMismatchedMarketplaceId {
        return envelope(
            StatusCode::CONFLICT,
            "ORD006",
            "marketplaceOrderId does not match",
        );
    }
    if o.canceled {
        return envelope(StatusCode::CONFLICT, "ORD007", "canceled");
    }
    let first = o.receipt.is_none();
    if first || brk == Break::NewReceiptOnRepeat {
        o.receipt = Some(fresh);
    }
    let answer = if brk == Break::FulfillWithoutReceipt {
        json!({"marketplaceOrderId": o.marketplace_order_id, "orderId": id})
    } else {
        json!({"date": "2026-12-01T00:00:00Z", "marketplaceOrderId": o.marketplace_order_id, "orderId": id, "receipt": o.receipt})
    };
    // Only a fulfill that carries the order's own marketplace id starts the ERP's work.
    if !o.invoiced && o.marketplace_order_id == mkp {
        o.invoiced = true;
        let path_id = if brk == Break::SellerIdInOmsPath {
            id.to_string()
        } else {
            o.marketplace_order_id.clone()
        };
        tokio::spawn(invoice_and_track(
            brk,
            o.mse.clone(),
            path_id,
            o.sku.clone(),
            o.quantity,
            o.price,
            o.freight,
        ));
    }
    ok(answer)
}

fn cancel(fake: &Shared, id: &str) -> Response {
    let mut f = fake.lock().unwrap();
    let brk = f.brk;
    let Some(o) = f.orders.get(id) else {
        return envelope(StatusCode::NOT_FOUND, "ORD005", "unknown order");
    };
    if o.invoiced {
        return StatusCode::OK.into_response();
    }
    let (sku, quantity, mkp, was_canceled) = (
        o.sku.clone(),
        o.quantity,
        o.marketplace_order_id.clone(),
        o.canceled,
    );
    if !was_canceled
        && brk != Break::CancelKeepsStock
        && let Some(s) = f.skus.get_mut(sku.as_str())
    {
        s.sellable += quantity;
    }
    f.orders.get_mut(id).unwrap().canceled = true;
    ok(
        json!({"date": "2026-12-01T00:00:00Z", "marketplaceOrderId": mkp, "orderId": id, "receipt": format!("cancel-{id}")}),
    )
}

/// The ERP of the fake: two invoices, a tracking number and a carrier event, sent where the
/// placement's `marketplaceServicesEndpoint` says (`{mse}/pvt/orders/…`, ESM).
async fn invoice_and_track(
    brk: Break,
    mse: String,
    order: String,
    sku: String,
    quantity: i64,
    price: i64,
    freight: i64,
) {
    let http = reqwest::Client::new();
    let (base, query) = mse.split_once('?').unwrap_or((&mse, ""));
    let url = |rest: &str| {
        format!(
            "{}/pvt/orders/{order}{rest}?{query}",
            base.trim_end_matches('/')
        )
    };
    let freight = if brk == Break::InvoicesWithoutFreight {
        0
    } else {
        freight
    };
    let half = freight / 2;
    let unit_price = if brk == Break::InvoiceItemPriceInReais {
        json!(price as f64 / 100.0)
    } else {
        json!(price)
    };
    let invoice = |n: &str, units: i64, value: i64| {
        json!({"type": "Output", "invoiceNumber": n, "invoiceValue": value, "issuanceDate": "2026-12-01T10:00:00-03:00",
               "invoiceKey": null, "invoiceUrl": null, "embeddedInvoice": null, "courier": "", "trackingNumber": "",
               "trackingUrl": "", "dispatchedDate": null,
               "items": [{"id": sku, "price": unit_price, "quantity": units}]})
    };
    let tracking = json!({"trackingNumber": "TRK1", "trackingUrl": null, "courier": "Fake", "dispatchedDate": null});
    let events = json!({"isDelivered": false, "deliveredDate": null,
        "events": [{"city": "Rio de Janeiro", "state": "RJ", "description": "Em trânsito", "date": "2026-12-02"}]});
    let post_invoice = |body: Value| {
        let http = http.clone();
        let url = url("/invoice");
        async move {
            for _ in 0..5 {
                let Ok(r) = http.post(&url).json(&body).send().await else {
                    return;
                };
                if r.status() != 429 {
                    return;
                }
                let wait = r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1);
                let wait = if brk == Break::IgnoresRetryAfter {
                    Duration::from_millis(100)
                } else {
                    Duration::from_secs(wait)
                };
                tokio::time::sleep(wait).await;
            }
        }
    };
    let patch = || http.patch(url("/invoice/NF-1")).json(&tracking).send();
    let put = || http.put(url("/invoice/NF-1/tracking")).json(&events).send();
    if brk == Break::TrackingBeforeInvoice {
        let _ = patch().await;
    }
    if quantity >= 2 {
        post_invoice(invoice("NF-1", 1, price + half)).await;
        post_invoice(invoice(
            "NF-2",
            quantity - 1,
            price * (quantity - 1) + freight - half,
        ))
        .await;
    } else {
        post_invoice(invoice("NF-1", quantity, price * quantity + freight)).await;
    }
    if brk == Break::EventsBeforeTracking {
        let _ = put().await;
    }
    if brk != Break::TrackingBeforeInvoice {
        let _ = patch().await;
    }
    if brk != Break::EventsBeforeTracking {
        let _ = put().await;
    }
}
