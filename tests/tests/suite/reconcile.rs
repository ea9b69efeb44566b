//! Reconciliation against the VTEX stand-in over HTTP, on the embedded store and on moto: the
//! dispatcher sends invoices and tracking as in production, the stand-in is then told to hold
//! something else (`POST /_standin/oms/drift`), and the reconciler's run must find each drift, log
//! and count it, heal only the safe one, not heal twice, stop at its deadline and resume, and back
//! off on 429. Each scenario runs on both stores (`…_embedded`, `…_moto`; the moto ones skip
//! without `AWS_ENDPOINT_URL`).

use aws_adapters::dynamo::DynamoOrders;
use aws_adapters::dynamo::listing::DynamoListing;
use aws_adapters::dynamo::reconcile::DynamoReconcileProgress;
use aws_adapters::invoices::{DynamoInvoices, create_invoices_table};
use chrono::{DateTime, Duration as Span, Utc};
use connector_tests::aws_env;
use domain::catalog::Sku;
use domain::clock::{Clock, ManualClock, SystemClock};
use domain::dispatch::Dispatcher;
use domain::erp::{ErpCommand, ErpMessage, OrderRef};
use domain::invoice_store::InvoiceStore;
use domain::invoicing::{
    Invoice, InvoiceItem, InvoiceRecord, InvoiceType, SendState, TrackingInfo,
};
use domain::listing::OrderListing;
use domain::money::Cents;
use domain::order::{Order, OrderStatus, Outcome};
use domain::ports::{
    CatalogReader, CatalogWriter, OrderStore, PlaceOutcome, SaveOutcome, StockEffect,
};
use domain::reconcile::{ClockPause, ReconcileProgress, ReconcileReport, Stop, steps};
use domain::worker::{Attempt, Backoff, Disposition};
use embedded_store::EmbeddedStore;
use reconciler::{Config, Deps};
use std::sync::Arc;
use std::time::Duration;
use vtex::client::VtexClient;
use vtex_standin::oms::{OmsDrift, PlantedInvoice, PlantedTracking};
use vtex_standin::{FaultPlan, ServerHandle};

const LOCATION: &str = "wh1";

/// One store (embedded or DynamoDB), the stand-in, and a dispatcher and a reconciler over both.
struct World {
    orders: Arc<dyn OrderStore>,
    catalog: Arc<dyn CatalogReader>,
    invoices: Arc<dyn InvoiceStore>,
    listing: Arc<dyn OrderListing>,
    progress: Arc<dyn ReconcileProgress>,
    standin: ServerHandle,
    vtex: VtexClient,
    clock: Arc<ManualClock>,
    _guard: Option<connector_tests::contract::TempPath>,
}

async fn standin() -> (ServerHandle, VtexClient) {
    let (addr, standin) = vtex_standin::serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let vtex = VtexClient::with_timeout(
        format!("http://{addr}"),
        standin.credentials(),
        Duration::from_secs(5),
    )
    .unwrap();
    (standin, vtex)
}

async fn embedded() -> World {
    let path = connector_tests::contract::TempPath::new("reconcile");
    let store = EmbeddedStore::open(&path.0).unwrap();
    let invoices = embedded_store::invoices::SqliteInvoices::new(&store).unwrap();
    sku(&store).await;
    let (standin, vtex) = standin().await;
    World {
        orders: Arc::new(store.clone()),
        catalog: Arc::new(store.clone()),
        invoices: Arc::new(invoices),
        listing: Arc::new(store.clone()),
        progress: Arc::new(store),
        standin,
        vtex,
        clock: Arc::new(ManualClock::new(Utc::now())),
        _guard: Some(path),
    }
}

async fn moto() -> Option<World> {
    let config = aws_env::moto().await?;
    let (dynamo, catalog_table, orders_table) = aws_env::dynamo_tables(&config).await;
    let invoices_table = aws_env::unique_name("invoices");
    create_invoices_table(&dynamo, &invoices_table)
        .await
        .unwrap();
    let catalog = aws_adapters::dynamo::DynamoCatalog::new(dynamo.clone(), catalog_table.clone());
    sku(&catalog).await;
    let (standin, vtex) = standin().await;
    Some(World {
        orders: Arc::new(DynamoOrders::new(
            dynamo.clone(),
            orders_table.clone(),
            catalog_table,
        )),
        catalog: Arc::new(catalog),
        invoices: Arc::new(DynamoInvoices::new(dynamo.clone(), invoices_table)),
        listing: Arc::new(DynamoListing::new(dynamo.clone(), orders_table.clone())),
        progress: Arc::new(DynamoReconcileProgress::new(dynamo, orders_table)),
        standin,
        vtex,
        clock: Arc::new(ManualClock::new(Utc::now())),
        _guard: None,
    })
}

async fn sku(store: &dyn CatalogWriter) {
    let s: Sku = serde_json::from_value(serde_json::json!({
        "id": "2002495", "name": "Capa slimfit", "prices": [],
        "stock": { LOCATION: { "onHand": 100, "reserved": 0 } }
    }))
    .unwrap();
    store.upsert_sku(&s).await.unwrap();
}

/// SKU 2002495 × 1 at 9990 + 1090 freight = 11080.
const VALUE: i64 = 11080;

fn invoice(number: &str) -> Invoice {
    Invoice {
        kind: InvoiceType::Output,
        invoice_number: number.into(),
        invoice_value: Cents(VALUE),
        issuance_date: "2026-11-30T10:15:00-03:00".into(),
        items: vec![InvoiceItem {
            id: "2002495".into(),
            quantity: 1,
            price: Cents(9990),
            description: None,
        }],
        invoice_key: None,
        invoice_url: None,
        embedded_invoice: None,
        courier: None,
        tracking_number: None,
        tracking_url: None,
        dispatched_date: None,
    }
}

impl World {
    fn deps(&self, pace: Duration, margin: Duration) -> Deps {
        let mut config = Config::default();
        config.settings.pace = pace;
        config.settings.max_pace = pace * 4;
        config.margin = margin;
        Deps {
            listing: self.listing.clone(),
            orders: self.orders.clone(),
            invoices: self.invoices.clone(),
            oms: Arc::new(self.vtex.clone()),
            progress: self.progress.clone(),
            clock: self.clock.clone(),
            pause: Arc::new(ClockPause(self.clock.clone())),
            config,
        }
    }

    /// One scheduled run with `budget` before the invocation ends (no margin, a 1 s pace: the
    /// clock is moved by the pauses, nothing waits).
    async fn run(&self, budget: Span) -> ReconcileReport {
        let deps = self.deps(Duration::from_secs(1), Duration::ZERO);
        let event = serde_json::from_str(include_str!("../../../events/reconciler.scheduled.json"))
            .unwrap();
        reconciler::handle(&deps, event, self.clock.now() + budget)
            .await
            .unwrap()
    }

    fn dispatcher(&self) -> Dispatcher {
        Dispatcher {
            orders: self.orders.clone(),
            invoices: self.invoices.clone(),
            oms: Arc::new(self.vtex.clone()),
            clock: Arc::new(SystemClock),
            default_an: None,
            backoff: Backoff::default(),
        }
    }

    /// An authorized order placed `hours_ago` (VTEX holds it too, at its value).
    async fn authorized(&self, id: &str, mkp: &str, hours_ago: i64) -> Order {
        let at: DateTime<Utc> = self.clock.now() - Span::hours(hours_ago);
        let order: Order = serde_json::from_value(serde_json::json!({
            "orderId": id, "an": "luxstore", "sc": "1", "marketplaceOrderId": mkp,
            "marketplacePaymentValue": VALUE, "status": "RESERVED",
            "lines": [{"index": 0, "skuId": "2002495", "quantity": 1, "unitPrice": 9990,
                       "freight": 1090, "locationId": LOCATION}],
            "createdAt": at, "expiresAt": at + Span::days(8),
        }))
        .unwrap();
        let PlaceOutcome::Created(mut placed) = self.orders.create_reserved(&order).await.unwrap()
        else {
            panic!("placement of {id} failed")
        };
        placed.status = OrderStatus::Authorized;
        let SaveOutcome::Saved(saved) = self.orders.save(&placed, StockEffect::None).await.unwrap()
        else {
            panic!("authorization of {id} conflicted")
        };
        self.standin
            .state()
            .place(&serde_json::json!([{
                "marketplaceOrderId": mkp, "marketplacePaymentValue": VALUE,
                "items": [{"id": "2002495", "quantity": 1, "price": 9990, "priceTags": []}],
                "shippingData": {"logisticsInfo": [{"itemIndex": 0, "price": 1090}]}
            }]))
            .unwrap();
        saved
    }

    /// Sends `command` for order `id` through the dispatcher, as the dispatch worker would.
    async fn dispatch(&self, id: &str, command: ErpCommand) {
        let r = OrderRef {
            order_id: Some(id.into()),
            marketplace_order_id: None,
            an: None,
        };
        let body = ErpMessage::new(r, command).to_json();
        let attempt = Attempt {
            message_id: "m-1",
            receive_count: 1,
        };
        let done = self.dispatcher().process(attempt, body.as_bytes()).await;
        assert_eq!(done.disposition, Disposition::Done, "{id}");
    }

    fn plant(&self, drift: OmsDrift) {
        vtex_standin::oms::plant(self.standin.state(), &drift).unwrap();
    }

    async fn status(&self, id: &str) -> OrderStatus {
        self.orders.get(id).await.unwrap().unwrap().status
    }

    async fn entries(&self, id: &str, step: &str) -> Vec<domain::order::LogEntry> {
        self.orders
            .read_log(id)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.step == step)
            .collect()
    }

    async fn stock(&self) -> (i64, i64) {
        let s = self.catalog.get_sku("2002495").await.unwrap().unwrap();
        (s.stock[LOCATION].on_hand, s.stock[LOCATION].reserved)
    }

    fn oms_reads(&self) -> usize {
        self.standin
            .state()
            .requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path.starts_with("/api/oms/pvt/orders/"))
            .count()
    }
}

fn drift(mkp: &str) -> OmsDrift {
    OmsDrift {
        marketplace_order_id: mkp.into(),
        ..OmsDrift::default()
    }
}

// ------------------------------------------------------------------ every kind of drift

async fn each_planted_drift_is_found_logged_counted_and_only_the_safe_one_healed(w: World) {
    // 1. VTEX holds an invoice we recorded Pending (its answer was lost).
    w.authorized("SLR-PENDING", "m-pending", 5).await;
    let pending = InvoiceRecord::pending("SLR-PENDING", &invoice("NF-P"), Utc::now());
    w.invoices
        .create_once(&pending, Cents(VALUE))
        .await
        .unwrap();
    w.plant(OmsDrift {
        add_invoice: Some(PlantedInvoice {
            invoice_number: "NF-P".into(),
            invoice_value: VALUE,
            kind: None,
            tracking_number: None,
        }),
        ..drift("m-pending")
    });
    // 2. An invoice we sent that VTEX lacks.
    w.authorized("SLR-LOST", "m-lost", 4).await;
    w.dispatch(
        "SLR-LOST",
        ErpCommand::Invoice {
            invoice: invoice("NF-L"),
        },
    )
    .await;
    assert_eq!(w.status("SLR-LOST").await, OrderStatus::Invoiced);
    w.plant(OmsDrift {
        drop_invoice: Some("NF-L".into()),
        ..drift("m-lost")
    });
    // 3. Another order value.
    w.authorized("SLR-VALUE", "m-value", 3).await;
    w.plant(OmsDrift {
        value: Some(12_000),
        ..drift("m-value")
    });
    // 4. Canceled at VTEX while we hold the stock.
    w.authorized("SLR-CANCEL", "m-cancel", 2).await;
    w.plant(OmsDrift {
        status: Some("canceled".into()),
        ..drift("m-cancel")
    });
    // 5. Another tracking number.
    w.authorized("SLR-TRACK", "m-track", 6).await;
    w.dispatch(
        "SLR-TRACK",
        ErpCommand::Invoice {
            invoice: invoice("NF-T"),
        },
    )
    .await;
    w.dispatch(
        "SLR-TRACK",
        ErpCommand::Tracking {
            invoice_number: "NF-T".into(),
            tracking: TrackingInfo {
                tracking_number: "SR-OURS".into(),
                tracking_url: None,
                courier: Some("Correios".into()),
                dispatched_date: None,
            },
        },
    )
    .await;
    assert_eq!(w.status("SLR-TRACK").await, OrderStatus::Shipped);
    w.plant(OmsDrift {
        tracking: Some(PlantedTracking {
            invoice_number: "NF-T".into(),
            tracking_number: Some("SR-THEIRS".into()),
        }),
        ..drift("m-track")
    });
    // 6. An order in agreement, and one too young to read.
    w.authorized("SLR-FINE", "m-fine", 7).await;
    w.authorized("SLR-YOUNG", "m-young", 0).await;
    let held_before = w.stock().await;

    let r = w.run(Span::minutes(5)).await;
    assert_eq!(r.stop, Stop::Finished);
    assert_eq!(r.checked, 6, "every open order past the minimum age: {r:?}");
    assert_eq!((r.drifted, r.healed, r.unhealed), (5, 1, 4), "{r:?}");
    for code in [
        "INVOICE_PENDING_HERE",
        "INVOICE_MISSING_AT_VTEX",
        "VALUE",
        "CANCELED_AT_VTEX",
        "TRACKING",
    ] {
        assert_eq!(r.drifts.get(code), Some(&1), "{code}: {r:?}");
    }

    // Healed: the invoice is Sent, the order invoiced, its unit shipped.
    let rec = w
        .invoices
        .get("SLR-PENDING", "NF-P")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.state, SendState::Sent);
    assert_eq!(w.status("SLR-PENDING").await, OrderStatus::Invoiced);
    assert_eq!(
        w.stock().await,
        (held_before.0 - 1, held_before.1 - 1),
        "the healed order's unit shipped, nothing else moved"
    );
    assert_eq!(w.entries("SLR-PENDING", steps::HEAL).await.len(), 1);
    // Reported only: nothing changed on our side.
    assert_eq!(w.status("SLR-CANCEL").await, OrderStatus::Authorized);
    assert_eq!(w.status("SLR-LOST").await, OrderStatus::Invoiced);
    assert_eq!(w.status("SLR-TRACK").await, OrderStatus::Shipped);
    for (id, says) in [
        (
            "SLR-LOST",
            "invoice NF-L (11080 cents): sent, VTEX does not hold it",
        ),
        (
            "SLR-VALUE",
            "order value: VTEX 12000 cents, ours 11080 cents",
        ),
        ("SLR-CANCEL", "status: VTEX canceled, ours AUTHORIZED"),
        (
            "SLR-TRACK",
            "tracking on invoice NF-T: VTEX SR-THEIRS, ours SR-OURS",
        ),
        (
            "SLR-PENDING",
            "invoice NF-P (11080 cents): VTEX holds it, we recorded it Pending",
        ),
    ] {
        let log = w.entries(id, steps::DRIFT).await;
        let alert = log
            .iter()
            .find(|e| e.outcome == Outcome::Alert)
            .unwrap_or_else(|| panic!("{id}: no Alert in {log:?}"));
        assert!(alert.detail.contains(says), "{id}: {}", alert.detail);
    }
    assert!(w.entries("SLR-FINE", steps::DRIFT).await.is_empty());
    assert!(w.entries("SLR-YOUNG", steps::DRIFT).await.is_empty());

    // A second run: nothing healed twice, nothing logged again, the drifts still counted.
    let logs_before = log_lengths(&w).await;
    let stock_before = w.stock().await;
    let r = w.run(Span::minutes(5)).await;
    assert_eq!((r.drifted, r.healed, r.unhealed), (4, 0, 4), "{r:?}");
    assert_eq!(log_lengths(&w).await, logs_before, "no new log entries");
    assert_eq!(w.stock().await, stock_before);
}

async fn log_lengths(w: &World) -> Vec<usize> {
    let mut v = Vec::new();
    for id in [
        "SLR-PENDING",
        "SLR-LOST",
        "SLR-VALUE",
        "SLR-CANCEL",
        "SLR-TRACK",
    ] {
        v.push(w.orders.read_log(id).await.unwrap().len());
    }
    v
}

#[tokio::test]
async fn each_planted_drift_is_found_and_only_the_safe_one_healed_embedded() {
    each_planted_drift_is_found_logged_counted_and_only_the_safe_one_healed(embedded().await).await;
}

#[tokio::test]
async fn each_planted_drift_is_found_and_only_the_safe_one_healed_moto() {
    let Some(w) = moto().await else { return };
    each_planted_drift_is_found_logged_counted_and_only_the_safe_one_healed(w).await;
}

// ------------------------------------------------------------------ time budget and resumption

async fn a_run_out_of_time_stops_and_the_next_resumes(w: World) {
    for i in 0..3 {
        w.authorized(&format!("SLR-{i}"), &format!("m-{i}"), 2 + i)
            .await;
    }
    // Reads at +0 s and +1 s; the third would start at +2 s, past the 1.5 s budget.
    let r = w.run(Span::milliseconds(1500)).await;
    assert_eq!((r.checked, r.stop), (2, Stop::OutOfTime), "{r:?}");
    assert_eq!(w.oms_reads(), 2);
    let cursor = w
        .progress
        .load_cursor()
        .await
        .unwrap()
        .expect("a stored cursor");
    assert_eq!(
        cursor.order_id, "SLR-1",
        "the last order read (newest first)"
    );

    let r = w.run(Span::minutes(5)).await;
    assert_eq!((r.checked, r.stop), (1, Stop::Finished), "{r:?}");
    assert_eq!(w.oms_reads(), 3, "only the order left was read");
    assert_eq!(w.progress.load_cursor().await.unwrap(), None);
}

#[tokio::test]
async fn a_run_out_of_time_stops_and_the_next_resumes_embedded() {
    a_run_out_of_time_stops_and_the_next_resumes(embedded().await).await;
}

#[tokio::test]
async fn a_run_out_of_time_stops_and_the_next_resumes_moto() {
    let Some(w) = moto().await else { return };
    a_run_out_of_time_stops_and_the_next_resumes(w).await;
}

// ------------------------------------------------------------------ 429

async fn a_429_slows_the_run_and_two_in_a_row_stop_it(w: World) {
    for i in 0..2 {
        w.authorized(&format!("SLR-{i}"), &format!("m-{i}"), 2 + i)
            .await;
    }
    w.standin.state().set_faults(FaultPlan {
        next: vec![429],
        retry_after: Some(3),
        ..FaultPlan::default()
    });
    let start = w.clock.now();
    let r = w.run(Span::minutes(5)).await;
    assert_eq!(
        (r.checked, r.throttled, r.stop),
        (2, 1, Stop::Finished),
        "{r:?}"
    );
    // Retry-After (3 s), then the doubled pace (2 s) before the second order.
    assert_eq!(w.clock.now() - start, Span::seconds(5));

    w.standin.state().set_faults(FaultPlan {
        next: vec![429, 429],
        retry_after: Some(1),
        ..FaultPlan::default()
    });
    let r = w.run(Span::minutes(5)).await;
    assert_eq!(
        (r.checked, r.throttled, r.stop),
        (0, 2, Stop::Throttled),
        "{r:?}"
    );
    assert_eq!(
        w.progress.load_cursor().await.unwrap(),
        None,
        "nothing read: the next run starts where this one did"
    );
    let r = w.run(Span::minutes(5)).await;
    assert_eq!((r.checked, r.stop), (2, Stop::Finished), "{r:?}");
}

#[tokio::test]
async fn a_429_slows_the_run_and_two_in_a_row_stop_it_embedded() {
    a_429_slows_the_run_and_two_in_a_row_stop_it(embedded().await).await;
}

#[tokio::test]
async fn a_429_slows_the_run_and_two_in_a_row_stop_it_moto() {
    let Some(w) = moto().await else { return };
    a_429_slows_the_run_and_two_in_a_row_stop_it(w).await;
}

// ------------------------------------------------------------------ the cursor's contract

#[tokio::test]
async fn reconcile_progress_contract_embedded() {
    let w = embedded().await;
    domain::reconcile::contract::cursor_round_trips_and_clears(w.progress.as_ref())
        .await
        .unwrap();
}

#[tokio::test]
async fn reconcile_progress_contract_moto() {
    let Some(w) = moto().await else { return };
    domain::reconcile::contract::cursor_round_trips_and_clears(w.progress.as_ref())
        .await
        .unwrap();
}

// ------------------------------------------------------------------ each marketplace its own

/// Two marketplaces registered against the stand-in (each its own base URL and credentials), one
/// registered but disabled, one never registered: each order is read at its own account with that
/// account's key, and the orders of the other two are not read at all.
#[tokio::test]
async fn each_order_is_read_at_its_own_marketplace_and_unusable_accounts_are_skipped() {
    use domain::marketplaces::{AccountName, CachedRegistry, Marketplace, MarketplaceRegistry};
    use embedded_store::marketplaces::SqliteRegistry;
    use vtex::client::AppCredentials;
    use vtex_standin::StandInConfig;

    let accounts = [
        ("alpha", "key-alpha", "token-alpha", true),
        ("beta", "key-beta", "token-beta", true),
        ("off", "key-off", "token-off", false),
    ];
    let mut config = StandInConfig::default();
    for (an, key, token, _) in accounts {
        config = config.with_account(an, AppCredentials::new(key, token));
    }
    let (addr, standin) = vtex_standin::serve_with("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let mut w = embedded().await;
    w.standin = standin;
    let path = connector_tests::contract::TempPath::new("reconcile-accounts");
    let store = EmbeddedStore::open(&path.0).unwrap();
    let registry = SqliteRegistry::new(&store).unwrap();
    for (an, key, token, enabled) in accounts {
        let secret = format!("local/{an}");
        registry
            .put_secret(
                &secret,
                &serde_json::json!({"appKey": key, "appToken": token}).to_string(),
            )
            .await
            .unwrap();
        let mut m = Marketplace::new(AccountName::parse(an).unwrap(), "seller-1", secret);
        m.base_url = Some(format!("http://{addr}/{{an}}"));
        m.enabled = enabled;
        registry.put(&m).await.unwrap();
    }
    let oms = vtex::accounts::AccountClients::new(
        Arc::new(CachedRegistry::new(
            Arc::new(registry.clone()),
            None,
            Duration::ZERO,
        )),
        Arc::new(registry),
        // The stack's own base points nowhere: every read must take its entry's.
        VtexClient::without_credentials("http://127.0.0.1:9/{an}", Duration::from_secs(5)).unwrap(),
    );
    for (id, an) in [
        ("SLR-A", "alpha"),
        ("SLR-B", "beta"),
        ("SLR-OFF", "off"),
        ("SLR-GAMMA", "gamma"),
    ] {
        let o = w.authorized(id, &format!("m-{an}"), 2).await;
        let mut o = w.orders.get(&o.order_id).await.unwrap().unwrap();
        o.an = an.into();
        let SaveOutcome::Saved(_) = w.orders.save(&o, StockEffect::None).await.unwrap() else {
            panic!("{id}")
        };
    }
    w.plant(OmsDrift {
        value: Some(9_000),
        ..drift("m-beta")
    });
    let mut deps = w.deps(Duration::from_secs(1), Duration::ZERO);
    deps.oms = Arc::new(oms);
    let event =
        serde_json::from_str(include_str!("../../../events/reconciler.scheduled.json")).unwrap();
    let r = reconciler::handle(&deps, event, w.clock.now() + Span::minutes(5))
        .await
        .unwrap();
    assert_eq!((r.checked, r.skipped, r.errors), (2, 2, 0), "{r:?}");
    assert_eq!((r.drifted, r.drifts.get("VALUE")), (1, Some(&1)), "{r:?}");
    let reads: Vec<(Option<String>, String, bool)> = w
        .standin
        .state()
        .requests()
        .into_iter()
        .filter(|q| q.method == "GET")
        .map(|q| (q.account, q.path, q.authorized))
        .collect();
    assert_eq!(
        reads,
        [
            // Same creation time: newest first is by id, descending.
            (
                Some("beta".into()),
                "/api/oms/pvt/orders/m-beta".into(),
                true
            ),
            (
                Some("alpha".into()),
                "/api/oms/pvt/orders/m-alpha".into(),
                true
            ),
        ],
        "each read at its own account, with its own key, and no other"
    );
    let alert = w.entries("SLR-B", steps::DRIFT).await;
    assert!(alert[0].detail.contains("VTEX 9000 cents"), "{alert:?}");
    drop(path);
}
