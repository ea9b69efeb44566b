//! Placeholders for expression attribute names and values. Every attribute name goes through a
//! placeholder (so reserved words like `data` or `status` never matter), and a placeholder exists
//! only when an expression asked for it: DynamoDB rejects both undefined and unused ones.

use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

#[derive(Debug, Default)]
pub(crate) struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    /// The placeholder (`#nK`) of attribute or map key `attr`; the same `attr` gets the same one.
    pub(crate) fn name(&mut self, attr: &str) -> String {
        if let Some((placeholder, _)) = self.names.iter().find(|(_, a)| a.as_str() == attr) {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), attr.to_string());
        placeholder
    }

    /// A dotted document path, each segment through a placeholder: `path(&["stock", loc, "onHand"])`.
    pub(crate) fn path(&mut self, segments: &[&str]) -> String {
        segments
            .iter()
            .map(|seg| self.name(seg))
            .collect::<Vec<_>>()
            .join(".")
    }

    pub(crate) fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    /// `None` when empty: DynamoDB refuses an empty map.
    pub(crate) fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    pub(crate) fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// Problems DynamoDB would reject (and moto partly accepts): a `#name` / `:value` used but not
/// defined, or defined but unused by any of `expressions`.
#[cfg(test)]
pub(crate) fn placeholder_problems(
    expressions: &[Option<&str>],
    names: Option<&HashMap<String, String>>,
    values: Option<&HashMap<String, AttributeValue>>,
) -> Vec<String> {
    let mut used = std::collections::HashSet::new();
    for expr in expressions.iter().flatten() {
        let mut token = String::new();
        for c in expr.chars().chain(std::iter::once(' ')) {
            if c == '#' || c == ':' {
                token = c.to_string();
            } else if !token.is_empty() && (c.is_ascii_alphanumeric() || c == '_') {
                token.push(c);
            } else if !token.is_empty() {
                used.insert(std::mem::take(&mut token));
            }
        }
    }
    let mut problems = Vec::new();
    let defined: Vec<&String> = names
        .into_iter()
        .flat_map(|m| m.keys())
        .chain(values.into_iter().flat_map(|m| m.keys()))
        .collect();
    for u in &used {
        if !defined.contains(&u) {
            problems.push(format!("{u} used but not defined"));
        }
    }
    for d in defined {
        if !used.contains(d) {
            problems.push(format!("{d} defined but unused"));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_name_reuses_its_placeholder_and_values_are_distinct() {
        let mut e = Expr::default();
        let a = e.path(&["stock", "w1", "reserved"]);
        let b = e.path(&["stock", "w1", "available"]);
        assert_eq!(a, "#n0.#n1.#n2");
        assert_eq!(b, "#n0.#n1.#n3");
        let v1 = e.value(AttributeValue::N("1".into()));
        let v2 = e.value(AttributeValue::N("1".into()));
        assert_ne!(v1, v2);
        let expr = format!("SET {a} = {a} + {v1}, {b} = {b} - {v2}");
        assert!(
            placeholder_problems(&[Some(&expr)], e.names().as_ref(), e.values().as_ref())
                .is_empty()
        );
    }

    #[test]
    fn checker_finds_undefined_and_unused_placeholders() {
        let mut e = Expr::default();
        let a = e.name("a");
        e.name("unused");
        let problems = placeholder_problems(
            &[Some(&format!("{a} = :nope"))],
            e.names().as_ref(),
            e.values().as_ref(),
        );
        assert_eq!(problems.len(), 2, "{problems:?}");
    }
}
