//! The operator's view of one order (`GET …/admin/orders/{orderId}`): what an operator needs to
//! follow it (status, ids, lines, totals, timestamps, the log), and nothing about the customer: no
//! address, no buyer contact, no free-text cancellation reason (a shopper may have typed it).

use super::{CanceledBy, LogEntry, Order, OrderStatus, Outcome, ValueSource, format_date};
use crate::invoicing::share::discounted_unit_prices;
use crate::money::Cents;
use serde::Serialize;

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
    /// A seller cancellation recorded before its call to VTEX and not yet settled (the order is
    /// not `CANCELED` yet): the call may have landed. Its reason is left out, as the cancel's.
    pub seller_cancel: Option<SellerCancelView>,
    /// One page of the log, oldest first: by default the newest [`MAX_LOG_IN_VIEW`] entries.
    pub log: Vec<LogView>,
    /// How many older entries are not on this page (a long-lived order with many retries): the view
    /// must stay far below Lambda's 6 MB response limit.
    pub log_omitted: usize,
    /// Entries in the whole log.
    pub log_total: usize,
    /// The `logBefore` that asks for the next older page; absent on the oldest page.
    pub log_next_before: Option<usize>,
}

/// The pending marker of a seller cancellation ([`Order::seller_cancel`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SellerCancelView {
    pub request_id: String,
    pub requested_at: String,
}

/// Most log entries an admin view carries (an entry is at most about a kilobyte).
pub const MAX_LOG_IN_VIEW: usize = 1000;

/// Which part of an order's log a view shows: the `limit` entries just before position `before`
/// (0 is the oldest entry; `None` is the end of the log, so the newest page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPage {
    pub before: Option<usize>,
    pub limit: usize,
}

impl Default for LogPage {
    fn default() -> Self {
        LogPage {
            before: None,
            limit: MAX_LOG_IN_VIEW,
        }
    }
}

impl LogPage {
    /// From the operator's `logBefore` / `logLimit` query values. A limit over
    /// [`MAX_LOG_IN_VIEW`] or below 1 is refused rather than silently changed, so a script paging
    /// through a log never skips entries.
    pub fn parse(before: Option<&str>, limit: Option<&str>) -> Result<LogPage, String> {
        let number = |name: &str, v: &str| {
            v.trim()
                .parse::<usize>()
                .map_err(|_| format!("{name} must be a non-negative integer"))
        };
        let before = before.map(|v| number("logBefore", v)).transpose()?;
        let limit = match limit {
            None => MAX_LOG_IN_VIEW,
            Some(v) => number("logLimit", v)?,
        };
        if !(1..=MAX_LOG_IN_VIEW).contains(&limit) {
            return Err(format!("logLimit must be between 1 and {MAX_LOG_IN_VIEW}"));
        }
        Ok(LogPage { before, limit })
    }

    /// The range of `len` entries this page covers.
    fn range(self, len: usize) -> std::ops::Range<usize> {
        let end = self.before.map_or(len, |b| b.min(len));
        end.saturating_sub(self.limit)..end
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub items: Cents,
    /// Σ price tags (negative: discounts).
    pub price_tags: Cents,
    pub bundles: Cents,
    pub freight: Cents,
    pub delivery_windows: Cents,
    /// The five above added up.
    pub computed: Cents,
    /// The order's value: what Output invoices must add up to.
    pub total: Cents,
    /// Which figure `total` is: `computed` or `marketplacePaymentValue`.
    pub value_source: ValueSource,
    /// `false` for an order stored before the breakdown was kept: tags and bundles read as zero.
    pub value_stored: bool,
    pub marketplace_payment_value: Cents,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineView {
    pub index: usize,
    pub sku_id: String,
    pub quantity: i64,
    pub unit_price: Cents,
    pub price_tags: Cents,
    pub bundles: Cents,
    /// The unit price an invoice item of this line carries once tags and bundles are spread over
    /// its units (invoicing::share).
    pub discounted_unit_price: Cents,
    pub freight: Cents,
    pub delivery_window_price: Cents,
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
    /// The view with the newest page of the log.
    pub fn new(order: &Order, log: &[LogEntry]) -> Self {
        Self::with_log_page(order, log, LogPage::default())
    }

    pub fn with_log_page(order: &Order, log: &[LogEntry], page: LogPage) -> Self {
        let shown = page.range(log.len());
        let value = order.order_value();
        let goods = order.line_values();
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
                items: value.items,
                price_tags: value.price_tags,
                bundles: value.bundles,
                freight: value.freight,
                delivery_windows: value.delivery_windows,
                computed: value.computed,
                total: value.value,
                value_source: value.source,
                value_stored: order.value.is_some(),
                marketplace_payment_value: order.marketplace_payment_value,
            },
            lines: order
                .lines
                .iter()
                .zip(value.lines.iter().zip(&goods))
                .map(|(l, (adj, g))| LineView {
                    index: l.index,
                    sku_id: l.sku_id.clone(),
                    quantity: l.quantity,
                    unit_price: l.unit_price,
                    price_tags: adj.price_tags,
                    bundles: adj.bundles,
                    discounted_unit_price: discounted_unit_prices(g.goods, l.quantity).0,
                    freight: l.freight,
                    delivery_window_price: l.window_price(),
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
            seller_cancel: order.seller_cancel.as_ref().map(|s| SellerCancelView {
                request_id: s.request_id.clone(),
                requested_at: format_date(s.requested_at),
            }),
            log_omitted: shown.start,
            log_total: log.len(),
            log_next_before: (shown.start > 0).then_some(shown.start),
            log: log[shown]
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
    use chrono::{TimeZone, Utc};

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
            seller_cancel: None,
            value: None,
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
        assert_eq!(json["logNextBefore"], serde_json::Value::Null);
    }

    #[test]
    fn paging_back_through_a_long_log_visits_every_entry_once_in_order() {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let log: Vec<LogEntry> = (0..2_345)
            .map(|i| LogEntry::new(at, "dispatch.invoice", Outcome::Pending, format!("try {i}")))
            .collect();
        let mut seen: Vec<String> = Vec::new();
        let mut before: Option<String> = None;
        let mut pages = 0;
        loop {
            let page = LogPage::parse(before.as_deref(), Some("700")).unwrap();
            let view = AdminOrderView::with_log_page(&order(), &log, page);
            assert!(view.log.len() <= 700);
            assert_eq!(view.log_total, 2_345);
            assert_eq!(
                view.log_omitted + view.log.len(),
                before.as_deref().map_or(2_345, |b| b.parse().unwrap())
            );
            let mut details: Vec<String> = view.log.into_iter().map(|e| e.detail).collect();
            details.append(&mut seen);
            seen = details;
            pages += 1;
            match view.log_next_before {
                Some(next) => before = Some(next.to_string()),
                None => break,
            }
        }
        assert_eq!(pages, 4);
        let expected: Vec<String> = (0..2_345).map(|i| format!("try {i}")).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn a_log_page_past_the_end_is_the_newest_page_and_bad_limits_are_refused() {
        let page = LogPage::parse(Some("99999"), Some("10")).unwrap();
        assert_eq!(page.range(25), 15..25);
        assert_eq!(LogPage::parse(None, None).unwrap(), LogPage::default());
        for (before, limit) in [
            (None, Some("0")),
            (None, Some("1001")),
            (Some("-1"), None),
            (None, Some("ten")),
        ] {
            let err = LogPage::parse(before, limit).unwrap_err();
            assert!(
                err.starts_with("logBefore") || err.starts_with("logLimit"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_pending_seller_cancel_shows_its_request_and_time_but_not_its_reason() {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let none = serde_json::to_value(AdminOrderView::new(&order(), &[])).unwrap();
        assert_eq!(none["sellerCancel"], serde_json::Value::Null);
        let mut o = order();
        o.seller_cancel = Some(crate::order::PendingSellerCancel {
            request_id: "erp-msg-7".into(),
            reason: "sem estoque no CD".into(),
            requested_at: at,
        });
        let view = AdminOrderView::new(&o, &[]);
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["sellerCancel"]["requestId"], "erp-msg-7");
        assert_eq!(json["sellerCancel"]["requestedAt"], format_date(at));
        assert!(!json.to_string().contains("sem estoque"), "{json}");
    }
}
