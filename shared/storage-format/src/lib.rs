//! The stored shape of the records both persistent adapters keep as JSON: the `data` attribute of
//! the DynamoDB items (`aws-adapters`) and the `data` column of the SQLite rows (`embedded-store`).
//! Both adapters store the same JSON, so the shape is defined once, here, apart from the domain
//! types (wire DTO, domain type and storage item are three shapes).
//!
//! # Versioning
//!
//! Every record is written as `{"schemaVersion": N, …fields of shape vN…}`. A record without
//! `schemaVersion` is version 1: that is how every record was written before this crate existed,
//! and version 1 *is* that shape, made explicit. Readers ignore fields they do not know, so a
//! build from before `schemaVersion` reads what this one writes.
//!
//! [`decode`] reads the version first and then the body of that version, and refuses a version it
//! does not know (a newer writer) as corrupt rather than guessing. To change a stored shape: add
//! the `V2` types beside the `V1` ones, point [`Stored::Shape`] at `V2`, bump
//! [`Stored::VERSION`], and override [`Stored::decode_version`] to read `1` into `V1` and upgrade
//! it. Old items are then upgraded when read and rewritten in the new shape on their next save;
//! no migration job is needed.
//!
//! # The shapes
//!
//! Every record has explicit `V1` types and conversions to and from the domain, so a domain rename
//! is a compile error or a conversion edit here instead of unreadable data: orders and order log
//! entries ([`order`]), SKUs and shipping rules ([`catalog`]), invoice records ([`invoice`]),
//! import records ([`import`]), SKU sync states and mse notifications ([`bookkeeping`]). The
//! shapes use plain integers for cents and strings for durations; the domain newtypes are built in
//! the conversions.
//!
//! Golden tests (`golden` modules) hold a literal of each record as written before versioning;
//! it must keep decoding, and the encoded form is compared exactly.

pub mod bookkeeping;
pub mod catalog;
pub mod import;
pub mod invoice;
pub mod marketplace;
pub mod order;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The JSON field carrying a record's shape version.
pub const VERSION_FIELD: &str = "schemaVersion";

/// A stored record that could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError(pub String);

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FormatError {}

/// A domain value with a stored shape.
pub trait Stored: Sized {
    /// What the record is, in errors (`"order"`, `"log entry"`).
    const WHAT: &'static str;
    /// The version [`encode`] writes.
    const VERSION: u32;
    /// The shape of [`Self::VERSION`].
    type Shape: Serialize + DeserializeOwned;

    fn to_shape(&self) -> Self::Shape;
    fn from_shape(shape: Self::Shape) -> Result<Self, FormatError>;

    /// Reads a record of `version`. The default knows only [`Self::VERSION`]; a type whose shape
    /// changed overrides it to upgrade the older versions.
    fn decode_version(version: u32, json: &str) -> Result<Self, FormatError> {
        if version != Self::VERSION {
            return Err(FormatError(format!(
                "stored {} has {VERSION_FIELD} {version}; this build reads {}",
                Self::WHAT,
                Self::VERSION
            )));
        }
        Self::from_shape(parse(Self::WHAT, json)?)
    }
}

/// The record's JSON, in its current shape, `schemaVersion` first.
pub fn encode<T: Stored>(value: &T) -> Result<String, FormatError> {
    #[derive(Serialize)]
    struct Envelope<S> {
        #[serde(rename = "schemaVersion")]
        schema_version: u32,
        #[serde(flatten)]
        body: S,
    }
    serde_json::to_string(&Envelope {
        schema_version: T::VERSION,
        body: value.to_shape(),
    })
    .map_err(|e| FormatError(format!("{} cannot be serialized: {e}", T::WHAT)))
}

/// The record stored as `json`, of whichever version it was written in.
pub fn decode<T: Stored>(json: &str) -> Result<T, FormatError> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "schemaVersion", default = "first_version")]
        schema_version: u32,
    }
    fn first_version() -> u32 {
        1
    }
    let probe: Probe = parse(T::WHAT, json)?;
    T::decode_version(probe.schema_version, json)
}

fn parse<S: DeserializeOwned>(what: &str, json: &str) -> Result<S, FormatError> {
    // Stored records hold customer data: the error names the field, never the value.
    domain::wire_error::from_slice(json.as_bytes())
        .map_err(|e| FormatError(format!("stored {what} is not valid: {e}")))
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// The golden checks of one record kind. `legacy` is a record as written before
    /// `schemaVersion` existed (pretty-printed; whitespace between tokens is ignored):
    /// - it decodes;
    /// - the decoded value encodes to exactly `{"schemaVersion":1,` followed by the legacy fields,
    ///   in the legacy order, byte for byte;
    /// - that encoded form decodes to the same value.
    ///
    /// Returns the decoded value, for checks of its fields.
    pub fn golden<T: Stored + PartialEq + fmt::Debug>(legacy: &str) -> T {
        let legacy = compact(legacy);
        let value: T =
            decode(&legacy).unwrap_or_else(|e| panic!("the legacy form no longer decodes: {e}"));
        let expected = format!("{{\"schemaVersion\":1,{}", &legacy[1..]);
        let encoded = encode(&value).unwrap();
        assert_eq!(encoded, expected, "the encoded form changed");
        assert_eq!(
            decode::<T>(&encoded).unwrap(),
            value,
            "the encoded form reads back differently"
        );
        value
    }

    /// `json` without the whitespace between tokens.
    pub fn compact(json: &str) -> String {
        serde_json::from_str::<serde::de::IgnoredAny>(json).expect("the literal is JSON");
        let mut out = String::with_capacity(json.len());
        let (mut in_string, mut escaped) = (false, false);
        for c in json.chars() {
            if in_string {
                out.push(c);
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_string = false,
                    _ => {}
                }
            } else if c == '"' {
                in_string = true;
                out.push(c);
            } else if !c.is_whitespace() {
                out.push(c);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::order::{LogEntry, Outcome};

    const ENTRY: &str =
        r#"{"at":"2026-01-02T03:04:10.123Z","step":"placement","outcome":"Success","detail":"d"}"#;

    #[test]
    fn a_record_without_schema_version_is_version_one() {
        let entry: LogEntry = decode(ENTRY).unwrap();
        assert_eq!(entry.outcome, Outcome::Success);
    }

    #[test]
    fn a_record_of_an_unknown_version_is_refused_not_guessed() {
        let newer = ENTRY.replacen('{', r#"{"schemaVersion":2,"#, 1);
        let err = decode::<LogEntry>(&newer).unwrap_err();
        assert!(err.0.contains("schemaVersion 2"), "{err}");
    }

    #[test]
    fn the_version_is_written_first() {
        let entry: LogEntry = decode(ENTRY).unwrap();
        assert!(
            encode(&entry)
                .unwrap()
                .starts_with(r#"{"schemaVersion":1,"at":"#)
        );
    }

    #[test]
    fn a_record_that_is_not_json_is_an_error_naming_the_record() {
        let err = decode::<LogEntry>("not json").unwrap_err();
        assert!(err.0.starts_with("stored log entry is not valid"), "{err}");
    }
}
