//! The seller's shipping rules: carriers that ship from a warehouse to zones (postal-code ranges or
//! regions), pickup points with their own stock, and scheduled delivery windows. Stored as one
//! document; the simulation reads it once per cold start and refreshes it periodically.

use crate::catalog::LocationId;
use crate::duration::VtexDuration;
use crate::money::Cents;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingRules {
    /// ISO-3166 alpha-3 countries we ship to, e.g. `["BRA"]`.
    pub ships_to: Vec<String>,
    pub warehouses: Vec<Warehouse>,
    pub carriers: Vec<Carrier>,
    #[serde(default)]
    pub pickup_points: Vec<PickupPoint>,
    /// Seller contact used as `followUpEmail` in placement responses.
    #[serde(default)]
    pub follow_up_email: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Warehouse {
    pub id: LocationId,
    pub name: String,
}

/// One delivery option (one SLA id) shipping from one warehouse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Carrier {
    /// The SLA id VTEX echoes back as `selectedSla`.
    pub id: String,
    pub name: String,
    pub warehouse_id: LocationId,
    pub zones: Vec<Zone>,
    /// Sales channels this carrier serves; empty means all.
    #[serde(default)]
    pub sales_channels: Vec<String>,
    /// Present for scheduled delivery: the windows offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled: Option<ScheduledDelivery>,
}

/// Where a carrier delivers, and at what price and speed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Zone {
    pub country: String,
    /// Inclusive postal-code ranges compared on digits only (`"01000-000"` == `"01000000"`).
    #[serde(default)]
    pub postal_code_ranges: Vec<PostalCodeRange>,
    /// Price of the item line: `per_line + per_unit × quantity + per_kg × ⌈weight_kg × quantity⌉`.
    pub price: FreightPrice,
    pub shipping_estimate: VtexDuration,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostalCodeRange {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FreightPrice {
    #[serde(default)]
    pub per_line: Cents,
    #[serde(default)]
    pub per_unit: Cents,
    #[serde(default)]
    pub per_kg: Cents,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledDelivery {
    /// Windows are offered on each of the next `days_ahead` days, starting `first_day_offset` days out.
    pub first_day_offset: u32,
    pub days_ahead: u32,
    /// The local time zone offset of the windows, in minutes east of UTC (e.g. -180 for Brasília).
    pub utc_offset_minutes: i32,
    #[serde(default)]
    pub skip_weekends: bool,
    pub windows: Vec<DeliveryWindowTemplate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryWindowTemplate {
    /// Local `HH:MM`.
    pub start: String,
    pub end: String,
    /// Extra price of this window, in cents.
    #[serde(default)]
    pub price: Cents,
}

/// A store where the shopper collects the order. Its id is also a stock location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PickupPoint {
    /// SLA id and stock location id.
    pub id: String,
    pub name: String,
    pub friendly_name: String,
    pub address: PickupAddress,
    /// Postal codes from which shoppers are offered this point.
    pub serves: Vec<Zone>,
    #[serde(default)]
    pub additional_info: String,
    #[serde(default)]
    pub sales_channels: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PickupAddress {
    pub postal_code: String,
    pub city: String,
    pub state: String,
    pub country: String,
    pub street: String,
    pub number: String,
    pub neighborhood: String,
    #[serde(default)]
    pub complement: String,
    #[serde(default)]
    pub reference: Option<String>,
    /// `[longitude, latitude]`.
    pub geo_coordinates: [f64; 2],
}
