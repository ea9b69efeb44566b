//! Life cycle tests: the pure decisions first, then every transition through the ports with the
//! in-memory store and a hand-moved clock. GIVEN / WHEN / THEN in the names' spirit.

use super::*;
use crate::catalog::{CatalogFile, Dimensions, PriceEntry, StockLevel};
use crate::clock::ManualClock;
use crate::memory::MemoryStore;
use crate::shipping::{Carrier, PickupAddress, PickupPoint, Warehouse};
use async_trait::async_trait;
use chrono::{Duration, TimeZone};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

// --- fixtures ------------------------------------------------------------------------------------

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
}

fn sku(id: &str, stock: &[(&str, i64)]) -> Sku {
    Sku {
        id: id.into(),
        active: true,
        name: format!("SKU {id}"),
        prices: vec![PriceEntry {
            an: None,
            sc: None,
            price: Cents(9990),
            list_price: Cents(9990),
            valid_until: None,
        }],
        stock: stock
            .iter()
            .map(|(loc, n)| {
                (
                    loc.to_string(),
                    StockLevel {
                        on_hand: *n,
                        reserved: 0,
                    },
                )
            })
            .collect::<BTreeMap<_, _>>(),
        sales_channels: vec![],
        dimensions: Dimensions::default(),
        measurement_unit: "un".into(),
        unit_multiplier: 1,
        offerings: vec![],
        product: None,
    }
}

fn carrier(id: &str, warehouse: &str) -> Carrier {
    Carrier {
        id: id.into(),
        name: id.into(),
        warehouse_id: warehouse.into(),
        zones: vec![],
        sales_channels: vec![],
        scheduled: None,
    }
}

fn rules() -> ShippingRules {
    ShippingRules {
        ships_to: vec!["BRA".into()],
        warehouses: vec![
            Warehouse {
                id: "wh-1".into(),
                name: "Main".into(),
            },
            Warehouse {
                id: "wh-2".into(),
                name: "North".into(),
            },
        ],
        carriers: vec![carrier("Normal", "wh-1"), carrier("Express", "wh-2")],
        pickup_points: vec![PickupPoint {
            id: "pp-1".into(),
            name: "Store".into(),
            friendly_name: "Store".into(),
            address: PickupAddress {
                postal_code: "01000000".into(),
                city: "São Paulo".into(),
                state: "SP".into(),
                country: "BRA".into(),
                street: "Rua A".into(),
                number: "1".into(),
                neighborhood: "Centro".into(),
                complement: String::new(),
                reference: None,
                geo_coordinates: [-46.6, -23.5],
            },
            serves: vec![],
            additional_info: String::new(),
            sales_channels: vec![],
        }],
        follow_up_email: "seller@example.com".into(),
    }
}

fn catalog() -> CatalogFile {
    CatalogFile {
        version: 1,
        shipping_rules: rules(),
        skus: vec![
            sku("sku-1", &[("wh-1", 5), ("wh-2", 1)]),
            sku("sku-2", &[("wh-1", 1), ("pp-1", 2)]),
            sku("sku-3", &[("wh-2", 3)]),
        ],
    }
}

fn line(sku_id: &str, quantity: i64, sla: Option<&str>) -> PlacementLine {
    PlacementLine {
        sku_id: sku_id.into(),
        quantity,
        unit_price: Cents(9990),
        adjustments: Default::default(),
        freight: Cents(1090),
        selected_sla: sla.map(str::to_string),
        lock_ttl: Some(VtexDuration::Days(8)),
        shipping_estimate: Some(VtexDuration::Days(7)),
        delivery_window: None,
    }
}

/// A placement whose `marketplacePaymentValue` is what its lines add up to, as VTEX sends it.
fn placement(mkp_id: &str, lines: Vec<PlacementLine>) -> PlacementRequest {
    let value = lines
        .iter()
        .map(|l| l.unit_price * l.quantity + l.freight)
        .sum();
    PlacementRequest {
        an: "luxstore".into(),
        sc: Some("1".into()),
        marketplace_order_id: mkp_id.into(),
        marketplace_services_endpoint: Some("https://mse.example/".into()),
        marketplace_payment_value: value,
        shipping_outdated: false,
        lines,
        address: Some(Address {
            receiver_name: Some("Jonas".into()),
            country: Some("BRA".into()),
            ..Address::default()
        }),
        customer: Some(Customer {
            email: Some("jonas@example.com".into()),
            ..Customer::default()
        }),
    }
}

fn fulfill_req(order: &Order) -> FulfillRequest {
    FulfillRequest {
        order_id: order.order_id.clone(),
        marketplace_order_id: order.marketplace_order_id.clone(),
        marketplace_order_group: Some("grp-1".into()),
    }
}

fn cancel_req(path_id: &str, mkp_id: Option<&str>, request_id: &str) -> CancelRequest {
    CancelRequest {
        path_id: path_id.into(),
        an: "luxstore".into(),
        marketplace_order_id: mkp_id.map(str::to_string),
        marketplace_order_group: Some("grp-1".into()),
        request_id: Some(request_id.into()),
        reason: Some("Out of stock".into()),
        requested_by_user: Some(true),
    }
}

/// Predictable ids: `SLR-T0001…`, receipts `rcpt-1…`.
#[derive(Default)]
struct SeqIds(AtomicUsize, AtomicUsize);

impl IdGen for SeqIds {
    fn order_id(&self) -> OrderId {
        format!("SLR-T{:04}", self.0.fetch_add(1, Ordering::SeqCst) + 1)
    }
    fn receipt(&self) -> String {
        format!("rcpt-{}", self.1.fetch_add(1, Ordering::SeqCst) + 1)
    }
}

struct World {
    store: MemoryStore,
    clock: Arc<ManualClock>,
    lc: Lifecycle,
}

fn world_with(store: Arc<dyn OrderStore>, memory: MemoryStore, config: LifecycleConfig) -> World {
    let clock = Arc::new(ManualClock::new(t0()));
    let lc = Lifecycle::new(
        store,
        Arc::new(memory.clone()),
        Arc::new(memory.clone()),
        clock.clone(),
    )
    .with_ids(Arc::new(SeqIds::default()))
    .with_config(config);
    World {
        store: memory,
        clock,
        lc,
    }
}

fn world() -> World {
    let memory = MemoryStore::with_catalog(&catalog());
    world_with(Arc::new(memory.clone()), memory, LifecycleConfig::default())
}

impl World {
    async fn stock(&self, sku_id: &str, loc: &str) -> StockLevel {
        let skus = self.store.get_skus(&[sku_id.to_string()]).await.unwrap();
        skus[sku_id].stock.get(loc).copied().unwrap_or_default()
    }

    async fn place_ok(&self, req: PlacementRequest) -> (Order, bool) {
        match self.lc.place(req).await.unwrap() {
            PlacementDecision::Placed { order, replay } => (*order, replay),
            other => panic!("expected Placed, got {other:?}"),
        }
    }

    async fn order(&self, id: &str) -> Order {
        self.store.get(id).await.unwrap().unwrap()
    }

    async fn log(&self, id: &str) -> Vec<LogEntry> {
        self.store.read_log(id).await.unwrap()
    }

    /// What the ERP has received once the outbox relay ran over everything pending.
    async fn delivered(&self) -> Vec<OrderEvent> {
        let report = self
            .lc
            .relay(Arc::new(self.store.clone()))
            .drain()
            .await
            .unwrap();
        assert!(report.failed.is_empty(), "{report:?}");
        self.store.events()
    }
}

// --- pure: ids, validation, locations, expiry --------------------------------------------------

#[test]
fn order_ids_are_prefixed_url_safe_and_unique() {
    let ids: HashSet<String> = (0..2000).map(|_| new_order_id()).collect();
    assert_eq!(ids.len(), 2000);
    for id in &ids {
        assert_eq!(id.len(), 24, "{id}");
        assert!(id.starts_with(ORDER_ID_PREFIX));
        assert!(
            id[4..]
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        );
    }
}

#[test]
fn validation_refuses_orders_no_one_can_fulfill() {
    let ok = placement("1", vec![line("sku-1", 1, Some("Normal"))]);
    assert_eq!(validate_placement(&ok, &OrderLimits::default()), Ok(()));
    let mut empty = ok.clone();
    empty.lines.clear();
    let mut zero = ok.clone();
    zero.lines[0].quantity = 0;
    let mut negative = ok.clone();
    negative.lines[0].unit_price = Cents(-1);
    let mut no_id = ok.clone();
    no_id.marketplace_order_id = " ".into();
    for bad in [empty, zero, negative, no_id] {
        assert!(matches!(
            validate_placement(&bad, &OrderLimits::default()),
            Err(PlacementRefusal::Invalid { .. })
        ));
    }
}

#[test]
fn validation_refuses_what_is_past_the_limits_and_takes_what_is_at_them() {
    let limits = OrderLimits {
        units_per_line: 10,
        units_per_order: 15,
        lines: 3,
        value_cents: 1_000_000,
    };
    let refused = |req: &PlacementRequest| {
        matches!(
            validate_placement(req, &limits),
            Err(PlacementRefusal::Invalid { .. })
        )
    };
    let mut at = placement("1", vec![line("sku-1", 10, None), line("sku-2", 5, None)]);
    at.lines[0].unit_price = Cents(90_000);
    assert_eq!(validate_placement(&at, &limits), Ok(()), "at every limit");
    let mut per_line = at.clone();
    per_line.lines[0].quantity = 11;
    let mut per_order = at.clone();
    per_order.lines[1].quantity = 6;
    let mut lines = at.clone();
    lines
        .lines
        .extend([line("sku-3", 1, None), line("sku-3", 1, None)]);
    let mut value = at.clone();
    value.lines[0].unit_price = Cents(100_000);
    let mut payment = at.clone();
    payment.marketplace_payment_value = Cents(1_000_001);
    for (what, req) in [
        ("units per line", per_line),
        ("units per order", per_order),
        ("lines", lines),
        ("value", value),
        ("payment value", payment),
    ] {
        assert!(refused(&req), "{what} past its limit was accepted");
    }
}

/// The sums of units that wrapped in release (and panicked in debug): two lines of one SKU, one of
/// them i64::MAX units, with the default limits.
#[tokio::test]
async fn a_placement_whose_units_would_overflow_is_refused_and_holds_nothing() {
    let w = world();
    let before = w.stock("sku-1", "wh-1").await;
    let mut req = placement(
        "mkp-overflow",
        vec![line("sku-1", i64::MAX, None), line("sku-1", 2, None)],
    );
    req.marketplace_payment_value = Cents(1);
    match w.lc.place(req).await.unwrap() {
        PlacementDecision::Refused(PlacementRefusal::Invalid { reason }) => {
            assert!(reason.contains("quantity"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(w.stock("sku-1", "wh-1").await, before, "stock unchanged");
    let mut big = placement("mkp-big", vec![line("sku-1", 100_000, None)]);
    big.marketplace_payment_value = Cents(1);
    assert!(matches!(
        w.lc.place(big).await.unwrap(),
        PlacementDecision::Refused(_)
    ));
    assert_eq!(w.stock("sku-1", "wh-1").await, before, "stock unchanged");
}

#[test]
fn selected_carrier_takes_stock_from_its_warehouse_and_pickup_from_its_shelf() {
    let r = rules();
    let s = sku("sku-2", &[("wh-1", 1), ("pp-1", 2)]);
    let none = HashMap::new();
    assert_eq!(
        resolve_stock_source(Some(&r), None, &s, Some("Express"), 1, &none),
        Some(StockSource::Carrier("wh-2".into()))
    );
    assert_eq!(
        resolve_stock_source(Some(&r), None, &s, Some("pp-1"), 1, &none),
        Some(StockSource::PickupPoint("pp-1".into()))
    );
}

#[test]
fn unknown_sla_falls_back_to_first_warehouse_with_enough_stock() {
    let r = rules();
    let s = sku("sku-1", &[("wh-1", 1), ("wh-2", 3)]);
    let none = HashMap::new();
    assert_eq!(
        resolve_stock_source(Some(&r), None, &s, None, 1, &none),
        Some(StockSource::Fallback("wh-1".into()))
    );
    assert_eq!(
        resolve_stock_source(Some(&r), None, &s, Some("Teleport"), 2, &none),
        Some(StockSource::Fallback("wh-2".into()))
    );
    // Earlier lines of the same order count.
    let taken = HashMap::from([(("sku-1".to_string(), "wh-1".to_string()), 1)]);
    assert_eq!(
        resolve_stock_source(Some(&r), None, &s, None, 1, &taken),
        Some(StockSource::Fallback("wh-2".into()))
    );
    // Nobody has enough: the fullest, so the refusal names a real shelf.
    assert_eq!(
        resolve_stock_source(Some(&r), None, &s, None, 9, &none),
        Some(StockSource::Fallback("wh-2".into()))
    );
}

#[test]
fn fallback_never_takes_a_pickup_shelf() {
    let mut r = rules();
    r.carriers.clear();
    r.warehouses.clear();
    let s = sku("sku-2", &[("pp-1", 5), ("wh-9", 1)]);
    assert_eq!(
        resolve_stock_source(Some(&r), None, &s, None, 1, &HashMap::new()),
        Some(StockSource::Fallback("wh-9".into()))
    );
    let only_pickup = sku("sku-2", &[("pp-1", 5)]);
    assert_eq!(
        resolve_stock_source(Some(&r), None, &only_pickup, None, 1, &HashMap::new()),
        None
    );
}

#[test]
fn expiry_is_the_largest_lock_ttl_default_when_absent_and_capped() {
    let cfg = LifecycleConfig::default();
    let mut a = line("sku-1", 1, None);
    a.lock_ttl = Some(VtexDuration::Hours(4));
    let mut b = line("sku-1", 1, None);
    b.lock_ttl = Some(VtexDuration::Days(2));
    assert_eq!(
        reservation_expiry(&[a.clone(), b], t0(), &cfg),
        t0() + Duration::days(2)
    );
    let mut none = a.clone();
    none.lock_ttl = None;
    assert_eq!(
        reservation_expiry(std::slice::from_ref(&none), t0(), &cfg),
        t0() + Duration::days(8)
    );
    let mut huge = a;
    huge.lock_ttl = Some(VtexDuration::BusinessDays(999_999));
    assert_eq!(
        reservation_expiry(&[huge], t0(), &cfg),
        t0() + Duration::days(30)
    );
}

// --- pure: decisions -----------------------------------------------------------------------------

fn stored(status: OrderStatus) -> Order {
    let req = placement("mkp-1", vec![line("sku-1", 2, Some("Normal"))]);
    let mut o = plan_order(
        &req,
        &[StockSource::Carrier("wh-1".into())],
        "SLR-X".into(),
        t0(),
        &LifecycleConfig::default(),
    );
    o.status = status;
    if status != OrderStatus::Reserved {
        o.authorized = Some(Receipt {
            date: t0(),
            receipt: "auth-1".into(),
        });
    }
    o
}

#[test]
fn fulfill_decisions_follow_the_state() {
    let req = fulfill_req(&stored(OrderStatus::Reserved));
    match decide_fulfill(&stored(OrderStatus::Reserved), &req, t0(), || "r".into()) {
        FulfillDecision::Authorize(o) => {
            assert_eq!(o.status, OrderStatus::Authorized);
            assert_eq!(o.authorized.as_ref().unwrap().receipt, "r");
            assert_eq!(o.marketplace_order_group.as_deref(), Some("grp-1"));
        }
        other => panic!("{other:?}"),
    }
    for s in [OrderStatus::Authorized, OrderStatus::Invoiced] {
        assert!(matches!(
            decide_fulfill(&stored(s), &req, t0(), || "new".into()),
            FulfillDecision::Replay(r) if r.receipt == "auth-1"
        ));
    }
    for s in [OrderStatus::Canceled, OrderStatus::Expired] {
        assert_eq!(
            decide_fulfill(&stored(s), &req, t0(), || "r".into()),
            FulfillDecision::NotAuthorizable(s)
        );
    }
    let mut other = req.clone();
    other.marketplace_order_id = "mkp-2".into();
    assert_eq!(
        decide_fulfill(&stored(OrderStatus::Reserved), &other, t0(), || "r".into()),
        FulfillDecision::Mismatch
    );
}

#[test]
fn cancel_decisions_follow_the_policy_of_section_5_4() {
    let req = cancel_req("SLR-X", Some("mkp-1"), "c-1");
    let confirm = |s| {
        decide_cancel(
            &stored(s),
            &req,
            t0(),
            AuthorizedCancelPolicy::Confirm,
            || "c".into(),
        )
    };
    for s in [OrderStatus::Reserved, OrderStatus::Authorized] {
        match confirm(s) {
            CancelDecision::Confirm { order, effect } => {
                assert_eq!(order.status, OrderStatus::Canceled);
                assert_eq!(effect, StockEffect::Release);
                let c = order.canceled.unwrap();
                assert_eq!(c.request_id.as_deref(), Some("c-1"));
                assert_eq!(c.by, CanceledBy::Marketplace);
            }
            other => panic!("{s}: {other:?}"),
        }
    }
    assert!(matches!(
        confirm(OrderStatus::Returned),
        CancelDecision::Confirm {
            effect: StockEffect::None,
            ..
        }
    ));
    for s in [
        OrderStatus::PartiallyInvoiced,
        OrderStatus::Invoiced,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
    ] {
        match confirm(s) {
            CancelDecision::Refuse(Some(o)) => {
                assert_eq!(o.status, s);
                assert_eq!(o.pending_cancellation.as_deref(), Some("c-1"));
            }
            other => panic!("{s}: {other:?}"),
        }
    }
    let mut recorded = stored(OrderStatus::Invoiced);
    recorded.pending_cancellation = Some("c-1".into());
    assert_eq!(
        decide_cancel(
            &recorded,
            &req,
            t0(),
            AuthorizedCancelPolicy::Confirm,
            || "c".into()
        ),
        CancelDecision::Refuse(None)
    );
    assert!(matches!(
        decide_cancel(
            &stored(OrderStatus::Authorized),
            &req,
            t0(),
            AuthorizedCancelPolicy::Evaluate,
            || "c".into()
        ),
        CancelDecision::Evaluate(Some(_))
    ));
    let mismatch = cancel_req("SLR-X", Some("mkp-2"), "c-1");
    assert_eq!(
        decide_cancel(
            &stored(OrderStatus::Reserved),
            &mismatch,
            t0(),
            AuthorizedCancelPolicy::Confirm,
            || "c".into()
        ),
        CancelDecision::Mismatch
    );
}

#[test]
fn canceled_and_expired_orders_replay_their_stored_cancellation() {
    let req = cancel_req("SLR-X", None, "c-2");
    let expired = decide_expiry(
        &stored(OrderStatus::Reserved),
        t0() + Duration::days(9),
        || "exp".into(),
    )
    .unwrap();
    assert!(matches!(
        decide_cancel(&expired, &req, t0(), AuthorizedCancelPolicy::Confirm, || "new".into()),
        CancelDecision::Replay(c) if c.receipt == "exp" && c.by == CanceledBy::Expiry
    ));
    let mut canceled = stored(OrderStatus::Canceled);
    canceled.canceled = expired.canceled.clone();
    assert!(matches!(
        decide_cancel(&canceled, &req, t0(), AuthorizedCancelPolicy::Confirm, || "new".into()),
        CancelDecision::Replay(c) if c.receipt == "exp"
    ));
}

#[test]
fn only_lapsed_reservations_expire() {
    let o = stored(OrderStatus::Reserved);
    assert_eq!(
        decide_expiry(&o, o.expires_at - Duration::seconds(1), || "r".into()),
        None
    );
    let e = decide_expiry(&o, o.expires_at, || "r".into()).unwrap();
    assert_eq!(e.status, OrderStatus::Expired);
    assert_eq!(e.canceled.unwrap().by, CanceledBy::Expiry);
    assert_eq!(
        decide_expiry(
            &stored(OrderStatus::Authorized),
            o.expires_at + Duration::days(1),
            || "r".into()
        ),
        None
    );
}

#[test]
fn events_are_stable_per_order_and_kind() {
    let o = stored(OrderStatus::Authorized);
    let a = order_event(&o, OrderEventKind::Authorized);
    assert_eq!(a.event_id, "SLR-X:order.authorized");
    assert_eq!(a, order_event(&o, OrderEventKind::Authorized));
    assert_eq!(a.at, t0());
    assert_eq!(a.lines.len(), 1);
    assert_eq!(a.lines[0].location_id, "wh-1");
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["type"], "order.authorized");
    assert!(json.get("reason").is_none());
}

// --- placement through the ports -----------------------------------------------------------------

#[tokio::test]
async fn placement_reserves_stock_until_the_largest_lock_ttl() {
    let w = world();
    let mut req = placement("mkp-1", vec![line("sku-1", 2, Some("Normal"))]);
    req.lines[0].lock_ttl = Some(VtexDuration::Days(3));
    let (order, replay) = w.place_ok(req).await;
    assert!(!replay);
    assert_eq!(order.order_id, "SLR-T0001");
    assert_eq!(order.status, OrderStatus::Reserved);
    assert_eq!(order.expires_at, t0() + Duration::days(3));
    assert_eq!(order.lines[0].location_id, "wh-1");
    assert_eq!(order.total(), Cents(2 * 9990 + 1090));
    assert_eq!(w.stock("sku-1", "wh-1").await.reserved, 2);
    let stored = w.order(&order.order_id).await;
    assert_eq!(
        stored.marketplace_services_endpoint.as_deref(),
        Some("https://mse.example/")
    );
    let by_mkp = w
        .store
        .get_by_marketplace_id("luxstore", "mkp-1")
        .await
        .unwrap();
    assert_eq!(by_mkp.unwrap().order_id, order.order_id);
    let log = w.log(&order.order_id).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].step, steps::PLACEMENT);
    assert_eq!(log[0].outcome, Outcome::Success);
    assert!(
        w.delivered().await.is_empty(),
        "placement tells the ERP nothing"
    );
}

#[tokio::test]
async fn placement_retry_returns_same_order_id_and_reserves_once() {
    let w = world();
    let req = placement("mkp-1", vec![line("sku-1", 2, Some("Normal"))]);
    let (first, _) = w.place_ok(req.clone()).await;
    let (again, replay) = w.place_ok(req).await;
    assert!(replay);
    assert_eq!(again.order_id, first.order_id);
    assert_eq!(w.stock("sku-1", "wh-1").await.reserved, 2);
}

#[tokio::test]
async fn placement_retry_after_the_last_unit_is_still_answered() {
    let w = world();
    let req = placement("mkp-1", vec![line("sku-2", 1, Some("Normal"))]);
    let (first, _) = w.place_ok(req.clone()).await;
    assert_eq!(w.stock("sku-2", "wh-1").await.sellable(), 0);
    let (again, replay) = w.place_ok(req).await;
    assert!(replay);
    assert_eq!(again.order_id, first.order_id);
}

/// Hides existing orders from the fast-path lookup, as when two attempts race past it.
struct BlindLookup(MemoryStore);

#[async_trait]
impl OrderStore for BlindLookup {
    async fn create_reserved(&self, order: &Order) -> Result<PlaceOutcome, StoreError> {
        self.0.create_reserved(order).await
    }
    async fn get(&self, id: &str) -> Result<Option<Order>, StoreError> {
        self.0.get(id).await
    }
    async fn get_by_marketplace_id(&self, _: &str, _: &str) -> Result<Option<Order>, StoreError> {
        Ok(None)
    }
    async fn save_emitting(
        &self,
        o: &Order,
        e: StockEffect,
        events: &[OrderEvent],
    ) -> Result<SaveOutcome, StoreError> {
        self.0.save_emitting(o, e, events).await
    }
    async fn emit(&self, events: &[OrderEvent]) -> Result<(), StoreError> {
        self.0.emit(events).await
    }
    async fn expired_reservations(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Order>, StoreError> {
        self.0.expired_reservations(now, limit).await
    }
    async fn append_log(&self, id: &str, e: &LogEntry) -> Result<(), StoreError> {
        self.0.append_log(id, e).await
    }
    async fn read_log(&self, id: &str) -> Result<Vec<LogEntry>, StoreError> {
        self.0.read_log(id).await
    }
}

#[tokio::test]
async fn racing_placement_gets_the_winners_order_id() {
    let memory = MemoryStore::with_catalog(&catalog());
    let w = world_with(
        Arc::new(BlindLookup(memory.clone())),
        memory,
        LifecycleConfig::default(),
    );
    let req = placement("mkp-1", vec![line("sku-1", 2, Some("Normal"))]);
    let (first, _) = w.place_ok(req.clone()).await;
    let (second, replay) = w.place_ok(req).await;
    assert!(replay);
    assert_eq!(second.order_id, first.order_id);
    assert_eq!(w.stock("sku-1", "wh-1").await.reserved, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_placements_never_oversell() {
    let w = world();
    // sku-1 has 5 units at wh-1; 12 different orders of 1 unit each.
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let lc = w.lc.clone();
            tokio::spawn(async move {
                lc.place(placement(
                    &format!("mkp-{i}"),
                    vec![line("sku-1", 1, Some("Normal"))],
                ))
                .await
                .unwrap()
            })
        })
        .collect();
    let mut placed = 0;
    for t in tasks {
        match t.await.unwrap() {
            PlacementDecision::Placed { .. } => placed += 1,
            PlacementDecision::Refused(PlacementRefusal::OutOfStock { location_id, .. }) => {
                assert_eq!(location_id, "wh-1");
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(placed, 5);
    let level = w.stock("sku-1", "wh-1").await;
    assert_eq!(level.reserved, 5);
    assert_eq!(level.sellable(), 0);
}

#[tokio::test]
async fn placement_refusals_reserve_nothing() {
    let w = world();
    let cases = [
        (
            placement("a", vec![line("sku-1", 6, Some("Normal"))]),
            PlacementRefusal::OutOfStock {
                sku_id: "sku-1".into(),
                location_id: "wh-1".into(),
            },
        ),
        (
            placement(
                "b",
                vec![
                    line("sku-1", 1, Some("Normal")),
                    line("nope", 1, Some("Normal")),
                ],
            ),
            PlacementRefusal::UnknownSku {
                sku_id: "nope".into(),
            },
        ),
        (
            PlacementRequest {
                shipping_outdated: true,
                ..placement("c", vec![line("sku-1", 1, Some("Normal"))])
            },
            PlacementRefusal::ShippingDataOutdated,
        ),
    ];
    for (req, expected) in cases {
        assert_eq!(
            w.lc.place(req).await.unwrap(),
            PlacementDecision::Refused(expected)
        );
    }
    assert_eq!(w.stock("sku-1", "wh-1").await.reserved, 0);
    for id in ["a", "b", "c"] {
        assert!(
            w.store
                .get_by_marketplace_id("luxstore", id)
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn two_lines_of_one_sku_are_held_together() {
    let w = world();
    let (order, _) = w
        .place_ok(placement(
            "mkp-1",
            vec![
                line("sku-2", 1, Some("Normal")),
                line("sku-2", 2, Some("pp-1")),
            ],
        ))
        .await;
    assert_eq!(order.lines[1].location_id, "pp-1");
    assert_eq!(w.stock("sku-2", "wh-1").await.reserved, 1);
    assert_eq!(w.stock("sku-2", "pp-1").await.reserved, 2);
}

#[tokio::test]
async fn unknown_sla_is_placed_from_a_fallback_warehouse_with_an_alert() {
    let w = world();
    let (order, _) = w
        .place_ok(placement("mkp-1", vec![line("sku-3", 1, None)]))
        .await;
    assert_eq!(order.lines[0].location_id, "wh-2");
    let log = w.log(&order.order_id).await;
    assert!(
        log.iter()
            .any(|e| e.outcome == Outcome::Alert && e.detail.contains("wh-2"))
    );
}

// --- fulfill -------------------------------------------------------------------------------------

#[tokio::test]
async fn fulfill_authorizes_publishes_and_repeats_the_same_receipt() {
    let w = world();
    let (order, _) = w
        .place_ok(placement("mkp-1", vec![line("sku-1", 2, Some("Normal"))]))
        .await;
    w.clock.advance(Duration::hours(1));
    let FulfillOutcome::Authorized {
        order: authorized,
        receipt,
        replay,
    } = w.lc.fulfill(fulfill_req(&order)).await.unwrap()
    else {
        panic!("not authorized")
    };
    assert!(!replay);
    assert_eq!(authorized.status, OrderStatus::Authorized);
    assert_eq!(receipt.date, t0() + Duration::hours(1));
    assert_eq!(authorized.marketplace_order_group.as_deref(), Some("grp-1"));
    // The reservation becomes the hold of the firm order: stock unchanged.
    assert_eq!(w.stock("sku-1", "wh-1").await.reserved, 2);
    let events = w.delivered().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, OrderEventKind::Authorized);

    w.clock.advance(Duration::hours(1));
    let FulfillOutcome::Authorized {
        receipt: again,
        replay,
        ..
    } = w.lc.fulfill(fulfill_req(&order)).await.unwrap()
    else {
        panic!("not authorized")
    };
    assert!(replay);
    assert_eq!(again, receipt);
    let events = w.delivered().await;
    assert_eq!(events.len(), 2, "a replay publishes again");
    assert_eq!(events[0], events[1], "with the same event");
    assert_eq!(w.order(&order.order_id).await.version, 1);
}

#[tokio::test]
async fn fulfill_refuses_unknown_mismatched_and_canceled_orders() {
    let w = world();
    let (order, _) = w
        .place_ok(placement("mkp-1", vec![line("sku-1", 1, Some("Normal"))]))
        .await;
    let mut unknown = fulfill_req(&order);
    unknown.order_id = "SLR-NOPE".into();
    assert_eq!(
        w.lc.fulfill(unknown).await.unwrap(),
        FulfillOutcome::NotFound
    );
    let mut mismatch = fulfill_req(&order);
    mismatch.marketplace_order_id = "other".into();
    assert_eq!(
        w.lc.fulfill(mismatch).await.unwrap(),
        FulfillOutcome::MarketplaceOrderMismatch
    );
    w.lc.cancel(cancel_req(&order.order_id, Some("mkp-1"), "c-1"))
        .await
        .unwrap();
    assert_eq!(
        w.lc.fulfill(fulfill_req(&order)).await.unwrap(),
        FulfillOutcome::NotAuthorizable {
            status: OrderStatus::Canceled
        }
    );
    assert_eq!(w.order(&order.order_id).await.status, OrderStatus::Canceled);
    let log = w.log(&order.order_id).await;
    assert!(
        log.iter()
            .any(|e| e.step == steps::FULFILL && e.outcome == Outcome::Error)
    );
}

#[tokio::test]
async fn late_fulfill_before_the_sweep_still_authorizes() {
    let w = world();
    let (order, _) = w
        .place_ok(placement("mkp-1", vec![line("sku-1", 1, Some("Normal"))]))
        .await;
    w.clock.advance(Duration::days(9));
    assert!(matches!(
        w.lc.fulfill(fulfill_req(&order)).await.unwrap(),
        FulfillOutcome::Authorized { replay: false, .. }
    ));
    let report = w.lc.sweep().await.unwrap();
    assert!(report.expired.is_empty());
}

// --- cancel --------------------------------------------------------------------------------------

#[tokio::test]
async fn cancel_of_a_reservation_confirms_releases_and_repeats_the_same_answer() {
    let w = world();
    let (order, _) = w
        .place_ok(placement("mkp-1", vec![line("sku-1", 2, Some("Normal"))]))
        .await;
    let CancelOutcome::Confirmed {
        order: canceled,
        cancellation,
        replay,
    } =
        w.lc.cancel(cancel_req(&order.order_id, Some("mkp-1"), "c-1"))
            .await
            .unwrap()
    else {
        panic!("not confirmed")
    };
    assert!(!replay);
    assert_eq!(canceled.status, OrderStatus::Canceled);
    assert_eq!(w.stock("sku-1", "wh-1").await.reserved, 0);
    let events = w.delivered().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, OrderEventKind::Canceled);
    assert_eq!(events[0].reason.as_deref(), Some("Out of stock"));

    // Same request again, and a new request id: the same confirmation, stock untouched.
    for rid in ["c-1", "c-2"] {
        let CancelOutcome::Confirmed {
            cancellation: again,
            replay,
            ..
        } =
            w.lc.cancel(cancel_req(&order.order_id, Some("mkp-1"), rid))
                .await
                .unwrap()
        else {
            panic!("not confirmed")
        };
        assert!(replay);
        assert_eq!(again, cancellation);
    }
    assert_eq!(w.stock("sku-1", "wh-1").await.reserved, 0);
    assert!(
        w.delivered()
            .await
            .iter()
            .all(|e| e.event_id == events[0].event_id)
    );
}

#[tokio::test]
async fn cancel_path_id_falls_back_to_the_marketplace_order_id() {
    let w = world();
    let (order, _) = w
        .place_ok(placement("mkp-1", vec![line("sku-1", 1, Some("Normal"))]))
        .await;
    // Marketplace-style id in the path and in the body.
    let out =
        w.lc.cancel(cancel_req("mkp-1", Some("mkp-1"), "c-1"))
            .await
            .unwrap();
    assert!(
        matches!(out, CancelOutcome::Confirmed { order: ref o, .. } if o.order_id == order.order_id)
    );
    // Nothing matches at all.
    assert_eq!(
        w.lc.cancel(cancel_req("zzz", Some("yyy"), "c-9"))
            .await
            .unwrap(),
        CancelOutcome::NotFound
    );
}

#[tokio::test]
async fn cancel_of_an_authorized_order_releases_its_stock() {
    let w = world();
    let (order, _) = w
        .place_ok(placement("mkp-1", vec![line("sku-1", 2, Some("Normal"))]))
        .await;
    w.lc.fulfill(fulfill_req(&order)).await.unwrap();
    let out =
        w.lc.cancel(cancel_req(&order.order_id, Some("mkp-1"), "c-1"))
            .await
            .unwrap();
    assert!(matches!(
        out,
        CancelOutcome::Confirmed { replay: false, .. }
    ));
    assert_eq!(w.stock("sku-1", "wh-1").await.reserved, 0);
    let kinds: Vec<_> = w.delivered().await.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [OrderEventKind::Authorized, OrderEventKind::Canceled]
    );
}

/// Moves an order forward as the invoicing side would, without going through its code.
async fn force_status(w: &World, id: &str, status: OrderStatus) {
    let mut o = w.order(id).await;
    o.status = status;
    assert!(matches!(
        w.store.save(&o, StockEffect::None).await.unwrap(),
        SaveOutcome::Saved(_)
    ));
}

#[tokio::test]
async fn cancel_of_an_invoiced_order_is_refused_and_recorded_once() {
    let w = world();
    let (order, _) = w
        .place_ok(placement("mkp-1", vec![line("sku-1", 2, Some("Normal"))]))
        .await;
    w.lc.fulfill(fulfill_req(&order)).await.unwrap();
    force_status(&w, &order.order_id, OrderStatus::Invoiced).await;
    for _ in 0..2 {
        let out =
            w.lc.cancel(cancel_req(&order.order_id, Some("mkp-1"), "c-1"))
                .await
                .unwrap();
        assert!(
            matches!(out, CancelOutcome::Refused { ref order } if order.status == OrderStatus::Invoiced)
        );
    }
    let stored = w.order(&order.order_id).await;
    assert_eq!(stored.pending_cancellation.as_deref(), Some("c-1"));
    assert_eq!(
        stored.version, 3,
        "fulfill, invoice, one recording of the request"
    );
    assert_eq!(w.stock("sku-1", "wh-1").await.reserved, 2);
    assert_eq!(w.delivered().await.len(), 1, "only order.authorized");
    let alerts = w
        .log(&order.order_id)
        .await
        .into_iter()
        .filter(|e| e.step == steps::CANCEL && e.outcome == Outcome::Alert)
        .count();
    assert_eq!(alerts, 2);
}

#[tokio::test]
async fn evaluate_policy_records_the_request_and_confirms_nothing() {
    let memory = MemoryStore::with_catalog(&catalog());
    let w = world_with(
        Arc::new(memory.clone()),
        memory,
        LifecycleConfig {
            authorized_cancel: AuthorizedCancelPolicy::Evaluate,
            ..LifecycleConfig::default()
        },
    );
    let (order, _) = w
        .place_ok(placement("mkp-1", vec![line("sku-1", 2, Some("Normal"))]))
        .await;
    w.lc.fulfill(fulfill_req(&order)).await.unwrap();
    let out =
        w.lc.cancel(cancel_req(&order.order_id, Some("mkp-1"), "c-1"))
            .await
            .unwrap();
    assert!(matches!(out, CancelOutcome::Evaluating { .. }));
    let stored = w.order(&order.order_id).await;
    assert_eq!(stored.status, OrderStatus::Authorized);
    assert_eq!(stored.pending_cancellation.as_deref(), Some("c-1"));
    assert_eq!(w.stock("sku-1", "wh-1").await.reserved, 2);
    assert!(
        w.log(&order.order_id)
            .await
            .iter()
            .any(|e| e.outcome == Outcome::Pending)
    );
}

#[tokio::test]
async fn cancel_with_a_foreign_marketplace_id_is_refused() {
    let w = world();
    let (order, _) = w
        .place_ok(placement("mkp-1", vec![line("sku-1", 1, Some("Normal"))]))
        .await;
    assert_eq!(
        w.lc.cancel(cancel_req(&order.order_id, Some("mkp-9"), "c-1"))
            .await
            .unwrap(),
        CancelOutcome::MarketplaceOrderMismatch
    );
    assert_eq!(w.order(&order.order_id).await.status, OrderStatus::Reserved);
}

// --- conflicts: a competing write lands between our read and our save ----------------------------

type Interloper = Box<dyn FnOnce(&Order) -> Order + Send>;

/// Before its first `save`, runs `interloper` (a competing transition through the same store).
struct Racing {
    inner: MemoryStore,
    interloper: Mutex<Option<Interloper>>,
    effect: StockEffect,
}

#[async_trait]
impl OrderStore for Racing {
    async fn create_reserved(&self, order: &Order) -> Result<PlaceOutcome, StoreError> {
        self.inner.create_reserved(order).await
    }
    async fn get(&self, id: &str) -> Result<Option<Order>, StoreError> {
        self.inner.get(id).await
    }
    async fn get_by_marketplace_id(&self, an: &str, id: &str) -> Result<Option<Order>, StoreError> {
        self.inner.get_by_marketplace_id(an, id).await
    }
    async fn save_emitting(
        &self,
        o: &Order,
        e: StockEffect,
        events: &[OrderEvent],
    ) -> Result<SaveOutcome, StoreError> {
        let interloper = self.interloper.lock().unwrap().take();
        if let Some(f) = interloper {
            let current = self.inner.get(&o.order_id).await?.unwrap();
            let other = f(&current);
            assert!(matches!(
                self.inner.save(&other, self.effect).await?,
                SaveOutcome::Saved(_)
            ));
        }
        self.inner.save_emitting(o, e, events).await
    }
    async fn emit(&self, events: &[OrderEvent]) -> Result<(), StoreError> {
        self.inner.emit(events).await
    }
    async fn expired_reservations(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Order>, StoreError> {
        self.inner.expired_reservations(now, limit).await
    }
    async fn append_log(&self, id: &str, e: &LogEntry) -> Result<(), StoreError> {
        self.inner.append_log(id, e).await
    }
    async fn read_log(&self, id: &str) -> Result<Vec<LogEntry>, StoreError> {
        self.inner.read_log(id).await
    }
}

/// A world whose first save is preceded by `competing(order)` saved with `effect`.
async fn racing_world(
    competing: impl FnOnce(&Order) -> Order + Send + 'static,
    effect: StockEffect,
) -> (World, Order) {
    let memory = MemoryStore::with_catalog(&catalog());
    let setup = world_with(
        Arc::new(memory.clone()),
        memory.clone(),
        LifecycleConfig::default(),
    );
    let (order, _) = setup
        .place_ok(placement("mkp-1", vec![line("sku-1", 2, Some("Normal"))]))
        .await;
    let racing = Racing {
        inner: memory.clone(),
        interloper: Mutex::new(Some(Box::new(move |current: &Order| competing(current)))),
        effect,
    };
    let mut w = world_with(Arc::new(racing), memory, LifecycleConfig::default());
    w.clock = setup.clock;
    (w, order)
}

#[tokio::test]
async fn fulfill_that_loses_to_a_cancel_re_decides_and_refuses() {
    let (w, order) = racing_world(
        |o| {
            let mut c = o.clone();
            c.status = OrderStatus::Canceled;
            c.canceled = Some(Cancellation {
                date: t0(),
                receipt: "c".into(),
                request_id: Some("c-0".into()),
                by: CanceledBy::Marketplace,
                reason: None,
            });
            c
        },
        StockEffect::Release,
    )
    .await;
    assert_eq!(
        w.lc.fulfill(fulfill_req(&order)).await.unwrap(),
        FulfillOutcome::NotAuthorizable {
            status: OrderStatus::Canceled
        }
    );
    assert!(w.delivered().await.is_empty());
    assert_eq!(w.stock("sku-1", "wh-1").await.reserved, 0);
}

#[tokio::test]
async fn cancel_that_loses_to_a_fulfill_re_decides_and_still_releases() {
    let (w, order) = racing_world(
        |o| {
            let mut a = o.clone();
            a.status = OrderStatus::Authorized;
            a.authorized = Some(Receipt {
                date: t0(),
                receipt: "a".into(),
            });
            a
        },
        StockEffect::None,
    )
    .await;
    let out =
        w.lc.cancel(cancel_req(&order.order_id, Some("mkp-1"), "c-1"))
            .await
            .unwrap();
    assert!(matches!(
        out,
        CancelOutcome::Confirmed { replay: false, .. }
    ));
    let stored = w.order(&order.order_id).await;
    assert_eq!(stored.status, OrderStatus::Canceled);
    assert_eq!(stored.authorized.unwrap().receipt, "a");
    assert_eq!(stored.version, 2);
    assert_eq!(w.stock("sku-1", "wh-1").await.reserved, 0);
}

// --- expiry --------------------------------------------------------------------------------------

#[tokio::test]
async fn sweep_expires_lapsed_reservations_and_returns_their_stock() {
    let w = world();
    let mut short = placement("mkp-1", vec![line("sku-1", 2, Some("Normal"))]);
    short.lines[0].lock_ttl = Some(VtexDuration::Hours(1));
    let (lapsing, _) = w.place_ok(short).await;
    let (held, _) = w
        .place_ok(placement("mkp-2", vec![line("sku-1", 1, Some("Normal"))]))
        .await;
    let mut authorized_req = placement("mkp-3", vec![line("sku-3", 1, Some("Express"))]);
    authorized_req.lines[0].lock_ttl = Some(VtexDuration::Hours(1));
    let (authorized, _) = w.place_ok(authorized_req).await;
    w.lc.fulfill(fulfill_req(&authorized)).await.unwrap();
    assert_eq!(w.stock("sku-1", "wh-1").await.reserved, 3);

    // Not due yet.
    w.clock.advance(Duration::minutes(59));
    assert_eq!(w.lc.sweep().await.unwrap(), SweepReport::default());

    w.clock.advance(Duration::minutes(1));
    let report = w.lc.sweep().await.unwrap();
    assert_eq!(report.expired, vec![lapsing.order_id.clone()]);
    assert_eq!(report.examined, 1);
    assert_eq!(w.stock("sku-1", "wh-1").await.reserved, 1);
    assert_eq!(w.stock("sku-3", "wh-2").await.reserved, 1);
    let expired = w.order(&lapsing.order_id).await;
    assert_eq!(expired.status, OrderStatus::Expired);
    assert_eq!(w.order(&held.order_id).await.status, OrderStatus::Reserved);
    let last = w.delivered().await.pop().unwrap();
    assert_eq!(last.kind, OrderEventKind::Expired);
    assert_eq!(last.order_id, lapsing.order_id);
    assert!(
        w.log(&lapsing.order_id)
            .await
            .iter()
            .any(|e| e.step == steps::EXPIRY)
    );

    // A second sweep finds nothing; a late cancel gets the expiry's confirmation; a late fulfill 409.
    assert_eq!(w.lc.sweep().await.unwrap(), SweepReport::default());
    let CancelOutcome::Confirmed {
        cancellation,
        replay,
        ..
    } =
        w.lc.cancel(cancel_req(&lapsing.order_id, Some("mkp-1"), "c-1"))
            .await
            .unwrap()
    else {
        panic!("not confirmed")
    };
    assert!(replay);
    assert_eq!(cancellation.by, CanceledBy::Expiry);
    assert_eq!(w.stock("sku-1", "wh-1").await.reserved, 1);
    assert_eq!(
        w.lc.fulfill(fulfill_req(&lapsing)).await.unwrap(),
        FulfillOutcome::NotAuthorizable {
            status: OrderStatus::Expired
        }
    );
}

#[tokio::test]
async fn sweep_works_through_more_than_one_batch() {
    let memory = MemoryStore::with_catalog(&catalog());
    let w = world_with(
        Arc::new(memory.clone()),
        memory,
        LifecycleConfig {
            sweep_batch_size: 2,
            ..LifecycleConfig::default()
        },
    );
    for i in 0..5 {
        w.place_ok(placement(
            &format!("mkp-{i}"),
            vec![line("sku-1", 1, Some("Normal"))],
        ))
        .await;
    }
    w.clock.advance(Duration::days(8));
    let report = w.lc.sweep().await.unwrap();
    assert_eq!(report.expired.len(), 5);
    assert_eq!(w.stock("sku-1", "wh-1").await.reserved, 0);
}

/// An event queue that is down.
struct DownQueue;

#[async_trait]
impl OrderEvents for DownQueue {
    async fn publish(&self, _: &OrderEvent) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("queue down".into()))
    }
}

#[tokio::test]
async fn a_down_queue_does_not_fail_the_fulfill_and_the_relay_delivers_once_it_is_back() {
    let w = world();
    let (order, _) = w
        .place_ok(placement("mkp-1", vec![line("sku-1", 1, Some("Normal"))]))
        .await;
    let mut down = w.lc.clone();
    down.events = Arc::new(DownQueue);
    assert!(matches!(
        down.fulfill(fulfill_req(&order)).await.unwrap(),
        FulfillOutcome::Authorized { replay: false, .. }
    ));
    let report = down.relay(Arc::new(w.store.clone())).drain().await.unwrap();
    assert_eq!(
        report.failed,
        vec![format!("{}:order.authorized", order.order_id)]
    );
    assert!(w.store.events().is_empty());
    let events = w.delivered().await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0],
        order_event(&w.order(&order.order_id).await, OrderEventKind::Authorized)
    );
    assert!(w.delivered().await.len() == 1, "delivered once");
}

#[tokio::test]
async fn a_fulfill_replay_re_emits_an_event_that_was_never_written() {
    let w = world();
    let (order, _) = w
        .place_ok(placement("mkp-1", vec![line("sku-1", 1, Some("Normal"))]))
        .await;
    // Authorized by a version that saved without an event (or whose publish was lost).
    let mut authorized = order.clone();
    authorized.status = OrderStatus::Authorized;
    authorized.authorized = Some(Receipt {
        date: t0(),
        receipt: "rcpt-old".into(),
    });
    w.store.save(&authorized, StockEffect::None).await.unwrap();
    assert!(w.delivered().await.is_empty());
    assert!(matches!(
        w.lc.fulfill(fulfill_req(&order)).await.unwrap(),
        FulfillOutcome::Authorized { replay: true, .. }
    ));
    let events = w.delivered().await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].event_id,
        format!("{}:order.authorized", order.order_id)
    );
}

#[tokio::test]
async fn an_expiry_with_the_queue_down_keeps_its_event_until_the_relay_delivers_it() {
    let w = world();
    let (order, _) = w
        .place_ok(placement("mkp-1", vec![line("sku-1", 1, Some("Normal"))]))
        .await;
    w.clock.advance(Duration::days(8));
    let mut down = w.lc.clone();
    down.events = Arc::new(DownQueue);
    let report = down.sweep().await.unwrap();
    assert_eq!(report.expired, vec![order.order_id.clone()]);
    assert_eq!(w.stock("sku-1", "wh-1").await.reserved, 0);
    assert!(down.relay(Arc::new(w.store.clone())).drain().await.is_ok());
    assert!(w.store.events().is_empty());
    // The order left the sweeper's index; the outbox still owes its event.
    assert!(w.lc.sweep().await.unwrap().examined == 0);
    let events = w.delivered().await;
    assert_eq!(
        events.iter().map(|e| e.kind).collect::<Vec<_>>(),
        vec![OrderEventKind::Expired]
    );
}

#[tokio::test]
async fn logs_never_carry_customer_data() {
    let w = world();
    let (order, _) = w
        .place_ok(placement("mkp-1", vec![line("sku-1", 1, None)]))
        .await;
    w.lc.fulfill(fulfill_req(&order)).await.unwrap();
    w.lc.cancel(cancel_req(&order.order_id, None, "c-1"))
        .await
        .unwrap();
    let text = format!("{:?}", w.log(&order.order_id).await);
    for secret in ["Jonas", "jonas@example.com", "Out of stock"] {
        assert!(!text.contains(secret), "{secret} leaked into {text}");
    }
}

#[tokio::test]
async fn a_marketplace_cancel_while_a_sale_invoice_is_in_flight_is_refused_not_confirmed() {
    use crate::invoice_store::{InvoiceStore, MemoryInvoices};
    use crate::invoicing::{Invoice, InvoiceItem, InvoiceRecord, InvoiceType};
    let memory = MemoryStore::with_catalog(&catalog());
    let invoices = Arc::new(MemoryInvoices::new());
    let mut w = world_with(Arc::new(memory.clone()), memory, LifecycleConfig::default());
    w.lc = w.lc.with_invoices(invoices.clone());
    let (order, _) = w
        .place_ok(placement("mkp-1", vec![line("sku-1", 1, Some("Normal"))]))
        .await;
    w.lc.fulfill(fulfill_req(&order)).await.unwrap();
    // The dispatcher recorded the invoice Pending and is POSTing it.
    let invoice = Invoice {
        kind: InvoiceType::Output,
        invoice_number: "NFe-1".into(),
        invoice_value: Cents(11080),
        issuance_date: "2026-01-01T10:00:00-03:00".into(),
        items: vec![InvoiceItem {
            id: "sku-1".into(),
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
    };
    let pending = InvoiceRecord::pending(&order.order_id, &invoice, t0());
    invoices.create_once(&pending, order.total()).await.unwrap();

    let out =
        w.lc.cancel(cancel_req(&order.order_id, Some("mkp-1"), "c-1"))
            .await
            .unwrap();
    assert!(matches!(out, CancelOutcome::Refused { .. }), "{out:?}");
    let stored = w.order(&order.order_id).await;
    assert_eq!(stored.status, OrderStatus::Authorized);
    assert!(stored.pending_cancellation.is_some());
    assert_eq!(w.stock("sku-1", "wh-1").await.reserved, 1);
    let log = w.log(&order.order_id).await;
    assert!(
        log.iter()
            .any(|e| e.detail.contains("invoice NFe-1 is in flight")),
        "{log:#?}"
    );

    // Without an invoice in flight, the same request is confirmed.
    let other = MemoryStore::with_catalog(&catalog());
    let mut w2 = world_with(Arc::new(other.clone()), other, LifecycleConfig::default());
    w2.lc = w2.lc.with_invoices(Arc::new(MemoryInvoices::new()));
    let (o2, _) = w2
        .place_ok(placement("mkp-1", vec![line("sku-1", 1, Some("Normal"))]))
        .await;
    w2.lc.fulfill(fulfill_req(&o2)).await.unwrap();
    assert!(matches!(
        w2.lc
            .cancel(cancel_req(&o2.order_id, Some("mkp-1"), "c-1"))
            .await
            .unwrap(),
        CancelOutcome::Confirmed { .. }
    ));
}
