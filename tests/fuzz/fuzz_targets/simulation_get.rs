//! `GET …/pvt/orderForms/simulation?sc=…&an=…&purchaseContext=…`. Input: a mode byte, then
//! `sc`, `an` and the purchase context separated by newlines. Even modes put the parameters in the
//! URI only (the local runner); odd modes also hand them over pre-parsed, as API Gateway does.
#![no_main]

use connector_fuzz::{assert_answered, encode, request, run, split_lines, world};
use lambda_http::RequestExt;
use lambda_http::http::Method;
use lambda_kit::auth::InboundAuth;
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let parts = split_lines(rest, 3);
    let (sc, an, context) = (parts[0], parts[1], parts[2]);
    let uri = format!(
        "/pvt/orderForms/simulation?sc={}&an={}&purchaseContext={}",
        encode(sc),
        encode(an),
        encode(context)
    );
    let w = world(InboundAuth::default());
    let Some(mut req) = request(Method::GET, &uri, &[], &[]) else {
        return;
    };
    if mode & 1 == 1 {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let params: HashMap<String, String> = [
            ("sc".to_string(), text(sc)),
            ("an".to_string(), text(an)),
            ("purchaseContext".to_string(), text(context)),
        ]
        .into();
        req = req.with_query_string_parameters(params);
    }
    let resp = run(simulation::handle(&w.simulation, req));
    assert_answered(&resp, data);
});
