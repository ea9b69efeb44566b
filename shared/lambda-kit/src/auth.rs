//! Inbound authentication (shared/docs/protocol.md §Authentication): a request passes if any
//! configured method passes.
//! 1. a secret path segment in the registered fulfillment endpoint (`…/{secret}/pvt/orders`), or a
//!    `?secret=` query parameter (the endpoint URL may carry one);
//! 2. `X-VTEX-API-AppKey` / `X-VTEX-API-AppToken` headers matching configured credentials;
//! 3. `Authorization: VTEX key="…" token="…"` with the same credentials.
//!
//! Comparisons are constant time. Nothing here logs a presented or configured secret.

use crate::error::ApiError;
use crate::http_util::{header, query_param};
use lambda_http::Request;

pub use domain::auth::{InboundAuth, Secret};

/// Checks a request against the configured methods.
pub trait RequestAuth {
    /// `Ok` when a configured method passes (or none is configured: local development only).
    fn check(&self, req: &Request) -> Result<(), ApiError>;
}

impl RequestAuth for InboundAuth {
    fn check(&self, req: &Request) -> Result<(), ApiError> {
        if self.is_open() || passes(self, req) {
            Ok(())
        } else {
            tracing::warn!(
                path_suffix = protocol_suffix(req.uri().path()),
                "inbound authentication failed"
            );
            Err(ApiError::Unauthorized)
        }
    }
}

fn passes(auth: &InboundAuth, req: &Request) -> bool {
    if let Some(secret) = &auth.path_secret {
        let in_path = segment_before_protocol(req.uri().path()).is_some_and(|s| secret.matches(s));
        let in_query = query_param(req, "secret").is_some_and(|q| secret.matches(&q));
        if in_path || in_query {
            return true;
        }
    }
    if let (Some(key), Some(token)) = (&auth.app_key, &auth.app_token) {
        // `&` rather than `&&`: evaluate both so timing does not reveal which one failed.
        let headers = match (
            header(req, "x-vtex-api-appkey"),
            header(req, "x-vtex-api-apptoken"),
        ) {
            (Some(k), Some(t)) => key.matches(k) & token.matches(t),
            _ => false,
        };
        let authorization = header(req, "authorization")
            .and_then(parse_vtex_authorization)
            .is_some_and(|(k, t)| key.matches(&k) & token.matches(&t));
        return headers || authorization;
    }
    false
}

/// The segment just before `pvt`/`pub`/`admin`: where a secret sits in `…/{secret}/pvt/orders`.
fn segment_before_protocol(path: &str) -> Option<&str> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let pos = segs
        .iter()
        .rposition(|s| matches!(*s, "pvt" | "pub" | "admin"))?;
    pos.checked_sub(1).map(|i| segs[i])
}

/// The protocol part of a path (from `pvt`/`pub`/`admin` on), safe to log: no secret segment.
pub fn protocol_suffix(path: &str) -> &str {
    ["/pvt/", "/pub/", "/admin/"]
        .iter()
        .filter_map(|m| path.rfind(m))
        .max()
        .map_or("", |i| &path[i..])
}

/// `VTEX key="abc" token="xyz"` (quotes optional, any order, comma or space separated).
fn parse_vtex_authorization(value: &str) -> Option<(String, String)> {
    let rest = value.trim().strip_prefix("VTEX")?.trim();
    let mut key = None;
    let mut token = None;
    for part in rest.split([',', ' ']).filter(|p| !p.is_empty()) {
        let (name, v) = part.split_once('=')?;
        let v = v.trim().trim_matches('"').to_string();
        match name.trim().to_ascii_lowercase().as_str() {
            "key" => key = Some(v),
            "token" => token = Some(v),
            _ => {}
        }
    }
    Some((key?, token?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(path: &str, headers: &[(&str, &str)]) -> Request {
        let mut b = http::Request::builder().uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(lambda_http::Body::Empty).unwrap()
    }

    fn auth() -> InboundAuth {
        InboundAuth {
            path_secret: Secret::new("s3cr3t"),
            app_key: Secret::new("vtexappkey-x"),
            app_token: Secret::new("TOKEN"),
        }
    }

    #[test]
    fn path_secret_segment_passes() {
        assert!(auth().check(&req("/vtex/s3cr3t/pvt/orders", &[])).is_ok());
        assert!(auth().check(&req("/vtex/wrong/pvt/orders", &[])).is_err());
        assert!(auth().check(&req("/pvt/orders", &[])).is_err());
    }

    #[test]
    fn query_secret_passes() {
        assert!(
            auth()
                .check(&req("/pvt/orders?secret=s3cr3t&an=x", &[]))
                .is_ok()
        );
        assert!(auth().check(&req("/pvt/orders?secret=s3cr3", &[])).is_err());
    }

    #[test]
    fn app_key_headers_pass() {
        let ok = req(
            "/pvt/orders",
            &[
                ("X-VTEX-API-AppKey", "vtexappkey-x"),
                ("X-VTEX-API-AppToken", "TOKEN"),
            ],
        );
        assert!(auth().check(&ok).is_ok());
        let bad = req(
            "/pvt/orders",
            &[
                ("X-VTEX-API-AppKey", "vtexappkey-x"),
                ("X-VTEX-API-AppToken", "nope"),
            ],
        );
        assert!(auth().check(&bad).is_err());
    }

    #[test]
    fn vtex_authorization_header_passes() {
        let ok = req(
            "/pvt/orders",
            &[("Authorization", r#"VTEX key="vtexappkey-x" token="TOKEN""#)],
        );
        assert!(auth().check(&ok).is_ok());
        let bad = req(
            "/pvt/orders",
            &[("Authorization", r#"VTEX key="vtexappkey-x" token="T""#)],
        );
        assert!(auth().check(&bad).is_err());
        let other = req("/pvt/orders", &[("Authorization", "Bearer TOKEN")]);
        assert!(auth().check(&other).is_err());
    }

    #[test]
    fn open_when_nothing_configured() {
        assert!(
            InboundAuth::default()
                .check(&req("/pvt/orders", &[]))
                .is_ok()
        );
    }

    #[test]
    fn in_lambda_nothing_configured_is_an_init_error_naming_what_is_missing() {
        let err = InboundAuth::default().require_in_lambda(true).unwrap_err();
        assert!(err.contains("refusing to start in Lambda"), "{err}");
        assert!(err.contains("INBOUND_AUTH_SECRET_ARN"), "{err}");
        assert!(err.contains("pathSecret"), "{err}");
    }

    #[test]
    fn in_lambda_an_app_key_without_token_is_not_configured() {
        let half = InboundAuth {
            app_key: Secret::new("vtexappkey-x"),
            ..InboundAuth::default()
        };
        let err = half.require_in_lambda(true).unwrap_err();
        assert!(
            err.contains("app key is set without its app token"),
            "{err}"
        );
        let other_half = InboundAuth {
            app_token: Secret::new("TOKEN"),
            ..InboundAuth::default()
        };
        let err = other_half.require_in_lambda(true).unwrap_err();
        assert!(
            err.contains("app token is set without its app key"),
            "{err}"
        );
    }

    #[test]
    fn in_lambda_any_complete_method_starts() {
        let path_only = InboundAuth {
            path_secret: Secret::new("s3cr3t"),
            ..InboundAuth::default()
        };
        assert!(path_only.require_in_lambda(true).is_ok());
        let key_only = InboundAuth {
            app_key: Secret::new("vtexappkey-x"),
            app_token: Secret::new("TOKEN"),
            ..InboundAuth::default()
        };
        assert!(key_only.require_in_lambda(true).is_ok());
        assert_eq!(auth().require_in_lambda(true), Ok(auth()));
    }

    #[test]
    fn outside_lambda_open_auth_still_starts() {
        assert_eq!(
            InboundAuth::default().require_in_lambda(false),
            Ok(InboundAuth::default())
        );
    }

    #[test]
    fn secret_never_prints() {
        let s = format!("{:?}", auth());
        assert!(!s.contains("s3cr3t") && !s.contains("TOKEN"));
    }

    #[test]
    fn loggable_suffix_drops_secret() {
        assert_eq!(
            protocol_suffix("/vtex/s3cr3t/pvt/orders/1/fulfill"),
            "/pvt/orders/1/fulfill"
        );
    }
}
