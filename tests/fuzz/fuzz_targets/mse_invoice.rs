//! `POST {mse}/pub/orders/{orderId}/invoice` (shared/docs/protocol.md
//! §Marketplace services endpoint) with any body, through the real `mse` handler over the in-memory
//! import adapters. Odd first bytes send the body twice: an accepted notification must answer its
//! repeat with the same receipt.
#![no_main]

use connector_fuzz::{assert_answered, body_bytes, request, run};
use domain::clock::{Clock, ManualClock};
use domain::import::{MemoryImportQueue, MemoryImports};
use domain::memory::MemoryStore;
use lambda_http::http::Method;
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let imports = Arc::new(MemoryImports::new());
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH));
    let deps = mse::Deps {
        imports: imports.clone(),
        notifications: imports,
        events: Arc::new(MemoryImportQueue::new()),
        log: Arc::new(MemoryStore::new()),
        clock,
        config: mse::Config::default(),
    };
    let uri = "/mse/pub/orders/1234567890-01/invoice";
    let Some(req) = request(Method::POST, uri, &[], body) else {
        return;
    };
    let first = run(mse::handle(&deps, req));
    assert_answered(&first, data);
    if mode & 1 == 1 && first.status() == 200 {
        let again = request(Method::POST, uri, &[], body).expect("the same request again");
        let second = run(mse::handle(&deps, again));
        assert_eq!(
            second.status(),
            200,
            "a repeat of an accepted notification failed"
        );
        let receipt = |b: &[u8]| {
            serde_json::from_slice::<serde_json::Value>(b)
                .ok()
                .map(|v| v["receipt"].clone())
        };
        assert_eq!(
            receipt(body_bytes(&first)),
            receipt(body_bytes(&second)),
            "a repeat got another receipt"
        );
    }
});
