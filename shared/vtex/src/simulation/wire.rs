//! The simulation answer written straight from [`SimulationResult`] into its JSON bytes: the same
//! bytes, in the same order, as `serde_json::to_string(&SimulationResponse::from_result(..))`
//! (the DTOs of [`super`] stay the definition of the wire shape; functions/simulation's
//! `tests/wire_bytes.rs` compares the two on every cart it builds), without building the DTO tree
//! first.
//!
//! Why: a 50-item checkout answer is ~1.3 KB per line, and most of it is the same for every line
//! (a scheduled carrier's windows, a pickup point's address). The engine shares those per request
//! ([`Sla::delivery_windows`], [`Sla::pickup_point`] are `Arc`s), so they are written once per
//! request here and copied for every further line instead of being cloned into DTOs, formatted
//! (two RFC 3339 dates per window) and escaped again for every line.

use chrono::SecondsFormat;
use domain::VtexDuration;
use domain::shipping::{DeliveryWindowSlot, PickupPoint};
use domain::simulation::{DeliveryChannel, QuotedItem, SimulationResult, Sla};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

/// The JSON answer for `result`; `merchant_name` as in `SimulationResponse::from_result`.
pub fn response_json(result: &SimulationResult, merchant_name: Option<&str>) -> String {
    write_response(result, merchant_name, None)
}

/// [`response_json`], reusing the SLA tails earlier answers wrote (the same bytes).
pub fn response_json_cached(
    result: &SimulationResult,
    merchant_name: Option<&str>,
    cache: &TailCache,
) -> String {
    write_response(result, merchant_name, Some(cache))
}

fn write_response(
    result: &SimulationResult,
    merchant_name: Option<&str>,
    cache: Option<&TailCache>,
) -> String {
    let mut w = Writer {
        out: String::with_capacity(256 + result.items.len() * 1536),
        heads: Vec::new(),
        tails: Vec::new(),
        cache,
    };
    w.raw("{\"country\":");
    w.opt_str(result.country);
    w.raw(",\"postalCode\":");
    w.opt_str(result.postal_code);
    w.raw(",\"items\":[");
    for (i, item) in result.items.iter().enumerate() {
        if i > 0 {
            w.raw(",");
        }
        w.item(item, merchant_name);
    }
    w.raw("],\"logisticsInfo\":[");
    for (i, item) in result.items.iter().enumerate() {
        if i > 0 {
            w.raw(",");
        }
        w.logistics(item);
    }
    w.raw("],\"allowMultipleDeliveries\":true}");
    w.out
}

/// The part of an SLA after its price (windows and pickup point), keyed by the shared values it
/// was written from: identical for every line that shares them.
struct Tail {
    windows: *const DeliveryWindowSlot,
    windows_len: usize,
    pickup: *const PickupPoint,
    bytes: Arc<str>,
}

/// What identifies an SLA's head: its shared texts (by address) and the rest of its values.
type HeadKey = (*const u8, *const u8, DeliveryChannel, VtexDuration);

struct Writer<'c> {
    out: String,
    heads: Vec<(HeadKey, String)>,
    tails: Vec<Tail>,
    cache: Option<&'c TailCache>,
}

/// SLA tails of earlier answers, by the values they were written from: a scheduled carrier offers
/// the same windows to every request until one of them starts or the day turns, and a pickup
/// point's address only changes with the rules, yet formatting them (two RFC 3339 dates per
/// window, an escaped address) was most of a small cart's answer. A lookup compares the values
/// themselves, so whatever changed is written again; bounded, shared by every request.
#[derive(Default)]
pub struct TailCache {
    entries: Mutex<Vec<CachedTail>>,
}

struct CachedTail {
    windows: Vec<DeliveryWindowSlot>,
    pickup: Option<PickupPoint>,
    bytes: Arc<str>,
}

/// More distinct tails than this (windows move through the day) and the cache starts over.
const MAX_CACHED_TAILS: usize = 64;

impl TailCache {
    fn tail(&self, windows: &[DeliveryWindowSlot], pickup: Option<&PickupPoint>) -> Arc<str> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(hit) = entries
            .iter()
            .find(|t| t.windows == windows && t.pickup.as_ref() == pickup)
        {
            return hit.bytes.clone();
        }
        let bytes: Arc<str> = sla_tail(windows, pickup).into();
        if entries.len() >= MAX_CACHED_TAILS {
            entries.clear();
        }
        entries.push(CachedTail {
            windows: windows.to_vec(),
            pickup: pickup.cloned(),
            bytes: bytes.clone(),
        });
        bytes
    }
}

impl Writer<'_> {
    fn raw(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// A JSON string, escaped exactly as serde_json escapes it.
    fn str(&mut self, s: &str) {
        escaped_into(&mut self.out, s);
    }

    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.str(s),
            None => self.raw("null"),
        }
    }

    /// A whole number in decimal, as serde_json writes it (with serde_json's own `itoa`, without
    /// the `fmt` machinery: a 50-item answer holds ~700 of them).
    fn int(&mut self, n: i64) {
        self.out.push_str(itoa::Buffer::new().format(n));
    }

    fn uint(&mut self, n: u64) {
        self.out.push_str(itoa::Buffer::new().format(n));
    }

    fn item(&mut self, i: &QuotedItem, merchant_name: Option<&str>) {
        self.raw("{\"id\":");
        self.str(i.id);
        self.raw(",\"requestIndex\":");
        self.uint(i.request_index as u64);
        self.raw(",\"price\":");
        self.int(i.price.0);
        self.raw(",\"listPrice\":");
        self.int(i.list_price.0);
        self.raw(",\"quantity\":");
        self.int(i.quantity);
        self.raw(",\"seller\":");
        self.str(i.seller);
        self.raw(",\"merchantName\":");
        self.opt_str(merchant_name);
        self.raw(",\"measurementUnit\":");
        self.str(i.measurement_unit);
        self.raw(",\"unitMultiplier\":");
        self.int(i.unit_multiplier);
        self.raw(",\"priceTags\":[],\"priceValidUntil\":");
        match i.price_valid_until {
            Some(t) => self.str(&t.to_rfc3339_opts(SecondsFormat::Millis, true)),
            None => self.raw("null"),
        }
        self.raw(",\"offerings\":[");
        for (n, o) in i.offerings.iter().enumerate() {
            if n > 0 {
                self.raw(",");
            }
            self.raw("{\"type\":");
            self.str(&o.kind);
            self.raw(",\"id\":");
            self.str(&o.id);
            self.raw(",\"name\":");
            self.str(&o.name);
            self.raw(",\"price\":");
            self.int(o.price.0);
            self.raw("}");
        }
        self.raw("]}");
    }

    fn logistics(&mut self, i: &QuotedItem) {
        self.raw("{\"itemIndex\":");
        self.uint(i.request_index as u64);
        self.raw(",\"quantity\":");
        self.int(i.quantity);
        self.raw(",\"stockBalance\":");
        self.int(i.stock_balance);
        self.raw(",\"shipsTo\":[");
        for (n, c) in i.ships_to.iter().enumerate() {
            if n > 0 {
                self.raw(",");
            }
            self.str(c);
        }
        self.raw("],\"slas\":[");
        for (n, s) in i.slas.iter().enumerate() {
            if n > 0 {
                self.raw(",");
            }
            self.sla(s);
        }
        self.raw("],\"deliveryChannels\":[");
        for (n, c) in i.delivery_channels.iter().enumerate() {
            if n > 0 {
                self.raw(",");
            }
            self.raw("{\"id\":");
            self.str(c.channel.as_str());
            self.raw(",\"stockBalance\":");
            self.int(c.stock_balance);
            self.raw("}");
        }
        self.raw("]}");
    }

    fn sla(&mut self, s: &Sla) {
        // The same offer (carrier or pickup point) shares its texts with every line it is
        // offered to: its head is escaped once per answer.
        let key = (
            s.id.as_ptr(),
            s.name.as_ptr(),
            s.channel,
            s.shipping_estimate,
        );
        match self.heads.iter().position(|(k, _)| *k == key) {
            Some(index) => self.out.push_str(&self.heads[index].1),
            None => {
                let from = self.out.len();
                self.raw("{\"id\":");
                self.str(s.id);
                self.raw(",\"deliveryChannel\":");
                self.str(s.channel.as_str());
                self.raw(",\"name\":");
                self.str(s.name);
                // Digits and a unit letter: nothing to escape.
                let _ = write!(
                    self.out,
                    ",\"shippingEstimate\":\"{}\"",
                    s.shipping_estimate
                );
                let head = self.out[from..].to_string();
                self.heads.push((key, head));
            }
        }
        self.raw(",\"price\":");
        self.int(s.price.0);
        let windows = s.delivery_windows().as_ptr();
        let pickup = s
            .pickup_point
            .map_or(std::ptr::null(), |p| p as *const PickupPoint);
        let len = s.delivery_windows().len();
        let known = self
            .tails
            .iter()
            .position(|t| t.windows == windows && t.windows_len == len && t.pickup == pickup);
        let index = match known {
            Some(index) => index,
            None => {
                let bytes = match self.cache {
                    Some(cache) => cache.tail(s.delivery_windows(), s.pickup_point),
                    None => sla_tail(s.delivery_windows(), s.pickup_point).into(),
                };
                self.tails.push(Tail {
                    windows,
                    windows_len: len,
                    pickup,
                    bytes,
                });
                self.tails.len() - 1
            }
        };
        self.out.push_str(&self.tails[index].bytes);
    }
}

/// `,"availableDeliveryWindows":[…],"pickupStoreInfo":…}` of one SLA.
fn sla_tail(windows: &[DeliveryWindowSlot], pickup: Option<&PickupPoint>) -> String {
    let time = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, false);
    let mut w = Writer {
        out: String::new(),
        heads: Vec::new(),
        tails: Vec::new(),
        cache: None,
    };
    w.raw(",\"availableDeliveryWindows\":[");
    for (n, window) in windows.iter().enumerate() {
        if n > 0 {
            w.raw(",");
        }
        w.raw("{\"startDateUtc\":");
        w.str(&time(window.start));
        w.raw(",\"endDateUtc\":");
        w.str(&time(window.end));
        w.raw(",\"price\":");
        w.int(window.price.0);
        w.raw("}");
    }
    w.raw("],\"pickupStoreInfo\":");
    match pickup {
        None => w.raw("null"),
        Some(p) => {
            let a = &p.address;
            w.raw("{\"isPickupStore\":true,\"friendlyName\":");
            w.str(&p.friendly_name);
            w.raw(",\"address\":{\"addressType\":\"pickup\",\"receiverName\":null,\"addressId\":");
            w.str(&p.id);
            for (key, value) in [
                ("postalCode", &a.postal_code),
                ("city", &a.city),
                ("state", &a.state),
                ("country", &a.country),
                ("street", &a.street),
                ("number", &a.number),
                ("neighborhood", &a.neighborhood),
                ("complement", &a.complement),
            ] {
                w.raw(",\"");
                w.raw(key);
                w.raw("\":");
                w.str(value);
            }
            w.raw(",\"reference\":");
            w.opt_str(a.reference.as_deref());
            w.raw(",\"geoCoordinates\":");
            // serde_json's float format (and `null` for a non-finite one).
            w.raw(&serde_json::to_string(&a.geo_coordinates).unwrap_or_default());
            w.raw("},\"additionalInfo\":");
            w.str(&p.additional_info);
            w.raw("}");
        }
    }
    w.raw("}");
    w.out
}

/// Appends `s` as a JSON string exactly as serde_json writes one: `"` and `\` escaped, the
/// control characters below U+0020 as `\b`, `\t`, `\n`, `\f`, `\r` or `\u00xx` (lower-case hex),
/// everything else (non-ASCII, `/`, DEL) as it is.
fn escaped_into(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if short.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(short);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}
