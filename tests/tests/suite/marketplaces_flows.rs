//! Several marketplaces in one stack (issue 18): every outbound call goes to the order's own
//! account with that account's credentials (the stand-in journals the account and checks its
//! key), and an account that is not registered, or disabled, is refused inbound and parked
//! outbound, never sent with another account's credentials. Over the embedded store, its
//! registry and local secrets, and the local queue, as the local runner runs them.

use chrono::Utc;
use dispatch::{Backoff, Deps, handle};
use domain::clock::SystemClock;
use domain::erp::{ErpCommand, ErpMessage, OrderRef};
use domain::invoicing::{Invoice, InvoiceItem, InvoiceType};
use domain::marketplaces::{AccountName, CachedRegistry, Marketplace, MarketplaceRegistry};
use domain::money::Cents;
use domain::order::{Order, OrderLine, OrderStatus, Outcome};
use domain::ports::{CatalogWriter, OrderStore, PlaceOutcome, StockEffect};
use embedded_store::EmbeddedStore;
use embedded_store::invoices::SqliteInvoices;
use embedded_store::marketplaces::SqliteRegistry;
use local::event_source::poll_once;
use std::sync::Arc;
use std::time::Duration;
use vtex::accounts::AccountClients;
use vtex::client::{AppCredentials, VtexClient};
use vtex_standin::{RecordedRequest, StandInConfig};

/// `(an, seller id, app key, app token)` of the two marketplaces the stand-in serves.
const ALPHA: (&str, &str, &str, &str) = ("alpha", "seller-in-alpha", "key-alpha", "token-alpha");
const BETA: (&str, &str, &str, &str) = ("beta", "seller-in-beta", "key-beta", "token-beta");

fn order(order_id: &str, an: &str, marketplace_order_id: &str) -> Order {
    let now = Utc::now();
    Order {
        order_id: order_id.into(),
        an: an.into(),
        sc: None,
        marketplace_order_id: marketplace_order_id.into(),
        marketplace_order_group: None,
        marketplace_services_endpoint: None,
        marketplace_payment_value: Cents(11080),
        status: OrderStatus::Reserved,
        lines: vec![OrderLine {
            index: 0,
            sku_id: "2002495".into(),
            quantity: 1,
            unit_price: Cents(9990),
            freight: Cents(1090),
            selected_sla: None,
            location_id: "wh1".into(),
            lock_ttl: None,
            shipping_estimate: None,
            delivery_window: None,
        }],
        address: None,
        customer: None,
        created_at: now,
        expires_at: now + chrono::Duration::days(8),
        authorized: None,
        canceled: None,
        pending_cancellation: None,
        seller_cancel: None,
        value: None,
        version: 0,
    }
}

fn invoice(number: &str) -> Invoice {
    Invoice {
        kind: InvoiceType::Output,
        invoice_number: number.into(),
        invoice_value: Cents(11080),
        issuance_date: "2024-02-07T15:22:56-03:00".into(),
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

struct World {
    standin: vtex_standin::ServerHandle,
    store: EmbeddedStore,
    registry: SqliteRegistry,
    deps: Deps,
    queue: embedded_store::LocalQueue,
    base: String,
}

/// The stand-in serving alpha and beta; both registered (base `http://…/{an}`, their own
/// secrets), plus `off`, registered and disabled, with valid credentials.
async fn world() -> World {
    let config = StandInConfig::default()
        .with_account(ALPHA.0, AppCredentials::new(ALPHA.2, ALPHA.3))
        .with_account(BETA.0, AppCredentials::new(BETA.2, BETA.3))
        .with_account("off", AppCredentials::new("key-off", "token-off"));
    let (addr, standin) = vtex_standin::serve_with("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let base = format!("http://{addr}/{{an}}");
    let store = EmbeddedStore::open_in_memory().unwrap();
    let registry = SqliteRegistry::new(&store).unwrap();
    for (an, seller, key, token, enabled) in [
        (ALPHA.0, ALPHA.1, ALPHA.2, ALPHA.3, true),
        (BETA.0, BETA.1, BETA.2, BETA.3, true),
        ("off", "seller-off", "key-off", "token-off", false),
    ] {
        let secret = format!("local/{an}");
        registry
            .put_secret(
                &secret,
                &serde_json::json!({"appKey": key, "appToken": token}).to_string(),
            )
            .await
            .unwrap();
        let mut m = Marketplace::new(AccountName::parse(an).unwrap(), seller, secret);
        m.base_url = Some(base.clone());
        m.enabled = enabled;
        registry.put(&m).await.unwrap();
    }
    let sku = serde_json::from_value(serde_json::json!({
        "id": "2002495", "name": "Capa", "prices": [],
        "stock": { "wh1": { "onHand": 50, "reserved": 0 } }
    }))
    .unwrap();
    store.upsert_sku(&sku).await.unwrap();
    let queue = store.queue("dispatch").with_max_receives(3);
    // The stack's own base URL points nowhere: every call must take the entry's.
    let oms = AccountClients::new(
        Arc::new(CachedRegistry::new(
            Arc::new(registry.clone()),
            None,
            Duration::ZERO,
        )),
        Arc::new(registry.clone()),
        VtexClient::without_credentials("http://127.0.0.1:9/{an}", Duration::from_secs(5)).unwrap(),
    );
    let deps = Deps {
        orders: Arc::new(store.clone()),
        invoices: Arc::new(SqliteInvoices::new(&store).unwrap()),
        vtex: Arc::new(oms),
        queue: Arc::new(queue.clone()),
        clock: Arc::new(SystemClock),
        default_an: None,
        backoff: Backoff {
            base: Duration::ZERO,
            max: Duration::ZERO,
        },
    };
    World {
        standin,
        store,
        registry,
        deps,
        queue,
        base,
    }
}

impl World {
    /// An authorized order of `an`, which VTEX placed (the stand-in's OMS holds it).
    async fn authorized(&self, order_id: &str, an: &str, marketplace_order_id: &str) {
        self.standin
            .state()
            .place(&serde_json::json!([{
                "marketplaceOrderId": marketplace_order_id, "marketplacePaymentValue": 11080,
                "items": [{"id": "2002495", "quantity": 1, "price": 9990}],
                "shippingData": {"logisticsInfo": [{"itemIndex": 0, "price": 1090}]}
            }]))
            .unwrap();
        let PlaceOutcome::Created(mut o) = self
            .store
            .create_reserved(&order(order_id, an, marketplace_order_id))
            .await
            .unwrap()
        else {
            panic!("placement of {order_id} failed")
        };
        o.status = OrderStatus::Authorized;
        self.store.save(&o, StockEffect::None).await.unwrap();
    }

    async fn send_invoice(&self, order_id: &str, number: &str) {
        let m = ErpMessage::new(
            OrderRef::by_order_id(order_id),
            ErpCommand::Invoice {
                invoice: invoice(number),
            },
        );
        self.queue
            .send(&m.to_json(), Some(order_id), None)
            .await
            .unwrap();
    }

    async fn drain(&self) {
        for _ in 0..20 {
            poll_once(&self.queue, 10, Duration::from_secs(30), |e| {
                handle(&self.deps, e)
            })
            .await
            .unwrap();
            if self.queue.is_empty().await.unwrap() {
                return;
            }
        }
        panic!("the dispatch queue did not drain");
    }

    fn journal(&self) -> Vec<RecordedRequest> {
        self.standin.state().requests()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_marketplace_s_invoice_goes_to_its_own_account_with_its_own_credentials() {
    let w = world().await;
    w.authorized("SLR-A", ALPHA.0, "A-1001").await;
    w.authorized("SLR-B", BETA.0, "B-2002").await;
    w.send_invoice("SLR-A", "NFe-A").await;
    w.send_invoice("SLR-B", "NFe-B").await;
    w.drain().await;

    let invoices: Vec<(Option<String>, String, bool, u16)> = w
        .journal()
        .into_iter()
        .filter(|r| r.path.ends_with("/invoice"))
        .map(|r| (r.account, r.path, r.authorized, r.status))
        .collect();
    assert_eq!(invoices.len(), 2, "{invoices:?}");
    for (an, path) in [
        (ALPHA.0, "/api/oms/pvt/orders/A-1001/invoice"),
        (BETA.0, "/api/oms/pvt/orders/B-2002/invoice"),
    ] {
        assert!(
            invoices
                .iter()
                .any(|(a, p, ok, status)| a.as_deref() == Some(an)
                    && p == path
                    && *ok
                    && (200..300).contains(status)),
            "{an}'s invoice did not reach its account with its credentials: {invoices:?}"
        );
    }
    for id in ["SLR-A", "SLR-B"] {
        assert_eq!(
            w.store.get(id).await.unwrap().unwrap().status,
            OrderStatus::Invoiced,
            "{id}"
        );
    }
    assert!(w.queue.dlq().is_empty().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unregistered_or_disabled_account_is_parked_and_nothing_is_sent() {
    let w = world().await;
    w.authorized("SLR-G", "gamma", "G-3003").await;
    w.authorized("SLR-O", "off", "O-4004").await;
    w.send_invoice("SLR-G", "NFe-G").await;
    w.send_invoice("SLR-O", "NFe-O").await;
    w.drain().await;

    assert!(
        w.journal().is_empty(),
        "a call went out for an account that is not served: {:?}",
        w.journal()
    );
    assert_eq!(w.queue.dlq().len().await.unwrap(), 2, "both parked");
    for (id, says) in [
        ("SLR-G", "gamma is not registered"),
        ("SLR-O", "off is disabled"),
    ] {
        let log = w.store.read_log(id).await.unwrap();
        assert!(
            log.iter()
                .any(|e| e.outcome == Outcome::Error && e.detail.contains(says)),
            "{id}: {log:?}"
        );
        assert_eq!(
            w.store.get(id).await.unwrap().unwrap().status,
            OrderStatus::Authorized,
            "{id} is not invoiced"
        );
    }

    // Registering the account and re-driving delivers it, with that account's credentials.
    w.registry
        .put_secret(
            "local/gamma",
            r#"{"appKey":"key-gamma","appToken":"token-gamma"}"#,
        )
        .await
        .unwrap();
    let mut gamma = Marketplace::new(AccountName::parse("gamma").unwrap(), "s-g", "local/gamma");
    gamma.base_url = Some(w.base.clone());
    w.registry.put(&gamma).await.unwrap();
    w.queue.dlq().redrive().await.unwrap();
    w.drain().await;
    let sent: Vec<_> = w
        .journal()
        .into_iter()
        .filter(|r| r.path.ends_with("/invoice"))
        .collect();
    // The stand-in does not serve gamma: the call went to /gamma/… (a 404 there), not to another
    // account with its key.
    assert!(
        sent.iter()
            .all(|r| r.account.is_none() && !r.authorized && r.status >= 400),
        "{sent:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stand_in_refuses_one_account_s_key_on_another_account() {
    let w = world().await;
    w.authorized("SLR-A", ALPHA.0, "A-1001").await;
    let base = w.base.replace("{an}", BETA.0);
    let wrong = VtexClient::new(base, AppCredentials::new(ALPHA.2, ALPHA.3)).unwrap();
    let out = domain::outbound::MarketplaceOms::cancel(&wrong, BETA.0, "A-1001", "x")
        .await
        .unwrap();
    assert!(
        matches!(
            out,
            domain::outbound::CallOutcome::Rejected { status: 403, .. }
        ),
        "{out:?}"
    );
    let r = w.journal().pop().unwrap();
    assert_eq!(r.account.as_deref(), Some(BETA.0));
    assert!(!r.authorized);
}

#[tokio::test]
async fn placement_fulfill_and_cancel_for_an_unregistered_account_are_refused_inbound() {
    let w = world().await;
    let default = Some(ALPHA.0.to_string());
    let request = |path: &str| {
        let mut req = lambda_http::Request::new(lambda_http::Body::from("{}"));
        *req.uri_mut() = format!("https://x/vtex/s3cret{path}").parse().unwrap();
        *req.method_mut() = lambda_http::http::Method::POST;
        req
    };
    for path in [
        "/pvt/orders?an=gamma",
        "/pvt/orders/SLR-1/fulfill?an=gamma",
        "/pvt/orders/SLR-1/cancel?an=off",
    ] {
        let resp =
            lambda_kit::marketplaces::refuse_unregistered(&w.registry, &default, &request(path))
                .await
                .unwrap_or_else(|| panic!("{path} was let through"));
        assert_eq!(resp.status(), 403, "{path}");
        let v: serde_json::Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
        assert_eq!(v["error"]["code"], "MKP001", "{path}");
    }
    for path in ["/pvt/orders?an=alpha", "/pvt/orders?an=beta", "/pvt/orders"] {
        assert!(
            lambda_kit::marketplaces::refuse_unregistered(&w.registry, &default, &request(path))
                .await
                .is_none(),
            "{path}"
        );
    }
}
