//! The ERP's order messages on the dispatch queue (`domain::erp::parse`): any body parses or is
//! refused with a reason, never a panic; what parses survives its own serialization unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = domain::erp::parse(data) {
        let again = domain::erp::parse(message.to_json().as_bytes());
        assert_eq!(again.as_ref(), Ok(&message), "to_json does not round-trip");
    }
});
