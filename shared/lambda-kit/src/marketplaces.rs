//! The inbound side of the marketplace registry ([`domain::marketplaces`]): a placement, fulfill or
//! cancel naming a marketplace account (`an`, query string, else `DEFAULT_AN`) that is not
//! registered in this stack, or is disabled, is refused before the handler runs, with `403` and
//! VTEX's envelope, code `MKP001`. Such an order could never be invoiced (no credentials for its
//! account), so it must not reserve stock either.
//!
//! The simulation, the operator view and the mse route are not checked: a simulation only reads
//! (and VTEX's budget for it is short), the admin view is ours, mse calls come from our own
//! account.

use crate::{ApiError, Route, query_or};
use domain::marketplaces::{MarketplaceRegistry, resolve};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

/// The refusal of `req` when its route names a marketplace account the registry does not accept;
/// `None` to let it through. A registry that cannot be read answers 503 (VTEX retries).
pub async fn refuse_unregistered(
    registry: &dyn MarketplaceRegistry,
    default_an: &Option<String>,
    req: &Request,
) -> Option<Response<Body>> {
    match Route::match_path(req.uri().path()) {
        Some(Route::PlaceOrders | Route::Fulfill(_) | Route::Cancel(_)) => {}
        _ => return None,
    }
    let an = query_or(req, "an", default_an).unwrap_or_default();
    match resolve(registry, &an).await {
        Ok(Ok(_)) => None,
        Ok(Err(refusal)) => {
            let mut resp = ApiError::bad_request("MKP001", refusal.to_string()).into_response();
            *resp.status_mut() = StatusCode::FORBIDDEN;
            Some(resp)
        }
        Err(e) => Some(ApiError::from(e).into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::marketplaces::{AccountName, Marketplace, MemoryRegistry};

    fn request(path_and_query: &str) -> Request {
        let mut req = Request::new(Body::Empty);
        *req.uri_mut() = format!("https://x{path_and_query}").parse().unwrap();
        req
    }

    async fn body(resp: Response<Body>) -> serde_json::Value {
        serde_json::from_slice(resp.body().as_ref()).unwrap()
    }

    #[tokio::test]
    async fn an_unregistered_or_disabled_account_is_refused_with_vtex_s_envelope() {
        let mut off = Marketplace::new(AccountName::parse("off").unwrap(), "1", "s");
        off.enabled = false;
        let registry = MemoryRegistry::with([
            Marketplace::new(AccountName::parse("home").unwrap(), "1", "s"),
            off,
        ]);
        let default = Some("home".to_string());
        for ok in [
            "/pvt/orders?an=home",
            "/pvt/orders",
            "/p/pvt/orders/SO-1/fulfill?an=HOME",
            "/pvt/orderForms/simulation?an=third",
            "/admin/orders/SO-1?an=third",
        ] {
            assert!(
                refuse_unregistered(&registry, &default, &request(ok))
                    .await
                    .is_none(),
                "{ok}"
            );
        }
        for (refused, says) in [
            ("/pvt/orders?an=third", "not registered"),
            ("/pvt/orders/SO-1/fulfill?an=off", "disabled"),
            ("/pvt/orders/SO-1/cancel?an=third", "not registered"),
            ("/pvt/orders?an=evil.com", "host label"),
        ] {
            let resp = refuse_unregistered(&registry, &default, &request(refused))
                .await
                .unwrap_or_else(|| panic!("{refused} passed"));
            assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{refused}");
            let v = body(resp).await;
            assert_eq!(v["error"]["code"], "MKP001");
            assert!(
                v["error"]["message"].as_str().unwrap().contains(says),
                "{refused}: {v}"
            );
        }
        // No an and no default: refused too (nothing could be sent for it).
        assert!(
            refuse_unregistered(&registry, &None, &request("/pvt/orders"))
                .await
                .is_some()
        );
    }
}
