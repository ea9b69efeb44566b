//! The operator's view of one order (`GET …/admin/orders/{orderId}`): what an operator needs to
//! follow it (status, ids, lines, totals, timestamps, the log), and nothing about the customer: no
//! address, no buyer contact, no free-text cancellation reason (a shopper may have typed it).

use super::{CanceledBy, LogEntry, Order, OrderStatus, Outcome};
use crate::money::Cents;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

/// Dates as VTEX writes them (`vtex::orders::format_date`): RFC 3339 with milliseconds.
fn format_date(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, false)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminOrderView {
    pub order_id: String,
    pub an: String,
    pub sc: Option<String>,
    pub marketplace_order_id: String,
    pub marketplace_order_group: Option<String>,
    pub marketplace_services_endpoint: Option<String>,
    pub status: OrderStatus,
    pub version: u64,
    pub created_at: String,
    pub expires_at: String,
    pub totals: Totals,
    pub lines: Vec<LineView>,
    pub authorized: Option<ReceiptView>,
    pub canceled: Option<CancellationView>,
    /// `cancellationRequestId` of a marketplace cancel recorded but not confirmed.
    pub pending_cancellation: Option<String>,
    /// The newest [`MAX_LOG_IN_VIEW`] log entries, oldest first.
    pub log: Vec<LogView>,
    /// How many older entries were left out (a long-lived order with many retries): the view must
    /// stay far below Lambda's 6 MB response limit.
    pub log_omitted: usize,
}

/// Most log entries an admin view carries (an entry is at most about a kilobyte).
pub const MAX_LOG_IN_VIEW: usize = 1000;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub items: Cents,
    pub freight: Cents,
    /// Items plus freight: what Output invoices must add up to.
    pub total: Cents,
    pub marketplace_payment_value: Cents,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineView {
    pub index: usize,
    pub sku_id: String,
    pub quantity: i64,
    pub unit_price: Cents,
    pub freight: Cents,
    pub selected_sla: Option<String>,
    pub location_id: String,
    pub lock_ttl: Option<String>,
    pub shipping_estimate: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptView {
    pub date: String,
    pub receipt: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CancellationView {
    pub date: String,
    pub receipt: String,
    pub request_id: Option<String>,
    pub by: CanceledBy,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogView {
    pub at: String,
    pub step: String,
    pub outcome: Outcome,
    pub detail: String,
}

impl AdminOrderView {
    pub fn new(order: &Order, log: &[LogEntry]) -> Self {
        let items: Cents = order.lines.iter().map(|l| l.unit_price * l.quantity).sum();
        let freight: Cents = order.lines.iter().map(|l| l.freight).sum();
        AdminOrderView {
            order_id: order.order_id.clone(),
            an: order.an.clone(),
            sc: order.sc.clone(),
            marketplace_order_id: order.marketplace_order_id.clone(),
            marketplace_order_group: order.marketplace_order_group.clone(),
            marketplace_services_endpoint: order.marketplace_services_endpoint.clone(),
            status: order.status,
            version: order.version,
            created_at: format_date(order.created_at),
            expires_at: format_date(order.expires_at),
            totals: Totals {
                items,
                freight,
                total: order.total(),
                marketplace_payment_value: order.marketplace_payment_value,
            },
            lines: order
                .lines
                .iter()
                .map(|l| LineView {
                    index: l.index,
                    sku_id: l.sku_id.clone(),
                    quantity: l.quantity,
                    unit_price: l.unit_price,
                    freight: l.freight,
                    selected_sla: l.selected_sla.clone(),
                    location_id: l.location_id.clone(),
                    lock_ttl: l.lock_ttl.map(|d| d.to_string()),
                    shipping_estimate: l.shipping_estimate.map(|d| d.to_string()),
                })
                .collect(),
            authorized: order.authorized.as_ref().map(|r| ReceiptView {
                date: format_date(r.date),
                receipt: r.receipt.clone(),
            }),
            canceled: order.canceled.as_ref().map(|c| CancellationView {
                date: format_date(c.date),
                receipt: c.receipt.clone(),
                request_id: c.request_id.clone(),
                by: c.by,
            }),
            pending_cancellation: order.pending_cancellation.clone(),
            log_omitted: log.len().saturating_sub(MAX_LOG_IN_VIEW),
            log: log[log.len().saturating_sub(MAX_LOG_IN_VIEW)..]
                .iter()
                .map(|e| LogView {
                    at: format_date(e.at),
                    step: e.step.clone(),
                    outcome: e.outcome,
                    detail: e.detail.clone(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn order() -> Order {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        Order {
            order_id: "SLR-1".into(),
            an: "luxstore".into(),
            sc: None,
            marketplace_order_id: "959311095".into(),
            marketplace_order_group: None,
            marketplace_services_endpoint: None,
            marketplace_payment_value: Cents(0),
            status: OrderStatus::Authorized,
            lines: vec![],
            address: None,
            customer: None,
            created_at: at,
            expires_at: at,
            authorized: None,
            canceled: None,
            pending_cancellation: None,
            version: 1,
        }
    }

    #[test]
    fn a_long_log_is_cut_to_its_newest_entries_and_says_how_many_it_left_out() {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let log: Vec<LogEntry> = (0..MAX_LOG_IN_VIEW + 250)
            .map(|i| LogEntry::new(at, "dispatch.invoice", Outcome::Pending, format!("try {i}")))
            .collect();
        let view = AdminOrderView::new(&order(), &log);
        assert_eq!(view.log.len(), MAX_LOG_IN_VIEW);
        assert_eq!(view.log_omitted, 250);
        assert_eq!(view.log[0].detail, "try 250");
        assert_eq!(
            view.log.last().unwrap().detail,
            format!("try {}", MAX_LOG_IN_VIEW + 249)
        );
        let short = AdminOrderView::new(&order(), &log[..3]);
        assert_eq!((short.log.len(), short.log_omitted), (3, 0));
        let json = serde_json::to_value(&short).unwrap();
        assert_eq!(json["logOmitted"], 0);
    }
}
