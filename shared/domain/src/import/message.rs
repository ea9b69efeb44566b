//! Import messages: parsing and checking, `type` and `version` first.

use super::*;

/// One parsed import message.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportMessage {
    /// The sender's id for the message, echoed in the log. Optional.
    pub message_id: Option<String>,
    pub key: ImportKey,
    pub command: ImportCommand,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ImportCommand {
    /// Import this order (create once), and send these invoices after placement.
    Order {
        sales_channel: Option<String>,
        order: Box<ImportOrder>,
        invoices: Vec<Invoice>,
    },
    /// POST this invoice on the imported order (§Invoices).
    Invoice { invoice: Invoice },
    /// PATCH tracking onto one of its invoices (§Tracking).
    Tracking {
        invoice_number: String,
        tracking: TrackingInfo,
    },
    /// The worker's scheduled wake-up; stale when the import no longer waits for this `wake_id`.
    Resume { wake_id: String },
}

impl ImportCommand {
    /// The `type` value.
    pub fn kind(&self) -> &'static str {
        match self {
            ImportCommand::Order { .. } => "importOrder",
            ImportCommand::Invoice { .. } => "importInvoice",
            ImportCommand::Tracking { .. } => "importTracking",
            ImportCommand::Resume { .. } => "importResume",
        }
    }
}

impl ImportMessage {
    pub fn new(key: ImportKey, command: ImportCommand) -> Self {
        ImportMessage {
            message_id: None,
            key,
            command,
        }
    }

    pub fn resume(key: &ImportKey, wake_id: &str) -> Self {
        Self::new(
            key.clone(),
            ImportCommand::Resume {
                wake_id: wake_id.to_string(),
            },
        )
    }

    /// The JSON a sender would send (and what the worker enqueues for itself).
    pub fn to_json(&self) -> String {
        let mut m = Map::new();
        m.insert("type".into(), json!(self.command.kind()));
        m.insert("version".into(), json!(CURRENT_VERSION));
        if let Some(id) = &self.message_id {
            m.insert("messageId".into(), json!(id));
        }
        m.insert("affiliateId".into(), json!(self.key.affiliate_id));
        match &self.command {
            ImportCommand::Order {
                sales_channel,
                order,
                invoices,
            } => {
                if let Some(sc) = sales_channel {
                    m.insert("salesChannel".into(), json!(sc));
                }
                m.insert("order".into(), to_value(order.as_ref()));
                if !invoices.is_empty() {
                    m.insert("invoices".into(), to_value(invoices));
                }
            }
            ImportCommand::Invoice { invoice } => {
                m.insert(
                    "marketplaceOrderId".into(),
                    json!(self.key.marketplace_order_id),
                );
                m.insert("invoice".into(), to_value(invoice));
            }
            ImportCommand::Tracking {
                invoice_number,
                tracking,
            } => {
                m.insert(
                    "marketplaceOrderId".into(),
                    json!(self.key.marketplace_order_id),
                );
                m.insert("invoiceNumber".into(), json!(invoice_number));
                m.insert("tracking".into(), to_value(tracking));
            }
            ImportCommand::Resume { wake_id } => {
                m.insert(
                    "marketplaceOrderId".into(),
                    json!(self.key.marketplace_order_id),
                );
                m.insert("wakeId".into(), json!(wake_id));
            }
        }
        Value::Object(m).to_string()
    }
}

pub(super) fn to_value<T: Serialize + ?Sized>(v: &T) -> Value {
    // Our own types of strings, numbers and vectors always serialize.
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Why a message could not be used. Such a message is never retried: it is logged and parked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportParseError {
    #[error("message is larger than {MAX_MESSAGE_BYTES} bytes")]
    TooLarge,
    #[error("message is not JSON: {0}")]
    NotJson(String),
    #[error("message has no `type`")]
    MissingType,
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    #[error("message has no integer `version`")]
    MissingVersion,
    #[error("message version {0} is not supported (this build reads version {CURRENT_VERSION})")]
    UnsupportedVersion(u64),
    #[error("{0}")]
    BadAffiliate(String),
    #[error("money must be integer cents (99.90 is 9990): {}", .0.join("; "))]
    NotCents(Vec<String>),
    #[error("{kind} message is invalid: {detail}")]
    Invalid { kind: &'static str, detail: String },
    #[error("order is not importable: {}", .0.join("; "))]
    InvalidOrder(Vec<String>),
}

crate::erp::envelope::from_envelope_error!(ImportParseError);

impl ImportParseError {
    /// Stable machine code, for the DLQ message attribute and alarms.
    pub fn code(&self) -> &'static str {
        match self {
            ImportParseError::TooLarge => "TOO_LARGE",
            ImportParseError::NotJson(_) => "NOT_JSON",
            ImportParseError::MissingType => "MISSING_TYPE",
            ImportParseError::UnknownType(_) => "UNKNOWN_TYPE",
            ImportParseError::MissingVersion => "MISSING_VERSION",
            ImportParseError::UnsupportedVersion(_) => "UNSUPPORTED_VERSION",
            ImportParseError::BadAffiliate(_) => "BAD_AFFILIATE",
            ImportParseError::NotCents(_) => "NOT_CENTS",
            ImportParseError::Invalid { .. } => "INVALID_MESSAGE",
            ImportParseError::InvalidOrder(_) => "INVALID_ORDER",
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Envelope {
    #[serde(default)]
    message_id: Option<String>,
    #[serde(default)]
    affiliate_id: Option<String>,
    #[serde(default)]
    marketplace_order_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct OrderBody {
    #[serde(default, alias = "sc")]
    sales_channel: Option<Value>,
    order: ImportOrder,
    #[serde(default)]
    invoices: Vec<Invoice>,
}

#[derive(Deserialize)]
pub(super) struct InvoiceBody {
    invoice: Invoice,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TrackingBody {
    invoice_number: String,
    tracking: TrackingInfo,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ResumeBody {
    wake_id: String,
}

pub(super) fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// The key a message names, as far as it can be read (to log a refusal under the import).
pub fn key_hint(body: &[u8], default_affiliate: Option<&str>) -> Option<ImportKey> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let affiliate = v
        .get("affiliateId")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .or(default_affiliate)?;
    let mkp = v
        .get("marketplaceOrderId")
        .or_else(|| v.get("order").and_then(|o| o.get("marketplaceOrderId")))
        .and_then(Value::as_str)?
        .trim();
    (check_affiliate_id(affiliate).is_ok() && check_marketplace_order_id(mkp).is_ok())
        .then(|| ImportKey::new(affiliate, mkp))
}

/// Parses and checks a message body. The version is checked before the payload, so a newer
/// sender's message is parked (re-drivable after an upgrade) rather than half-understood.
/// `default_affiliate` stands in for a missing `affiliateId`.
pub fn parse(
    body: &[u8],
    default_affiliate: Option<&str>,
) -> Result<ImportMessage, ImportParseError> {
    let (kind, mut value): (&'static str, Value) = crate::erp::envelope::open(
        body,
        &[
            ("importOrder", "importOrder"),
            ("importInvoice", "importInvoice"),
            ("importTracking", "importTracking"),
            ("importResume", "importResume"),
        ],
    )?;
    let env: Envelope = payload(&value, kind)?;
    let affiliate = non_empty(env.affiliate_id)
        .or_else(|| default_affiliate.map(str::to_string))
        .ok_or_else(|| {
            ImportParseError::BadAffiliate(
                "affiliateId is required (no default affiliate is configured)".into(),
            )
        })?;
    check_affiliate_id(&affiliate).map_err(ImportParseError::BadAffiliate)?;
    let money = money_problems(&value);
    if !money.is_empty() {
        return Err(ImportParseError::NotCents(money));
    }
    normalize(&mut value);
    let message_id = non_empty(env.message_id);
    let (mkp, command) = match kind {
        "importOrder" => {
            let b: OrderBody = payload(&value, kind)?;
            let sales_channel = match b.sales_channel {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => non_empty(Some(s)),
                Some(Value::Number(n)) => Some(n.to_string()),
                Some(_) => {
                    return Err(ImportParseError::Invalid {
                        kind,
                        detail: "salesChannel must be a string".into(),
                    });
                }
            };
            let mut problems = b.order.problems();
            if let Some(sc) = &sales_channel
                && let Err(e) = check_sales_channel(sc)
            {
                problems.push(e);
            }
            if !problems.is_empty() {
                return Err(ImportParseError::InvalidOrder(problems));
            }
            (
                b.order.marketplace_order_id.clone(),
                ImportCommand::Order {
                    sales_channel,
                    order: Box::new(b.order),
                    invoices: b.invoices,
                },
            )
        }
        other => {
            let mkp =
                non_empty(env.marketplace_order_id).ok_or_else(|| ImportParseError::Invalid {
                    kind: other_kind(other),
                    detail: "marketplaceOrderId is required".into(),
                })?;
            check_marketplace_order_id(&mkp).map_err(|detail| ImportParseError::Invalid {
                kind: other_kind(other),
                detail,
            })?;
            let command = match other {
                "importInvoice" => {
                    let b: InvoiceBody = payload(&value, kind)?;
                    ImportCommand::Invoice { invoice: b.invoice }
                }
                "importTracking" => {
                    let b: TrackingBody = payload(&value, kind)?;
                    ImportCommand::Tracking {
                        invoice_number: b.invoice_number,
                        tracking: b.tracking,
                    }
                }
                _ => {
                    let b: ResumeBody = payload(&value, kind)?;
                    ImportCommand::Resume { wake_id: b.wake_id }
                }
            };
            (mkp, command)
        }
    };
    Ok(ImportMessage {
        message_id,
        key: ImportKey::new(affiliate, mkp),
        command,
    })
}

pub(super) fn other_kind(k: &str) -> &'static str {
    match k {
        "importInvoice" => "importInvoice",
        "importTracking" => "importTracking",
        _ => "importResume",
    }
}

pub(super) fn payload<T: DeserializeOwned>(
    value: &Value,
    kind: &'static str,
) -> Result<T, ImportParseError> {
    // The detail names the field and the types, never the value: a CPF or a phone sent as a
    // number would otherwise reach CloudWatch, the DLQ reason and the order log (crate::wire_error).
    crate::wire_error::from_value(value.clone()).map_err(|e| ImportParseError::Invalid {
        kind,
        detail: e.to_string(),
    })
}

/// Null where the domain types want an empty list (§Conventions: null and absent are the same).
pub(super) fn normalize(v: &mut Value) {
    if let Some(addr) = v
        .pointer_mut("/order/shippingData/address")
        .and_then(Value::as_object_mut)
        && addr.get("geoCoordinates").is_some_and(Value::is_null)
    {
        addr.remove("geoCoordinates");
    }
    if v.get("invoices").is_some_and(Value::is_null)
        && let Some(m) = v.as_object_mut()
    {
        m.remove("invoices");
    }
}

/// Every money field that is not integer cents (a float, a decimal string), by path.
pub(super) fn money_problems(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |path: String, x: Option<&Value>| {
        if let Some(x) = x
            && !is_cents(x)
        {
            out.push(format!("{path} is {x}"));
        }
    };
    if let Some(order) = v.get("order") {
        check(
            "order.marketplacePaymentValue".into(),
            order.get("marketplacePaymentValue"),
        );
        for (i, item) in array(order.get("items")).iter().enumerate() {
            for f in ["price", "commission", "freightCommission"] {
                check(format!("order.items[{i}].{f}"), item.get(f));
            }
        }
        let logistics = order
            .get("shippingData")
            .and_then(|s| s.get("logisticsInfo"));
        for (i, l) in array(logistics).iter().enumerate() {
            check(
                format!("order.shippingData.logisticsInfo[{i}].price"),
                l.get("price"),
            );
            if let Some(w) = l.get("deliveryWindow") {
                for f in ["price", "listPrice", "lisPrice", "tax"] {
                    check(
                        format!("order.shippingData.logisticsInfo[{i}].deliveryWindow.{f}"),
                        w.get(f),
                    );
                }
            }
        }
    }
    let mut invoices: Vec<(String, &Value)> = array(v.get("invoices"))
        .iter()
        .enumerate()
        .map(|(i, x)| (format!("invoices[{i}]"), x))
        .collect();
    if let Some(x) = v.get("invoice") {
        invoices.push(("invoice".into(), x));
    }
    for (path, inv) in invoices {
        check(format!("{path}.invoiceValue"), inv.get("invoiceValue"));
        for (j, item) in array(inv.get("items")).iter().enumerate() {
            check(format!("{path}.items[{j}].price"), item.get("price"));
        }
    }
    out
}

pub(super) fn array(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

pub(super) fn is_cents(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Number(n) => n.is_i64(),
        Value::String(s) => {
            let t = s.trim();
            let digits = t.strip_prefix('-').unwrap_or(t);
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
        }
        // Not money-shaped at all: left to the typed parse, which names the field.
        _ => true,
    }
}
