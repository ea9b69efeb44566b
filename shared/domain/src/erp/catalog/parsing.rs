//! Parsing catalog messages: `type` and `version` first, then the payload.

use super::*;

/// Parses and fully validates a message body. The version is checked before the payload, so a
/// newer ERP's message is parked (and can be re-driven after an upgrade) rather than half-read.
pub fn parse(body: &[u8]) -> Result<CatalogMessage, MessageError> {
    type Reader = fn(&Value) -> Parsed;
    let (kind, value) = crate::erp::envelope::open(
        body,
        &[
            ("sku.upsert", "sku.upsert"),
            ("price.changed", "price.changed"),
            ("stock.changed", "stock.changed"),
            ("notify.due", "notify.due"),
        ],
    )?;
    let read: Reader = match kind {
        "sku.upsert" => parse_sku_upsert,
        "price.changed" => parse_price_changed,
        "stock.changed" => parse_stock_changed,
        _ => parse_notify_due,
    };
    let parsed = read(&value);
    let change = parsed.map_err(|violations| MessageError::Invalid { kind, violations })?;
    let message_id = match value.get("messageId") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    };
    Ok(CatalogMessage { message_id, change })
}

pub(super) type Parsed = Result<CatalogChange, Vec<Violation>>;

pub(super) fn parse_sku_upsert(value: &Value) -> Parsed {
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

pub(super) fn parse_price_changed(value: &Value) -> Parsed {
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

pub(super) fn parse_stock_changed(value: &Value) -> Parsed {
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
    let as_of = match value.get("asOf") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => match DateTime::parse_from_rfc3339(s.trim()) {
            Ok(at) => Some(at.with_timezone(&Utc)),
            Err(_) => {
                violations.push(Violation::new(
                    "asOf",
                    ViolationCode::InvalidValue,
                    "must be an RFC 3339 date-time with an offset, e.g. 2026-12-02T08:55:00-03:00",
                ));
                None
            }
        },
        Some(_) => {
            violations.push(Violation::new(
                "asOf",
                ViolationCode::InvalidValue,
                "must be a string: an RFC 3339 date-time with an offset",
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
                as_of,
            })
        }
        _ => Err(violations),
    }
}

pub(super) fn parse_notify_due(value: &Value) -> Parsed {
    let mut violations = Vec::new();
    check_id_value(value.get("skuId"), "skuId", &mut violations);
    if !violations.is_empty() {
        return Err(violations);
    }
    typed::<NotifyDue>(value, "notify.due").map(CatalogChange::NotifyDue)
}

pub(super) fn typed<T: DeserializeOwned>(value: &Value, field: &str) -> Result<T, Vec<Violation>> {
    // The detail names the field and the types, never the value (crate::wire_error).
    crate::wire_error::from_value::<T>(value.clone()).map_err(|e| {
        let missing = e.problem.starts_with("missing field");
        let detail = e.to_string();
        let code = if missing {
            ViolationCode::MissingField
        } else {
            ViolationCode::InvalidValue
        };
        vec![Violation::new(field, code, detail)]
    })
}

/// The id at `field` if it is a usable id; otherwise records why not.
pub(super) fn check_id_value(
    v: Option<&Value>,
    field: &str,
    out: &mut Vec<Violation>,
) -> Option<String> {
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
pub(super) fn id_problem(s: &str) -> Option<(ViolationCode, String)> {
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
    // A SKU id is a path segment of the notificator and suggestion URLs: `..` would reach
    // another path with our credentials.
    if s == "." || s == ".." || s.contains(['/', '\\']) {
        return Some((
            ViolationCode::InvalidValue,
            "must not be . or .. nor contain a slash (it is a URL path segment)".into(),
        ));
    }
    None
}

/// `None` if `v` is an integer amount of cents (a JSON integer or a digit string); otherwise why
/// not. serde would read `99.0` as 99 cents; here any JSON number with a fraction part is refused,
/// because an ERP sending `99.00` means ninety-nine reais, not cents.
pub(super) fn check_amount(v: Option<&Value>, field: &str) -> Option<Violation> {
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
