//! Issue 13, item 4: an ERP message that does not parse is refused with an error naming the field
//! and the expected type, never the value. The error text becomes the DLQ `reason` attribute, a
//! CloudWatch line and an order log entry; VTEX-shaped payloads often carry `document` and
//! `phone` as numbers.

use serde_json::{Value, json};

fn body_of(event: &str) -> Value {
    let path = connector_tests::lambda_stack::root().join(format!("events/{event}.json"));
    let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::from_str(event["Records"][0]["body"].as_str().unwrap()).unwrap()
}

#[test]
fn an_import_with_a_numeric_document_or_phone_is_refused_naming_the_field_not_the_digits() {
    for (field, digits) in [("document", 14310315771u64), ("phone", 41998718616u64)] {
        let mut body = body_of("order-import.order");
        body["order"]["clientProfileData"][field] = json!(digits);
        let err = domain::import::parse(body.to_string().as_bytes(), None)
            .expect_err("a number where text is expected is refused")
            .to_string();
        assert!(!err.contains(&digits.to_string()), "{err}");
        assert!(
            err.contains(&format!("order.clientProfileData.{field}")),
            "the error does not name the field: {err}"
        );
        assert!(err.contains("expected a string"), "{err}");
    }
}

#[test]
fn an_erp_message_with_a_value_of_the_wrong_type_is_refused_naming_the_field_not_the_value() {
    let mut body = body_of("dispatch.tracking");
    body["tracking"]["trackingNumber"] = json!(81020230123u64);
    let err = domain::erp::parse(body.to_string().as_bytes())
        .expect_err("a number where text is expected is refused")
        .to_string();
    assert!(!err.contains("81020230123"), "{err}");
    assert!(err.contains("tracking.trackingNumber"), "{err}");
}

#[test]
fn a_catalog_message_whose_sku_id_would_leave_its_url_segment_is_refused_naming_the_field() {
    for bad in ["..", ".", "a/b", "a\\b"] {
        let mut body = body_of("catalog-sync.price-changed");
        body["skuId"] = json!(bad);
        let err = domain::catalog_messages::parse(body.to_string().as_bytes())
            .expect_err("an id that is no URL segment is refused")
            .to_string();
        assert!(err.contains("skuId"), "{bad:?}: {err}");
    }
}
