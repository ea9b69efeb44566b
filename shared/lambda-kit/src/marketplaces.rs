//! The inbound side of the marketplace registry ([`domain::marketplaces`]): a placement, fulfill or
//! cancel naming a marketplace account (`an`, query string, else `DEFAULT_AN`) that is not
//! registered in this stack, or is disabled, is refused before the handler runs, with `403` and
//! VTEX's envelope, code `MKP001`. Such an order could never be invoiced (no credentials for its
//! account), so it must not reserve stock either.
//!
//! The simulation is checked by its own handler ([`served`]), after it has read the `an` from the
//! query, the body or `DEFAULT_AN`, against the cached list (a map lookup: VTEX's budget for a
//! simulation is short). The operator view and the mse route are not checked: the admin view is
//! ours, mse calls come from our own account.

use crate::{ApiError, Route, query_or};
use domain::marketplaces::{
    AccountName, CachedRegistry, Marketplace, MarketplaceRegistry, Refusal, admit, resolve,
};
use lambda_http::{Body, Request, Response};
use std::collections::BTreeMap;
use std::sync::Arc;

fn refused(refusal: Refusal) -> ApiError {
    ApiError::Forbidden {
        code: "MKP001",
        message: refusal.to_string(),
    }
}

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
        Ok(Err(refusal)) => Some(refused(refusal).into_response()),
        Err(e) => Some(ApiError::from(e).into_response()),
    }
}

/// The registered, enabled marketplace a simulation is quoted for, borrowed from the cached list
/// (nothing is cloned per request).
pub struct Served {
    entries: Arc<BTreeMap<AccountName, Marketplace>>,
    account: AccountName,
}

impl Served {
    pub fn marketplace(&self) -> &Marketplace {
        // `served` only builds a `Served` for an account it found in `entries`.
        &self.entries[&self.account]
    }

    /// Our price list for this marketplace's sales channel `sc`
    /// ([`Marketplace::price_list_for`]); `None` when the request has no `sc`.
    pub fn price_list<'a>(&'a self, sc: Option<&'a str>) -> Option<&'a str> {
        sc.map(|sc| self.marketplace().price_list_for(sc))
    }
}

/// The marketplace the account `an` (already resolved: query, body, then `DEFAULT_AN`) names, or
/// the simulation's refusal: `403 MKP001` when it is not registered, disabled or no account name;
/// `503` when the registry was never read and cannot be now (a list read once keeps answering
/// through a store outage, [`CachedRegistry::entries`]). After the first read this is a map
/// lookup: the list is read again at most once per cache period.
pub async fn served(registry: &CachedRegistry, an: Option<&str>) -> Result<Served, ApiError> {
    let account =
        AccountName::parse(an.unwrap_or_default()).map_err(|why| refused(Refusal::Invalid(why)))?;
    let entries = registry.entries().await.map_err(ApiError::from)?;
    admit(&account, entries.get(&account)).map_err(refused)?;
    Ok(Served { entries, account })
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::marketplaces::{MemoryRegistry, PriceList};
    use lambda_http::http::StatusCode;

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

    #[tokio::test]
    async fn a_simulation_is_served_only_for_an_enabled_account_with_its_price_list() {
        let mut lux = Marketplace::new(AccountName::parse("lux").unwrap(), "1", "s");
        lux.price_lists = vec![PriceList {
            sales_channel: "1".into(),
            price_list: "lux-1".into(),
        }];
        let mut off = Marketplace::new(AccountName::parse("off").unwrap(), "1", "s");
        off.enabled = false;
        let table = MemoryRegistry::with([lux, off]);
        let builtin = Marketplace::new(AccountName::parse("home").unwrap(), "1", "s");
        let registry = CachedRegistry::new(
            Arc::new(table.clone()),
            Some(builtin),
            std::time::Duration::from_secs(3600),
        );
        let lux = served(&registry, Some("LUX")).await.unwrap();
        assert_eq!(lux.price_list(Some("1")), Some("lux-1"));
        assert_eq!(
            lux.price_list(Some("2")),
            Some("2"),
            "unmapped: the channel"
        );
        assert_eq!(lux.price_list(None), None);
        let home = served(&registry, Some("home")).await.unwrap();
        assert_eq!(home.price_list(Some("1")), Some("1"));
        for (an, says) in [
            (Some("third"), "not registered"),
            (Some("off"), "disabled"),
            (None, "is empty"),
            (Some("evil.com"), "host label"),
        ] {
            let Err(e) = served(&registry, an).await else {
                panic!("{an:?} served");
            };
            let resp = e.into_response();
            assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{an:?}");
            let v = body(resp).await;
            assert_eq!(v["error"]["code"], "MKP001");
            assert!(
                v["error"]["message"].as_str().unwrap().contains(says),
                "{an:?}: {v}"
            );
        }
        // Within the cache period an account registered since is not seen: the list is not read
        // per request.
        table
            .put(&Marketplace::new(
                AccountName::parse("third").unwrap(),
                "1",
                "s",
            ))
            .await
            .unwrap();
        assert!(served(&registry, Some("third")).await.is_err());
        registry.invalidate();
        assert!(served(&registry, Some("third")).await.is_ok());
    }
}
