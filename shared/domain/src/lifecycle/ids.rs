//! Ids of our orders.

use super::*;

/// Source of new order ids and receipts; injected so tests can make them predictable.
pub trait IdGen: Send + Sync {
    /// A new, unique, URL-safe order id.
    fn order_id(&self) -> OrderId;
    /// A new receipt (a UUID string, as VTEX's examples show).
    fn receipt(&self) -> String;
}

/// Random ids from UUID v4.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIds;

impl IdGen for RandomIds {
    fn order_id(&self) -> OrderId {
        new_order_id()
    }

    fn receipt(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

pub(super) const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// `SLR-` + 20 Crockford base-32 characters taken from a UUID v4 (94 random bits): short enough to
/// read over the phone, URL-safe without encoding, and unambiguous (no I, L, O, U).
pub fn new_order_id() -> OrderId {
    let mut bits = uuid::Uuid::new_v4().as_u128();
    let mut id = String::with_capacity(ORDER_ID_PREFIX.len() + 20);
    id.push_str(ORDER_ID_PREFIX);
    for _ in 0..20 {
        id.push(char::from(CROCKFORD[(bits & 31) as usize]));
        bits >>= 5;
    }
    id
}
