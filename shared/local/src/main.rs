//! The local runner: the whole connector on one port, no AWS and no VTEX account needed.
//!
//! - every inbound protocol route (simulation, placement, fulfill, cancel, admin, mse invoice) is
//!   served by the same handler code the Lambda functions run;
//! - the embedded SQLite store (persistent, `CONNECTOR_DATA`) holds catalog, orders and queues;
//! - the sample catalog (`CATALOG_FILE`) is loaded on first start;
//! - local queues stand in for SQS: the ERP posts to `/_local/queues/{name}` and reads order events
//!   from `/_local/queues/order-events`; workers poll them as Lambda's event-source mapping would;
//! - unless `VTEX_BASE_URL` is set, an in-process stand-in for VTEX answers outbound calls.

mod bridge;
mod config;
mod queues;
mod reconcile;
mod serve;
mod vtex;
mod workers;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use bytes::Bytes;
use config::LocalConfig;
use domain::clock::{Clock, SystemClock};
use domain::ports::CatalogReader;
use embedded_store::EmbeddedStore;
use http_body_util::Full;
use lambda_kit::Route;
use lambda_kit::auth::{InboundAuth, RequestAuth};
use lambda_kit::config::{Inbound, Vars};
use std::sync::Arc;

/// Everything the routes need, built once.
pub struct App {
    pub store: EmbeddedStore,
    pub auth: InboundAuth,
    pub simulation: simulation::Deps,
    pub placement: order_placement::Deps,
    pub fulfillment: fulfillment::Deps,
    pub sweeper: reservation_sweeper::Deps,
    pub dispatch: dispatch::Deps,
    /// The queue the ERP drops invoices, tracking and cancellations on.
    pub dispatch_queue: embedded_store::LocalQueue,
    pub catalog_sync: catalog_sync::Deps,
    /// The queue the ERP drops price, stock and SKU changes on.
    pub catalog_queue: embedded_store::LocalQueue,
    pub import: order_import::Deps,
    /// The queue external orders to import are dropped on.
    pub import_queue: embedded_store::LocalQueue,
    pub mse: mse::Deps,
    /// The VTEX stand-in, when it plays VTEX: it learns each order placed through the runner.
    pub standin: Option<vtex_standin::Shared>,
    /// The marketplace registry: a placement, fulfill or cancel for another account is refused.
    pub registry: Arc<dyn domain::marketplaces::MarketplaceRegistry>,
    /// The account of calls naming none.
    pub default_an: Option<String>,
}

/// See the dependency's note in Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    lambda_kit::telemetry::init_pretty();
    if let Err(e) = run().await {
        eprintln!("connector-local: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let cfg = LocalConfig::from_env_and_args()?;
    if cfg.reset && cfg.data_file.exists() {
        std::fs::remove_file(&cfg.data_file).map_err(|e| format!("cannot reset data: {e}"))?;
    }
    if let Some(dir) = cfg.data_file.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = EmbeddedStore::open(&cfg.data_file)
        .map_err(|e| format!("cannot open {}: {e}", cfg.data_file.display()))?;

    if store
        .shipping_rules()
        .await
        .map_err(|e| e.to_string())?
        .is_none()
    {
        let text = std::fs::read_to_string(&cfg.catalog_file)
            .map_err(|e| format!("cannot read catalog {}: {e}", cfg.catalog_file.display()))?;
        let file: domain::catalog::CatalogFile = serde_json::from_str(&text)
            .map_err(|e| format!("catalog {} is invalid: {e}", cfg.catalog_file.display()))?;
        let n = domain::store_support::load_catalog(&store, &file)
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(skus = n, file = %cfg.catalog_file.display(), "sample catalog loaded");
    }

    let (vtex, standin_handle) = vtex::start(&cfg, &store).await?;
    let dispatch_queue = store
        .queue(workers::DISPATCH_QUEUE)
        .with_max_receives(workers::MAX_RECEIVES);
    let dispatch_config = dispatch::Config::from_vars(&Vars::env()).map_err(|e| e.0)?;
    let dispatch = dispatch::Deps {
        orders: Arc::new(store.clone()),
        invoices: Arc::new(
            embedded_store::invoices::SqliteInvoices::new(&store).map_err(|e| e.to_string())?,
        ),
        vtex: Arc::new(vtex.marketplace_oms(dispatch_config.vtex_timeout)?),
        queue: Arc::new(dispatch_queue.clone()),
        clock: clock.clone(),
        default_an: dispatch_config.default_an.clone(),
        backoff: dispatch_config.backoff,
    };

    let catalog_queue = store.queue(local::CATALOG_QUEUE).with_max_receives(10);
    let catalog_config = vtex.catalog_config()?;
    let mut catalog_sync = local::catalog_sync_deps(
        &store,
        &catalog_queue,
        &catalog_config,
        vtex.credentials.clone(),
        clock.clone(),
    )
    .map_err(|e| e.to_string())?;
    // Every registered marketplace that wants catalog changes hears of them, as its own seller.
    if let Some(fan_out) = vtex.marketplace_catalogs(&catalog_config, Arc::new(store.clone()))? {
        catalog_sync.notifier.vtex = Arc::new(fan_out);
    }

    let auth = Inbound::from_vars(&Vars::env())
        .map_err(|e| e.to_string())?
        .auth;
    let imports =
        Arc::new(embedded_store::imports::SqliteImports::new(&store).map_err(|e| e.to_string())?);
    let import_queue = store
        .queue(local::IMPORT_QUEUE)
        .with_max_receives(workers::MAX_RECEIVES);
    let import_config = vtex.import_config(&cfg, &auth)?;
    let import = order_import::Deps {
        imports: imports.clone(),
        log: Arc::new(store.clone()),
        vtex: Arc::new(
            vtex.client(import_config.vtex_timeout)?
                .with_default_account(Some(import_config.account.clone())),
        ),
        queue: Arc::new(import_queue.clone()),
        scheduler: Arc::new(import_queue.clone()),
        clock: clock.clone(),
        config: import_config,
    };
    let mse = mse::Deps {
        imports: imports.clone(),
        notifications: imports,
        events: Arc::new(store.queue(embedded_store::ORDER_EVENTS_QUEUE)),
        log: Arc::new(store.clone()),
        clock: clock.clone(),
        config: mse::Config {
            auth: auth.clone(),
            ..mse::Config::default()
        },
    };

    let mut sim_config = simulation::Config::from_vars(&Vars::env()).map_err(|e| e.0)?;
    // The runner's default account (marketplacedemo against the stand-in) when DEFAULT_AN is
    // unset, as placement has it: a simulation without `an` is quoted for it, not refused.
    if sim_config.default_an.is_none() {
        sim_config.default_an = vtex.default_an.clone();
    }
    let shared = Arc::new(store.clone());
    let app = Arc::new(App {
        store: store.clone(),
        auth,
        simulation: {
            let deps = simulation::Deps::new(shared.clone(), clock.clone(), sim_config);
            // None only when every account goes to VTEX_BASE_URL (nothing to refuse).
            match vtex.catalog_registry.clone() {
                Some(registry) => deps.with_marketplaces(registry),
                None => deps,
            }
        },
        placement: order_placement::Deps::new(
            shared.clone(),
            shared.clone(),
            shared.clone(),
            clock.clone(),
            order_placement::Config::from_vars(&Vars::env()).map_err(|e| e.to_string())?,
        ),
        fulfillment: fulfillment::Deps::new(
            shared.clone(),
            shared.clone(),
            shared.clone(),
            clock.clone(),
            fulfillment::Config::from_vars(&Vars::env()).map_err(|e| e.to_string())?,
        )
        .with_invoices(Arc::new(
            embedded_store::invoices::SqliteInvoices::new(&store).map_err(|e| e.to_string())?,
        )),
        sweeper: reservation_sweeper::Deps::new(
            shared.clone(),
            shared.clone(),
            shared.clone(),
            clock.clone(),
            reservation_sweeper::Config::from_vars(&Vars::env()).map_err(|e| e.to_string())?,
        ),
        dispatch,
        dispatch_queue,
        catalog_sync,
        catalog_queue,
        import,
        import_queue,
        mse,
        standin: standin_handle.as_ref().map(|h| h.state().clone()),
        registry: vtex.registry.clone(),
        default_an: vtex.default_an.clone(),
    });
    if app.auth.is_open() {
        tracing::warn!(
            "inbound authentication is off (no INBOUND_PATH_SECRET / INBOUND_APP_KEY set)"
        );
    }

    let router = Router::new()
        .merge(queues::router())
        .fallback(fallback)
        .with_state(app.clone())
        .merge(console_ui::router(console(&store, clock.clone())?));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", cfg.port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", cfg.port))?;
    tracing::info!(
        url = %format!("http://127.0.0.1:{}", cfg.port),
        data = %cfg.data_file.display(),
        "connector running; try: curl -s -XPOST localhost:{}/pvt/orderForms/simulation -d @events/…",
        cfg.port
    );
    tracing::info!("operator console: http://127.0.0.1:{}/console/", cfg.port);
    workers::spawn(app.clone(), &cfg);
    reconcile::spawn(&store, &vtex, clock.clone())?;
    local::outbox::spawn(&store, clock.clone());
    serve::run(listener, app, router, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}

/// The operator console at `/console/`, over the embedded store and the workers' local queues.
fn console(
    store: &EmbeddedStore,
    clock: Arc<dyn Clock>,
) -> Result<Arc<console_ui::Console>, String> {
    let shared = Arc::new(store.clone());
    let queues = [
        workers::DISPATCH_QUEUE,
        local::CATALOG_QUEUE,
        local::IMPORT_QUEUE,
    ];
    Ok(Arc::new(console_ui::Console {
        catalog: shared.clone(),
        sync: shared.clone(),
        board: domain::listing::OrderBoard {
            listing: shared.clone(),
            orders: shared,
            parked: Arc::new(embedded_store::listing::LocalParked::new(store, &queues)),
            clock,
        },
        invoices: Arc::new(
            embedded_store::invoices::SqliteInvoices::new(store).map_err(|e| e.to_string())?,
        ),
        base: "/console".into(),
    }))
}

/// What the router answers for a path none of its routes has: the protocol dispatch, as for a
/// request [`serve`] hands it directly (so the 404 of an unknown path is the protocol's).
async fn fallback(State(app): State<Arc<App>>, req: axum::extract::Request) -> Response {
    let route = Route::match_path(req.uri().path());
    protocol(&app, route, req).await.map(axum::body::Body::new)
}

/// Every protocol route, dispatched exactly as API Gateway would to each function; `None` is a
/// path that is none of them (404). The body is read first: one too large is a 413 whatever the
/// path.
async fn protocol<B>(
    app: &App,
    route: Option<Route>,
    req: http::Request<B>,
) -> http::Response<Full<Bytes>>
where
    B: hyper::body::Body + Unpin,
{
    let req = match bridge::to_lambda(req).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let Some(route) = route else {
        return bridge::from_lambda(
            lambda_kit::ApiError::not_found("HTTP404", "No such route").into_response(),
        );
    };
    if let Err(e) = app.auth.check(&req) {
        return bridge::from_lambda(e.into_response());
    }
    if let Some(refusal) =
        lambda_kit::marketplaces::refuse_unregistered(app.registry.as_ref(), &app.default_an, &req)
            .await
    {
        return bridge::from_lambda(refusal);
    }
    // The other handlers' futures are boxed: unboxed, this future was 25.5 KB (the simulation's
    // is 1.9 KB), and hyper moves each request's future into place whatever route it takes.
    let resp = match route {
        Route::Simulation => simulation::handle(&app.simulation, req).await,
        Route::PlaceOrders => {
            vtex::register_placement(app.standin.as_ref(), req.body().as_ref());
            Box::pin(order_placement::handle(&app.placement, req)).await
        }
        Route::Fulfill(_) | Route::Cancel(_) | Route::AdminOrder(_) => {
            Box::pin(fulfillment::handle(&app.fulfillment, req)).await
        }
        Route::MseInvoice(_) => Box::pin(mse::handle(&app.mse, req)).await,
    };
    bridge::from_lambda(resp)
}
