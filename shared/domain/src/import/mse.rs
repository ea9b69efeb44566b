//! The marketplace-services endpoint: invoice notifications from VTEX (shared/docs/protocol.md
//! §Marketplace services endpoint).

use super::*;

/// One notification as received at `POST {mse}/pub/orders/{orderId}/invoice`: any invoice-shaped
/// body, kept as received.
#[derive(Debug, Clone, PartialEq)]
pub struct MseInvoice {
    /// VTEX's order id (the path's).
    pub order_id: String,
    pub invoice_number: String,
    /// The body, as received (a JSON object).
    pub body: Value,
    /// Stable digest of `(orderId, invoiceNumber, body)`: the idempotency key.
    pub fingerprint: String,
}

/// Why a notification body is refused (4xx).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MseParseError(pub String);

/// String-typed invoice fields of a notification (null allowed).
pub(super) const MSE_TEXT_FIELDS: [&str; 9] = [
    "type",
    "issuanceDate",
    "invoiceUrl",
    "invoiceKey",
    "embeddedInvoice",
    "courier",
    "trackingNumber",
    "trackingUrl",
    "dispatchedDate",
];

/// Reads a notification body: a JSON object with a non-empty `invoiceNumber`. Every invoice shape
/// VTEX may send passes, because a refusal here is a 400 on VTEX's own Send Invoice (S0): the text
/// fields as strings, numbers or null; `invoiceValue` as integer cents, a decimal (`110.8`, as
/// some OMS versions write it) or a string (§Decisions C13); `items` an array. Only what no
/// invoice is (an object or an array where a value goes, `items` not a list) is refused. The body
/// is kept, and forwarded, exactly as received (unknown fields included).
pub fn parse_mse_invoice(order_id: &str, body: &[u8]) -> Result<MseInvoice, MseParseError> {
    let bad = |m: String| Err(MseParseError(m));
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return bad(format!("body is not JSON: {e}")),
    };
    let Some(m) = value.as_object() else {
        return bad("body must be a JSON object".into());
    };
    let invoice_number = match m.get("invoiceNumber") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return bad("invoiceNumber is required".into());
        }
        Some(_) => return bad("invoiceNumber must be a string".into()),
    };
    for k in MSE_TEXT_FIELDS {
        if let Some(v) = m.get(k)
            && !matches!(v, Value::Null | Value::String(_) | Value::Number(_))
        {
            return bad(format!("{k} must be a string or null"));
        }
    }
    match m.get("invoiceValue") {
        None | Some(Value::Null) | Some(Value::String(_)) | Some(Value::Number(_)) => {}
        Some(_) => return bad("invoiceValue must be a number or a string".into()),
    }
    match m.get("items") {
        None | Some(Value::Null) | Some(Value::Array(_)) => {}
        Some(_) => return bad("items must be an array".into()),
    }
    let fingerprint = fingerprint(&[order_id, &invoice_number, &canonical_json(&value)]);
    Ok(MseInvoice {
        order_id: order_id.to_string(),
        invoice_number,
        body: value,
        fingerprint,
    })
}

/// JSON with object keys sorted at every level: equal documents give equal text, whatever the
/// key order they arrived in.
pub fn canonical_json(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<&String, &Value> = m.iter().collect();
            let parts: Vec<String> = sorted
                .into_iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), canonical_json(v)))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical_json).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// A stable 128-bit FNV-1a digest of `parts` (each followed by a 0 byte), as 32 hex digits. Not a
/// security measure: an idempotency key that stays the same across builds and Rust versions.
pub fn fingerprint(parts: &[&str]) -> String {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut h = OFFSET;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0u8)) {
            h ^= u128::from(b);
            h = h.wrapping_mul(PRIME);
        }
    }
    format!("{h:032x}")
}

/// The bookkeeping of one notification: its receipt (answered again on a repeat) and whether the
/// ERP event went out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MseNotification {
    pub order_id: String,
    pub fingerprint: String,
    pub invoice_number: String,
    pub receipt: String,
    pub date: DateTime<Utc>,
    /// The import the order belongs to, when we imported it.
    #[serde(default)]
    pub import: Option<ImportKey>,
    pub published: bool,
}

/// The event the seller's ERP receives for a notification, on the order-events queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceNotified {
    /// Always [`InvoiceNotified::TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    pub version: u32,
    /// Stable per notification: the ERP de-duplicates on it.
    pub event_id: String,
    /// VTEX's order id.
    pub order_id: String,
    #[serde(default)]
    pub affiliate_id: Option<String>,
    #[serde(default)]
    pub marketplace_order_id: Option<String>,
    pub invoice_number: String,
    pub receipt: String,
    pub at: DateTime<Utc>,
    /// The notification body as VTEX sent it.
    pub invoice: Value,
}

impl InvoiceNotified {
    pub const TYPE: &'static str = "import.invoiceNotified";

    pub fn new(n: &MseNotification, body: &Value) -> Self {
        InvoiceNotified {
            kind: Self::TYPE.to_string(),
            version: CURRENT_VERSION,
            event_id: format!("mse-{}", n.fingerprint),
            order_id: n.order_id.clone(),
            affiliate_id: n.import.as_ref().map(|k| k.affiliate_id.clone()),
            marketplace_order_id: n.import.as_ref().map(|k| k.marketplace_order_id.clone()),
            invoice_number: n.invoice_number.clone(),
            receipt: n.receipt.clone(),
            at: n.date,
            invoice: body.clone(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
