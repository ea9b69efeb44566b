//! Fulfillment simulation: `POST` and `GET …/pvt/orderForms/simulation` (shared/docs/protocol.md
//! §Simulation).
//!
//! Parse (body, or the URL-encoded `purchaseContext` of a GET) → read the cart's SKUs with one
//! batched [`CatalogReader::get_skus_shared`] call and the shipping rules from an in-memory cache, both
//! within a time budget → [`domain::simulation::simulate`] → the ESF response.
//!
//! VTEX gives a seller 2.5 s. If the store fails or is slower than the budget, the answer is still a
//! `200` with every item unavailable (§Simulation), marked uncacheable and logged; bad input is a
//! 4xx with VTEX's error envelope. Nothing here is Lambda-specific: the local runner calls
//! [`handle`] too.
//!
//! Every line is logged in the request's correlation span ([`lambda_kit::correlation`]); every
//! call emits `SimulationLatency` (and, when quoted, `SimulationItems`,
//! `SimulationUnavailableItems`, `SimulationDegraded`) as EMF metrics ([`lambda_kit::metrics`]).

use domain::clock::Clock;
use domain::marketplaces::CachedRegistry;
use domain::ports::CatalogReader;
use domain::shipping::ShippingRules;
use domain::simulation::SimulationRequest;
use domain::simulation::{SimulationContext, simulate};
use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use lambda_kit::auth::{InboundAuth, RequestAuth};
use lambda_kit::catalog_reads::{RulesCache, load_shared};
use lambda_kit::config::{self, ConfigError, Inbound, Vars};
use lambda_kit::metrics::{self, Unit};
use lambda_kit::{ApiError, Route, body_bytes, cache_control, parse_json, query_param};
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;
use vtex::simulation::{BodyScope, SimulationRequestDto};

/// The answer's writer lives with the DTOs it must match, in `vtex` (compiled at opt-level 3 in
/// release, unlike this bootstrap's own package: Cargo.toml).
pub use vtex::simulation::wire;

/// Settings read once per cold start ([`lambda_kit::config`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Config {
    /// DynamoDB catalog table (`CATALOG_TABLE`); only the composition root uses it.
    #[serde(rename = "catalog_table")]
    pub table_name: String,
    /// Largest accepted body or decoded `purchaseContext` (`SIMULATION_MAX_BODY_BYTES`).
    #[serde(rename = "simulation_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Largest accepted cart (`SIMULATION_MAX_ITEMS`).
    #[serde(rename = "simulation_max_items")]
    pub max_items: usize,
    /// `max-age` of GET answers (`SIMULATION_CACHE_MAX_AGE`, seconds).
    #[serde(rename = "simulation_cache_max_age")]
    pub cache_max_age_secs: u32,
    /// How long cached shipping rules are used before re-reading them
    /// (`SIMULATION_RULES_REFRESH_SECS`).
    #[serde(rename = "simulation_rules_refresh_secs")]
    pub rules_refresh_secs: u32,
    /// Time allowed for the store reads before answering "unavailable"
    /// (`SIMULATION_STORE_BUDGET_MS`).
    #[serde(
        rename = "simulation_store_budget_ms",
        deserialize_with = "config::millis"
    )]
    pub store_budget: Duration,
    /// `sc` when neither the query nor the body has one (`DEFAULT_SC`, default `1` as the
    /// template's `DefaultSalesChannel`): a request without `sc` is quoted on that channel, never
    /// on every channel at once (which would offer carriers and prices of other channels).
    pub default_sc: Option<String>,
    /// `an` when the query and body have none (`DEFAULT_AN`).
    pub default_an: Option<String>,
    /// `merchantName` to send; unset (null) when the marketplace processes payments
    /// (`SIMULATION_MERCHANT_NAME`).
    #[serde(rename = "simulation_merchant_name")]
    pub merchant_name: Option<String>,
    /// Inbound credentials (shared/docs/protocol.md §Authentication); open when none is configured.
    #[serde(skip)]
    pub auth: InboundAuth,
    /// `INBOUND_AUTH_SECRET_ARN`: where the composition root reads them.
    #[serde(skip)]
    pub auth_secret_arn: Option<String>,
}

/// VTEX's main sales channel, the template's `DefaultSalesChannel`.
pub const DEFAULT_SALES_CHANNEL: &str = "1";

impl Default for Config {
    fn default() -> Self {
        Config {
            table_name: String::new(),
            max_body_bytes: 256 * 1024,
            max_items: 500,
            cache_max_age_secs: 60,
            rules_refresh_secs: 60,
            store_budget: Duration::from_millis(1500),
            default_sc: Some(DEFAULT_SALES_CHANNEL.to_string()),
            default_an: None,
            merchant_name: None,
            auth: InboundAuth::default(),
            auth_secret_arn: None,
        }
    }
}

impl Config {
    /// Unset or blank values take the defaults of [`Config::default`].
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let config: Config = vars.load()?;
        let inbound = Inbound::from_vars(vars)?;
        let config = Config {
            auth: inbound.auth,
            auth_secret_arn: inbound.secret_arn,
            ..config
        };
        if config.max_items == 0 || config.max_body_bytes == 0 {
            return Err(ConfigError(
                "SIMULATION_MAX_ITEMS and SIMULATION_MAX_BODY_BYTES must be positive".into(),
            ));
        }
        if config.store_budget > Duration::from_millis(2000) {
            return Err(ConfigError(
                "SIMULATION_STORE_BUDGET_MS above 2000 would miss VTEX's 2.5 s deadline".into(),
            ));
        }
        Ok(config)
    }
}

/// What the handler needs, built once per cold start.
pub struct Deps {
    pub catalog: Arc<dyn CatalogReader>,
    pub clock: Arc<dyn Clock>,
    pub config: Config,
    pub rules: RulesCache,
    /// The answer's SLA tails already written ([`wire::TailCache`]).
    pub tails: wire::TailCache,
    /// The marketplace registry ([`Deps::with_marketplaces`]): a simulation for an account it does
    /// not serve is refused, and prices come from the price list the marketplace's `sc` maps to.
    /// `None` (tests of the quote alone): every account is quoted on its own `sc`.
    pub marketplaces: Option<Arc<CachedRegistry>>,
}

impl Deps {
    pub fn new(catalog: Arc<dyn CatalogReader>, clock: Arc<dyn Clock>, config: Config) -> Self {
        let rules = RulesCache::new(config.rules_refresh_secs);
        Deps {
            catalog,
            clock,
            config,
            rules,
            tails: wire::TailCache::default(),
            marketplaces: None,
        }
    }

    pub fn with_marketplaces(mut self, registry: Arc<CachedRegistry>) -> Self {
        self.marketplaces = Some(registry);
        self
    }
}

/// What a quoted simulation reports as metrics.
struct Quote {
    items: usize,
    unavailable: usize,
    degraded: bool,
}

/// Answers one request. Never fails: refusals are 4xx responses with VTEX's error envelope.
pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    let started = Instant::now();
    let span = lambda_kit::correlation::request_span("simulation", &req);
    async {
        let (response, quote) = match respond(deps, &req).await {
            Ok((response, quote)) => (response, Some(quote)),
            Err(e) => {
                let method_not_allowed = matches!(e, ApiError::MethodNotAllowed);
                let mut response = e.into_response();
                if method_not_allowed {
                    response
                        .headers_mut()
                        .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
                }
                cache_control(&mut response, None);
                (response, None)
            }
        };
        emit_metrics(started, quote, response.status());
        response
    }
    .instrument(span)
    .await
}

fn emit_metrics(started: Instant, quote: Option<Quote>, status: StatusCode) {
    let latency = started.elapsed().as_secs_f64() * 1000.0;
    let count = |n: usize| n as f64;
    match quote {
        Some(q) => metrics::emit_for(
            "simulation",
            &[
                ("SimulationLatency", latency, Unit::Milliseconds),
                ("SimulationItems", count(q.items), Unit::Count),
                (
                    "SimulationUnavailableItems",
                    count(q.unavailable),
                    Unit::Count,
                ),
                (
                    "SimulationDegraded",
                    count(usize::from(q.degraded)),
                    Unit::Count,
                ),
            ],
        ),
        None => metrics::emit_for(
            "simulation",
            &[
                ("SimulationLatency", latency, Unit::Milliseconds),
                ("SimulationRejected", 1.0, Unit::Count),
                (
                    "AuthFailures",
                    count(usize::from(status == StatusCode::UNAUTHORIZED)),
                    Unit::Count,
                ),
            ],
        ),
    }
}

async fn respond(deps: &Deps, req: &Request) -> Result<(Response<Body>, Quote), ApiError> {
    let started = Instant::now();
    if Route::match_path(req.uri().path()) != Some(Route::Simulation) {
        return Err(ApiError::not_found(
            "HTTP404",
            "No such route; this function serves /pvt/orderForms/simulation",
        ));
    }
    let method = req.method();
    if !Route::Simulation.allows(method) {
        return Err(ApiError::MethodNotAllowed);
    }
    // Checked here, not before the handler, so a refusal is logged with its correlation ids; it
    // reads nothing, so it still answers at once (§Authentication: simulation refusals must be fast
    // too).
    deps.config.auth.check(req)?;
    let limit = deps.config.max_body_bytes;
    let max_items = deps.config.max_items;
    let body = body_bytes(req);
    let usual = (method != Method::GET && body.len() <= limit)
        .then(|| vtex::simulation::parse_usual_request(body, max_items))
        .flatten();
    let (request, body_scope) = match usual {
        Some(parsed) => parsed,
        None => tolerant_request(req, body, limit, max_items)?,
    };
    // Query first, then body, then configuration (§Decisions C6).
    let pick = |name: &str, body: Option<String>, default: &Option<String>| {
        query_param(req, name)
            .filter(|v| !v.trim().is_empty())
            .or(body)
            .or_else(|| default.clone())
    };
    let sc = pick("sc", body_scope.sc, &deps.config.default_sc);
    let an = pick("an", body_scope.an, &deps.config.default_an);
    // Before any store read: 403 MKP001 for an account not served (a lookup in the cached list).
    let served = match &deps.marketplaces {
        Some(registry) => Some(lambda_kit::marketplaces::served(registry, an.as_deref()).await?),
        None => None,
    };
    let price_list = served.as_ref().and_then(|s| s.price_list(sc.as_deref()));

    let now = deps.clock.now();
    let ids = request.distinct_sku_ids();
    let (skus, rules, failure) = load_shared(
        deps.catalog.as_ref(),
        &deps.rules,
        &ids,
        now,
        deps.config.store_budget,
    )
    .await;
    let rules = rules.unwrap_or_else(|| Arc::new(ShippingRules::empty()));
    let result = simulate(
        &request,
        &SimulationContext {
            skus: &*skus,
            rules: &rules,
            an: an.as_deref(),
            sc: sc.as_deref(),
            price_list,
            now,
        },
    );
    let degraded = failure.is_some();
    if let Some(why) = &failure {
        tracing::warn!(reason = %why, items = request.items.len(), "store unavailable: answering every item as unavailable");
    }
    tracing::info!(
        mode = result.mode.as_str(),
        method = %method,
        sc = sc.as_deref().unwrap_or("-"),
        an = an.as_deref().unwrap_or("-"),
        items = result.items.len(),
        unavailable = result.unavailable_count(),
        degraded,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "simulation"
    );
    // The bytes serde_json would write for SimulationResponse::from_result (tests/wire_bytes.rs).
    let body =
        wire::response_json_cached(&result, deps.config.merchant_name.as_deref(), &deps.tails);
    let mut response = Response::new(Body::Text(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(lambda_kit::http_util::JSON_CONTENT_TYPE),
    );
    let cacheable = method == Method::GET && !degraded;
    cache_control(
        &mut response,
        cacheable.then_some(deps.config.cache_max_age_secs),
    );
    let quote = Quote {
        items: result.items.len(),
        unavailable: result.unavailable_count(),
        degraded,
    };
    Ok((response, quote))
}

/// The request as the tolerant DTO reads it: a GET's `purchaseContext`, or a body the usual-body
/// parser left to it, with every refusal's message.
fn tolerant_request(
    req: &Request,
    body: &[u8],
    limit: usize,
    max_items: usize,
) -> Result<(SimulationRequest, BodyScope), ApiError> {
    let dto: SimulationRequestDto = if req.method() == Method::GET {
        let context = query_param(req, "purchaseContext").ok_or_else(|| {
            ApiError::bad_request(
                "SIM002",
                "GET needs a purchaseContext query parameter (the URL-encoded POST body)",
            )
        })?;
        if context.len() > limit {
            return Err(ApiError::bad_request(
                "SIM002",
                format!("purchaseContext is larger than the {limit}-byte limit"),
            ));
        }
        serde_json::from_str(&context).map_err(|e| {
            ApiError::bad_request("SIM002", format!("purchaseContext is not valid JSON: {e}"))
        })?
    } else {
        parse_json(body, limit)?
    };
    dto.into_domain(max_items)
        .map_err(|e| ApiError::bad_request("SIM001", e.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    /// (variables, the setting read or the variable the error names)
    #[test]
    fn config_blank_is_unset_defaults_apply_and_bad_values_name_the_variable() {
        type Row = (
            &'static [(&'static str, &'static str)],
            Result<(usize, u32, u64), &'static str>,
        );
        let table: &[Row] = &[
            (&[], Ok((500, 60, 1500))),
            (
                &[
                    ("SIMULATION_MAX_ITEMS", " "),
                    ("SIMULATION_CACHE_MAX_AGE", ""),
                    ("SIMULATION_STORE_BUDGET_MS", " "),
                ],
                Ok((500, 60, 1500)),
            ),
            (
                &[
                    ("SIMULATION_MAX_ITEMS", "20"),
                    ("SIMULATION_CACHE_MAX_AGE", "0"),
                    ("SIMULATION_STORE_BUDGET_MS", "900"),
                ],
                Ok((20, 0, 900)),
            ),
            (
                &[("SIMULATION_CACHE_MAX_AGE", "-1")],
                Err("SIMULATION_CACHE_MAX_AGE"),
            ),
            (
                &[("SIMULATION_RULES_REFRESH_SECS", "soon")],
                Err("SIMULATION_RULES_REFRESH_SECS"),
            ),
            (
                &[("SIMULATION_MAX_ITEMS", "0")],
                Err("SIMULATION_MAX_ITEMS"),
            ),
            (
                &[("SIMULATION_STORE_BUDGET_MS", "2400")],
                Err("SIMULATION_STORE_BUDGET_MS"),
            ),
        ];
        for (pairs, want) in table {
            match (
                Config::from_vars(&Vars::from_pairs(pairs.iter().copied())),
                want,
            ) {
                (Ok(c), Ok(v)) => assert_eq!(
                    (
                        c.max_items,
                        c.cache_max_age_secs,
                        c.store_budget.as_millis() as u64
                    ),
                    *v,
                    "{pairs:?}"
                ),
                (Err(e), Err(var)) => assert!(e.0.contains(var), "{pairs:?}: {e}"),
                (got, _) => panic!("{pairs:?}: {got:?}"),
            }
        }
        let c = Config::from_vars(&Vars::from_pairs([
            ("CATALOG_TABLE", " "),
            ("SIMULATION_MERCHANT_NAME", ""),
        ]));
        assert_eq!(c.unwrap(), Config::default(), "blank is unset");
    }
}
