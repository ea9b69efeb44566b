//! `POST …/pvt/orderForms/simulation` with any body.
#![no_main]

use connector_fuzz::{assert_answered, request, run, world};
use lambda_http::http::Method;
use lambda_kit::auth::InboundAuth;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let w = world(InboundAuth::default());
    let Some(req) = request(
        Method::POST,
        "/pvt/orderForms/simulation?sc=1&an=acct",
        &[("content-type", b"application/json")],
        data,
    ) else {
        return;
    };
    let resp = run(simulation::handle(&w.simulation, req));
    assert_answered(&resp, data);
});
