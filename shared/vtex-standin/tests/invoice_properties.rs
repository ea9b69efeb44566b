//! Property tests over random carts (issue 11): discounts in cents and in percent over several
//! units, bundle items, paid delivery windows, SKUs on several lines, 1–5 packages.
//!
//! For each cart the placement body VTEX would send is read twice, independently: by the connector
//! (`vtex::orders::placement_request` → `plan_order`) and by the stand-in (`vtex_standin::placed`).
//! Then the units are packed at random, each package invoiced at the discounted unit prices for its
//! share (`domain::invoicing::share::package_value`), and every invoice must pass the connector's
//! rules. The properties:
//! - both readings give the same order value;
//! - the Output invoices never add up to more than that value, and to exactly it at the last unit;
//! - returns of random packages pass too, never add up to more than was invoiced, and a full return
//!   adds up to exactly the value.

use domain::Cents;
use domain::invoicing::share::{package_items, package_value};
use domain::invoicing::{
    Decision, Invoice, InvoiceItem, InvoiceRecord, InvoiceSend, InvoiceType, decide_invoice,
    derive_status,
};
use domain::lifecycle::{LifecycleConfig, StockSource, plan_order};
use domain::order::{Order, OrderStatus};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::HashMap;

#[derive(Debug, Clone)]
enum Tag {
    /// `value` in cents for the line (negative).
    Cents(i64),
    /// A percentual discount stated only as `rawValue` (percent).
    Percent(u8),
}

#[derive(Debug, Clone)]
struct Line {
    sku: usize,
    quantity: i64,
    price: i64,
    tags: Vec<Tag>,
    bundle: Option<(i64, Option<i64>)>,
    freight: i64,
    window: Option<i64>,
}

fn line() -> impl Strategy<Value = Line> {
    (
        0usize..3,
        1i64..=6,
        100i64..=50_000,
        prop::collection::vec(
            prop_oneof![
                (0i64..=1000).prop_map(Tag::Cents),
                (1u8..=40).prop_map(Tag::Percent)
            ],
            0..=2,
        ),
        prop::option::of((0i64..=3000, prop::option::of(1i64..=2))),
        0i64..=3000,
        prop::option::of(0i64..=2000),
    )
        .prop_map(|(sku, quantity, price, tags, bundle, freight, window)| {
            // Absolute discounts: a share of the line, so no line goes below half its price.
            let tags = tags
                .into_iter()
                .map(|t| match t {
                    Tag::Cents(per_mille) => Tag::Cents(-(price * quantity * per_mille / 4000)),
                    p => p,
                })
                .collect();
            Line {
                sku,
                quantity,
                price,
                tags,
                bundle,
                freight,
                window,
            }
        })
}

fn body(lines: &[Line], state_payment_value: bool) -> Value {
    let items: Vec<Value> = lines
        .iter()
        .map(|l| {
            let tags: Vec<Value> = l
                .tags
                .iter()
                .map(|t| match t {
                    Tag::Cents(v) => json!({"name": "DISCOUNT@MARKETPLACE", "value": v,
                        "isPercentual": false, "rawValue": *v as f64 / 100.0}),
                    Tag::Percent(p) => json!({"name": "discount@percent", "isPercentual": true,
                        "rawValue": -f64::from(*p)}),
                })
                .collect();
            let bundles: Vec<Value> = l
                .bundle
                .iter()
                .map(|(price, q)| match q {
                    Some(q) => json!({"type": "Warranty", "price": price, "quantity": q}),
                    None => json!({"type": "Warranty", "price": price}),
                })
                .collect();
            json!({"id": format!("SKU-{}", l.sku), "quantity": l.quantity, "price": l.price,
                   "priceTags": tags, "bundleItems": bundles})
        })
        .collect();
    let logistics: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let window = l.window.map(|p| {
                json!({"startDateUtc": "2026-01-05T08:00:00+00:00",
                       "endDateUtc": "2026-01-05T12:00:00+00:00", "listPrice": p})
            });
            json!({"itemIndex": i, "selectedSla": "Normal", "price": l.freight,
                   "deliveryWindow": window})
        })
        .collect();
    let mut order = json!({
        "marketplaceOrderId": "PROP-1",
        "items": items,
        "shippingData": {"logisticsInfo": logistics},
    });
    if state_payment_value {
        let value = vtex_standin::placed::placed_order(&order).unwrap().value;
        order["marketplacePaymentValue"] = json!(value);
    }
    json!([order])
}

fn connector_order(body: &Value) -> Order {
    let req =
        vtex::orders::placement_request(&body[0], "orders[0]", "luxstore", Some("1")).unwrap();
    let sources: Vec<StockSource> = req
        .lines
        .iter()
        .map(|_| StockSource::Carrier("wh1".into()))
        .collect();
    let mut order = plan_order(
        &req,
        &sources,
        "SLR-PROP".into(),
        chrono::Utc::now(),
        &LifecycleConfig::default(),
    );
    order.status = OrderStatus::Authorized;
    order
}

fn invoice(
    kind: InvoiceType,
    number: String,
    order: &Order,
    before: &HashMap<String, i64>,
    pack: &HashMap<String, i64>,
) -> Invoice {
    Invoice {
        kind,
        invoice_number: number,
        invoice_value: package_value(order, before, pack),
        issuance_date: "2026-11-22T10:15:00-03:00".into(),
        items: package_items(order, before, pack)
            .into_iter()
            .map(|(id, quantity, price)| InvoiceItem {
                id,
                quantity,
                price,
                description: None,
            })
            .collect(),
        invoice_key: None,
        invoice_url: None,
        embedded_invoice: None,
        courier: None,
        tracking_number: None,
        tracking_url: None,
        dispatched_date: None,
    }
}

fn send(order: &Order, records: &mut Vec<InvoiceRecord>, inv: &Invoice) {
    let d = decide_invoice(order, records, inv);
    assert_eq!(d, Decision::Send(InvoiceSend::New), "{inv:?}");
    let mut r = InvoiceRecord::pending(&order.order_id, inv, chrono::Utc::now());
    r.mark_sent("rcpt", chrono::Utc::now());
    records.push(r);
}

/// Groups `units` (one SKU id per unit) by the package each is put in.
fn packages(units: &[String], assignment: &[usize], count: usize) -> Vec<HashMap<String, i64>> {
    let mut p: Vec<HashMap<String, i64>> = vec![HashMap::new(); count];
    for (u, &a) in units.iter().zip(assignment) {
        *p[a % count].entry(u.clone()).or_insert(0) += 1;
    }
    p.retain(|m| !m.is_empty());
    p
}

fn sum(records: &[InvoiceRecord], kind: InvoiceType) -> Cents {
    records
        .iter()
        .filter(|r| r.invoice.kind == kind)
        .map(|r| r.invoice.invoice_value)
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn invoices_by_the_share_rule_add_up_to_vtexs_value_and_never_more(
        lines in prop::collection::vec(line(), 1..=4),
        state_payment_value in any::<bool>(),
        package_count in 1usize..=5,
        assignment in prop::collection::vec(0usize..5, 24),
        returned in prop::collection::vec(any::<bool>(), 5),
    ) {
        let body = body(&lines, state_payment_value);
        let order = connector_order(&body);
        let vtex_value = vtex_standin::placed::placed_orders(&body).unwrap()[0].value;
        prop_assert_eq!(order.total(), Cents(vtex_value));

        let units: Vec<String> = order
            .lines
            .iter()
            .flat_map(|l| std::iter::repeat_n(l.sku_id.clone(), l.quantity as usize))
            .collect();
        let packs = packages(&units, &assignment, package_count);
        let mut records = Vec::new();
        let mut billed: HashMap<String, i64> = HashMap::new();
        for (i, pack) in packs.iter().enumerate() {
            send(&order, &mut records, &invoice(InvoiceType::Output, format!("NF-{i}"), &order, &billed, pack));
            for (sku, k) in pack {
                *billed.entry(sku.clone()).or_insert(0) += k;
            }
            prop_assert!(sum(&records, InvoiceType::Output) <= order.total());
        }
        prop_assert_eq!(sum(&records, InvoiceType::Output), Cents(vtex_value));
        prop_assert_eq!(derive_status(&order, &records), OrderStatus::Invoiced);

        // Returns: the chosen packages, each for its share of what is returned so far.
        let mut back: HashMap<String, i64> = HashMap::new();
        let every = returned.iter().take(packs.len()).all(|r| *r);
        for (i, pack) in packs.iter().enumerate() {
            if !returned[i] {
                continue;
            }
            send(&order, &mut records, &invoice(InvoiceType::Input, format!("RET-{i}"), &order, &back, pack));
            for (sku, k) in pack {
                *back.entry(sku.clone()).or_insert(0) += k;
            }
            prop_assert!(sum(&records, InvoiceType::Input) <= sum(&records, InvoiceType::Output));
        }
        if every {
            prop_assert_eq!(sum(&records, InvoiceType::Input), Cents(vtex_value));
            prop_assert_eq!(derive_status(&order, &records), OrderStatus::Returned);
        }
    }
}
