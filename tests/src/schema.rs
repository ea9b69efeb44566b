//! Validates our JSON against the response schemas of VTEX's official OpenAPI files.
//!
//! The files live beside the repository (`$VTEX_OPENAPI_DIR`, by default
//! `../shared/protocol/openapi`) and are never copied into it. When they are absent (a user's fresh
//! clone) the check prints that it was skipped and passes.
//!
//! OpenAPI 3.0 schemas are not quite JSON Schema, so each one is translated before validation:
//! - `#/components/schemas/X` references become `#/definitions/X`, with every component schema
//!   (translated too) under `definitions`; the result is validated as draft 4, whose semantics
//!   (siblings of `$ref` ignored, boolean `exclusiveMinimum`) are the ones OpenAPI 3.0 uses;
//! - `nullable: true` adds `null` to the allowed types (or wraps a `$ref` in `anyOf [ref, null]`);
//! - a property whose description tells the sender to use `null` ("use the value null", "should be
//!   nulled", "may be sent as `null`") is nullable too: VTEX's files often say so only in prose;
//! - in strict mode, objects that declare `properties` refuse undeclared ones, so a response can be
//!   checked to carry exactly the documented field set.

use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Where VTEX's OpenAPI files are: `$VTEX_OPENAPI_DIR`, else `../shared/protocol/openapi` next to
/// the workspace. `None` when that folder does not exist.
pub fn openapi_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("VTEX_OPENAPI_DIR")
        .map(PathBuf::from)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/protocol/openapi")
        });
    dir.is_dir().then_some(dir)
}

/// Where the protocol's example bodies are: `$VTEX_EXAMPLES_DIR`, else
/// `../shared/protocol/examples` next to the workspace. `None` when absent.
pub fn examples_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("VTEX_EXAMPLES_DIR")
        .map(PathBuf::from)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/protocol/examples")
        });
    dir.is_dir().then_some(dir)
}

/// An example body by file name (e.g. `simulation-checkout.request.json`), or `None` (after printing
/// that it was skipped) when the examples folder is absent.
pub fn example(name: &str) -> Option<Value> {
    let Some(dir) = examples_dir() else {
        eprintln!("skipped: example {name}: VTEX examples folder not found");
        return None;
    };
    let text =
        std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("example {name}: {e}"));
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("example {name}: {e}")))
}

/// Loaded spec files, parsed once per test binary.
fn spec(file: &Path) -> Result<Arc<Value>, String> {
    static SPECS: OnceLock<Mutex<HashMap<PathBuf, Arc<Value>>>> = OnceLock::new();
    let cache = SPECS.get_or_init(Default::default);
    if let Some(v) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(file) {
        return Ok(v.clone());
    }
    let text =
        std::fs::read_to_string(file).map_err(|e| format!("reading {}: {e}", file.display()))?;
    let value: Value =
        serde_json::from_str(&text).map_err(|e| format!("parsing {}: {e}", file.display()))?;
    let value = Arc::new(value);
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(file.to_path_buf(), value.clone());
    Ok(value)
}

/// Checks `body` against the response schema of `method path` for `status` in `spec_file` (a file
/// name inside [`openapi_dir`], e.g. `external-seller-fulfillment.json`). `Ok` when valid, or when
/// the folder is absent (a "skipped" line is printed). Each error is `"<json pointer>: <problem>"`.
pub fn validate_response(
    spec_file: &str,
    method: &str,
    path: &str,
    status: u16,
    body: &Value,
) -> Result<(), Vec<String>> {
    check(spec_file, method, path, status, body, false)
}

/// Like [`validate_response`], and also refuses properties the schema does not declare.
pub fn validate_response_strict(
    spec_file: &str,
    method: &str,
    path: &str,
    status: u16,
    body: &Value,
) -> Result<(), Vec<String>> {
    check(spec_file, method, path, status, body, true)
}

/// Panics with every schema violation of `body`.
pub fn assert_valid_response(spec_file: &str, method: &str, path: &str, status: u16, body: &Value) {
    if let Err(errors) = validate_response(spec_file, method, path, status, body) {
        panic!(
            "{method} {path} {status}: body does not match {spec_file}:\n  {}\nbody: {body}",
            errors.join("\n  ")
        );
    }
}

/// Panics with every schema violation of `body`, undeclared properties included.
pub fn assert_valid_response_strict(
    spec_file: &str,
    method: &str,
    path: &str,
    status: u16,
    body: &Value,
) {
    if let Err(errors) = validate_response_strict(spec_file, method, path, status, body) {
        panic!(
            "{method} {path} {status}: body does not match {spec_file} (strict):\n  {}\nbody: {body}",
            errors.join("\n  ")
        );
    }
}

fn check(
    spec_file: &str,
    method: &str,
    path: &str,
    status: u16,
    body: &Value,
    strict: bool,
) -> Result<(), Vec<String>> {
    let Some(dir) = openapi_dir() else {
        eprintln!("skipped: schema check of {method} {path}: VTEX OpenAPI folder not found");
        return Ok(());
    };
    let spec = spec(&dir.join(spec_file)).map_err(|e| vec![e])?;
    let schema = response_schema(&spec, method, path, status, strict).map_err(|e| vec![e])?;
    validate(&schema, body)
}

/// Validates `instance` against an already translated draft-4 schema.
pub fn validate(schema: &Value, instance: &Value) -> Result<(), Vec<String>> {
    let validator = jsonschema::draft4::new(schema)
        .map_err(|e| vec![format!("schema does not compile: {e}")])?;
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| {
            let at = e.instance_path().to_string();
            format!("{}: {e}", if at.is_empty() { "/" } else { &at })
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The translated, self-contained JSON Schema of one response of one operation.
pub fn response_schema(
    spec: &Value,
    method: &str,
    path: &str,
    status: u16,
    strict: bool,
) -> Result<Value, String> {
    let operation = spec
        .pointer(&format!("/paths/{}", escape(path)))
        .and_then(|p| p.get(method.to_ascii_lowercase()))
        .ok_or_else(|| format!("the spec has no operation {method} {path}"))?;
    let responses = operation
        .get("responses")
        .ok_or_else(|| format!("{method} {path} declares no responses"))?;
    let response = responses
        .get(status.to_string())
        .or_else(|| responses.get(format!("{}XX", status / 100)))
        .or_else(|| responses.get("default"))
        .ok_or_else(|| format!("{method} {path} declares no {status} response"))?;
    let response = resolve(spec, response)?;
    let schema = response
        .pointer("/content/application~1json/schema")
        .ok_or_else(|| format!("{method} {path} {status} has no application/json schema"))?;
    let mut root = translate(schema, strict);
    let definitions: Map<String, Value> = spec
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), translate(v, strict)))
                .collect()
        })
        .unwrap_or_default();
    match &mut root {
        Value::Object(m) => {
            m.insert("definitions".into(), Value::Object(definitions));
            Ok(root)
        }
        _ => Err(format!("{method} {path} {status}: schema is not an object")),
    }
}

/// Follows a `#/components/responses/...` style reference at the response level.
fn resolve<'a>(spec: &'a Value, v: &'a Value) -> Result<&'a Value, String> {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r
                .strip_prefix('#')
                .ok_or_else(|| format!("external reference {r} is not supported"))?;
            spec.pointer(pointer)
                .ok_or_else(|| format!("dangling reference {r}"))
        }
        None => Ok(v),
    }
}

fn escape(path: &str) -> String {
    path.replace('~', "~0").replace('/', "~1")
}

/// Whether a description tells the sender to use `null` for the field.
fn prose_says_nullable(schema: &Map<String, Value>) -> bool {
    let text = schema
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let bytes = text.as_bytes();
    text.match_indices("null").any(|(i, _)| {
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i + 4).copied();
        let word_start = before.is_none_or(|c| !c.is_ascii_alphanumeric());
        let word_end = after.is_none_or(|c| !c.is_ascii_alphanumeric() || c == b'e');
        word_start && word_end
    })
}

/// OpenAPI 3.0 schema → draft-4 JSON Schema (see the module docs).
pub fn translate(schema: &Value, strict: bool) -> Value {
    match schema {
        Value::Object(m) => {
            let nullable =
                m.get("nullable").and_then(Value::as_bool) == Some(true) || prose_says_nullable(m);
            if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                let target = r.replace("#/components/schemas/", "#/definitions/");
                let reference = json!({ "$ref": target });
                return if nullable {
                    json!({ "anyOf": [reference, { "type": "null" }] })
                } else {
                    reference
                };
            }
            let mut out = Map::new();
            for (k, v) in m {
                let v = match k.as_str() {
                    "nullable" | "example" | "examples" | "discriminator" | "xml"
                    | "externalDocs" | "deprecated" | "readOnly" | "writeOnly" => continue,
                    "properties" | "patternProperties" | "definitions" => match v {
                        Value::Object(props) => Value::Object(
                            props
                                .iter()
                                .map(|(name, s)| (name.clone(), translate(s, strict)))
                                .collect(),
                        ),
                        other => other.clone(),
                    },
                    "items" | "additionalProperties" | "not" => translate(v, strict),
                    "allOf" | "anyOf" | "oneOf" => match v {
                        Value::Array(list) => {
                            Value::Array(list.iter().map(|s| translate(s, strict)).collect())
                        }
                        other => other.clone(),
                    },
                    _ => v.clone(),
                };
                out.insert(k.clone(), v);
            }
            if strict && out.contains_key("properties") && !out.contains_key("additionalProperties")
            {
                out.insert("additionalProperties".into(), Value::Bool(false));
            }
            if nullable {
                match out.get("type").cloned() {
                    Some(Value::String(t)) => {
                        out.insert("type".into(), json!([t, "null"]));
                    }
                    Some(Value::Array(mut ts)) => {
                        if !ts.contains(&json!("null")) {
                            ts.push(json!("null"));
                        }
                        out.insert("type".into(), Value::Array(ts));
                    }
                    _ => {}
                }
                if let Some(Value::Array(values)) = out.get_mut("enum")
                    && !values.contains(&Value::Null)
                {
                    values.push(Value::Null);
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_admits_null_and_nothing_else_new() {
        let s = translate(&json!({"type": "string", "nullable": true}), false);
        assert!(validate(&s, &json!(null)).is_ok());
        assert!(validate(&s, &json!("x")).is_ok());
        assert!(validate(&s, &json!(1)).is_err());
    }

    #[test]
    fn prose_null_counts_as_nullable_but_other_words_do_not() {
        let said = translate(
            &json!({"type": "string", "description": "If you don't want to send it, use the value null."}),
            false,
        );
        assert!(validate(&said, &json!(null)).is_ok());
        let nulled = translate(
            &json!({"type": "string", "description": "Should be nulled if…"}),
            false,
        );
        assert!(validate(&nulled, &json!(null)).is_ok());
        let unrelated = translate(
            &json!({"type": "string", "description": "Nullify the annulled."}),
            false,
        );
        assert!(validate(&unrelated, &json!(null)).is_err());
    }

    #[test]
    fn component_references_resolve_and_strict_mode_refuses_extra_fields() {
        let spec = json!({
            "paths": {"/x/{id}": {"post": {"responses": {"200": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Thing"}}}}}}}},
            "components": {"schemas": {"Thing": {
                "type": "object", "required": ["n"],
                "properties": {"n": {"type": "integer"}, "child": {"$ref": "#/components/schemas/Child", "nullable": true}}
            }, "Child": {"type": "object", "properties": {"ok": {"type": "boolean"}}}}}
        });
        let lax = response_schema(&spec, "POST", "/x/{id}", 200, false).unwrap();
        let strict = response_schema(&spec, "POST", "/x/{id}", 200, true).unwrap();
        assert!(validate(&lax, &json!({"n": 1, "child": null})).is_ok());
        assert!(validate(&lax, &json!({"n": 1, "child": {"ok": true}, "extra": 1})).is_ok());
        assert!(validate(&strict, &json!({"n": 1, "extra": 1})).is_err());
        let errors = validate(&lax, &json!({"child": {"ok": "yes"}})).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().any(|e| e.starts_with("/child")), "{errors:?}");
        assert!(response_schema(&spec, "GET", "/x/{id}", 200, false).is_err());
        assert!(response_schema(&spec, "POST", "/x/{id}", 404, false).is_err());
    }
}
