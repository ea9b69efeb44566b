//! The import's identity: who sent it and which order it is.

use super::*;

/// The create-once key of an import: the source marketplace (`affiliateId`) and its order id. The
/// same pair is sent in every VTEX call of the import.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportKey {
    pub affiliate_id: String,
    pub marketplace_order_id: String,
}

impl ImportKey {
    pub fn new(affiliate_id: impl Into<String>, marketplace_order_id: impl Into<String>) -> Self {
        ImportKey {
            affiliate_id: affiliate_id.into(),
            marketplace_order_id: marketplace_order_id.into(),
        }
    }

    /// The id the import's log is kept under in the order log (`OrderStore::append_log`). It
    /// cannot collide with our own order ids, which never contain `:`.
    pub fn log_id(&self) -> String {
        format!("import:{}:{}", self.affiliate_id, self.marketplace_order_id)
    }

    /// The `orderId` VTEX documents for this import (`{affiliateId}-{marketplaceOrderId}`). Used
    /// only to *look up* an order whose placement answer was lost; the id used afterwards is the
    /// one VTEX returned.
    pub fn documented_vtex_order_id(&self) -> String {
        format!("{}-{}", self.affiliate_id, self.marketplace_order_id)
    }
}

impl fmt::Display for ImportKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.affiliate_id, self.marketplace_order_id)
    }
}

/// `affiliateId`: three ASCII letters (shared/docs/protocol.md §Hosts and ids).
pub fn check_affiliate_id(id: &str) -> Result<(), String> {
    if id.len() == 3 && id.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(())
    } else {
        Err(format!(
            "affiliateId must be three letters (e.g. \"EXT\"), got {:?}",
            id.chars().take(20).collect::<String>()
        ))
    }
}

/// `marketplaceOrderId`: 1–64 of `A–Z a–z 0–9 . _ -`. It becomes part of VTEX's order id, URL
/// paths and store keys, where anything else is trouble.
pub fn check_marketplace_order_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("marketplaceOrderId is required".into());
    }
    if id.len() > MAX_MARKETPLACE_ORDER_ID_LEN {
        return Err(format!(
            "marketplaceOrderId is longer than {MAX_MARKETPLACE_ORDER_ID_LEN} characters"
        ));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(format!(
            "marketplaceOrderId may only hold letters, digits, '.', '_' and '-', got {:?}",
            id.chars()
                .take(MAX_MARKETPLACE_ORDER_ID_LEN)
                .collect::<String>()
        ));
    }
    Ok(())
}

pub(super) fn check_sales_channel(sc: &str) -> Result<(), String> {
    if !sc.is_empty() && sc.len() <= 10 && sc.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(format!(
            "salesChannel must be a short id such as \"1\", got {:?}",
            sc.chars().take(20).collect::<String>()
        ))
    }
}
