//! One test per rule of `invoicing` (GIVEN an order and its recorded invoices, WHEN a message is
//! decided, THEN …). Story ids from shared/docs/protocol.md §Example story: SKU 2002495 at 9990,
//! freight 1090, total 11080.

use super::*;
use crate::order::OrderLine;
use chrono::TimeZone;

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 31, 12, 0, 0).unwrap()
}

fn line(index: usize, sku: &str, qty: i64, price: i64, freight: i64) -> OrderLine {
    OrderLine {
        index,
        sku_id: sku.into(),
        quantity: qty,
        unit_price: Cents(price),
        freight: Cents(freight),
        selected_sla: None,
        location_id: "wh1".into(),
        lock_ttl: None,
        shipping_estimate: None,
        delivery_window: None,
    }
}

fn order_with(status: OrderStatus, lines: Vec<OrderLine>) -> Order {
    Order {
        order_id: "SLR-1".into(),
        an: "luxstore".into(),
        sc: None,
        marketplace_order_id: "959311095".into(),
        marketplace_order_group: None,
        marketplace_services_endpoint: None,
        marketplace_payment_value: lines
            .iter()
            .map(|l| l.unit_price * l.quantity + l.freight)
            .sum(),
        status,
        lines,
        address: None,
        customer: None,
        created_at: at(),
        expires_at: at(),
        authorized: None,
        canceled: None,
        pending_cancellation: None,
        seller_cancel: None,
        value: None,
        version: 1,
    }
}

/// One SKU, 1 × 9990 + 1090 freight = 11080.
fn order(status: OrderStatus) -> Order {
    order_with(status, vec![line(0, "2002495", 1, 9990, 1090)])
}

/// Two SKUs shipped in two packages: 2 × 1000 + 500 freight, 1 × 3000 + 700 freight = 6200.
fn split_order(status: OrderStatus) -> Order {
    order_with(
        status,
        vec![line(0, "A", 2, 1000, 500), line(1, "B", 1, 3000, 700)],
    )
}

fn invoice(kind: InvoiceType, number: &str, value: i64, items: &[(&str, i64, i64)]) -> Invoice {
    Invoice {
        kind,
        invoice_number: number.into(),
        invoice_value: Cents(value),
        issuance_date: "2024-01-31T18:25:43-05:00".into(),
        items: items
            .iter()
            .map(|(id, q, p)| InvoiceItem {
                id: (*id).into(),
                quantity: *q,
                price: Cents(*p),
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

fn full_output() -> Invoice {
    invoice(InvoiceType::Output, "NFe-1", 11080, &[("2002495", 1, 9990)])
}

fn sent(o: &Order, inv: &Invoice) -> InvoiceRecord {
    let mut r = InvoiceRecord::pending(&o.order_id, inv, at());
    r.mark_sent("rcpt", at());
    r
}

fn with_tracking(mut r: InvoiceRecord) -> InvoiceRecord {
    r.tracking = Some(TrackingRecord {
        info: tracking("SR1"),
        state: SendState::Sent,
    });
    r
}

fn tracking(number: &str) -> TrackingInfo {
    TrackingInfo {
        tracking_number: number.into(),
        tracking_url: Some("https://t.example/SR1".into()),
        courier: Some("Correios".into()),
        dispatched_date: None,
    }
}

fn event(desc: &str, date: &str) -> TrackingEvent {
    TrackingEvent {
        city: "Curitiba".into(),
        state: "PR".into(),
        description: desc.into(),
        date: date.into(),
    }
}

fn rejected<T: std::fmt::Debug>(d: Decision<T>) -> RuleBreak {
    match d {
        Decision::Reject(r) => r,
        other => panic!("expected a rule break, got {other:?}"),
    }
}

// ---------------------------------------------------------------- authorization gate

#[test]
fn nothing_is_sent_for_an_order_not_authorized_by_fulfill() {
    for status in [OrderStatus::Reserved, OrderStatus::Expired] {
        let o = order(status);
        assert_eq!(
            rejected(decide_invoice(&o, &[], &full_output())),
            RuleBreak::NotAuthorized { status }
        );
        assert!(matches!(
            rejected(decide_tracking(&o, &[], "NFe-1", &tracking("SR1"))),
            RuleBreak::NotAuthorized { .. }
        ));
        let st = TrackingStatus {
            is_delivered: false,
            delivered_date: None,
            events: vec![event("x", "2024-02-01")],
        };
        assert!(matches!(
            rejected(decide_status(&o, &[], "NFe-1", &st)),
            RuleBreak::NotAuthorized { .. }
        ));
        assert!(matches!(
            rejected(decide_cancel(&o, &[], "no stock")),
            RuleBreak::NotAuthorized { .. }
        ));
    }
}

#[test]
fn a_canceled_order_gets_no_invoice_or_tracking() {
    let o = order(OrderStatus::Canceled);
    assert_eq!(
        rejected(decide_invoice(&o, &[], &full_output())),
        RuleBreak::OrderCanceled
    );
    assert_eq!(
        rejected(decide_tracking(&o, &[], "NFe-1", &tracking("SR1"))),
        RuleBreak::OrderCanceled
    );
}

// ---------------------------------------------------------------- invoices

#[test]
fn a_full_output_invoice_of_an_authorized_order_is_sent() {
    let o = order(OrderStatus::Authorized);
    assert_eq!(
        decide_invoice(&o, &[], &full_output()),
        Decision::Send(InvoiceSend::New)
    );
}

#[test]
fn a_duplicate_of_an_acknowledged_invoice_sends_nothing() {
    let o = order(OrderStatus::Invoiced);
    let recs = [sent(&o, &full_output())];
    assert!(matches!(
        decide_invoice(&o, &recs, &full_output()),
        Decision::Nothing(_)
    ));
}

#[test]
fn a_pending_invoice_is_posted_again_unchanged() {
    let o = order(OrderStatus::Authorized);
    let rec = InvoiceRecord::pending(&o.order_id, &full_output(), at());
    assert_eq!(
        decide_invoice(&o, std::slice::from_ref(&rec), &full_output()),
        Decision::Send(InvoiceSend::Again(Box::new(rec)))
    );
}

#[test]
fn an_invoice_vtex_rejected_may_be_sent_again_after_redrive() {
    let o = order(OrderStatus::Authorized);
    let mut rec = InvoiceRecord::pending(&o.order_id, &full_output(), at());
    rec.mark_rejected(at());
    assert!(matches!(
        decide_invoice(&o, &[rec], &full_output()),
        Decision::Send(InvoiceSend::Again(_))
    ));
}

#[test]
fn reusing_an_invoice_number_for_different_content_is_refused() {
    let o = order(OrderStatus::Invoiced);
    let recs = [sent(&o, &full_output())];
    let mut changed = full_output();
    changed.invoice_url = Some("https://other".into());
    assert!(matches!(
        rejected(decide_invoice(&o, &recs, &changed)),
        RuleBreak::InvoiceNumberReused { .. }
    ));
}

#[test]
fn invoice_numbers_with_characters_vtex_mishandles_are_refused() {
    for bad in [
        "", "NF/1", "NF?1", "NF#1", "NF%1", "NF\\1", "NF 1", "NF\t1", "NF\u{7}1", "NF&1", "NF+1",
        "NFé1", ".", "..",
    ] {
        assert!(check_invoice_number(bad).is_err(), "{bad:?} accepted");
    }
    assert!(check_invoice_number(&"9".repeat(65)).is_err());
    for good in ["NFe-00001", "123456", "A.B_C-9:1", &"9".repeat(64)] {
        assert!(check_invoice_number(good).is_ok(), "{good:?} refused");
    }
    let o = order(OrderStatus::Authorized);
    let mut inv = full_output();
    inv.invoice_number = "2024/0001".into();
    assert!(matches!(
        rejected(decide_invoice(&o, &[], &inv)),
        RuleBreak::InvalidInvoiceNumber { .. }
    ));
}

#[test]
fn invoice_value_must_be_positive() {
    let o = order(OrderStatus::Authorized);
    for v in [0, -5] {
        let mut inv = full_output();
        inv.invoice_value = Cents(v);
        assert_eq!(
            rejected(decide_invoice(&o, &[], &inv)),
            RuleBreak::NonPositiveValue { value: Cents(v) }
        );
    }
}

#[test]
fn issuance_date_needs_a_time() {
    let o = order(OrderStatus::Authorized);
    let mut inv = full_output();
    inv.issuance_date = "2024-01-31".into();
    assert!(matches!(
        rejected(decide_invoice(&o, &[], &inv)),
        RuleBreak::BadDateTime {
            field: "issuanceDate",
            ..
        }
    ));
    for ok in [
        "2024-01-31T18:25:43-05:00",
        "2024-01-31T18:25:43.123Z",
        "2024-01-31 18:25:43",
        "2024-01-31T18:25",
    ] {
        assert!(has_date_and_time(ok), "{ok}");
    }
}

#[test]
fn an_invoice_needs_items_with_positive_quantities() {
    let o = order(OrderStatus::Authorized);
    let inv = invoice(InvoiceType::Output, "N", 11080, &[]);
    assert_eq!(rejected(decide_invoice(&o, &[], &inv)), RuleBreak::NoItems);
    let inv = invoice(InvoiceType::Output, "N", 11080, &[("2002495", 0, 9990)]);
    assert!(matches!(
        rejected(decide_invoice(&o, &[], &inv)),
        RuleBreak::BadQuantity { quantity: 0, .. }
    ));
    let inv = invoice(InvoiceType::Output, "N", 11080, &[("2002495", 1, -1)]);
    assert!(matches!(
        rejected(decide_invoice(&o, &[], &inv)),
        RuleBreak::NegativePrice { .. }
    ));
}

#[test]
fn an_invoice_cannot_bill_a_sku_the_order_does_not_have() {
    let o = order(OrderStatus::Authorized);
    let inv = invoice(InvoiceType::Output, "N", 11080, &[("999", 1, 9990)]);
    assert_eq!(
        rejected(decide_invoice(&o, &[], &inv)),
        RuleBreak::UnknownSku { sku: "999".into() }
    );
}

#[test]
fn item_unit_price_must_match_the_order_line() {
    let o = order(OrderStatus::Authorized);
    let inv = invoice(InvoiceType::Output, "N", 11080, &[("2002495", 1, 9000)]);
    assert_eq!(
        rejected(decide_invoice(&o, &[], &inv)),
        RuleBreak::PriceMismatch {
            sku: "2002495".into(),
            price: Cents(9000),
            expected: vec![Cents(9990)]
        }
    );
}

#[test]
fn an_invoice_cannot_bill_more_units_than_ordered_beyond_what_was_billed() {
    let o = split_order(OrderStatus::Authorized);
    let too_many = invoice(InvoiceType::Output, "N1", 3500, &[("A", 3, 1000)]);
    assert!(matches!(
        rejected(decide_invoice(&o, &[], &too_many)),
        RuleBreak::QuantityExceeded {
            allowed: 2,
            already: 0,
            requested: 3,
            ..
        }
    ));
    let first = sent(
        &o,
        &invoice(InvoiceType::Output, "N1", 1500, &[("A", 1, 1000)]),
    );
    let again = invoice(InvoiceType::Output, "N2", 2500, &[("A", 2, 1000)]);
    assert!(matches!(
        rejected(decide_invoice(&o, &[first], &again)),
        RuleBreak::QuantityExceeded {
            allowed: 2,
            already: 1,
            requested: 2,
            ..
        }
    ));
}

#[test]
fn invoice_value_cannot_be_below_its_items() {
    let o = split_order(OrderStatus::Authorized);
    let inv = invoice(InvoiceType::Output, "N1", 1999, &[("A", 2, 1000)]);
    assert_eq!(
        rejected(decide_invoice(&o, &[], &inv)),
        RuleBreak::ValueBelowItems {
            value: Cents(1999),
            items: Cents(2000)
        }
    );
}

#[test]
fn output_invoices_never_add_up_to_more_than_the_order_total_with_freight() {
    let o = split_order(OrderStatus::Authorized);
    // 2500 + 3800 = 6300 > 6200
    let first = sent(
        &o,
        &invoice(InvoiceType::Output, "N1", 2500, &[("A", 2, 1000)]),
    );
    let second = invoice(InvoiceType::Output, "N2", 3800, &[("B", 1, 3000)]);
    assert_eq!(
        rejected(decide_invoice(&o, &[first], &second)),
        RuleBreak::ExceedsTotal {
            total: Cents(6200),
            would_be: Cents(6300)
        }
    );
}

#[test]
fn pending_invoices_count_toward_the_total() {
    let o = split_order(OrderStatus::Authorized);
    let pending = InvoiceRecord::pending(
        &o.order_id,
        &invoice(InvoiceType::Output, "N1", 2500, &[("A", 2, 1000)]),
        at(),
    );
    let second = invoice(InvoiceType::Output, "N2", 3800, &[("B", 1, 3000)]);
    assert!(matches!(
        rejected(decide_invoice(&o, &[pending], &second)),
        RuleBreak::ExceedsTotal { .. }
    ));
}

#[test]
fn invoices_vtex_rejected_do_not_count_toward_the_total() {
    let o = order(OrderStatus::Authorized);
    let mut refused = InvoiceRecord::pending(&o.order_id, &full_output(), at());
    refused.mark_rejected(at());
    let mut other = full_output();
    other.invoice_number = "NFe-2".into();
    assert_eq!(
        decide_invoice(&o, &[refused], &other),
        Decision::Send(InvoiceSend::New)
    );
}

#[test]
fn the_invoice_that_bills_the_last_unit_must_reach_the_total_exactly() {
    let o = split_order(OrderStatus::Authorized);
    let first = sent(
        &o,
        &invoice(InvoiceType::Output, "N1", 2500, &[("A", 2, 1000)]),
    );
    let short = invoice(InvoiceType::Output, "N2", 3600, &[("B", 1, 3000)]);
    assert_eq!(
        rejected(decide_invoice(&o, &[first], &short)),
        RuleBreak::IncompleteTotal {
            total: Cents(6200),
            would_be: Cents(6100)
        }
    );
}

#[test]
fn a_split_shipment_is_partially_then_fully_invoiced_and_ships_stock_once() {
    let o = split_order(OrderStatus::Authorized);
    let p1 = invoice(InvoiceType::Output, "N1", 2500, &[("A", 2, 1000)]);
    assert_eq!(
        decide_invoice(&o, &[], &p1),
        Decision::Send(InvoiceSend::New)
    );
    let recs = vec![sent(&o, &p1)];
    let (o, effect) = status_update(&o, &recs).unwrap();
    assert_eq!(o.status, OrderStatus::PartiallyInvoiced);
    assert_eq!(effect, StockEffect::None);

    let p2 = invoice(InvoiceType::Output, "N2", 3700, &[("B", 1, 3000)]);
    assert_eq!(
        decide_invoice(&o, &recs, &p2),
        Decision::Send(InvoiceSend::New)
    );
    let recs = vec![recs[0].clone(), sent(&o, &p2)];
    let (o, effect) = status_update(&o, &recs).unwrap();
    assert_eq!(o.status, OrderStatus::Invoiced);
    assert_eq!(effect, StockEffect::Ship);
    assert_eq!(status_update(&o, &recs), None, "replay changes nothing");
}

#[test]
fn a_pending_invoice_does_not_move_the_order_status() {
    let o = order(OrderStatus::Authorized);
    let recs = [InvoiceRecord::pending(&o.order_id, &full_output(), at())];
    assert_eq!(status_update(&o, &recs), None);
}

#[test]
fn another_sale_invoice_after_a_return_is_refused() {
    let o = order(OrderStatus::Returned);
    let mut inv = full_output();
    inv.invoice_number = "NFe-9".into();
    assert_eq!(
        rejected(decide_invoice(&o, &[], &inv)),
        RuleBreak::OrderReturned
    );
}

// ---------------------------------------------------------------- returns

fn full_return() -> Invoice {
    invoice(InvoiceType::Input, "NFe-2", 11080, &[("2002495", 1, 9990)])
}

#[test]
fn a_return_needs_the_order_fully_invoiced_and_acknowledged() {
    let o = split_order(OrderStatus::PartiallyInvoiced);
    let first = sent(
        &o,
        &invoice(InvoiceType::Output, "N1", 2500, &[("A", 2, 1000)]),
    );
    let ret = invoice(InvoiceType::Input, "R1", 2500, &[("A", 2, 1000)]);
    assert_eq!(
        rejected(decide_invoice(&o, &[first], &ret)),
        RuleBreak::NotFullyInvoiced
    );
    let o = order(OrderStatus::Authorized);
    let pending = InvoiceRecord::pending(&o.order_id, &full_output(), at());
    assert_eq!(
        rejected(decide_invoice(&o, &[pending], &full_return())),
        RuleBreak::NotFullyInvoiced
    );
}

#[test]
fn a_full_return_moves_the_order_to_returned_without_touching_stock() {
    let o = order(OrderStatus::Invoiced);
    let recs = vec![sent(&o, &full_output())];
    assert_eq!(
        decide_invoice(&o, &recs, &full_return()),
        Decision::Send(InvoiceSend::New)
    );
    let recs = vec![recs[0].clone(), sent(&o, &full_return())];
    let (o, effect) = status_update(&o, &recs).unwrap();
    assert_eq!(o.status, OrderStatus::Returned);
    assert_eq!(effect, StockEffect::None);
}

#[test]
fn returns_never_exceed_what_was_invoiced() {
    let o = order(OrderStatus::Invoiced);
    let recs = vec![sent(&o, &full_output())];
    let too_much = invoice(InvoiceType::Input, "R1", 11081, &[("2002495", 1, 9990)]);
    assert!(matches!(
        rejected(decide_invoice(&o, &recs, &too_much)),
        RuleBreak::ReturnExceedsInvoiced { .. }
    ));
    let too_many = invoice(InvoiceType::Input, "R1", 20000, &[("2002495", 2, 9990)]);
    assert!(matches!(
        rejected(decide_invoice(&o, &recs, &too_many)),
        RuleBreak::QuantityExceeded { allowed: 1, .. }
    ));
}

#[test]
fn a_partial_return_keeps_the_order_status() {
    let o = split_order(OrderStatus::Invoiced);
    let recs = vec![
        sent(
            &o,
            &invoice(InvoiceType::Output, "N1", 2500, &[("A", 2, 1000)]),
        ),
        sent(
            &o,
            &invoice(InvoiceType::Output, "N2", 3700, &[("B", 1, 3000)]),
        ),
    ];
    let ret = invoice(InvoiceType::Input, "R1", 1000, &[("A", 1, 1000)]);
    assert_eq!(
        decide_invoice(&o, &recs, &ret),
        Decision::Send(InvoiceSend::New)
    );
    let mut all = recs.clone();
    all.push(sent(&o, &ret));
    assert_eq!(status_update(&o, &all), None);
}

// ---------------------------------------------------------------- tracking

#[test]
fn tracking_needs_a_known_invoice() {
    let o = order(OrderStatus::Invoiced);
    assert_eq!(
        rejected(decide_tracking(&o, &[], "NFe-1", &tracking("SR1"))),
        RuleBreak::UnknownInvoice {
            number: "NFe-1".into()
        }
    );
    let mut refused = InvoiceRecord::pending(&o.order_id, &full_output(), at());
    refused.mark_rejected(at());
    assert!(matches!(
        rejected(decide_tracking(&o, &[refused], "NFe-1", &tracking("SR1"))),
        RuleBreak::UnknownInvoice { .. }
    ));
}

#[test]
fn tracking_waits_while_its_invoice_is_in_flight() {
    let o = order(OrderStatus::Authorized);
    let pending = InvoiceRecord::pending(&o.order_id, &full_output(), at());
    assert!(matches!(
        decide_tracking(&o, &[pending], "NFe-1", &tracking("SR1")),
        Decision::Wait(_)
    ));
}

#[test]
fn tracking_is_patched_once_and_blank_fields_become_null() {
    let o = order(OrderStatus::Invoiced);
    let recs = vec![sent(&o, &full_output())];
    let mut info = tracking("SR1");
    info.dispatched_date = Some("  ".into());
    let Decision::Send(body) = decide_tracking(&o, &recs, "NFe-1", &info) else {
        panic!("not sent")
    };
    assert_eq!(body.dispatched_date, None);
    let mut rec = recs[0].clone();
    rec.tracking = Some(TrackingRecord {
        info: body,
        state: SendState::Sent,
    });
    assert!(matches!(
        decide_tracking(&o, &[rec.clone()], "NFe-1", &info),
        Decision::Nothing(_)
    ));
    // A correction is a different body: sent again.
    assert!(matches!(
        decide_tracking(&o, &[rec], "NFe-1", &tracking("SR2")),
        Decision::Send(_)
    ));
}

#[test]
fn tracking_needs_a_tracking_number() {
    let o = order(OrderStatus::Invoiced);
    let recs = vec![sent(&o, &full_output())];
    assert_eq!(
        rejected(decide_tracking(&o, &recs, "NFe-1", &tracking(" "))),
        RuleBreak::MissingTrackingNumber
    );
}

#[test]
fn tracking_goes_on_sale_invoices_only() {
    let o = order(OrderStatus::Returned);
    let recs = vec![sent(&o, &full_output()), sent(&o, &full_return())];
    assert!(matches!(
        rejected(decide_tracking(&o, &recs, "NFe-2", &tracking("SR1"))),
        RuleBreak::TrackingOnReturn { .. }
    ));
}

#[test]
fn tracking_inside_the_invoice_counts_as_registered_once_the_invoice_is_acknowledged() {
    let o = order(OrderStatus::Authorized);
    let mut inv = full_output();
    inv.tracking_number = Some("SR1".into());
    inv.courier = Some("Correios".into());
    inv.tracking_url = Some("".into());
    let rec = sent(&o, &inv);
    assert!(rec.has_tracking());
    let (o, effect) = status_update(&o, std::slice::from_ref(&rec)).unwrap();
    assert_eq!(o.status, OrderStatus::Shipped);
    assert_eq!(effect, StockEffect::Ship);
}

// ---------------------------------------------------------------- carrier status

fn status(delivered: bool, events: Vec<TrackingEvent>) -> TrackingStatus {
    TrackingStatus {
        is_delivered: delivered,
        delivered_date: delivered.then(|| "2015-06-25 14:30".to_string()),
        events,
    }
}

#[test]
fn carrier_status_needs_a_registered_tracking_number() {
    let o = order(OrderStatus::Invoiced);
    let recs = vec![sent(&o, &full_output())];
    assert!(matches!(
        rejected(decide_status(
            &o,
            &recs,
            "NFe-1",
            &status(false, vec![event("x", "2015-06-23")])
        )),
        RuleBreak::NoTrackingRegistered { .. }
    ));
    assert!(matches!(
        rejected(decide_status(&o, &[], "NFe-1", &status(true, vec![]))),
        RuleBreak::UnknownInvoice { .. }
    ));
}

#[test]
fn only_events_not_sent_before_are_put() {
    let o = order(OrderStatus::Shipped);
    let mut rec = with_tracking(sent(&o, &full_output()));
    let e1 = event("Coletado", "2015-06-23");
    let e2 = event("A caminho", "2015-06-24");
    rec.mark_status_sent(&status(false, vec![e1.clone()]), at());
    let Decision::Send(body) = decide_status(
        &o,
        std::slice::from_ref(&rec),
        "NFe-1",
        &status(false, vec![e1.clone(), e2.clone(), e2.clone()]),
    ) else {
        panic!("not sent")
    };
    assert_eq!(body.events, vec![e2.clone()]);
    rec.mark_status_sent(&body, at());
    assert!(matches!(
        decide_status(&o, &[rec], "NFe-1", &status(false, vec![e2, e1])),
        Decision::Nothing(_)
    ));
}

#[test]
fn delivery_is_sent_once_and_ends_the_flow() {
    let o = order(OrderStatus::Shipped);
    let mut rec = with_tracking(sent(&o, &full_output()));
    let e = event("Entregue", "2015-06-25");
    let Decision::Send(body) = decide_status(
        &o,
        std::slice::from_ref(&rec),
        "NFe-1",
        &status(true, vec![e.clone()]),
    ) else {
        panic!("not sent")
    };
    assert!(body.is_delivered);
    assert_eq!(body.delivered_date.as_deref(), Some("2015-06-25 14:30"));
    rec.mark_status_sent(&body, at());
    let recs = vec![rec];
    assert!(matches!(
        decide_status(
            &o,
            &recs,
            "NFe-1",
            &status(false, vec![event("late", "2015-06-26")])
        ),
        Decision::Nothing(_)
    ));
    let (o, _) = status_update(&o, &recs).unwrap();
    assert_eq!(o.status, OrderStatus::Delivered);
}

#[test]
fn delivered_date_is_sent_as_yyyy_mm_dd_hh_mm() {
    for (given, sent) in [
        ("2015-06-25 14:30", "2015-06-25 14:30"),
        ("2015-06-25T14:30:59.123-03:00", "2015-06-25 14:30"),
        ("2015-06-25T14:30:00Z", "2015-06-25 14:30"),
        (" 2015-06-25T14:30:07 ", "2015-06-25 14:30"),
        ("2015-06-25 14:30:00.4617653", "2015-06-25 14:30"),
    ] {
        let o = order(OrderStatus::Shipped);
        let rec = with_tracking(sent_record(&o));
        let mut st = status(true, vec![]);
        st.delivered_date = Some(given.into());
        let Decision::Send(body) = decide_status(&o, &[rec], "NFe-1", &st) else {
            panic!("not sent: {given}")
        };
        assert_eq!(body.delivered_date.as_deref(), Some(sent), "{given}");
    }
}

fn sent_record(o: &Order) -> InvoiceRecord {
    sent(o, &full_output())
}

#[test]
fn delivered_needs_a_delivered_date_with_time() {
    let o = order(OrderStatus::Shipped);
    let recs = vec![with_tracking(sent(&o, &full_output()))];
    let mut st = status(true, vec![]);
    st.delivered_date = None;
    assert_eq!(
        rejected(decide_status(&o, &recs, "NFe-1", &st)),
        RuleBreak::DeliveredWithoutDate
    );
    st.delivered_date = Some("yesterday".into());
    assert!(matches!(
        rejected(decide_status(&o, &recs, "NFe-1", &st)),
        RuleBreak::BadDateTime {
            field: "deliveredDate",
            ..
        }
    ));
}

#[test]
fn events_need_a_description_and_a_date() {
    let o = order(OrderStatus::Shipped);
    let recs = vec![with_tracking(sent(&o, &full_output()))];
    assert_eq!(
        rejected(decide_status(
            &o,
            &recs,
            "NFe-1",
            &status(false, vec![event(" ", "2015-06-23")])
        )),
        RuleBreak::BadEvent {
            index: 0,
            field: "description"
        }
    );
    assert_eq!(
        rejected(decide_status(
            &o,
            &recs,
            "NFe-1",
            &status(false, vec![event("ok", "2015-06-23"), event("ok", "23/06")])
        )),
        RuleBreak::BadEvent {
            index: 1,
            field: "date"
        }
    );
}

#[test]
fn a_split_shipment_is_delivered_when_every_package_is() {
    let o = split_order(OrderStatus::Invoiced);
    let mut a = with_tracking(sent(
        &o,
        &invoice(InvoiceType::Output, "N1", 2500, &[("A", 2, 1000)]),
    ));
    let b = sent(
        &o,
        &invoice(InvoiceType::Output, "N2", 3700, &[("B", 1, 3000)]),
    );
    assert_eq!(
        derive_status(&o, &[a.clone(), b.clone()]),
        OrderStatus::Invoiced
    );
    let b = with_tracking(b);
    assert_eq!(
        derive_status(&o, &[a.clone(), b.clone()]),
        OrderStatus::Shipped
    );
    a.mark_status_sent(&status(true, vec![]), at());
    assert_eq!(
        derive_status(&o, &[a.clone(), b.clone()]),
        OrderStatus::Shipped
    );
    let mut b = b;
    b.mark_status_sent(&status(true, vec![]), at());
    assert_eq!(derive_status(&o, &[a, b]), OrderStatus::Delivered);
}

// ---------------------------------------------------------------- seller cancellation

#[test]
fn an_order_without_invoices_is_canceled_and_releases_its_stock() {
    let o = order(OrderStatus::Authorized);
    assert_eq!(decide_cancel(&o, &[], "no stock"), Decision::Send(()));
    let (c, effect) = canceled_by_seller(&o, "r1", "no stock", None, at());
    assert_eq!(c.status, OrderStatus::Canceled);
    assert_eq!(effect, StockEffect::Release);
    assert_eq!(c.canceled.unwrap().by, CanceledBy::Seller);
}

#[test]
fn canceling_a_canceled_order_sends_nothing() {
    let o = order(OrderStatus::Canceled);
    assert!(matches!(
        decide_cancel(&o, &[], "again"),
        Decision::Nothing(_)
    ));
}

#[test]
fn a_cancellation_needs_a_reason() {
    let o = order(OrderStatus::Authorized);
    assert_eq!(
        rejected(decide_cancel(&o, &[], "  ")),
        RuleBreak::MissingReason
    );
}

#[test]
fn a_partially_invoiced_order_cannot_be_canceled() {
    let o = split_order(OrderStatus::PartiallyInvoiced);
    let recs = [sent(
        &o,
        &invoice(InvoiceType::Output, "N1", 2500, &[("A", 2, 1000)]),
    )];
    assert_eq!(
        rejected(decide_cancel(&o, &recs, "x")),
        RuleBreak::PartiallyInvoiced
    );
}

#[test]
fn an_invoiced_order_is_canceled_only_after_a_full_return() {
    let o = order(OrderStatus::Invoiced);
    let out = sent(&o, &full_output());
    assert_eq!(
        rejected(decide_cancel(&o, std::slice::from_ref(&out), "x")),
        RuleBreak::InvoicedNeedsReturn
    );
    let partial = sent(
        &o,
        &invoice(InvoiceType::Input, "R1", 100, &[("2002495", 0, 9990)]),
    );
    assert_eq!(
        rejected(decide_cancel(&o, &[out.clone(), partial], "x")),
        RuleBreak::InvoicedNeedsReturn
    );
    let o = order(OrderStatus::Returned);
    let recs = [out, sent(&o, &full_return())];
    assert_eq!(decide_cancel(&o, &recs, "x"), Decision::Send(()));
    let (c, effect) = canceled_by_seller(&o, "r", "x", None, at());
    assert_eq!(c.status, OrderStatus::Canceled);
    assert_eq!(effect, StockEffect::None, "the stock already left");
}

#[test]
fn a_cancel_waits_while_an_invoice_is_in_flight() {
    let o = order(OrderStatus::Authorized);
    let pending = InvoiceRecord::pending(&o.order_id, &full_output(), at());
    assert!(matches!(
        decide_cancel(&o, &[pending], "x"),
        Decision::Wait(_)
    ));
}

#[test]
fn rule_breaks_have_stable_codes_and_no_customer_data() {
    let r = RuleBreak::ExceedsTotal {
        total: Cents(6200),
        would_be: Cents(6300),
    };
    assert_eq!(r.code(), "EXCEEDS_TOTAL");
    assert_eq!(
        r.to_string(),
        "sale invoices would add up to 6300, above the order total 6200"
    );
}

#[test]
fn exact_duplicates_stay_no_ops_after_the_order_is_canceled() {
    let o = order(OrderStatus::Canceled);
    let ret = sent(&o, &full_return());
    let out = with_tracking(sent(&o, &full_output()));
    let recs = [out, ret];
    assert!(matches!(
        decide_invoice(&o, &recs, &full_return()),
        Decision::Nothing(_)
    ));
    assert!(matches!(
        decide_tracking(&o, &recs, "NFe-1", &tracking("SR1")),
        Decision::Nothing(_)
    ));
    // Something new for a canceled order is still refused.
    assert_eq!(
        rejected(decide_tracking(&o, &recs, "NFe-1", &tracking("SR9"))),
        RuleBreak::OrderCanceled
    );
    let mut other = full_return();
    other.invoice_number = "NFe-3".into();
    assert_eq!(
        rejected(decide_invoice(&o, &recs, &other)),
        RuleBreak::OrderCanceled
    );
}

// ---------------------------------------------------------------- the order value (issue 11)

/// `order_with` carrying a placement breakdown: per line `(price tags, bundles)`.
fn valued(mut o: Order, adjustments: &[(i64, i64)], mpv: Option<i64>) -> Order {
    use crate::order::{LineAdjustments, OrderValue};
    let amounts: Vec<_> = o
        .lines
        .iter()
        .zip(adjustments)
        .map(|(l, &(t, b))| {
            l.amounts(LineAdjustments {
                price_tags: Cents(t),
                bundles: Cents(b),
            })
        })
        .collect();
    let computed = OrderValue::compute(&amounts, Cents::ZERO).computed;
    o.marketplace_payment_value = Cents(mpv.unwrap_or(computed.value()));
    o.value = Some(OrderValue::compute(&amounts, o.marketplace_payment_value));
    o
}

/// The promotion of issue 11: 9990 with a -1000 marketplace discount, 1090 freight; VTEX holds 10080.
fn promotion_order() -> Order {
    valued(order(OrderStatus::Authorized), &[(-1000, 0)], None)
}

#[test]
fn a_promotion_is_invoiced_at_the_discounted_unit_price_for_what_vtex_holds() {
    let o = promotion_order();
    assert_eq!(o.total(), Cents(10_080));
    let inv = invoice(
        InvoiceType::Output,
        "NFe-1",
        10_080,
        &[("2002495", 1, 8990)],
    );
    assert_eq!(
        decide_invoice(&o, &[], &inv),
        Decision::Send(InvoiceSend::New)
    );
    let done = sent(&o, &inv);
    assert_eq!(derive_status(&o, &[done]), OrderStatus::Invoiced);
    // The undiscounted invoice adds up to more than VTEX holds.
    assert_eq!(
        rejected(decide_invoice(&o, &[], &full_output())),
        RuleBreak::ExceedsTotal {
            total: Cents(10_080),
            would_be: Cents(11_080)
        }
    );
}

#[test]
fn a_discount_over_several_units_rounds_the_unit_price_down_and_the_value_carries_the_cents() {
    // 3 × 1000 with -100 off the line: 2900 over 3 units → 966 per unit, 2 cents left over.
    let o = valued(
        order_with(OrderStatus::Authorized, vec![line(0, "A", 3, 1000, 0)]),
        &[(-100, 0)],
        None,
    );
    assert_eq!(
        crate::invoicing::share::allowed_unit_prices(&o, "A"),
        vec![Cents(1000), Cents(966), Cents(967)]
    );
    let first = invoice(InvoiceType::Output, "P1", 966, &[("A", 1, 966)]);
    assert_eq!(
        decide_invoice(&o, &[], &first),
        Decision::Send(InvoiceSend::New)
    );
    let r1 = sent(&o, &first);
    let rest = invoice(InvoiceType::Output, "P2", 1934, &[("A", 2, 966)]);
    assert_eq!(
        decide_invoice(&o, std::slice::from_ref(&r1), &rest),
        Decision::Send(InvoiceSend::New)
    );
    assert_eq!(
        rejected(decide_invoice(
            &o,
            &[],
            &invoice(InvoiceType::Output, "X", 965, &[("A", 1, 965)])
        )),
        RuleBreak::PriceMismatch {
            sku: "A".into(),
            price: Cents(965),
            expected: vec![Cents(1000), Cents(966), Cents(967)]
        }
    );
}

#[test]
fn a_partial_package_at_the_undiscounted_price_is_refused_before_the_last_package() {
    // 2 × 5000, -2000 off the line: 8000. Billing one unit at 5000 leaves 3000 for a unit worth 4000.
    let o = valued(
        order_with(OrderStatus::Authorized, vec![line(0, "A", 2, 5000, 0)]),
        &[(-2000, 0)],
        None,
    );
    let inv = invoice(InvoiceType::Output, "P1", 5000, &[("A", 1, 5000)]);
    assert_eq!(
        rejected(decide_invoice(&o, &[], &inv)),
        RuleBreak::LeavesTooLittle {
            total: Cents(8000),
            would_be: Cents(5000),
            rest: Cents(4000)
        }
    );
    let share = invoice(InvoiceType::Output, "P1", 4000, &[("A", 1, 4000)]);
    assert_eq!(
        decide_invoice(&o, &[], &share),
        Decision::Send(InvoiceSend::New)
    );
}

#[test]
fn bundles_and_paid_windows_are_part_of_the_value_and_ride_on_invoice_value() {
    // 1 × 9990 with a 1500 warranty, 1090 freight and a 500 delivery window.
    let mut o = order(OrderStatus::Authorized);
    o.lines[0].delivery_window = Some(crate::order::DeliveryWindow {
        start_date_utc: "2026-01-05T08:00:00+00:00".into(),
        end_date_utc: "2026-01-05T12:00:00+00:00".into(),
        price: Cents(500),
    });
    let o = valued(o, &[(0, 1500)], None);
    assert_eq!(o.total(), Cents(9990 + 1500 + 1090 + 500));
    let inv = invoice(
        InvoiceType::Output,
        "NFe-1",
        13_080,
        &[("2002495", 1, 9990)],
    );
    assert_eq!(
        decide_invoice(&o, &[], &inv),
        Decision::Send(InvoiceSend::New)
    );
}

#[test]
fn package_values_under_the_share_rule_add_up_to_the_value_with_the_unattributed_part_last() {
    use crate::invoicing::share::package_value;
    // marketplacePaymentValue 50 below what the body adds up to.
    let o = valued(
        split_order(OrderStatus::Authorized),
        &[(-101, 0), (0, 0)],
        Some(6049),
    );
    assert_eq!(o.total(), Cents(6049));
    let none = HashMap::new();
    let a1: HashMap<String, i64> = [("A".to_string(), 1)].into();
    // Line A: 2000 - 101 + 500 = 2399 over 2 units → the first is worth 1199.
    assert_eq!(package_value(&o, &none, &a1), Cents(1199));
    let rest: HashMap<String, i64> = [("A".to_string(), 1), ("B".to_string(), 1)].into();
    assert_eq!(package_value(&o, &a1, &rest), Cents(1200 + 3700 - 50));
}

#[test]
fn a_tracking_correction_keeps_what_vtex_holds_for_the_fields_the_erp_left_out() {
    let o = order(OrderStatus::Shipped);
    // Registered: SR1, its URL and Correios.
    let rec = with_tracking(sent(&o, &full_output()));
    let correction = TrackingInfo {
        tracking_number: "SR2".into(),
        tracking_url: None,
        courier: Some("  ".into()),
        dispatched_date: Some("2024-02-01T10:00:00-03:00".into()),
    };
    let Decision::Send(body) =
        decide_tracking(&o, std::slice::from_ref(&rec), "NFe-1", &correction)
    else {
        panic!("not sent")
    };
    assert_eq!(
        body,
        TrackingInfo {
            tracking_number: "SR2".into(),
            tracking_url: Some("https://t.example/SR1".into()),
            courier: Some("Correios".into()),
            dispatched_date: Some("2024-02-01T10:00:00-03:00".into()),
        }
    );
    // The same tracking again, fields left out: what VTEX holds already, nothing to send.
    let again = TrackingInfo {
        tracking_number: "SR1".into(),
        tracking_url: None,
        courier: None,
        dispatched_date: None,
    };
    assert!(matches!(
        decide_tracking(&o, &[rec], "NFe-1", &again),
        Decision::Nothing(_)
    ));
}
