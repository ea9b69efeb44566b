//! Authorize fulfillment, marketplace cancellation and the operator view of an order:
//! - `POST …/pvt/orders/{sellerOrderId}/fulfill` (shared/docs/protocol.md §Fulfill): reservation →
//!   authorized order, `{date, marketplaceOrderId, orderId, receipt}`, the same receipt on every
//!   repeat;
//! - `POST …/pvt/orders/{orderId}/cancel` (§Cancel): confirm with the same body shape while nothing
//!   is invoiced, answer an empty `200` when the request is being evaluated or is refused
//!   (invoiced / shipped: the invoice is the refusal); the path id is our id first, then the body's
//!   (or the path's) marketplace order id (§Decisions C25);
//! - `GET …/admin/orders/{orderId}`: status, ids, lines, totals, timestamps and the order log,
//!   never customer data.
//!
//! | Answer | HTTP | code |
//! |---|---|---|
//! | malformed body | 400 | `ORD008` (`REQ002` for unparseable JSON) |
//! | unknown order | 404 | `ORD005` |
//! | `marketplaceOrderId` differs from the stored order's | 409 | `ORD006` |
//! | fulfill of a canceled or expired order | 409 | `ORD007` |
//!
//! Every line is logged in the request's correlation span, with our order id and the marketplace
//! order id as soon as they are known ([`lambda_kit::correlation`]). Fulfill and cancel outcomes
//! are counted as EMF metrics ([`lambda_kit::metrics`]).
//!
//! Nothing here is Lambda-specific: the local runner calls [`handle`] too.

pub mod admin;

use domain::lifecycle::{
    CancelOutcome, FulfillOutcome, LifecycleConfig, LifecycleDeps, LifecycleSettings,
};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use lambda_kit::auth::{InboundAuth, RequestAuth};
use lambda_kit::config::{self, ConfigError, Inbound, Vars};
use lambda_kit::correlation;
use lambda_kit::metrics::{self, Unit};
use lambda_kit::{
    ApiError, Route, body_bytes, empty_ok, json_response, parse_json, query_or, query_param,
};
use serde::Deserialize;
use serde_json::Value;
use vtex::orders::{
    InvalidOrderRequest, OrderReceiptResponse, cancel_request, codes, fulfill_request,
};

/// Settings read once per cold start ([`lambda_kit::config`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    #[serde(skip)]
    pub lifecycle: LifecycleConfig,
    /// Largest accepted fulfill / cancel body (`FULFILLMENT_MAX_BODY_BYTES`, default 64 KiB).
    #[serde(rename = "fulfillment_max_body_bytes")]
    pub max_body_bytes: usize,
    /// `an` when the query has none (`DEFAULT_AN`); must match what placement used.
    pub default_an: Option<String>,
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
            auth: InboundAuth::default(),
            auth_secret_arn: None,
        }
    }
}

impl Config {
    pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let e: Config = vars.load()?;
        let inbound = Inbound::from_vars(vars)?;
        Ok(Config {
            lifecycle: config::lifecycle(vars)?,
            max_body_bytes: config::positive("FULFILLMENT_MAX_BODY_BYTES", e.max_body_bytes)?,
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

fn an(deps: &Deps, req: &Request) -> String {
    query_or(req, "an", &deps.config.default_an).unwrap_or_default()
}

/// Routes fulfill, cancel and the admin view. Always a response: refusals and failures become
/// VTEX's error envelope.
pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    correlation::serve("fulfillment", &req, route(deps, &req), |response| {
        if response.status() == StatusCode::UNAUTHORIZED {
            metrics::emit_for("fulfillment", &[("AuthFailures", 1.0, Unit::Count)]);
        }
    })
    .await
}

/// One EMF line for a fulfill or cancel ([`metrics::emit_outcome`]).
fn count_outcome(names: &[&'static str], outcome: &'static str) {
    metrics::emit_outcome("fulfillment", names, outcome);
}

const FULFILL_METRICS: [&str; 3] = ["OrdersFulfilled", "FulfillRetries", "FulfillsRefused"];
const CANCEL_METRICS: [&str; 4] = [
    "OrdersCanceled",
    "CancelRetries",
    "CancelsEvaluating",
    "CancelsRefused",
];

async fn route(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let Some(route) = Route::match_path(req.uri().path()) else {
        return Err(ApiError::not_found("HTTP404", "No such route"));
    };
    if !route.allows(req.method()) {
        return Err(ApiError::MethodNotAllowed);
    }
    match route {
        Route::Fulfill(id) => {
            // The path id of a fulfill is always ours.
            correlation::record_order_id(&id);
            deps.config.auth.check(req)?;
            fulfill(deps, req, id).await
        }
        Route::Cancel(id) => {
            deps.config.auth.check(req)?;
            cancel(deps, req, id).await
        }
        Route::AdminOrder(id) => {
            deps.config.auth.check(req)?;
            let page = (query_param(req, "logBefore"), query_param(req, "logLimit"));
            admin::view(deps, &id, &an(deps, req), page).await
        }
        _ => Err(ApiError::not_found("HTTP404", "No such route")),
    }
}

fn invalid(e: InvalidOrderRequest) -> ApiError {
    ApiError::bad_request(codes::INVALID_REQUEST, e.0)
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(codes::ORDER_NOT_FOUND, format!("Order {id} not found"))
}

fn mismatch() -> ApiError {
    ApiError::conflict(
        codes::MARKETPLACE_ORDER_MISMATCH,
        "marketplaceOrderId does not match this order",
    )
}

async fn fulfill(deps: &Deps, req: &Request, id: String) -> Result<Response<Body>, ApiError> {
    let body: Value = parse_json(body_bytes(req), deps.config.max_body_bytes)?;
    let request = fulfill_request(&id, &body).map_err(invalid)?;
    correlation::record_marketplace_order_id(&request.marketplace_order_id);
    let outcome = deps.lifecycle().fulfill(request).await?;
    count_outcome(
        &FULFILL_METRICS,
        match &outcome {
            FulfillOutcome::Authorized { replay: false, .. } => "OrdersFulfilled",
            FulfillOutcome::Authorized { replay: true, .. } => "FulfillRetries",
            _ => "FulfillsRefused",
        },
    );
    match outcome {
        FulfillOutcome::Authorized { order, receipt, .. } => Ok(json_response(
            StatusCode::OK,
            &OrderReceiptResponse::new(
                receipt.date,
                &order.marketplace_order_id,
                &order.order_id,
                receipt.receipt,
            ),
        )),
        FulfillOutcome::NotFound => Err(not_found(&id)),
        FulfillOutcome::MarketplaceOrderMismatch => Err(mismatch()),
        FulfillOutcome::NotAuthorizable { status } => Err(ApiError::conflict(
            codes::ORDER_NOT_AUTHORIZABLE,
            format!("Order {id} is {status} and cannot be fulfilled"),
        )),
    }
}

async fn cancel(deps: &Deps, req: &Request, id: String) -> Result<Response<Body>, ApiError> {
    let bytes = body_bytes(req);
    let body: Option<Value> = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(parse_json(bytes, deps.config.max_body_bytes)?)
    };
    let request = cancel_request(&id, &an(deps, req), body.as_ref()).map_err(invalid)?;
    if let Some(m) = &request.marketplace_order_id {
        correlation::record_marketplace_order_id(m);
    }
    let outcome = deps.lifecycle().cancel(request).await?;
    match &outcome {
        CancelOutcome::Confirmed { order, .. }
        | CancelOutcome::Evaluating { order }
        | CancelOutcome::Refused { order } => {
            correlation::record_order(&order.order_id, &order.marketplace_order_id);
        }
        CancelOutcome::NotFound | CancelOutcome::MarketplaceOrderMismatch => {}
    }
    count_outcome(
        &CANCEL_METRICS,
        match &outcome {
            CancelOutcome::Confirmed { replay: false, .. } => "OrdersCanceled",
            CancelOutcome::Confirmed { replay: true, .. } => "CancelRetries",
            CancelOutcome::Evaluating { .. } => "CancelsEvaluating",
            _ => "CancelsRefused",
        },
    );
    match outcome {
        CancelOutcome::Confirmed {
            order,
            cancellation,
            ..
        } => Ok(json_response(
            StatusCode::OK,
            &OrderReceiptResponse::new(
                cancellation.date,
                &order.marketplace_order_id,
                &order.order_id,
                cancellation.receipt,
            ),
        )),
        CancelOutcome::Evaluating { .. } | CancelOutcome::Refused { .. } => Ok(empty_ok()),
        CancelOutcome::NotFound => Err(not_found(&id)),
        CancelOutcome::MarketplaceOrderMismatch => Err(mismatch()),
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
                &[("FULFILLMENT_MAX_BODY_BYTES", "")],
                Ok(Config::DEFAULT_MAX_BODY_BYTES),
            ),
            (&[("FULFILLMENT_MAX_BODY_BYTES", "1024")], Ok(1024)),
            (
                &[("FULFILLMENT_MAX_BODY_BYTES", "0")],
                Err("FULFILLMENT_MAX_BODY_BYTES"),
            ),
            (
                &[("FULFILLMENT_MAX_BODY_BYTES", "-5")],
                Err("FULFILLMENT_MAX_BODY_BYTES"),
            ),
            (
                &[("AUTHORIZED_CANCEL_POLICY", "maybe")],
                Err("AUTHORIZED_CANCEL_POLICY"),
            ),
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
            ("DEFAULT_AN", " "),
            ("MAX_LOCK_TTL", ""),
        ]));
        let c = c.unwrap();
        assert_eq!(c.default_an, None);
        assert_eq!(c.lifecycle, LifecycleConfig::default());
        let e = Vars::from_pairs([("ORDERS_TABLE", "o")]).load::<config::OrderTables>();
        assert_eq!(
            e.unwrap_err().to_string(),
            "configuration: CATALOG_TABLE is not set"
        );
    }
}
