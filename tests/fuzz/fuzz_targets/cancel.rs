//! `POST …/pvt/orders/{id}/cancel` with any body, after the sample order was placed. The first
//! input byte picks the path id (ours, the marketplace's, an unknown one) and the order's state
//! (reserved, authorized, canceled); the rest is the body (empty is allowed).
#![no_main]

use connector_fuzz::{
    SAMPLE_MARKETPLACE_ORDER_ID, assert_answered, place_sample, request, run, world,
};
use lambda_http::http::Method;
use lambda_kit::auth::InboundAuth;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let w = world(InboundAuth::default());
    let order_id = place_sample(&w);
    let known = format!(r#"{{"marketplaceOrderId":"{SAMPLE_MARKETPLACE_ORDER_ID}"}}"#);
    let before = match (mode >> 2) % 3 {
        0 => None,
        1 => Some("fulfill"),
        _ => Some("cancel"),
    };
    if let Some(action) = before {
        let req = request(
            Method::POST,
            &format!("/pvt/orders/{order_id}/{action}"),
            &[],
            known.as_bytes(),
        )
        .expect("a valid request");
        assert_eq!(run(fulfillment::handle(&w.fulfillment, req)).status(), 200);
    }
    let id = match mode % 3 {
        0 => order_id.as_str(),
        1 => SAMPLE_MARKETPLACE_ORDER_ID,
        _ => "SLR-UNKNOWN",
    };
    let Some(req) = request(
        Method::POST,
        &format!("/pvt/orders/{id}/cancel?an=acct"),
        &[],
        body,
    ) else {
        return;
    };
    let resp = run(fulfillment::handle(&w.fulfillment, req));
    assert_answered(&resp, data);
    // Whatever the body said, the order is still readable by the operator view.
    let view = request(Method::GET, &format!("/admin/orders/{order_id}"), &[], &[])
        .expect("a valid request");
    let view = run(fulfillment::handle(&w.fulfillment, view));
    assert_eq!(view.status(), 200);
});
