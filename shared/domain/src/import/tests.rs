use super::*;
use crate::invoicing::{InvoiceItem, InvoiceType, SendState};
use chrono::TimeZone;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap()
}

/// The §Example story example as an `importOrder` message.
fn order_message() -> Value {
    let example: Value = json!([contract::sample_order("2630580124")]);
    json!({
        "type": "importOrder", "version": 1, "messageId": "src-1",
        "affiliateId": "EXT", "salesChannel": "1",
        "order": example[0].clone(),
    })
}

fn invoice(number: &str, value: i64) -> Invoice {
    Invoice {
        kind: InvoiceType::Output,
        invoice_number: number.into(),
        invoice_value: Cents(value),
        issuance_date: "2026-03-02T12:00:00-03:00".into(),
        items: vec![InvoiceItem {
            id: "1".into(),
            quantity: 1,
            price: Cents(900),
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

fn parse_value(v: &Value) -> Result<ImportMessage, ImportParseError> {
    parse(v.to_string().as_bytes(), None)
}

#[test]
fn the_contract_example_parses_as_an_import_order() {
    let m = parse_value(&order_message()).unwrap();
    assert_eq!(m.key, ImportKey::new("EXT", "2630580124"));
    assert_eq!(m.message_id.as_deref(), Some("src-1"));
    let ImportCommand::Order {
        sales_channel,
        order,
        invoices,
    } = m.command
    else {
        panic!("not an order")
    };
    assert_eq!(sales_channel.as_deref(), Some("1"));
    assert!(invoices.is_empty());
    assert_eq!(order.total(), Cents(1100));
    assert_eq!(order.items[0].seller, "1");
    assert_eq!(
        order.shipping_data.logistics_info[0].lock_ttl,
        Some(VtexDuration::Days(1))
    );
}

#[test]
fn the_shared_example_file_parses_when_present() {
    let dir = std::env::var("VTEX_EXAMPLES_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/protocol/examples")
        });
    let Ok(text) = std::fs::read_to_string(dir.join("import-place-fulfillment-order.request.json"))
    else {
        eprintln!("examples folder absent: skipped");
        return;
    };
    let example: Value = serde_json::from_str(&text).unwrap();
    let msg =
        json!({"type": "importOrder", "version": 1, "affiliateId": "EXT", "order": example[0]});
    let m = parse_value(&msg).unwrap();
    let ImportCommand::Order { order, .. } = m.command else {
        panic!("not an order")
    };
    assert_eq!(
        order.open_text_field.as_deref(),
        Some("Phones: 21998718616")
    );
    assert!(order.custom_data.is_some());
}

#[test]
fn every_message_type_round_trips_through_its_json() {
    let key = ImportKey::new("EXT", "2630580124");
    let msgs = [
        parse_value(&order_message()).unwrap(),
        ImportMessage::new(
            key.clone(),
            ImportCommand::Invoice {
                invoice: invoice("NF-1", 1100),
            },
        ),
        ImportMessage::new(
            key.clone(),
            ImportCommand::Tracking {
                invoice_number: "NF-1".into(),
                tracking: TrackingInfo {
                    tracking_number: "SR1".into(),
                    tracking_url: None,
                    courier: Some("Correios".into()),
                    dispatched_date: None,
                },
            },
        ),
        ImportMessage::resume(&key, "wake-1"),
    ];
    for m in msgs {
        let again = parse(m.to_json().as_bytes(), None).unwrap();
        assert_eq!(m, again, "{}", m.to_json());
    }
}

#[test]
fn missing_affiliate_uses_the_default_and_a_bad_one_is_refused() {
    let mut v = order_message();
    v.as_object_mut().unwrap().remove("affiliateId");
    assert!(matches!(
        parse_value(&v),
        Err(ImportParseError::BadAffiliate(_))
    ));
    let m = parse(v.to_string().as_bytes(), Some("MKP")).unwrap();
    assert_eq!(m.key.affiliate_id, "MKP");
    v["affiliateId"] = json!("EXTERNAL");
    let err = parse_value(&v).unwrap_err();
    assert_eq!(err.code(), "BAD_AFFILIATE");
}

#[test]
fn money_that_is_not_integer_cents_is_refused_with_its_path() {
    let mut v = order_message();
    v["order"]["items"][0]["price"] = json!(9.0);
    v["order"]["shippingData"]["logisticsInfo"][0]["price"] = json!("2.00");
    let err = parse_value(&v).unwrap_err();
    assert_eq!(err.code(), "NOT_CENTS");
    let text = err.to_string();
    assert!(text.contains("order.items[0].price"), "{text}");
    assert!(
        text.contains("order.shippingData.logisticsInfo[0].price"),
        "{text}"
    );
    // A digit string is cents (§Conventions).
    let mut v = order_message();
    v["order"]["items"][0]["price"] = json!("900");
    assert!(parse_value(&v).is_ok());
}

#[test]
fn missing_address_and_client_fields_are_named_without_values() {
    let mut v = order_message();
    let addr = v["order"]["shippingData"]["address"]
        .as_object_mut()
        .unwrap();
    addr.remove("city");
    addr.insert("street".into(), json!("  "));
    v["order"]["clientProfileData"]["document"] = Value::Null;
    let err = parse_value(&v).unwrap_err();
    assert_eq!(err.code(), "INVALID_ORDER");
    let text = err.to_string();
    for field in [
        "shippingData.address.city",
        "shippingData.address.street",
        "clientProfileData.document",
    ] {
        assert!(text.contains(field), "{text}");
    }
    assert!(
        !text.contains("Curitiba") && !text.contains("Eduardo"),
        "{text}"
    );
}

#[test]
fn logistics_must_cover_each_item_exactly_once() {
    let mut v = order_message();
    let li = v["order"]["shippingData"]["logisticsInfo"][0].clone();
    let mut second = li.clone();
    second["itemIndex"] = json!(3);
    v["order"]["shippingData"]["logisticsInfo"] = json!([li.clone(), li, second]);
    let text = parse_value(&v).unwrap_err().to_string();
    assert!(text.contains("itemIndex 3 names no item"), "{text}");
    assert!(text.contains("item 0 needs exactly one"), "{text}");
}

#[test]
fn unsafe_marketplace_order_ids_are_refused() {
    for id in ["", "a/b", "a#b", "with space", &"9".repeat(65)] {
        let mut v = order_message();
        v["order"]["marketplaceOrderId"] = json!(id);
        assert!(parse_value(&v).is_err(), "{id:?}");
    }
    let v = json!({"type": "importInvoice", "version": 1, "affiliateId": "EXT",
                   "marketplaceOrderId": "x:y", "invoice": invoice("N", 1)});
    assert_eq!(parse_value(&v).unwrap_err().code(), "INVALID_MESSAGE");
}

#[test]
fn version_and_type_are_checked_before_the_payload() {
    let v = json!({"type": "importOrder", "version": 2, "order": {}});
    assert_eq!(
        parse_value(&v),
        Err(ImportParseError::UnsupportedVersion(2))
    );
    let v = json!({"type": "invoice", "version": 1});
    assert!(matches!(
        parse_value(&v),
        Err(ImportParseError::UnknownType(_))
    ));
    assert!(matches!(
        parse(b"{nope", None),
        Err(ImportParseError::NotJson(_))
    ));
}

#[test]
fn null_geo_coordinates_and_object_open_text_are_accepted() {
    let mut v = order_message();
    v["order"]["shippingData"]["address"]["geoCoordinates"] = Value::Null;
    v["order"]["openTextField"] = json!({"value": "gift"});
    let m = parse_value(&v).unwrap();
    let ImportCommand::Order { order, .. } = m.command else {
        panic!()
    };
    assert_eq!(order.open_text_field.as_deref(), Some("gift"));
}

#[test]
fn key_hint_reads_the_key_of_a_refused_message() {
    let mut v = order_message();
    v["order"]["items"][0]["price"] = json!(9.5);
    assert_eq!(
        key_hint(v.to_string().as_bytes(), None),
        Some(ImportKey::new("EXT", "2630580124"))
    );
    assert_eq!(key_hint(b"[]", Some("EXT")), None);
}

#[test]
fn debug_never_shows_customer_data() {
    let r = contract::sample("x");
    let shown = format!("{r:?}");
    for secret in [
        "conta@dominio",
        "14310315771",
        "Marcelo",
        "Eduardo",
        "21998718616",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

// ------------------------------------------------------------------ the step machine

fn timing() -> ImportTiming {
    ImportTiming {
        grace: Duration::from_secs(1800),
        not_ready_retry: Duration::from_secs(300),
        give_up_after: Duration::from_secs(3600),
    }
}

#[test]
fn steps_follow_the_workflow_and_resume_where_they_stopped() {
    let t = timing();
    let mut r = contract::sample("s");
    assert_eq!(r.next_step(t0()), NextStep::Place { look_first: false });
    r.begin_placing(t0());
    // A crash or timeout here: the next attempt looks before placing again.
    assert_eq!(r.next_step(t0()), NextStep::Place { look_first: true });
    r.placed("EXT-2630580124-s", t0());
    assert_eq!(r.next_step(t0()), NextStep::Authorize);
    r.begin_authorizing(t0());
    assert_eq!(r.next_step(t0()), NextStep::Authorize);
    r.authorized(t0(), &t);
    let due = t0() + chrono::Duration::minutes(30);
    assert_eq!(r.next_step(t0()), NextStep::WaitUntil(due));
    assert_eq!(r.next_step(due), NextStep::StartHandling);
    r.begin_start_handling(due);
    assert_eq!(r.next_step(due), NextStep::StartHandling);
    r.not_ready(due, &t);
    assert_eq!(r.not_ready_answers, 1);
    assert_eq!(
        r.next_step(due),
        NextStep::WaitUntil(due + chrono::Duration::minutes(5))
    );
    r.handling_started(due + chrono::Duration::minutes(5));
    assert_eq!(r.next_step(due), NextStep::Done);
    assert_eq!(r.status(), ImportStatus::Handling);
}

#[test]
fn a_refused_placement_goes_back_to_received() {
    let mut r = contract::sample("s");
    r.begin_placing(t0());
    r.placement_refused("VTEX refused it with 400: sku not found", t0());
    assert_eq!(r.step, ImportStep::Received);
    assert!(r.last_error.as_deref().unwrap().contains("400"));
    assert_eq!(r.next_step(t0()), NextStep::Place { look_first: false });
}

#[test]
fn invoices_from_the_order_message_are_queued_once_placed() {
    let mut r = contract::sample("s");
    r.queued_invoices = vec![invoice("NF-1", 1100)];
    assert_eq!(r.next_step(t0()), NextStep::Place { look_first: false });
    r.placed("EXT-1", t0());
    assert_eq!(r.next_step(t0()), NextStep::QueueInvoices);
    r.queued_invoices.clear();
    assert_eq!(r.next_step(t0()), NextStep::Authorize);
}

#[test]
fn handling_is_overdue_only_past_grace_plus_give_up() {
    let t = timing();
    let mut r = contract::sample("s");
    assert!(!r.handling_overdue(t0() + chrono::Duration::days(9), &t));
    r.placed("EXT-1", t0());
    r.authorized(t0(), &t);
    assert!(!r.handling_overdue(t0() + chrono::Duration::minutes(90), &t));
    assert!(r.handling_overdue(t0() + chrono::Duration::minutes(91), &t));
}

#[test]
fn only_the_latest_wake_is_current() {
    let mut r = contract::sample("s");
    assert!(!r.is_current_wake("w1"));
    r.set_wake("w1", t0(), t0());
    r.wake_enqueued("w1", t0());
    r.set_wake("w2", t0(), t0());
    // w2 is recorded but not known to be enqueued: w1's message may still carry the import on.
    assert!(r.is_current_wake("w1"));
    assert_eq!(r.unsent_wake().map(|w| w.id.as_str()), Some("w2"));
    r.wake_enqueued("w2", t0());
    assert!(!r.is_current_wake("w1"));
    assert!(r.is_current_wake("w2"));
    assert!(r.unsent_wake().is_none());
}

#[test]
fn invoices_wait_for_placement_then_follow_the_invoice_rules() {
    let mut r = contract::sample("s");
    assert!(matches!(
        r.decide_invoice(&invoice("NF-1", 1100)),
        Decision::Wait(_)
    ));
    r.placed("EXT-1", t0());
    assert_eq!(
        r.decide_invoice(&invoice("NF-1", 1100)),
        Decision::Send(InvoiceSend::New)
    );
    // Above the order value (900 + 200 freight).
    assert!(matches!(
        r.decide_invoice(&invoice("NF-1", 1200)),
        Decision::Reject(invoicing::RuleBreak::ExceedsTotal { .. })
    ));
    let mut rec = InvoiceRecord::pending("EXT-1", &invoice("NF-1", 1100), t0());
    rec.mark_sent("receipt", t0());
    r.put_invoice(rec, t0());
    assert!(matches!(
        r.decide_invoice(&invoice("NF-1", 1100)),
        Decision::Nothing(_)
    ));
    assert!(r.fully_invoiced());
    assert_eq!(r.status(), ImportStatus::Placed);
    r.handling_started(t0());
    assert_eq!(r.status(), ImportStatus::Invoiced);
    assert_eq!(r.invoices[0].state, SendState::Sent);
}

// ------------------------------------------------------------------ mse notifications

#[test]
fn mse_bodies_of_any_invoice_shape_are_accepted() {
    let body = br#"{"invoiceNumber":"NF-1","invoiceValue":"1100","courier":"","items":[{"id":"1"}],"extra":{"a":1}}"#;
    let n = parse_mse_invoice("EXT-1", body).unwrap();
    assert_eq!(n.invoice_number, "NF-1");
    let n2 = parse_mse_invoice(
        "EXT-1",
        br#"{"invoiceNumber":"NF-1","trackingNumber":"SR1"}"#,
    )
    .unwrap();
    assert_ne!(n.fingerprint, n2.fingerprint);
}

#[test]
fn mse_fingerprint_ignores_key_order_but_not_values_or_the_order() {
    let a = parse_mse_invoice(
        "EXT-1",
        br#"{"invoiceNumber":"NF-1","invoiceValue":1100,"items":[{"id":"1","price":900}]}"#,
    )
    .unwrap();
    let b = parse_mse_invoice(
        "EXT-1",
        br#"{ "items":[{"price":900,"id":"1"}], "invoiceValue":1100, "invoiceNumber":"NF-1" }"#,
    )
    .unwrap();
    assert_eq!(a.fingerprint, b.fingerprint);
    let c = parse_mse_invoice(
        "EXT-2",
        br#"{"invoiceNumber":"NF-1","invoiceValue":1100,"items":[{"id":"1","price":900}]}"#,
    )
    .unwrap();
    assert_ne!(a.fingerprint, c.fingerprint);
    let d = parse_mse_invoice(
        "EXT-1",
        br#"{"invoiceNumber":"NF-1","invoiceValue":1101,"items":[{"id":"1","price":900}]}"#,
    )
    .unwrap();
    assert_ne!(a.fingerprint, d.fingerprint);
    // Stable across builds and Rust versions: a fixed input has a fixed digest (FNV-1a 128).
    assert_eq!(
        fingerprint(&["EXT-1", "NF-1"]),
        "da058d6e77453dfc1449687060f6f760"
    );
}

#[test]
fn every_invoice_shape_vtex_may_send_is_accepted_and_kept_as_received() {
    for body in [
        &br#"{"invoiceNumber":"N","invoiceValue":110.8}"#[..],
        br#"{"invoiceNumber":"N","invoiceValue":"110.80","items":[{"id":"1","price":99.9,"quantity":1}]}"#,
        br#"{"invoiceNumber":123,"invoiceValue":11080,"invoiceKey":35201100063960001504,"courier":null}"#,
        br#"{"invoiceNumber":"N","type":"Output","items":[],"trackingNumber":"","embeddedInvoice":null}"#,
    ] {
        let parsed = parse_mse_invoice("EXT-1", body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)));
        let sent: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(parsed.body, sent);
    }
    let decimal =
        parse_mse_invoice("EXT-1", br#"{"invoiceNumber":"N","invoiceValue":110.8}"#).unwrap();
    assert_eq!(decimal.body["invoiceValue"].to_string(), "110.8");
}

#[test]
fn malformed_mse_bodies_are_refused() {
    for body in [
        &b"not json"[..],
        br#"[1]"#,
        br#"{"invoiceValue":1}"#,
        br#"{"invoiceNumber":""}"#,
        br#"{"invoiceNumber":"N","invoiceValue":true}"#,
        br#"{"invoiceNumber":"N","items":"x"}"#,
        br#"{"invoiceNumber":"N","courier":{"name":"x"}}"#,
    ] {
        assert!(
            parse_mse_invoice("EXT-1", body).is_err(),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn the_erp_event_carries_the_import_and_a_stable_id() {
    let n = MseNotification {
        order_id: "EXT-1".into(),
        fingerprint: fingerprint(&["x"]),
        invoice_number: "NF-1".into(),
        receipt: "r".into(),
        date: t0(),
        import: Some(ImportKey::new("EXT", "1")),
        published: false,
    };
    let e = InvoiceNotified::new(&n, &json!({"invoiceNumber": "NF-1"}));
    assert_eq!(e.kind, "import.invoiceNotified");
    assert_eq!(e.event_id, format!("mse-{}", n.fingerprint));
    assert_eq!(e.marketplace_order_id.as_deref(), Some("1"));
    let v: Value = serde_json::from_str(&e.to_json()).unwrap();
    assert_eq!(v["type"], "import.invoiceNotified");
    assert_eq!(v["invoice"]["invoiceNumber"], "NF-1");
}

#[test]
fn tracking_that_overtakes_its_invoice_waits_instead_of_being_refused() {
    let mut r = contract::sample("s");
    let info = TrackingInfo {
        tracking_number: "SR1".into(),
        tracking_url: None,
        courier: None,
        dispatched_date: None,
    };
    assert!(matches!(
        r.decide_tracking("NF-1", &info),
        Decision::Wait(_)
    ));
    r.placed("EXT-1", t0());
    assert!(matches!(
        r.decide_tracking("NF-1", &info),
        Decision::Wait(_)
    ));
    let mut rec = InvoiceRecord::pending("EXT-1", &invoice("NF-1", 1100), t0());
    rec.mark_sent("receipt", t0());
    r.put_invoice(rec, t0());
    assert!(matches!(
        r.decide_tracking("NF-1", &info),
        Decision::Send(_)
    ));
    let blank = TrackingInfo {
        tracking_number: " ".into(),
        ..info
    };
    assert!(matches!(
        r.decide_tracking("NF-1", &blank),
        Decision::Reject(invoicing::RuleBreak::MissingTrackingNumber)
    ));
}
