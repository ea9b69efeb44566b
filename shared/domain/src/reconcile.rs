//! Reconciliation with each marketplace's OMS: for the orders still open on our side, what VTEX
//! holds (`GET /api/oms/pvt/orders/{marketplaceOrderId}`, shared/docs/protocol.md §Get order) is
//! compared with what we hold — the status, the order value, the invoices and their sums, the
//! tracking numbers — and every difference becomes a [`Drift`].
//!
//! [`compare`] is pure: an order, its invoice records and VTEX's view in, the drifts out. The
//! [`Reconciler`] walks the open orders past a minimum age through [`OrderListing`] (newest
//! first, from a stored [`Cursor`] so an interrupted run resumes where it stopped), reads each
//! from OMS at a configured pace, and for each order:
//! - logs what differs as one `Alert` (step [`steps::DRIFT`]; ids, amounts, statuses and tracking
//!   numbers, never customer data), once per distinct set of drifts, and a `Success` on the same
//!   step when VTEX and we agree again (so the console's "needs attention" settles);
//! - heals what is safe to heal ([`Drift::heal`]) and brings the order status in line the way the
//!   dispatcher does ([`invoicing::status_update`]).
//!
//! # What is healed, and what is only reported
//!
//! Healed — the bookkeeping of a call we made and VTEX shows it landed, while our record says it
//! may not have (a crash or a lost answer between the call and the write of *Sent*):
//! - an invoice VTEX holds, same number, type and value, that we recorded *Pending*: marked
//!   *Sent*, then the order status follows (e.g. `AUTHORIZED` → `INVOICED`, stock shipped);
//! - a tracking number we recorded *Pending* on an invoice and VTEX holds the same number: marked
//!   *Sent* (the order may become `SHIPPED`).
//!
//! Only reported (an operator decides; each has a reason beside it in [`Drift::heal`]):
//! - VTEX canceled an order we hold open: cancelling here releases stock and tells the ERP, and
//!   VTEX's status may be a cancellation request we declined (evaluate / refuse), not a final one;
//! - a different order value: the invoice rules check every invoice against it, so changing it
//!   on our side could let a wrong invoice through;
//! - an invoice VTEX holds that we have no record of (or recorded as refused): we cannot tell what
//!   it bills;
//! - an invoice we sent that VTEX lacks, or one whose value or type differs: re-sending or
//!   rewriting fiscal documents is the ERP's call (a re-drive sends it again);
//! - a different tracking number, different sums, an order VTEX does not know, any other status
//!   difference.
//!
//! # Pace, limits and time
//!
//! One OMS read per order, at least [`ReconcileSettings::pace`] apart. A `429` waits VTEX's
//! `Retry-After` (or the pace) and doubles the pace for the rest of the run, up to
//! [`ReconcileSettings::max_pace`]; a second `429` in a row, or a wait that would not end before
//! the deadline, stops the run. Three unavailable answers in a row (5xx, timeouts) stop it too.
//! Before each read the run checks that the read can start before the deadline (the caller keeps
//! a margin for the call itself and the bookkeeping). A stopped run stores the cursor of the last
//! order it finished; the next run resumes after it, and a run that reaches the oldest order
//! clears it, so the next starts again from the newest.

use crate::clock::Clock;
use crate::invoice_store::{InvoiceStore, RecordSave, Tally};
use crate::invoicing::{self, InvoiceRecord, InvoiceType, SendState};
use crate::listing::{Cursor, MAX_PAGE, OrderFilter, OrderListing};
use crate::money::Cents;
use crate::order::{LogEntry, Order, OrderStatus, Outcome};
use crate::outbound::CallError;
use crate::ports::{OrderStore, SaveOutcome, StoreError};
use crate::worker::Retries;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

#[cfg(test)]
mod tests;

/// Order-log step names written by the reconciler.
pub mod steps {
    /// What differs from VTEX (`Alert`), or that VTEX and we agree again (`Success`).
    pub const DRIFT: &str = "reconcile.drift";
    /// A drift healed (`Success`).
    pub const HEAL: &str = "reconcile.heal";
    /// The order status brought in line after a heal (`Success`).
    pub const STATUS: &str = "reconcile.status";
}

/// One invoice as OMS holds it (`packageAttachment.packages[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OmsPackage {
    pub invoice_number: String,
    pub invoice_value: Cents,
    /// `type`; `None` when OMS leaves it out or names something else.
    pub kind: Option<InvoiceType>,
    /// `trackingNumber`, `None` when absent or blank.
    pub tracking_number: Option<String>,
}

/// What reconciliation reads of an OMS order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OmsOrderView {
    /// OMS workflow status (`handling`, `invoiced`, `canceled`, …).
    pub status: String,
    /// `value`: the order total in cents.
    pub value: Option<Cents>,
    pub packages: Vec<OmsPackage>,
}

/// What one OMS read came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OmsRead {
    Found(OmsOrderView),
    /// 404: OMS has no such order.
    NotFound,
    /// 429: slow down, after `retry_after` when VTEX said.
    Throttled {
        retry_after: Option<Duration>,
    },
    /// 5xx, 408, timeout, connection failure or an unreadable answer: try again later.
    Unavailable {
        reason: String,
    },
    /// Any other 4xx (a key without the OMS view permission answers 403).
    Refused {
        status: u16,
        body: String,
    },
}

/// Port: the marketplace's OMS, read side (`GET /api/oms/pvt/orders/{marketplaceOrderId}` on
/// account `an`). Never retries by itself: the reconciler paces and backs off.
#[async_trait]
pub trait OmsOrders: Send + Sync {
    async fn get_order(&self, an: &str, marketplace_order_id: &str) -> Result<OmsRead, CallError>;
}

/// Port: waiting between OMS reads. The composition root sleeps; tests move a clock.
#[async_trait]
pub trait Pause: Send + Sync {
    async fn pause(&self, d: Duration);
}

/// Port: where the last run stopped (a position in the listing's newest-first order), so the next
/// run resumes there. `None` means "start from the newest".
#[async_trait]
pub trait ReconcileProgress: Send + Sync {
    async fn load_cursor(&self) -> Result<Option<Cursor>, StoreError>;
    async fn save_cursor(&self, cursor: Option<&Cursor>) -> Result<(), StoreError>;
}

/// One difference between what VTEX holds and what we hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// OMS has no order under our `marketplaceOrderId`.
    MissingAtVtex,
    /// VTEX canceled (or is canceling) an order we hold open.
    CanceledAtVtex {
        vtex: String,
        ours: OrderStatus,
    },
    /// Another status difference (VTEX invoiced while we are not, or the other way round).
    Status {
        vtex: String,
        ours: OrderStatus,
    },
    Value {
        vtex: Cents,
        ours: Cents,
    },
    /// VTEX holds the invoice (same type and value) we recorded *Pending*: the POST landed.
    InvoicePendingHere {
        number: String,
        value: Cents,
    },
    /// VTEX holds an invoice we have no record of, or recorded as refused.
    InvoiceUnknownHere {
        number: String,
        value: Cents,
        refused_here: bool,
    },
    /// We recorded the invoice *Sent*; VTEX does not hold it.
    InvoiceMissingAtVtex {
        number: String,
        value: Cents,
    },
    /// Same number, another value or type.
    InvoiceDiffers {
        number: String,
        vtex: (Option<InvoiceType>, Cents),
        ours: (InvoiceType, Cents),
    },
    /// The invoices of one type add up to different sums.
    InvoiceSum {
        kind: InvoiceType,
        vtex: Cents,
        ours: Cents,
    },
    /// VTEX holds the tracking number we recorded *Pending* on this invoice: the PATCH landed.
    TrackingPendingHere {
        number: String,
        tracking: String,
    },
    /// The invoice's tracking number differs (either side may have none).
    Tracking {
        number: String,
        vtex: Option<String>,
        ours: Option<String>,
    },
}

/// A safe repair of a [`Drift`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heal {
    MarkInvoiceSent { number: String },
    MarkTrackingSent { number: String },
}

impl Drift {
    /// Stable machine code (log detail, tests).
    pub fn code(&self) -> &'static str {
        match self {
            Drift::MissingAtVtex => "MISSING_AT_VTEX",
            Drift::CanceledAtVtex { .. } => "CANCELED_AT_VTEX",
            Drift::Status { .. } => "STATUS",
            Drift::Value { .. } => "VALUE",
            Drift::InvoicePendingHere { .. } => "INVOICE_PENDING_HERE",
            Drift::InvoiceUnknownHere { .. } => "INVOICE_UNKNOWN_HERE",
            Drift::InvoiceMissingAtVtex { .. } => "INVOICE_MISSING_AT_VTEX",
            Drift::InvoiceDiffers { .. } => "INVOICE_DIFFERS",
            Drift::InvoiceSum { .. } => "INVOICE_SUM",
            Drift::TrackingPendingHere { .. } => "TRACKING_PENDING_HERE",
            Drift::Tracking { .. } => "TRACKING",
        }
    }

    /// The repair, when one is safe (see the module docs for why the others are not).
    pub fn heal(&self) -> Option<Heal> {
        match self {
            Drift::InvoicePendingHere { number, .. } => Some(Heal::MarkInvoiceSent {
                number: number.clone(),
            }),
            Drift::TrackingPendingHere { number, .. } => Some(Heal::MarkTrackingSent {
                number: number.clone(),
            }),
            _ => None,
        }
    }

    /// Why it is left to an operator, for the log.
    fn left_because(&self) -> &'static str {
        match self {
            Drift::CanceledAtVtex { ours, .. } if ours.holds_stock() => {
                "not healed: cancelling here releases the stock held and tells the ERP; check the cancellation at VTEX, then cancel"
            }
            Drift::CanceledAtVtex { .. } => "not healed: the order is already invoiced here",
            Drift::Value { .. } => "not healed: invoices are checked against our value",
            Drift::InvoiceUnknownHere { .. } => "not healed: we cannot tell what it bills",
            Drift::InvoiceMissingAtVtex { .. } => {
                "not healed: re-drive the ERP's invoice message to send it again"
            }
            Drift::InvoiceDiffers { .. } => "not healed: the ERP must settle the fiscal document",
            _ => "not healed",
        }
    }
}

fn kind_name(k: Option<InvoiceType>) -> &'static str {
    k.map(InvoiceType::as_str).unwrap_or("unknown type")
}

fn or_none(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("none")
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Drift::MissingAtVtex => write!(f, "VTEX has no such order"),
            Drift::CanceledAtVtex { vtex, ours } => {
                write!(f, "status: VTEX {vtex}, ours {ours}")
            }
            Drift::Status { vtex, ours } => write!(f, "status: VTEX {vtex}, ours {ours}"),
            Drift::Value { vtex, ours } => {
                write!(f, "order value: VTEX {vtex} cents, ours {ours} cents")
            }
            Drift::InvoicePendingHere { number, value } => write!(
                f,
                "invoice {number} ({value} cents): VTEX holds it, we recorded it Pending"
            ),
            Drift::InvoiceUnknownHere {
                number,
                value,
                refused_here,
            } => write!(
                f,
                "invoice {number} ({value} cents): VTEX holds it, {}",
                if *refused_here {
                    "we recorded it refused"
                } else {
                    "we have no record of it"
                }
            ),
            Drift::InvoiceMissingAtVtex { number, value } => write!(
                f,
                "invoice {number} ({value} cents): sent, VTEX does not hold it"
            ),
            Drift::InvoiceDiffers { number, vtex, ours } => write!(
                f,
                "invoice {number}: VTEX {} {} cents, ours {} {} cents",
                kind_name(vtex.0),
                vtex.1,
                ours.0.as_str(),
                ours.1
            ),
            Drift::InvoiceSum { kind, vtex, ours } => write!(
                f,
                "{} invoices add up to {vtex} cents at VTEX, {ours} cents here",
                kind.as_str()
            ),
            Drift::TrackingPendingHere { number, tracking } => write!(
                f,
                "tracking {tracking} on invoice {number}: VTEX holds it, we recorded it Pending"
            ),
            Drift::Tracking { number, vtex, ours } => write!(
                f,
                "tracking on invoice {number}: VTEX {}, ours {}",
                or_none(vtex),
                or_none(ours)
            ),
        }
    }
}

/// Where our side stands, as far as OMS statuses can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Authorized, not (fully) invoiced.
    Open,
    PartiallyInvoiced,
    Invoiced,
    Canceled,
}

/// OMS statuses by the stage they mean; `None` for statuses that say nothing we compare
/// (`payment-pending`, an unknown name).
fn vtex_stage(status: &str) -> Option<Stage> {
    match status {
        s if crate::outbound::is_canceled(s) => Some(Stage::Canceled),
        "invoiced" | "invoice" => Some(Stage::Invoiced),
        "partial-invoiced" => Some(Stage::PartiallyInvoiced),
        "payment-approved"
        | "approve-payment"
        | "authorize-fulfillment"
        | "window-to-cancel"
        | "ready-for-handling"
        | "start-handling"
        | "handling"
        | "waiting-for-seller-decision"
        | "waiting-ffmt-authorization"
        | "waiting-for-fulfillment" => Some(Stage::Open),
        _ => None,
    }
}

/// The orders reconciliation reads: authorized, partially invoiced, invoiced but not delivered.
pub fn is_open(status: OrderStatus) -> bool {
    matches!(
        status,
        OrderStatus::Authorized
            | OrderStatus::PartiallyInvoiced
            | OrderStatus::Invoiced
            | OrderStatus::Shipped
    )
}

fn non_blank(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Every difference between `vtex` and what we hold (`order`, its invoice `records`), in a stable
/// order: status, value, per invoice (VTEX's order, then ours), sums, tracking.
pub fn compare(order: &Order, records: &[InvoiceRecord], vtex: &OmsOrderView) -> Vec<Drift> {
    let mut drifts = Vec::new();
    let ours_by_number: BTreeMap<&str, &InvoiceRecord> =
        records.iter().map(|r| (r.number(), r)).collect();
    let vtex_numbers: Vec<&str> = vtex
        .packages
        .iter()
        .map(|p| p.invoice_number.as_str())
        .collect();

    let mut invoice_drifts = Vec::new();
    let mut tracking_drifts = Vec::new();
    // The records as they stand once the safe heals are applied: the status and the sums compare
    // against those, so a healed invoice does not also show as a status or sum difference.
    let mut settled: Vec<InvoiceRecord> = records.to_vec();
    for p in &vtex.packages {
        let Some(r) = ours_by_number.get(p.invoice_number.as_str()) else {
            invoice_drifts.push(Drift::InvoiceUnknownHere {
                number: p.invoice_number.clone(),
                value: p.invoice_value,
                refused_here: false,
            });
            continue;
        };
        let same = r.invoice.invoice_value == p.invoice_value
            && p.kind.is_none_or(|k| k == r.invoice.kind);
        if !same {
            invoice_drifts.push(Drift::InvoiceDiffers {
                number: p.invoice_number.clone(),
                vtex: (p.kind, p.invoice_value),
                ours: (r.invoice.kind, r.invoice.invoice_value),
            });
            continue;
        }
        match r.state {
            SendState::Rejected => {
                invoice_drifts.push(Drift::InvoiceUnknownHere {
                    number: p.invoice_number.clone(),
                    value: p.invoice_value,
                    refused_here: true,
                });
                continue;
            }
            SendState::Pending => {
                invoice_drifts.push(Drift::InvoicePendingHere {
                    number: p.invoice_number.clone(),
                    value: p.invoice_value,
                });
                if let Some(s) = settled.iter_mut().find(|s| s.number() == r.number()) {
                    s.mark_sent("reconciled", s.updated_at);
                }
            }
            SendState::Sent => {}
        }
        if r.invoice.kind == InvoiceType::Output
            && let Some(d) = tracking_drift(r, p)
        {
            if let (Drift::TrackingPendingHere { .. }, Some(s)) =
                (&d, settled.iter_mut().find(|s| s.number() == r.number()))
                && let Some(t) = s.tracking.as_mut()
            {
                t.state = SendState::Sent;
            }
            tracking_drifts.push(d);
        }
    }
    for r in records {
        if r.state == SendState::Sent && !vtex_numbers.contains(&r.number()) {
            invoice_drifts.push(Drift::InvoiceMissingAtVtex {
                number: r.number().to_string(),
                value: r.invoice.invoice_value,
            });
        }
    }

    let ours_after = invoicing::derive_status(order, &settled);
    if let Some(stage) = vtex_stage(&vtex.status) {
        let agrees = match ours_after {
            OrderStatus::Authorized => stage == Stage::Open,
            // OMS may keep a partially invoiced order in handling.
            OrderStatus::PartiallyInvoiced => {
                matches!(stage, Stage::Open | Stage::PartiallyInvoiced)
            }
            OrderStatus::Invoiced | OrderStatus::Shipped | OrderStatus::Delivered => {
                stage == Stage::Invoiced
            }
            OrderStatus::Canceled => stage == Stage::Canceled,
            // Returns and orders not (or no longer) authorized have no OMS stage to compare.
            OrderStatus::Returned | OrderStatus::Reserved | OrderStatus::Expired => true,
        };
        if !agrees {
            drifts.push(if stage == Stage::Canceled {
                Drift::CanceledAtVtex {
                    vtex: vtex.status.clone(),
                    ours: ours_after,
                }
            } else {
                Drift::Status {
                    vtex: vtex.status.clone(),
                    ours: ours_after,
                }
            });
        }
    }
    if let Some(v) = vtex.value
        && v != order.total()
    {
        drifts.push(Drift::Value {
            vtex: v,
            ours: order.total(),
        });
    }
    drifts.extend(invoice_drifts);
    for kind in [InvoiceType::Output, InvoiceType::Input] {
        let theirs: Cents = vtex
            .packages
            .iter()
            .filter(|p| p.kind == Some(kind))
            .map(|p| p.invoice_value)
            .sum();
        let ours: Cents = settled
            .iter()
            .filter(|r| r.state == SendState::Sent && r.invoice.kind == kind)
            .map(|r| r.invoice.invoice_value)
            .sum();
        if theirs != ours {
            drifts.push(Drift::InvoiceSum {
                kind,
                vtex: theirs,
                ours,
            });
        }
    }
    drifts.extend(tracking_drifts);
    drifts
}

/// The tracking difference on one sale invoice both sides hold, if any. Tracking we hold
/// *Pending* that VTEX lacks is a PATCH in flight (the dispatcher's), not a drift.
fn tracking_drift(r: &InvoiceRecord, p: &OmsPackage) -> Option<Drift> {
    let theirs = non_blank(p.tracking_number.as_deref());
    let number = r.number().to_string();
    match r.tracking.as_ref() {
        Some(t) if t.state == SendState::Sent => {
            let ours = non_blank(Some(&t.info.tracking_number));
            (ours != theirs).then_some(Drift::Tracking {
                number,
                vtex: theirs,
                ours,
            })
        }
        Some(t) if t.state == SendState::Pending => {
            let ours = non_blank(Some(&t.info.tracking_number));
            match theirs {
                Some(x) if Some(&x) == ours.as_ref() => Some(Drift::TrackingPendingHere {
                    number,
                    tracking: x,
                }),
                Some(x) => Some(Drift::Tracking {
                    number,
                    vtex: Some(x),
                    ours,
                }),
                None => None,
            }
        }
        _ => theirs.map(|x| Drift::Tracking {
            number,
            vtex: Some(x),
            ours: None,
        }),
    }
}

/// What the run reads and how fast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconcileSettings {
    /// Orders created less than this long ago are left alone (their messages may be in flight).
    pub min_age: chrono::Duration,
    /// Orders created longer ago than this are no longer read (`None`: all).
    pub lookback: Option<chrono::Duration>,
    /// At least this long between two OMS reads.
    pub pace: Duration,
    /// The slowest a run slows down to after `429`s.
    pub max_pace: Duration,
}

impl Default for ReconcileSettings {
    fn default() -> Self {
        ReconcileSettings {
            min_age: chrono::Duration::hours(1),
            lookback: Some(chrono::Duration::days(90)),
            pace: Duration::from_millis(200),
            max_pace: Duration::from_secs(5),
        }
    }
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Stop {
    /// Every open order past the minimum age was read; the cursor is cleared.
    #[default]
    Finished,
    /// The deadline came first; the next run resumes at the stored cursor.
    OutOfTime,
    /// VTEX kept answering 429.
    Throttled,
    /// VTEX kept failing (5xx, timeouts).
    VtexUnavailable,
}

/// What one run did (the handler turns it into metrics; the invocation answers it).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileReport {
    /// Orders read from OMS and compared.
    pub checked: usize,
    /// Orders with at least one drift (healed or not).
    pub drifted: usize,
    /// Drifts found, per [`Drift::code`].
    pub drifts: BTreeMap<&'static str, usize>,
    /// Heals applied.
    pub healed: usize,
    /// Orders still differing from VTEX after the heals.
    pub unhealed: usize,
    /// OMS reads answered 429.
    pub throttled: usize,
    /// Orders that could not be read or compared (VTEX unavailable or refusing, store trouble on
    /// one order); read again on a later run.
    pub errors: usize,
    /// Orders not read because their account is not registered or disabled (the marketplace
    /// registry), or its name is unusable: never read with another account's credentials.
    pub skipped: usize,
    pub stop: Stop,
}

/// The reconciliation service, built once by the composition root.
#[derive(Clone)]
pub struct Reconciler {
    pub listing: Arc<dyn OrderListing>,
    pub orders: Arc<dyn OrderStore>,
    pub invoices: Arc<dyn InvoiceStore>,
    pub oms: Arc<dyn OmsOrders>,
    pub progress: Arc<dyn ReconcileProgress>,
    pub clock: Arc<dyn Clock>,
    pub pause: Arc<dyn Pause>,
    pub settings: ReconcileSettings,
}

/// One order's OMS read, once throttling is dealt with.
enum Read {
    /// VTEX's view, `None` when OMS has no such order.
    View(Option<OmsOrderView>),
    /// 5xx, timeout: counts toward stopping the run.
    Unavailable,
    /// Refused by VTEX: this order only.
    Failed,
    /// The call could not be built: the order's account is not registered, disabled, or not a
    /// valid account name. Nothing was sent; not VTEX's trouble.
    Skipped,
}

/// Consecutive unavailable answers that stop a run.
const MAX_UNAVAILABLE_IN_A_ROW: u32 = 3;

impl Reconciler {
    /// One run, reading no OMS order once `deadline` has passed. `Err` only when the listing or
    /// the cursor could not be read or written (nothing more can be done this run).
    pub async fn run(&self, deadline: DateTime<Utc>) -> Result<ReconcileReport, StoreError> {
        let mut report = ReconcileReport::default();
        let now = self.clock.now();
        let filter = OrderFilter {
            created_to: Some(now - self.settings.min_age),
            created_from: self.settings.lookback.map(|l| now - l),
            ..OrderFilter::default()
        };
        let start = self.progress.load_cursor().await?;
        let mut cursor = start.clone();
        let mut pace = self.settings.pace;
        let mut last_read: Option<DateTime<Utc>> = None;
        let mut unavailable_in_a_row = 0u32;
        'pages: loop {
            // Closed orders cost no OMS read, but paging through many of them takes time too.
            if self.clock.now() >= deadline {
                report.stop = Stop::OutOfTime;
                break;
            }
            let page = match self
                .listing
                .list_orders(&filter, cursor.as_ref(), MAX_PAGE)
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    // Keep what this run got through: the next one resumes after it.
                    if cursor != start
                        && let Err(save) = self.progress.save_cursor(cursor.as_ref()).await
                    {
                        tracing::warn!(error = %save, "reconciliation cursor not saved");
                    }
                    return Err(e);
                }
            };
            for order in &page.orders {
                if !is_open(order.status) {
                    cursor = Some(Cursor::after(order));
                    continue;
                }
                let mut throttled_in_a_row = 0u32;
                let read = loop {
                    if let Some(at) = last_read {
                        let due = at + chrono_of(pace);
                        let now = self.clock.now();
                        if due > now {
                            if due >= deadline {
                                report.stop = Stop::OutOfTime;
                                break 'pages;
                            }
                            self.pause.pause(std_of(due - now)).await;
                        }
                    }
                    if self.clock.now() >= deadline {
                        report.stop = Stop::OutOfTime;
                        break 'pages;
                    }
                    last_read = Some(self.clock.now());
                    let read = self
                        .oms
                        .get_order(order.account(), &order.marketplace_order_id)
                        .await;
                    match read {
                        Ok(OmsRead::Throttled { retry_after }) => {
                            report.throttled += 1;
                            throttled_in_a_row += 1;
                            pace = (pace * 2).min(self.settings.max_pace).max(pace);
                            let wait = retry_after.unwrap_or(pace);
                            let until = self.clock.now() + chrono_of(wait);
                            tracing::warn!(
                                order_id = %order.order_id,
                                wait_ms = wait.as_millis() as u64,
                                pace_ms = pace.as_millis() as u64,
                                "VTEX throttled the reconciliation"
                            );
                            if throttled_in_a_row >= 2 || until >= deadline {
                                report.stop = Stop::Throttled;
                                break 'pages;
                            }
                            self.pause.pause(wait).await;
                            // VTEX's wait is the pause before the retry; the slower pace applies after it.
                            last_read = None;
                        }
                        Ok(OmsRead::Found(v)) => break Read::View(Some(v)),
                        Ok(OmsRead::NotFound) => break Read::View(None),
                        Ok(OmsRead::Unavailable { reason }) => {
                            tracing::warn!(order_id = %order.order_id, reason, "OMS order not read");
                            break Read::Unavailable;
                        }
                        Ok(OmsRead::Refused { status, body }) => {
                            tracing::warn!(order_id = %order.order_id, status, body, "VTEX refused the order read");
                            break Read::Failed;
                        }
                        Err(e) => {
                            tracing::warn!(order_id = %order.order_id, error = %e, "OMS order not read: its account is not usable");
                            break Read::Skipped;
                        }
                    }
                };
                match read {
                    Read::Unavailable => {
                        report.errors += 1;
                        unavailable_in_a_row += 1;
                        if unavailable_in_a_row >= MAX_UNAVAILABLE_IN_A_ROW {
                            report.stop = Stop::VtexUnavailable;
                            break 'pages;
                        }
                    }
                    Read::Failed => {
                        unavailable_in_a_row = 0;
                        report.errors += 1;
                    }
                    Read::Skipped => report.skipped += 1,
                    Read::View(view) => {
                        unavailable_in_a_row = 0;
                        match self.check(order, view.as_ref(), &mut report).await {
                            Ok(()) => report.checked += 1,
                            Err(e) => {
                                report.errors += 1;
                                tracing::warn!(order_id = %order.order_id, error = %e, "order not reconciled");
                            }
                        }
                    }
                }
                cursor = Some(Cursor::after(order));
            }
            if page.next.is_none() {
                cursor = None;
                break;
            }
            if let Some(next) = page.next {
                cursor = Some(next);
            }
        }
        if cursor != start {
            self.progress.save_cursor(cursor.as_ref()).await?;
        }
        Ok(report)
    }

    /// Compares one order with VTEX's view (`None`: OMS has no such order), logs and heals.
    async fn check(
        &self,
        order: &Order,
        vtex: Option<&OmsOrderView>,
        report: &mut ReconcileReport,
    ) -> Result<(), StoreError> {
        let records = self.invoices.list_by_order(&order.order_id).await?;
        let drifts = match vtex {
            Some(v) => compare(order, &records, v),
            None => vec![Drift::MissingAtVtex],
        };
        let log = self.orders.read_log(&order.order_id).await?;
        let last = log.iter().rev().find(|e| e.step == steps::DRIFT);
        let heals: Vec<Heal> = drifts.iter().filter_map(Drift::heal).collect();
        let left = drifts.iter().filter(|d| d.heal().is_none()).count();
        if !drifts.is_empty() {
            report.drifted += 1;
            for d in &drifts {
                *report.drifts.entry(d.code()).or_default() += 1;
            }
            let detail = describe(&drifts);
            let repeated = last.is_some_and(|e| e.outcome == Outcome::Alert && e.detail == detail);
            if !repeated {
                self.log(&order.order_id, steps::DRIFT, Outcome::Alert, detail)
                    .await;
            }
        }
        for heal in &heals {
            self.heal(order, heal).await?;
            report.healed += 1;
        }
        if !heals.is_empty() {
            self.sync_status(order).await?;
        }
        if left > 0 {
            report.unhealed += 1;
        } else if !heals.is_empty() || last.is_some_and(|e| e.outcome == Outcome::Alert) {
            let detail = if heals.is_empty() {
                "VTEX and our records agree again".to_string()
            } else {
                "healed; VTEX and our records agree".to_string()
            };
            self.log(&order.order_id, steps::DRIFT, Outcome::Success, detail)
                .await;
        }
        Ok(())
    }

    async fn heal(&self, order: &Order, heal: &Heal) -> Result<(), StoreError> {
        let (number, what) = match heal {
            Heal::MarkInvoiceSent { number } => (number, "invoice"),
            Heal::MarkTrackingSent { number } => (number, "tracking"),
        };
        let mut tries = Retries::new("invoice record kept changing while healing it");
        loop {
            tries.take()?;
            let Some(mut rec) = self.invoices.get(&order.order_id, number).await? else {
                return Err(StoreError::Corrupt("invoice record vanished".into()));
            };
            let now = self.clock.now();
            let changed = match heal {
                Heal::MarkInvoiceSent { .. } if rec.state == SendState::Pending => {
                    rec.mark_sent("(reconciled with OMS)", now);
                    true
                }
                Heal::MarkTrackingSent { .. } => match rec.tracking.as_mut() {
                    Some(t) if t.state == SendState::Pending => {
                        t.state = SendState::Sent;
                        rec.updated_at = now;
                        true
                    }
                    _ => false,
                },
                _ => false,
            };
            if !changed {
                // Someone (the dispatcher) recorded it meanwhile.
                return Ok(());
            }
            // Pending and sent both count toward the order's sums: nothing moves there.
            match self.invoices.save(&rec, Tally::Keep).await? {
                RecordSave::Saved(_) => {
                    self.log(
                        &order.order_id,
                        steps::HEAL,
                        Outcome::Success,
                        format!("{what} on invoice {number} marked Sent: VTEX holds it"),
                    )
                    .await;
                    return Ok(());
                }
                RecordSave::Conflict | RecordSave::OverLimit { .. } => continue,
            }
        }
    }

    /// Brings the order's status (and stock) in line with its acknowledged invoices, as the
    /// dispatcher does after an acknowledged call.
    async fn sync_status(&self, order: &Order) -> Result<(), StoreError> {
        let mut tries = Retries::new("order kept changing while updating its status");
        let mut current = order.clone();
        loop {
            tries.take()?;
            let records = self.invoices.list_by_order(&current.order_id).await?;
            let Some((updated, effect)) = invoicing::status_update(&current, &records) else {
                return Ok(());
            };
            match self.orders.save(&updated, effect).await? {
                SaveOutcome::Saved(saved) => {
                    self.log(
                        &current.order_id,
                        steps::STATUS,
                        Outcome::Success,
                        format!(
                            "order {} → {} (stock: {effect:?})",
                            current.status, saved.status
                        ),
                    )
                    .await;
                    return Ok(());
                }
                SaveOutcome::Conflict => {
                    current = self
                        .orders
                        .get(&current.order_id)
                        .await?
                        .ok_or_else(|| StoreError::Corrupt("order vanished".into()))?;
                }
            }
        }
    }

    async fn log(&self, order_id: &str, step: &str, outcome: Outcome, detail: String) {
        let entry = LogEntry::new(self.clock.now(), step, outcome, detail);
        if let Err(e) = self.orders.append_log(order_id, &entry).await {
            // The log is best effort; the bookkeeping that matters is already written.
            tracing::warn!(order_id, error = %e, "order log append failed");
        }
    }
}

/// The Alert's detail: every drift, and for each what happens to it.
pub fn describe(drifts: &[Drift]) -> String {
    let parts: Vec<String> = drifts
        .iter()
        .map(|d| match d.heal() {
            Some(_) => format!("{d} (healed: marked Sent)"),
            None => format!("{d} ({})", d.left_because()),
        })
        .collect();
    format!("differs from VTEX: {}", parts.join("; "))
}

fn chrono_of(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

fn std_of(d: chrono::Duration) -> Duration {
    d.to_std().unwrap_or(Duration::ZERO)
}

/// In-memory [`ReconcileProgress`] (tests; feature `test-support`).
#[cfg(any(test, feature = "test-support"))]
#[derive(Debug, Clone, Default)]
pub struct MemoryProgress(Arc<std::sync::Mutex<Option<Cursor>>>);

#[cfg(any(test, feature = "test-support"))]
#[async_trait]
impl ReconcileProgress for MemoryProgress {
    async fn load_cursor(&self) -> Result<Option<Cursor>, StoreError> {
        Ok(self.0.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    async fn save_cursor(&self, cursor: Option<&Cursor>) -> Result<(), StoreError> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = cursor.cloned();
        Ok(())
    }
}

/// A [`Pause`] that moves a [`crate::clock::ManualClock`] instead of waiting (tests).
#[cfg(any(test, feature = "test-support"))]
pub struct ClockPause(pub Arc<crate::clock::ManualClock>);

#[cfg(any(test, feature = "test-support"))]
#[async_trait]
impl Pause for ClockPause {
    async fn pause(&self, d: Duration) {
        self.0.advance(chrono_of(d));
    }
}

#[cfg(any(test, feature = "test-support"))]
pub mod contract;
