//! Placement, fulfill and cancel DTOs (shared/docs/protocol.md §Placement, §Fulfill, §Cancel).
//!
//! Placement keeps each incoming order as a JSON value: the response echoes it with `orderId` and
//! `followUpEmail` added (normalized: `seller` rather than `Seller`, a unit and multiplier when
//! VTEX sent none), which is faithful to whatever VTEX sent. A typed view for the domain is read
//! from the same value field by field, so a wrong type becomes a 400 that names the field: money
//! must be integer cents (`99.9` is refused), durations match `^\d+(bd|d|h|m)$`, `Seller` and
//! `itemAttachment`/`itemsAttachment` are accepted, unknown fields are ignored, `null` = absent.
//!
//! Dates go out as ISO-8601 with an offset; `yyyy-MM-dd HH:mm:ss` (VTEX's examples) is accepted
//! in (§Decisions C27).
//!
//! Error codes of the order endpoints (the `code` of VTEX's error envelope) live in [`codes`].

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use domain::Cents;
use domain::VtexDuration;
use domain::lifecycle::{CancelRequest, FulfillRequest, PlacementLine, PlacementRequest};
use domain::order::value::{BundleItem, PriceTag};
use domain::order::{Address, Customer, DeliveryWindow, LineAdjustments};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Error codes our order endpoints put in the envelope, with the HTTP status each goes with.
pub mod codes {
    /// 400: the body is not a placement (not an object or array of objects, wrong field types,
    /// money not in integer cents, a malformed duration, an `itemIndex` out of range).
    pub const INVALID_ORDER: &str = "ORD001";
    /// 400: a SKU of the order is not in our catalog.
    pub const UNKNOWN_SKU: &str = "ORD002";
    /// 409: not enough sellable stock at the line's location (or no location to take it from).
    pub const OUT_OF_STOCK: &str = "ORD003";
    /// 409: `shippingData.updateStatus` is `outdated`.
    pub const SHIPPING_OUTDATED: &str = "ORD004";
    /// 404: no order with this id (fulfill: our id; cancel: our id or the marketplace id).
    pub const ORDER_NOT_FOUND: &str = "ORD005";
    /// 409: the body's `marketplaceOrderId` is not the stored order's.
    pub const MARKETPLACE_ORDER_MISMATCH: &str = "ORD006";
    /// 409: fulfill of a canceled or expired order.
    pub const ORDER_NOT_AUTHORIZABLE: &str = "ORD007";
    /// 400: the fulfill or cancel body is malformed.
    pub const INVALID_REQUEST: &str = "ORD008";
}

/// A body VTEX should not have sent; the handler answers it with a 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidOrderRequest(pub String);

fn invalid(message: impl Into<String>) -> InvalidOrderRequest {
    InvalidOrderRequest(message.into())
}

// --- dates -------------------------------------------------------------------------------------

/// ISO-8601 with an offset, millisecond precision: `2026-11-20T12:00:00.000+00:00`.
pub use domain::order::format_date;

/// Reads the date forms VTEX uses: RFC 3339 (any fraction, `Z` or an offset), the space-separated
/// `yyyy-MM-dd HH:mm:ss[.f]` of its examples and an offset-less `T` form (both taken as UTC), and a
/// bare date (midnight UTC).
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

// --- loose field access ------------------------------------------------------------------------

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, InvalidOrderRequest> {
    v.as_object()
        .ok_or_else(|| invalid(format!("{path} must be a JSON object")))
}

/// `obj[key]` deserialized as `T`; `null` and absent are `None`. Errors name the field.
fn field<T: DeserializeOwned>(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<T>, InvalidOrderRequest> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => T::deserialize(v)
            .map(Some)
            .map_err(|e| invalid(format!("{path}.{key}: {e}"))),
    }
}

/// A string field that VTEX sometimes sends as a number (ids, groups). Blank is absent.
fn id_field(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<String>, InvalidOrderRequest> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(invalid(format!(
            "{path}.{key} must be a string (or a number)"
        ))),
    }
}

fn required_id(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<String, InvalidOrderRequest> {
    id_field(obj, key, path)?.ok_or_else(|| invalid(format!("{path}.{key} is required")))
}

/// An id that travels into VTEX URLs and storage keys (an order's `marketplaceOrderId`, a SKU id):
/// refused unless it can be one opaque path segment ([`domain::outbound::path_id_problem`]). The
/// message names the field and the problem, never the value.
fn url_id(obj: &Map<String, Value>, key: &str, path: &str) -> Result<String, InvalidOrderRequest> {
    let id = required_id(obj, key, path)?;
    check_url_id(&id, key, path)?;
    Ok(id)
}

fn check_url_id(id: &str, key: &str, path: &str) -> Result<(), InvalidOrderRequest> {
    match domain::outbound::path_id_problem(id.trim()) {
        None => Ok(()),
        Some(why) => Err(invalid(format!("{path}.{key} {why}"))),
    }
}

/// Customer and address text: never worth refusing an order over, so numbers and booleans are
/// taken as text and anything else as absent.
fn lenient_text(obj: &Map<String, Value>, key: &str) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

// --- placement ---------------------------------------------------------------------------------

/// The placement body in the shape it came: an array of orders (what VTEX sends, S2/S4/R1) or a
/// single order (ESF's schema) (§Decisions C1). The response uses the same shape.
#[derive(Debug, Clone, PartialEq)]
pub enum PlacementBody {
    Array(Vec<Value>),
    Object(Value),
}

impl PlacementBody {
    /// At most this many orders in one placement call (VTEX sends one).
    pub const MAX_ORDERS: usize = 50;

    pub fn from_value(body: Value) -> Result<Self, InvalidOrderRequest> {
        match body {
            Value::Array(orders) => {
                if orders.is_empty() {
                    return Err(invalid("the placement array is empty"));
                }
                if orders.len() > Self::MAX_ORDERS {
                    return Err(invalid(format!(
                        "the placement array has {} orders; at most {} are accepted",
                        orders.len(),
                        Self::MAX_ORDERS
                    )));
                }
                if let Some(i) = orders.iter().position(|o| !o.is_object()) {
                    return Err(invalid(format!("orders[{i}] must be a JSON object")));
                }
                Ok(PlacementBody::Array(orders))
            }
            Value::Object(_) => Ok(PlacementBody::Object(body)),
            _ => Err(invalid(
                "the placement body must be an array of orders or one order object",
            )),
        }
    }

    pub fn orders(&self) -> &[Value] {
        match self {
            PlacementBody::Array(v) => v,
            PlacementBody::Object(o) => std::slice::from_ref(o),
        }
    }

    /// The response body: `echoes` (one per order, in order) in the shape the request had.
    pub fn respond(&self, mut echoes: Vec<Value>) -> Value {
        match self {
            PlacementBody::Array(_) => Value::Array(echoes),
            PlacementBody::Object(_) => echoes.pop().unwrap_or(Value::Null),
        }
    }

    /// Path prefix used in error messages for order `i`.
    pub fn path(&self, i: usize) -> String {
        match self {
            PlacementBody::Array(_) => format!("orders[{i}]"),
            PlacementBody::Object(_) => "order".to_string(),
        }
    }
}

/// The typed view of one placement order, for the domain. `an` and `sc` come from the query
/// string (§Decisions C6); `an` is `""` when absent.
pub fn placement_request(
    order: &Value,
    path: &str,
    an: &str,
    sc: Option<&str>,
) -> Result<PlacementRequest, InvalidOrderRequest> {
    let o = object(order, path)?;
    let marketplace_order_id = url_id(o, "marketplaceOrderId", path)?;
    let marketplace_services_endpoint: Option<String> =
        field(o, "marketplaceServicesEndpoint", path)?;
    let marketplace_payment_value: Cents =
        field(o, "marketplacePaymentValue", path)?.unwrap_or_default();

    let items = match o.get("items") {
        Some(Value::Array(items)) => items,
        _ => return Err(invalid(format!("{path}.items must be an array"))),
    };
    let mut lines = items
        .iter()
        .enumerate()
        .map(|(i, item)| placement_line(item, &format!("{path}.items[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;

    let shipping = match o.get("shippingData") {
        None | Some(Value::Null) => None,
        Some(v) => Some(object(v, &format!("{path}.shippingData"))?),
    };
    let spath = format!("{path}.shippingData");
    let mut shipping_outdated = false;
    let mut address = None;
    if let Some(sd) = shipping {
        shipping_outdated = field::<String>(sd, "updateStatus", &spath)?
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("outdated"));
        address = match sd.get("address") {
            Some(Value::Object(a)) => Some(address_of(a)),
            _ => None,
        };
        let logistics: &[Value] = match sd.get("logisticsInfo") {
            None | Some(Value::Null) => &[],
            Some(Value::Array(l)) => l,
            Some(_) => return Err(invalid(format!("{spath}.logisticsInfo must be an array"))),
        };
        let mut seen = vec![false; lines.len()];
        for (i, li) in logistics.iter().enumerate() {
            let lpath = format!("{spath}.logisticsInfo[{i}]");
            let li = object(li, &lpath)?;
            let index: usize = field(li, "itemIndex", &lpath)?
                .ok_or_else(|| invalid(format!("{lpath}.itemIndex is required")))?;
            let Some(line) = lines.get_mut(index) else {
                return Err(invalid(format!(
                    "{lpath}.itemIndex {index} does not refer to an item (the order has {})",
                    seen.len()
                )));
            };
            if std::mem::replace(&mut seen[index], true) {
                return Err(invalid(format!(
                    "{lpath}.itemIndex {index} appears more than once"
                )));
            }
            apply_logistics(line, li, &lpath)?;
        }
    }

    let customer = match o.get("clientProfileData") {
        Some(Value::Object(c)) => Some(customer_of(c)),
        _ => None,
    };
    Ok(PlacementRequest {
        an: an.to_string(),
        sc: sc.map(str::to_string),
        marketplace_order_id,
        marketplace_services_endpoint: marketplace_services_endpoint
            .filter(|s| !s.trim().is_empty()),
        marketplace_payment_value,
        shipping_outdated,
        lines,
        address,
        customer,
    })
}

fn placement_line(item: &Value, path: &str) -> Result<PlacementLine, InvalidOrderRequest> {
    let it = object(item, path)?;
    let quantity: i64 = field(it, "quantity", path)?
        .ok_or_else(|| invalid(format!("{path}.quantity is required")))?;
    let unit_price: Cents = field(it, "price", path)?
        .ok_or_else(|| invalid(format!("{path}.price is required (unit price in cents)")))?;
    let tags = price_tags(it, path)?;
    let bundles = bundle_items(it, path)?;
    Ok(PlacementLine {
        sku_id: url_id(it, "id", path)?,
        quantity,
        unit_price,
        adjustments: LineAdjustments::of(unit_price, quantity, &tags, &bundles),
        freight: Cents::ZERO,
        selected_sla: None,
        lock_ttl: None,
        shipping_estimate: None,
        delivery_window: None,
    })
}

/// An array field of an item: absent and `null` are empty.
fn array<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a [Value], InvalidOrderRequest> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(invalid(format!("{path}.{key} must be an array"))),
    }
}

/// `items[].priceTags`: `value` is money (integer cents, as everywhere); `rawValue` is a decimal
/// read only when `value` is absent (domain::order::value says how each counts).
fn price_tags(it: &Map<String, Value>, path: &str) -> Result<Vec<PriceTag>, InvalidOrderRequest> {
    array(it, "priceTags", path)?
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let tpath = format!("{path}.priceTags[{i}]");
            let t = object(t, &tpath)?;
            Ok(PriceTag {
                name: lenient_text(t, "name").unwrap_or_default(),
                value: field(t, "value", &tpath)?,
                is_percentual: field(t, "isPercentual", &tpath)?.unwrap_or(false),
                raw_value: t.get("rawValue").and_then(Value::as_f64),
            })
        })
        .collect()
}

/// `items[].bundleItems`: paid offerings; `price` is unit cents, `quantity` optional.
fn bundle_items(
    it: &Map<String, Value>,
    path: &str,
) -> Result<Vec<BundleItem>, InvalidOrderRequest> {
    array(it, "bundleItems", path)?
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let bpath = format!("{path}.bundleItems[{i}]");
            let b = object(b, &bpath)?;
            let price: Cents = field(b, "price", &bpath)?.unwrap_or_default();
            if price.is_negative() {
                return Err(invalid(format!("{bpath}.price is negative")));
            }
            let quantity: Option<i64> = field(b, "quantity", &bpath)?;
            if quantity.is_some_and(|q| q < 0) {
                return Err(invalid(format!("{bpath}.quantity is negative")));
            }
            Ok(BundleItem {
                name: lenient_text(b, "name"),
                price,
                quantity,
            })
        })
        .collect()
}

fn apply_logistics(
    line: &mut PlacementLine,
    li: &Map<String, Value>,
    path: &str,
) -> Result<(), InvalidOrderRequest> {
    line.selected_sla = id_field(li, "selectedSla", path)?;
    line.lock_ttl = field::<VtexDuration>(li, "lockTTL", path)?;
    line.shipping_estimate = field::<VtexDuration>(li, "shippingEstimate", path)?;
    line.freight = field(li, "price", path)?.unwrap_or_default();
    line.delivery_window = match li.get("deliveryWindow") {
        None | Some(Value::Null) => None,
        Some(w) => {
            let wpath = format!("{path}.deliveryWindow");
            let w = object(w, &wpath)?;
            let date = |key: &str| -> Result<String, InvalidOrderRequest> {
                field::<String>(w, key, &wpath)?
                    .ok_or_else(|| invalid(format!("{wpath}.{key} is required")))
            };
            // ESF says `listPrice`; EMO-style bodies say `price`, `lisPrice` or `tax`.
            let mut price = Cents::ZERO;
            for key in ["listPrice", "price", "lisPrice", "tax"] {
                if let Some(p) = field::<Cents>(w, key, &wpath)? {
                    price = p;
                    break;
                }
            }
            Some(DeliveryWindow {
                start_date_utc: date("startDateUtc")?,
                end_date_utc: date("endDateUtc")?,
                price,
            })
        }
    };
    Ok(())
}

fn address_of(a: &Map<String, Value>) -> Address {
    Address {
        address_type: lenient_text(a, "addressType"),
        receiver_name: lenient_text(a, "receiverName"),
        address_id: lenient_text(a, "addressId"),
        postal_code: lenient_text(a, "postalCode"),
        city: lenient_text(a, "city"),
        state: lenient_text(a, "state"),
        country: lenient_text(a, "country"),
        street: lenient_text(a, "street"),
        number: lenient_text(a, "number"),
        neighborhood: lenient_text(a, "neighborhood"),
        complement: lenient_text(a, "complement"),
        reference: lenient_text(a, "reference"),
        // Opaque pass-through (§Decisions C12).
        geo_coordinates: match a.get("geoCoordinates") {
            Some(Value::Array(c)) => c.clone(),
            _ => Vec::new(),
        },
    }
}

fn customer_of(c: &Map<String, Value>) -> Customer {
    Customer {
        email: lenient_text(c, "email"),
        first_name: lenient_text(c, "firstName"),
        last_name: lenient_text(c, "lastName"),
        document_type: lenient_text(c, "documentType"),
        document: lenient_text(c, "document"),
        phone: lenient_text(c, "phone"),
    }
}

/// The placement response for one order: the order as received, with our `orderId`, the seller's
/// `followUpEmail` and `allowMultipleDeliveries: true` added, and items normalized where
/// §Placement allows it: `seller`, not `Seller`; `measurementUnit` `"un"` and `unitMultiplier` `1`
/// when VTEX sent none (as VTEX's own response example does). Every other key comes back as VTEX
/// sent it, a `null` included: VTEX compares the echo with its order, and a key left out would read
/// as one the seller dropped (ESF's response schema types some of them non-nullable; the request
/// is what VTEX holds).
pub fn placement_echo(order: &Value, order_id: &str, follow_up_email: &str) -> Value {
    let mut echo = order.clone();
    let Some(o) = echo.as_object_mut() else {
        return echo;
    };
    o.insert("orderId".into(), Value::String(order_id.to_string()));
    o.insert(
        "followUpEmail".into(),
        Value::String(follow_up_email.to_string()),
    );
    o.entry("allowMultipleDeliveries")
        .or_insert(Value::Bool(true));
    if let Some(Value::Array(items)) = o.get_mut("items") {
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            if let Some(seller) = item.remove("Seller") {
                item.entry("seller").or_insert(seller);
            }
            if !matches!(item.get("measurementUnit"), Some(Value::String(s)) if !s.is_empty()) {
                item.insert("measurementUnit".into(), Value::String("un".into()));
            }
            if !matches!(item.get("unitMultiplier"), Some(v) if v.as_f64().is_some_and(|m| m > 0.0))
            {
                item.insert("unitMultiplier".into(), Value::from(1));
            }
        }
    }
    echo
}

// --- fulfill and cancel ------------------------------------------------------------------------

/// The fulfill body (§Fulfill, §Decisions C4): only `marketplaceOrderId` is required;
/// `marketplaceOrderGroup` is kept when present; ESF's copy-pasted cancellation fields are ignored.
pub fn fulfill_request(
    order_id: &str,
    body: &Value,
) -> Result<FulfillRequest, InvalidOrderRequest> {
    let b = object(body, "body")?;
    Ok(FulfillRequest {
        order_id: order_id.to_string(),
        marketplace_order_id: url_id(b, "marketplaceOrderId", "body")?,
        marketplace_order_group: id_field(b, "marketplaceOrderGroup", "body")?,
    })
}

/// The cancel body (§Cancel). ESF marks every field required, but the path id is what identifies
/// the order, so all are optional here: a cancellation we cannot read would be retried forever.
/// `body` is `None` for an empty body.
pub fn cancel_request(
    path_id: &str,
    an: &str,
    body: Option<&Value>,
) -> Result<CancelRequest, InvalidOrderRequest> {
    let empty = Map::new();
    let b = match body {
        None | Some(Value::Null) => &empty,
        Some(v) => object(v, "body")?,
    };
    Ok(CancelRequest {
        path_id: path_id.to_string(),
        an: an.to_string(),
        marketplace_order_id: match id_field(b, "marketplaceOrderId", "body")? {
            Some(id) => check_url_id(&id, "marketplaceOrderId", "body").map(|()| Some(id))?,
            None => None,
        },
        marketplace_order_group: id_field(b, "marketplaceOrderGroup", "body")?,
        request_id: id_field(b, "cancellationRequestId", "body")?,
        reason: lenient_text(b, "reason").filter(|r| !r.trim().is_empty()),
        requested_by_user: b.get("requestedByUser").and_then(Value::as_bool),
    })
}

/// `{date, marketplaceOrderId, orderId, receipt}`: the fulfill response and the cancel
/// confirmation (ESF `repsonseOrderId`). `orderId` is always ours (the `sellerOrderId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderReceiptResponse {
    pub date: String,
    pub marketplace_order_id: String,
    pub order_id: String,
    pub receipt: String,
}

impl OrderReceiptResponse {
    pub fn new(
        date: DateTime<Utc>,
        marketplace_order_id: impl Into<String>,
        order_id: impl Into<String>,
        receipt: impl Into<String>,
    ) -> Self {
        OrderReceiptResponse {
            date: format_date(date),
            marketplace_order_id: marketplace_order_id.into(),
            order_id: order_id.into(),
            receipt: receipt.into(),
        }
    }

    /// `date` in either form VTEX uses (§Decisions C27).
    pub fn parsed_date(&self) -> Option<DateTime<Utc>> {
        parse_date(&self.date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn example_order() -> Value {
        json!({
            "marketplaceOrderId": "959311095",
            "marketplaceServicesEndpoint": "https://marketplaceservicesendpoint/",
            "marketplacePaymentValue": 11080,
            "items": [{
                "id": "2002495", "quantity": 1, "Seller": "1", "commission": 0,
                "freightCommission": 0, "price": 9990, "bundleItems": [],
                "itemAttachment": {"name": null, "content": {}}, "attachments": [],
                "priceTags": [], "measurementUnit": null, "unitMultiplier": 0, "isGift": false
            }],
            "clientProfileData": {"email": "a@b.c", "firstName": "Jonas", "document": 3244239851u64,
                                  "documentType": null},
            "shippingData": {
                "address": {"receiverName": "Jonas", "postalCode": "13476103", "country": "BRA",
                            "number": 311, "geoCoordinates": []},
                "logisticsInfo": [{"itemIndex": 0, "selectedSla": "Normal", "lockTTL": "8d",
                                   "shippingEstimate": "7d", "price": 1090, "deliveryWindow": null}]
            },
            "paymentData": null
        })
    }

    #[test]
    fn reads_the_contract_example_into_the_domain() {
        let r = placement_request(&example_order(), "order", "luxstore", Some("1")).unwrap();
        assert_eq!(r.an, "luxstore");
        assert_eq!(r.sc.as_deref(), Some("1"));
        assert_eq!(r.marketplace_order_id, "959311095");
        assert_eq!(r.marketplace_payment_value, Cents(11080));
        assert!(!r.shipping_outdated);
        assert_eq!(r.lines.len(), 1);
        let l = &r.lines[0];
        assert_eq!(l.sku_id, "2002495");
        assert_eq!(l.unit_price, Cents(9990));
        assert_eq!(l.freight, Cents(1090));
        assert_eq!(l.selected_sla.as_deref(), Some("Normal"));
        assert_eq!(l.lock_ttl, Some(VtexDuration::Days(8)));
        let a = r.address.unwrap();
        assert_eq!(a.number.as_deref(), Some("311"));
        assert_eq!(r.customer.unwrap().document.as_deref(), Some("3244239851"));
    }

    #[test]
    fn ids_that_could_not_be_one_url_segment_are_refused_naming_the_field_not_the_value() {
        for bad in [
            "..",
            ".",
            "959/311",
            "959\\311",
            "959\n311",
            &"9".repeat(129),
        ] {
            let mut o = example_order();
            o["marketplaceOrderId"] = json!(bad);
            let e = placement_request(&o, "order", "luxstore", None).unwrap_err();
            assert!(e.0.contains("order.marketplaceOrderId"), "{e}");
            let mut o = example_order();
            o["items"][0]["id"] = json!(bad);
            let e = placement_request(&o, "order", "luxstore", None).unwrap_err();
            assert!(e.0.contains("order.items[0].id"), "{e}");
            if bad.len() > 2 {
                assert!(!e.0.contains(bad), "the refusal quotes the id: {e}");
            }
            let e = fulfill_request("SLR-1", &json!({ "marketplaceOrderId": bad })).unwrap_err();
            assert!(e.0.contains("body.marketplaceOrderId"), "{e}");
            let e = cancel_request(
                "SLR-1",
                "luxstore",
                Some(&json!({ "marketplaceOrderId": bad })),
            )
            .unwrap_err();
            assert!(e.0.contains("body.marketplaceOrderId"), "{e}");
        }
    }

    #[test]
    fn money_in_the_wrong_unit_is_refused_naming_the_field() {
        let mut o = example_order();
        o["items"][0]["price"] = json!(99.9);
        let e = placement_request(&o, "orders[0]", "", None).unwrap_err();
        assert!(e.0.contains("orders[0].items[0].price"), "{e}");
        let mut o = example_order();
        o["shippingData"]["logisticsInfo"][0]["price"] = json!("10.90");
        assert!(placement_request(&o, "order", "", None).is_err());
        // An integer written as a float is still cents.
        let mut o = example_order();
        o["items"][0]["price"] = json!(9990.0);
        assert!(placement_request(&o, "order", "", None).is_ok());
    }

    #[test]
    fn malformed_durations_and_indexes_are_refused() {
        let mut o = example_order();
        o["shippingData"]["logisticsInfo"][0]["lockTTL"] = json!(8);
        assert!(
            placement_request(&o, "order", "", None)
                .unwrap_err()
                .0
                .contains("lockTTL")
        );
        let mut o = example_order();
        o["shippingData"]["logisticsInfo"][0]["itemIndex"] = json!(3);
        assert!(
            placement_request(&o, "order", "", None)
                .unwrap_err()
                .0
                .contains("itemIndex")
        );
        let mut o = example_order();
        let li = o["shippingData"]["logisticsInfo"][0].clone();
        o["shippingData"]["logisticsInfo"] = json!([li.clone(), li]);
        assert!(
            placement_request(&o, "order", "", None)
                .unwrap_err()
                .0
                .contains("more than once")
        );
        let mut o = example_order();
        o["items"] = json!({});
        assert!(placement_request(&o, "order", "", None).is_err());
    }

    #[test]
    fn outdated_shipping_data_and_delivery_window_prices_are_read() {
        let mut o = example_order();
        o["shippingData"]["updateStatus"] = json!("outdated");
        o["shippingData"]["logisticsInfo"][0]["deliveryWindow"] = json!({
            "startDateUtc": "2016-04-20T08:00:00+00:00",
            "endDateUtc": "2016-04-20T12:00:00+00:00",
            "lisPrice": 10
        });
        let r = placement_request(&o, "order", "", None).unwrap();
        assert!(r.shipping_outdated);
        assert_eq!(
            r.lines[0].delivery_window.as_ref().unwrap().price,
            Cents(10)
        );
    }

    #[test]
    fn price_tags_and_bundle_items_are_read_into_the_line_adjustments() {
        let mut o = example_order();
        o["items"][0]["quantity"] = json!(2);
        o["items"][0]["priceTags"] = json!([
            {"name": "DISCOUNT@MARKETPLACE", "value": -1000, "isPercentual": false, "rawValue": -10.0},
            {"name": "discount@pct", "isPercentual": true, "rawValue": -5},
            {"name": "tax@price", "rawValue": 1.93, "isPercentual": false}
        ]);
        o["items"][0]["bundleItems"] = json!([
            {"type": "Warranty", "id": 5, "name": "Garantia", "price": 1500},
            {"type": "Service", "id": 12, "price": 300, "quantity": 1}
        ]);
        let r = placement_request(&o, "order", "", None).unwrap();
        // -1000 − 5 % of 2 × 9990 (999) + 193; 2 × 1500 + 300.
        assert_eq!(
            r.lines[0].adjustments,
            LineAdjustments {
                price_tags: Cents(-1000 - 999 + 193),
                bundles: Cents(3300),
            }
        );
        // Money is integer cents here too.
        o["items"][0]["priceTags"][0]["value"] = json!(-10.5);
        let e = placement_request(&o, "order", "", None).unwrap_err();
        assert!(e.0.contains("items[0].priceTags[0].value"), "{e}");
        o["items"][0]["priceTags"] = json!({});
        assert!(placement_request(&o, "order", "", None).is_err());
    }

    #[test]
    fn missing_logistics_leaves_the_sla_unknown() {
        let mut o = example_order();
        o["shippingData"] = Value::Null;
        let r = placement_request(&o, "order", "", None).unwrap();
        assert_eq!(r.lines[0].selected_sla, None);
        assert_eq!(r.lines[0].freight, Cents::ZERO);
        assert_eq!(r.address, None);
    }

    #[test]
    fn body_shape_is_kept_for_the_response() {
        let arr = PlacementBody::from_value(json!([example_order()])).unwrap();
        assert!(matches!(arr.respond(vec![json!(1)]), Value::Array(_)));
        let obj = PlacementBody::from_value(example_order()).unwrap();
        assert_eq!(obj.orders().len(), 1);
        assert_eq!(obj.respond(vec![json!({"a": 1})]), json!({"a": 1}));
        for bad in [json!([]), json!("x"), json!([1])] {
            assert!(PlacementBody::from_value(bad).is_err());
        }
    }

    #[test]
    fn echo_adds_our_ids_and_normalizes_items() {
        let sent = example_order();
        let echo = placement_echo(&sent, "SLR-1", "seller@example.com");
        assert_eq!(echo["orderId"], "SLR-1");
        assert_eq!(echo["followUpEmail"], "seller@example.com");
        assert_eq!(echo["allowMultipleDeliveries"], true);
        let item = &echo["items"][0];
        assert_eq!(item["seller"], "1");
        assert!(item.get("Seller").is_none());
        assert_eq!(item["measurementUnit"], "un");
        assert_eq!(item["unitMultiplier"], 1);
        // Everything else as received, the nulls VTEX sent included.
        assert_eq!(echo["clientProfileData"]["documentType"], Value::Null);
        assert!(
            echo["clientProfileData"]
                .as_object()
                .unwrap()
                .contains_key("documentType")
        );
        assert_eq!(echo["clientProfileData"]["email"], "a@b.c");
        let li = &echo["shippingData"]["logisticsInfo"][0];
        assert!(li.as_object().unwrap().contains_key("deliveryWindow"));
        assert_eq!(li["deliveryWindow"], Value::Null);
        assert_eq!(li["selectedSla"], "Normal");
        assert_eq!(
            echo["shippingData"]["address"],
            sent["shippingData"]["address"]
        );
        assert_eq!(echo["paymentData"], Value::Null);
        assert!(echo.as_object().unwrap().contains_key("paymentData"));
    }

    #[test]
    fn echo_keeps_every_key_vtex_sent_as_null() {
        let mut sent = example_order();
        sent["clientProfileData"]["corporateName"] = Value::Null;
        sent["shippingData"]["address"]["complement"] = Value::Null;
        sent["items"][0]["manualPrice"] = Value::Null;
        let echo = placement_echo(&sent, "SLR-1", "");
        for (obj, key) in [
            (&echo["clientProfileData"], "corporateName"),
            (&echo["shippingData"]["address"], "complement"),
            (&echo["items"][0], "manualPrice"),
        ] {
            assert!(obj.as_object().unwrap().contains_key(key), "{key}");
            assert_eq!(obj[key], Value::Null, "{key}");
        }
    }

    #[test]
    fn fulfill_needs_only_the_marketplace_order_id() {
        let r = fulfill_request("SLR-1", &json!({"marketplaceOrderId": "959311095"})).unwrap();
        assert_eq!(r.marketplace_order_group, None);
        let r = fulfill_request(
            "SLR-1",
            &json!({"marketplaceOrderId": 959311095, "marketplaceOrderGroup": "g",
                    "cancellationRequestId": "x", "reason": "ignored"}),
        )
        .unwrap();
        assert_eq!(r.marketplace_order_id, "959311095");
        assert_eq!(r.marketplace_order_group.as_deref(), Some("g"));
        assert!(fulfill_request("SLR-1", &json!({})).is_err());
        assert!(fulfill_request("SLR-1", &json!([])).is_err());
    }

    #[test]
    fn cancel_body_is_read_tolerantly() {
        let body = json!({
            "marketplaceOrderId": "959311095", "marketplaceOrderGroup": "959311095",
            "cancellationRequestId": "85835ab408514b52aa139e4236ce0c33",
            "cancellationRequestDate": "2024-03-04T15:45:02.1306363+00:00",
            "reason": "Out of stock", "requestedByUser": true
        });
        let r = cancel_request("SLR-1", "luxstore", Some(&body)).unwrap();
        assert_eq!(
            r.request_id.as_deref(),
            Some("85835ab408514b52aa139e4236ce0c33")
        );
        assert_eq!(r.reason.as_deref(), Some("Out of stock"));
        assert_eq!(r.requested_by_user, Some(true));
        let empty = cancel_request("SLR-1", "", None).unwrap();
        assert_eq!(empty.marketplace_order_id, None);
        assert!(cancel_request("SLR-1", "", Some(&json!("x"))).is_err());
    }

    #[test]
    fn dates_go_out_with_an_offset_and_come_in_either_form() {
        let t = Utc.with_ymd_and_hms(2014, 10, 6, 18, 52, 0).unwrap();
        assert_eq!(format_date(t), "2014-10-06T18:52:00.000+00:00");
        assert_eq!(parse_date("2014-10-06 18:52:00"), Some(t));
        assert_eq!(parse_date("2014-10-06T18:52:00.000+00:00"), Some(t));
        assert_eq!(parse_date("2014-10-06T15:52:00-03:00"), Some(t));
        assert_eq!(
            parse_date("2024-03-04T15:45:02.1306363+00:00").map(|d| d.timestamp()),
            Some(
                Utc.with_ymd_and_hms(2024, 3, 4, 15, 45, 2)
                    .unwrap()
                    .timestamp()
            )
        );
        assert!(parse_date("2014-10-06").is_some());
        assert_eq!(parse_date("yesterday"), None);
        let r: OrderReceiptResponse = serde_json::from_str(
            r#"{"date":"2014-10-06 18:52:00","marketplaceOrderId":"1","orderId":"2","receipt":"r"}"#,
        )
        .unwrap();
        assert_eq!(r.parsed_date(), Some(t));
    }
}
