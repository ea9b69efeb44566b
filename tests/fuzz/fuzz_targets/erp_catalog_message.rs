//! The ERP's catalog messages on the catalog queue (`domain::catalog_messages::parse`), and a
//! whole catalog file (`validate_catalog_file`): any input parses or is refused with the
//! violations, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = domain::catalog_messages::parse(data) {
        let _ = (e.code(), e.to_string());
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Err(violations) = domain::catalog_messages::validate_catalog_file(&value) {
            assert!(!violations.is_empty(), "refused without a reason");
        }
    }
});
