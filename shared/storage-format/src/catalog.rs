//! Stored catalog records, version 1: a SKU (its `data`; stock is kept apart by both adapters, so
//! `stock` is written empty) and the shipping rules. Version 1 is the JSON written before stored
//! shapes were explicit, which is also the catalog file's format (`shared/sample/README.md`);
//! these types pin it field by field, so the file format and the domain can move without making
//! stored SKUs unreadable.

use crate::{FormatError, Stored};
use chrono::{DateTime, Utc};
use domain::VtexDuration;
use domain::catalog::{
    Dimensions, Image, Offering, PriceEntry, ProductInfo, Sku, Specification, StockLevel,
};
use domain::money::Cents;
use domain::ports::StockMarks;
use domain::shipping::{
    Carrier, DeliveryWindowTemplate, FreightPrice, PickupAddress, PickupPoint, PostalCodeRange,
    ScheduledDelivery, ShippingRules, Warehouse, Zone,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkuV1 {
    pub id: String,
    #[serde(default = "yes")]
    pub active: bool,
    pub name: String,
    pub prices: Vec<PriceEntryV1>,
    /// Empty in what the adapters write (stock lives in its own attribute / table).
    #[serde(default)]
    pub stock: BTreeMap<String, StockLevelV1>,
    #[serde(default)]
    pub sales_channels: Vec<String>,
    #[serde(default)]
    pub dimensions: DimensionsV1,
    #[serde(default = "unit")]
    pub measurement_unit: String,
    #[serde(default = "one")]
    pub unit_multiplier: i64,
    #[serde(default)]
    pub offerings: Vec<OfferingV1>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<ProductInfoV1>,
}

fn yes() -> bool {
    true
}
fn unit() -> String {
    "un".to_string()
}
fn one() -> i64 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceEntryV1 {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub an: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sc: Option<String>,
    pub price: i64,
    pub list_price: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockLevelV1 {
    pub on_hand: i64,
    #[serde(default)]
    pub reserved: i64,
}

/// The ordering marks of one stock location ([`StockMarks`]) as both stores keep them beside the
/// counters: DynamoDB as the `asOf` / `shippedAt` strings of the location's map in `stock`, SQLite
/// as the columns of `stock_marks`. Added after version 1 of the stock: a location written before
/// has neither (the shape read back is all `None`, and any count applies there).
///
/// Each is RFC 3339 in UTC with nanoseconds at a fixed width ([`mark_time`]), so that comparing the
/// strings (a DynamoDB condition, SQLite's `<`) compares the instants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockMarksV1 {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipped_at: Option<String>,
}

/// The attribute (DynamoDB) names of [`StockMarksV1`] inside a stock location.
pub const AS_OF: &str = "asOf";
pub const SHIPPED_AT: &str = "shippedAt";

/// `at` as a mark: `2026-12-02T11:55:00.000000000Z`, always this width (years 0–9999).
pub fn mark_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

/// A mark written by [`mark_time`].
pub fn read_mark_time(s: &str) -> Result<DateTime<Utc>, FormatError> {
    DateTime::parse_from_rfc3339(s)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|e| FormatError(format!("stock mark {s:?} is not an RFC 3339 time: {e}")))
}

impl StockMarksV1 {
    pub fn from_marks(m: &StockMarks) -> Self {
        StockMarksV1 {
            as_of: m.as_of.map(mark_time),
            shipped_at: m.shipped_at.map(mark_time),
        }
    }

    pub fn to_marks(&self) -> Result<StockMarks, FormatError> {
        let read = |v: &Option<String>| v.as_deref().map(read_mark_time).transpose();
        Ok(StockMarks {
            as_of: read(&self.as_of)?,
            shipped_at: read(&self.shipped_at)?,
        })
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DimensionsV1 {
    pub height_cm: f64,
    pub width_cm: f64,
    pub length_cm: f64,
    pub weight_g: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferingV1 {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub name: String,
    pub price: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductInfoV1 {
    pub product_id: String,
    pub product_name: String,
    #[serde(default)]
    pub description: String,
    pub brand: String,
    pub category_path: String,
    #[serde(default)]
    pub images: Vec<ImageV1>,
    #[serde(default)]
    pub product_specifications: Vec<SpecificationV1>,
    #[serde(default)]
    pub sku_specifications: Vec<SpecificationV1>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ean: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageV1 {
    pub name: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpecificationV1 {
    pub name: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingRulesV1 {
    pub ships_to: Vec<String>,
    pub warehouses: Vec<WarehouseV1>,
    pub carriers: Vec<CarrierV1>,
    #[serde(default)]
    pub pickup_points: Vec<PickupPointV1>,
    #[serde(default)]
    pub follow_up_email: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WarehouseV1 {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CarrierV1 {
    pub id: String,
    pub name: String,
    pub warehouse_id: String,
    pub zones: Vec<ZoneV1>,
    #[serde(default)]
    pub sales_channels: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled: Option<ScheduledDeliveryV1>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZoneV1 {
    pub country: String,
    #[serde(default)]
    pub postal_code_ranges: Vec<PostalCodeRangeV1>,
    pub price: FreightPriceV1,
    /// A VTEX duration string (`"5bd"`).
    pub shipping_estimate: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostalCodeRangeV1 {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FreightPriceV1 {
    #[serde(default)]
    pub per_line: i64,
    #[serde(default)]
    pub per_unit: i64,
    #[serde(default)]
    pub per_kg: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledDeliveryV1 {
    pub first_day_offset: u32,
    pub days_ahead: u32,
    pub utc_offset_minutes: i32,
    #[serde(default)]
    pub skip_weekends: bool,
    pub windows: Vec<DeliveryWindowTemplateV1>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryWindowTemplateV1 {
    pub start: String,
    pub end: String,
    #[serde(default)]
    pub price: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PickupPointV1 {
    pub id: String,
    pub name: String,
    pub friendly_name: String,
    pub address: PickupAddressV1,
    pub serves: Vec<ZoneV1>,
    #[serde(default)]
    pub additional_info: String,
    #[serde(default)]
    pub sales_channels: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PickupAddressV1 {
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

impl Stored for Sku {
    const WHAT: &'static str = "SKU";
    const VERSION: u32 = 1;
    type Shape = SkuV1;

    fn to_shape(&self) -> SkuV1 {
        SkuV1 {
            id: self.id.clone(),
            active: self.active,
            name: self.name.clone(),
            prices: self.prices.iter().map(PriceEntryV1::from).collect(),
            stock: self
                .stock
                .iter()
                .map(|(loc, l)| {
                    let level = StockLevelV1 {
                        on_hand: l.on_hand,
                        reserved: l.reserved,
                    };
                    (loc.clone(), level)
                })
                .collect(),
            sales_channels: self.sales_channels.clone(),
            dimensions: DimensionsV1 {
                height_cm: self.dimensions.height_cm,
                width_cm: self.dimensions.width_cm,
                length_cm: self.dimensions.length_cm,
                weight_g: self.dimensions.weight_g,
            },
            measurement_unit: self.measurement_unit.clone(),
            unit_multiplier: self.unit_multiplier,
            offerings: self
                .offerings
                .iter()
                .map(|o| OfferingV1 {
                    kind: o.kind.clone(),
                    id: o.id.clone(),
                    name: o.name.clone(),
                    price: o.price.value(),
                })
                .collect(),
            product: self.product.as_ref().map(ProductInfoV1::from),
        }
    }

    fn from_shape(s: SkuV1) -> Result<Self, FormatError> {
        Ok(Sku {
            id: s.id,
            active: s.active,
            name: s.name,
            prices: s.prices.into_iter().map(PriceEntry::from).collect(),
            stock: s
                .stock
                .into_iter()
                .map(|(loc, l)| {
                    let level = StockLevel {
                        on_hand: l.on_hand,
                        reserved: l.reserved,
                    };
                    (loc, level)
                })
                .collect(),
            sales_channels: s.sales_channels,
            dimensions: Dimensions {
                height_cm: s.dimensions.height_cm,
                width_cm: s.dimensions.width_cm,
                length_cm: s.dimensions.length_cm,
                weight_g: s.dimensions.weight_g,
            },
            measurement_unit: s.measurement_unit,
            unit_multiplier: s.unit_multiplier,
            offerings: s
                .offerings
                .into_iter()
                .map(|o| Offering {
                    kind: o.kind,
                    id: o.id,
                    name: o.name,
                    price: Cents::new(o.price),
                })
                .collect(),
            product: s.product.map(ProductInfo::from),
        })
    }
}

impl From<&PriceEntry> for PriceEntryV1 {
    fn from(p: &PriceEntry) -> Self {
        PriceEntryV1 {
            an: p.an.clone(),
            sc: p.sc.clone(),
            price: p.price.value(),
            list_price: p.list_price.value(),
            valid_until: p.valid_until,
        }
    }
}

impl From<PriceEntryV1> for PriceEntry {
    fn from(p: PriceEntryV1) -> Self {
        PriceEntry {
            an: p.an,
            sc: p.sc,
            price: Cents::new(p.price),
            list_price: Cents::new(p.list_price),
            valid_until: p.valid_until,
        }
    }
}

fn spec_v1(s: &Specification) -> SpecificationV1 {
    SpecificationV1 {
        name: s.name.clone(),
        values: s.values.clone(),
    }
}

fn spec(s: SpecificationV1) -> Specification {
    Specification {
        name: s.name,
        values: s.values,
    }
}

impl From<&ProductInfo> for ProductInfoV1 {
    fn from(p: &ProductInfo) -> Self {
        ProductInfoV1 {
            product_id: p.product_id.clone(),
            product_name: p.product_name.clone(),
            description: p.description.clone(),
            brand: p.brand.clone(),
            category_path: p.category_path.clone(),
            images: p
                .images
                .iter()
                .map(|i| ImageV1 {
                    name: i.name.clone(),
                    url: i.url.clone(),
                })
                .collect(),
            product_specifications: p.product_specifications.iter().map(spec_v1).collect(),
            sku_specifications: p.sku_specifications.iter().map(spec_v1).collect(),
            ean: p.ean.clone(),
            ref_id: p.ref_id.clone(),
        }
    }
}

impl From<ProductInfoV1> for ProductInfo {
    fn from(p: ProductInfoV1) -> Self {
        ProductInfo {
            product_id: p.product_id,
            product_name: p.product_name,
            description: p.description,
            brand: p.brand,
            category_path: p.category_path,
            images: p
                .images
                .into_iter()
                .map(|i| Image {
                    name: i.name,
                    url: i.url,
                })
                .collect(),
            product_specifications: p.product_specifications.into_iter().map(spec).collect(),
            sku_specifications: p.sku_specifications.into_iter().map(spec).collect(),
            ean: p.ean,
            ref_id: p.ref_id,
        }
    }
}

impl Stored for ShippingRules {
    const WHAT: &'static str = "shipping rules";
    const VERSION: u32 = 1;
    type Shape = ShippingRulesV1;

    fn to_shape(&self) -> ShippingRulesV1 {
        ShippingRulesV1 {
            ships_to: self.ships_to.clone(),
            warehouses: self
                .warehouses
                .iter()
                .map(|w| WarehouseV1 {
                    id: w.id.clone(),
                    name: w.name.clone(),
                })
                .collect(),
            carriers: self.carriers.iter().map(CarrierV1::from).collect(),
            pickup_points: self.pickup_points.iter().map(PickupPointV1::from).collect(),
            follow_up_email: self.follow_up_email.clone(),
        }
    }

    fn from_shape(r: ShippingRulesV1) -> Result<Self, FormatError> {
        Ok(ShippingRules {
            ships_to: r.ships_to,
            warehouses: r
                .warehouses
                .into_iter()
                .map(|w| Warehouse {
                    id: w.id,
                    name: w.name,
                })
                .collect(),
            carriers: r
                .carriers
                .into_iter()
                .map(Carrier::try_from)
                .collect::<Result<_, _>>()?,
            pickup_points: r
                .pickup_points
                .into_iter()
                .map(PickupPoint::try_from)
                .collect::<Result<_, _>>()?,
            follow_up_email: r.follow_up_email,
        })
    }
}

impl From<&Carrier> for CarrierV1 {
    fn from(c: &Carrier) -> Self {
        CarrierV1 {
            id: c.id.clone(),
            name: c.name.clone(),
            warehouse_id: c.warehouse_id.clone(),
            zones: c.zones.iter().map(ZoneV1::from).collect(),
            sales_channels: c.sales_channels.clone(),
            scheduled: c.scheduled.as_ref().map(|s| ScheduledDeliveryV1 {
                first_day_offset: s.first_day_offset,
                days_ahead: s.days_ahead,
                utc_offset_minutes: s.utc_offset_minutes,
                skip_weekends: s.skip_weekends,
                windows: s
                    .windows
                    .iter()
                    .map(|w| DeliveryWindowTemplateV1 {
                        start: w.start.clone(),
                        end: w.end.clone(),
                        price: w.price.value(),
                    })
                    .collect(),
            }),
        }
    }
}

impl TryFrom<CarrierV1> for Carrier {
    type Error = FormatError;

    fn try_from(c: CarrierV1) -> Result<Self, FormatError> {
        Ok(Carrier {
            id: c.id,
            name: c.name,
            warehouse_id: c.warehouse_id,
            zones: zones(c.zones)?,
            sales_channels: c.sales_channels,
            scheduled: c.scheduled.map(|s| ScheduledDelivery {
                first_day_offset: s.first_day_offset,
                days_ahead: s.days_ahead,
                utc_offset_minutes: s.utc_offset_minutes,
                skip_weekends: s.skip_weekends,
                windows: s
                    .windows
                    .into_iter()
                    .map(|w| DeliveryWindowTemplate {
                        start: w.start,
                        end: w.end,
                        price: Cents::new(w.price),
                    })
                    .collect(),
            }),
        })
    }
}

impl From<&Zone> for ZoneV1 {
    fn from(z: &Zone) -> Self {
        ZoneV1 {
            country: z.country.clone(),
            postal_code_ranges: z
                .postal_code_ranges
                .iter()
                .map(|r| PostalCodeRangeV1 {
                    from: r.from.clone(),
                    to: r.to.clone(),
                })
                .collect(),
            price: FreightPriceV1 {
                per_line: z.price.per_line.value(),
                per_unit: z.price.per_unit.value(),
                per_kg: z.price.per_kg.value(),
            },
            shipping_estimate: z.shipping_estimate.to_string(),
        }
    }
}

fn zones(zones: Vec<ZoneV1>) -> Result<Vec<Zone>, FormatError> {
    zones
        .into_iter()
        .map(|z| {
            let estimate: VtexDuration = z.shipping_estimate.parse().map_err(|e| {
                FormatError(format!("stored shipping rules zone shippingEstimate: {e}"))
            })?;
            Ok(Zone {
                country: z.country,
                postal_code_ranges: z
                    .postal_code_ranges
                    .into_iter()
                    .map(|r| PostalCodeRange {
                        from: r.from,
                        to: r.to,
                    })
                    .collect(),
                price: FreightPrice {
                    per_line: Cents::new(z.price.per_line),
                    per_unit: Cents::new(z.price.per_unit),
                    per_kg: Cents::new(z.price.per_kg),
                },
                shipping_estimate: estimate,
            })
        })
        .collect()
}

impl From<&PickupPoint> for PickupPointV1 {
    fn from(p: &PickupPoint) -> Self {
        let a = &p.address;
        PickupPointV1 {
            id: p.id.clone(),
            name: p.name.clone(),
            friendly_name: p.friendly_name.clone(),
            address: PickupAddressV1 {
                postal_code: a.postal_code.clone(),
                city: a.city.clone(),
                state: a.state.clone(),
                country: a.country.clone(),
                street: a.street.clone(),
                number: a.number.clone(),
                neighborhood: a.neighborhood.clone(),
                complement: a.complement.clone(),
                reference: a.reference.clone(),
                geo_coordinates: a.geo_coordinates,
            },
            serves: p.serves.iter().map(ZoneV1::from).collect(),
            additional_info: p.additional_info.clone(),
            sales_channels: p.sales_channels.clone(),
        }
    }
}

impl TryFrom<PickupPointV1> for PickupPoint {
    type Error = FormatError;

    fn try_from(p: PickupPointV1) -> Result<Self, FormatError> {
        let a = p.address;
        Ok(PickupPoint {
            id: p.id,
            name: p.name,
            friendly_name: p.friendly_name,
            address: PickupAddress {
                postal_code: a.postal_code,
                city: a.city,
                state: a.state,
                country: a.country,
                street: a.street,
                number: a.number,
                neighborhood: a.neighborhood,
                complement: a.complement,
                reference: a.reference,
                geo_coordinates: a.geo_coordinates,
            },
            serves: zones(p.serves)?,
            additional_info: p.additional_info,
            sales_channels: p.sales_channels,
        })
    }
}

#[cfg(test)]
mod golden {
    use super::*;
    use crate::testing::golden;
    use chrono::TimeZone;

    /// One stock location as written before the ordering marks existed: DynamoDB's map in
    /// `stock` (here as JSON) carried only the counters.
    const LOCATION_BEFORE_MARKS: &str = r#"{"onHand": 12, "reserved": 2, "available": 10}"#;

    #[test]
    fn a_stock_location_written_before_the_marks_reads_with_none_and_any_count_applies() {
        let shape: StockMarksV1 = serde_json::from_str(LOCATION_BEFORE_MARKS).unwrap();
        assert_eq!(shape, StockMarksV1::default());
        let marks = shape.to_marks().unwrap();
        assert_eq!(marks, StockMarks::default());
        let long_ago = Utc.with_ymd_and_hms(1990, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(marks.refuses(long_ago), None);
        // No marks, nothing written: the old shape stays the old shape.
        assert_eq!(serde_json::to_string(&shape).unwrap(), "{}");
        let level: StockLevelV1 = serde_json::from_str(LOCATION_BEFORE_MARKS).unwrap();
        assert_eq!((level.on_hand, level.reserved), (12, 2));
    }

    #[test]
    fn stock_marks_round_trip_and_compare_as_strings_like_the_instants() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let marks = StockMarks {
            as_of: Some(at("2026-12-02T08:55:00.5-03:00")),
            shipped_at: Some(at("2026-12-02T12:00:00Z")),
        };
        let shape = StockMarksV1::from_marks(&marks);
        assert_eq!(
            serde_json::to_string(&shape).unwrap(),
            r#"{"asOf":"2026-12-02T11:55:00.500000000Z","shippedAt":"2026-12-02T12:00:00.000000000Z"}"#
        );
        assert_eq!(shape.to_marks().unwrap(), marks);
        let times = [
            "2026-12-02T11:55:00Z",
            "2026-12-02T11:55:00.000000001Z",
            "2026-12-02T11:55:00.1Z",
            "2026-12-02T11:55:01Z",
            "2027-01-01T00:00:00-03:00",
        ];
        for pair in times.windows(2) {
            let (a, b) = (mark_time(at(pair[0])), mark_time(at(pair[1])));
            assert!(a < b, "{a} < {b}");
            assert_eq!(a.len(), b.len());
        }
        assert!(read_mark_time("yesterday").is_err());
    }

    /// A SKU's `data` as the adapters wrote it before `schemaVersion` (stock cleared, kept apart).
    const SKU: &str = r#"
    {
      "id": "2000037",
      "active": true,
      "name": "Forno Micro-ondas 30 Litros Inox",
      "prices": [
        {
          "price": 67203,
          "listPrice": 67203
        },
        {
          "an": "parceiromkp",
          "price": 66203,
          "listPrice": 67203
        },
        {
          "sc": "2",
          "price": 65203,
          "listPrice": 67203,
          "validUntil": "2027-12-31T23:59:59Z"
        }
      ],
      "stock": {},
      "salesChannels": [
        "1",
        "2"
      ],
      "dimensions": {
        "heightCm": 32.0,
        "widthCm": 52.0,
        "lengthCm": 42.0,
        "weightG": 10000
      },
      "measurementUnit": "un",
      "unitMultiplier": 1,
      "offerings": [
        {
          "type": "Warranty",
          "id": "5",
          "name": "Garantia estendida de 1 ano",
          "price": 10000
        }
      ],
      "product": {
        "productId": "P2000037",
        "productName": "Forno Micro-ondas 30 Litros Inox",
        "description": "Micro-ondas de 30 litros com painel digital e acabamento inox.",
        "brand": "Eletrolar",
        "categoryPath": "Eletrodomésticos/Micro-ondas",
        "images": [
          {
            "name": "principal",
            "url": "https://images.lojaexemplo.com.br/produtos/P2000037/1.jpg"
          }
        ],
        "productSpecifications": [],
        "skuSpecifications": [
          {
            "name": "Voltagem",
            "values": [
              "220V"
            ]
          }
        ],
        "ean": "7891234567895"
      }
    }
    "#;

    const SHIPPING_RULES: &str = r#"
    {
      "shipsTo": [
        "BRA"
      ],
      "warehouses": [
        {
          "id": "cd-cajamar",
          "name": "CD Cajamar (SP)"
        }
      ],
      "carriers": [
        {
          "id": "Normal",
          "name": "Entrega Normal",
          "warehouseId": "cd-cajamar",
          "zones": [
            {
              "country": "BRA",
              "postalCodeRanges": [
                {
                  "from": "01000-000",
                  "to": "09999-999"
                }
              ],
              "price": {
                "perLine": 590,
                "perUnit": 0,
                "perKg": 50
              },
              "shippingEstimate": "2bd"
            }
          ],
          "salesChannels": []
        },
        {
          "id": "Agendada",
          "name": "Entrega Agendada",
          "warehouseId": "cd-rio",
          "zones": [
            {
              "country": "BRA",
              "postalCodeRanges": [
                {
                  "from": "20000-000",
                  "to": "23799-999"
                }
              ],
              "price": {
                "perLine": 0,
                "perUnit": 0,
                "perKg": 80
              },
              "shippingEstimate": "5d"
            }
          ],
          "salesChannels": [],
          "scheduled": {
            "firstDayOffset": 1,
            "daysAhead": 5,
            "utcOffsetMinutes": -180,
            "skipWeekends": true,
            "windows": [
              {
                "start": "08:00",
                "end": "13:00",
                "price": 0
              },
              {
                "start": "13:00",
                "end": "18:00",
                "price": 0
              },
              {
                "start": "18:00",
                "end": "21:00",
                "price": 990
              }
            ]
          }
        }
      ],
      "pickupPoints": [
        {
          "id": "retira-copacabana",
          "name": "Retirada na loja",
          "friendlyName": "Loja Copacabana",
          "address": {
            "postalCode": "22050-002",
            "city": "Rio de Janeiro",
            "state": "RJ",
            "country": "BRA",
            "street": "Avenida Nossa Senhora de Copacabana",
            "number": "680",
            "neighborhood": "Copacabana",
            "complement": "Loja B",
            "reference": "Em frente à Praça Serzedelo Correia",
            "geoCoordinates": [
              -43.1856,
              -22.9678
            ]
          },
          "serves": [
            {
              "country": "BRA",
              "postalCodeRanges": [
                {
                  "from": "20000-000",
                  "to": "23799-999"
                }
              ],
              "price": {
                "perLine": 0,
                "perUnit": 0,
                "perKg": 0
              },
              "shippingEstimate": "0bd"
            }
          ],
          "additionalInfo": "Segunda a sábado, das 10h às 22h. Leve um documento com foto.",
          "salesChannels": []
        }
      ],
      "followUpEmail": "pedidos@lojaexemplo.com.br"
    }
    "#;

    fn zone(from: &str, to: &str, price: FreightPrice, estimate: VtexDuration) -> Zone {
        Zone {
            country: "BRA".into(),
            postal_code_ranges: vec![PostalCodeRange {
                from: from.into(),
                to: to.into(),
            }],
            price,
            shipping_estimate: estimate,
        }
    }

    fn freight(per_line: i64, per_kg: i64) -> FreightPrice {
        FreightPrice {
            per_line: Cents(per_line),
            per_unit: Cents(0),
            per_kg: Cents(per_kg),
        }
    }

    #[test]
    fn a_sku_written_before_versioning_reads_as_the_same_sku_and_encodes_exactly() {
        let price = |an: Option<&str>, sc: Option<&str>, price: i64| PriceEntry {
            an: an.map(Into::into),
            sc: sc.map(Into::into),
            price: Cents(price),
            list_price: Cents(67203),
            valid_until: None,
        };
        let expected = Sku {
            id: "2000037".into(),
            active: true,
            name: "Forno Micro-ondas 30 Litros Inox".into(),
            prices: vec![
                price(None, None, 67203),
                price(Some("parceiromkp"), None, 66203),
                PriceEntry {
                    valid_until: Some(Utc.with_ymd_and_hms(2027, 12, 31, 23, 59, 59).unwrap()),
                    ..price(None, Some("2"), 65203)
                },
            ],
            stock: BTreeMap::new(),
            sales_channels: vec!["1".into(), "2".into()],
            dimensions: Dimensions {
                height_cm: 32.0,
                width_cm: 52.0,
                length_cm: 42.0,
                weight_g: 10000,
            },
            measurement_unit: "un".into(),
            unit_multiplier: 1,
            offerings: vec![Offering {
                kind: "Warranty".into(),
                id: "5".into(),
                name: "Garantia estendida de 1 ano".into(),
                price: Cents(10000),
            }],
            product: Some(ProductInfo {
                product_id: "P2000037".into(),
                product_name: "Forno Micro-ondas 30 Litros Inox".into(),
                description: "Micro-ondas de 30 litros com painel digital e acabamento inox."
                    .into(),
                brand: "Eletrolar".into(),
                category_path: "Eletrodomésticos/Micro-ondas".into(),
                images: vec![Image {
                    name: "principal".into(),
                    url: "https://images.lojaexemplo.com.br/produtos/P2000037/1.jpg".into(),
                }],
                product_specifications: vec![],
                sku_specifications: vec![Specification {
                    name: "Voltagem".into(),
                    values: vec!["220V".into()],
                }],
                ean: Some("7891234567895".into()),
                ref_id: None,
            }),
        };
        let sku: Sku = golden(SKU);
        assert_eq!(sku, expected);
    }

    #[test]
    fn a_sku_with_only_the_required_fields_reads_with_the_catalog_file_defaults() {
        let sku: Sku = crate::decode(r#"{"id":"1","name":"x","prices":[]}"#).unwrap();
        assert!(sku.active);
        assert_eq!(
            (sku.measurement_unit.as_str(), sku.unit_multiplier),
            ("un", 1)
        );
        assert_eq!(sku.product, None);
    }

    #[test]
    fn the_shipping_rules_written_before_versioning_read_as_the_same_rules_and_encode_exactly() {
        let window = |start: &str, end: &str, price: i64| DeliveryWindowTemplate {
            start: start.into(),
            end: end.into(),
            price: Cents(price),
        };
        let expected = ShippingRules {
            ships_to: vec!["BRA".into()],
            warehouses: vec![Warehouse {
                id: "cd-cajamar".into(),
                name: "CD Cajamar (SP)".into(),
            }],
            carriers: vec![
                Carrier {
                    id: "Normal".into(),
                    name: "Entrega Normal".into(),
                    warehouse_id: "cd-cajamar".into(),
                    zones: vec![zone(
                        "01000-000",
                        "09999-999",
                        freight(590, 50),
                        VtexDuration::BusinessDays(2),
                    )],
                    sales_channels: vec![],
                    scheduled: None,
                },
                Carrier {
                    id: "Agendada".into(),
                    name: "Entrega Agendada".into(),
                    warehouse_id: "cd-rio".into(),
                    zones: vec![zone(
                        "20000-000",
                        "23799-999",
                        freight(0, 80),
                        VtexDuration::Days(5),
                    )],
                    sales_channels: vec![],
                    scheduled: Some(ScheduledDelivery {
                        first_day_offset: 1,
                        days_ahead: 5,
                        utc_offset_minutes: -180,
                        skip_weekends: true,
                        windows: vec![
                            window("08:00", "13:00", 0),
                            window("13:00", "18:00", 0),
                            window("18:00", "21:00", 990),
                        ],
                    }),
                },
            ],
            pickup_points: vec![PickupPoint {
                id: "retira-copacabana".into(),
                name: "Retirada na loja".into(),
                friendly_name: "Loja Copacabana".into(),
                address: PickupAddress {
                    postal_code: "22050-002".into(),
                    city: "Rio de Janeiro".into(),
                    state: "RJ".into(),
                    country: "BRA".into(),
                    street: "Avenida Nossa Senhora de Copacabana".into(),
                    number: "680".into(),
                    neighborhood: "Copacabana".into(),
                    complement: "Loja B".into(),
                    reference: Some("Em frente à Praça Serzedelo Correia".into()),
                    geo_coordinates: [-43.1856, -22.9678],
                },
                serves: vec![zone(
                    "20000-000",
                    "23799-999",
                    freight(0, 0),
                    VtexDuration::BusinessDays(0),
                )],
                additional_info: "Segunda a sábado, das 10h às 22h. Leve um documento com foto."
                    .into(),
                sales_channels: vec![],
            }],
            follow_up_email: "pedidos@lojaexemplo.com.br".into(),
        };
        let rules: ShippingRules = golden(SHIPPING_RULES);
        assert_eq!(rules, expected);
    }
}
