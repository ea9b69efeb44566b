//! Order placement: `POST …/pvt/orders` (shared/docs/protocol.md §Placement).
//!
//! Parse the body (an array of orders, or one order object: the answer has the same shape) →
//! one [`PlacementRequest`] per order → [`Lifecycle::place`] (reservation and stock in one atomic
//! store write, idempotent on `(an, marketplaceOrderId)`) → each order echoed with our `orderId`
//! and `followUpEmail`.
//!
//! Every order of the body is parsed before anything is reserved, so a malformed second order
//! reserves nothing for the first. Orders are then placed in sequence; the first refusal answers
//! the whole call with a 4xx, and orders placed before it stay reserved: VTEX's retry gets them
//! back unchanged, and an order VTEX abandons expires at its `lockTTL`.
//!
//! | Refusal | HTTP | code |
//! |---|---|---|
//! | malformed body, money not in cents, bad duration, invalid order | 400 | `ORD001` |
//! | unknown SKU | 400 | `ORD002` |
//! | not enough stock (or no location to take it from) | 409 | `ORD003` |
//! | `shippingData.updateStatus` = `outdated` | 409 | `ORD004` |
//!
//! Every line is logged in the request's correlation span, with the marketplace order id and our
//! order id of the order being placed ([`lambda_kit::correlation`]); each call emits
//! `OrdersPlaced`, `PlacementRetries` and `PlacementsRefused` ([`lambda_kit::metrics`]).
//!
//! Nothing here is Lambda-specific: the local runner calls [`handle`] too.

use domain::lifecycle::{
    LifecycleConfig, LifecycleDeps, LifecycleSettings, PlacementDecision, PlacementRefusal,
    PlacementRequest,
};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use lambda_kit::auth::{InboundAuth, RequestAuth};
use lambda_kit::config::{self, ConfigError, Inbound, Vars};
use lambda_kit::correlation;
use lambda_kit::metrics::{self, Unit};
use lambda_kit::{ApiError, Route, body_bytes, json_response, parse_json, query_or};
use serde::Deserialize;
use serde_json::Value;
use tracing::Instrument;
use vtex::orders::{PlacementBody, codes, placement_echo, placement_request};

/// Settings read once per cold start ([`lambda_kit::config`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    #[serde(skip)]
    pub lifecycle: LifecycleConfig,
    /// Largest accepted body (`PLACEMENT_MAX_BODY_BYTES`, default 1 MiB).
    #[serde(rename = "placement_max_body_bytes")]
    pub max_body_bytes: usize,
    /// `an` when the query has none (`DEFAULT_AN`); `""` when neither.
    pub default_an: Option<String>,
    /// `sc` when the query has none (`DEFAULT_SC`).
    pub default_sc: Option<String>,
    #[serde(skip)]
    pub auth: InboundAuth,
    #[serde(skip)]
    pub auth_secret_arn: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            lifecycle: LifecycleConfig::default(),
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            default_an: None,
            default_sc: None,
            auth: InboundAuth::default(),
            auth_secret_arn: None,
        }
    }
}

impl Config {
    pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let e: Config = vars.load()?;
        let inbound = Inbound::from_vars(vars)?;
        Ok(Config {
            lifecycle: config::lifecycle(vars)?,
            max_body_bytes: config::positive("PLACEMENT_MAX_BODY_BYTES", e.max_body_bytes)?,
            auth: inbound.auth,
            auth_secret_arn: inbound.secret_arn,
            ..e
        })
    }
}

/// The ports this function uses, built once by the composition root (or the local runner).
pub type Deps = LifecycleDeps<Config>;

impl LifecycleSettings for Config {
    fn lifecycle(&self) -> &LifecycleConfig {
        &self.lifecycle
    }
}

/// What one placement call did, for the metrics.
#[derive(Debug, Default)]
struct Tally {
    placed: usize,
    retried: usize,
    refused: usize,
}

/// `POST …/pvt/orders`. Always a response: refusals and failures become VTEX's error envelope.
pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    let started = std::time::Instant::now();
    let span = correlation::request_span("order_placement", &req);
    async {
        let mut tally = Tally::default();
        let response = match place(deps, &req, &mut tally).await {
            Ok(resp) => resp,
            Err(e) => e.into_response(),
        };
        let n = |c: usize| c as f64;
        metrics::emit_for(
            "order-placement",
            &[
                ("OrdersPlaced", n(tally.placed), Unit::Count),
                ("PlacementRetries", n(tally.retried), Unit::Count),
                ("PlacementsRefused", n(tally.refused), Unit::Count),
                (
                    "AuthFailures",
                    n(usize::from(response.status() == StatusCode::UNAUTHORIZED)),
                    Unit::Count,
                ),
            ],
        );
        correlation::log_handled(response.status(), started);
        response
    }
    .instrument(span)
    .await
}

async fn place(deps: &Deps, req: &Request, tally: &mut Tally) -> Result<Response<Body>, ApiError> {
    match Route::match_path(req.uri().path()) {
        Some(Route::PlaceOrders) => {}
        _ => return Err(ApiError::not_found("HTTP404", "No such route")),
    }
    if req.method() != Method::POST {
        return Err(ApiError::MethodNotAllowed);
    }
    deps.config.auth.check(req)?;

    let an = query_or(req, "an", &deps.config.default_an).unwrap_or_default();
    let sc = query_or(req, "sc", &deps.config.default_sc);
    let value: Value = parse_json(body_bytes(req), deps.config.max_body_bytes)?;
    let body = PlacementBody::from_value(value).map_err(invalid)?;
    let requests: Vec<PlacementRequest> = body
        .orders()
        .iter()
        .enumerate()
        .map(|(i, o)| placement_request(o, &body.path(i), &an, sc.as_deref()))
        .collect::<Result<_, _>>()
        .map_err(invalid)?;

    let follow_up_email = deps
        .catalog
        .shipping_rules()
        .await?
        .map(|r| r.follow_up_email)
        .unwrap_or_default();
    let lifecycle = deps.lifecycle();
    let mut echoes = Vec::with_capacity(requests.len());
    for (i, (request, incoming)) in requests.into_iter().zip(body.orders()).enumerate() {
        let marketplace_order_id = request.marketplace_order_id.clone();
        correlation::record_marketplace_order_id(&marketplace_order_id);
        if i > 0 {
            // The previous order's id must not label this one's lines (VTEX sends one order per
            // call, but the body may hold several).
            correlation::record_order_id("-");
        }
        match lifecycle.place(request).await? {
            PlacementDecision::Placed { order, replay } => {
                correlation::record_order_id(&order.order_id);
                if replay {
                    tally.retried += 1;
                } else {
                    tally.placed += 1;
                }
                echoes.push(placement_echo(incoming, &order.order_id, &follow_up_email));
            }
            PlacementDecision::Refused(refusal) => {
                tally.refused += 1;
                tracing::info!(
                    marketplace_order_id = %marketplace_order_id,
                    refusal = %refusal,
                    "placement refused"
                );
                return Err(refusal_error(refusal));
            }
        }
    }
    Ok(json_response(StatusCode::OK, &body.respond(echoes)))
}

fn invalid(e: vtex::orders::InvalidOrderRequest) -> ApiError {
    ApiError::bad_request(codes::INVALID_ORDER, e.0)
}

fn refusal_error(refusal: PlacementRefusal) -> ApiError {
    let message = refusal.to_string();
    match refusal {
        PlacementRefusal::Invalid { .. } => ApiError::bad_request(codes::INVALID_ORDER, message),
        PlacementRefusal::UnknownSku { .. } => ApiError::bad_request(codes::UNKNOWN_SKU, message),
        PlacementRefusal::OutOfStock { .. } | PlacementRefusal::NoStockLocation { .. } => {
            ApiError::conflict(codes::OUT_OF_STOCK, message)
        }
        PlacementRefusal::ShippingDataOutdated => {
            ApiError::conflict(codes::SHIPPING_OUTDATED, message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    /// (variables, the setting read or the variable the error names)
    #[test]
    fn config_blank_is_unset_defaults_apply_and_bad_values_name_the_variable() {
        type Row = (
            &'static [(&'static str, &'static str)],
            Result<usize, &'static str>,
        );
        let table: &[Row] = &[
            (&[], Ok(Config::DEFAULT_MAX_BODY_BYTES)),
            (
                &[("PLACEMENT_MAX_BODY_BYTES", " ")],
                Ok(Config::DEFAULT_MAX_BODY_BYTES),
            ),
            (&[("PLACEMENT_MAX_BODY_BYTES", " 2048 ")], Ok(2048)),
            (
                &[("PLACEMENT_MAX_BODY_BYTES", "0")],
                Err("PLACEMENT_MAX_BODY_BYTES"),
            ),
            (
                &[("PLACEMENT_MAX_BODY_BYTES", "x")],
                Err("PLACEMENT_MAX_BODY_BYTES"),
            ),
            (&[("DEFAULT_LOCK_TTL", "8")], Err("DEFAULT_LOCK_TTL")),
        ];
        for (pairs, want) in table {
            match (
                Config::from_vars(&Vars::from_pairs(pairs.iter().copied())),
                want,
            ) {
                (Ok(c), Ok(v)) => assert_eq!(c.max_body_bytes, *v, "{pairs:?}"),
                (Err(e), Err(var)) => assert!(e.0.contains(var), "{pairs:?}: {e}"),
                (got, _) => panic!("{pairs:?}: {got:?}"),
            }
        }
        let c = Config::from_vars(&Vars::from_pairs([
            ("DEFAULT_AN", ""),
            ("DEFAULT_SC", " 2 "),
        ]));
        let c = c.unwrap();
        assert_eq!((c.default_an, c.default_sc.as_deref()), (None, Some("2")));
        let tables = [
            ("CATALOG_TABLE", "c"),
            ("ORDERS_TABLE", " "),
            ("ORDER_EVENTS_QUEUE_URL", "q"),
        ];
        let e = Vars::from_pairs(tables)
            .load::<config::OrderTables>()
            .unwrap_err();
        assert_eq!(e.to_string(), "configuration: ORDERS_TABLE is not set");
    }
}
