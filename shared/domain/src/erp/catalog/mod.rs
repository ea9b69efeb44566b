//! Catalog messages the seller's ERP drops on the catalog queue (SQS FIFO, `MessageGroupId` = the
//! SKU id, so one SKU's changes apply in order), and the rules a SKU must satisfy before anything
//! is written. Versioned JSON with a `type` discriminator:
//!
//! ```json
//! { "type": "sku.upsert",    "version": 1, "messageId": "optional", "sku": { …catalog-file SKU… } }
//! { "type": "price.changed", "version": 1, "skuId": "2002495", "prices": [ { "price": 9990, "listPrice": 12990 } ] }
//! { "type": "stock.changed", "version": 1, "skuId": "2002495", "location": "cd-cajamar", "onHand": 12,
//!   "asOf": "2026-12-02T08:55:00-03:00" }
//! { "type": "notify.due",    "version": 1, "skuId": "2002495", "kind": "inventory", "due": "…" }  (internal)
//! ```
//!
//! Every value is absolute (the SKU's whole price list, a location's whole on-hand count), so a
//! replayed message is harmless, except a stock count that is older than the stock: `asOf` (when
//! the ERP counted, RFC 3339 with an offset) orders them, and a count older than the last one
//! applied or than a shipment recorded since is ignored ([`crate::ports::StockMarks`]). `asOf`
//! is optional so that today's ERPs keep working; a count without it applies as it always did
//! (unordered, logged and counted as such). Money is integer cents: a JSON number with a fraction (`99.90`,
//! even `99.0`) is refused as a price in the wrong unit. Unknown fields are ignored. A message is
//! checked completely before anything is written, and every problem found is reported at once.

use crate::catalog::{CatalogFile, LocationId, PriceEntry, Sku, SkuId};
use crate::catalog_notify::{NotifyDue, NotifyKind};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};
use std::fmt;

/// The envelope's schema version and size limit, shared by every ERP message family.
pub use crate::erp::envelope::{CURRENT_VERSION, MAX_MESSAGE_BYTES};
/// Longest id (SKU, location, product) accepted.
pub const MAX_ID_CHARS: usize = 100;
/// SUG: `ProductName` has a limit of 150 characters.
pub const MAX_PRODUCT_NAME_CHARS: usize = 150;

/// One parsed catalog message.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogMessage {
    /// The ERP's own id for the message, for the logs. Optional.
    pub message_id: Option<String>,
    pub change: CatalogChange,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CatalogChange {
    /// Creates or replaces the SKU: product data, prices and the on-hand stock of every location.
    SkuUpsert(Box<Sku>),
    /// Replaces the SKU's whole price list.
    PriceChanged {
        sku_id: SkuId,
        prices: Vec<PriceEntry>,
    },
    /// Sets one location's absolute on-hand stock (reservations are kept), unless the count is
    /// older than the location's stock.
    StockChanged {
        sku_id: SkuId,
        location: LocationId,
        on_hand: i64,
        /// When the ERP counted (`asOf`); `None`: unordered.
        as_of: Option<DateTime<Utc>>,
    },
    /// Internal: a coalesced VTEX notification that is due (see [`crate::catalog_notify`]).
    NotifyDue(NotifyDue),
}

impl CatalogChange {
    /// The `type` value, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            CatalogChange::SkuUpsert(_) => "sku.upsert",
            CatalogChange::PriceChanged { .. } => "price.changed",
            CatalogChange::StockChanged { .. } => "stock.changed",
            CatalogChange::NotifyDue(_) => "notify.due",
        }
    }

    pub fn sku_id(&self) -> &str {
        match self {
            CatalogChange::SkuUpsert(sku) => &sku.id,
            CatalogChange::PriceChanged { sku_id, .. }
            | CatalogChange::StockChanged { sku_id, .. } => sku_id,
            CatalogChange::NotifyDue(due) => &due.sku_id,
        }
    }
}

impl CatalogMessage {
    /// The JSON the ERP would send (`messageId` omitted when absent).
    pub fn to_json(&self) -> String {
        let mut v = match &self.change {
            CatalogChange::SkuUpsert(sku) => {
                serde_json::json!({ "type": "sku.upsert", "sku": sku })
            }
            CatalogChange::PriceChanged { sku_id, prices } => {
                serde_json::json!({ "type": "price.changed", "skuId": sku_id, "prices": prices })
            }
            CatalogChange::StockChanged {
                sku_id,
                location,
                on_hand,
                as_of,
            } => {
                let mut v = serde_json::json!({
                    "type": "stock.changed", "skuId": sku_id, "location": location, "onHand": on_hand
                });
                if let Some(at) = as_of {
                    v["asOf"] = at
                        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                        .into();
                }
                v
            }
            CatalogChange::NotifyDue(due) => return due.to_json(),
        };
        v["version"] = CURRENT_VERSION.into();
        if let Some(id) = &self.message_id {
            v["messageId"] = id.clone().into();
        }
        v.to_string()
    }
}

mod errors;
pub use errors::*;
mod parsing;
pub use parsing::*;
mod rules;
pub use rules::*;
mod changes;
pub use changes::*;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Cents;
    use serde_json::json;

    fn sku_json() -> Value {
        json!({
            "id": "2002495",
            "name": "Capa slimfit iPhone 5",
            "prices": [
                { "price": 9990, "listPrice": 12990 },
                { "an": "luxstore", "sc": "2", "price": 8990, "listPrice": 12990 }
            ],
            "stock": { "cd-cajamar": { "onHand": 12 } },
            "dimensions": { "heightCm": 2.5, "widthCm": 8, "lengthCm": 15, "weightG": 120 },
            "product": {
                "productId": "P2002495",
                "productName": "Capa slimfit iPhone 5",
                "description": "Capa de silicone.",
                "brand": "Acme",
                "categoryPath": "Acessórios/Capas",
                "images": [ { "name": "principal", "url": "https://img.example.com/1.jpg" } ],
                "skuSpecifications": [ { "name": "Cor", "values": ["Preto"] } ],
                "refId": "CAPA-5"
            }
        })
    }

    fn upsert(sku: Value) -> Vec<u8> {
        json!({ "type": "sku.upsert", "version": 1, "messageId": "erp-1", "sku": sku })
            .to_string()
            .into_bytes()
    }

    fn violations(body: &[u8]) -> Vec<Violation> {
        match parse(body) {
            Err(MessageError::Invalid { violations, .. }) => violations,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    fn codes(body: &[u8]) -> Vec<&'static str> {
        violations(body).iter().map(|v| v.code.as_str()).collect()
    }

    #[test]
    fn sku_upsert_parses_into_the_catalog_sku() {
        let m = parse(&upsert(sku_json())).unwrap();
        assert_eq!(m.message_id.as_deref(), Some("erp-1"));
        let CatalogChange::SkuUpsert(sku) = &m.change else {
            panic!("not an upsert")
        };
        assert_eq!(sku.id, "2002495");
        assert_eq!(sku.prices[1].price, Cents(8990));
        assert_eq!(sku.stock["cd-cajamar"].on_hand, 12);
        assert_eq!(m.change.sku_id(), "2002495");
        assert_eq!(parse(m.to_json().as_bytes()).unwrap(), m);
    }

    #[test]
    fn every_type_round_trips_through_its_json() {
        let samples = [
            json!({"type":"price.changed","version":1,"skuId":"1","prices":[{"price":"100","listPrice":100}]}),
            json!({"type":"stock.changed","version":1,"skuId":"1","location":"w1","onHand":0}),
            json!({"type":"stock.changed","version":1,"skuId":"1","location":"w1","onHand":3,
                   "asOf":"2026-12-02T08:55:00.123456789-03:00"}),
            json!({"type":"notify.due","version":1,"skuId":"1","kind":"inventory","due":"2026-01-01T00:00:00Z"}),
        ];
        for s in samples {
            let m = parse(s.to_string().as_bytes()).unwrap();
            assert_eq!(parse(m.to_json().as_bytes()).unwrap(), m, "{s}");
        }
    }

    #[test]
    fn decimal_prices_are_refused_as_the_wrong_unit_even_when_whole() {
        let mut s = sku_json();
        s["prices"][0]["price"] = json!(99.90);
        s["prices"][1]["listPrice"] = json!(129.0);
        let v = violations(&upsert(s));
        assert_eq!(v.len(), 2, "{v:?}");
        assert!(v.iter().all(|v| v.code == ViolationCode::DecimalAmount));
        assert_eq!(v[0].field, "sku.prices[0].price");
        assert_eq!(v[1].field, "sku.prices[1].listPrice");
        let body = json!({"type":"price.changed","version":1,"skuId":"1","prices":[{"price":"99,90","listPrice":9990}]});
        assert_eq!(codes(body.to_string().as_bytes()), vec!["DECIMAL_AMOUNT"]);
    }

    #[test]
    fn list_price_below_price_and_zero_price_are_refused() {
        let body = json!({"type":"price.changed","version":1,"skuId":"1","prices":[
            {"price":9990,"listPrice":8990},
            {"sc":"2","price":0,"listPrice":0}
        ]});
        assert_eq!(
            codes(body.to_string().as_bytes()),
            vec!["LIST_PRICE_BELOW_PRICE", "NON_POSITIVE_PRICE"]
        );
    }

    #[test]
    fn duplicate_price_scopes_are_refused() {
        let body = json!({"type":"price.changed","version":1,"skuId":"1","prices":[
            {"sc":"1","price":100,"listPrice":100},
            {"sc":"1","price":90,"listPrice":100}
        ]});
        assert_eq!(codes(body.to_string().as_bytes()), vec!["DUPLICATE"]);
    }

    #[test]
    fn missing_ids_are_refused_with_every_problem_listed() {
        let body = json!({"type":"stock.changed","version":1,"skuId":"  ","onHand":-3});
        let v = violations(body.to_string().as_bytes());
        let got: Vec<(&str, &str)> = v
            .iter()
            .map(|v| (v.field.as_str(), v.code.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("skuId", "MISSING_ID"),
                ("location", "MISSING_ID"),
                ("onHand", "NEGATIVE_STOCK")
            ]
        );
        let mut s = sku_json();
        s.as_object_mut().unwrap().remove("id");
        assert_eq!(codes(&upsert(s)), vec!["MISSING_ID"]);
    }

    #[test]
    fn negative_or_fractional_stock_is_refused() {
        let body =
            json!({"type":"stock.changed","version":1,"skuId":"1","location":"w","onHand":2.5});
        assert_eq!(codes(body.to_string().as_bytes()), vec!["INVALID_VALUE"]);
        let mut s = sku_json();
        s["stock"]["cd-cajamar"]["onHand"] = json!(-1);
        assert_eq!(codes(&upsert(s)), vec!["NEGATIVE_STOCK"]);
    }

    #[test]
    fn stock_as_of_is_read_in_utc_and_must_carry_an_offset() {
        let body = |as_of: Value| {
            json!({"type":"stock.changed","version":1,"skuId":"1","location":"w","onHand":4,"asOf":as_of})
                .to_string()
                .into_bytes()
        };
        let m = parse(&body(json!("2026-12-02T08:55:00-03:00"))).unwrap();
        let CatalogChange::StockChanged { as_of, .. } = m.change else {
            panic!("not a stock change")
        };
        assert_eq!(
            as_of,
            Some(chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 2, 11, 55, 0).unwrap())
        );
        let unordered =
            json!({"type":"stock.changed","version":1,"skuId":"1","location":"w","onHand":4});
        let m = parse(unordered.to_string().as_bytes()).unwrap();
        assert!(matches!(
            m.change,
            CatalogChange::StockChanged { as_of: None, .. }
        ));
        for bad in [
            json!("2026-12-02T08:55:00"),
            json!("yesterday"),
            json!(1764676500),
        ] {
            let v = violations(&body(bad.clone()));
            assert_eq!(v.len(), 1, "{bad}");
            assert_eq!(
                (v[0].field.as_str(), v[0].code),
                ("asOf", ViolationCode::InvalidValue)
            );
        }
    }

    #[test]
    fn http_image_urls_are_refused() {
        let mut s = sku_json();
        s["product"]["images"][0]["url"] = json!("http://img.example.com/1.jpg");
        let v = violations(&upsert(s));
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].code, ViolationCode::HttpImageUrl);
        assert_eq!(v[0].field, "sku.product.images[0].url");
        for bad in ["https://", "https:// x", "ftp://a/b", ""] {
            assert!(!is_https_url(bad), "{bad}");
        }
        assert!(is_https_url("HTTPS://cdn.example.com/a.jpg?v=2"));
        assert!(!is_https_url("https://cdn.example.com/a b.jpg"));
    }

    #[test]
    fn missing_suggestion_fields_are_refused() {
        let mut s = sku_json();
        s["product"]["brand"] = json!("");
        s["product"]["images"] = json!([]);
        s["product"]["categoryPath"] = json!("Acessórios//Capas");
        s["dimensions"]["weightG"] = json!(0);
        let got: Vec<String> = violations(&upsert(s))
            .iter()
            .map(|v| v.field.clone())
            .collect();
        assert_eq!(
            got,
            vec![
                "sku.product.brand",
                "sku.product.categoryPath",
                "sku.product.images",
                "sku.dimensions.weightG"
            ]
        );
        let mut s = sku_json();
        s.as_object_mut().unwrap().remove("product");
        assert_eq!(codes(&upsert(s)), vec!["MISSING_FIELD"]);
    }

    #[test]
    fn stock_is_required_in_an_upsert_so_a_missing_field_never_zeroes_it() {
        let mut s = sku_json();
        s.as_object_mut().unwrap().remove("stock");
        let v = violations(&upsert(s));
        assert_eq!(v[0].field, "sku.stock");
    }

    #[test]
    fn envelope_errors_come_before_the_payload() {
        assert_eq!(
            parse(br#"{"type":"stock.changed","version":2}"#),
            Err(MessageError::UnsupportedVersion(2))
        );
        assert_eq!(
            parse(br#"{"type":"stock.changed"}"#),
            Err(MessageError::MissingVersion)
        );
        assert_eq!(parse(br#"{"version":1}"#), Err(MessageError::MissingType));
        assert!(matches!(
            parse(br#"{"type":"sku.delete","version":1}"#),
            Err(MessageError::UnknownType(_))
        ));
        assert!(matches!(parse(b"{nope"), Err(MessageError::NotJson(_))));
        let big = vec![b' '; MAX_MESSAGE_BYTES + 1];
        assert_eq!(parse(&big), Err(MessageError::TooLarge));
    }

    #[test]
    fn the_error_text_names_each_field_and_the_code_the_first_problem() {
        let body = json!({"type":"price.changed","version":1,"skuId":"1","prices":[{"price":99.9,"listPrice":1}]});
        let err = parse(body.to_string().as_bytes()).unwrap_err();
        assert_eq!(err.code(), "DECIMAL_AMOUNT");
        assert!(
            err.to_string()
                .starts_with("price.changed message is invalid: prices[0].price:"),
            "{err}"
        );
    }

    #[test]
    fn catalog_file_validation_reports_duplicates_and_accepts_the_sample() {
        let text = include_str!("../../../../sample/catalog.json");
        let value: Value = serde_json::from_str(text).unwrap();
        let file = validate_catalog_file(&value).unwrap();
        assert!(file.skus.len() >= 50);
        for sku in &file.skus {
            assert!(suggestion_problems(sku, "s").is_empty(), "{}", sku.id);
        }
        let mut dup = value.clone();
        let first = dup["skus"][0].clone();
        dup["skus"].as_array_mut().unwrap().push(first);
        let v = validate_catalog_file(&dup).unwrap_err();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].code, ViolationCode::Duplicate);
        let mut dec = value;
        dec["skus"][3]["prices"][0]["price"] = json!(12.5);
        assert_eq!(
            validate_catalog_file(&dec).unwrap_err()[0].field,
            "skus[3].prices[0].price"
        );
    }

    fn parsed_sku(v: Value) -> Sku {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn changes_tell_which_notifications_a_write_calls_for() {
        let old = parsed_sku(sku_json());
        assert_eq!(changes(None, &old).kinds(), vec![NotifyKind::Catalog]);
        assert!(changes(Some(&old), &old).is_empty());

        let mut new = old.clone();
        new.stock.get_mut("cd-cajamar").unwrap().on_hand = 11;
        assert_eq!(
            changes(Some(&old), &new).kinds(),
            vec![NotifyKind::Inventory]
        );

        // Reservations are ours, not the ERP's: they never call for a notification.
        let mut new = old.clone();
        new.stock.get_mut("cd-cajamar").unwrap().reserved = 5;
        assert!(changes(Some(&old), &new).is_empty());

        let mut new = old.clone();
        new.prices[0].price = Cents(9890);
        new.active = false;
        assert_eq!(
            changes(Some(&old), &new).kinds(),
            vec![NotifyKind::Price, NotifyKind::Inventory]
        );

        let mut new = old.clone();
        if let Some(p) = new.product.as_mut() {
            p.description = "Nova descrição".into();
        }
        assert_eq!(changes(Some(&old), &new).kinds(), vec![NotifyKind::Catalog]);

        // A location that appears with zero on hand changes nothing sellable.
        let mut new = old.clone();
        new.stock.insert("cd-rio".into(), Default::default());
        assert!(changes(Some(&old), &new).is_empty());
    }
}
