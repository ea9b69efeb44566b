//! The one contract of the storage ports. Every adapter (memory, embedded, DynamoDB) runs these
//! same bodies through [`crate::contract_tests!`]; a behaviour that differs between adapters is a
//! bug in one of them.
//!
//! Each body gets a fresh, empty [`Subject`].

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::catalog::{CatalogFile, Sku, StockLevel};
use domain::order::{LogEntry, Order, OrderStatus, Outcome};
use domain::ports::{
    CatalogReader, CatalogWriter, OrderStore, PlaceOutcome, SaveOutcome, StockEffect,
};
use domain::shipping::ShippingRules;
use serde_json::json;
use std::any::Any;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

mod holds;
pub use holds::*;
mod stock_order;
pub use stock_order::*;

/// The adapters under test. One store may play all three roles ([`Subject::single`]); the
/// DynamoDB adapters are two values sharing the catalog table.
#[derive(Clone)]
pub struct Subject {
    pub reader: Arc<dyn CatalogReader>,
    pub writer: Arc<dyn CatalogWriter>,
    pub orders: Arc<dyn OrderStore>,
    /// Kept alive as long as the subject (e.g. a temp file removed on drop).
    pub guards: Vec<Arc<dyn Any + Send + Sync>>,
}

impl Subject {
    pub fn single<T>(store: T) -> Self
    where
        T: CatalogReader + CatalogWriter + OrderStore + Clone + 'static,
    {
        Subject {
            reader: Arc::new(store.clone()),
            writer: Arc::new(store.clone()),
            orders: Arc::new(store),
            guards: Vec::new(),
        }
    }

    pub fn with_guard(mut self, guard: impl Any + Send + Sync) -> Self {
        self.guards.push(Arc::new(guard));
        self
    }

    /// The stored counters of `sku` at `location` (`None` if either is missing).
    pub async fn level(&self, sku: &str, location: &str) -> Option<StockLevel> {
        self.reader
            .get_skus(&[sku.to_string()])
            .await
            .expect("get_skus")
            .get(sku)
            .and_then(|s| s.stock.get(location).copied())
    }

    async fn place(&self, order: &Order) -> PlaceOutcome {
        self.orders
            .create_reserved(order)
            .await
            .expect("create_reserved")
    }

    async fn save(&self, order: &Order, effect: StockEffect) -> SaveOutcome {
        self.orders.save(order, effect).await.expect("save")
    }
}

/// A file path (plus SQLite's `-wal` / `-shm` companions) deleted when dropped.
#[derive(Debug)]
pub struct TempPath(pub PathBuf);

impl TempPath {
    pub fn new(prefix: &str) -> Self {
        TempPath(
            std::env::temp_dir().join(format!("{prefix}-{}.sqlite", uuid::Uuid::new_v4().simple())),
        )
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

/// One `#[tokio::test]` per contract body, each on a fresh subject from `$subject` (an
/// expression of type `impl Future<Output = Option<Subject>>`; `None` skips).
#[macro_export]
macro_rules! contract_tests {
    ($subject:expr) => {
        $crate::contract_tests!(@each $subject;
            catalog_round_trip,
            get_skus_ignores_unknown_and_duplicates,
            get_skus_reads_hundreds_of_skus,
            get_skus_shared_reads_what_get_skus_reads,
            upsert_keeps_reservations,
            set_on_hand_below_reserved_sells_nothing,
            set_prices_replaces_only_the_price_list,
            get_sku_reads_one_sku_after_its_writes,
            create_reserved_is_idempotent,
            create_reserved_refuses_unknown_sku_and_short_stock_writing_nothing,
            create_reserved_never_oversells_under_concurrency,
            catalog_writes_during_placements_lose_no_hold,
            save_detects_conflicts,
            release_returns_stock,
            ship_consumes_stock,
            expired_reservations_lists_due_only,
            log_reads_back_in_order,
            lookup_by_marketplace_id,
            stock_counts_apply_in_as_of_order,
            a_shipment_refuses_the_counts_taken_before_it,
            concurrent_stock_counts_end_in_as_of_order,
            a_hold_of_zero_or_fewer_units_is_refused_by_the_store_writing_nothing,
            a_release_or_shipment_of_zero_or_fewer_units_is_refused_writing_nothing,
        );
    };
    (@each $subject:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let Some(subject) = $subject.await else {
                    return;
                };
                $crate::contract::$name(subject).await;
            }
        )*
    };
}

/// The other storage ports' contracts, in the same style: one `#[tokio::test]` per body of
/// `domain::<port>::contract` (feature `test-support`, which the test binaries enable), each on a
/// fresh store from `$store`, an expression of type `impl Future<Output = Option<(S, G)>>`: the
/// store and a guard kept alive for the test (a temp file, say; `()` if none). `None` skips.
///
/// - `invoice_store_contract_tests!`: [`domain::invoice_store::InvoiceStore`];
/// - `sync_state_contract_tests!`: [`domain::catalog_notify::SyncStateStore`];
/// - `import_store_contract_tests!`: [`domain::import::ImportStore`] +
///   [`domain::import::NotificationStore`] on one value.
#[macro_export]
macro_rules! invoice_store_contract_tests {
    ($store:expr) => {
        $crate::port_contract_tests!(invoice_store; $store;
            create_once_writes_once,
            get_and_list_by_order,
            save_is_versioned,
            create_once_refuses_past_the_limit,
            release_and_claim_move_the_sums,
            concurrent_creates_never_pass_the_limit,
        );
    };
}

/// See [`invoice_store_contract_tests!`].
#[macro_export]
macro_rules! sync_state_contract_tests {
    ($store:expr) => {
        $crate::port_contract_tests!(catalog_notify; $store;
            unknown_sku_reads_as_default,
            writes_are_conditional_on_the_version,
            concurrent_updates_lose_nothing,
            listing_walks_every_state_once,
            listing_filters_pending_and_pages,
        );
    };
}

/// See [`invoice_store_contract_tests!`].
#[macro_export]
macro_rules! import_store_contract_tests {
    ($store:expr) => {
        $crate::port_contract_tests!(import; $store;
            create_once_writes_once,
            save_is_versioned_and_found_by_vtex_order_id,
            notifications_are_created_once,
        );
    };
}

/// The body of the three macros above: a module per port (named after it, so two ports' bodies of
/// the same name do not clash), a test per body.
#[doc(hidden)]
#[macro_export]
macro_rules! port_contract_tests {
    ($port:ident; $store:expr; $($name:ident),* $(,)?) => {
        mod $port {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some((store, _guard)) = $store.await else {
                        return;
                    };
                    if let Err(broken) = ::domain::$port::contract::$name(&store).await {
                        panic!("{broken}");
                    }
                }
            )*
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Fixtures

pub const AN: &str = "mkp";
pub const W1: &str = "w1";
pub const W2: &str = "w2";

pub fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 3, 4, 12, 0, 0).unwrap()
}

/// A SKU with full product data and `stock` on hand per location (the input `reserved` is 99 on
/// purpose: writers must ignore it).
pub fn sku(id: &str, stock: &[(&str, i64)]) -> Sku {
    let stock: serde_json::Map<String, serde_json::Value> = stock
        .iter()
        .map(|(loc, on_hand)| {
            (
                loc.to_string(),
                json!({ "onHand": on_hand, "reserved": 99 }),
            )
        })
        .collect();
    serde_json::from_value(json!({
        "id": id,
        "active": true,
        "name": format!("Product {id}"),
        "prices": [
            { "price": 1990, "listPrice": 2490 },
            { "an": AN, "sc": "2", "price": 1890, "listPrice": 2490, "validUntil": "2031-01-01T00:00:00Z" }
        ],
        "stock": stock,
        "salesChannels": ["1", "2"],
        "dimensions": { "heightCm": 10.5, "widthCm": 20.0, "lengthCm": 30.0, "weightG": 1200 },
        "measurementUnit": "un",
        "unitMultiplier": 1,
        "offerings": [{ "type": "warranty", "id": "w", "name": "Garantia", "price": 500 }],
        "product": {
            "productId": format!("p-{id}"),
            "productName": "Product ação",
            "description": "Ünïcode ✓",
            "brand": "Acme",
            "categoryPath": "Casa/Cozinha",
            "images": [{ "name": "main", "url": "https://example.com/a.jpg" }],
            "productSpecifications": [{ "name": "Cor", "values": ["Azul"] }],
            "skuSpecifications": [],
            "ean": "7890000000001"
        }
    }))
    .expect("valid SKU fixture")
}

pub fn rules(follow_up_email: &str) -> ShippingRules {
    serde_json::from_value(json!({
        "shipsTo": ["BRA"],
        "warehouses": [{ "id": W1, "name": "Main" }],
        "carriers": [{
            "id": "normal",
            "name": "Normal",
            "warehouseId": W1,
            "zones": [{
                "country": "BRA",
                "postalCodeRanges": [{ "from": "01000-000", "to": "09999-999" }],
                "price": { "perLine": 500, "perUnit": 100, "perKg": 0 },
                "shippingEstimate": "3bd"
            }]
        }],
        "pickupPoints": [],
        "followUpEmail": follow_up_email
    }))
    .expect("valid rules fixture")
}

/// A reserved order of `lines` = `[(sku, location, quantity)]`, expiring at `expires_at`, with its
/// value breakdown as placement stores it (a -100 price tag on the first line), so every store's
/// round trip covers it.
pub fn order(
    order_id: &str,
    marketplace_order_id: &str,
    lines: &[(&str, &str, i64)],
    expires_at: DateTime<Utc>,
) -> Order {
    let lines: Vec<serde_json::Value> = lines
        .iter()
        .enumerate()
        .map(|(i, (sku, loc, q))| {
            json!({
                "index": i, "skuId": sku, "quantity": q, "unitPrice": 1990, "freight": 500,
                "selectedSla": "normal", "locationId": loc, "lockTtl": "8d", "shippingEstimate": "3bd"
            })
        })
        .collect();
    serde_json::from_value(json!({
        "orderId": order_id,
        "an": AN,
        "sc": "1",
        "marketplaceOrderId": marketplace_order_id,
        "marketplaceServicesEndpoint": "https://mkp.example.com/api/",
        "marketplacePaymentValue": 4480,
        "status": "RESERVED",
        "lines": lines,
        "address": { "receiverName": "Maria", "postalCode": "01310-100", "country": "BRA", "street": "Av. Paulista" },
        "customer": { "email": "maria@example.com", "firstName": "Maria", "document": "12345678909" },
        "createdAt": base_time(),
        "expiresAt": expires_at,
        "version": 0
    }))
    .map(|mut o: Order| {
        let amounts: Vec<_> = o
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                l.amounts(domain::order::LineAdjustments {
                    price_tags: domain::money::Cents(if i == 0 { -100 } else { 0 }),
                    bundles: domain::money::Cents(0),
                })
            })
            .collect();
        o.value = Some(domain::order::OrderValue::compute(
            &amounts,
            o.marketplace_payment_value,
        ));
        o
    })
    .expect("valid order fixture")
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

fn created(outcome: PlaceOutcome) -> Order {
    match outcome {
        PlaceOutcome::Created(o) => o,
        other => panic!("expected Created, got {other:?}"),
    }
}

fn saved(outcome: SaveOutcome) -> Order {
    match outcome {
        SaveOutcome::Saved(o) => o,
        other => panic!("expected Saved, got {other:?}"),
    }
}

fn level(on_hand: i64, reserved: i64) -> Option<StockLevel> {
    Some(StockLevel { on_hand, reserved })
}

// ---------------------------------------------------------------------------------------------
// Catalog

pub async fn catalog_round_trip(s: Subject) {
    assert_eq!(s.reader.shipping_rules().await.unwrap(), None);
    let a = sku("a", &[(W1, 10), (W2, 0)]);
    s.writer.upsert_sku(&a).await.unwrap();
    let got = s.reader.get_skus(&["a".to_string()]).await.unwrap();
    let mut expected = a.clone();
    for level in expected.stock.values_mut() {
        level.reserved = 0;
    }
    assert_eq!(got.get("a"), Some(&expected));

    s.writer
        .put_shipping_rules(&rules("a@example.com"))
        .await
        .unwrap();
    s.writer
        .put_shipping_rules(&rules("b@example.com"))
        .await
        .unwrap();
    assert_eq!(
        s.reader.shipping_rules().await.unwrap(),
        Some(rules("b@example.com"))
    );

    // Replacing a SKU replaces its data.
    let mut renamed = sku("a", &[(W1, 4)]);
    renamed.name = "Renamed".into();
    renamed.product = None;
    s.writer.upsert_sku(&renamed).await.unwrap();
    let got = s.reader.get_skus(&["a".to_string()]).await.unwrap();
    assert_eq!(got["a"].name, "Renamed");
    assert_eq!(got["a"].product, None);
    assert_eq!(
        got["a"].stock.len(),
        1,
        "a location without holds goes away"
    );
    assert_eq!(
        got["a"].stock[W1],
        StockLevel {
            on_hand: 4,
            reserved: 0
        }
    );
}

pub async fn get_skus_ignores_unknown_and_duplicates(s: Subject) {
    s.writer.upsert_sku(&sku("a", &[(W1, 1)])).await.unwrap();
    s.writer.upsert_sku(&sku("b", &[(W1, 2)])).await.unwrap();
    let ids: Vec<String> = ["a", "a", "x", "b", "b", "y"].map(String::from).to_vec();
    let got = s.reader.get_skus(&ids).await.unwrap();
    let keys: HashSet<&str> = got.keys().map(String::as_str).collect();
    assert_eq!(keys, HashSet::from(["a", "b"]));
    assert_eq!(got["b"].id, "b");
    assert!(s.reader.get_skus(&[]).await.unwrap().is_empty());
}

/// The shared read (what the simulation reads) answers what the owned one does, before and
/// after a write, unknown and repeated ids included.
pub async fn get_skus_shared_reads_what_get_skus_reads(s: Subject) {
    s.writer.upsert_sku(&sku("a", &[(W1, 1)])).await.unwrap();
    s.writer.upsert_sku(&sku("b", &[(W1, 2)])).await.unwrap();
    let ids: Vec<String> = ["a", "x", "a", "b"].map(String::from).to_vec();
    for on_hand in [None, Some(5)] {
        if let Some(n) = on_hand {
            assert!(s.writer.set_on_hand("a", W1, n).await.unwrap());
        }
        let owned = s.reader.get_skus(&ids).await.unwrap();
        let shared = s.reader.get_skus_shared(&ids).await.unwrap();
        let shared: std::collections::HashMap<String, Sku> = ids
            .iter()
            .filter_map(|id| Some((id.clone(), shared.sku(id)?.clone())))
            .collect();
        assert_eq!(shared, owned);
        assert_eq!(shared["a"].stock[W1].on_hand, on_hand.unwrap_or(1));
    }
}

/// More than one BatchGetItem's worth of keys, loaded through `load_catalog`.
pub async fn get_skus_reads_hundreds_of_skus(s: Subject) {
    let file = CatalogFile {
        version: 1,
        shipping_rules: rules("x@example.com"),
        skus: (0..230)
            .map(|i| sku(&format!("s{i}"), &[(W1, i)]))
            .collect(),
    };
    let written = domain::store_support::load_catalog(s.writer.as_ref(), &file)
        .await
        .unwrap();
    assert_eq!(written, 230);
    assert_eq!(
        s.reader.shipping_rules().await.unwrap(),
        Some(file.shipping_rules.clone())
    );
    // Every stored SKU, each twice, plus 70 unknown ones: 300 distinct ids.
    let mut ids: Vec<String> = (0..300).map(|i| format!("s{i}")).collect();
    ids.extend((0..230).map(|i| format!("s{i}")));
    let got = s.reader.get_skus(&ids).await.unwrap();
    assert_eq!(got.len(), 230);
    assert_eq!(got["s229"].stock[W1].on_hand, 229);
}

pub async fn upsert_keeps_reservations(s: Subject) {
    s.writer.upsert_sku(&sku("a", &[(W1, 10)])).await.unwrap();
    let o = created(
        s.place(&order(
            &new_id("o"),
            &new_id("m"),
            &[("a", W1, 3)],
            base_time(),
        ))
        .await,
    );
    assert_eq!(s.level("a", W1).await, level(10, 3));

    // A reload with new on-hand figures keeps the hold (input `reserved` is ignored).
    s.writer.upsert_sku(&sku("a", &[(W1, 20)])).await.unwrap();
    assert_eq!(s.level("a", W1).await, level(20, 3));

    // A location dropped from the ERP's data keeps its holds (on hand 0) until they are released.
    s.writer.upsert_sku(&sku("a", &[(W2, 5)])).await.unwrap();
    assert_eq!(s.level("a", W1).await, level(0, 3));
    assert_eq!(s.level("a", W2).await, level(5, 0));

    let mut canceled = o.clone();
    canceled.status = OrderStatus::Canceled;
    saved(s.save(&canceled, StockEffect::Release).await);
    assert_eq!(s.level("a", W1).await, level(0, 0));
}

pub async fn set_on_hand_below_reserved_sells_nothing(s: Subject) {
    s.writer.upsert_sku(&sku("a", &[(W1, 5)])).await.unwrap();
    created(
        s.place(&order(
            &new_id("o"),
            &new_id("m"),
            &[("a", W1, 4)],
            base_time(),
        ))
        .await,
    );
    assert!(s.writer.set_on_hand("a", W1, 2).await.unwrap());
    assert_eq!(s.level("a", W1).await, level(2, 4));
    let skus = s.reader.get_skus(&["a".to_string()]).await.unwrap();
    assert_eq!(skus["a"].sellable_at(W1), 0);

    let short = s
        .place(&order(
            &new_id("o"),
            &new_id("m"),
            &[("a", W1, 1)],
            base_time(),
        ))
        .await;
    assert_eq!(
        short,
        PlaceOutcome::OutOfStock {
            sku_id: "a".into(),
            location_id: W1.into()
        }
    );
    assert_eq!(
        s.level("a", W1).await,
        level(2, 4),
        "a refusal holds nothing"
    );

    assert!(s.writer.set_on_hand("a", W1, 6).await.unwrap());
    created(
        s.place(&order(
            &new_id("o"),
            &new_id("m"),
            &[("a", W1, 2)],
            base_time(),
        ))
        .await,
    );
    assert_eq!(s.level("a", W1).await, level(6, 6));

    // A new location is created; an unknown SKU is reported, not created.
    assert!(s.writer.set_on_hand("a", W2, 7).await.unwrap());
    assert_eq!(s.level("a", W2).await, level(7, 0));
    assert!(!s.writer.set_on_hand("nope", W1, 7).await.unwrap());
    assert!(
        s.reader
            .get_skus(&["nope".to_string()])
            .await
            .unwrap()
            .is_empty()
    );
}

/// The ERP's `price.changed`: the price list is replaced in one write; stock, holds and every
/// other field stay as they were.
pub async fn set_prices_replaces_only_the_price_list(s: Subject) {
    s.writer.upsert_sku(&sku("a", &[(W1, 10)])).await.unwrap();
    created(
        s.place(&order(
            &new_id("o"),
            &new_id("m"),
            &[("a", W1, 3)],
            base_time(),
        ))
        .await,
    );
    let before = s.reader.get_sku("a").await.unwrap().expect("stored");
    let prices = vec![domain::catalog::PriceEntry {
        an: None,
        sc: Some("1".into()),
        price: domain::Cents(1490),
        list_price: domain::Cents(1990),
        valid_until: None,
    }];
    assert!(s.writer.set_prices("a", &prices).await.unwrap());
    let after = s.reader.get_sku("a").await.unwrap().expect("stored");
    assert_eq!(after.prices, prices);
    let mut expected = before.clone();
    expected.prices = prices.clone();
    assert_eq!(after, expected, "nothing but the prices changed");
    assert_eq!(s.level("a", W1).await, level(10, 3), "the hold is kept");

    // Later stock and SKU writes see the new prices and keep their own semantics.
    assert!(s.writer.set_on_hand("a", W1, 12).await.unwrap());
    let got = s.reader.get_skus(&["a".to_string()]).await.unwrap();
    assert_eq!(got["a"].prices, prices);
    assert_eq!(s.level("a", W1).await, level(12, 3));
    assert!(!s.writer.set_prices("nope", &prices).await.unwrap());
    assert!(s.reader.get_sku("nope").await.unwrap().is_none());
}

pub async fn get_sku_reads_one_sku_after_its_writes(s: Subject) {
    assert!(s.reader.get_sku("a").await.unwrap().is_none());
    s.writer.upsert_sku(&sku("a", &[(W1, 1)])).await.unwrap();
    for on_hand in 2..6 {
        assert!(s.writer.set_on_hand("a", W1, on_hand).await.unwrap());
        let got = s.reader.get_sku("a").await.unwrap().expect("stored");
        assert_eq!(got.stock[W1].on_hand, on_hand, "read right after the write");
    }
    let got = s.reader.get_sku("a").await.unwrap().expect("stored");
    assert_eq!(got.id, "a");
    assert_eq!(got.product, sku("a", &[]).product);
}

pub async fn create_reserved_is_idempotent(s: Subject) {
    s.writer.upsert_sku(&sku("a", &[(W1, 10)])).await.unwrap();
    let mkp = new_id("m");
    let first = order(&new_id("o"), &mkp, &[("a", W1, 2)], base_time());
    let placed = created(s.place(&first).await);
    assert_eq!(placed.order_id, first.order_id);
    assert_eq!(placed.version, 0);

    // A retry carries a freshly generated order id; the stored order wins.
    let retry = order(&new_id("o"), &mkp, &[("a", W1, 2)], base_time());
    match s.place(&retry).await {
        PlaceOutcome::Existing(existing) => {
            assert_eq!(existing.order_id, first.order_id);
            assert_eq!(existing.version, 0);
        }
        other => panic!("expected Existing, got {other:?}"),
    }
    assert_eq!(s.level("a", W1).await, level(10, 2), "held once");
    assert_eq!(s.orders.get(&retry.order_id).await.unwrap(), None);

    // The same marketplace order id from another account is another order.
    let mut other_account = order(&new_id("o"), &mkp, &[("a", W1, 1)], base_time());
    other_account.an = "other".into();
    created(s.place(&other_account).await);
    assert_eq!(s.level("a", W1).await, level(10, 3));
}

pub async fn create_reserved_refuses_unknown_sku_and_short_stock_writing_nothing(s: Subject) {
    s.writer.upsert_sku(&sku("a", &[(W1, 5)])).await.unwrap();
    s.writer.upsert_sku(&sku("b", &[(W1, 1)])).await.unwrap();

    let unknown = order(
        &new_id("o"),
        &new_id("m"),
        &[("a", W1, 1), ("zz", W1, 1)],
        base_time(),
    );
    assert_eq!(
        s.place(&unknown).await,
        PlaceOutcome::UnknownSku {
            sku_id: "zz".into()
        }
    );

    // Two lines of `b` add up to more than its stock; the hold on `a` must not stay behind.
    let short = order(
        &new_id("o"),
        &new_id("m"),
        &[("a", W1, 2), ("b", W1, 1), ("b", W1, 1)],
        base_time(),
    );
    assert_eq!(
        s.place(&short).await,
        PlaceOutcome::OutOfStock {
            sku_id: "b".into(),
            location_id: W1.into()
        }
    );

    // A known SKU at a location it has no stock record for has nothing to sell there.
    let elsewhere = order(
        &new_id("o"),
        &new_id("m"),
        &[("a", "nowhere", 1)],
        base_time(),
    );
    assert_eq!(
        s.place(&elsewhere).await,
        PlaceOutcome::OutOfStock {
            sku_id: "a".into(),
            location_id: "nowhere".into()
        }
    );

    for o in [&unknown, &short, &elsewhere] {
        assert_eq!(s.orders.get(&o.order_id).await.unwrap(), None);
        assert_eq!(
            s.orders
                .get_by_marketplace_id(AN, &o.marketplace_order_id)
                .await
                .unwrap(),
            None
        );
    }
    assert_eq!(s.level("a", W1).await, level(5, 0));
    assert_eq!(s.level("b", W1).await, level(1, 0));

    // The refused marketplace order can be placed once stock allows it.
    s.writer.set_on_hand("b", W1, 2).await.unwrap();
    created(s.place(&short).await);
    assert_eq!(s.level("b", W1).await, level(2, 2));
}

pub async fn create_reserved_never_oversells_under_concurrency(s: Subject) {
    s.writer.upsert_sku(&sku("hot", &[(W1, 15)])).await.unwrap();
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let orders = s.orders.clone();
            let o = order(&new_id("o"), &new_id("m"), &[("hot", W1, 1)], base_time());
            tokio::spawn(async move { orders.create_reserved(&o).await })
        })
        .collect();
    let (mut created_count, mut refused) = (0, 0);
    for t in tasks {
        match t.await.expect("task").expect("create_reserved") {
            PlaceOutcome::Created(_) => created_count += 1,
            PlaceOutcome::OutOfStock {
                sku_id,
                location_id,
            } => {
                assert_eq!((sku_id.as_str(), location_id.as_str()), ("hot", W1));
                refused += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((created_count, refused), (15, 25));
    assert_eq!(s.level("hot", W1).await, level(15, 15));
}

/// ERP writes (reloads, stock figures) racing with placements: every hold taken survives.
pub async fn catalog_writes_during_placements_lose_no_hold(s: Subject) {
    s.writer.upsert_sku(&sku("a", &[(W1, 100)])).await.unwrap();
    let placements: Vec<_> = (0..20)
        .map(|_| {
            let orders = s.orders.clone();
            let o = order(&new_id("o"), &new_id("m"), &[("a", W1, 1)], base_time());
            tokio::spawn(async move { orders.create_reserved(&o).await })
        })
        .collect();
    let writes: Vec<_> = (0..10)
        .map(|i| {
            let writer = s.writer.clone();
            tokio::spawn(async move {
                if i % 2 == 0 {
                    writer.upsert_sku(&sku("a", &[(W1, 100)])).await
                } else {
                    writer.set_on_hand("a", W1, 100).await.map(|_| ())
                }
            })
        })
        .collect();
    let mut created_count = 0;
    for p in placements {
        if let PlaceOutcome::Created(_) = p.await.expect("task").expect("create_reserved") {
            created_count += 1;
        }
    }
    for w in writes {
        w.await.expect("task").expect("catalog write");
    }
    assert_eq!(created_count, 20);
    assert_eq!(s.level("a", W1).await, level(100, 20));
}

// ---------------------------------------------------------------------------------------------
// Orders

pub async fn save_detects_conflicts(s: Subject) {
    s.writer.upsert_sku(&sku("a", &[(W1, 10)])).await.unwrap();
    let o = created(
        s.place(&order(
            &new_id("o"),
            &new_id("m"),
            &[("a", W1, 1)],
            base_time(),
        ))
        .await,
    );
    let mut authorized = o.clone();
    authorized.status = OrderStatus::Authorized;
    let v1 = saved(s.save(&authorized, StockEffect::None).await);
    assert_eq!(v1.version, 1);

    // A writer still holding version 0 loses, and writes nothing.
    let mut stale = o.clone();
    stale.status = OrderStatus::Canceled;
    assert_eq!(
        s.save(&stale, StockEffect::Release).await,
        SaveOutcome::Conflict
    );
    let stored = s.orders.get(&o.order_id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.version),
        (OrderStatus::Authorized, 1)
    );
    assert_eq!(s.level("a", W1).await, level(10, 1));

    let mut invoiced = stored.clone();
    invoiced.status = OrderStatus::PartiallyInvoiced;
    assert_eq!(saved(s.save(&invoiced, StockEffect::None).await).version, 2);
    assert_eq!(s.orders.get(&o.order_id).await.unwrap().unwrap().version, 2);

    // An order that was never created cannot be saved.
    let ghost = order(&new_id("o"), &new_id("m"), &[("a", W1, 1)], base_time());
    assert_eq!(
        s.save(&ghost, StockEffect::None).await,
        SaveOutcome::Conflict
    );
    assert_eq!(s.orders.get(&ghost.order_id).await.unwrap(), None);
}

pub async fn release_returns_stock(s: Subject) {
    s.writer
        .upsert_sku(&sku("a", &[(W1, 10), (W2, 4)]))
        .await
        .unwrap();
    let o = created(
        s.place(&order(
            &new_id("o"),
            &new_id("m"),
            &[("a", W1, 3), ("a", W1, 2), ("a", W2, 4)],
            base_time(),
        ))
        .await,
    );
    assert_eq!(s.level("a", W1).await, level(10, 5));
    assert_eq!(s.level("a", W2).await, level(4, 4));
    let mut canceled = o.clone();
    canceled.status = OrderStatus::Canceled;
    let after = saved(s.save(&canceled, StockEffect::Release).await);
    assert_eq!(after.status, OrderStatus::Canceled);
    assert_eq!(s.level("a", W1).await, level(10, 0));
    assert_eq!(s.level("a", W2).await, level(4, 0));
    // The released units sell again.
    created(
        s.place(&order(
            &new_id("o"),
            &new_id("m"),
            &[("a", W2, 4)],
            base_time(),
        ))
        .await,
    );
}

pub async fn ship_consumes_stock(s: Subject) {
    s.writer.upsert_sku(&sku("a", &[(W1, 10)])).await.unwrap();
    s.writer.upsert_sku(&sku("b", &[(W1, 1)])).await.unwrap();
    let o = created(
        s.place(&order(
            &new_id("o"),
            &new_id("m"),
            &[("a", W1, 3), ("b", W1, 1)],
            base_time(),
        ))
        .await,
    );
    let mut authorized = o.clone();
    authorized.status = OrderStatus::Authorized;
    let authorized = saved(s.save(&authorized, StockEffect::None).await);
    assert_eq!(
        s.level("a", W1).await,
        level(10, 3),
        "authorizing keeps the hold"
    );
    let mut invoiced = authorized.clone();
    invoiced.status = OrderStatus::Invoiced;
    saved(s.save(&invoiced, StockEffect::Ship).await);
    assert_eq!(s.level("a", W1).await, level(7, 0));
    assert_eq!(s.level("b", W1).await, level(0, 0));
    let skus = s.reader.get_skus(&["a".to_string()]).await.unwrap();
    assert_eq!(skus["a"].sellable_at(W1), 7);
}

pub async fn expired_reservations_lists_due_only(s: Subject) {
    s.writer.upsert_sku(&sku("a", &[(W1, 100)])).await.unwrap();
    let now = base_time();
    let mut ids = Vec::new();
    for (label, expires_at) in [
        ("later", now + Duration::hours(1)),
        ("two-hours-ago", now - Duration::hours(2)),
        ("exactly-now", now),
        ("one-hour-ago", now - Duration::hours(1)),
        ("one-ns-late", now + Duration::nanoseconds(1)),
    ] {
        let o = created(
            s.place(&order(
                &new_id(label),
                &new_id("m"),
                &[("a", W1, 1)],
                expires_at,
            ))
            .await,
        );
        ids.push((label, o));
    }
    let by_label = |l: &str| ids.iter().find(|(x, _)| *x == l).unwrap().1.clone();

    // An expired hold that was authorized in time is no reservation any more.
    let mut authorized = by_label("one-hour-ago");
    authorized.status = OrderStatus::Authorized;
    saved(s.save(&authorized, StockEffect::None).await);

    let due = s.orders.expired_reservations(now, 10).await.unwrap();
    let due_ids: Vec<&str> = due.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(
        due_ids,
        vec![
            by_label("two-hours-ago").order_id.as_str(),
            by_label("exactly-now").order_id.as_str()
        ],
        "oldest first, due only, reserved only"
    );
    assert_eq!(due[0].version, 0);
    assert_eq!(due[0].status, OrderStatus::Reserved);

    let first = s.orders.expired_reservations(now, 1).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].order_id, by_label("two-hours-ago").order_id);

    let mut expired = by_label("two-hours-ago");
    expired.status = OrderStatus::Expired;
    saved(s.save(&expired, StockEffect::Release).await);
    let due = s.orders.expired_reservations(now, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].order_id, by_label("exactly-now").order_id);

    let later = s
        .orders
        .expired_reservations(now + Duration::days(1), 10)
        .await
        .unwrap();
    assert_eq!(later.len(), 3);
    assert!(
        s.orders
            .expired_reservations(now - Duration::days(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn log_reads_back_in_order(s: Subject) {
    let (id, other) = (new_id("o"), new_id("o"));
    assert!(s.orders.read_log(&id).await.unwrap().is_empty());
    // Timestamps run backwards on purpose: append order, not `at`, decides.
    let entries: Vec<LogEntry> = (0..12)
        .map(|i| {
            LogEntry::new(
                base_time() - Duration::seconds(i),
                format!("step-{i}"),
                if i % 2 == 0 {
                    Outcome::Success
                } else {
                    Outcome::Error
                },
                format!("detail {i}"),
            )
        })
        .collect();
    for (i, e) in entries.iter().enumerate() {
        s.orders.append_log(&id, e).await.unwrap();
        if i == 3 {
            s.orders
                .append_log(
                    &other,
                    &LogEntry::new(base_time(), "elsewhere", Outcome::Alert, ""),
                )
                .await
                .unwrap();
        }
    }
    assert_eq!(s.orders.read_log(&id).await.unwrap(), entries);
    assert_eq!(s.orders.read_log(&other).await.unwrap().len(), 1);
}

pub async fn lookup_by_marketplace_id(s: Subject) {
    s.writer.upsert_sku(&sku("a", &[(W1, 10)])).await.unwrap();
    let mkp = new_id("m");
    let o = order(&new_id("o"), &mkp, &[("a", W1, 1)], base_time());
    created(s.place(&o).await);

    let by_mkp = s.orders.get_by_marketplace_id(AN, &mkp).await.unwrap();
    assert_eq!(by_mkp.as_ref(), Some(&o), "every field round-trips");
    assert_eq!(s.orders.get(&o.order_id).await.unwrap(), Some(o.clone()));
    assert_eq!(
        s.orders.get_by_marketplace_id("other", &mkp).await.unwrap(),
        None
    );
    assert_eq!(
        s.orders.get_by_marketplace_id(AN, "unknown").await.unwrap(),
        None
    );
    assert_eq!(s.orders.get("unknown").await.unwrap(), None);

    // Saved changes are what later lookups see.
    let mut authorized = o.clone();
    authorized.status = OrderStatus::Authorized;
    let v1 = saved(s.save(&authorized, StockEffect::None).await);
    assert_eq!(
        s.orders.get_by_marketplace_id(AN, &mkp).await.unwrap(),
        Some(v1)
    );
}
