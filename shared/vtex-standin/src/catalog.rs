//! The marketplace's catalog side as the connector sees it (shared/docs/protocol.md
//! §Catalog notifications): the notificator (price / inventory, `202`), the catalog change
//! notification (`204` for a SKU the marketplace knows, `404` text/plain otherwise) and the SKU
//! suggestion (`200`).
//!
//! Checks follow the contract and are the stricter of the plausible choices: bodies of the
//! notifications must be empty; the catalog path is lowercase `skuseller` (S2's `skuSeller` gets a
//! 404 that says why); a suggestion must have SUG's field names, types and units (string
//! `ProductId`, `Weight` in grams, `fieldValues` arrays, `Updated: null`, https images, a RefId or
//! an EAN, integer `SalePrice`). Which SKUs the marketplace knows is set by the test or by
//! `POST /_standin/catalog/known {"skuIds": […]}`; 429s come from the usual fault plan.

use crate::{Shared, lock, oms_error};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};

#[derive(Debug, Default)]
pub struct CatalogState {
    /// Seller SKU ids the marketplace knows: the change notification answers 204 for them.
    pub known: HashSet<String>,
    /// Our seller id as the marketplace registered it; `None` accepts any.
    pub seller_id: Option<String>,
    /// The pending suggestion per `(sellerId, sellerSkuId)`: a re-PUT replaces it
    /// (§SKU suggestion).
    pub suggestions: BTreeMap<(String, String), Value>,
    /// Accepted notifications, oldest first.
    pub notifications: Vec<Notification>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// `price`, `inventory` or `catalog`.
    pub kind: String,
    pub seller_id: String,
    pub sku_id: String,
}

impl CatalogState {
    /// Makes the marketplace know these seller SKU ids.
    pub fn know<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, ids: I) {
        self.known.extend(ids.into_iter().map(Into::into));
    }

    /// Accepted notifications of `kind` for `sku_id`.
    pub fn count(&self, kind: &str, sku_id: &str) -> usize {
        self.notifications
            .iter()
            .filter(|n| n.kind == kind && n.sku_id == sku_id)
            .count()
    }
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/api/notificator/{seller}/changenotification/{sku}/{kind}",
            post(notificator),
        )
        .route(
            "/api/catalog_system/pvt/skuseller/changenotification/{seller}/{sku}",
            post(change_notification),
        )
        .route(
            "/api/catalog_system/pvt/skuSeller/changenotification/{seller}/{sku}",
            post(wrong_case),
        )
        .route("/{account}/suggestions/{seller}/{sku}", put(put_suggestion))
        .route(
            "/suggestions/{seller}/{sku}",
            put(put_suggestion_no_account),
        )
}

/// `/_standin/catalog/…` control routes (no auth, not journaled).
pub fn control_routes() -> Router<Shared> {
    Router::new()
        .route("/_standin/catalog/known", post(set_known))
        .route("/_standin/catalog/suggestions", get(list_suggestions))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KnownBody {
    sku_ids: Vec<String>,
}

async fn set_known(State(s): State<Shared>, body: Bytes) -> Response {
    match serde_json::from_slice::<KnownBody>(&body) {
        Ok(b) => {
            lock(&s.catalog).know(b.sku_ids);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => oms_error(StatusCode::BAD_REQUEST, "STANDIN003", e.to_string()),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StoredSuggestion {
    seller_id: String,
    sku_id: String,
    body: Value,
}

async fn list_suggestions(State(s): State<Shared>) -> Json<Vec<StoredSuggestion>> {
    let c = lock(&s.catalog);
    Json(
        c.suggestions
            .iter()
            .map(|((seller, sku), body)| StoredSuggestion {
                seller_id: seller.clone(),
                sku_id: sku.clone(),
                body: body.clone(),
            })
            .collect(),
    )
}

fn text(status: StatusCode, message: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}

/// The answer to a notification with a body: they carry none (§Change notification, §Notificator).
fn refuse_body(body: &Bytes) -> Option<Response> {
    (!body.iter().all(u8::is_ascii_whitespace)).then(|| {
        oms_error(
            StatusCode::BAD_REQUEST,
            "CAT001",
            "The body of a change notification must be empty",
        )
    })
}

/// The answer to a call for another seller than the configured one.
fn refuse_seller(s: &Shared, seller: &str) -> Option<Response> {
    match &lock(&s.catalog).seller_id {
        Some(expected) if expected != seller => Some(text(
            StatusCode::NOT_FOUND,
            format!("Seller `{seller}` not found"),
        )),
        _ => None,
    }
}

async fn notificator(
    State(s): State<Shared>,
    Path((seller, sku, kind)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    if kind != "price" && kind != "inventory" {
        return text(
            StatusCode::NOT_FOUND,
            format!("No notificator route `{kind}`"),
        );
    }
    if let Some(r) = refuse_body(&body).or_else(|| refuse_seller(&s, &seller)) {
        return r;
    }
    lock(&s.catalog).notifications.push(Notification {
        kind,
        seller_id: seller,
        sku_id: sku,
    });
    StatusCode::ACCEPTED.into_response()
}

async fn change_notification(
    State(s): State<Shared>,
    Path((seller, sku)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Some(r) = refuse_body(&body).or_else(|| refuse_seller(&s, &seller)) {
        return r;
    }
    let mut c = lock(&s.catalog);
    if !c.known.contains(&sku) {
        return text(
            StatusCode::NOT_FOUND,
            format!("Seller StockKeepingUnit `{sku}` not found for this seller id `{seller}`"),
        );
    }
    c.notifications.push(Notification {
        kind: "catalog".into(),
        seller_id: seller,
        sku_id: sku,
    });
    // CAT documents 204 for the two-segment path.
    StatusCode::NO_CONTENT.into_response()
}

async fn wrong_case() -> Response {
    text(
        StatusCode::NOT_FOUND,
        "No route: the path is lowercase `skuseller` (shared/docs/protocol.md)".into(),
    )
}

async fn put_suggestion_no_account(
    state: State<Shared>,
    Path((seller, sku)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    store_suggestion(state, seller, sku, body)
}

async fn put_suggestion(
    state: State<Shared>,
    Path((_account, seller, sku)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    store_suggestion(state, seller, sku, body)
}

fn store_suggestion(State(s): State<Shared>, seller: String, sku: String, body: Bytes) -> Response {
    if let Some(r) = refuse_seller(&s, &seller) {
        return r;
    }
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return oms_error(
                StatusCode::BAD_REQUEST,
                "SUG001",
                format!("Invalid JSON: {e}"),
            );
        }
    };
    if let Err(problems) = validate_suggestion(&value, &seller) {
        return oms_error(StatusCode::BAD_REQUEST, "SUG002", problems.join("; "));
    }
    lock(&s.catalog).suggestions.insert((seller, sku), value);
    StatusCode::OK.into_response()
}

/// Every way `v` departs from SUG's `SaveSuggestionRequest` as shared/docs/protocol.md
/// §SKU suggestion reads it.
pub fn validate_suggestion(v: &Value, seller_in_path: &str) -> Result<(), Vec<String>> {
    let Value::Object(m) = v else {
        return Err(vec!["body must be a JSON object".into()]);
    };
    let mut p = Vec::new();
    for key in [
        "ProductId",
        "ProductName",
        "ProductDescription",
        "BrandName",
        "SkuName",
        "SellerId",
        "CategoryFullPath",
    ] {
        non_empty_string(m, key, &mut p);
    }
    if let Some(Value::String(name)) = m.get("ProductName")
        && name.chars().count() > 150
    {
        p.push("ProductName must be at most 150 characters".into());
    }
    if let Some(Value::String(id)) = m.get("SellerId")
        && id != seller_in_path
    {
        p.push(format!(
            "SellerId {id:?} differs from the seller in the path {seller_in_path:?}"
        ));
    }
    if let Some(Value::String(path)) = m.get("CategoryFullPath")
        && path.split('/').any(|seg| seg.trim().is_empty())
    {
        p.push("CategoryFullPath must be Department/Category without empty parts".into());
    }
    optional_string(m, "NameComplete", &mut p);
    for key in ["Height", "Width", "Length", "Weight"] {
        match m.get(key) {
            Some(Value::Number(n)) if n.as_f64().is_some_and(|f| f > 0.0) => {}
            Some(_) => p.push(format!("{key} must be a number greater than 0")),
            None => p.push(format!("{key} is required")),
        }
    }
    if m.contains_key("WeightKg") {
        p.push("WeightKg is not SUG: send Weight in grams".into());
    }
    match m.get("Updated") {
        Some(Value::Null) => {}
        Some(_) => p.push("Updated must be null".into()),
        None => p.push("Updated is required (null)".into()),
    }
    optional_string(m, "RefId", &mut p);
    optional_string(m, "EAN", &mut p);
    let filled = |k: &str| matches!(m.get(k), Some(Value::String(s)) if !s.trim().is_empty());
    if !filled("RefId") && !filled("EAN") {
        p.push("RefId or EAN is required".into());
    }
    match m.get("SellerStockKeepingUnitId") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) => {}
        Some(_) => p.push("SellerStockKeepingUnitId must be an int32 or null".into()),
    }
    match m.get("Images") {
        Some(Value::Array(images)) if !images.is_empty() => {
            for (i, img) in images.iter().enumerate() {
                let Value::Object(img) = img else {
                    p.push(format!("Images[{i}] must be an object"));
                    continue;
                };
                non_empty_string(img, "imageName", &mut p);
                match img.get("imageUrl") {
                    Some(Value::String(u)) if u.to_ascii_lowercase().starts_with("https://") => {}
                    _ => p.push(format!("Images[{i}].imageUrl must be an https URL")),
                }
            }
        }
        _ => p.push("Images must list at least one image".into()),
    }
    for key in ["ProductSpecifications", "SkuSpecifications"] {
        match m.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::Array(specs)) => {
                for (i, spec) in specs.iter().enumerate() {
                    let Value::Object(spec) = spec else {
                        p.push(format!("{key}[{i}] must be an object"));
                        continue;
                    };
                    non_empty_string(spec, "fieldName", &mut p);
                    if spec.contains_key("fieldValue") {
                        p.push(format!(
                            "{key}[{i}].fieldValue is not SUG: send fieldValues"
                        ));
                    }
                    match spec.get("fieldValues") {
                        Some(Value::Array(values))
                            if !values.is_empty() && values.iter().all(Value::is_string) => {}
                        _ => p.push(format!(
                            "{key}[{i}].fieldValues must be a non-empty array of strings"
                        )),
                    }
                }
            }
            Some(_) => p.push(format!("{key} must be an array")),
        }
    }
    optional_string(m, "MeasurementUnit", &mut p);
    match m.get("UnitMultiplier") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_i64().is_some_and(|i| i >= 1) => {}
        Some(_) => p.push("UnitMultiplier must be an integer of 1 or more".into()),
    }
    match m.get("AvailableQuantity") {
        Some(Value::Number(n)) if n.as_i64().is_some_and(|i| i >= 0) => {}
        _ => p.push("AvailableQuantity must be an integer of 0 or more".into()),
    }
    match m.get("Pricing") {
        Some(Value::Object(pricing)) => {
            match pricing.get("Currency") {
                Some(Value::String(c))
                    if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) => {}
                _ => p.push("Pricing.Currency must be an ISO-4217 code".into()),
            }
            match pricing.get("SalePrice") {
                Some(Value::Number(n)) if n.as_i64().is_some_and(|i| i >= 0) => {}
                _ => p.push("Pricing.SalePrice must be an integer without decimals".into()),
            }
            non_empty_string(pricing, "CurrencySymbol", &mut p);
        }
        _ => p.push("Pricing is required".into()),
    }
    if p.is_empty() { Ok(()) } else { Err(p) }
}

fn non_empty_string(m: &Map<String, Value>, key: &str, p: &mut Vec<String>) {
    match m.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => {}
        Some(Value::String(_)) => p.push(format!("{key} must not be empty")),
        Some(_) => p.push(format!("{key} must be a string")),
        None => p.push(format!("{key} is required")),
    }
}

fn optional_string(m: &Map<String, Value>, key: &str, p: &mut Vec<String>) {
    match m.get(key) {
        None | Some(Value::Null) | Some(Value::String(_)) => {}
        Some(_) => p.push(format!("{key} must be a string or null")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({
            "ProductId": "P1", "ProductName": "Capa", "NameComplete": "Capa preta",
            "ProductDescription": "Capa de silicone.", "BrandName": "Acme", "SkuName": "Capa preta",
            "SellerId": "seller1", "Height": 2.5, "Width": 8, "Length": 15, "Weight": 120,
            "Updated": null, "RefId": "CAPA-1", "EAN": null, "SellerStockKeepingUnitId": 1,
            "CategoryFullPath": "Acessórios/Capas",
            "Images": [{ "imageName": "principal", "imageUrl": "https://img.example.com/1.jpg" }],
            "ProductSpecifications": [],
            "SkuSpecifications": [{ "fieldName": "Cor", "fieldValues": ["Preto"] }],
            "MeasurementUnit": "un", "UnitMultiplier": 1, "AvailableQuantity": 3,
            "Pricing": { "Currency": "BRL", "SalePrice": 9990, "CurrencySymbol": "R$" }
        })
    }

    #[test]
    fn a_sug_shaped_body_is_accepted() {
        assert_eq!(validate_suggestion(&valid(), "seller1"), Ok(()));
    }

    /// The example beside the repository (shared/docs/protocol.md §Example story), when it is
    /// there.
    #[test]
    fn the_contract_example_is_accepted() {
        let dir = std::env::var("VTEX_EXAMPLES_DIR").unwrap_or_else(|_| {
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/protocol/examples"
            )
            .into()
        });
        let Ok(text) = std::fs::read_to_string(format!("{dir}/sku-suggestion.request.json")) else {
            eprintln!("skipped: no protocol examples at {dir}");
            return;
        };
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(validate_suggestion(&v, "seller123"), Ok(()));
    }

    #[test]
    fn s2_shapes_and_wrong_units_are_refused() {
        let mut v = valid();
        v["ProductId"] = json!(321);
        v["WeightKg"] = json!(0.1);
        v["Pricing"]["SalePrice"] = json!(3.99);
        v["SkuSpecifications"] = json!([{ "fieldName": "Color", "fieldValue": "Red" }]);
        v["Images"][0]["imageUrl"] = json!("http://x/1.jpg");
        v.as_object_mut().unwrap().remove("Updated");
        let problems = validate_suggestion(&v, "seller1").unwrap_err();
        assert_eq!(problems.len(), 7, "{problems:#?}");
        let mut v = valid();
        v["RefId"] = Value::Null;
        v["EAN"] = json!("");
        assert_eq!(
            validate_suggestion(&v, "seller1").unwrap_err(),
            vec!["RefId or EAN is required".to_string()]
        );
        assert!(validate_suggestion(&valid(), "other").is_err());
    }
}
