//! SKU records already decoded, by id, with the stored text they were decoded from. Decoding a
//! stored SKU (schema-version probe, then the record) was a third of a 50-item simulation on the
//! local runner; an unchanged record is now cloned instead. Any change to the record changes its
//! text, and a text that differs in any byte is decoded again, so what is returned is always what
//! the row holds. Process-wide (several stores in one process share it safely: the key is the
//! text itself) and bounded.

use crate::decode;
use domain::catalog::Sku;
use domain::ports::StoreError;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// More distinct SKUs than this and the cache starts over (a catalog larger than a laptop's
/// demo data still works, it just decodes more).
const MAX_ENTRIES: usize = 20_000;

type Entries = HashMap<String, (String, Sku)>;

fn entries() -> &'static Mutex<Entries> {
    static ENTRIES: OnceLock<Mutex<Entries>> = OnceLock::new();
    ENTRIES.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The SKU stored as `data` under `id`: the cached one when `data` is the text it came from.
pub(crate) fn sku(id: &str, data: &str) -> Result<Sku, StoreError> {
    {
        let cache = entries().lock().unwrap_or_else(|e| e.into_inner());
        if let Some((text, sku)) = cache.get(id)
            && text == data
        {
            return Ok(sku.clone());
        }
    }
    let sku: Sku = decode(data)?;
    let mut cache = entries().lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= MAX_ENTRIES {
        cache.clear();
    }
    cache.insert(id.to_string(), (data.to_string(), sku.clone()));
    Ok(sku)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode;

    fn stored(name: &str) -> String {
        let sku: Sku = serde_json::from_value(serde_json::json!({
            "id": "decoded-test", "name": name, "prices": []
        }))
        .unwrap();
        encode(&sku).unwrap()
    }

    #[test]
    fn a_changed_record_is_decoded_again() {
        let (a, b) = (stored("first"), stored("second"));
        assert_eq!(sku("decoded-test", &a).unwrap().name, "first");
        assert_eq!(sku("decoded-test", &a).unwrap().name, "first");
        assert_eq!(sku("decoded-test", &b).unwrap().name, "second");
        assert_eq!(sku("decoded-test", &a).unwrap().name, "first");
        assert!(sku("decoded-test", "{not json").is_err());
    }
}
