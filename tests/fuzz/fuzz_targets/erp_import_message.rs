//! The ERP's import messages on the import queue (`domain::import::parse`): any body parses or is
//! refused with a reason, never a panic; what parses survives its own serialization unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = domain::import::parse(data, Some("EXT")) {
        let again = domain::import::parse(message.to_json().as_bytes(), Some("EXT"));
        assert_eq!(
            again.as_ref().ok(),
            Some(&message),
            "to_json does not round-trip: {again:?}"
        );
    }
});
