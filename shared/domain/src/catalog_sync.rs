//! The catalog synchronizer: the ERP's catalog messages (SKU upserts, price and stock changes)
//! to the catalog store the simulation reads, and to VTEX (shared/docs/protocol.md
//! §Catalog notifications).
//!
//! A batch is handled in three passes:
//! 1. each message in order: parse and validate it completely ([`crate::catalog_messages`]),
//!    compare it with the stored SKU (consistent read) and write it in one single-item write. A
//!    message that breaks a rule is parked in the DLQ with the reason, before anything is written;
//! 2. each SKU that changed, once per notification kind (so the batch is coalesced): count the
//!    change and send, or leave it to a scheduled follow-up ([`crate::catalog_notify`]). A 429
//!    never holds up the store: the notification becomes a follow-up due after `Retry-After`, and
//!    the rest of the batch does not call VTEX until then;
//! 3. each follow-up (`notify.due`, in its own message group): wait (visibility) until due, then
//!    send whatever is still pending. On 429 / 5xx it comes back after `Retry-After` or a jittered
//!    back-off, like dispatch.
//!
//! Within one batch, once a message of a group fails, the group's later messages are left
//! unprocessed, so a SKU's changes keep their order. Every value is absolute, so a message
//! delivered again is harmless; FIFO order is not enough for stock counts, though (a count
//! re-driven from the DLQ, or taken before a shipment the connector already recorded, is absolute
//! and wrong), so a `stock.changed` with `asOf` is written only if the store's marks for its
//! location say it is newer than the stock ([`crate::ports::StockMarks`]), inside the write's own
//! condition. An ignored count is logged and counted ([`SnapshotCounts`]). VTEX refusing a notification for good (403, a 4xx on a
//! suggestion, a SKU that cannot be suggested) parks a `notify.due` message with the reason in the
//! DLQ: re-driving it after the fix sends the notification, without replaying old data.

use crate::catalog::SkuId;
use crate::catalog_messages::{self, CatalogChange, ChangeSet, changes};
use crate::catalog_notify::{
    self, AfterChange, Coalescing, FollowUpEnd, FollowUpQueue, FollowUpStep, NotifyDue, NotifyKind,
    SyncStateStore,
};
use crate::clock::Clock;
use crate::erp::{DispatchQueue, QueuedMessage};
use crate::outbound::{CallError, CatalogNotifier, CatalogOutcome};
use crate::ports::{
    CatalogReader, CatalogWriter, SnapshotOutcome, Stale, StockSnapshot, StoreError,
};
use crate::worker::{Attempt, Backoff, Disposition};
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Sends one notification of one SKU to VTEX: the notificator for price and inventory; for
/// catalog the change notification and, when the marketplace answers 404, the SKU suggestion
/// built from the stored SKU. Shared by the synchronizer and the bulk loader.
#[derive(Clone)]
pub struct Notifier {
    pub vtex: Arc<dyn CatalogNotifier>,
    pub catalog: Arc<dyn CatalogReader>,
}

/// What one notification came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// VTEX took it. `suggested` when a SKU suggestion was sent (the SKU was unknown).
    Accepted { detail: String, suggested: bool },
    /// Throttled or unavailable: try again after `after` (VTEX's `Retry-After`) if given.
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// Refused for good; retrying the same call will not help.
    Failed { code: String, reason: String },
}

impl Notifier {
    pub async fn send(&self, sku_id: &str, kind: NotifyKind) -> Sent {
        let outcome = match self.vtex.notify(kind, sku_id).await {
            Ok(o) => o,
            Err(e) => return config_failure(e),
        };
        match (kind, outcome) {
            (_, CatalogOutcome::Accepted { status }) => Sent::Accepted {
                detail: match kind {
                    NotifyKind::Catalog => format!("the marketplace knows the SKU ({status})"),
                    _ => format!("accepted ({status})"),
                },
                suggested: false,
            },
            (NotifyKind::Catalog, CatalogOutcome::NotFound { .. }) => self.suggest(sku_id).await,
            (_, other) => failed_call(kind.as_str(), other),
        }
    }

    /// The marketplace does not know the SKU: PUT the suggestion (§SKU suggestion).
    async fn suggest(&self, sku_id: &str) -> Sent {
        let sku = match self.catalog.get_sku(sku_id).await {
            Ok(Some(sku)) => sku,
            Ok(None) => {
                return Sent::Failed {
                    code: "UNKNOWN_SKU".into(),
                    reason: format!("SKU {sku_id} is not in the catalog store; nothing to suggest"),
                };
            }
            Err(e) => {
                return Sent::Retry {
                    after: None,
                    reason: format!("reading the SKU to suggest it: {e}"),
                };
            }
        };
        match self.vtex.suggest(&sku).await {
            Ok(Ok(CatalogOutcome::Accepted { status })) => Sent::Accepted {
                detail: format!("unknown to the marketplace (404): suggestion sent ({status})"),
                suggested: true,
            },
            Ok(Ok(other)) => failed_call("suggestion", other),
            Ok(Err(reason)) => Sent::Failed {
                code: "SUGGESTION_INCOMPLETE".into(),
                reason: format!(
                    "the marketplace does not know SKU {sku_id} and it cannot be suggested: {reason}"
                ),
            },
            Err(e) => config_failure(e),
        }
    }
}

fn config_failure(e: CallError) -> Sent {
    Sent::Failed {
        code: "CONFIG".into(),
        reason: e.to_string(),
    }
}

fn failed_call(what: &str, outcome: CatalogOutcome) -> Sent {
    match outcome {
        CatalogOutcome::Accepted { status } => Sent::Accepted {
            detail: format!("accepted ({status})"),
            suggested: false,
        },
        CatalogOutcome::Retryable {
            retry_after,
            reason,
        } => Sent::Retry {
            after: retry_after,
            reason: format!("{what}: {reason}"),
        },
        CatalogOutcome::NotFound { body } => Sent::Failed {
            code: "VTEX_404".into(),
            reason: format!("{what}: VTEX answered 404: {body}"),
        },
        CatalogOutcome::Rejected { status, body } => Sent::Failed {
            code: format!("VTEX_{status}"),
            reason: format!("{what}: VTEX refused it with {status}: {body}"),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// The worker

/// The catalog sync service, built once by the composition root (cheap to clone).
#[derive(Clone)]
pub struct CatalogSync {
    pub catalog: Arc<dyn CatalogReader>,
    pub writer: Arc<dyn CatalogWriter>,
    pub sync: Arc<dyn SyncStateStore>,
    /// The catalog queue's DLQ, where refused notifications are parked.
    pub queue: Arc<dyn DispatchQueue>,
    /// Where follow-ups go: the catalog queue itself.
    pub followups: Arc<dyn FollowUpQueue>,
    pub notifier: Notifier,
    pub clock: Arc<dyn Clock>,
    pub coalescing: Coalescing,
    pub backoff: Backoff,
}

/// One delivered message of a batch.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    pub attempt: Attempt<'a>,
    pub group_id: Option<&'a str>,
    pub body: &'a [u8],
}

/// VTEX throttles per account: after a 429 the rest of the batch does not call it before this.
#[derive(Debug, Default)]
struct Throttle(Mutex<Option<DateTime<Utc>>>);

impl Throttle {
    fn until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let t = *self.0.lock().unwrap_or_else(|e| e.into_inner());
        t.filter(|t| *t > now)
    }

    fn note(&self, until: DateTime<Utc>) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *t = Some(t.map_or(until, |old| old.max(until)));
    }
}

fn to_std(d: chrono::Duration) -> Duration {
    d.to_std().unwrap_or(Duration::ZERO)
}

/// How long a follow-up waits for `until`. SQS visibility counts whole seconds (it would read
/// 0.9 s as "now" and burn a receive per loop), so this rounds up, to at least one second.
fn wait_until(until: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    let d = to_std(until - now);
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    Duration::from_secs(secs.max(1))
}

fn from_std(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// The SKUs changed by this batch, in first-appearance order, with the messages that changed them.
#[derive(Default)]
struct Pending {
    skus: Vec<(SkuId, ChangeSet, Vec<usize>)>,
}

impl Pending {
    fn add(&mut self, sku: &str, set: ChangeSet, message: usize) {
        match self.skus.iter_mut().find(|(s, ..)| s == sku) {
            Some((_, acc, members)) => {
                acc.merge(set);
                members.push(message);
            }
            None => self.skus.push((sku.to_string(), set, vec![message])),
        }
    }
}

/// The (SKU, kind) notifications a batch already recorded as owed ([`CatalogSync::intend`]).
#[derive(Debug, Default)]
pub struct Intended(HashSet<(SkuId, NotifyKind)>);

/// What a data message did to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Written; these notifications are called for.
    Changed(ChangeSet),
    /// Equal to what is stored: nothing written, nothing to notify.
    Unchanged,
    /// Not written: it names a SKU the store does not have, or cannot be ordered.
    Refused { code: &'static str, reason: String },
    /// Not written: a stock count older than the location's stock (ignored, logged, counted).
    Stale(Stale),
}

/// How far ahead of the connector's clock a count's `asOf` may be (clock skew between the ERP
/// and AWS). Further ahead, the count is parked rather than applied: its mark would make every
/// count the ERP takes until then look stale.
pub const MAX_AS_OF_AHEAD: chrono::Duration = chrono::Duration::minutes(5);

fn unknown_sku(id: &str) -> Applied {
    Applied::Refused {
        code: "UNKNOWN_SKU",
        reason: format!(
            "SKU {id} is not in the catalog: send its sku.upsert first (same message group)"
        ),
    }
}

/// What a batch did with stock counts, for the function's metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotCounts {
    /// Counts ignored as older than the location's stock.
    pub stale: u32,
    /// Counts without `asOf`, applied unordered as before `asOf` existed.
    pub unordered: u32,
}

impl CatalogSync {
    /// Handles a batch in the three passes of the module doc; one outcome per message, in order:
    /// `None` when it was not processed because an earlier message of its group failed (it comes
    /// back as it is).
    pub async fn process_batch(&self, deliveries: &[Received<'_>]) -> Vec<Option<Disposition>> {
        self.process_batch_counted(deliveries).await.0
    }

    /// [`CatalogSync::process_batch`], with what it did with stock counts.
    pub async fn process_batch_counted(
        &self,
        deliveries: &[Received<'_>],
    ) -> (Vec<Option<Disposition>>, SnapshotCounts) {
        let deps = self;
        let mut counts = SnapshotCounts::default();
        let mut outcome = vec![Some(Disposition::Done); deliveries.len()];
        let mut blocked: HashSet<&str> = HashSet::new();
        let mut pending = Pending::default();
        let mut followups: Vec<(usize, NotifyDue)> = Vec::new();
        let mut intended = Intended::default();

        // 1. Apply the data messages in order.
        for (i, d) in deliveries.iter().enumerate() {
            if d.group_id.is_some_and(|g| blocked.contains(g)) {
                outcome[i] = None;
                continue;
            }
            let message = match catalog_messages::parse(d.body) {
                Ok(m) => m,
                Err(e) => {
                    outcome[i] = Some(Disposition::dead(e.code(), e.to_string()));
                    continue;
                }
            };
            let change = message.change;
            if let CatalogChange::NotifyDue(due) = change {
                followups.push((i, due));
                continue;
            }
            let unordered = matches!(change, CatalogChange::StockChanged { as_of: None, .. });
            // An unchanged value (or a stale count: its first delivery may have been written
            // before a newer one) may still owe the notification of an earlier delivery that
            // crashed after its write; store trouble in either read is one retry below.
            let applied = match deps.apply(&change, &mut intended).await {
                Ok(Applied::Unchanged) => deps
                    .owed(&change)
                    .await
                    .map(|owed| (Applied::Unchanged, owed)),
                Ok(Applied::Stale(stale)) => deps
                    .owed(&change)
                    .await
                    .map(|owed| (Applied::Stale(stale), owed)),
                other => other.map(|a| (a, ChangeSet::default())),
            };
            if unordered && matches!(applied, Ok((Applied::Changed(_) | Applied::Unchanged, _))) {
                counts.unordered += 1;
                tracing::warn!(
                    message_id = d.attempt.message_id,
                    erp_message_id = message.message_id.as_deref(),
                    sku_id = change.sku_id(),
                    "stock.changed without asOf: applied unordered (an older count delivered late \
                     would overwrite a newer one; see shared/docs/messages.md)"
                );
            }
            match applied {
                Ok((Applied::Stale(stale), owed)) => {
                    counts.stale += 1;
                    let (location, as_of) = match &change {
                        CatalogChange::StockChanged {
                            location, as_of, ..
                        } => (location.as_str(), *as_of),
                        _ => ("", None),
                    };
                    tracing::warn!(
                        message_id = d.attempt.message_id,
                        erp_message_id = message.message_id.as_deref(),
                        sku_id = change.sku_id(),
                        location,
                        as_of = ?as_of,
                        reason = %stale,
                        "stock count older than the location's stock: ignored"
                    );
                    if !owed.is_empty() {
                        pending.add(change.sku_id(), owed, i);
                    }
                }
                Ok((Applied::Changed(set), _)) => {
                    tracing::info!(
                        message_id = d.attempt.message_id,
                        erp_message_id = message.message_id.as_deref(),
                        kind = change.kind(),
                        sku_id = change.sku_id(),
                        notify = ?set.kinds(),
                        "catalog change written"
                    );
                    pending.add(change.sku_id(), set, i);
                }
                Ok((Applied::Unchanged, owed)) if !owed.is_empty() => {
                    tracing::info!(
                        message_id = d.attempt.message_id,
                        kind = change.kind(),
                        sku_id = change.sku_id(),
                        notify = ?owed.kinds(),
                        "catalog message already written; its notification is still owed"
                    );
                    pending.add(change.sku_id(), owed, i);
                }
                Ok((Applied::Unchanged, _)) => tracing::info!(
                    message_id = d.attempt.message_id,
                    kind = change.kind(),
                    sku_id = change.sku_id(),
                    "catalog message changes nothing"
                ),
                Ok((Applied::Refused { code, reason }, _)) => {
                    outcome[i] = Some(Disposition::dead(code, reason))
                }
                Err(e) => {
                    tracing::warn!(message_id = d.attempt.message_id, error = %e, "store trouble; retrying later");
                    outcome[i] = Some(Disposition::Retry {
                        after: deps.backoff.delay(d.attempt.receive_count, None),
                    });
                    if let Some(g) = d.group_id {
                        blocked.insert(g);
                    }
                }
            }
        }

        // 2. Notify once per changed SKU and kind.
        let throttle = Throttle::default();
        for (sku, set, members) in &pending.skus {
            for kind in set.kinds() {
                if let Err(e) = deps.after_change(sku, kind, &throttle).await {
                    tracing::warn!(sku_id = %sku, %kind, error = %e, "notification bookkeeping failed; retrying the SKU's messages");
                    for &m in members {
                        outcome[m] = Some(Disposition::Retry {
                            after: deps
                                .backoff
                                .delay(deliveries[m].attempt.receive_count, None),
                        });
                    }
                    break;
                }
            }
        }

        // 3. Follow-ups.
        for (i, due) in &followups {
            outcome[*i] = Some(deps.followup(&deliveries[*i], due, &throttle).await);
        }

        (outcome, counts)
    }

    /// Records the notifications a change calls for as owed, before its store write (intent, then
    /// act, then mark done): a crash after the write leaves them pending, and the redelivered
    /// message, finding the store already written, sends them ([`CatalogSync::owed`]).
    ///
    /// Once per SKU and kind per batch: the batch's later changes of it are covered by the same
    /// pending count (pass 2 sends once for them all), so a burst costs one bookkeeping write per
    /// batch, not one per message.
    async fn intend(
        &self,
        sku_id: &str,
        set: ChangeSet,
        intended: &mut Intended,
    ) -> Result<(), StoreError> {
        let kinds: Vec<NotifyKind> = set
            .kinds()
            .into_iter()
            .filter(|k| !intended.0.contains(&(sku_id.to_string(), *k)))
            .collect();
        if kinds.is_empty() {
            return Ok(());
        }
        catalog_notify::update(self.sync.as_ref(), sku_id, |s| {
            for &kind in &kinds {
                s.kind_mut(kind).count_change();
            }
        })
        .await?;
        intended
            .0
            .extend(kinds.into_iter().map(|k| (sku_id.to_string(), k)));
        Ok(())
    }

    /// The notifications of the kinds `change` concerns that are counted but not yet sent: a
    /// message delivered again after a crash between its store write and its notification.
    async fn owed(&self, change: &CatalogChange) -> Result<ChangeSet, StoreError> {
        let kinds: &[NotifyKind] = match change {
            CatalogChange::SkuUpsert(_) => &[
                NotifyKind::Catalog,
                NotifyKind::Price,
                NotifyKind::Inventory,
            ],
            CatalogChange::PriceChanged { .. } => &[NotifyKind::Price],
            CatalogChange::StockChanged { .. } => &[NotifyKind::Inventory],
            CatalogChange::NotifyDue(_) => &[],
        };
        if kinds.is_empty() {
            return Ok(ChangeSet::default());
        }
        let state = self.sync.get_sync_state(change.sku_id()).await?.state;
        let mut owed = ChangeSet::default();
        for &kind in kinds {
            if state.kind(kind).pending() {
                owed.merge(ChangeSet::only(kind));
            }
        }
        Ok(owed)
    }

    /// Writes one validated change in one single-item write, after comparing it with the stored SKU
    /// and recording the notifications it owes.
    pub async fn apply(
        &self,
        change: &CatalogChange,
        intended: &mut Intended,
    ) -> Result<Applied, StoreError> {
        let unknown = unknown_sku;
        match change {
            CatalogChange::SkuUpsert(sku) => {
                let old = self.catalog.get_sku(&sku.id).await?;
                let set = changes(old.as_ref(), sku);
                if set.is_empty() {
                    return Ok(Applied::Unchanged);
                }
                self.intend(&sku.id, set, intended).await?;
                self.writer.upsert_sku(sku).await?;
                Ok(Applied::Changed(set))
            }
            CatalogChange::PriceChanged { sku_id, prices } => {
                let Some(old) = self.catalog.get_sku(sku_id).await? else {
                    return Ok(unknown(sku_id));
                };
                if old.prices == *prices {
                    return Ok(Applied::Unchanged);
                }
                self.intend(sku_id, ChangeSet::only(NotifyKind::Price), intended)
                    .await?;
                if !self.writer.set_prices(sku_id, prices).await? {
                    return Ok(unknown(sku_id));
                }
                Ok(Applied::Changed(ChangeSet::only(NotifyKind::Price)))
            }
            CatalogChange::StockChanged {
                sku_id,
                location,
                on_hand,
                as_of,
            } => {
                let snapshot = StockSnapshot {
                    sku_id: sku_id.clone(),
                    location: location.clone(),
                    on_hand: *on_hand,
                    as_of: *as_of,
                };
                self.apply_snapshot(&snapshot, intended).await
            }
            CatalogChange::NotifyDue(_) => Ok(Applied::Unchanged),
        }
    }

    /// A stock count: refused when its `asOf` is in the future (it would hold every later count
    /// back), ignored when the location's marks say it is older than the stock, else written under
    /// the store's own ordering condition. A count equal to the stored on-hand is still written
    /// when it has an `asOf`, so that the mark moves and an older count arriving next is refused.
    async fn apply_snapshot(
        &self,
        snapshot: &StockSnapshot,
        intended: &mut Intended,
    ) -> Result<Applied, StoreError> {
        let sku_id = snapshot.sku_id.as_str();
        if let Some(as_of) = snapshot.as_of {
            let now = self.clock.now();
            if as_of > now + MAX_AS_OF_AHEAD {
                return Ok(Applied::Refused {
                    code: "AS_OF_IN_FUTURE",
                    reason: format!(
                        "asOf {as_of} is more than {} minutes ahead of the connector's clock ({now}): \
                         check the ERP's clock, then re-drive the message",
                        MAX_AS_OF_AHEAD.num_minutes()
                    ),
                });
            }
        }
        let Some(current) = self
            .writer
            .stock_location(sku_id, &snapshot.location)
            .await?
        else {
            return Ok(unknown_sku(sku_id));
        };
        if let Some(stale) = snapshot.as_of.and_then(|at| current.marks.refuses(at)) {
            return Ok(Applied::Stale(stale));
        }
        let changes = current.level.map_or(0, |l| l.on_hand) != snapshot.on_hand;
        if !changes && snapshot.as_of.is_none() {
            return Ok(Applied::Unchanged);
        }
        let inventory = ChangeSet::only(NotifyKind::Inventory);
        if changes {
            self.intend(sku_id, inventory, intended).await?;
        }
        match self.writer.apply_stock_snapshot(snapshot).await? {
            // A newer count or a shipment landed since the read; what `intend` counted only costs
            // one redundant "look again" to VTEX.
            SnapshotOutcome::Stale(stale) => Ok(Applied::Stale(stale)),
            SnapshotOutcome::UnknownSku => Ok(unknown_sku(sku_id)),
            SnapshotOutcome::Applied { previous } => {
                if previous.unwrap_or(0) == snapshot.on_hand {
                    return Ok(Applied::Unchanged);
                }
                if !changes {
                    // Another writer moved the on-hand between the read and this write.
                    self.intend(sku_id, inventory, intended).await?;
                }
                Ok(Applied::Changed(inventory))
            }
        }
    }

    /// Sends the owed notification of `kind`, schedules it, or leaves it to a live follow-up.
    async fn after_change(
        &self,
        sku_id: &str,
        kind: NotifyKind,
        throttle: &Throttle,
    ) -> Result<(), StoreError> {
        let c = self.coalescing;
        let now = self.clock.now();
        // Counted before the write ([`CatalogSync::intend`]): decide on what is owed.
        let state = self.sync.get_sync_state(sku_id).await?.state;
        if !state.kind(kind).pending() {
            return Ok(());
        }
        let covers = match state.kind(kind).decide(now, &c) {
            AfterChange::Covered { due } => {
                tracing::info!(sku_id, %kind, %due, "notification coalesced into the scheduled follow-up");
                return Ok(());
            }
            AfterChange::Schedule { due } => {
                tracing::info!(sku_id, %kind, %due, "inside the notification window: follow-up scheduled");
                return self.schedule(sku_id, kind, due).await;
            }
            AfterChange::SendNow { covers } => covers,
        };
        if let Some(until) = throttle.until(now) {
            return self.schedule(sku_id, kind, until).await;
        }
        match self.notifier.send(sku_id, kind).await {
            Sent::Accepted { detail, suggested } => {
                let at = self.clock.now();
                catalog_notify::update(self.sync.as_ref(), sku_id, |s| {
                    s.kind_mut(kind).sent(covers, at)
                })
                .await?;
                tracing::info!(sku_id, %kind, suggested, detail, "VTEX notified");
                Ok(())
            }
            Sent::Retry { after, reason } => {
                let wait = from_std(after.unwrap_or(self.backoff.base));
                throttle.note(now + wait);
                tracing::warn!(sku_id, %kind, reason, "VTEX notification deferred");
                self.schedule(sku_id, kind, now + wait).await
            }
            Sent::Failed { code, reason } => {
                tracing::error!(sku_id, %kind, code, reason, "VTEX refused the notification; parked");
                let due = NotifyDue {
                    sku_id: sku_id.to_string(),
                    kind,
                    due: now,
                };
                self.park(&due, &code, &reason).await
            }
        }
    }

    /// Enqueues the follow-up, then records it (an enqueued but unrecorded follow-up is harmless; a
    /// recorded but missing one would hold notifications back until the grace runs out).
    async fn schedule(
        &self,
        sku_id: &str,
        kind: NotifyKind,
        due: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let followup = NotifyDue {
            sku_id: sku_id.to_string(),
            kind,
            due,
        };
        self.followups
            .schedule(&followup, to_std(due - now))
            .await?;
        let c = self.coalescing;
        catalog_notify::update(self.sync.as_ref(), sku_id, |s| {
            s.kind_mut(kind).scheduled(due, now, &c)
        })
        .await?;
        Ok(())
    }

    /// Parks a `notify.due` for the refused notification in the DLQ: re-driving it sends again.
    async fn park(&self, due: &NotifyDue, code: &str, reason: &str) -> Result<(), StoreError> {
        let (id, body, group) = (due.dedup_id(), due.to_json(), due.group_id());
        let queued = QueuedMessage {
            message_id: &id,
            receipt_handle: &id,
            body: &body,
            group_id: Some(&group),
        };
        self.queue.dead_letter(&queued, code, reason).await
    }

    /// One delivered follow-up.
    async fn followup(
        &self,
        d: &Received<'_>,
        due: &NotifyDue,
        throttle: &Throttle,
    ) -> Disposition {
        match self.followup_inner(d, due, throttle).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(message_id = d.attempt.message_id, error = %e, "store trouble; retrying the follow-up");
                Disposition::Retry {
                    after: self.backoff.delay(d.attempt.receive_count, None),
                }
            }
        }
    }

    async fn followup_inner(
        &self,
        d: &Received<'_>,
        f: &NotifyDue,
        throttle: &Throttle,
    ) -> Result<Disposition, StoreError> {
        let c = self.coalescing;
        let (sku_id, kind) = (f.sku_id.as_str(), f.kind);
        let now = self.clock.now();
        let state = self.sync.get_sync_state(sku_id).await?;
        let covers = match state.state.kind(kind).followup_step(f.due, now, &c) {
            FollowUpStep::Wait { until } => {
                return Ok(Disposition::Retry {
                    after: wait_until(until, now),
                });
            }
            FollowUpStep::Nothing => {
                catalog_notify::update(self.sync.as_ref(), sku_id, |s| {
                    let k = s.kind_mut(kind);
                    if k.followup_due == Some(f.due) {
                        k.followup_finished();
                    }
                })
                .await?;
                tracing::info!(sku_id, %kind, "follow-up: nothing left to notify");
                return Ok(Disposition::Done);
            }
            FollowUpStep::Send { covers } => covers,
        };
        if let Some(until) = throttle.until(now) {
            return Ok(Disposition::Retry {
                after: wait_until(until, now),
            });
        }
        match self.notifier.send(sku_id, kind).await {
            Sent::Accepted { detail, suggested } => {
                let at = self.clock.now();
                let (end, _) = catalog_notify::update(self.sync.as_ref(), sku_id, |s| {
                    s.kind_mut(kind).followup_sent(covers, at, &c)
                })
                .await?;
                tracing::info!(sku_id, %kind, suggested, detail, "VTEX notified (follow-up)");
                if let FollowUpEnd::Reschedule { due } = end {
                    let next = NotifyDue {
                        sku_id: sku_id.to_string(),
                        kind,
                        due,
                    };
                    self.followups.schedule(&next, to_std(due - at)).await?;
                }
                Ok(Disposition::Done)
            }
            Sent::Retry { after, reason } => {
                let delay = self.backoff.delay(d.attempt.receive_count, after);
                throttle.note(now + from_std(after.unwrap_or(delay)));
                tracing::warn!(sku_id, %kind, reason, delay_secs = delay.as_secs(), "VTEX notification deferred (follow-up)");
                Ok(Disposition::Retry { after: delay })
            }
            Sent::Failed { code, reason } => {
                catalog_notify::update(self.sync.as_ref(), sku_id, |s| {
                    let k = s.kind_mut(kind);
                    if k.followup_due == Some(f.due) {
                        k.followup_finished();
                    }
                })
                .await?;
                tracing::error!(sku_id, %kind, code, reason, "VTEX refused the notification; parked");
                Ok(Disposition::dead(code, reason))
            }
        }
    }
}

#[cfg(test)]
mod crash_points;
#[cfg(test)]
mod on_fakes;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_round_up_to_whole_seconds_sqs_can_express() {
        let now = Utc::now();
        let ms = chrono::Duration::milliseconds;
        assert_eq!(wait_until(now + ms(900), now), Duration::from_secs(1));
        assert_eq!(wait_until(now + ms(1001), now), Duration::from_secs(2));
        assert_eq!(wait_until(now + ms(7000), now), Duration::from_secs(7));
        assert_eq!(wait_until(now - ms(5), now), Duration::from_secs(1));
    }

    #[test]
    fn throttle_keeps_the_latest_deadline() {
        let t = Throttle::default();
        let now = Utc::now();
        assert_eq!(t.until(now), None);
        t.note(now + chrono::Duration::seconds(5));
        t.note(now + chrono::Duration::seconds(2));
        assert_eq!(t.until(now), Some(now + chrono::Duration::seconds(5)));
        assert_eq!(t.until(now + chrono::Duration::seconds(6)), None);
    }
}
