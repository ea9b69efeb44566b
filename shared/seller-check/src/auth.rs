//! The endpoint refuses VTEX's routes without its credential. The probes cannot do harm on an
//! endpoint that lets them through: a placement of no order, a fulfill and a cancel of an order
//! that does not exist.

use crate::client::{Auth, Body, Seller};
use crate::config::{Config, Credential};
use crate::judge::{Judge, envelope_problem, skip};
use crate::report::RuleResult;
use crate::sim;
use reqwest::Method;
use serde_json::json;

pub async fn run(seller: &Seller, cfg: &Config) -> RuleResult {
    if !seller.has_credential() {
        return skip(
            "auth.required",
            "no credential given: pass the one the endpoint is configured with \
             (--path-secret, --query-secret, or --app-key/--app-token [--authorization])",
        );
    }
    let mut j = Judge::new();
    let ghost = format!("SCHK-{}-noauth", seller.run_id());
    let fulfill = format!("/pvt/orders/{ghost}/fulfill");
    let cancel = format!("/pvt/orders/{ghost}/cancel");
    let sim_body = sim::body(cfg, &[(cfg.skus[0].as_str(), 1)], true);
    let pc = sim_body.to_string();
    let path_secret = matches!(cfg.credential, Some(Credential::PathSecret(_)));
    let mut probes = 0;
    for auth in [Auth::Without, Auth::Wrong] {
        let calls = [
            (
                Method::POST,
                sim::ROUTE,
                vec![],
                Some(Body::Json(sim_body.clone())),
            ),
            (
                Method::GET,
                sim::ROUTE,
                vec![("purchaseContext", pc.as_str())],
                None,
            ),
            (
                Method::POST,
                "/pvt/orders",
                vec![],
                Some(Body::Json(json!([]))),
            ),
            (
                Method::POST,
                fulfill.as_str(),
                vec![],
                Some(Body::Json(json!({"marketplaceOrderId": ghost}))),
            ),
            (
                Method::POST,
                cancel.as_str(),
                vec![],
                Some(Body::Json(json!({"marketplaceOrderId": ghost}))),
            ),
        ];
        for (method, route, query, body) in calls {
            probes += 1;
            let x = seller.call(method, route, &query, body, auth).await;
            j.saw(&x);
            let what = if auth == Auth::Without {
                "without the credential"
            } else {
                "with a wrong credential"
            };
            match x.status {
                // Without its secret segment the path names no route: a gateway in front of the
                // seller (API Gateway for this connector) answers its own 404 before the seller.
                Some(404) if auth == Auth::Without && path_secret => {}
                Some(401 | 403) => {
                    if let Some(p) = envelope_problem(&x) {
                        j.problem(format!("{what}: {p}"));
                    }
                }
                _ => j.problem(format!("{what}: {}; expected 401 or 403", x.describe())),
            }
        }
    }
    j.finish(
        "auth.required",
        format!(
            "{probes} calls without or with a wrong credential: all refused (401/403 with the envelope, or 404 for a path without its secret segment)"
        ),
    )
}
