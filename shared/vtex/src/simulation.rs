//! Simulation request/response DTOs (shared/docs/protocol.md §Simulation).
//!
//! The request is parsed tolerantly (unknown fields ignored, `Seller` for `seller`, ids and sellers
//! as numbers, coordinates as numbers or strings, `null` = absent) and then validated into
//! [`domain::simulation::SimulationRequest`] with messages that name the offending field. The
//! response has exactly ESF's field set: optional fields are `null`, never omitted.

use chrono::SecondsFormat;
use domain::Cents;
use domain::VtexDuration;
use domain::simulation::{QuotedItem, RequestedItem, SimulationRequest, SimulationResult, Sla};
use serde::{Deserialize, Serialize};
use serde_json::Value;

mod usual;
pub mod wire;

// --- request ---------------------------------------------------------------------------------

/// The POST body, or the decoded `purchaseContext` of a GET. Every field is kept loose here so a
/// wrong type becomes a precise 400 in [`SimulationRequestDto::into_domain`] rather than a serde
/// message about an internal struct.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "serde_json::Map<String, Value>")]
pub struct SimulationRequestDto {
    pub items: Option<Vec<SimulationItemDto>>,
    pub postal_code: Option<Value>,
    pub country: Option<Value>,
    pub geo_coordinates: Option<Value>,
    /// Sales channel in the body (ESF); the query string wins over it (§Decisions C6).
    pub sc: Option<Value>,
    /// Marketplace account; not in ESF but accepted like `sc`.
    pub an: Option<Value>,
}

/// Only a JSON object is a request (serde would otherwise map an array onto the fields by position).
impl TryFrom<serde_json::Map<String, Value>> for SimulationRequestDto {
    type Error = String;
    fn try_from(mut map: serde_json::Map<String, Value>) -> Result<Self, String> {
        let items = match map.remove("items") {
            None | Some(Value::Null) => None,
            Some(v) => Some(serde_json::from_value(v).map_err(|e| format!("items: {e}"))?),
        };
        Ok(SimulationRequestDto {
            items,
            postal_code: map.remove("postalCode"),
            country: map.remove("country"),
            geo_coordinates: map.remove("geoCoordinates"),
            sc: map.remove("sc"),
            an: map.remove("an"),
        })
    }
}

/// One cart line; must be a JSON object.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "serde_json::Map<String, Value>")]
pub struct SimulationItemDto {
    pub id: Option<Value>,
    pub quantity: Option<Value>,
    pub seller: Option<Value>,
    /// S2 spells it `Seller` in some bodies (§Decisions C26).
    pub seller_capitalized: Option<Value>,
}

impl TryFrom<serde_json::Map<String, Value>> for SimulationItemDto {
    type Error = String;
    fn try_from(mut map: serde_json::Map<String, Value>) -> Result<Self, String> {
        Ok(SimulationItemDto {
            id: map.remove("id"),
            quantity: map.remove("quantity"),
            seller: map.remove("seller"),
            seller_capitalized: map.remove("Seller"),
        })
    }
}

/// A request VTEX should not have sent; the handler answers it with a 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidSimulationRequest(pub String);

/// `sc` and `an` found in the body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BodyScope {
    pub sc: Option<String>,
    pub an: Option<String>,
}

impl SimulationRequestDto {
    /// Validates the body into the domain request. `max_items` bounds the cart (a defence against
    /// huge bodies that would blow the latency budget).
    pub fn into_domain(
        self,
        max_items: usize,
    ) -> Result<(SimulationRequest, BodyScope), InvalidSimulationRequest> {
        let bad = |m: String| InvalidSimulationRequest(m);
        let items = self
            .items
            .ok_or_else(|| bad("`items` is required and must be an array".into()))?;
        if items.len() > max_items {
            return Err(bad(format!(
                "`items` has {} entries; at most {max_items} are accepted",
                items.len()
            )));
        }
        let items = items
            .into_iter()
            .enumerate()
            .map(|(i, item)| item.into_domain(i))
            .collect::<Result<Vec<_>, _>>()?;
        let request = SimulationRequest {
            items,
            country: text("country", self.country)?,
            postal_code: text("postalCode", self.postal_code)?,
            geo_coordinates: coordinates(self.geo_coordinates)?,
        };
        let scope = BodyScope {
            sc: text("sc", self.sc)?.filter(|s| !s.trim().is_empty()),
            an: text("an", self.an)?.filter(|s| !s.trim().is_empty()),
        };
        Ok((request, scope))
    }
}

impl SimulationItemDto {
    fn into_domain(self, index: usize) -> Result<RequestedItem, InvalidSimulationRequest> {
        let field = |name: &str| format!("items[{index}].{name}");
        let id = text(&field("id"), self.id)?
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                InvalidSimulationRequest(format!(
                    "{} is required and must not be empty",
                    field("id")
                ))
            })?;
        let quantity = quantity(&field("quantity"), self.quantity)?;
        let seller = match text(&field("seller"), self.seller)? {
            Some(s) => s,
            None => text(&field("Seller"), self.seller_capitalized)?.ok_or_else(|| {
                InvalidSimulationRequest(format!("{} is required", field("seller")))
            })?,
        };
        Ok(RequestedItem {
            id,
            quantity,
            seller,
        })
    }
}

/// The usual body (an object whose `items` are objects with a string `id`, a whole `quantity`
/// and a string `seller`, strings or `null` elsewhere), parsed straight into the domain request
/// without the `Value` tree [`SimulationRequestDto`] builds: that tree (a map per line, every key
/// and value allocated) was a fifth of a 50-item simulation. `None` for anything else, valid or
/// not (a number for an id, `"2"` for a quantity, a duplicate key, too many items, bad JSON…):
/// the tolerant path ([`SimulationRequestDto::into_domain`]) then decides, with its messages. So
/// whenever this answers, that path answers the same (tests: `the_fast_path_agrees_*`).
pub fn parse_usual_request(
    body: &[u8],
    max_items: usize,
) -> Option<(SimulationRequest, BodyScope)> {
    usual::parse(body, max_items)
}

/// A string field that VTEX or a hand-written client may send as a number.
fn text(name: &str, v: Option<Value>) -> Result<Option<String>, InvalidSimulationRequest> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(InvalidSimulationRequest(format!(
            "{name} must be a string, not {}",
            kind(&other)
        ))),
    }
}

/// A non-negative whole number of units: `2`, `2.0` or `"2"`; never `1.5`, `-1` or `true`.
fn quantity(name: &str, v: Option<Value>) -> Result<i64, InvalidSimulationRequest> {
    let err = |why: &str| InvalidSimulationRequest(format!("{name} {why}"));
    let n: i64 = match v {
        None | Some(Value::Null) => return Err(err("is required")),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                i
            } else if n.is_u64() {
                return Err(err("is too large"));
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() != 0.0 || !f.is_finite() {
                    return Err(err("must be a whole number of units"));
                }
                if f.abs() > 1e15 {
                    return Err(err("is too large"));
                }
                f as i64
            }
        }
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| err("must be a whole number of units"))?,
        Some(other) => {
            return Err(err(&format!("must be a number, not {}", kind(&other))));
        }
    };
    if n < 0 {
        return Err(err("must not be negative"));
    }
    Ok(n)
}

/// `geoCoordinates`: numbers or numeric strings, order left as sent (§Decisions C12). Empty strings
/// are dropped, so `["", ""]` counts as no coordinates.
fn coordinates(v: Option<Value>) -> Result<Vec<f64>, InvalidSimulationRequest> {
    let err = |why: String| InvalidSimulationRequest(format!("geoCoordinates {why}"));
    let values = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(other) => return Err(err(format!("must be an array, not {}", kind(&other)))),
    };
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        match v {
            Value::Number(n) => out.push(n.as_f64().unwrap_or_default()),
            Value::String(s) if s.trim().is_empty() => {}
            Value::String(s) => out.push(
                s.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .ok_or_else(|| err(format!("contains {s:?}, which is not a number")))?,
            ),
            other => return Err(err(format!("must hold numbers, not {}", kind(&other)))),
        }
    }
    Ok(out)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

// --- response --------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimulationResponse {
    pub country: Option<String>,
    pub postal_code: Option<String>,
    pub items: Vec<SimulationItem>,
    pub logistics_info: Vec<LogisticsInfo>,
    pub allow_multiple_deliveries: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimulationItem {
    pub id: String,
    pub request_index: usize,
    pub price: Cents,
    pub list_price: Cents,
    pub quantity: i64,
    pub seller: String,
    pub merchant_name: Option<String>,
    pub measurement_unit: String,
    pub unit_multiplier: i64,
    pub price_tags: Vec<String>,
    pub price_valid_until: Option<String>,
    pub offerings: Vec<OfferingDto>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferingDto {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub name: String,
    pub price: Cents,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogisticsInfo {
    pub item_index: usize,
    pub quantity: i64,
    pub stock_balance: i64,
    pub ships_to: Vec<String>,
    pub slas: Vec<SlaDto>,
    pub delivery_channels: Vec<DeliveryChannelDto>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlaDto {
    pub id: String,
    /// `delivery` or `pickup-in-point`.
    pub delivery_channel: String,
    pub name: String,
    pub shipping_estimate: VtexDuration,
    /// Freight of the item line, cents.
    pub price: Cents,
    pub available_delivery_windows: Vec<DeliveryWindowDto>,
    /// `null` for delivery SLAs.
    pub pickup_store_info: Option<PickupStoreInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryWindowDto {
    pub start_date_utc: String,
    pub end_date_utc: String,
    pub price: Cents,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PickupStoreInfo {
    pub is_pickup_store: bool,
    pub friendly_name: String,
    pub address: PickupAddressDto,
    pub additional_info: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PickupAddressDto {
    pub address_type: String,
    pub receiver_name: Option<String>,
    pub address_id: String,
    pub postal_code: String,
    pub city: String,
    pub state: String,
    pub country: String,
    pub street: String,
    pub number: String,
    pub neighborhood: String,
    pub complement: String,
    pub reference: Option<String>,
    /// `[longitude, latitude]` (§Decisions C12).
    pub geo_coordinates: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryChannelDto {
    pub id: String,
    pub stock_balance: i64,
}

impl SimulationResponse {
    /// The wire answer for a simulation result. `merchant_name` is `None` when the marketplace
    /// processes payments (the usual case, G1).
    pub fn from_result(result: &SimulationResult, merchant_name: Option<&str>) -> Self {
        SimulationResponse {
            country: result.country.map(str::to_string),
            postal_code: result.postal_code.map(str::to_string),
            items: result
                .items
                .iter()
                .map(|i| item(i, merchant_name))
                .collect(),
            logistics_info: result.items.iter().map(logistics).collect(),
            allow_multiple_deliveries: true,
        }
    }
}

fn item(i: &QuotedItem, merchant_name: Option<&str>) -> SimulationItem {
    SimulationItem {
        id: i.id.to_string(),
        request_index: i.request_index,
        price: i.price,
        list_price: i.list_price,
        quantity: i.quantity,
        seller: i.seller.to_string(),
        merchant_name: merchant_name.map(str::to_string),
        measurement_unit: i.measurement_unit.to_string(),
        unit_multiplier: i.unit_multiplier,
        price_tags: Vec::new(),
        price_valid_until: i
            .price_valid_until
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        offerings: i
            .offerings
            .iter()
            .map(|o| OfferingDto {
                kind: o.kind.clone(),
                id: o.id.clone(),
                name: o.name.clone(),
                price: o.price,
            })
            .collect(),
    }
}

fn logistics(i: &QuotedItem) -> LogisticsInfo {
    LogisticsInfo {
        item_index: i.request_index,
        quantity: i.quantity,
        stock_balance: i.stock_balance,
        ships_to: i.ships_to.to_vec(),
        slas: i.slas.iter().map(sla).collect(),
        delivery_channels: i
            .delivery_channels
            .iter()
            .map(|c| DeliveryChannelDto {
                id: c.channel.as_str().to_string(),
                stock_balance: c.stock_balance,
            })
            .collect(),
    }
}

fn sla(s: &Sla) -> SlaDto {
    let window_time =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, false);
    SlaDto {
        id: s.id.to_string(),
        delivery_channel: s.channel.as_str().to_string(),
        name: s.name.to_string(),
        shipping_estimate: s.shipping_estimate,
        price: s.price,
        available_delivery_windows: s
            .delivery_windows()
            .iter()
            .map(|w| DeliveryWindowDto {
                start_date_utc: window_time(w.start),
                end_date_utc: window_time(w.end),
                price: w.price,
            })
            .collect(),
        pickup_store_info: s.pickup_point.as_ref().map(|p| PickupStoreInfo {
            is_pickup_store: true,
            friendly_name: p.friendly_name.clone(),
            address: PickupAddressDto {
                address_type: "pickup".to_string(),
                receiver_name: None,
                address_id: p.id.clone(),
                postal_code: p.address.postal_code.clone(),
                city: p.address.city.clone(),
                state: p.address.state.clone(),
                country: p.address.country.clone(),
                street: p.address.street.clone(),
                number: p.address.number.clone(),
                neighborhood: p.address.neighborhood.clone(),
                complement: p.address.complement.clone(),
                reference: p.address.reference.clone(),
                geo_coordinates: p.address.geo_coordinates.to_vec(),
            },
            additional_info: p.additional_info.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use domain::catalog::{Dimensions, Offering, PriceEntry, Sku, StockLevel};
    use domain::shipping::{
        Carrier, DeliveryWindowTemplate, FreightPrice, PickupAddress, PickupPoint, PostalCodeRange,
        ScheduledDelivery, ShippingRules, Warehouse, Zone,
    };
    use domain::simulation::{SimulationContext, simulate};
    use serde_json::json;
    use std::collections::HashMap;

    fn parse(body: Value) -> Result<(SimulationRequest, BodyScope), InvalidSimulationRequest> {
        let dto: SimulationRequestDto = serde_json::from_value(body)
            .map_err(|e| InvalidSimulationRequest(format!("serde: {e}")))?;
        dto.into_domain(100)
    }

    fn error_of(body: Value) -> String {
        parse(body).expect_err("should be refused").0
    }

    #[test]
    fn parses_the_checkout_example() {
        let (req, scope) = parse(json!({
            "items": [
                {"id": "2000037", "quantity": 1, "seller": "1"},
                {"id": "34562", "quantity": 2, "seller": "1"}
            ],
            "marketingData": null, "postalCode": "22051030", "country": "BRA",
            "selectedSla": null, "clientProfileData": null, "geoCoordinates": []
        }))
        .unwrap();
        assert_eq!(req.items.len(), 2);
        assert_eq!(req.items[1].id, "34562");
        assert_eq!(req.items[1].quantity, 2);
        assert_eq!(req.postal_code.as_deref(), Some("22051030"));
        assert_eq!(req.country.as_deref(), Some("BRA"));
        assert!(req.geo_coordinates.is_empty());
        assert_eq!(scope, BodyScope::default());
    }

    #[test]
    fn tolerates_what_vtex_and_hand_written_clients_send() {
        let (req, scope) = parse(json!({
            "items": [
                {"id": 7908010136043_i64, "quantity": "2", "Seller": "1", "parentItemIndex": null},
                {"id": "a", "quantity": 3.0, "seller": 1, "Seller": "ignored"}
            ],
            "isCheckedIn": false, "orderFormId": "x", "priceTables": [], "sc": 2,
            "an": "mystore", "geoCoordinates": ["-43.18", -22.96, ""], "postalCode": null
        }))
        .unwrap();
        assert_eq!(req.items[0].id, "7908010136043");
        assert_eq!(req.items[0].quantity, 2);
        assert_eq!(req.items[0].seller, "1");
        assert_eq!(req.items[1].quantity, 3);
        assert_eq!(req.items[1].seller, "1");
        assert_eq!(req.geo_coordinates, vec![-43.18, -22.96]);
        assert_eq!(req.postal_code, None);
        assert_eq!(scope.sc.as_deref(), Some("2"));
        assert_eq!(scope.an.as_deref(), Some("mystore"));
    }

    #[test]
    fn refuses_bad_items_naming_the_field() {
        let cases = [
            (json!({}), "`items` is required"),
            (json!({"items": null}), "`items` is required"),
            (
                json!({"items": [{"id": "1", "quantity": -1, "seller": "1"}]}),
                "items[0].quantity must not be negative",
            ),
            (
                json!({"items": [{"id": "1", "quantity": 1.5, "seller": "1"}]}),
                "items[0].quantity must be a whole number",
            ),
            (
                json!({"items": [{"id": "1", "quantity": "x", "seller": "1"}]}),
                "items[0].quantity must be a whole number",
            ),
            (
                json!({"items": [{"id": "1", "quantity": true, "seller": "1"}]}),
                "items[0].quantity must be a number",
            ),
            (
                json!({"items": [{"id": "1", "seller": "1"}]}),
                "items[0].quantity is required",
            ),
            (
                json!({"items": [{"id": "1", "quantity": 1e300, "seller": "1"}]}),
                "items[0].quantity is too large",
            ),
            (
                json!({"items": [{"id": "1", "quantity": 18446744073709551615_u64, "seller": "1"}]}),
                "items[0].quantity is too large",
            ),
            (
                json!({"items": [{"id": "ok", "quantity": 1, "seller": "1"}, {"id": " ", "quantity": 1, "seller": "1"}]}),
                "items[1].id is required and must not be empty",
            ),
            (
                json!({"items": [{"quantity": 1, "seller": "1"}]}),
                "items[0].id is required",
            ),
            (
                json!({"items": [{"id": {"x": 1}, "quantity": 1, "seller": "1"}]}),
                "items[0].id must be a string",
            ),
            (
                json!({"items": [{"id": "1", "quantity": 1}]}),
                "items[0].seller is required",
            ),
            (
                json!({"items": [], "geoCoordinates": ["north"]}),
                "geoCoordinates contains \"north\"",
            ),
            (
                json!({"items": [], "geoCoordinates": {"lat": 1}}),
                "geoCoordinates must be an array",
            ),
            (
                json!({"items": [], "postalCode": ["22051030"]}),
                "postalCode must be a string",
            ),
        ];
        for (body, expected) in cases {
            let message = error_of(body.clone());
            assert!(
                message.contains(expected),
                "{body} → {message:?}, wanted {expected:?}"
            );
        }
    }

    #[test]
    fn refuses_more_items_than_the_limit() {
        let items: Vec<Value> = (0..101)
            .map(|i| json!({"id": i.to_string(), "quantity": 1, "seller": "1"}))
            .collect();
        assert!(error_of(json!({ "items": items })).contains("at most 100"));
    }

    /// The tolerant path on raw bytes, as the handler runs it.
    fn tolerant(
        body: &str,
        max_items: usize,
    ) -> Result<(SimulationRequest, BodyScope), InvalidSimulationRequest> {
        serde_json::from_str::<SimulationRequestDto>(body)
            .map_err(|e| InvalidSimulationRequest(format!("serde: {e}")))?
            .into_domain(max_items)
    }

    /// Bodies built from every kind of value in every field (and structural oddities: arrays for
    /// objects, duplicate keys, escapes, trailing bytes), a deterministic sample of them.
    fn odd_bodies() -> Vec<String> {
        let values = [
            None,
            Some("\"1\""),
            Some("\"2000037\""),
            Some("1"),
            Some("2"),
            Some("0"),
            Some("-1"),
            Some("-0"),
            Some("2.0"),
            Some("1.5"),
            Some("1e2"),
            Some("18446744073709551615"),
            Some("9223372036854775807"),
            Some("null"),
            Some("\"\""),
            Some("\" \""),
            Some("\"2\""),
            Some("\"a\\\"b\\u00e9\""),
            Some("true"),
            Some("[]"),
            Some("{}"),
            Some("[\"-43.18\", -22.96]"),
            Some("[-43.18, -22.96]"),
            Some("[\"\"]"),
            // Malformed or unusual JSON, which the fast reader must refuse exactly when serde_json
            // does (in a field it skips, too).
            Some("01"),
            Some("1."),
            Some("-"),
            Some(".5"),
            Some("1e"),
            Some("tru"),
            Some("nul"),
            Some("[1,]"),
            Some("{\"a\":1,}"),
            Some("{\"a\" 1}"),
            Some("\"\\x\""),
            Some("\"\\ud800\""),
            Some("\"\\ud83d\\ude00\""),
            Some("\"\\udc00\""),
            Some("\"tab\there\""),
            Some("\"caf\u{e9}\""),
            Some("1e400"),
            Some("-1.5e-3"),
            Some("[[[[[[[[[[1]]]]]]]]]]"),
            Some("{\"k\\u0069\":{\"x\":[true,false,null]}}"),
            Some("\"\\/\\b\\f\\n\\r\\t\\u0041\""),
        ];
        let state = std::cell::Cell::new(15_u64);
        let pick = |n: usize| {
            state.set(
                state
                    .get()
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407),
            );
            ((state.get() >> 33) % n as u64) as usize
        };
        let mut bodies = Vec::new();
        for n in 0..6000 {
            // Mostly usual values, so that the fast path answers often enough to be tested.
            let field = |key: &str, usual: &str, out: &mut Vec<String>| {
                let v = if pick(6) == 0 {
                    values[pick(values.len())]
                } else {
                    Some(usual)
                };
                if let Some(v) = v {
                    out.push(format!("\"{key}\": {v}"));
                }
            };
            let mut items = Vec::new();
            for _ in 0..pick(4) {
                let mut fields = Vec::new();
                field("id", "\"34562\"", &mut fields);
                field("quantity", "3", &mut fields);
                field(["seller", "Seller"][pick(2)], "\"1\"", &mut fields);
                if pick(4) == 0 {
                    field(
                        ["seller", "Seller", "id", "parentItemIndex"][pick(4)],
                        "null",
                        &mut fields,
                    );
                }
                items.push(match pick(12) {
                    0 => format!(
                        "[{}]",
                        fields
                            .iter()
                            .map(|f| f.split_once(": ").unwrap().1)
                            .collect::<Vec<_>>()
                            .join(",")
                    ),
                    1 => "1".to_string(),
                    _ => format!("{{{}}}", fields.join(",")),
                });
            }
            let mut top = vec![format!("\"items\": [{}]", items.join(","))];
            if pick(10) == 0 {
                top[0] = format!("\"items\": {}", values[1 + pick(values.len() - 1)].unwrap());
            }
            field("postalCode", "\"22051-030\"", &mut top);
            field("country", "\"BRA\"", &mut top);
            field("geoCoordinates", "[]", &mut top);
            field("sc", "\"1\"", &mut top);
            field("an", "\"mystore\"", &mut top);
            field("marketingData", "null", &mut top);
            if pick(15) == 0 {
                top.push(top[pick(top.len())].clone());
            }
            let object = format!("{{{}}}", top.join(", "));
            bodies.push(match n % 40 {
                0 => format!("[{object}]"),
                1 => format!("{object} x"),
                2 => format!("  {object}\n"),
                _ => object,
            });
        }
        bodies
    }

    #[test]
    fn the_fast_path_agrees_with_the_tolerant_one_whenever_it_answers() {
        let mut answered = 0;
        let mut refused = 0;
        for body in odd_bodies() {
            let slow = tolerant(&body, 2);
            if let Some(fast) = parse_usual_request(body.as_bytes(), 2) {
                answered += 1;
                assert_eq!(slow.as_ref(), Ok(&fast), "{body}");
            } else if slow.is_err() {
                refused += 1;
            }
        }
        // Both kinds are exercised (the sample above is mostly usual bodies).
        assert!(answered > 500 && refused > 500, "{answered} / {refused}");
    }

    #[test]
    fn the_fast_path_answers_the_usual_bodies() {
        for body in [
            r#"{"items":[{"id":"2000037","quantity":1,"seller":"1"},{"id":"34562","quantity":2,"seller":"1"}],"postalCode":"22051-030","country":"BRA"}"#,
            r#"{"items": [{"id": "a\"b", "quantity": 0, "Seller": "1", "parentItemIndex": null}],
                "marketingData": null, "postalCode": null, "country": null, "selectedSla": null,
                "clientProfileData": null, "geoCoordinates": [-43.18, -22.96], "sc": " ", "an": "x"}"#,
            r#"{"items": []}"#,
        ] {
            let fast = parse_usual_request(body.as_bytes(), 10);
            assert!(fast.is_some(), "{body}");
            assert_eq!(tolerant(body, 10).ok(), fast, "{body}");
        }
    }

    #[test]
    fn a_body_that_is_not_an_object_does_not_parse() {
        assert!(serde_json::from_str::<SimulationRequestDto>("[1,2]").is_err());
        assert!(serde_json::from_str::<SimulationRequestDto>("[]").is_err());
        assert!(serde_json::from_str::<SimulationRequestDto>("null").is_err());
        assert!(serde_json::from_str::<SimulationRequestDto>(r#"{"items": [1]}"#).is_err());
        assert!(
            serde_json::from_str::<SimulationRequestDto>(r#"{"items": [["1", 1, "1"]]}"#).is_err()
        );
        assert!(serde_json::from_str::<SimulationRequestDto>(r#"{"items": "x"}"#).is_err());
    }

    /// Its inputs are kept for the rest of the test run: the result borrows them.
    fn sample_result(postal: Option<&str>) -> SimulationResult<'static> {
        let sku = Sku {
            id: "2000037".into(),
            active: true,
            name: "Geladeira".into(),
            prices: vec![PriceEntry {
                an: None,
                sc: None,
                price: Cents(67203),
                list_price: Cents(67203),
                valid_until: Some(Utc.with_ymd_and_hms(2027, 3, 1, 22, 58, 28).unwrap()),
            }],
            stock: [
                (
                    "cd".to_string(),
                    StockLevel {
                        on_hand: 179,
                        reserved: 0,
                    },
                ),
                (
                    "loja".to_string(),
                    StockLevel {
                        on_hand: 20,
                        reserved: 0,
                    },
                ),
            ]
            .into_iter()
            .collect(),
            sales_channels: vec![],
            dimensions: Dimensions {
                weight_g: 10_000,
                ..Dimensions::default()
            },
            measurement_unit: "un".into(),
            unit_multiplier: 1,
            offerings: vec![Offering {
                kind: "Warranty".into(),
                id: "5".into(),
                name: "1 year warranty".into(),
                price: Cents(10000),
            }],
            product: None,
        };
        let zone = Zone {
            country: "BRA".into(),
            postal_code_ranges: vec![PostalCodeRange {
                from: "20000000".into(),
                to: "28999999".into(),
            }],
            price: FreightPrice {
                per_kg: Cents(100),
                ..FreightPrice::default()
            },
            shipping_estimate: "5bd".parse().unwrap(),
        };
        let rules = ShippingRules {
            ships_to: vec!["BRA".into()],
            warehouses: vec![Warehouse {
                id: "cd".into(),
                name: "CD".into(),
            }],
            carriers: vec![
                Carrier {
                    id: "Normal".into(),
                    name: "Entrega Normal".into(),
                    warehouse_id: "cd".into(),
                    zones: vec![zone.clone()],
                    sales_channels: vec![],
                    scheduled: None,
                },
                Carrier {
                    id: "Agendada".into(),
                    name: "Entrega Agendada".into(),
                    warehouse_id: "cd".into(),
                    zones: vec![zone.clone()],
                    sales_channels: vec![],
                    scheduled: Some(ScheduledDelivery {
                        first_day_offset: 1,
                        days_ahead: 1,
                        utc_offset_minutes: -180,
                        skip_weekends: true,
                        windows: vec![DeliveryWindowTemplate {
                            start: "08:00".into(),
                            end: "13:00".into(),
                            price: Cents(300),
                        }],
                    }),
                },
            ],
            pickup_points: vec![PickupPoint {
                id: "loja".into(),
                name: "Curbside pickup".into(),
                friendly_name: "Copacabana".into(),
                address: PickupAddress {
                    postal_code: "22041-001".into(),
                    city: "Rio de Janeiro".into(),
                    state: "RJ".into(),
                    country: "BRA".into(),
                    street: "Avenida Nossa Senhora de Copacabana".into(),
                    number: "680".into(),
                    neighborhood: "Copacabana".into(),
                    complement: String::new(),
                    reference: None,
                    geo_coordinates: [-43.1823, -22.9681],
                },
                serves: vec![Zone {
                    price: FreightPrice::default(),
                    shipping_estimate: "0bd".parse().unwrap(),
                    ..zone
                }],
                additional_info: String::new(),
                sales_channels: vec![],
            }],
            follow_up_email: String::new(),
        };
        let skus: &'static HashMap<_, _> =
            Box::leak(Box::new([(sku.id.clone(), sku)].into_iter().collect()));
        let req = SimulationRequest {
            items: vec![
                RequestedItem {
                    id: "2000037".into(),
                    quantity: 1,
                    seller: "1".into(),
                },
                RequestedItem {
                    id: "nope".into(),
                    quantity: 2,
                    seller: "1".into(),
                },
            ],
            country: postal.map(|_| "BRA".into()),
            postal_code: postal.map(str::to_string),
            geo_coordinates: vec![],
        };
        let (req, rules) = (Box::leak(Box::new(req)), Box::leak(Box::new(rules)));
        simulate(
            req,
            &SimulationContext {
                skus,
                rules,
                an: None,
                sc: None,
                price_list: None,
                now: Utc.with_ymd_and_hms(2026, 11, 18, 12, 0, 0).unwrap(),
            },
        )
    }

    #[test]
    fn checkout_response_has_the_esf_shape_with_nulls_kept() {
        let wire = serde_json::to_value(SimulationResponse::from_result(
            &sample_result(Some("22051030")),
            None,
        ))
        .unwrap();
        assert_eq!(wire["country"], "BRA");
        assert_eq!(wire["postalCode"], "22051030");
        assert_eq!(wire["allowMultipleDeliveries"], true);
        let item = &wire["items"][0];
        assert_eq!(item["merchantName"], Value::Null);
        assert!(item.as_object().unwrap().contains_key("merchantName"));
        assert_eq!(item["priceValidUntil"], "2027-03-01T22:58:28.000Z");
        assert_eq!(item["offerings"][0]["type"], "Warranty");
        assert_eq!(item["priceTags"], json!([]));
        let info = &wire["logisticsInfo"][0];
        assert_eq!(info["itemIndex"], 0);
        assert_eq!(info["stockBalance"], 199);
        assert_eq!(
            info["deliveryChannels"],
            json!([{"id": "delivery", "stockBalance": 179}, {"id": "pickup-in-point", "stockBalance": 20}])
        );
        let delivery = &info["slas"][0];
        assert_eq!(delivery["deliveryChannel"], "delivery");
        assert_eq!(delivery["shippingEstimate"], "5bd");
        assert_eq!(delivery["price"], 1000);
        assert!(
            delivery
                .as_object()
                .unwrap()
                .contains_key("pickupStoreInfo")
        );
        assert_eq!(delivery["pickupStoreInfo"], Value::Null);
        let scheduled = &info["slas"][1];
        assert_eq!(
            scheduled["availableDeliveryWindows"],
            json!([{"startDateUtc": "2026-11-19T11:00:00+00:00",
                    "endDateUtc": "2026-11-19T16:00:00+00:00", "price": 300}])
        );
        assert_eq!(scheduled["pickupStoreInfo"], Value::Null);
        let pickup = &info["slas"][2];
        assert_eq!(pickup["deliveryChannel"], "pickup-in-point");
        let store = &pickup["pickupStoreInfo"];
        assert_eq!(store["isPickupStore"], true);
        assert_eq!(store["address"]["addressType"], "pickup");
        assert_eq!(store["address"]["addressId"], "loja");
        assert_eq!(store["address"]["receiverName"], Value::Null);
        assert_eq!(store["address"]["reference"], Value::Null);
        assert_eq!(
            store["address"]["geoCoordinates"],
            json!([-43.1823, -22.9681])
        );

        // The unknown SKU keeps its place, zeroed.
        assert_eq!(wire["items"][1]["quantity"], 0);
        assert_eq!(wire["items"][1]["price"], 0);
        assert_eq!(wire["items"][1]["requestIndex"], 1);
        assert_eq!(
            wire["logisticsInfo"][1],
            json!({"itemIndex": 1, "quantity": 0, "stockBalance": 0, "shipsTo": ["BRA"],
                   "slas": [], "deliveryChannels": [{"id": "delivery", "stockBalance": 0}]})
        );
    }

    #[test]
    fn indexation_response_has_null_address_and_no_slas() {
        let response = SimulationResponse::from_result(&sample_result(None), Some("myseller"));
        let wire = serde_json::to_value(&response).unwrap();
        assert_eq!(wire["country"], Value::Null);
        assert_eq!(wire["postalCode"], Value::Null);
        assert!(wire.as_object().unwrap().contains_key("postalCode"));
        assert_eq!(wire["logisticsInfo"][0]["slas"], json!([]));
        assert_eq!(wire["items"][0]["merchantName"], "myseller");
        // Round-trips, so tests and local stand-ins can read it back.
        let back: SimulationResponse = serde_json::from_value(wire).unwrap();
        assert_eq!(back, response);
    }
}
