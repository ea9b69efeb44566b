//! Coalescing of VTEX catalog notifications (shared/docs/protocol.md §Catalog notifications): a
//! burst of changes to one SKU produces a handful of notifications, not one per change, while the
//! catalog store is always written at once.
//!
//! Per SKU and notification kind (price, inventory, catalog) the store keeps a [`KindState`]:
//! - `changes` counts the writes that call for a notification, `notified` is the `changes` value
//!   the last accepted notification covered; `changes > notified` means one is pending;
//! - `lastSentAt` opens a window (default 60 s) during which no new notification is sent;
//! - `followupDue` says a follow-up (`notify.due` message) is scheduled to send the pending one
//!   when the window closes; at most one is outstanding.
//!
//! A change (after its store write): count it, then
//! - a follow-up is outstanding → nothing to do, it will cover this change;
//! - outside the window → send now;
//! - inside the window → schedule the follow-up for the end of the window.
//!
//! A follow-up at or after its due time: nothing pending → done; window reopened by another
//! send → wait; otherwise send, covering every change counted so far. A change counted while the
//! send was in flight keeps the notification pending, and the follow-up reschedules itself.
//! Every decision is taken on the state as written by one conditional write ([`update`]), so no
//! change is ever left without a notification that covers it; at worst two senders race and VTEX
//! hears twice. A follow-up lost for good (parked in the DLQ) stops blocking after
//! [`Coalescing::followup_grace`].

use crate::catalog::SkuId;
use crate::ports::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// One notification sent to every marketplace that sells the SKU ([`crate::marketplaces`]), as one
/// outcome for the coalescing above: accepted when every marketplace took it (or none sells the
/// SKU); retryable when any one must be tried again (after the longest `Retry-After` any gave);
/// else refused when any refused, each refusal named by its account. The marketplaces that took
/// it are not asked again on the retry while their own window lasts (the fan-out remembers them).
pub fn combine_marketplaces(
    outcomes: Vec<(String, crate::outbound::CatalogOutcome)>,
) -> crate::outbound::CatalogOutcome {
    use crate::outbound::CatalogOutcome;
    let mut retry: Option<(Option<std::time::Duration>, Vec<String>)> = None;
    let mut refused: Vec<(u16, String)> = Vec::new();
    let mut accepted = None;
    for (account, outcome) in outcomes {
        match outcome {
            CatalogOutcome::Accepted { status } => accepted = accepted.or(Some(status)),
            CatalogOutcome::Retryable {
                retry_after,
                reason,
            } => {
                let (after, reasons) = retry.get_or_insert((None, Vec::new()));
                *after = (*after).max(retry_after);
                reasons.push(format!("{account}: {reason}"));
            }
            CatalogOutcome::NotFound { body } => {
                refused.push((404, format!("{account}: 404 {body}")));
            }
            CatalogOutcome::Rejected { status, body } => {
                refused.push((status, format!("{account}: {status} {body}")));
            }
        }
    }
    if let Some((retry_after, reasons)) = retry {
        return CatalogOutcome::Retryable {
            retry_after,
            reason: reasons.join("; "),
        };
    }
    if let Some((status, _)) = refused.first() {
        return CatalogOutcome::Rejected {
            status: *status,
            body: refused
                .iter()
                .map(|(_, b)| b.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        };
    }
    CatalogOutcome::Accepted {
        status: accepted.unwrap_or(204),
    }
}

/// Which VTEX notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyKind {
    /// Notificator `…/changenotification/{sku}/price` (§Notificator).
    Price,
    /// Notificator `…/changenotification/{sku}/inventory` (§Notificator).
    Inventory,
    /// Catalog change notification, and a suggestion when the marketplace answers 404
    /// (§Change notification, §SKU suggestion).
    Catalog,
}

impl NotifyKind {
    pub const ALL: [NotifyKind; 3] = [
        NotifyKind::Price,
        NotifyKind::Inventory,
        NotifyKind::Catalog,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotifyKind::Price => "price",
            NotifyKind::Inventory => "inventory",
            NotifyKind::Catalog => "catalog",
        }
    }
}

impl std::fmt::Display for NotifyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The window and the follow-up grace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coalescing {
    /// No two notifications of one SKU and kind closer than this.
    pub window: Duration,
    /// A scheduled follow-up that has not run this long after its due time is presumed lost.
    pub followup_grace: Duration,
}

impl Default for Coalescing {
    fn default() -> Self {
        Coalescing {
            window: Duration::seconds(60),
            followup_grace: Duration::minutes(15),
        }
    }
}

/// Notification bookkeeping of one SKU and kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KindState {
    #[serde(default)]
    pub changes: u64,
    #[serde(default)]
    pub notified: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sent_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followup_due: Option<DateTime<Utc>>,
}

/// What a change does once it is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterChange {
    /// Send now; on success record that it covered changes up to `covers`.
    SendNow { covers: u64 },
    /// A follow-up is already scheduled for `due`; it covers this change.
    Covered { due: DateTime<Utc> },
    /// Inside the window: schedule a follow-up for `due` (the end of the window).
    Schedule { due: DateTime<Utc> },
}

/// What a follow-up does when it is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUpStep {
    /// Come back at `until` (not due yet, or another send reopened the window).
    Wait { until: DateTime<Utc> },
    /// Nothing pending any more: clear the follow-up and stop.
    Nothing,
    /// Send now, covering changes up to `covers`.
    Send { covers: u64 },
}

/// What a follow-up does after its send was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUpEnd {
    Done,
    /// Changes arrived during the send: a new follow-up for `due` takes over.
    Reschedule {
        due: DateTime<Utc>,
    },
}

impl KindState {
    pub fn pending(&self) -> bool {
        self.changes > self.notified
    }

    fn window_end(&self, c: &Coalescing) -> Option<DateTime<Utc>> {
        self.last_sent_at.map(|t| t + c.window)
    }

    /// The scheduled follow-up, unless it is presumed lost.
    fn live_followup(&self, now: DateTime<Utc>, c: &Coalescing) -> Option<DateTime<Utc>> {
        self.followup_due
            .filter(|due| now < *due + c.followup_grace)
    }

    /// Counts a change (its store write is done) and decides what it does.
    pub fn record_change(&mut self, now: DateTime<Utc>, c: &Coalescing) -> AfterChange {
        self.count_change();
        self.decide(now, c)
    }

    /// Counts a change about to be written: the intent, recorded before the store write, so a
    /// crash after the write still leaves the notification owed ([`KindState::pending`]).
    pub fn count_change(&mut self) {
        self.changes += 1;
    }

    /// What the changes counted so far call for now: left to a live follow-up, a follow-up at the
    /// end of the window, or a send covering every counted change.
    pub fn decide(&self, now: DateTime<Utc>, c: &Coalescing) -> AfterChange {
        if let Some(due) = self.live_followup(now, c) {
            return AfterChange::Covered { due };
        }
        match self.window_end(c) {
            Some(end) if now < end => AfterChange::Schedule { due: end },
            _ => AfterChange::SendNow {
                covers: self.changes,
            },
        }
    }

    /// Records a follow-up scheduled for `due`, unless a live one is already there.
    pub fn scheduled(&mut self, due: DateTime<Utc>, now: DateTime<Utc>, c: &Coalescing) {
        if self.live_followup(now, c).is_none() {
            self.followup_due = Some(due);
        }
    }

    /// Records an accepted notification covering changes up to `covers`.
    pub fn sent(&mut self, covers: u64, at: DateTime<Utc>) {
        self.notified = self.notified.max(covers);
        self.last_sent_at = Some(self.last_sent_at.map_or(at, |t| t.max(at)));
    }

    /// What the follow-up due at `due` does now.
    pub fn followup_step(
        &self,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
        c: &Coalescing,
    ) -> FollowUpStep {
        if now < due {
            return FollowUpStep::Wait { until: due };
        }
        if !self.pending() {
            return FollowUpStep::Nothing;
        }
        match self.window_end(c) {
            Some(end) if now < end => FollowUpStep::Wait { until: end },
            _ => FollowUpStep::Send {
                covers: self.changes,
            },
        }
    }

    /// Records the follow-up's accepted send; keeps a follow-up scheduled if changes arrived since.
    pub fn followup_sent(
        &mut self,
        covers: u64,
        now: DateTime<Utc>,
        c: &Coalescing,
    ) -> FollowUpEnd {
        self.sent(covers, now);
        if self.pending() {
            let due = now + c.window;
            self.followup_due = Some(due);
            FollowUpEnd::Reschedule { due }
        } else {
            self.followup_due = None;
            FollowUpEnd::Done
        }
    }

    /// The follow-up ends without a send (nothing pending, or VTEX refused it for good).
    pub fn followup_finished(&mut self) {
        self.followup_due = None;
    }
}

/// Notification bookkeeping of one SKU, all kinds. Stored as one record per SKU.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncState {
    #[serde(default)]
    pub price: KindState,
    #[serde(default)]
    pub inventory: KindState,
    #[serde(default)]
    pub catalog: KindState,
}

impl SyncState {
    pub fn kind(&self, kind: NotifyKind) -> &KindState {
        match kind {
            NotifyKind::Price => &self.price,
            NotifyKind::Inventory => &self.inventory,
            NotifyKind::Catalog => &self.catalog,
        }
    }

    pub fn kind_mut(&mut self, kind: NotifyKind) -> &mut KindState {
        match kind {
            NotifyKind::Price => &mut self.price,
            NotifyKind::Inventory => &mut self.inventory,
            NotifyKind::Catalog => &mut self.catalog,
        }
    }
}

/// A stored [`SyncState`] and its version (0: never written).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Versioned {
    pub state: SyncState,
    pub version: u64,
}

/// Port: the per-SKU notification bookkeeping, beside the catalog. Adapters:
/// `MemorySyncStates` (feature `test-support`), `aws_adapters::dynamo::DynamoSyncStates` (items `SYNC#{sku}` in the
/// catalog table), `embedded_store` (table `catalog_sync`). All pass
/// `contract` (`connector_tests::sync_state_contract_tests!`).
#[async_trait]
pub trait SyncStateStore: Send + Sync {
    /// The SKU's state (default, version 0, when none was written), read consistently.
    async fn get_sync_state(&self, sku_id: &str) -> Result<Versioned, StoreError>;

    /// Writes `state` as version `expected + 1` if the stored version is still `expected` (0:
    /// only if none exists). `false` when someone else wrote first; nothing was written then.
    async fn put_sync_state(
        &self,
        sku_id: &str,
        state: &SyncState,
        expected: u64,
    ) -> Result<bool, StoreError>;
}

/// Attempts of [`update`] before giving up with `Unavailable`.
const MAX_UPDATE_ATTEMPTS: u32 = 25;

/// Applies `change` to the SKU's state with a conditional write, re-reading and re-applying on a
/// conflict. Returns what `change` returned on the state that was written (or that needed no
/// write), and that state.
pub async fn update<T>(
    store: &dyn SyncStateStore,
    sku_id: &str,
    mut change: impl FnMut(&mut SyncState) -> T,
) -> Result<(T, SyncState), StoreError> {
    for _ in 0..MAX_UPDATE_ATTEMPTS {
        let current = store.get_sync_state(sku_id).await?;
        let mut next = current.state.clone();
        let out = change(&mut next);
        if next == current.state {
            return Ok((out, next));
        }
        if store.put_sync_state(sku_id, &next, current.version).await? {
            return Ok((out, next));
        }
    }
    Err(StoreError::Unavailable(format!(
        "notification state of SKU {sku_id} kept changing under concurrent writes"
    )))
}

// ---------------------------------------------------------------------------------------------
// Follow-up messages

/// The internal `notify.due` message: send the pending `kind` notification of `sku_id` at `due`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyDue {
    pub sku_id: SkuId,
    pub kind: NotifyKind,
    pub due: DateTime<Utc>,
}

impl NotifyDue {
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "type": "notify.due",
            "version": crate::catalog_messages::CURRENT_VERSION,
            "skuId": self.sku_id,
            "kind": self.kind,
            "due": self.due,
        })
        .to_string()
    }

    /// FIFO message group: one per SKU and kind, apart from the SKU's own data messages, so a
    /// waiting follow-up never holds up the SKU's next change. SQS allows letters, digits and
    /// punctuation up to 128 characters; anything else is replaced (two SKUs sharing a group only
    /// wait for each other).
    pub fn group_id(&self) -> String {
        let safe: String = self
            .sku_id
            .chars()
            .map(|c| if c.is_ascii_graphic() { c } else { '_' })
            .take(100)
            .collect();
        format!("notify-{}-{safe}", self.kind)
    }

    /// De-duplication id: the same follow-up scheduled twice within SQS's 5-minute window is
    /// enqueued once.
    pub fn dedup_id(&self) -> String {
        format!(
            "notify-{}-{}-{:016x}",
            self.kind,
            self.due.timestamp_millis(),
            fnv1a(self.sku_id.as_bytes())
        )
    }
}

/// FNV-1a: a stable hash (the standard library's may change between releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Port: enqueues follow-ups on the catalog queue. Adapters: `aws_adapters::catalog_queue`
/// (SQS), `embedded_store::catalog_sync` (the local queue), `MemoryFollowUps` (feature `test-support`).
#[async_trait]
pub trait FollowUpQueue: Send + Sync {
    /// Enqueues `followup`, to be delivered not before `delay` from now where the queue supports
    /// per-message delays (a FIFO queue delivers at once; the follow-up then waits by itself).
    async fn schedule(
        &self,
        followup: &NotifyDue,
        delay: std::time::Duration,
    ) -> Result<(), StoreError>;
}
mod listing;
pub use listing::*;

#[cfg(any(test, feature = "test-support"))]
mod memory;
#[cfg(any(test, feature = "test-support"))]
pub use memory::*;

#[cfg(any(test, feature = "test-support"))]
pub mod contract;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap() + Duration::seconds(secs)
    }

    const C: Coalescing = Coalescing {
        window: Duration::seconds(60),
        followup_grace: Duration::seconds(900),
    };

    #[test]
    fn first_change_sends_at_once() {
        let mut k = KindState::default();
        assert_eq!(
            k.record_change(t(0), &C),
            AfterChange::SendNow { covers: 1 }
        );
        k.sent(1, t(0));
        assert!(!k.pending());
    }

    #[test]
    fn changes_inside_the_window_schedule_one_follow_up_for_its_end() {
        let mut k = KindState::default();
        k.record_change(t(0), &C);
        k.sent(1, t(0));
        assert_eq!(
            k.record_change(t(10), &C),
            AfterChange::Schedule { due: t(60) }
        );
        k.scheduled(t(60), t(10), &C);
        for s in 11..40 {
            assert_eq!(
                k.record_change(t(s), &C),
                AfterChange::Covered { due: t(60) }
            );
        }
        assert!(k.pending());
    }

    #[test]
    fn a_burst_of_a_thousand_changes_in_a_minute_sends_a_handful() {
        // Simulates one change every 60 ms for a minute, with follow-ups run when due.
        let mut k = KindState::default();
        let mut sends = 0;
        let mut followups: Vec<DateTime<Utc>> = Vec::new();
        for i in 0..1000i64 {
            let now = t(0) + Duration::milliseconds(i * 60);
            followups.retain(|due| {
                if *due > now {
                    return true;
                }
                match k.followup_step(*due, now, &C) {
                    FollowUpStep::Send { covers } => {
                        sends += 1;
                        assert_eq!(k.followup_sent(covers, now, &C), FollowUpEnd::Done);
                    }
                    FollowUpStep::Nothing => k.followup_finished(),
                    FollowUpStep::Wait { .. } => return true,
                }
                false
            });
            match k.record_change(now, &C) {
                AfterChange::SendNow { covers } => {
                    sends += 1;
                    k.sent(covers, now);
                }
                AfterChange::Schedule { due } => {
                    k.scheduled(due, now, &C);
                    followups.push(due);
                }
                AfterChange::Covered { .. } => {}
            }
        }
        // The last follow-up, after the burst.
        let end = t(120);
        for due in followups {
            if let FollowUpStep::Send { covers } = k.followup_step(due, end, &C) {
                sends += 1;
                k.followup_sent(covers, end, &C);
            }
        }
        assert!(!k.pending(), "every change is covered in the end");
        assert!((2..=3).contains(&sends), "sent {sends} notifications");
    }

    #[test]
    fn follow_up_waits_until_due_and_for_a_reopened_window() {
        let mut k = KindState::default();
        k.record_change(t(0), &C);
        k.sent(1, t(0));
        k.record_change(t(5), &C);
        k.scheduled(t(60), t(5), &C);
        assert_eq!(
            k.followup_step(t(60), t(30), &C),
            FollowUpStep::Wait { until: t(60) }
        );
        // Someone else sent at 50 s (a 429 retry, say), but a change came after it.
        k.sent(2, t(50));
        k.record_change(t(55), &C);
        assert_eq!(
            k.followup_step(t(60), t(61), &C),
            FollowUpStep::Wait { until: t(110) }
        );
        assert_eq!(
            k.followup_step(t(60), t(110), &C),
            FollowUpStep::Send { covers: 3 }
        );
    }

    #[test]
    fn follow_up_with_nothing_pending_ends_quietly() {
        let mut k = KindState::default();
        k.record_change(t(0), &C);
        k.sent(1, t(0));
        k.followup_due = Some(t(60));
        assert_eq!(k.followup_step(t(60), t(60), &C), FollowUpStep::Nothing);
        k.followup_finished();
        assert_eq!(k.followup_due, None);
    }

    #[test]
    fn a_change_during_the_follow_ups_send_keeps_it_going() {
        let mut k = KindState::default();
        k.record_change(t(0), &C);
        k.sent(1, t(0));
        k.record_change(t(1), &C);
        k.scheduled(t(60), t(1), &C);
        let FollowUpStep::Send { covers } = k.followup_step(t(60), t(60), &C) else {
            panic!("should send")
        };
        // A change lands while the call is in flight: it is covered by the follow-up (Covered)...
        assert_eq!(
            k.record_change(t(60), &C),
            AfterChange::Covered { due: t(60) }
        );
        // ...which therefore reschedules itself instead of ending.
        assert_eq!(
            k.followup_sent(covers, t(61), &C),
            FollowUpEnd::Reschedule { due: t(121) }
        );
        assert!(k.pending());
    }

    #[test]
    fn a_lost_follow_up_stops_blocking_after_the_grace() {
        let mut k = KindState::default();
        k.record_change(t(0), &C);
        k.sent(1, t(0));
        k.followup_due = Some(t(60));
        assert!(matches!(
            k.record_change(t(959), &C),
            AfterChange::Covered { .. }
        ));
        assert_eq!(
            k.record_change(t(960), &C),
            AfterChange::SendNow { covers: 3 }
        );
    }

    #[test]
    fn sent_never_moves_backwards() {
        let mut k = KindState::default();
        k.sent(5, t(10));
        k.sent(3, t(5));
        assert_eq!((k.notified, k.last_sent_at), (5, Some(t(10))));
    }

    #[test]
    fn follow_up_ids_fit_sqs_and_are_stable() {
        let f = NotifyDue {
            sku_id: "ação 1".repeat(40),
            kind: NotifyKind::Inventory,
            due: t(60),
        };
        let g = f.group_id();
        assert!(
            g.len() <= 128 && g.chars().all(|c| c.is_ascii_graphic()),
            "{g}"
        );
        let d = f.dedup_id();
        assert!(d.len() <= 128 && d.chars().all(|c| c.is_ascii_graphic()));
        assert_eq!(d, f.clone().dedup_id());
        let later = NotifyDue {
            due: t(61),
            ..f.clone()
        };
        assert_ne!(later.dedup_id(), d);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn state_serializes_compactly_and_reads_back() {
        let mut s = SyncState::default();
        s.catalog.changes = 2;
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("lastSentAt"), "{json}");
        assert_eq!(serde_json::from_str::<SyncState>(&json).unwrap(), s);
        assert_eq!(
            serde_json::from_str::<SyncState>("{}").unwrap(),
            SyncState::default()
        );
    }
}

#[cfg(test)]
mod marketplaces_tests {
    use super::combine_marketplaces;
    use crate::outbound::CatalogOutcome;
    use std::time::Duration;

    fn retry(secs: u64) -> CatalogOutcome {
        CatalogOutcome::Retryable {
            retry_after: Some(Duration::from_secs(secs)),
            reason: "429".into(),
        }
    }

    #[test]
    fn every_marketplace_must_take_it_and_one_retry_retries_after_the_longest_wait() {
        let ok = CatalogOutcome::Accepted { status: 202 };
        assert_eq!(
            combine_marketplaces(vec![]),
            CatalogOutcome::Accepted { status: 204 }
        );
        assert_eq!(
            combine_marketplaces(vec![("a".into(), ok.clone()), ("b".into(), ok.clone())]),
            ok
        );
        let refused = CatalogOutcome::Rejected {
            status: 403,
            body: "no".into(),
        };
        let CatalogOutcome::Retryable {
            retry_after,
            reason,
        } = combine_marketplaces(vec![
            ("a".into(), retry(3)),
            ("b".into(), refused.clone()),
            ("c".into(), retry(9)),
        ])
        else {
            panic!("a retry wins over a refusal")
        };
        assert_eq!(retry_after, Some(Duration::from_secs(9)));
        assert!(
            reason.contains("a: 429") && reason.contains("c: 429"),
            "{reason}"
        );
        let CatalogOutcome::Rejected { status, body } =
            combine_marketplaces(vec![("a".into(), ok), ("b".into(), refused)])
        else {
            panic!("a refusal is a refusal")
        };
        assert_eq!(status, 403);
        assert!(body.starts_with("b: 403"), "{body}");
    }
}
