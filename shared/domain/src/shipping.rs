//! The seller's shipping rules: carriers that ship from a warehouse to zones (postal-code ranges or
//! regions), pickup points with their own stock, and scheduled delivery windows. Stored as one
//! document; the simulation reads it once per cold start and refreshes it periodically.

use crate::catalog::LocationId;
use crate::duration::VtexDuration;
use crate::money::Cents;
use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};
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

// ---------------------------------------------------------------------------------------------
// Rules evaluation: postal-code matching, freight, delivery windows. Pure functions over the
// stored document; the simulation engine (`crate::simulation`) composes them.
// ---------------------------------------------------------------------------------------------

/// A postal code reduced to what ranges compare on: ASCII letters and digits, upper-cased.
/// `"01000-000"`, `"01000 000"` and `"01000000"` are the same code.
pub fn normalize_postal_code(raw: &str) -> String {
    raw.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Compares two normalized codes. All-digit codes compare as numbers (so a code that lost its
/// leading zero, `"1310100"`, still falls in `01000000..=19999999`); anything else compares as text.
fn compare_codes(a: &str, b: &str) -> std::cmp::Ordering {
    let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    if digits(a) && digits(b) {
        let a = a.trim_start_matches('0');
        let b = b.trim_start_matches('0');
        a.len().cmp(&b.len()).then_with(|| a.cmp(b))
    } else {
        a.cmp(b)
    }
}

/// [`compare_codes`] of `normalize_postal_code(raw)` and the already normalized `code`, without
/// building the normalized text: a checkout matches the destination against every range of every
/// carrier's zones.
fn compare_raw_to_code(raw: &str, code: &str) -> std::cmp::Ordering {
    let normalized = || {
        raw.bytes()
            .filter(u8::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
    };
    if normalized().all(|c| c.is_ascii_digit()) && code.bytes().all(|c| c.is_ascii_digit()) {
        let a = normalized().skip_while(|c| *c == b'0');
        let b = code.trim_start_matches('0');
        a.clone()
            .count()
            .cmp(&b.len())
            .then_with(|| a.cmp(b.bytes()))
    } else {
        normalized().cmp(code.bytes())
    }
}

impl PostalCodeRange {
    /// Whether the (already normalized) `code` lies in this inclusive range.
    pub fn contains(&self, code: &str) -> bool {
        !code.is_empty()
            && compare_raw_to_code(&self.from, code).is_le()
            && compare_raw_to_code(&self.to, code).is_ge()
    }
}

impl Zone {
    /// Whether this zone covers a destination. A zone without ranges is a region covering its whole
    /// country (it also serves geolocation-only checkouts that name the country but no postal
    /// code); a zone with ranges needs a postal code inside one of them. Countries compare
    /// case-insensitively.
    pub fn covers(&self, country: Option<&str>, postal_code: Option<&str>) -> bool {
        let Some(country) = country else {
            return false;
        };
        if !self.country.eq_ignore_ascii_case(country.trim()) {
            return false;
        }
        if self.postal_code_ranges.is_empty() {
            return true;
        }
        let code = postal_code.map(normalize_postal_code).unwrap_or_default();
        self.postal_code_ranges.iter().any(|r| r.contains(&code))
    }
}

/// The first zone of `zones` that covers the destination: list specific ranges before catch-all
/// regions, as the first match wins.
pub fn zone_for<'a>(
    zones: &'a [Zone],
    country: Option<&str>,
    postal_code: Option<&str>,
) -> Option<&'a Zone> {
    zones.iter().find(|z| z.covers(country, postal_code))
}

impl FreightPrice {
    /// Freight for one item line of `quantity` units weighing `unit_weight_g` grams each:
    /// `per_line + per_unit × quantity + per_kg × ⌈weight_kg × quantity⌉`. Saturates rather than
    /// overflows (absurd inputs give an absurd price, never a panic).
    pub fn for_line(&self, quantity: i64, unit_weight_g: i64) -> Cents {
        let quantity = quantity.max(0);
        let grams = unit_weight_g.max(0).saturating_mul(quantity);
        let kilos = grams.saturating_add(999) / 1000;
        self.per_line + self.per_unit * quantity + self.per_kg * kilos
    }
}

/// A concrete delivery window offered to the shopper, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryWindowSlot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Extra price of the window, on top of the SLA price.
    pub price: Cents,
}

/// Parses a local `HH:MM` (also `HH:MM:SS`) time of a window template.
pub fn parse_local_time(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    // The usual two-digit forms without chrono's format interpreter (every checkout with a
    // scheduled carrier parses its templates); anything else, and a leap second, goes to it.
    let two = |b: &[u8]| match b {
        [h, l] if h.is_ascii_digit() && l.is_ascii_digit() => {
            Some(u32::from((h - b'0') * 10 + (l - b'0')))
        }
        _ => None,
    };
    let fast = match s.as_bytes() {
        [h @ .., b':', m1, m2] if h.len() == 2 => two(h)
            .zip(two(&[*m1, *m2]))
            .and_then(|(h, m)| NaiveTime::from_hms_opt(h, m, 0)),
        [h1, h2, b':', m1, m2, b':', s1, s2] => {
            match (two(&[*h1, *h2]), two(&[*m1, *m2]), two(&[*s1, *s2])) {
                (Some(h), Some(m), Some(sec)) if sec < 60 => NaiveTime::from_hms_opt(h, m, sec),
                _ => None,
            }
        }
        _ => None,
    };
    fast.or_else(|| {
        NaiveTime::parse_from_str(s, "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M:%S"))
            .ok()
    })
}

impl ScheduledDelivery {
    /// The windows on offer at `now`. Days are counted in the windows' own time zone
    /// (`utc_offset_minutes`): "today" is the local date at `now`, the first delivery day is
    /// `first_day_offset` local days later, and `days_ahead` delivery days follow (weekend days are
    /// skipped, not counted, when `skip_weekends`). Windows that already started are left out, and so
    /// are templates with an unparseable or empty time range (`ShippingRules::validate` reports them).
    pub fn windows_at(&self, now: DateTime<Utc>) -> Vec<DeliveryWindowSlot> {
        let Some(offset) =
            chrono::FixedOffset::east_opt(self.utc_offset_minutes.saturating_mul(60))
        else {
            return Vec::new();
        };
        let templates: Vec<(NaiveTime, NaiveTime, Cents)> = self
            .windows
            .iter()
            .filter_map(|w| {
                let (s, e) = (parse_local_time(&w.start)?, parse_local_time(&w.end)?);
                (s < e).then_some((s, e, w.price))
            })
            .collect();
        let mut out = Vec::new();
        if templates.is_empty() {
            return out;
        }
        let today = now.with_timezone(&offset).date_naive();
        let mut day = today + Duration::days(i64::from(self.first_day_offset));
        let mut days_left = self.days_ahead.min(366);
        // Bounded: at most days_ahead delivery days plus the weekends in between.
        while days_left > 0 {
            let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
            if !(self.skip_weekends && weekend) {
                days_left -= 1;
                for (s, e, price) in &templates {
                    let start = offset.from_local_datetime(&day.and_time(*s)).single();
                    let end = offset.from_local_datetime(&day.and_time(*e)).single();
                    if let (Some(start), Some(end)) = (start, end) {
                        let (start, end) = (start.with_timezone(&Utc), end.with_timezone(&Utc));
                        if start > now {
                            out.push(DeliveryWindowSlot {
                                start,
                                end,
                                price: *price,
                            });
                        }
                    }
                }
            }
            day += Duration::days(1);
        }
        out
    }
}

/// Where a quoted SLA takes its stock from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SlaSource<'a> {
    Carrier(&'a Carrier),
    Pickup(&'a PickupPoint),
}

impl SlaSource<'_> {
    /// The stock location an order line with this SLA reserves from.
    pub fn location_id(&self) -> &str {
        match self {
            SlaSource::Carrier(c) => &c.warehouse_id,
            SlaSource::Pickup(p) => &p.id,
        }
    }
}

/// `sales_channels` semantics shared by SKUs, carriers and pickup points: empty means every
/// channel, and a request without `sc` sees everything.
pub fn serves_channel(sales_channels: &[String], sc: Option<&str>) -> bool {
    match sc {
        Some(sc) if !sales_channels.is_empty() => sales_channels.iter().any(|c| c == sc),
        _ => true,
    }
}

impl Carrier {
    pub fn offered_on(&self, sc: Option<&str>) -> bool {
        serves_channel(&self.sales_channels, sc)
    }
}

impl PickupPoint {
    pub fn offered_on(&self, sc: Option<&str>) -> bool {
        serves_channel(&self.sales_channels, sc)
    }
}

impl ShippingRules {
    /// Rules with no carrier, no pickup point and no destination: every item is unavailable. Used
    /// when no rules were loaded yet.
    pub fn empty() -> Self {
        ShippingRules {
            ships_to: Vec::new(),
            warehouses: Vec::new(),
            carriers: Vec::new(),
            pickup_points: Vec::new(),
            follow_up_email: String::new(),
        }
    }

    /// The carrier or pickup point behind an SLA id (`selectedSla` at placement), so placement
    /// reserves the line at the same location the simulation quoted.
    pub fn sla_source(&self, sla_id: &str) -> Option<SlaSource<'_>> {
        self.carriers
            .iter()
            .find(|c| c.id == sla_id)
            .map(SlaSource::Carrier)
            .or_else(|| {
                self.pickup_points
                    .iter()
                    .find(|p| p.id == sla_id)
                    .map(SlaSource::Pickup)
            })
    }

    /// Locations the `delivery` channel ships from on `sc`: the warehouses of the carriers offered
    /// there, each once, in rules order.
    pub fn delivery_locations(&self, sc: Option<&str>) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for c in self.carriers.iter().filter(|c| c.offered_on(sc)) {
            if !out.contains(&c.warehouse_id.as_str()) {
                out.push(&c.warehouse_id);
            }
        }
        out
    }

    /// Locations of the `pickup-in-point` channel on `sc`: the pickup points offered there.
    pub fn pickup_locations(&self, sc: Option<&str>) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for p in self.pickup_points.iter().filter(|p| p.offered_on(sc)) {
            if !out.contains(&p.id.as_str()) {
                out.push(&p.id);
            }
        }
        out
    }

    /// Problems that make rules misbehave silently: unknown warehouses, duplicate SLA ids (placement
    /// could not tell which location to reserve), inverted or empty ranges, unparseable windows.
    /// Empty when the rules are sound. Loaders should refuse rules with problems.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut sla_ids: Vec<&str> = Vec::new();
        let check_zones = |owner: &str, zones: &[Zone], problems: &mut Vec<String>| {
            for (i, z) in zones.iter().enumerate() {
                if z.country.trim().is_empty() {
                    problems.push(format!("{owner}: zone {i} has no country"));
                }
                for r in &z.postal_code_ranges {
                    let (from, to) = (normalize_postal_code(&r.from), normalize_postal_code(&r.to));
                    if from.is_empty() || to.is_empty() {
                        problems.push(format!("{owner}: zone {i} has an empty postal-code bound"));
                    } else if compare_codes(&from, &to).is_gt() {
                        problems.push(format!(
                            "{owner}: zone {i} range {}..{} is inverted",
                            r.from, r.to
                        ));
                    }
                }
                let p = z.price;
                if p.per_line.is_negative() || p.per_unit.is_negative() || p.per_kg.is_negative() {
                    problems.push(format!("{owner}: zone {i} has a negative price"));
                }
            }
        };
        for c in &self.carriers {
            let owner = format!("carrier {:?}", c.id);
            if c.id.trim().is_empty() {
                problems.push("a carrier has an empty id".to_string());
            }
            if sla_ids.contains(&c.id.as_str()) {
                problems.push(format!("{owner}: SLA id used twice"));
            }
            sla_ids.push(&c.id);
            if !self.warehouses.iter().any(|w| w.id == c.warehouse_id) {
                problems.push(format!("{owner}: unknown warehouse {:?}", c.warehouse_id));
            }
            if c.zones.is_empty() {
                problems.push(format!("{owner}: no zones"));
            }
            check_zones(&owner, &c.zones, &mut problems);
            if let Some(s) = &c.scheduled {
                if s.windows.is_empty() || s.days_ahead == 0 {
                    problems.push(format!("{owner}: scheduled delivery offers no windows"));
                }
                if chrono::FixedOffset::east_opt(s.utc_offset_minutes.saturating_mul(60)).is_none()
                {
                    problems.push(format!("{owner}: utcOffsetMinutes out of range"));
                }
                for w in &s.windows {
                    match (parse_local_time(&w.start), parse_local_time(&w.end)) {
                        (Some(a), Some(b)) if a < b => {}
                        _ => problems.push(format!(
                            "{owner}: window {}-{} is not a valid HH:MM range",
                            w.start, w.end
                        )),
                    }
                }
            }
        }
        for p in &self.pickup_points {
            let owner = format!("pickup point {:?}", p.id);
            if p.id.trim().is_empty() {
                problems.push("a pickup point has an empty id".to_string());
            }
            if sla_ids.contains(&p.id.as_str()) {
                problems.push(format!("{owner}: SLA id used twice"));
            }
            sla_ids.push(&p.id);
            check_zones(&owner, &p.serves, &mut problems);
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(from: &str, to: &str) -> PostalCodeRange {
        PostalCodeRange {
            from: from.into(),
            to: to.into(),
        }
    }

    #[test]
    fn postal_codes_compare_on_digits_whatever_the_punctuation() {
        let r = range("20000-000", "23799-999");
        for code in [
            "22051-030",
            "22051030",
            "22.051-030",
            " 20000000 ",
            "23799999",
        ] {
            assert!(r.contains(&normalize_postal_code(code)), "{code}");
        }
        for code in ["19999-999", "23800-000", "", "abc"] {
            assert!(!r.contains(&normalize_postal_code(code)), "{code}");
        }
    }

    #[test]
    fn a_range_bound_compares_as_its_normalized_text_does() {
        let texts = [
            "",
            "0",
            "00",
            "01000-000",
            "1000000",
            "01000 001",
            "22051-030",
            "22.051-030",
            "99999-999",
            "100000000",
            "abc",
            "ABC-1",
            "a1b2",
            "SW1A 1AA",
            "sw1a1aa",
            "-",
            "0-0",
        ];
        for raw in texts {
            for code in texts.map(normalize_postal_code) {
                assert_eq!(
                    compare_raw_to_code(raw, &code),
                    compare_codes(&normalize_postal_code(raw), &code),
                    "{raw:?} vs {code:?}"
                );
            }
        }
    }

    #[test]
    fn a_code_without_its_leading_zero_still_matches() {
        let r = range("01000-000", "09999-999");
        assert!(r.contains(&normalize_postal_code("1310100")));
        assert!(!r.contains(&normalize_postal_code("10000000")));
    }

    #[test]
    fn first_covering_zone_wins() {
        let price = |c| FreightPrice {
            per_line: Cents(c),
            ..FreightPrice::default()
        };
        let zones = vec![
            Zone {
                country: "BRA".into(),
                postal_code_ranges: vec![range("01000000", "05999999")],
                price: price(1),
                shipping_estimate: VtexDuration::BusinessDays(1),
            },
            Zone {
                country: "BRA".into(),
                postal_code_ranges: vec![],
                price: price(2),
                shipping_estimate: VtexDuration::BusinessDays(9),
            },
        ];
        let hit = |c: Option<&str>, p: Option<&str>| zone_for(&zones, c, p).map(|z| z.price);
        assert_eq!(hit(Some("BRA"), Some("01310-100")), Some(price(1)));
        assert_eq!(hit(Some("bra"), Some("69005-000")), Some(price(2)));
        assert_eq!(hit(Some("BRA"), None), Some(price(2)));
        assert_eq!(hit(Some("ARG"), Some("01310-100")), None);
        assert_eq!(hit(None, Some("01310-100")), None);
    }

    #[test]
    fn freight_rounds_weight_up_per_line() {
        let p = FreightPrice {
            per_line: Cents(500),
            per_unit: Cents(100),
            per_kg: Cents(200),
        };
        assert_eq!(p.for_line(3, 1200), Cents(500 + 300 + 4 * 200));
        assert_eq!(p.for_line(1, 0), Cents(600));
        assert_eq!(p.for_line(2, 1000), Cents(500 + 200 + 2 * 200));
        assert_eq!(p.for_line(i64::MAX, i64::MAX), Cents(i64::MAX));
    }

    #[test]
    fn local_times_parse_and_bad_ones_do_not() {
        assert!(parse_local_time("08:00").is_some());
        assert!(parse_local_time("23:59:59").is_some());
        for bad in ["24:00", "8h", "", "12:60"] {
            assert!(parse_local_time(bad).is_none(), "{bad}");
        }
    }

    /// The two-digit fast path answers what chrono's formats answer, on every two-digit time
    /// (valid or not), leap seconds and padding included.
    #[test]
    fn local_times_parse_as_chrono_parses_them() {
        let chrono = |s: &str| {
            NaiveTime::parse_from_str(s.trim(), "%H:%M")
                .or_else(|_| NaiveTime::parse_from_str(s.trim(), "%H:%M:%S"))
                .ok()
        };
        let mut texts = Vec::new();
        for h in 0..=25 {
            for m in [0, 1, 30, 59, 60, 61] {
                texts.push(format!("{h:02}:{m:02}"));
                texts.push(format!(" {h:02}:{m:02} "));
                texts.push(format!("{h}:{m:02}"));
                for sec in [0, 9, 59, 60, 61] {
                    texts.push(format!("{h:02}:{m:02}:{sec:02}"));
                }
            }
        }
        texts.extend(
            ["", ":", "1:2", "0a:00", "08:0a", "08-00", "08:00:", "+8:00"].map(String::from),
        );
        for t in &texts {
            assert_eq!(parse_local_time(t), chrono(t), "{t:?}");
        }
    }

    #[test]
    fn validate_reports_what_would_misbehave() {
        let zone = Zone {
            country: "BRA".into(),
            postal_code_ranges: vec![range("29999-999", "20000-000")],
            price: FreightPrice::default(),
            shipping_estimate: VtexDuration::BusinessDays(1),
        };
        let rules = ShippingRules {
            ships_to: vec!["BRA".into()],
            warehouses: vec![],
            carriers: vec![Carrier {
                id: "Normal".into(),
                name: "Normal".into(),
                warehouse_id: "nowhere".into(),
                zones: vec![zone],
                sales_channels: vec![],
                scheduled: Some(ScheduledDelivery {
                    first_day_offset: 1,
                    days_ahead: 3,
                    utc_offset_minutes: -180,
                    skip_weekends: false,
                    windows: vec![DeliveryWindowTemplate {
                        start: "12:00".into(),
                        end: "08:00".into(),
                        price: Cents(0),
                    }],
                }),
            }],
            pickup_points: vec![],
            follow_up_email: String::new(),
        };
        let problems = rules.validate().join("\n");
        assert!(problems.contains("unknown warehouse"), "{problems}");
        assert!(problems.contains("inverted"), "{problems}");
        assert!(problems.contains("not a valid HH:MM range"), "{problems}");
        assert!(ShippingRules::empty().validate().is_empty());
    }
}
