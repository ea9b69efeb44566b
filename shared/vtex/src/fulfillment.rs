//! The import flow's calls into our own VTEX account (shared/docs/protocol.md §Import, EMO + OMS):
//! place a fulfillment order, authorize its dispatch, start handling, and read an order back. Wire
//! shapes (DTOs) are built from [`domain::import::ImportOrder`] here; the worker decides what to
//! call.
//!
//! Like the OMS calls in [`crate::client`], each call only *classifies* what VTEX said
//! ([`ImportCall`]): retries go through the worker's queue, never a sleep.

use crate::client::{ClientError, RawAnswer, VtexClient};
use domain::import::{ImportItem, ImportLogistics, ImportOrder};
use domain::order::Address;
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::Duration;
use url::Url;

/// What VTEX said to one import call: for a lookup, a 404 is `Success(None)`; after a timeout
/// (`Retryable`) the call may have landed.
pub type ImportCall<T> = domain::outbound::CallOutcome<T>;

pub use domain::outbound::{
    Handling, VtexOrderSummary, is_canceled, past_dispatch_authorization, past_start_handling,
};

// ---------------------------------------------------------------------------------- DTOs

/// One element of the placement body (`POST /api/fulfillment/pvt/orders`, EMO
/// `placeFulfillmentOrderRequest`). Documented fields are always sent (`null` when unknown,
/// §Conventions); S0-only fields (`marketplaceOrderGroup`, `customData`) only when the order has
/// them. Customer data: `Debug` shows the ids only.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentOrderRequest {
    pub marketplace_order_id: String,
    pub marketplace_services_endpoint: String,
    pub marketplace_payment_value: i64,
    pub is_created_async: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace_order_group: Option<String>,
    pub items: Vec<FulfillmentItem>,
    pub client_profile_data: ClientProfileData,
    pub shipping_data: ShippingData,
    pub payment_data: Option<Value>,
    pub marketing_data: Option<Value>,
    pub open_text_field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<Value>,
}

impl std::fmt::Debug for FulfillmentOrderRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FulfillmentOrderRequest")
            .field("marketplace_order_id", &self.marketplace_order_id)
            .field("items", &self.items.len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentItem {
    pub id: String,
    pub quantity: i64,
    pub seller: String,
    /// Unit price, cents.
    pub price: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commission: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freight_commission: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurement_unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_multiplier: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_gift: Option<bool>,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientProfileData {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub document_type: Option<String>,
    pub document: Option<String>,
    pub phone: Option<String>,
    pub corporate_name: Option<String>,
    pub trade_name: Option<String>,
    pub corporate_document: Option<String>,
    pub state_inscription: Option<String>,
    pub corporate_phone: Option<String>,
    pub is_corporate: Option<bool>,
}

impl std::fmt::Debug for ClientProfileData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientProfileData { <redacted> }")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingData {
    pub address: AddressDto,
    pub logistics_info: Vec<LogisticsInfo>,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressDto {
    pub address_type: Option<String>,
    pub receiver_name: Option<String>,
    pub address_id: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
    pub street: Option<String>,
    pub number: Option<String>,
    pub neighborhood: Option<String>,
    pub complement: Option<String>,
    pub reference: Option<String>,
    pub geo_coordinates: Vec<Value>,
}

impl std::fmt::Debug for AddressDto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddressDto")
            .field("country", &self.country)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogisticsInfo {
    pub item_index: usize,
    /// `null` when the import names no SLA (§Decisions C29).
    pub selected_sla: Option<String>,
    pub price: i64,
    #[serde(rename = "lockTTL")]
    pub lock_ttl: Option<String>,
    pub shipping_estimate: Option<String>,
    pub delivery_window: Option<DeliveryWindowDto>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_delivery_channel: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryWindowDto {
    pub start_date_utc: String,
    pub end_date_utc: String,
    pub price: i64,
    /// EMO's spelling.
    pub lis_price: i64,
    pub tax: i64,
}

/// Coordinates are opaque (§Decisions C12): passed through in the order received, digit strings
/// sent as numbers.
fn geo(values: &[Value]) -> Vec<Value> {
    values
        .iter()
        .map(|v| match v {
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or_else(|| v.clone(), Value::Number),
            other => other.clone(),
        })
        .collect()
}

fn address(a: &Address) -> AddressDto {
    AddressDto {
        address_type: a.address_type.clone(),
        receiver_name: a.receiver_name.clone(),
        address_id: a.address_id.clone(),
        postal_code: a.postal_code.clone(),
        city: a.city.clone(),
        state: a.state.clone(),
        country: a.country.clone(),
        street: a.street.clone(),
        number: a.number.clone(),
        neighborhood: a.neighborhood.clone(),
        complement: a.complement.clone(),
        reference: a.reference.clone(),
        geo_coordinates: geo(&a.geo_coordinates),
    }
}

fn item(i: &ImportItem) -> FulfillmentItem {
    FulfillmentItem {
        id: i.id.clone(),
        quantity: i.quantity,
        seller: i.seller.clone(),
        price: i.price.value(),
        commission: i.commission.map(|c| c.value()),
        freight_commission: i.freight_commission.map(|c| c.value()),
        measurement_unit: i.measurement_unit.clone(),
        unit_multiplier: i.unit_multiplier,
        is_gift: i.is_gift,
    }
}

fn logistics(l: &ImportLogistics) -> LogisticsInfo {
    LogisticsInfo {
        item_index: l.item_index,
        selected_sla: l.selected_sla.clone().filter(|s| !s.trim().is_empty()),
        price: l.price.value(),
        lock_ttl: l.lock_ttl.map(|d| d.to_string()),
        shipping_estimate: l.shipping_estimate.map(|d| d.to_string()),
        delivery_window: l.delivery_window.as_ref().map(|w| DeliveryWindowDto {
            start_date_utc: w.start_date_utc.clone(),
            end_date_utc: w.end_date_utc.clone(),
            price: w.price.value(),
            lis_price: w.lis_price.value(),
            tax: w.tax.value(),
        }),
        selected_delivery_channel: l.selected_delivery_channel.clone(),
    }
}

impl FulfillmentOrderRequest {
    /// The placement element for `order`, naming `mse` as its marketplace-services endpoint.
    pub fn new(order: &ImportOrder, mse: &str) -> Self {
        let c = &order.client_profile_data;
        FulfillmentOrderRequest {
            marketplace_order_id: order.marketplace_order_id.clone(),
            marketplace_services_endpoint: mse.to_string(),
            marketplace_payment_value: order.marketplace_payment_value.value(),
            is_created_async: order.is_created_async.unwrap_or(false),
            marketplace_order_group: order.marketplace_order_group.clone(),
            items: order.items.iter().map(item).collect(),
            client_profile_data: ClientProfileData {
                email: c.email.clone(),
                first_name: c.first_name.clone(),
                last_name: c.last_name.clone(),
                document_type: c.document_type.clone(),
                document: c.document.clone(),
                phone: c.phone.clone(),
                corporate_name: c.corporate_name.clone(),
                trade_name: c.trade_name.clone(),
                corporate_document: c.corporate_document.clone(),
                state_inscription: c.state_inscription.clone(),
                corporate_phone: c.corporate_phone.clone(),
                is_corporate: c.is_corporate,
            },
            shipping_data: ShippingData {
                address: address(&order.shipping_data.address),
                logistics_info: order
                    .shipping_data
                    .logistics_info
                    .iter()
                    .map(logistics)
                    .collect(),
            },
            payment_data: None,
            marketing_data: order.marketing_data.clone(),
            open_text_field: order.open_text_field.clone(),
            custom_data: order.custom_data.clone(),
        }
    }
}

/// The `orderId` of a placement answer: the first element of an array (S0) or the object's own
/// (EMO `{orderId, status, message, orderData}`), §Decisions C2.
pub fn placed_order_id(text: &str) -> Option<String> {
    let v: Value = serde_json::from_str(text).ok()?;
    let first = match &v {
        Value::Array(a) => a.first()?,
        other => other,
    };
    first
        .get("orderId")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

// ---------------------------------------------------------------------------------- calls

fn classify_failure<T>(
    status: StatusCode,
    retry_after: Option<Duration>,
    text: &str,
) -> ImportCall<T> {
    if status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
    {
        return ImportCall::Retryable {
            retry_after,
            reason: format!("VTEX answered {}", status.as_u16()),
        };
    }
    ImportCall::Rejected {
        status: status.as_u16(),
        body: crate::client::refusal_excerpt(text),
    }
}

fn no_answer<T>(reason: String) -> ImportCall<T> {
    ImportCall::Retryable {
        retry_after: None,
        reason,
    }
}

impl VtexClient {
    fn account_url(
        &self,
        account: &str,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Url, ClientError> {
        crate::client::check_segments(segments)?;
        let mut url = self.base_for(account)?;
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| ClientError::Config("VTEX base URL cannot have a path".into()))?;
            path.pop_if_empty();
            // Ids are single percent-encoded segments.
            path.extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// `POST /api/fulfillment/pvt/orders?affiliateId={aff}&sc={sc}` with an array of one order
    /// (§Import step 1, §Decisions C2). `Success` carries the `orderId` VTEX returned; a 2xx
    /// without one is `Retryable` (the order may exist: look it up before placing again).
    pub async fn place_fulfillment_order(
        &self,
        account: &str,
        affiliate_id: &str,
        sales_channel: &str,
        order: &FulfillmentOrderRequest,
    ) -> Result<ImportCall<String>, ClientError> {
        let url = self.account_url(
            account,
            &["api", "fulfillment", "pvt", "orders"],
            &[("affiliateId", affiliate_id), ("sc", sales_channel)],
        )?;
        let body = json!([order]);
        Ok(match self.exchange(Method::POST, url, Some(&body)).await? {
            RawAnswer::NoAnswer { reason } => no_answer(reason),
            RawAnswer::Answered { status, text, .. } if status.is_success() => {
                match placed_order_id(&text) {
                    Some(id) => ImportCall::Success(id),
                    None => ImportCall::Retryable {
                        retry_after: None,
                        reason: format!("VTEX answered {} without an orderId", status.as_u16()),
                    },
                }
            }
            RawAnswer::Answered {
                status,
                retry_after,
                text,
            } => classify_failure(status, retry_after, &text),
        })
    }

    /// `POST /api/fulfillment/pvt/orders/{orderId}/fulfill?affiliateId=…&sc=…` (§Import step 2):
    /// the EMO object `{"marketplaceOrderId"}`, and on a `400` once more as the S0 array form
    /// (§Decisions C3). Any 2xx is success (§Decisions C31).
    pub async fn authorize_dispatch(
        &self,
        account: &str,
        affiliate_id: &str,
        sales_channel: &str,
        order_id: &str,
        marketplace_order_id: &str,
    ) -> Result<ImportCall<()>, ClientError> {
        let url = self.account_url(
            account,
            &["api", "fulfillment", "pvt", "orders", order_id, "fulfill"],
            &[("affiliateId", affiliate_id), ("sc", sales_channel)],
        )?;
        let object = json!({ "marketplaceOrderId": marketplace_order_id });
        let mut answer = self
            .exchange(Method::POST, url.clone(), Some(&object))
            .await?;
        if matches!(&answer, RawAnswer::Answered { status, .. } if *status == StatusCode::BAD_REQUEST)
        {
            let array = json!([{ "marketplaceOrderId": marketplace_order_id }]);
            answer = self.exchange(Method::POST, url, Some(&array)).await?;
        }
        Ok(match answer {
            RawAnswer::NoAnswer { reason } => no_answer(reason),
            RawAnswer::Answered { status, .. } if status.is_success() => ImportCall::Success(()),
            RawAnswer::Answered {
                status,
                retry_after,
                text,
            } => classify_failure(status, retry_after, &text),
        })
    }

    /// `POST /api/oms/pvt/orders/{orderId}/start-handling` (§Import step 3), no body. Only `204`,
    /// OMS's answer, is [`Handling::Started`]; `409` is [`Handling::NotReady`]. Another 2xx (a
    /// proxy or a page that is not OMS) proves nothing: retried later, and the retry asks VTEX
    /// where the order is before calling again.
    pub async fn start_handling(
        &self,
        account: &str,
        order_id: &str,
    ) -> Result<ImportCall<Handling>, ClientError> {
        let url = self.account_url(
            account,
            &["api", "oms", "pvt", "orders", order_id, "start-handling"],
            &[],
        )?;
        Ok(match self.exchange(Method::POST, url, None).await? {
            RawAnswer::NoAnswer { reason } => no_answer(reason),
            RawAnswer::Answered { status, .. } if status == StatusCode::NO_CONTENT => {
                ImportCall::Success(Handling::Started)
            }
            RawAnswer::Answered { status, .. } if status.is_success() => ImportCall::Retryable {
                retry_after: None,
                reason: format!(
                    "start-handling answered {} where OMS answers 204: not taken as started",
                    status.as_u16()
                ),
            },
            RawAnswer::Answered { status, text, .. } if status == StatusCode::CONFLICT => {
                ImportCall::Success(Handling::NotReady(crate::client::refusal_excerpt(&text)))
            }
            RawAnswer::Answered {
                status,
                retry_after,
                text,
            } => classify_failure(status, retry_after, &text),
        })
    }

    /// `GET /api/oms/pvt/orders/{orderId}` (§Get order): `Success(None)` on 404.
    pub async fn get_order(
        &self,
        account: &str,
        order_id: &str,
    ) -> Result<ImportCall<Option<VtexOrderSummary>>, ClientError> {
        let url = self.account_url(account, &["api", "oms", "pvt", "orders", order_id], &[])?;
        Ok(match self.exchange(Method::GET, url, None).await? {
            RawAnswer::NoAnswer { reason } => no_answer(reason),
            RawAnswer::Answered { status, .. } if status == StatusCode::NOT_FOUND => {
                ImportCall::Success(None)
            }
            RawAnswer::Answered { status, text, .. } if status.is_success() => {
                match serde_json::from_str::<VtexOrderSummary>(&text) {
                    Ok(o) => ImportCall::Success(Some(o)),
                    Err(_) => ImportCall::Retryable {
                        retry_after: None,
                        reason: "VTEX answered the order lookup with an unreadable body".into(),
                    },
                }
            }
            RawAnswer::Answered {
                status,
                retry_after,
                text,
            } => classify_failure(status, retry_after, &text),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::AppCredentials;
    use domain::import::contract::sample_order;

    fn examples_dir() -> Option<std::path::PathBuf> {
        let dir = std::env::var("VTEX_EXAMPLES_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../../shared/protocol/examples")
            });
        dir.is_dir().then_some(dir)
    }

    #[test]
    fn placement_body_carries_the_example_fields_and_our_mse() {
        let body = FulfillmentOrderRequest::new(
            &sample_order("2630580124"),
            "https://exampleseller.marketplaceservices.com",
        );
        let v = serde_json::to_value(json!([body])).unwrap();
        let o = &v[0];
        assert_eq!(
            o["marketplaceServicesEndpoint"],
            "https://exampleseller.marketplaceservices.com"
        );
        assert_eq!(o["marketplacePaymentValue"], 1100);
        assert_eq!(
            o["items"][0],
            json!({"id": "1", "quantity": 1, "seller": "1", "price": 900})
        );
        assert_eq!(o["shippingData"]["logisticsInfo"][0]["lockTTL"], "1d");
        assert_eq!(
            o["shippingData"]["logisticsInfo"][0]["selectedSla"],
            Value::Null
        );
        assert_eq!(o["paymentData"], Value::Null);
        assert_eq!(o["marketplaceOrderGroup"], "794901324");
        assert!(o.get("customData").is_none());
        let Some(dir) = examples_dir() else {
            eprintln!("examples folder absent: compared with the inline copy only");
            return;
        };
        let text = std::fs::read_to_string(dir.join("import-place-fulfillment-order.request.json"))
            .unwrap();
        let example: Value = serde_json::from_str(&text).unwrap();
        // Every top-level key we send is one the example (S0) or EMO documents.
        let documented = [
            "marketplaceOrderId",
            "marketplaceServicesEndpoint",
            "marketplacePaymentValue",
            "isCreatedAsync",
            "items",
            "clientProfileData",
            "shippingData",
            "paymentData",
            "marketingData",
            "openTextField",
        ];
        for k in o.as_object().unwrap().keys() {
            assert!(
                example[0].get(k).is_some() || documented.contains(&k.as_str()),
                "{k} is neither in the example nor in EMO"
            );
        }
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
            assert_eq!(
                o["shippingData"]["address"][k], example[0]["shippingData"]["address"][k],
                "{k}"
            );
        }
    }

    #[test]
    fn placement_answers_are_read_as_array_or_object() {
        assert_eq!(
            placed_order_id(r#"[{"orderId":"EXT-1","marketplaceOrderId":"1"}]"#).as_deref(),
            Some("EXT-1")
        );
        assert_eq!(
            placed_order_id(r#"{"orderId":"EXT-2","status":"success","orderData":{}}"#).as_deref(),
            Some("EXT-2")
        );
        assert_eq!(placed_order_id("[]"), None);
        assert_eq!(placed_order_id(r#"{"orderId":""}"#), None);
        assert_eq!(placed_order_id("oops"), None);
    }

    #[test]
    fn urls_carry_affiliate_and_sales_channel() {
        let c = VtexClient::new(
            crate::client::PRODUCTION_BASE_URL,
            AppCredentials::new("k", "t"),
        )
        .unwrap();
        let url = c
            .account_url(
                "myshop",
                &["api", "fulfillment", "pvt", "orders", "EXT-1", "fulfill"],
                &[("affiliateId", "EXT"), ("sc", "1")],
            )
            .unwrap();
        assert_eq!(
            url.as_str(),
            "https://myshop.vtexcommercestable.com.br/api/fulfillment/pvt/orders/EXT-1/fulfill?affiliateId=EXT&sc=1"
        );
    }

    #[test]
    fn workflow_statuses_are_classified() {
        assert!(!past_dispatch_authorization("waiting-ffmt-authorization"));
        assert!(past_dispatch_authorization("window-to-cancel"));
        assert!(past_dispatch_authorization("invoiced"));
        assert!(!past_start_handling("ready-for-handling"));
        assert!(past_start_handling("handling"));
        assert!(past_start_handling("invoiced"));
        assert!(is_canceled("canceled"));
    }

    #[test]
    fn debug_of_the_body_hides_the_customer() {
        let body = FulfillmentOrderRequest::new(&sample_order("1"), "https://mse");
        let shown = format!("{body:?}");
        for secret in ["conta@dominio", "Eduardo", "21998718616", "exampleseller"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
