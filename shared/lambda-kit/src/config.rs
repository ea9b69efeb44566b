//! Reading a function's settings from its environment (or from a map, in tests).

/// Settings from a lookup (`std::env::var`, or a map in tests). A value is trimmed; an empty one
/// counts as unset, as CloudFormation writes an unset parameter as `""`.
pub struct Settings<F>(F);

impl<F: Fn(&str) -> Option<String>> Settings<F> {
    pub fn new(get: F) -> Self {
        Settings(get)
    }

    /// The trimmed value of `key`, `None` when unset or blank.
    pub fn value(&self, key: &str) -> Option<String> {
        (self.0)(key)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// `key` as a whole number, `default` when unset; the message names the key and the value
    /// when it is not one.
    pub fn number(&self, key: &str, default: u64) -> Result<u64, String> {
        match self.value(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("{key} must be a whole number, got {v:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(
        pairs: &'static [(&'static str, &'static str)],
    ) -> Settings<impl Fn(&str) -> Option<String>> {
        Settings::new(move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn blank_values_count_as_unset_and_values_are_trimmed() {
        let s = settings(&[("A", "  x "), ("B", "   "), ("C", "")]);
        assert_eq!(s.value("A").as_deref(), Some("x"));
        assert_eq!(s.value("B"), None);
        assert_eq!(s.value("C"), None);
        assert_eq!(s.value("D"), None);
    }

    #[test]
    fn numbers_default_when_unset_and_refuse_garbage_naming_the_key() {
        let s = settings(&[
            ("N", " 42 "),
            ("BAD", "soon"),
            ("NEG", "-1"),
            ("BLANK", " "),
        ]);
        assert_eq!(s.number("N", 7), Ok(42));
        assert_eq!(s.number("MISSING", 7), Ok(7));
        assert_eq!(s.number("BLANK", 7), Ok(7));
        assert_eq!(
            s.number("BAD", 7),
            Err("BAD must be a whole number, got \"soon\"".to_string())
        );
        assert!(s.number("NEG", 7).is_err());
    }
}
