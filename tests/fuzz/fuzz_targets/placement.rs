//! `POST …/pvt/orders` with any body, against the sample catalog. The first input byte picks the
//! query (`an`/`sc` present or not); the rest is the body.
#![no_main]

use connector_fuzz::{assert_answered, request, run, world};
use lambda_http::http::Method;
use lambda_kit::auth::InboundAuth;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let uri = match mode % 3 {
        0 => "/vtex/pvt/orders?an=acct&sc=1",
        1 => "/pvt/orders",
        _ => "/api/pvt/orders?an=&sc=",
    };
    let w = world(InboundAuth::default());
    let Some(req) = request(
        Method::POST,
        uri,
        &[("content-type", b"application/json")],
        body,
    ) else {
        return;
    };
    let resp = run(order_placement::handle(&w.placement, req));
    assert_answered(&resp, data);
    // A placement that answered 200 must be retry-safe: the same body again, the same ids.
    if resp.status() == 200 {
        let Some(again) = request(Method::POST, uri, &[], body) else {
            return;
        };
        let second = run(order_placement::handle(&w.placement, again));
        assert_eq!(
            second.status(),
            200,
            "a retry of an accepted placement failed"
        );
        let ids = |r: &lambda_http::Response<lambda_http::Body>| {
            let v: serde_json::Value =
                serde_json::from_slice(connector_fuzz::body_bytes(r)).unwrap_or_default();
            let orders = match v {
                serde_json::Value::Array(a) => a,
                o => vec![o],
            };
            orders
                .iter()
                .map(|o| o["orderId"].clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&resp), ids(&second), "a retry got other order ids");
    }
});
