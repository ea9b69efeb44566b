//! Ports and rules of the operator console: the order list (filters, newest first, paged) and the
//! parked messages (dead-letter queues: what is there, why, and moving them back).
//!
//! Adapters: `embedded_store::listing` (SQLite orders, the local queues' DLQs) and
//! `aws_adapters::dynamo::listing` (a Query of the orders table's `gsi2`, the SQS DLQs).
//!
//! "Needs attention" is decided here, not in the adapters, from what every adapter already has:
//! the order, its log and the parked messages that name it ([`attention`]). [`OrderBoard`] pages
//! through the store until it has a page of such orders or has examined [`MAX_EXAMINED`] orders,
//! so one request stays bounded however few orders need attention.

use crate::clock::Clock;
use crate::erp::OrderRef;
use crate::order::{LogEntry, Order, OrderStatus, Outcome};
use crate::ports::{OrderStore, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

/// Largest page an adapter is asked for.
pub const MAX_PAGE: usize = 100;

/// Most orders one "needs attention" request reads (and reads the log of) before it answers with
/// what it found and a cursor to go on.
pub const MAX_EXAMINED: usize = 500;

/// What the store filters on. Dates bound `created_at`: `from` inclusive, `to` exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    /// Marketplace account (`an`); `Some("")` is the orders placed without one.
    pub an: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
}

impl OrderFilter {
    pub fn matches(&self, order: &Order) -> bool {
        self.status.is_none_or(|s| s == order.status)
            && self.an.as_deref().is_none_or(|an| an == order.an)
            && self.created_from.is_none_or(|f| order.created_at >= f)
            && self.created_to.is_none_or(|t| order.created_at < t)
    }
}

/// Where a listing goes on: just after the order it names, in newest-first order. Adapters write
/// and read it as `{createdAt}#{orderId}` with the time at fixed width ([`Cursor::encode`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub order_id: String,
}

impl Cursor {
    pub fn after(order: &Order) -> Self {
        Cursor {
            created_at: order.created_at,
            order_id: order.order_id.clone(),
        }
    }

    /// Fixed-width RFC 3339 (nanoseconds, `Z`), so that text order is (time, id) order.
    pub fn encode(&self) -> String {
        format!("{}#{}", sort_time(self.created_at), self.order_id)
    }

    /// `None` for anything [`Cursor::encode`] did not write.
    pub fn decode(text: &str) -> Option<Cursor> {
        let (at, id) = text.split_once('#')?;
        let created_at = DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc);
        let ok_id = !id.is_empty()
            && id.len() <= 128
            && id.bytes().all(|b| b.is_ascii_graphic() && b != b'#');
        ok_id.then(|| Cursor {
            created_at,
            order_id: id.to_string(),
        })
    }

    /// Whether `order` comes after this cursor in newest-first order.
    pub fn precedes(&self, order: &Order) -> bool {
        (order.created_at, order.order_id.as_str()) < (self.created_at, self.order_id.as_str())
    }
}

/// The sort key of an order in a listing: creation time at fixed width, then the id.
pub fn sort_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// One page of orders, newest first; `next` asks for the following page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderPage {
    pub orders: Vec<Order>,
    pub next: Option<Cursor>,
}

/// Port: orders by creation, newest first (ties by id, descending), filtered.
#[async_trait]
pub trait OrderListing: Send + Sync {
    /// At most `limit` (1..=[`MAX_PAGE`]) orders matching `filter` that come after `after`; `next`
    /// is set when more may follow.
    async fn list_orders(
        &self,
        filter: &OrderFilter,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<OrderPage, StoreError>;
}

/// A message a worker gave up on, waiting in its queue's dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedMessage {
    /// The id to re-drive it by (the dead-letter queue's own message id).
    pub id: String,
    pub body: String,
    pub group_id: Option<String>,
    /// Machine code the worker parked it with (`RULE_BREAK`, `UNKNOWN_ORDER`, `VTEX_4XX`…), when
    /// the queue keeps it.
    pub reason_code: Option<String>,
    pub reason: Option<String>,
    pub parked_at: Option<DateTime<Utc>>,
}

impl ParkedMessage {
    /// The order the body names (its top-level `orderId`, `marketplaceOrderId`, `an`), read
    /// without the rest of the message: a parked message is often one whose payload is wrong.
    pub fn order_ref(&self) -> Option<OrderRef> {
        let v: serde_json::Value = serde_json::from_str(&self.body).ok()?;
        let field = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        let r = OrderRef {
            order_id: field("orderId"),
            marketplace_order_id: field("marketplaceOrderId"),
            an: field("an"),
        };
        (r.order_id.is_some() || r.marketplace_order_id.is_some()).then_some(r)
    }

    pub fn names(&self, order: &Order) -> bool {
        self.order_ref().is_some_and(|r| {
            r.order_id.as_deref() == Some(order.order_id.as_str())
                || (r.order_id.is_none()
                    && r.marketplace_order_id.as_deref()
                        == Some(order.marketplace_order_id.as_str())
                    && r.an.as_deref().is_none_or(|an| an == order.an))
        })
    }
}

/// What to move back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redrive {
    /// These messages (by [`ParkedMessage::id`]); ids no longer parked are skipped.
    Some(Vec<String>),
    All,
}

/// Port: the dead-letter queues of the workers' queues.
#[async_trait]
pub trait ParkedMessages: Send + Sync {
    /// The source queues whose dead letters this adapter reads, in display order.
    fn queues(&self) -> Vec<String>;

    /// Up to `limit` parked messages of `queue`, oldest first. `Limit` for an unknown queue.
    async fn list(&self, queue: &str, limit: usize) -> Result<Vec<ParkedMessage>, StoreError>;

    /// Moves the chosen messages back to `queue`, bodies and groups unchanged, visible at once.
    /// Returns how many moved.
    async fn redrive(&self, queue: &str, which: &Redrive) -> Result<usize, StoreError>;
}

/// Why an order is on the operator's "needs attention" list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attention {
    /// A message naming it waits in a dead-letter queue.
    Parked { queue: String, reason: String },
    /// The newest entry of a log step is an Alert or an Error (a refusal, a rule break).
    Refused { step: String, detail: String },
    /// A reservation that lapses within the horizon unless `/fulfill` arrives.
    ExpiresSoon { at: DateTime<Utc> },
    /// A marketplace cancel recorded but not carried out.
    PendingCancellation,
}

impl Attention {
    pub fn label(&self) -> &'static str {
        match self {
            Attention::Parked { .. } => "parked message",
            Attention::Refused { .. } => "refused",
            Attention::ExpiresSoon { .. } => "reservation expiring",
            Attention::PendingCancellation => "cancel pending",
        }
    }
}

/// How far ahead a reservation counts as "about to expire".
pub const EXPIRY_HORIZON_MINUTES: i64 = 30;

/// Every reason `order` needs an operator, given its log and the parked messages of all queues
/// (`(queue, message)`). A step whose newest entry is a success is settled: an alert an operator
/// fixed and re-drove no longer counts.
pub fn attention(
    order: &Order,
    log: &[LogEntry],
    parked: &[(String, ParkedMessage)],
    now: DateTime<Utc>,
) -> Vec<Attention> {
    let mut out: Vec<Attention> = parked
        .iter()
        .filter(|(_, m)| m.names(order))
        .map(|(q, m)| Attention::Parked {
            queue: q.clone(),
            reason: m
                .reason_code
                .clone()
                .or_else(|| m.reason.clone())
                .unwrap_or_else(|| "parked".into()),
        })
        .collect();
    let mut newest: Vec<&LogEntry> = Vec::new();
    for e in log {
        match newest.iter_mut().find(|n| n.step == e.step) {
            Some(n) => *n = e,
            None => newest.push(e),
        }
    }
    out.extend(
        newest
            .into_iter()
            .filter(|e| matches!(e.outcome, Outcome::Alert | Outcome::Error))
            .map(|e| Attention::Refused {
                step: e.step.clone(),
                detail: e.detail.clone(),
            }),
    );
    if order.status == OrderStatus::Reserved
        && order.expires_at <= now + Duration::minutes(EXPIRY_HORIZON_MINUTES)
    {
        out.push(Attention::ExpiresSoon {
            at: order.expires_at,
        });
    }
    if order.pending_cancellation.is_some() && order.canceled.is_none() {
        out.push(Attention::PendingCancellation);
    }
    out
}

/// An order on the board, with why it needs attention (empty: it does not).
#[derive(Debug, Clone, PartialEq)]
pub struct BoardRow {
    pub order: Order,
    pub attention: Vec<Attention>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BoardPage {
    pub rows: Vec<BoardRow>,
    pub next: Option<Cursor>,
    /// Orders read to fill this page (more than `rows` when only those needing attention show).
    pub examined: usize,
}

/// The console's order list: the listing port, the logs and the parked messages put together.
#[derive(Clone)]
pub struct OrderBoard {
    pub listing: Arc<dyn OrderListing>,
    pub orders: Arc<dyn OrderStore>,
    pub parked: Arc<dyn ParkedMessages>,
    pub clock: Arc<dyn Clock>,
}

/// Parked messages read per queue to mark orders (the DLQs hold few; the alarm fires at one).
const PARKED_SCAN: usize = 100;

impl OrderBoard {
    /// Every queue's parked messages, with the queue each waits in.
    pub async fn all_parked(&self) -> Result<Vec<(String, ParkedMessage)>, StoreError> {
        let mut out = Vec::new();
        for q in self.parked.queues() {
            for m in self.parked.list(&q, PARKED_SCAN).await? {
                out.push((q.clone(), m));
            }
        }
        Ok(out)
    }

    /// One page of the list. With `only_attention`, store pages are read until `limit` rows need
    /// attention or [`MAX_EXAMINED`] orders were read; `next` then goes on from the last one read.
    pub async fn page(
        &self,
        filter: &OrderFilter,
        after: Option<&Cursor>,
        limit: usize,
        only_attention: bool,
    ) -> Result<BoardPage, StoreError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let parked = self.all_parked().await?;
        let now = self.clock.now();
        let mut page = BoardPage::default();
        let mut cursor = after.cloned();
        loop {
            let want = if only_attention { MAX_PAGE } else { limit };
            let got = self
                .listing
                .list_orders(filter, cursor.as_ref(), want)
                .await?;
            let more = got.next.is_some();
            for order in got.orders {
                page.examined += 1;
                cursor = Some(Cursor::after(&order));
                let log = self.orders.read_log(&order.order_id).await?;
                let attention = attention(&order, &log, &parked, now);
                if !only_attention || !attention.is_empty() {
                    page.rows.push(BoardRow { order, attention });
                }
                if page.rows.len() >= limit || page.examined >= MAX_EXAMINED {
                    page.next = cursor.clone();
                    return Ok(page);
                }
            }
            if !more {
                page.next = None;
                return Ok(page);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// Built from its stored JSON, so fields added to `Order` later (all defaulted) need no edit.
    fn order(id: &str, status: OrderStatus, minute: u32) -> Order {
        let at = Utc.with_ymd_and_hms(2026, 3, 4, 10, minute, 0).unwrap();
        serde_json::from_value(serde_json::json!({
            "orderId": id,
            "an": "luxstore",
            "marketplaceOrderId": format!("mkp-{id}"),
            "marketplacePaymentValue": 0,
            "status": status,
            "lines": [],
            "createdAt": at,
            "expiresAt": at + Duration::hours(1),
        }))
        .unwrap()
    }

    fn parked(body: &str) -> ParkedMessage {
        ParkedMessage {
            id: "m-1".into(),
            body: body.into(),
            group_id: None,
            reason_code: Some("RULE_BREAK".into()),
            reason: Some("not fulfilled".into()),
            parked_at: None,
        }
    }

    #[test]
    fn a_cursor_reads_back_what_it_wrote_and_refuses_anything_else() {
        let o = order("SLR-1", OrderStatus::Authorized, 5);
        let c = Cursor::after(&o);
        assert_eq!(Cursor::decode(&c.encode()), Some(c.clone()));
        for bad in [
            "",
            "SLR-1",
            "yesterday#SLR-1",
            "2026-03-04T10:05:00Z#",
            "2026-03-04T10:05:00Z#a#b",
        ] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
        let older = order("SLR-0", OrderStatus::Authorized, 4);
        assert!(c.precedes(&older));
        assert!(!c.precedes(&o));
    }

    #[test]
    fn an_order_needs_attention_while_its_newest_step_entry_is_a_refusal_or_a_message_is_parked() {
        let now = Utc.with_ymd_and_hms(2026, 3, 4, 9, 0, 0).unwrap();
        let o = order("SLR-1", OrderStatus::Authorized, 5);
        let refused = LogEntry::new(now, "dispatch.invoice", Outcome::Alert, "rule break");
        let sent = LogEntry::new(now, "dispatch.invoice", Outcome::Success, "sent");
        assert_eq!(
            attention(&o, std::slice::from_ref(&refused), &[], now),
            vec![Attention::Refused {
                step: "dispatch.invoice".into(),
                detail: "rule break".into()
            }]
        );
        assert!(attention(&o, &[refused.clone(), sent], &[], now).is_empty());
        let msg = parked(r#"{"type":"invoice","version":1,"orderId":"SLR-1","invoice":{}}"#);
        let by_mkp = parked(r#"{"type":"invoice","version":1,"marketplaceOrderId":"mkp-SLR-1"}"#);
        let other_an = parked(r#"{"type":"invoice","marketplaceOrderId":"mkp-SLR-1","an":"x"}"#);
        let other = parked(r#"{"type":"invoice","version":1,"orderId":"SLR-2","invoice":{}}"#);
        assert!(!other.names(&o));
        assert!(by_mkp.names(&o));
        assert!(!other_an.names(&o));
        let got = attention(
            &o,
            &[],
            &[("dispatch".into(), msg), ("dispatch".into(), other)],
            now,
        );
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].label(), "parked message");
        assert!(!parked("not json").names(&o));
    }

    #[test]
    fn a_reservation_needs_attention_within_the_expiry_horizon_only() {
        let o = order("SLR-1", OrderStatus::Reserved, 0);
        let early = o.expires_at - Duration::minutes(EXPIRY_HORIZON_MINUTES + 1);
        let late = o.expires_at - Duration::minutes(EXPIRY_HORIZON_MINUTES - 1);
        assert!(attention(&o, &[], &[], early).is_empty());
        assert_eq!(
            attention(&o, &[], &[], late),
            vec![Attention::ExpiresSoon { at: o.expires_at }]
        );
    }

    #[test]
    fn the_filter_bounds_creation_from_inclusive_to_exclusive() {
        let o = order("SLR-1", OrderStatus::Invoiced, 5);
        let f = OrderFilter {
            created_from: Some(o.created_at),
            created_to: Some(o.created_at + Duration::seconds(1)),
            ..Default::default()
        };
        assert!(f.matches(&o));
        let f = OrderFilter {
            created_to: Some(o.created_at),
            ..Default::default()
        };
        assert!(!f.matches(&o));
        let f = OrderFilter {
            status: Some(OrderStatus::Shipped),
            ..Default::default()
        };
        assert!(!f.matches(&o));
        let f = OrderFilter {
            an: Some("other".into()),
            ..Default::default()
        };
        assert!(!f.matches(&o));
    }

    /// Orders in memory, newest first, as the adapters answer (the board's paging is under test).
    struct Listed(Vec<Order>);

    #[async_trait]
    impl OrderListing for Listed {
        async fn list_orders(
            &self,
            filter: &OrderFilter,
            after: Option<&Cursor>,
            limit: usize,
        ) -> Result<OrderPage, StoreError> {
            let mut orders: Vec<Order> = self
                .0
                .iter()
                .filter(|o| filter.matches(o) && after.is_none_or(|c| c.precedes(o)))
                .cloned()
                .collect();
            orders.sort_by(|a, b| (b.created_at, &b.order_id).cmp(&(a.created_at, &a.order_id)));
            let more = orders.len() > limit;
            orders.truncate(limit);
            let next = more.then(|| orders.last().map(Cursor::after)).flatten();
            Ok(OrderPage { orders, next })
        }
    }

    struct Parked(Vec<ParkedMessage>);

    #[async_trait]
    impl ParkedMessages for Parked {
        fn queues(&self) -> Vec<String> {
            vec!["dispatch".into()]
        }
        async fn list(&self, _: &str, _: usize) -> Result<Vec<ParkedMessage>, StoreError> {
            Ok(self.0.clone())
        }
        async fn redrive(&self, _: &str, _: &Redrive) -> Result<usize, StoreError> {
            Ok(0)
        }
    }

    #[tokio::test]
    async fn the_attention_board_pages_through_the_orders_that_need_it_reading_a_bounded_number() {
        // 600 orders (SLR-599 newest); parked messages name SLR-550, SLR-540 and SLR-005.
        let orders: Vec<Order> = (0..600)
            .map(|i| {
                let mut o = order(&format!("SLR-{i:03}"), OrderStatus::Authorized, 0);
                o.created_at += Duration::seconds(i);
                o
            })
            .collect();
        let parked = ["SLR-550", "SLR-540", "SLR-005"]
            .iter()
            .map(|id| parked(&format!(r#"{{"type":"invoice","orderId":"{id}"}}"#)))
            .collect();
        let board = OrderBoard {
            listing: Arc::new(Listed(orders)),
            orders: Arc::new(crate::memory::MemoryStore::new()),
            parked: Arc::new(Parked(parked)),
            clock: Arc::new(crate::clock::ManualClock::new(
                Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
            )),
        };
        let all = OrderFilter::default();
        let ids = |p: &BoardPage| -> Vec<String> {
            p.rows.iter().map(|r| r.order.order_id.clone()).collect()
        };
        let first = board.page(&all, None, 2, true).await.unwrap();
        assert_eq!(ids(&first), ["SLR-550", "SLR-540"]);
        assert_eq!(first.examined, 60, "reads up to the second match only");
        // SLR-005 lies 535 orders further: the next request stops at the bound, with a cursor.
        let second = board
            .page(&all, first.next.as_ref(), 2, true)
            .await
            .unwrap();
        assert!(second.rows.is_empty());
        assert_eq!(second.examined, MAX_EXAMINED);
        let third = board
            .page(&all, second.next.as_ref(), 2, true)
            .await
            .unwrap();
        assert_eq!(ids(&third), ["SLR-005"]);
        assert_eq!(third.next, None);
        // Without the attention filter a page is the next orders, flagged or not.
        let plain = board.page(&all, None, 3, false).await.unwrap();
        assert_eq!(ids(&plain), ["SLR-599", "SLR-598", "SLR-597"]);
        assert!(plain.rows.iter().all(|r| r.attention.is_empty()));
        assert!(plain.next.is_some());
    }
}
