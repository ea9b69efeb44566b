//! Small stored records, version 1: the catalog sync's per-SKU notification state and the mse
//! function's record of one invoice notification. The JSON written before stored shapes were
//! explicit, field by field.

use crate::import::ImportKeyV1;
use crate::{FormatError, Stored};
use chrono::{DateTime, Utc};
use domain::catalog_notify::{KindState, SyncState};
use domain::import::{ImportKey, MseNotification};
use serde::{Deserialize, Serialize};

/// Notification bookkeeping of one SKU: one counter pair per kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStateV1 {
    #[serde(default)]
    pub price: KindStateV1,
    #[serde(default)]
    pub inventory: KindStateV1,
    #[serde(default)]
    pub catalog: KindStateV1,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KindStateV1 {
    #[serde(default)]
    pub changes: u64,
    #[serde(default)]
    pub notified: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sent_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followup_due: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MseNotificationV1 {
    pub order_id: String,
    pub fingerprint: String,
    pub invoice_number: String,
    pub receipt: String,
    pub date: DateTime<Utc>,
    #[serde(default)]
    pub import: Option<ImportKeyV1>,
    /// The DynamoDB adapter also keeps it as an attribute and reads it from there.
    pub published: bool,
}

impl Stored for SyncState {
    const WHAT: &'static str = "SKU sync state";
    const VERSION: u32 = 1;
    type Shape = SyncStateV1;

    fn to_shape(&self) -> SyncStateV1 {
        SyncStateV1 {
            price: kind_v1(&self.price),
            inventory: kind_v1(&self.inventory),
            catalog: kind_v1(&self.catalog),
        }
    }

    fn from_shape(s: SyncStateV1) -> Result<Self, FormatError> {
        Ok(SyncState {
            price: kind(s.price),
            inventory: kind(s.inventory),
            catalog: kind(s.catalog),
        })
    }
}

fn kind_v1(k: &KindState) -> KindStateV1 {
    KindStateV1 {
        changes: k.changes,
        notified: k.notified,
        last_sent_at: k.last_sent_at,
        followup_due: k.followup_due,
    }
}

fn kind(k: KindStateV1) -> KindState {
    KindState {
        changes: k.changes,
        notified: k.notified,
        last_sent_at: k.last_sent_at,
        followup_due: k.followup_due,
    }
}

impl Stored for MseNotification {
    const WHAT: &'static str = "mse notification";
    const VERSION: u32 = 1;
    type Shape = MseNotificationV1;

    fn to_shape(&self) -> MseNotificationV1 {
        MseNotificationV1 {
            order_id: self.order_id.clone(),
            fingerprint: self.fingerprint.clone(),
            invoice_number: self.invoice_number.clone(),
            receipt: self.receipt.clone(),
            date: self.date,
            import: self.import.as_ref().map(ImportKeyV1::from),
            published: self.published,
        }
    }

    fn from_shape(n: MseNotificationV1) -> Result<Self, FormatError> {
        Ok(MseNotification {
            order_id: n.order_id,
            fingerprint: n.fingerprint,
            invoice_number: n.invoice_number,
            receipt: n.receipt,
            date: n.date,
            import: n.import.map(ImportKey::from),
            published: n.published,
        })
    }
}

#[cfg(test)]
mod golden {
    use super::*;
    use crate::testing::golden;
    use chrono::TimeZone;

    const SYNC_STATE: &str = r#"
    {
      "price": {
        "changes": 3,
        "notified": 2,
        "lastSentAt": "2026-01-02T03:04:05.123Z",
        "followupDue": "2026-01-02T03:04:35.123Z"
      },
      "inventory": {
        "changes": 1,
        "notified": 1,
        "lastSentAt": "2026-01-02T03:04:15.123Z"
      },
      "catalog": {
        "changes": 0,
        "notified": 0
      }
    }
    "#;

    const MSE_NOTIFICATION: &str = r#"
    {
      "orderId": "EXT-2630580124",
      "fingerprint": "f1e2d3",
      "invoiceNumber": "NFe-2630580124",
      "receipt": "rcpt-mse",
      "date": "2026-01-02T03:04:08.123Z",
      "import": {
        "affiliateId": "EXT",
        "marketplaceOrderId": "2630580124"
      },
      "published": true
    }
    "#;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_767_323_045 + seconds, 123_000_000)
            .unwrap()
    }

    #[test]
    fn a_sync_state_written_before_versioning_reads_as_the_same_state_and_encodes_exactly() {
        let expected = SyncState {
            price: KindState {
                changes: 3,
                notified: 2,
                last_sent_at: Some(at(0)),
                followup_due: Some(at(30)),
            },
            inventory: KindState {
                changes: 1,
                notified: 1,
                last_sent_at: Some(at(10)),
                followup_due: None,
            },
            catalog: KindState::default(),
        };
        let state: SyncState = golden(SYNC_STATE);
        assert_eq!(state, expected);
    }

    #[test]
    fn an_empty_sync_state_reads_as_never_notified() {
        let state: SyncState = crate::decode("{}").unwrap();
        assert_eq!(state, SyncState::default());
    }

    #[test]
    fn an_mse_notification_written_before_versioning_reads_as_the_same_one_and_encodes_exactly() {
        let expected = MseNotification {
            order_id: "EXT-2630580124".into(),
            fingerprint: "f1e2d3".into(),
            invoice_number: "NFe-2630580124".into(),
            receipt: "rcpt-mse".into(),
            date: at(3),
            import: Some(ImportKey::new("EXT", "2630580124")),
            published: true,
        };
        let notification: MseNotification = golden(MSE_NOTIFICATION);
        assert_eq!(notification, expected);
    }
}
