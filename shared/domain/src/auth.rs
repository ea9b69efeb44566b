//! Inbound authentication settings (shared/docs/protocol.md §Authentication): which methods are
//! configured and what a presented credential is compared with. The HTTP side (reading the request)
//! is `lambda_kit::auth`; reading them from the environment `lambda_kit::config::Inbound`, from
//! Secrets Manager at start `aws_adapters::secrets::inbound_auth`.
//!
//! Comparisons are constant time. Nothing here prints a configured secret.

use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use subtle::ConstantTimeEq;

/// A secret string that never prints ([`SecretString`]: zeroed when dropped). During a rotation it
/// also accepts the value it replaces ([`Secret::with_previous`]): requests presenting either
/// pass, while everything the connector hands out (the mse URL of an imported order) carries the
/// current one.
#[derive(Clone, Default)]
pub struct Secret {
    current: SecretString,
    previous: Option<SecretString>,
}

/// Equal values (configurations compared in tests); requests are checked by [`Secret::matches`].
impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        let previous = |s: &Self| s.previous.as_ref().map(|p| p.expose_secret().to_owned());
        self.expose() == other.expose() && previous(self) == previous(other)
    }
}

impl Eq for Secret {}

impl Secret {
    pub fn new(s: impl Into<String>) -> Option<Self> {
        let s = s.into();
        (!s.trim().is_empty()).then(|| Secret {
            current: SecretString::from(s),
            previous: None,
        })
    }

    /// Also accepts `previous` (the value being rotated out), if any and different.
    pub fn with_previous(mut self, previous: Option<Secret>) -> Self {
        self.previous = previous
            .map(|p| p.current)
            .filter(|p| p.expose_secret() != self.expose());
        self
    }

    /// The current value.
    pub fn expose(&self) -> &str {
        self.current.expose_secret()
    }

    /// Whether a previous value is still accepted (a rotation is under way).
    pub fn rotating(&self) -> bool {
        self.previous.is_some()
    }

    /// Constant-time comparison with what a request presented: the current value or, during a
    /// rotation, the previous one (both are always compared).
    pub fn matches(&self, presented: &str) -> bool {
        // ct_eq on slices of different length returns false without early exit on content.
        let current: bool = self.expose().as_bytes().ct_eq(presented.as_bytes()).into();
        let previous: bool = self.previous.as_ref().is_some_and(|p| {
            p.expose_secret()
                .as_bytes()
                .ct_eq(presented.as_bytes())
                .into()
        });
        current | previous
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Where VTEX app credentials come from (read by `lambda_kit::config::credential_source`, loaded
/// by `aws_adapters::secrets::vtex_credentials`): the secret named by the variable `arn_var`, else
/// the plain `VTEX_APP_KEY` / `VTEX_APP_TOKEN` (local runs and tools).
#[derive(Clone, Default)]
pub struct CredentialSource {
    pub arn_var: &'static str,
    pub arn: Option<String>,
    pub app_key: Option<String>,
    pub app_token: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InboundAuth {
    pub path_secret: Option<Secret>,
    pub app_key: Option<Secret>,
    pub app_token: Option<Secret>,
}

impl InboundAuth {
    /// No method configured: every request passes (local development only).
    pub fn is_open(&self) -> bool {
        self.path_secret.is_none() && (self.app_key.is_none() || self.app_token.is_none())
    }

    /// What is missing when no method is configured (`None` when one is): an app key without its
    /// token (or the reverse) is not a method.
    pub fn missing(&self) -> Option<String> {
        if !self.is_open() {
            return None;
        }
        let half = match (&self.app_key, &self.app_token) {
            (Some(_), None) => " (an app key is set without its app token)",
            (None, Some(_)) => " (an app token is set without its app key)",
            _ => "",
        };
        Some(format!(
            "no inbound authentication is configured{half}: set INBOUND_AUTH_SECRET_ARN to a secret \
             with \"pathSecret\" and/or \"appKey\" + \"appToken\" (or, outside Lambda, \
             INBOUND_PATH_SECRET / INBOUND_APP_KEY + INBOUND_APP_TOKEN)"
        ))
    }

    /// Fail closed once deployed: inside Lambda (`in_lambda`, i.e. `AWS_LAMBDA_FUNCTION_NAME` is
    /// set) an open configuration is an init error naming what is missing, so a function never
    /// serves VTEX's endpoint unauthenticated. Outside Lambda (tests, tools) it passes unchanged;
    /// the local runner warns that authentication is off.
    pub fn require_in_lambda(self, in_lambda: bool) -> Result<Self, String> {
        match self.missing() {
            Some(missing) if in_lambda => Err(format!("refusing to start in Lambda: {missing}")),
            _ => Ok(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn during_a_rotation_both_values_pass_and_the_current_one_is_handed_out() {
        let s = Secret::new("new-Value-9f").unwrap();
        assert!(s.matches("new-Value-9f") && !s.matches("old-Value-3a") && !s.rotating());
        let s = s.with_previous(Secret::new("old-Value-3a"));
        assert!(s.matches("new-Value-9f"));
        assert!(s.matches("old-Value-3a"));
        assert!(!s.matches("guess") && !s.matches("") && !s.matches("new-Value-9"));
        assert!(s.rotating());
        assert_eq!(s.expose(), "new-Value-9f");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        // No previous, or the same value again, is no rotation.
        let s = Secret::new("v").unwrap().with_previous(None);
        assert!(!s.rotating());
        let s = Secret::new("v").unwrap().with_previous(Secret::new("v"));
        assert!(!s.rotating());
    }
}
