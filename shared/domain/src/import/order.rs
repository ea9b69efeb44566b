//! The order to import: the domain shape of the EMO placement body (shared/docs/protocol.md
//! §Import).

use super::*;

/// One order to place in our account. Holds customer data: its `Debug` shows ids and counts only.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportOrder {
    pub marketplace_order_id: String,
    #[serde(default)]
    pub marketplace_order_group: Option<String>,
    pub marketplace_payment_value: Cents,
    #[serde(default)]
    pub is_created_async: Option<bool>,
    pub items: Vec<ImportItem>,
    pub client_profile_data: ImportClient,
    pub shipping_data: ImportShipping,
    /// Passed through as received (UTM data).
    #[serde(default)]
    pub marketing_data: Option<Value>,
    /// Plain text (§Decisions C28); an S0-style `{"value": "…"}` is read as its `value`.
    #[serde(default, deserialize_with = "text_or_value_object")]
    pub open_text_field: Option<String>,
    /// Passed through as received (S0's `customApps`).
    #[serde(default)]
    pub custom_data: Option<Value>,
}

impl fmt::Debug for ImportOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportOrder")
            .field("marketplace_order_id", &self.marketplace_order_id)
            .field("items", &self.items.len())
            .finish_non_exhaustive()
    }
}

pub(super) fn text_or_value_object<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Object(m)) => match m.get("value") {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        },
        Some(_) => {
            return Err(serde::de::Error::custom(
                "openTextField must be a string (or {\"value\": \"…\"})",
            ));
        }
    })
}

pub(super) fn main_seller() -> String {
    "1".to_string()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportItem {
    /// The SKU id in *our* VTEX account.
    pub id: SkuId,
    pub quantity: i64,
    /// `"1"` = the account's main seller. `"Seller"` is accepted as the key too (§Conventions).
    #[serde(default = "main_seller", alias = "Seller")]
    pub seller: String,
    /// Unit price, cents.
    pub price: Cents,
    #[serde(default)]
    pub commission: Option<Cents>,
    #[serde(default)]
    pub freight_commission: Option<Cents>,
    #[serde(default)]
    pub measurement_unit: Option<String>,
    #[serde(default)]
    pub unit_multiplier: Option<f64>,
    #[serde(default)]
    pub is_gift: Option<bool>,
}

/// `clientProfileData`. Customer data: `Debug` redacts everything.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportClient {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub document_type: Option<String>,
    #[serde(default)]
    pub document: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub corporate_name: Option<String>,
    #[serde(default)]
    pub trade_name: Option<String>,
    #[serde(default)]
    pub corporate_document: Option<String>,
    #[serde(default)]
    pub state_inscription: Option<String>,
    #[serde(default)]
    pub corporate_phone: Option<String>,
    #[serde(default)]
    pub is_corporate: Option<bool>,
}

impl fmt::Debug for ImportClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ImportClient { <redacted> }")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportShipping {
    /// Customer data; its `Debug` shows the country only.
    pub address: Address,
    pub logistics_info: Vec<ImportLogistics>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportLogistics {
    pub item_index: usize,
    /// The SLA id in our account; `null` lets VTEX choose (§Decisions C29, open point O8).
    #[serde(default)]
    pub selected_sla: Option<String>,
    /// Freight of this item, cents.
    pub price: Cents,
    #[serde(default, rename = "lockTTL", alias = "lockTtl")]
    pub lock_ttl: Option<VtexDuration>,
    #[serde(default)]
    pub shipping_estimate: Option<VtexDuration>,
    #[serde(default)]
    pub selected_delivery_channel: Option<String>,
    #[serde(default)]
    pub delivery_window: Option<ImportDeliveryWindow>,
}

/// EMO's delivery window: `price`, `lisPrice` (sic) and `tax`, all cents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportDeliveryWindow {
    pub start_date_utc: String,
    pub end_date_utc: String,
    #[serde(default, alias = "listPrice")]
    pub price: Cents,
    #[serde(default)]
    pub lis_price: Cents,
    #[serde(default)]
    pub tax: Cents,
}

impl ImportOrder {
    /// Items plus freight: what VTEX takes as the order value, and what sale invoices add up to.
    pub fn total(&self) -> Cents {
        let items: Cents = self.items.iter().map(|i| i.price * i.quantity).sum();
        let freight: Cents = self
            .shipping_data
            .logistics_info
            .iter()
            .map(|l| l.price)
            .sum();
        items + freight
    }

    /// What is wrong with the order, as operator-readable sentences naming fields, never values
    /// of customer data. Empty when the order can be sent.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if let Err(e) = check_marketplace_order_id(&self.marketplace_order_id) {
            p.push(e);
        }
        if self.marketplace_payment_value.is_negative() {
            p.push("marketplacePaymentValue must not be negative".into());
        }
        if self.items.is_empty() {
            p.push("items must hold at least one item".into());
        }
        if self.items.len() > MAX_ITEMS {
            p.push(format!("items holds more than {MAX_ITEMS} items"));
        }
        for (i, item) in self.items.iter().enumerate() {
            if item.id.trim().is_empty() {
                p.push(format!("items[{i}].id is required"));
            }
            if item.quantity < 1 {
                p.push(format!("items[{i}].quantity must be at least 1"));
            }
            if item.seller.trim().is_empty() {
                p.push(format!("items[{i}].seller must not be empty"));
            }
            if item.price.is_negative() {
                p.push(format!("items[{i}].price must not be negative"));
            }
        }
        let c = &self.client_profile_data;
        for (name, v) in [
            ("email", &c.email),
            ("firstName", &c.first_name),
            ("lastName", &c.last_name),
            ("documentType", &c.document_type),
            ("document", &c.document),
        ] {
            if blank(v) {
                p.push(format!("clientProfileData.{name} is required"));
            }
        }
        let a = &self.shipping_data.address;
        for (name, v) in [
            ("addressType", &a.address_type),
            ("receiverName", &a.receiver_name),
            ("postalCode", &a.postal_code),
            ("city", &a.city),
            ("state", &a.state),
            ("country", &a.country),
            ("street", &a.street),
            ("number", &a.number),
        ] {
            if blank(v) {
                p.push(format!("shippingData.address.{name} is required"));
            }
        }
        if let Some(country) = a.country.as_deref().map(str::trim)
            && !country.is_empty()
            && !(country.len() == 3 && country.bytes().all(|b| b.is_ascii_alphabetic()))
        {
            p.push(
                "shippingData.address.country must be a three-letter ISO code (e.g. BRA)".into(),
            );
        }
        let mut per_item = vec![0usize; self.items.len()];
        for (j, l) in self.shipping_data.logistics_info.iter().enumerate() {
            match per_item.get_mut(l.item_index) {
                Some(n) => *n += 1,
                None => p.push(format!(
                    "shippingData.logisticsInfo[{j}].itemIndex {} names no item",
                    l.item_index
                )),
            }
            if l.price.is_negative() {
                p.push(format!(
                    "shippingData.logisticsInfo[{j}].price must not be negative"
                ));
            }
            if let Some(w) = &l.delivery_window
                && (w.start_date_utc.trim().is_empty() || w.end_date_utc.trim().is_empty())
            {
                p.push(format!(
                    "shippingData.logisticsInfo[{j}].deliveryWindow needs startDateUtc and endDateUtc"
                ));
            }
        }
        for (i, n) in per_item.iter().enumerate() {
            if *n != 1 {
                p.push(format!(
                    "item {i} needs exactly one shippingData.logisticsInfo entry, has {n}"
                ));
            }
        }
        p
    }
}

pub(super) fn blank(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(|s| s.trim().is_empty())
}
