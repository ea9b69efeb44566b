//! Errors of parsing what others sent (ERP messages, VTEX bodies, stored records) that name the
//! field and what was expected, never the value.
//!
//! serde's own text quotes what it read: ``invalid type: integer `14310315771`, expected a
//! string`` puts a customer's CPF into CloudWatch, the DLQ `reason` attribute and the order log.
//! [`from_value`] / [`from_slice`] instead give `order.clientProfileData.document: invalid type:
//! integer, expected a string`: the JSON path of the field (`serde_path_to_error`) and serde's
//! message with every quoted or backticked span and every long digit run removed.

use serde::de::DeserializeOwned;
use std::fmt;

/// Where a parse failed and why, without the value found there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The JSON path of the field (`order.items[0].price`), `.` for the document itself.
    pub path: String,
    /// What was wrong: the kind found and the kind expected, a missing field, a syntax error.
    pub problem: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() || self.path == "." {
            f.write_str(&self.problem)
        } else {
            write!(f, "{}: {}", self.path, self.problem)
        }
    }
}

impl std::error::Error for FieldError {}

/// `T` from a JSON value; the error names the field, never the value.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(value).map_err(|e| FieldError {
        path: e.path().to_string(),
        problem: without_values(&e.inner().to_string()),
    })
}

/// `T` from JSON text; the error names the field (or the position of a syntax error), never the
/// value.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, FieldError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| FieldError {
        path: e.path().to_string(),
        problem: without_values(&e.inner().to_string()),
    })?;
    de.end().map_err(|e| FieldError {
        path: ".".into(),
        problem: without_values(&e.to_string()),
    })?;
    Ok(value)
}

/// Digit runs this long or longer are values (documents, phones, postal codes, ids), never part
/// of what serde or our own parsers say about a type.
const LONGEST_KEPT_NUMBER: usize = 4;

/// `message` with every `` `…` ``, `"…"` and `'…'` span removed (serde quotes the value it found
/// that way, and unknown variants and fields), except our own names (a missing or duplicate
/// field, what was expected), and digit runs over [`LONGEST_KEPT_NUMBER`] replaced by `…`.
/// Positions (`at line 1 column 40`) stay.
pub fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        if matches!(c, '`' | '"' | '\'') {
            let mut span = String::new();
            for d in chars.by_ref() {
                if d == c {
                    break;
                }
                span.push(d);
            }
            // Our own names stay: the field serde found missing or twice, and what it expected
            // (serde's shape is "<what was found>, expected <what we want>").
            let ours = out.ends_with("missing field ")
                || out.ends_with("duplicate field ")
                || out.contains(", expected ");
            if ours {
                out.push(c);
                out.push_str(&span);
                out.push(c);
            } else if out.ends_with(' ') {
                out.pop();
            }
            continue;
        }
        if c.is_ascii_digit() {
            let mut run = String::from(c);
            while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                run.push(d);
                chars.next();
            }
            if run.len() > LONGEST_KEPT_NUMBER {
                out.push('…');
            } else {
                out.push_str(&run);
            }
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Client {
        document: Option<String>,
        phone: Option<String>,
        kind: Option<Kind>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    enum Kind {
        Person,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Order {
        client_profile_data: Client,
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Item {
        id: String,
        quantity: u32,
    }

    fn order(client: serde_json::Value, items: serde_json::Value) -> serde_json::Value {
        serde_json::json!({ "clientProfileData": client, "items": items })
    }

    #[test]
    fn a_number_where_text_is_expected_names_the_field_and_the_types_not_the_digits() {
        let e = from_value::<Order>(order(
            serde_json::json!({ "document": 14310315771u64 }),
            serde_json::json!([]),
        ))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "clientProfileData.document: invalid type: integer, expected a string"
        );
        let e = from_value::<Order>(order(
            serde_json::json!({ "phone": 41998718616u64 }),
            serde_json::json!([]),
        ))
        .unwrap_err();
        assert!(!e.to_string().contains("41998718616"), "{e}");
        assert!(
            e.to_string().starts_with("clientProfileData.phone: "),
            "{e}"
        );
    }

    #[test]
    fn text_where_a_number_or_a_variant_is_expected_is_not_quoted_either() {
        let e = from_value::<Order>(order(
            serde_json::json!({}),
            serde_json::json!([{ "id": "1", "quantity": "Rua Eduardo Carlos Pereira" }]),
        ))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "items[0].quantity: invalid type: string, expected u32"
        );
        let e = from_value::<Order>(order(
            serde_json::json!({ "kind": "conta@dominio.com.br" }),
            serde_json::json!([]),
        ))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "clientProfileData.kind: unknown variant, expected `Person`"
        );
    }

    #[test]
    fn missing_fields_and_syntax_errors_keep_their_names_and_positions() {
        let e = from_value::<Order>(serde_json::json!({ "items": [] })).unwrap_err();
        assert_eq!(e.to_string(), "missing field `clientProfileData`");
        let e = from_slice::<Order>(br#"{"items": [}"#).unwrap_err();
        assert!(e.to_string().contains("line 1 column"), "{e}");
        let e =
            from_slice::<Order>(br#"{"items": [], "clientProfileData": {}} 81020230"#).unwrap_err();
        assert!(!e.to_string().contains("81020230"), "{e}");
    }

    #[test]
    fn quoted_spans_and_long_numbers_go_short_numbers_stay() {
        assert_eq!(
            without_values("invalid value: string \"14310315771\", expected a CPF"),
            "invalid value: string, expected a CPF"
        );
        assert_eq!(
            without_values("quantity 9223372036854775807 is over 1000"),
            "quantity … is over 1000"
        );
        assert_eq!(
            without_values("invalid length 3, expected 2 at line 1 column 40"),
            "invalid length 3, expected 2 at line 1 column 40"
        );
    }
}
