//! Inbound authentication (shared/docs/protocol.md §Authentication) with credentials configured:
//! any path segment before `/pvt`, `?secret=`, `Authorization`, `X-VTEX-API-AppKey` and
//! `X-VTEX-API-AppToken` (input lines 1–5), through `InboundAuth::check` and the real placement
//! handler. Properties: no panic; a request passes only when it presents the path secret, or both
//! the AppKey and the AppToken; the handler answers 401 exactly when the check fails.
#![no_main]

use connector_fuzz::{
    APP_KEY, APP_TOKEN, PATH_SECRET, auth, encode, request, run, split_lines, world,
};
use lambda_http::http::Method;
use lambda_kit::auth::RequestAuth;
use libfuzzer_sys::fuzz_target;

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fuzz_target!(|data: &[u8]| {
    let p = split_lines(data, 5);
    let (segment, query_secret, authorization, key, token) = (p[0], p[1], p[2], p[3], p[4]);
    let uri = format!(
        "/vtex/{}/pvt/orders?an=acct&secret={}",
        encode(segment),
        encode(query_secret)
    );
    let mut headers: Vec<(&str, &[u8])> = Vec::new();
    for (name, value) in [
        ("authorization", authorization),
        ("x-vtex-api-appkey", key),
        ("x-vtex-api-apptoken", token),
    ] {
        if !value.is_empty() {
            headers.push((name, value));
        }
    }
    let Some(req) = request(Method::POST, &uri, &headers, &[]) else {
        return;
    };
    let passed = auth().check(&req).is_ok();
    if passed {
        let secret_shown =
            segment == PATH_SECRET.as_bytes() || query_secret == PATH_SECRET.as_bytes();
        let credentials_shown = contains(data, APP_KEY) && contains(data, APP_TOKEN);
        assert!(
            secret_shown || credentials_shown,
            "passed without credentials: {:?}",
            String::from_utf8_lossy(data)
        );
    }
    let w = world(auth());
    let resp = run(order_placement::handle(&w.placement, req));
    assert_eq!(
        resp.status() == 401,
        !passed,
        "the handler and the check disagree ({})",
        resp.status()
    );
    connector_fuzz::assert_answered(&resp, data);
});
