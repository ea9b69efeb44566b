//! Catalog messages the seller's ERP drops on the catalog queue (SQS FIFO, `MessageGroupId` = the
//! SKU id, so one SKU's changes apply in order), and the rules a SKU must satisfy before anything
//! is written. Versioned JSON with a `type` discriminator:
//!
//! ```json
//! { "type": "sku.upsert",    "version": 1, "messageId": "optional", "sku": { …catalog-file SKU… } }
//! { "type": "price.changed", "version": 1, "skuId": "2002495", "prices": [ { "price": 9990, "listPrice": 12990 } ] }
//! { "type": "stock.changed", "version": 1, "skuId": "2002495", "location": "cd-cajamar", "onHand": 12 }
//! { "type": "notify.due",    "version": 1, "skuId": "2002495", "kind": "inventory", "due": "…" }  (internal)
//! ```
//!
//! Every value is absolute (the SKU's whole price list, a location's whole on-hand count), so a
//! replayed message is harmless. Money is integer cents: a JSON number with a fraction (`99.90`,
//! even `99.0`) is refused as a price in the wrong unit. Unknown fields are ignored. A message is
//! checked completely before anything is written, and every problem found is reported at once.

use crate::catalog::{CatalogFile, LocationId, PriceEntry, Sku, SkuId};
use crate::catalog_notify::{NotifyDue, NotifyKind};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};
use std::fmt;

/// The schema version this build reads and writes.
pub const CURRENT_VERSION: u32 = 1;
/// Largest message body accepted (SQS caps messages at 256 KiB anyway).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
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
    /// Sets one location's absolute on-hand stock (reservations are kept).
    StockChanged {
        sku_id: SkuId,
        location: LocationId,
        on_hand: i64,
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
            } => serde_json::json!({
                "type": "stock.changed", "skuId": sku_id, "location": location, "onHand": on_hand
            }),
            CatalogChange::NotifyDue(due) => return due.to_json(),
        };
        v["version"] = CURRENT_VERSION.into();
        if let Some(id) = &self.message_id {
            v["messageId"] = id.clone().into();
        }
        v.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// One broken rule: which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON path of the field, e.g. `sku.prices[1].listPrice`.
    pub field: String,
    pub code: ViolationCode,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationCode {
    MissingId,
    MissingField,
    NegativeStock,
    DecimalAmount,
    NonPositivePrice,
    ListPriceBelowPrice,
    HttpImageUrl,
    TooLong,
    Duplicate,
    InvalidValue,
}

impl ViolationCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ViolationCode::MissingId => "MISSING_ID",
            ViolationCode::MissingField => "MISSING_FIELD",
            ViolationCode::NegativeStock => "NEGATIVE_STOCK",
            ViolationCode::DecimalAmount => "DECIMAL_AMOUNT",
            ViolationCode::NonPositivePrice => "NON_POSITIVE_PRICE",
            ViolationCode::ListPriceBelowPrice => "LIST_PRICE_BELOW_PRICE",
            ViolationCode::HttpImageUrl => "IMAGE_URL_NOT_HTTPS",
            ViolationCode::TooLong => "TOO_LONG",
            ViolationCode::Duplicate => "DUPLICATE",
            ViolationCode::InvalidValue => "INVALID_VALUE",
        }
    }
}

impl Violation {
    fn new(field: impl Into<String>, code: ViolationCode, detail: impl Into<String>) -> Self {
        Violation {
            field: field.into(),
            code,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.detail)
    }
}

/// Why a message was refused. Such a message is never retried: it goes to the DLQ with
/// [`MessageError::code`] and the text as the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("message is larger than {MAX_MESSAGE_BYTES} bytes")]
    TooLarge,
    #[error("message is not JSON: {0}")]
    NotJson(String),
    #[error("message has no `type`")]
    MissingType,
    #[error("unknown message type {0:?} (expected sku.upsert, price.changed or stock.changed)")]
    UnknownType(String),
    #[error("message has no integer `version`")]
    MissingVersion,
    #[error("message version {0} is not supported (this build reads version {CURRENT_VERSION})")]
    UnsupportedVersion(u64),
    #[error("{kind} message is invalid: {}", join(.violations))]
    Invalid {
        kind: &'static str,
        violations: Vec<Violation>,
    },
}

fn join(v: &[Violation]) -> String {
    v.iter()
        .map(Violation::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl MessageError {
    /// Short machine code for the DLQ `reasonCode` attribute and the logs.
    pub fn code(&self) -> &'static str {
        match self {
            MessageError::TooLarge => "TOO_LARGE",
            MessageError::NotJson(_) => "NOT_JSON",
            MessageError::MissingType => "MISSING_TYPE",
            MessageError::UnknownType(_) => "UNKNOWN_TYPE",
            MessageError::MissingVersion => "MISSING_VERSION",
            MessageError::UnsupportedVersion(_) => "UNSUPPORTED_VERSION",
            MessageError::Invalid { violations, .. } => violations
                .first()
                .map_or("INVALID_MESSAGE", |v| v.code.as_str()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// Parses and fully validates a message body. The version is checked before the payload, so a
/// newer ERP's message is parked (and can be re-driven after an upgrade) rather than half-read.
pub fn parse(body: &[u8]) -> Result<CatalogMessage, MessageError> {
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(MessageError::TooLarge);
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| MessageError::NotJson(e.to_string()))?;
    let kind = match value.get("type") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(MessageError::MissingType),
    };
    let version = value
        .get("version")
        .and_then(Value::as_u64)
        .ok_or(MessageError::MissingVersion)?;
    if version != u64::from(CURRENT_VERSION) {
        return Err(MessageError::UnsupportedVersion(version));
    }
    let (kind, parsed) = match kind.as_str() {
        "sku.upsert" => ("sku.upsert", parse_sku_upsert(&value)),
        "price.changed" => ("price.changed", parse_price_changed(&value)),
        "stock.changed" => ("stock.changed", parse_stock_changed(&value)),
        "notify.due" => ("notify.due", parse_notify_due(&value)),
        other => return Err(MessageError::UnknownType(other.chars().take(40).collect())),
    };
    let change = parsed.map_err(|violations| MessageError::Invalid { kind, violations })?;
    let message_id = match value.get("messageId") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    };
    Ok(CatalogMessage { message_id, change })
}

type Parsed = Result<CatalogChange, Vec<Violation>>;

fn parse_sku_upsert(value: &Value) -> Parsed {
    let Some(sku_value) = value.get("sku").filter(|v| v.is_object()) else {
        return Err(vec![Violation::new(
            "sku",
            ViolationCode::MissingField,
            "is required (the SKU in the catalog-file format)",
        )]);
    };
    let mut violations = Vec::new();
    check_id_value(sku_value.get("id"), "sku.id", &mut violations);
    for field in ["name", "prices", "stock", "product"] {
        if sku_value.get(field).is_none_or(Value::is_null) {
            violations.push(Violation::new(
                format!("sku.{field}"),
                ViolationCode::MissingField,
                "is required",
            ));
        }
    }
    violations.extend(decimal_amounts(sku_value, "sku"));
    if !violations.is_empty() {
        return Err(violations);
    }
    let sku: Sku = typed(sku_value, "sku")?;
    let violations = validate_sku(&sku, "sku", SkuRules::MESSAGE);
    if violations.is_empty() {
        Ok(CatalogChange::SkuUpsert(Box::new(sku)))
    } else {
        Err(violations)
    }
}

fn parse_price_changed(value: &Value) -> Parsed {
    let mut violations = Vec::new();
    let sku_id = check_id_value(value.get("skuId"), "skuId", &mut violations);
    let prices = match value.get("prices") {
        Some(Value::Array(a)) if !a.is_empty() => {
            for (i, p) in a.iter().enumerate() {
                for field in ["price", "listPrice"] {
                    if let Some(v) = check_amount(p.get(field), &format!("prices[{i}].{field}")) {
                        violations.push(v);
                    }
                }
            }
            Some(value.get("prices").cloned().unwrap_or_default())
        }
        Some(Value::Array(_)) => {
            violations.push(Violation::new(
                "prices",
                ViolationCode::MissingField,
                "must list at least one price (to stop selling a SKU, send sku.upsert with \"active\": false)",
            ));
            None
        }
        _ => {
            violations.push(Violation::new(
                "prices",
                ViolationCode::MissingField,
                "is required: the SKU's complete price list",
            ));
            None
        }
    };
    if !violations.is_empty() {
        return Err(violations);
    }
    let (Some(sku_id), Some(prices)) = (sku_id, prices) else {
        return Err(violations);
    };
    let prices: Vec<PriceEntry> = typed(&prices, "prices")?;
    let violations = validate_prices(&prices, "prices");
    if violations.is_empty() {
        Ok(CatalogChange::PriceChanged { sku_id, prices })
    } else {
        Err(violations)
    }
}

fn parse_stock_changed(value: &Value) -> Parsed {
    let mut violations = Vec::new();
    let sku_id = check_id_value(value.get("skuId"), "skuId", &mut violations);
    let location = check_id_value(value.get("location"), "location", &mut violations);
    let on_hand = match value.get("onHand") {
        None | Some(Value::Null) => {
            violations.push(Violation::new(
                "onHand",
                ViolationCode::MissingField,
                "is required",
            ));
            None
        }
        Some(Value::Number(n)) => match n.as_i64() {
            Some(q) if q < 0 => {
                violations.push(Violation::new(
                    "onHand",
                    ViolationCode::NegativeStock,
                    format!("must be 0 or more, got {q}"),
                ));
                None
            }
            Some(q) => Some(q),
            None => {
                violations.push(Violation::new(
                    "onHand",
                    ViolationCode::InvalidValue,
                    format!("must be a whole number of units, got {n}"),
                ));
                None
            }
        },
        Some(other) => {
            violations.push(Violation::new(
                "onHand",
                ViolationCode::InvalidValue,
                format!("must be a whole number of units, got {other}"),
            ));
            None
        }
    };
    match (sku_id, location, on_hand) {
        (Some(sku_id), Some(location), Some(on_hand)) if violations.is_empty() => {
            Ok(CatalogChange::StockChanged {
                sku_id,
                location,
                on_hand,
            })
        }
        _ => Err(violations),
    }
}

fn parse_notify_due(value: &Value) -> Parsed {
    let mut violations = Vec::new();
    check_id_value(value.get("skuId"), "skuId", &mut violations);
    if !violations.is_empty() {
        return Err(violations);
    }
    typed::<NotifyDue>(value, "notify.due").map(CatalogChange::NotifyDue)
}

fn typed<T: DeserializeOwned>(value: &Value, field: &str) -> Result<T, Vec<Violation>> {
    serde_json::from_value(value.clone()).map_err(|e| {
        let detail = e.to_string();
        let code = if detail.starts_with("missing field") {
            ViolationCode::MissingField
        } else {
            ViolationCode::InvalidValue
        };
        vec![Violation::new(field, code, detail)]
    })
}

/// The id at `field` if it is a usable id; otherwise records why not.
fn check_id_value(v: Option<&Value>, field: &str, out: &mut Vec<Violation>) -> Option<String> {
    match v {
        None | Some(Value::Null) => {
            out.push(Violation::new(
                field,
                ViolationCode::MissingId,
                "is required",
            ));
            None
        }
        Some(Value::String(s)) => match id_problem(s) {
            None => Some(s.clone()),
            Some((code, detail)) => {
                out.push(Violation::new(field, code, detail));
                None
            }
        },
        Some(other) => {
            out.push(Violation::new(
                field,
                ViolationCode::InvalidValue,
                format!("must be a string, got {other}"),
            ));
            None
        }
    }
}

/// Ids go into URL paths, SQS group ids and storage keys: printable, trimmed, bounded.
fn id_problem(s: &str) -> Option<(ViolationCode, String)> {
    if s.trim().is_empty() {
        return Some((ViolationCode::MissingId, "must not be empty".into()));
    }
    if s.trim() != s {
        return Some((
            ViolationCode::InvalidValue,
            "must not start or end with spaces".into(),
        ));
    }
    if s.chars().any(char::is_control) {
        return Some((
            ViolationCode::InvalidValue,
            "must not contain control characters".into(),
        ));
    }
    if s.chars().count() > MAX_ID_CHARS {
        return Some((
            ViolationCode::TooLong,
            format!("must be at most {MAX_ID_CHARS} characters"),
        ));
    }
    None
}

/// `None` if `v` is an integer amount of cents (a JSON integer or a digit string); otherwise why
/// not. serde would read `99.0` as 99 cents; here any JSON number with a fraction part is refused,
/// because an ERP sending `99.00` means ninety-nine reais, not cents.
fn check_amount(v: Option<&Value>, field: &str) -> Option<Violation> {
    match v {
        None | Some(Value::Null) => Some(Violation::new(
            field,
            ViolationCode::MissingField,
            "is required (integer cents)",
        )),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => None,
        Some(Value::Number(n)) => Some(Violation::new(
            field,
            ViolationCode::DecimalAmount,
            format!("must be an integer number of cents (9990 = 99.90), got {n}"),
        )),
        Some(Value::String(s)) => {
            let t = s.trim();
            let digits = t.strip_prefix('-').unwrap_or(t);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                None
            } else if t.contains(['.', ',']) {
                Some(Violation::new(
                    field,
                    ViolationCode::DecimalAmount,
                    format!("must be an integer number of cents (9990 = 99.90), got {s:?}"),
                ))
            } else {
                Some(Violation::new(
                    field,
                    ViolationCode::InvalidValue,
                    format!("must be an integer number of cents, got {s:?}"),
                ))
            }
        }
        Some(other) => Some(Violation::new(
            field,
            ViolationCode::InvalidValue,
            format!("must be an integer number of cents, got {other}"),
        )),
    }
}

/// Decimal (or otherwise non-integer) amounts in a SKU given as JSON (`prices[].price`,
/// `prices[].listPrice`, `offerings[].price`). `prefix` names the SKU in the field paths.
pub fn decimal_amounts(sku: &Value, prefix: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    if let Some(Value::Array(prices)) = sku.get("prices") {
        for (i, p) in prices.iter().enumerate() {
            for field in ["price", "listPrice"] {
                out.extend(check_amount(
                    p.get(field),
                    &format!("{prefix}.prices[{i}].{field}"),
                ));
            }
        }
    }
    if let Some(Value::Array(offerings)) = sku.get("offerings") {
        for (i, o) in offerings.iter().enumerate() {
            out.extend(check_amount(
                o.get("price"),
                &format!("{prefix}.offerings[{i}].price"),
            ));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// SKU rules

/// How strict [`validate_sku`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkuRules {
    /// The product data a SKU suggestion needs must be present (ERP messages). A catalog file may
    /// leave it out (simulation-only catalogs); when present it is always checked.
    pub require_product: bool,
}

impl SkuRules {
    pub const MESSAGE: SkuRules = SkuRules {
        require_product: true,
    };
    pub const CATALOG_FILE: SkuRules = SkuRules {
        require_product: false,
    };
}

/// Every rule `sku` breaks; empty when it may be written. Field paths start with `prefix`.
pub fn validate_sku(sku: &Sku, prefix: &str, rules: SkuRules) -> Vec<Violation> {
    let mut out = Vec::new();
    let f = |name: &str| format!("{prefix}.{name}");
    if let Some((code, detail)) = id_problem(&sku.id) {
        out.push(Violation::new(f("id"), code, detail));
    }
    if sku.name.trim().is_empty() {
        out.push(Violation::new(
            f("name"),
            ViolationCode::MissingField,
            "must not be empty",
        ));
    }
    if sku.prices.is_empty() {
        out.push(Violation::new(
            f("prices"),
            ViolationCode::MissingField,
            "must list at least one price",
        ));
    }
    out.extend(validate_prices(&sku.prices, &f("prices")));
    for (loc, level) in &sku.stock {
        if let Some((code, detail)) = id_problem(loc) {
            out.push(Violation::new(
                format!("{prefix}.stock[{loc:?}]"),
                code,
                format!("location id {detail}"),
            ));
        }
        if level.on_hand < 0 {
            out.push(Violation::new(
                format!("{prefix}.stock.{loc}.onHand"),
                ViolationCode::NegativeStock,
                format!("must be 0 or more, got {}", level.on_hand),
            ));
        }
    }
    for (i, sc) in sku.sales_channels.iter().enumerate() {
        if sc.trim().is_empty() {
            out.push(Violation::new(
                format!("{prefix}.salesChannels[{i}]"),
                ViolationCode::MissingId,
                "must not be empty",
            ));
        }
    }
    if sku.measurement_unit.trim().is_empty() {
        out.push(Violation::new(
            f("measurementUnit"),
            ViolationCode::MissingField,
            "must not be empty (use \"un\")",
        ));
    }
    if sku.unit_multiplier < 1 {
        out.push(Violation::new(
            f("unitMultiplier"),
            ViolationCode::InvalidValue,
            format!("must be 1 or more, got {}", sku.unit_multiplier),
        ));
    }
    let d = &sku.dimensions;
    for (name, v) in [
        ("heightCm", d.height_cm),
        ("widthCm", d.width_cm),
        ("lengthCm", d.length_cm),
    ] {
        if !v.is_finite() || v < 0.0 {
            out.push(Violation::new(
                format!("{prefix}.dimensions.{name}"),
                ViolationCode::InvalidValue,
                format!("must be 0 or more centimetres, got {v}"),
            ));
        }
    }
    if d.weight_g < 0 {
        out.push(Violation::new(
            f("dimensions.weightG"),
            ViolationCode::InvalidValue,
            format!("must be 0 or more grams, got {}", d.weight_g),
        ));
    }
    for (i, o) in sku.offerings.iter().enumerate() {
        if o.id.trim().is_empty() {
            out.push(Violation::new(
                format!("{prefix}.offerings[{i}].id"),
                ViolationCode::MissingId,
                "must not be empty",
            ));
        }
        if o.price.is_negative() {
            out.push(Violation::new(
                format!("{prefix}.offerings[{i}].price"),
                ViolationCode::InvalidValue,
                format!("must be 0 or more cents, got {}", o.price),
            ));
        }
    }
    match &sku.product {
        None if rules.require_product => out.push(Violation::new(
            f("product"),
            ViolationCode::MissingField,
            "is required: a SKU the marketplace does not know yet is suggested from it",
        )),
        None => {}
        Some(_) => out.extend(suggestion_problems(sku, prefix)),
    }
    out
}

/// Rules of a price list: positive prices in cents, `listPrice >= price`, one entry per scope.
pub fn validate_prices(prices: &[PriceEntry], prefix: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut scopes = HashSet::new();
    for (i, p) in prices.iter().enumerate() {
        let at = |name: &str| format!("{prefix}[{i}].{name}");
        if p.price.value() <= 0 {
            out.push(Violation::new(
                at("price"),
                ViolationCode::NonPositivePrice,
                format!("must be at least 1 cent, got {}", p.price),
            ));
        }
        if p.list_price < p.price {
            out.push(Violation::new(
                at("listPrice"),
                ViolationCode::ListPriceBelowPrice,
                format!("({}) must not be below price ({})", p.list_price, p.price),
            ));
        }
        for (name, scope) in [("an", &p.an), ("sc", &p.sc)] {
            if scope.as_deref().is_some_and(|s| s.trim().is_empty()) {
                out.push(Violation::new(
                    at(name),
                    ViolationCode::InvalidValue,
                    "must be left out (any) rather than empty",
                ));
            }
        }
        if !scopes.insert((p.an.clone(), p.sc.clone())) {
            out.push(Violation::new(
                format!("{prefix}[{i}]"),
                ViolationCode::Duplicate,
                format!(
                    "a second price for an={} sc={}",
                    p.an.as_deref().unwrap_or("(any)"),
                    p.sc.as_deref().unwrap_or("(any)")
                ),
            ));
        }
    }
    out
}

/// What a SKU suggestion (CONTRACT.md §6.3) needs beyond the SKU's own rules: the product data,
/// https images, specifications with values, positive dimensions and weight.
pub fn suggestion_problems(sku: &Sku, prefix: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    let Some(p) = &sku.product else {
        out.push(Violation::new(
            format!("{prefix}.product"),
            ViolationCode::MissingField,
            "is required for a SKU suggestion",
        ));
        return out;
    };
    let f = |name: &str| format!("{prefix}.product.{name}");
    if let Some((code, detail)) = id_problem(&p.product_id) {
        out.push(Violation::new(f("productId"), code, detail));
    }
    for (name, value) in [
        ("productName", &p.product_name),
        ("description", &p.description),
        ("brand", &p.brand),
        ("categoryPath", &p.category_path),
    ] {
        if value.trim().is_empty() {
            out.push(Violation::new(
                f(name),
                ViolationCode::MissingField,
                "must not be empty",
            ));
        }
    }
    if p.product_name.chars().count() > MAX_PRODUCT_NAME_CHARS {
        out.push(Violation::new(
            f("productName"),
            ViolationCode::TooLong,
            format!("must be at most {MAX_PRODUCT_NAME_CHARS} characters"),
        ));
    }
    if !p.category_path.trim().is_empty()
        && p.category_path.split('/').any(|seg| seg.trim().is_empty())
    {
        out.push(Violation::new(
            f("categoryPath"),
            ViolationCode::InvalidValue,
            format!(
                "must be \"Department/Category\" without empty parts, got {:?}",
                p.category_path
            ),
        ));
    }
    if p.images.is_empty() {
        out.push(Violation::new(
            f("images"),
            ViolationCode::MissingField,
            "must list at least one image",
        ));
    }
    for (i, img) in p.images.iter().enumerate() {
        if img.name.trim().is_empty() {
            out.push(Violation::new(
                f(&format!("images[{i}].name")),
                ViolationCode::MissingField,
                "must not be empty",
            ));
        }
        if !is_https_url(&img.url) {
            out.push(Violation::new(
                f(&format!("images[{i}].url")),
                ViolationCode::HttpImageUrl,
                format!("must be an https:// URL, got {:?}", img.url),
            ));
        }
    }
    for (list, specs) in [
        ("productSpecifications", &p.product_specifications),
        ("skuSpecifications", &p.sku_specifications),
    ] {
        for (i, s) in specs.iter().enumerate() {
            if s.name.trim().is_empty() {
                out.push(Violation::new(
                    f(&format!("{list}[{i}].name")),
                    ViolationCode::MissingField,
                    "must not be empty",
                ));
            }
            if s.values.is_empty() || s.values.iter().any(|v| v.trim().is_empty()) {
                out.push(Violation::new(
                    f(&format!("{list}[{i}].values")),
                    ViolationCode::MissingField,
                    "must list at least one value, none empty",
                ));
            }
        }
    }
    for (name, v) in [("ean", &p.ean), ("refId", &p.ref_id)] {
        if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
            out.push(Violation::new(
                f(name),
                ViolationCode::InvalidValue,
                "must be left out rather than empty",
            ));
        }
    }
    let d = &sku.dimensions;
    for (name, v) in [
        ("heightCm", d.height_cm),
        ("widthCm", d.width_cm),
        ("lengthCm", d.length_cm),
    ] {
        if v.is_finite() && v <= 0.0 {
            out.push(Violation::new(
                format!("{prefix}.dimensions.{name}"),
                ViolationCode::MissingField,
                "must be more than 0 for a SKU suggestion",
            ));
        }
    }
    if d.weight_g == 0 {
        out.push(Violation::new(
            format!("{prefix}.dimensions.weightG"),
            ViolationCode::MissingField,
            "must be more than 0 grams for a SKU suggestion",
        ));
    }
    out
}

fn is_https_url(url: &str) -> bool {
    let Some(rest) = url
        .get(..8)
        .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
        .map(|_| &url[8..])
    else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    !host.is_empty() && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Validates a whole catalog file given as JSON: decimal amounts, duplicate SKU ids and every SKU
/// rule ([`SkuRules::CATALOG_FILE`]), then returns the parsed file. Nothing is written by a caller
/// unless this returns `Ok`.
pub fn validate_catalog_file(value: &Value) -> Result<CatalogFile, Vec<Violation>> {
    let mut out = Vec::new();
    if let Some(Value::Array(skus)) = value.get("skus") {
        for (i, sku) in skus.iter().enumerate() {
            out.extend(decimal_amounts(sku, &format!("skus[{i}]")));
        }
    }
    if !out.is_empty() {
        return Err(out);
    }
    let file: CatalogFile = typed(value, "catalog file")?;
    let mut seen = HashSet::new();
    for (i, sku) in file.skus.iter().enumerate() {
        let prefix = format!("skus[{i}]");
        if !seen.insert(sku.id.as_str()) {
            out.push(Violation::new(
                format!("{prefix}.id"),
                ViolationCode::Duplicate,
                format!("SKU {} appears more than once", sku.id),
            ));
        }
        out.extend(validate_sku(sku, &prefix, SkuRules::CATALOG_FILE));
    }
    if out.is_empty() { Ok(file) } else { Err(out) }
}

// ---------------------------------------------------------------------------------------------
// What changed

/// Which VTEX notifications a change of a SKU calls for (CONTRACT.md §6.1, §6.2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// The SKU was not in the store: discover it (change notification, then maybe a suggestion).
    pub new_sku: bool,
    /// Catalog data changed (names, product data, dimensions, units): change notification.
    pub catalog: bool,
    /// Prices or offerings changed: notificator `…/price`.
    pub price: bool,
    /// On-hand stock, `active` or sales channels changed (what is sellable): notificator `…/inventory`.
    pub inventory: bool,
}

impl ChangeSet {
    pub fn is_empty(&self) -> bool {
        self.kinds().is_empty()
    }

    /// The notifications to send. A new SKU gets only the catalog notification: when the
    /// marketplace knows it, it re-reads everything (simulation included); when it does not, a
    /// suggestion carries the data.
    pub fn kinds(&self) -> Vec<NotifyKind> {
        if self.new_sku {
            return vec![NotifyKind::Catalog];
        }
        let mut kinds = Vec::new();
        if self.catalog {
            kinds.push(NotifyKind::Catalog);
        }
        if self.price {
            kinds.push(NotifyKind::Price);
        }
        if self.inventory {
            kinds.push(NotifyKind::Inventory);
        }
        kinds
    }

    pub fn merge(&mut self, other: ChangeSet) {
        self.new_sku |= other.new_sku;
        self.catalog |= other.catalog;
        self.price |= other.price;
        self.inventory |= other.inventory;
    }

    pub fn only(kind: NotifyKind) -> ChangeSet {
        ChangeSet {
            new_sku: false,
            catalog: kind == NotifyKind::Catalog,
            price: kind == NotifyKind::Price,
            inventory: kind == NotifyKind::Inventory,
        }
    }
}

/// What writing `new` over `old` changes, as VTEX sees it. Stock compares on-hand figures only
/// (reservations are the connector's own); a location missing on one side counts as 0 on hand.
pub fn changes(old: Option<&Sku>, new: &Sku) -> ChangeSet {
    let Some(old) = old else {
        return ChangeSet {
            new_sku: true,
            catalog: true,
            price: true,
            inventory: true,
        };
    };
    let locations: BTreeSet<&String> = old.stock.keys().chain(new.stock.keys()).collect();
    let on_hand = |s: &Sku, loc: &str| s.stock.get(loc).map_or(0, |l| l.on_hand);
    let stock_changed = locations
        .iter()
        .any(|loc| on_hand(old, loc) != on_hand(new, loc));
    ChangeSet {
        new_sku: false,
        catalog: old.name != new.name
            || old.product != new.product
            || old.dimensions != new.dimensions
            || old.measurement_unit != new.measurement_unit
            || old.unit_multiplier != new.unit_multiplier,
        price: old.prices != new.prices || old.offerings != new.offerings,
        inventory: stock_changed
            || old.active != new.active
            || old.sales_channels != new.sales_channels,
    }
}

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
        let text = include_str!("../../sample/catalog.json");
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
