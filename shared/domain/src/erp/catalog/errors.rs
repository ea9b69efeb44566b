//! Why a catalog message is refused: stable codes for the DLQ.

use super::*;

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
    pub(super) fn new(
        field: impl Into<String>,
        code: ViolationCode,
        detail: impl Into<String>,
    ) -> Self {
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

pub(super) fn join(v: &[Violation]) -> String {
    v.iter()
        .map(Violation::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

crate::erp::envelope::from_envelope_error!(MessageError);

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
