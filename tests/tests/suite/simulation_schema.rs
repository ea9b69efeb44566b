//! The simulation's answers against VTEX's own description of them: every 200 body of the sample
//! events and of the protocol's example requests must satisfy the ESF response schema (strictly:
//! no undeclared field), and carry the same keys as the protocol's example responses.

use chrono::{TimeZone, Utc};
use connector_tests::schema::{
    assert_valid_response_strict, example, openapi_dir, validate_response, validate_response_strict,
};
use domain::catalog::CatalogFile;
use domain::clock::ManualClock;
use domain::memory::MemoryStore;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use simulation::{Config, Deps, handle};
use std::collections::BTreeSet;
use std::sync::Arc;

const SPEC: &str = "external-seller-fulfillment.json";
const PATH: &str = "/pvt/orderForms/simulation";

const EVENTS: [(&str, &str); 4] = [
    (
        "post-checkout",
        include_str!("../../../events/simulation.post-checkout.json"),
    ),
    (
        "post-indexation",
        include_str!("../../../events/simulation.post-indexation.json"),
    ),
    (
        "get-purchase-context",
        include_str!("../../../events/simulation.get-purchase-context.json"),
    ),
    (
        "post-malformed",
        include_str!("../../../events/simulation.post-malformed.json"),
    ),
];

fn deps() -> Deps {
    let file: CatalogFile =
        serde_json::from_str(include_str!("../../../shared/sample/catalog.json")).unwrap();
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 18, 12, 0, 0).unwrap());
    Deps::new(
        Arc::new(MemoryStore::with_catalog(&file)),
        Arc::new(clock),
        Config::default(),
    )
}

fn body_json(resp: &Response<Body>) -> Value {
    let bytes: &[u8] = match resp.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => b"",
    };
    serde_json::from_slice(bytes).expect("JSON body")
}

async fn post(deps: &Deps, body: &Value) -> Value {
    let mut req = Request::new(Body::from(body.to_string()));
    *req.method_mut() = Method::POST;
    *req.uri_mut() = format!("/vtex{PATH}?sc=1").parse().unwrap();
    let resp = handle(deps, req).await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", body_json(&resp));
    body_json(&resp)
}

/// Every key path in a JSON value (`logisticsInfo[].slas[].pickupStoreInfo.address.city`), arrays
/// merged over their elements.
fn key_paths(v: &Value) -> BTreeSet<String> {
    fn walk(v: &Value, at: &str, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let p = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    out.insert(p.clone());
                    walk(x, &p, out);
                }
            }
            Value::Array(a) => {
                for x in a {
                    walk(x, &format!("{at}[]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(v, "", &mut out);
    out
}

fn assert_same_keys(ours: &Value, theirs: &Value, what: &str) {
    let (ours, theirs) = (key_paths(ours), key_paths(theirs));
    let missing: Vec<_> = theirs.difference(&ours).collect();
    let extra: Vec<_> = ours.difference(&theirs).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: missing {missing:?}, extra {extra:?}"
    );
}

#[tokio::test]
async fn every_sample_event_answer_matches_the_esf_schema() {
    let deps = deps();
    for (name, text) in EVENTS {
        let req = lambda_http::request::from_str(text).unwrap();
        let resp = handle(&deps, req).await;
        let body = body_json(&resp);
        if name == "post-malformed" {
            assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
            assert_eq!(body["error"]["code"], "REQ002");
            continue;
        }
        assert_eq!(resp.status(), StatusCode::OK, "{name}: {body}");
        assert_valid_response_strict(SPEC, "POST", PATH, 200, &body);
    }
}

#[tokio::test]
async fn answers_to_the_example_requests_match_the_schema_and_the_example_responses() {
    let deps = deps();
    let pairs = [
        (
            "simulation-checkout.request.json",
            "simulation-checkout.response.json",
        ),
        (
            "simulation-indexation.request.json",
            "simulation-indexation.response.json",
        ),
        (
            "simulation-get.purchaseContext.json",
            "simulation-checkout.response.json",
        ),
    ];
    for (request, response) in pairs {
        let (Some(request_body), Some(expected)) = (example(request), example(response)) else {
            return;
        };
        let ours = post(&deps, &request_body).await;
        assert_valid_response_strict(SPEC, "POST", PATH, 200, &ours);
        if request != "simulation-get.purchaseContext.json" {
            assert_same_keys(&ours, &expected, request);
        }
    }
    // The §Simulation representation of an unavailable item.
    let Some(expected) = example("simulation-unavailable.response.json") else {
        return;
    };
    let ours = post(
        &deps,
        &json!({"items": [{"id": "2001044", "quantity": 1, "seller": "1"}]}),
    )
    .await;
    assert_valid_response_strict(SPEC, "POST", PATH, 200, &ours);
    assert_same_keys(&ours, &expected, "unavailable");
    assert_eq!(ours["logisticsInfo"], expected["logisticsInfo"]);
}

#[tokio::test]
async fn the_checkout_answer_tells_the_examples_story() {
    let deps = deps();
    let Some(request) = example("simulation-checkout.request.json") else {
        return;
    };
    let Some(expected) = example("simulation-checkout.response.json") else {
        return;
    };
    let ours = post(&deps, &request).await;
    for field in ["country", "postalCode", "allowMultipleDeliveries"] {
        assert_eq!(ours[field], expected[field], "{field}");
    }
    for i in 0..2 {
        for field in [
            "id",
            "requestIndex",
            "price",
            "listPrice",
            "quantity",
            "seller",
        ] {
            assert_eq!(
                ours["items"][i][field], expected["items"][i][field],
                "items[{i}].{field}"
            );
        }
        for field in [
            "itemIndex",
            "quantity",
            "stockBalance",
            "shipsTo",
            "deliveryChannels",
        ] {
            assert_eq!(
                ours["logisticsInfo"][i][field], expected["logisticsInfo"][i][field],
                "logisticsInfo[{i}].{field}"
            );
        }
    }
    // "Normal" 1000 and 200, "Agendada" 800, as in the example.
    let price_of = |i: usize, id: &str| {
        ours["logisticsInfo"][i]["slas"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .map(|s| s["price"].clone())
    };
    assert_eq!(price_of(0, "Normal"), Some(json!(1000)));
    assert_eq!(price_of(0, "Agendada"), Some(json!(800)));
    assert_eq!(price_of(1, "Normal"), Some(json!(200)));
}

#[test]
fn the_protocol_examples_themselves_pass_the_translated_schema() {
    for name in [
        "simulation-checkout.response.json",
        "simulation-indexation.response.json",
        "simulation-unavailable.response.json",
    ] {
        let Some(body) = example(name) else {
            return;
        };
        assert_valid_response_strict(SPEC, "POST", PATH, 200, &body);
    }
}

#[test]
fn the_schema_check_catches_broken_bodies() {
    if openapi_dir().is_none() {
        eprintln!("skipped: VTEX OpenAPI folder not found");
        return;
    }
    let Some(good) = example("simulation-checkout.response.json") else {
        return;
    };
    assert!(validate_response(SPEC, "POST", PATH, 200, &good).is_ok());

    let mut no_logistics = good.clone();
    no_logistics
        .as_object_mut()
        .unwrap()
        .remove("logisticsInfo");
    let mut decimal_price = good.clone();
    decimal_price["items"][0]["price"] = json!(672.03);
    let mut number_estimate = good.clone();
    number_estimate["logisticsInfo"][0]["slas"][0]["shippingEstimate"] = json!(5);
    let mut omitted_pickup = good.clone();
    omitted_pickup["logisticsInfo"][0]["slas"][0]
        .as_object_mut()
        .unwrap()
        .remove("pickupStoreInfo");
    for (what, broken) in [
        ("missing logisticsInfo", &no_logistics),
        ("decimal price", &decimal_price),
        ("numeric shippingEstimate", &number_estimate),
        ("omitted pickupStoreInfo", &omitted_pickup),
    ] {
        let errors = validate_response(SPEC, "POST", PATH, 200, broken).expect_err(what);
        assert!(!errors.is_empty(), "{what}");
    }

    let mut extra = good.clone();
    extra["items"][0]["shippingEstimateDate"] = json!("2026-11-20");
    assert!(
        validate_response(SPEC, "POST", PATH, 200, &extra).is_ok(),
        "lax mode allows extras"
    );
    let errors = validate_response_strict(SPEC, "POST", PATH, 200, &extra).unwrap_err();
    assert!(
        errors.iter().any(|e| e.starts_with("/items/0")),
        "{errors:?}"
    );
}
