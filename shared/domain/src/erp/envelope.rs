//! The versioned envelope every ERP message shares, whatever its family (the dispatch messages of
//! [`crate::erp`], the catalog messages of [`crate::catalog_messages`], the import messages of
//! [`crate::import`]): a JSON object of at most [`MAX_MESSAGE_BYTES`] with a string `type` and an
//! integer `version`.
//!
//! [`open`] checks the envelope before anything else, in this order: size, JSON, `type`,
//! `version` (a newer sender's message is parked, re-drivable after an upgrade, rather than
//! half-understood), then that the `type` is one of the family's. Each family turns an
//! [`EnvelopeError`] into its own error (same texts, same codes) and reads the payload.

use serde_json::Value;

/// The schema version this build reads and writes, for every family.
pub const CURRENT_VERSION: u32 = 1;

/// Largest message body accepted (SQS caps messages at 256 KiB anyway).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Why the envelope of a message could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeError {
    TooLarge,
    /// serde_json's message.
    NotJson(String),
    MissingType,
    MissingVersion,
    UnsupportedVersion(u64),
    /// The `type`, cut to 40 characters.
    UnknownType(String),
}

/// Reads the envelope of `body`: its kind (one of `kinds`, by its `type` name) and the whole JSON
/// value, for the family to read the payload from.
pub fn open<K: Copy>(body: &[u8], kinds: &[(&str, K)]) -> Result<(K, Value), EnvelopeError> {
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(EnvelopeError::TooLarge);
    }
    let value: Value =
        crate::wire_error::from_slice(body).map_err(|e| EnvelopeError::NotJson(e.to_string()))?;
    let name = match value.get("type") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(EnvelopeError::MissingType),
    };
    let version = value
        .get("version")
        .and_then(Value::as_u64)
        .ok_or(EnvelopeError::MissingVersion)?;
    if version != u64::from(CURRENT_VERSION) {
        return Err(EnvelopeError::UnsupportedVersion(version));
    }
    match kinds.iter().find(|(n, _)| *n == name) {
        Some((_, kind)) => Ok((*kind, value)),
        None => Err(EnvelopeError::UnknownType(name.chars().take(40).collect())),
    }
}

/// Each family's error from an [`EnvelopeError`], variant for variant.
macro_rules! from_envelope_error {
    ($error:ident) => {
        impl From<$crate::erp::envelope::EnvelopeError> for $error {
            fn from(e: $crate::erp::envelope::EnvelopeError) -> Self {
                use $crate::erp::envelope::EnvelopeError as E;
                match e {
                    E::TooLarge => $error::TooLarge,
                    E::NotJson(m) => $error::NotJson(m),
                    E::MissingType => $error::MissingType,
                    E::MissingVersion => $error::MissingVersion,
                    E::UnsupportedVersion(v) => $error::UnsupportedVersion(v),
                    E::UnknownType(t) => $error::UnknownType(t),
                }
            }
        }
    };
}
pub(crate) use from_envelope_error;

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: &[(&str, u8)] = &[("a", 1), ("b", 2)];

    #[test]
    fn the_version_is_checked_before_the_type_is_looked_up() {
        assert_eq!(
            open(br#"{"type":"zzz","version":2}"#, KINDS),
            Err(EnvelopeError::UnsupportedVersion(2))
        );
        assert_eq!(
            open(br#"{"type":"zzz","version":1}"#, KINDS),
            Err(EnvelopeError::UnknownType("zzz".into()))
        );
        assert_eq!(
            open(br#"{"version":1}"#, KINDS),
            Err(EnvelopeError::MissingType)
        );
        assert_eq!(
            open(br#"{"type":"a"}"#, KINDS),
            Err(EnvelopeError::MissingVersion)
        );
        let (kind, value) = open(br#"{"type":"b","version":1,"x":3}"#, KINDS).unwrap();
        assert_eq!((kind, value["x"].as_u64()), (2, Some(3)));
    }

    #[test]
    fn oversized_and_non_json_bodies_are_refused_first() {
        let big = vec![b' '; MAX_MESSAGE_BYTES + 1];
        assert_eq!(open(&big, KINDS), Err(EnvelopeError::TooLarge));
        assert!(matches!(open(b"{", KINDS), Err(EnvelopeError::NotJson(_))));
    }

    #[test]
    fn an_unknown_type_is_cut_to_forty_characters() {
        let body = format!(r#"{{"type":"{}","version":1}}"#, "x".repeat(100));
        assert_eq!(
            open(body.as_bytes(), KINDS),
            Err(EnvelopeError::UnknownType("x".repeat(40)))
        );
    }
}
