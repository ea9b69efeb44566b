//! seller-check against a seller that breaks one rule at a time: that rule fails, and nothing
//! else does. The same fake with nothing broken passes every rule, so no rule fails by itself.

mod fake_seller;

use fake_seller::{Break, SECRET};
use seller_check::config::{Config, Credential};
use seller_check::report::{Outcome, Report};
use std::time::Duration;

async fn check(brk: Break) -> Report {
    check_seen(brk).await.0
}

async fn check_seen(brk: Break) -> (Report, fake_seller::Seen) {
    let (base, seen) = fake_seller::start(brk).await;
    let mut cfg = Config::new(base.parse().unwrap());
    cfg.credential = Some(Credential::PathSecret(SECRET.into()));
    cfg.skus = vec!["A".into(), "B".into()];
    cfg.unavailable_skus = vec!["Z".into()];
    cfg.allow_orders = true;
    cfg.order_skus = vec!["A".into(), "B".into()];
    cfg.oms_listen = Some("127.0.0.1:0".parse().unwrap());
    cfg.retry_after_secs = 1;
    cfg.oms_quiet = Duration::from_millis(500);
    cfg.oms_wait = Duration::from_secs(20);
    cfg.latency_requests = 2;
    cfg.quiet = true;
    let report = seller_check::run(&cfg)
        .await
        .expect("the fake seller answers");
    (report, seen)
}

fn with(report: &Report, outcome: Outcome) -> Vec<&'static str> {
    report
        .rules
        .iter()
        .filter(|r| r.outcome == outcome)
        .map(|r| r.id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seller_that_follows_the_protocol_passes_every_rule() {
    let report = check(Break::Nothing).await;
    assert_eq!(
        with(&report, Outcome::Fail),
        Vec::<&str>::new(),
        "{}",
        report.to_table()
    );
    assert_eq!(
        with(&report, Outcome::Skip),
        Vec::<&str>::new(),
        "{}",
        report.to_table()
    );
    assert_eq!(report.rules.len(), seller_check::rules::RULES.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_and_every_order_carries_the_run_marker() {
    let (report, seen) = check_seen(Break::Nothing).await;
    let requests = seen.requests();
    assert_eq!(requests.len() as u32, report.requests_sent);
    let unmarked: Vec<_> = requests
        .iter()
        .filter(|(_, m)| m.as_deref() != Some(report.marker.run_id.as_str()))
        .collect();
    assert!(
        unmarked.is_empty(),
        "without the marker header: {unmarked:?}"
    );
    let ids = seen.marketplace_order_ids();
    assert!(!ids.is_empty());
    let prefix = format!("{}-", report.marker.order_id_prefix);
    assert!(ids.iter().all(|id| id.starts_with(&prefix)), "{ids:?}");
}

macro_rules! broken {
    ($($name:ident: $brk:ident => $rule:literal,)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let report = check(Break::$brk).await;
            assert_eq!(with(&report, Outcome::Fail), vec![$rule], "{}", report.to_table());
        }
    )*};
}

broken! {
    slas_at_indexation_fail_indexation: IndexationQuotesSlas => "sim.indexation",
    a_checkout_without_its_address_fails_checkout: CheckoutForgetsAddress => "sim.checkout",
    wrong_indexes_fail_alignment: WrongIndexes => "sim.one-logistics-per-item",
    the_requested_quantity_unclamped_fails_the_clamp: NoClamp => "sim.quantity-clamp",
    dropped_unknown_items_fail_zeroing: DropsUnknownItems => "sim.unavailable-zeroed",
    float_money_fails_integer_cents: FloatMoney => "sim.integer-cents",
    a_numeric_shipping_estimate_fails_the_sla_shape: NumericShippingEstimate => "sim.sla-shape",
    a_pickup_without_store_info_fails_pickup_points: PickupWithoutStoreInfo => "sim.pickup-points",
    a_window_without_its_end_fails_delivery_windows: WindowWithoutEnd => "sim.delivery-windows",
    a_get_that_ignores_purchase_context_fails: GetIgnoresPurchaseContext => "sim.get-purchase-context",
    no_cache_control_fails_cache_headers: NoCacheHeader => "sim.cache-headers",
    plain_text_errors_fail_the_envelope: PlainTextErrors => "sim.error-envelope",
    a_slow_simulation_fails_latency: Slow => "sim.latency",
    no_auth_fails_auth: NoAuth => "auth.required",
    an_object_for_an_array_fails_placement: AnswersAnObject => "ord.placement",
    a_new_id_on_retry_fails_idempotency: NewIdOnRetry => "ord.placement-idempotent",
    a_fulfill_without_receipt_fails_its_shape: FulfillWithoutReceipt => "ord.fulfill",
    a_new_receipt_on_repeat_fails_fulfill_idempotency: NewReceiptOnRepeat => "ord.fulfill-idempotent",
    a_200_for_an_unknown_order_fails: UnknownOrder200 => "ord.unknown-order-404",
    an_accepted_mismatched_marketplace_id_fails: AcceptsMismatchedMarketplaceId => "ord.mismatched-marketplace-id-409",
    a_cancel_that_keeps_the_stock_fails: CancelKeepsStock => "ord.cancel-releases-stock",
    overselling_fails_no_oversell: Oversells => "ord.no-oversell",
    invoice_prices_in_reais_fail_invoice_fields: InvoiceItemPriceInReais => "oms.invoice-fields",
    the_seller_order_id_in_oms_paths_fails: SellerIdInOmsPath => "oms.marketplace-order-id-in-path",
    tracking_before_its_invoice_fails: TrackingBeforeInvoice => "oms.tracking-after-invoice",
    carrier_events_before_tracking_fail: EventsBeforeTracking => "oms.events-after-tracking",
    invoices_without_freight_fail_to_add_up: InvoicesWithoutFreight => "oms.invoices-add-up",
    retrying_before_retry_after_fails: IgnoresRetryAfter => "oms.retry-after-429",
}
