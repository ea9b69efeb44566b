//! Catalog calls of shared/docs/protocol.md §Catalog notifications: the notificator (price /
//! inventory), the catalog change notification (SKU discovery) and the SKU suggestion, with the
//! suggestion's wire shape.
//!
//! Like [`crate::client::VtexClient`], every call answers an outcome and never sleeps: retrying is
//! the caller's job (its queue, or the bulk loader's own loop).

use crate::client::{AppCredentials, ClientError, DEFAULT_TIMEOUT, parse_retry_after};
use domain::catalog::Sku;
use domain::catalog_messages::suggestion_problems;
pub use domain::catalog_notify::NotifyKind;
use reqwest::header::RETRY_AFTER;
use reqwest::{Method, StatusCode};
use serde::{Serialize, Serializer};
use std::fmt;
use std::time::Duration;
use url::Url;

/// Production base of the marketplace account (§Hosts and ids); `{an}` is the configured account.
pub const PRODUCTION_BASE_URL: &str = crate::client::PRODUCTION_BASE_URL;
/// Production base of the suggestions API (§Hosts and ids, §SKU suggestion): a different host.
pub const PRODUCTION_SUGGESTIONS_BASE_URL: &str = "https://api.vtex.com/{an}";

/// Where the catalog calls go and as whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEndpoints {
    /// Marketplace account base, `{an}` allowed (default [`PRODUCTION_BASE_URL`]).
    pub base_url: String,
    /// Suggestions base, `{an}` allowed (default [`PRODUCTION_SUGGESTIONS_BASE_URL`]).
    pub suggestions_base_url: String,
    /// The marketplace account name (`an`).
    pub account: String,
    /// Our seller id in the marketplace.
    pub seller_id: String,
}

pub use domain::outbound::CatalogOutcome;

/// reqwest-based client of the catalog calls. Cheap to clone.
#[derive(Clone)]
pub struct CatalogClient {
    http: reqwest::Client,
    base: Url,
    suggestions_base: Url,
    seller_id: String,
    creds: AppCredentials,
}

impl fmt::Debug for CatalogClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CatalogClient")
            .field("base", &self.base.as_str())
            .field("suggestions_base", &self.suggestions_base.as_str())
            .field("seller_id", &self.seller_id)
            .finish_non_exhaustive()
    }
}

fn base_url(template: &str, account: &str, what: &str) -> Result<Url, ClientError> {
    let text = template
        .trim()
        .trim_end_matches('/')
        .replace("{an}", account);
    let url = Url::parse(&text)
        .map_err(|e| ClientError::Config(format!("invalid {what} base URL: {e}")))?;
    if url.cannot_be_a_base() {
        return Err(ClientError::Config(format!(
            "{what} base URL cannot have a path"
        )));
    }
    Ok(url)
}

impl CatalogClient {
    pub fn new(
        endpoints: &CatalogEndpoints,
        creds: AppCredentials,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        let account = endpoints.account.trim();
        // The account becomes part of a host name: letters, digits and dashes only.
        if account.is_empty()
            || !account
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(ClientError::Config(format!(
                "marketplace account {account:?} is not a valid host label"
            )));
        }
        if endpoints.seller_id.trim().is_empty() {
            return Err(ClientError::Config("seller id is empty".into()));
        }
        creds.headers()?;
        let http = crate::client::http_client(timeout)?;
        Ok(CatalogClient {
            http,
            base: base_url(&endpoints.base_url, account, "VTEX")?,
            suggestions_base: base_url(&endpoints.suggestions_base_url, account, "suggestions")?,
            seller_id: endpoints.seller_id.trim().to_string(),
            creds,
        })
    }

    /// A client for another marketplace (its endpoints, seller id and credentials) sharing this
    /// client's connection pool and timeout.
    pub fn for_marketplace(
        &self,
        endpoints: &CatalogEndpoints,
        creds: AppCredentials,
    ) -> Result<Self, ClientError> {
        let account = endpoints.account.trim();
        if account.is_empty()
            || !account
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(ClientError::Config(format!(
                "marketplace account {account:?} is not a valid host label"
            )));
        }
        if endpoints.seller_id.trim().is_empty() {
            return Err(ClientError::Config("seller id is empty".into()));
        }
        creds.headers()?;
        Ok(CatalogClient {
            http: self.http.clone(),
            base: base_url(&endpoints.base_url, account, "VTEX")?,
            suggestions_base: base_url(&endpoints.suggestions_base_url, account, "suggestions")?,
            seller_id: endpoints.seller_id.trim().to_string(),
            creds,
        })
    }

    /// With the default timeout.
    pub fn with_defaults(
        endpoints: &CatalogEndpoints,
        creds: AppCredentials,
    ) -> Result<Self, ClientError> {
        Self::new(endpoints, creds, DEFAULT_TIMEOUT)
    }

    pub fn seller_id(&self) -> &str {
        &self.seller_id
    }

    fn url(&self, base: &Url, segments: &[&str]) -> Result<Url, ClientError> {
        crate::client::check_segments(segments)?;
        let mut url = base.clone();
        url.path_segments_mut()
            .map_err(|_| ClientError::Config("base URL cannot have a path".into()))?
            .pop_if_empty()
            // Each id is one percent-encoded segment.
            .extend(segments);
        Ok(url)
    }

    /// The notification of `kind`: notificator price / inventory (§Notificator), or the catalog
    /// change notification (§Change notification). Empty body.
    pub async fn notify(
        &self,
        kind: NotifyKind,
        sku_id: &str,
    ) -> Result<CatalogOutcome, ClientError> {
        let seller = self.seller_id.as_str();
        let url = match kind {
            NotifyKind::Price | NotifyKind::Inventory => self.url(
                &self.base,
                &[
                    "api",
                    "notificator",
                    seller,
                    "changenotification",
                    sku_id,
                    kind.as_str(),
                ],
            )?,
            // Lowercase `skuseller` (S2's `skuSeller` does not route).
            NotifyKind::Catalog => self.url(
                &self.base,
                &[
                    "api",
                    "catalog_system",
                    "pvt",
                    "skuseller",
                    "changenotification",
                    seller,
                    sku_id,
                ],
            )?,
        };
        self.call(Method::POST, url, None::<&()>).await
    }

    /// `PUT {suggestions}/suggestions/{sellerId}/{sellerSkuId}` (§SKU suggestion).
    pub async fn put_suggestion(
        &self,
        sku_id: &str,
        body: &SuggestionRequest,
    ) -> Result<CatalogOutcome, ClientError> {
        let url = self.url(
            &self.suggestions_base,
            &["suggestions", &self.seller_id, sku_id],
        )?;
        self.call(Method::PUT, url, Some(body)).await
    }

    async fn call<B: Serialize>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
    ) -> Result<CatalogOutcome, ClientError> {
        let path = url.path().to_string();
        let mut req = self
            .http
            .request(method.clone(), url)
            .headers(self.creds.headers()?);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                let kind = if e.is_timeout() {
                    "timeout"
                } else if e.is_connect() {
                    "connection failed"
                } else {
                    "transport error"
                };
                tracing::warn!(%method, path, kind, "VTEX catalog call failed");
                return Ok(CatalogOutcome::Retryable {
                    retry_after: None,
                    reason: format!("{kind} calling VTEX"),
                });
            }
        };
        let status = resp.status();
        let retry_after = parse_retry_after(resp.headers().get(RETRY_AFTER));
        let body = crate::client::read_limited(resp, crate::client::MAX_ANSWER_BYTES).await;
        tracing::info!(%method, path, status = status.as_u16(), complete = body.complete, "VTEX answered");
        Ok(classify(status, retry_after, &body.text))
    }
}

fn classify(status: StatusCode, retry_after: Option<Duration>, text: &str) -> CatalogOutcome {
    let body = || crate::client::refusal_excerpt(text);
    if status.is_success() {
        CatalogOutcome::Accepted {
            status: status.as_u16(),
        }
    } else if status == StatusCode::NOT_FOUND {
        CatalogOutcome::NotFound { body: body() }
    } else if status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
    {
        CatalogOutcome::Retryable {
            retry_after,
            reason: format!("VTEX answered {}", status.as_u16()),
        }
    } else {
        CatalogOutcome::Rejected {
            status: status.as_u16(),
            body: body(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SKU suggestion body (§SKU suggestion, C22: the SUG shape)

/// Currency data the suggestion's `Pricing` carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuggestionSettings {
    pub seller_id: String,
    /// The marketplace account: the sale price is the SKU's price for it.
    pub account: String,
    /// ISO-4217, e.g. `BRL`.
    pub currency: String,
    pub currency_symbol: String,
}

/// `PUT …/suggestions/{sellerId}/{sellerSkuId}` body. Field names and types as SUG; every
/// documented field is sent, `null` where we have nothing.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SuggestionRequest {
    pub product_id: String,
    pub product_name: String,
    pub name_complete: String,
    pub product_description: String,
    pub brand_name: String,
    pub sku_name: String,
    pub seller_id: String,
    #[serde(serialize_with = "whole_or_decimal")]
    pub height: f64,
    #[serde(serialize_with = "whole_or_decimal")]
    pub width: f64,
    #[serde(serialize_with = "whole_or_decimal")]
    pub length: f64,
    /// Grams (SUG), not S2's `WeightKg`.
    pub weight: i64,
    /// Required by SUG but never defined: always `null`.
    pub updated: Option<()>,
    pub ref_id: Option<String>,
    #[serde(rename = "EAN")]
    pub ean: Option<String>,
    pub seller_stock_keeping_unit_id: Option<i32>,
    pub category_full_path: String,
    pub images: Vec<SuggestionImage>,
    pub product_specifications: Vec<SuggestionSpecification>,
    pub sku_specifications: Vec<SuggestionSpecification>,
    pub measurement_unit: String,
    pub unit_multiplier: i64,
    pub available_quantity: i64,
    pub pricing: SuggestionPricing,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SuggestionImage {
    pub image_name: String,
    pub image_url: String,
}

/// `fieldValues` is an array (SUG), not S2's singular `fieldValue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SuggestionSpecification {
    pub field_name: String,
    pub field_values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SuggestionPricing {
    pub currency: String,
    /// Integer, no decimals. Cents, like every amount we send (the unit is open point O7; the
    /// marketplace takes real prices from the simulation anyway).
    pub sale_price: i64,
    pub currency_symbol: String,
}

/// SUG types the dimensions `integer` (format `decimal`): a whole value goes out as an integer.
fn whole_or_decimal<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

impl SuggestionRequest {
    /// The suggestion for `sku`, or why it cannot be made (missing product data, no price for the
    /// account, http images…). `RefId` is the product's `refId`, else our SKU id: SUG wants a
    /// RefId or an EAN, and our own id is the seller's reference for the SKU.
    pub fn from_sku(sku: &Sku, settings: &SuggestionSettings) -> Result<Self, String> {
        let problems = suggestion_problems(sku, "sku");
        let Some(product) = sku.product.as_ref().filter(|_| problems.is_empty()) else {
            return Err(problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "));
        };
        let price = sku
            .price_for(Some(&settings.account), None)
            .or_else(|| sku.prices.iter().min_by_key(|p| p.price))
            .ok_or_else(|| "sku.prices: no price to suggest".to_string())?;
        let specs = |list: &[domain::catalog::Specification]| {
            list.iter()
                .map(|s| SuggestionSpecification {
                    field_name: s.name.clone(),
                    field_values: s.values.clone(),
                })
                .collect()
        };
        Ok(SuggestionRequest {
            product_id: product.product_id.clone(),
            product_name: product.product_name.clone(),
            name_complete: sku.name.clone(),
            product_description: product.description.clone(),
            brand_name: product.brand.clone(),
            sku_name: sku.name.clone(),
            seller_id: settings.seller_id.clone(),
            height: sku.dimensions.height_cm,
            width: sku.dimensions.width_cm,
            length: sku.dimensions.length_cm,
            weight: sku.dimensions.weight_g,
            updated: None,
            ref_id: Some(product.ref_id.clone().unwrap_or_else(|| sku.id.clone())),
            ean: product.ean.clone(),
            seller_stock_keeping_unit_id: sku.id.parse().ok(),
            category_full_path: product.category_path.clone(),
            images: product
                .images
                .iter()
                .map(|i| SuggestionImage {
                    image_name: i.name.clone(),
                    image_url: i.url.clone(),
                })
                .collect(),
            product_specifications: specs(&product.product_specifications),
            sku_specifications: specs(&product.sku_specifications),
            measurement_unit: sku.measurement_unit.clone(),
            unit_multiplier: sku.unit_multiplier,
            available_quantity: sku.total_sellable().clamp(0, i64::from(i32::MAX)),
            pricing: SuggestionPricing {
                currency: settings.currency.clone(),
                sale_price: price.price.value(),
                currency_symbol: settings.currency_symbol.clone(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn endpoints(base: &str) -> CatalogEndpoints {
        CatalogEndpoints {
            base_url: base.into(),
            suggestions_base_url: PRODUCTION_SUGGESTIONS_BASE_URL.into(),
            account: "luxstore".into(),
            seller_id: "seller1".into(),
        }
    }

    fn client(base: &str) -> CatalogClient {
        CatalogClient::with_defaults(&endpoints(base), AppCredentials::new("k", "SECRET")).unwrap()
    }

    fn settings() -> SuggestionSettings {
        SuggestionSettings {
            seller_id: "seller1".into(),
            account: "luxstore".into(),
            currency: "BRL".into(),
            currency_symbol: "R$".into(),
        }
    }

    fn sku() -> Sku {
        serde_json::from_value(json!({
            "id": "2002495", "name": "Capa slimfit iPhone 5 preta",
            "prices": [
                { "price": 9990, "listPrice": 12990 },
                { "an": "luxstore", "price": 8990, "listPrice": 12990 }
            ],
            "stock": { "w1": { "onHand": 7, "reserved": 2 }, "w2": { "onHand": 1, "reserved": 3 } },
            "dimensions": { "heightCm": 2.5, "widthCm": 8, "lengthCm": 15, "weightG": 120 },
            "product": {
                "productId": "P2002495", "productName": "Capa slimfit iPhone 5",
                "description": "Capa de silicone.", "brand": "Acme",
                "categoryPath": "Acessórios/Capas",
                "images": [ { "name": "principal", "url": "https://img.example.com/1.jpg" } ],
                "skuSpecifications": [ { "name": "Cor", "values": ["Preto", "Fosco"] } ]
            }
        }))
        .unwrap()
    }

    #[test]
    fn paths_follow_the_contract() {
        let c = client("https://{an}.vtexcommercestable.com.br");
        let price = c
            .url(
                &c.base,
                &[
                    "api",
                    "notificator",
                    "seller1",
                    "changenotification",
                    "a b?",
                    "price",
                ],
            )
            .unwrap();
        assert_eq!(
            price.as_str(),
            "https://luxstore.vtexcommercestable.com.br/api/notificator/seller1/changenotification/a%20b%3F/price"
        );
        let s = c
            .url(&c.suggestions_base, &["suggestions", "seller1", "2002495"])
            .unwrap();
        assert_eq!(
            s.as_str(),
            "https://api.vtex.com/luxstore/suggestions/seller1/2002495"
        );
    }

    #[test]
    fn bad_accounts_and_empty_seller_ids_are_configuration_errors() {
        let mut e = endpoints(PRODUCTION_BASE_URL);
        e.account = "evil.com/x".into();
        assert!(CatalogClient::with_defaults(&e, AppCredentials::new("k", "t")).is_err());
        let mut e = endpoints(PRODUCTION_BASE_URL);
        e.seller_id = " ".into();
        assert!(CatalogClient::with_defaults(&e, AppCredentials::new("k", "t")).is_err());
    }

    #[test]
    fn debug_never_shows_credentials() {
        let shown = format!("{:?}", client("http://127.0.0.1:1"));
        assert!(!shown.contains("SECRET"), "{shown}");
    }

    #[test]
    fn answers_are_classified() {
        for s in [200u16, 202, 204] {
            assert_eq!(
                classify(StatusCode::from_u16(s).unwrap(), None, ""),
                CatalogOutcome::Accepted { status: s }
            );
        }
        assert!(matches!(
            classify(
                StatusCode::NOT_FOUND,
                None,
                "Seller StockKeepingUnit `1` not found"
            ),
            CatalogOutcome::NotFound { .. }
        ));
        assert_eq!(
            classify(
                StatusCode::TOO_MANY_REQUESTS,
                Some(Duration::from_secs(3)),
                ""
            ),
            CatalogOutcome::Retryable {
                retry_after: Some(Duration::from_secs(3)),
                reason: "VTEX answered 429".into()
            }
        );
        assert!(matches!(
            classify(StatusCode::FORBIDDEN, None, "x"),
            CatalogOutcome::Rejected { status: 403, .. }
        ));
    }

    #[test]
    fn suggestion_has_the_sug_shape_and_units() {
        let body = serde_json::to_value(SuggestionRequest::from_sku(&sku(), &settings()).unwrap())
            .unwrap();
        assert_eq!(body["ProductId"], json!("P2002495"));
        assert_eq!(body["SellerId"], json!("seller1"));
        assert_eq!(body["Weight"], json!(120));
        assert_eq!(body["Height"], json!(2.5));
        assert_eq!(body["Width"], json!(8));
        assert_eq!(body["Updated"], Value::Null);
        assert!(body.as_object().unwrap().contains_key("Updated"));
        assert_eq!(body["RefId"], json!("2002495"));
        assert_eq!(body["EAN"], Value::Null);
        assert_eq!(body["SellerStockKeepingUnitId"], json!(2002495));
        assert_eq!(
            body["SkuSpecifications"],
            json!([{ "fieldName": "Cor", "fieldValues": ["Preto", "Fosco"] }])
        );
        assert_eq!(body["ProductSpecifications"], json!([]));
        assert_eq!(
            body["Images"],
            json!([{ "imageName": "principal", "imageUrl": "https://img.example.com/1.jpg" }])
        );
        // 5 sellable at w1, none at w2 (more held than on hand).
        assert_eq!(body["AvailableQuantity"], json!(5));
        assert_eq!(
            body["Pricing"],
            json!({ "Currency": "BRL", "SalePrice": 8990, "CurrencySymbol": "R$" })
        );
        assert_eq!(body["MeasurementUnit"], json!("un"));
        assert_eq!(body["UnitMultiplier"], json!(1));
        assert!(body.get("WeightKg").is_none());
    }

    #[test]
    fn a_sku_without_usable_product_data_cannot_be_suggested() {
        let mut s = sku();
        s.product = None;
        assert!(SuggestionRequest::from_sku(&s, &settings()).is_err());
        let mut s = sku();
        if let Some(p) = s.product.as_mut() {
            p.images[0].url = "http://img.example.com/1.jpg".into();
        }
        let err = SuggestionRequest::from_sku(&s, &settings()).unwrap_err();
        assert!(err.contains("https"), "{err}");
        // A non-numeric id has no SellerStockKeepingUnitId.
        let mut s = sku();
        s.id = "CAPA-5".into();
        let body = SuggestionRequest::from_sku(&s, &settings()).unwrap();
        assert_eq!(body.seller_stock_keeping_unit_id, None);
    }
}
