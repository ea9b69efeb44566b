//! Inbound authentication settings (CONTRACT.md §4): which methods are configured and what a
//! presented credential is compared with. The HTTP side (reading the request) is
//! `lambda_kit::auth`; loading them at start is `aws_adapters::secrets::inbound_auth`.
//!
//! Comparisons are constant time. Nothing here prints a configured secret.

use std::fmt;
use subtle::ConstantTimeEq;

/// A secret string that never prints.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Option<Self> {
        let s = s.into();
        (!s.trim().is_empty()).then_some(Secret(s))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison with what a request presented.
    pub fn matches(&self, presented: &str) -> bool {
        // ct_eq on slices of different length returns false without early exit on content.
        self.0.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InboundAuth {
    pub path_secret: Option<Secret>,
    pub app_key: Option<Secret>,
    pub app_token: Option<Secret>,
}

impl InboundAuth {
    /// From `INBOUND_PATH_SECRET`, `INBOUND_APP_KEY`, `INBOUND_APP_TOKEN`. Functions deployed by the
    /// template receive them from Secrets Manager at start (see each `main.rs`).
    pub fn from_env() -> Self {
        let var = |n: &str| std::env::var(n).ok().and_then(Secret::new);
        InboundAuth {
            path_secret: var("INBOUND_PATH_SECRET"),
            app_key: var("INBOUND_APP_KEY"),
            app_token: var("INBOUND_APP_TOKEN"),
        }
    }

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
