//! The catalog sync worker: the ERP's catalog messages (SKU upserts, price and stock changes)
//! from the catalog queue (SQS FIFO, one message group per SKU) to the catalog store the
//! simulation reads, and to VTEX (CONTRACT.md §6.1–§6.3).
//!
//! A batch is handled in three passes:
//! 1. each message in order: parse and validate it completely ([`domain::catalog_messages`]),
//!    compare it with the stored SKU (consistent read) and write it in one single-item write. A
//!    message that breaks a rule is parked in the DLQ with the reason, before anything is written;
//! 2. each SKU that changed, once per notification kind (so the batch is coalesced): count the
//!    change and send, or leave it to a scheduled follow-up ([`domain::catalog_notify`]). A 429
//!    never holds up the store: the notification becomes a follow-up due after `Retry-After`, and
//!    the rest of the batch does not call VTEX until then;
//! 3. each follow-up (`notify.due`, in its own message group): wait (visibility) until due, then
//!    send whatever is still pending. On 429 / 5xx it comes back after `Retry-After` or a jittered
//!    back-off (batch item failure + ChangeMessageVisibility), like dispatch.
//!
//! Within one batch, once a message of a group fails, the group's later messages are reported
//! failed unprocessed, so a SKU's changes keep their order. Every value is absolute, so a message
//! delivered again is harmless. VTEX refusing a notification for good (403, a 4xx on a
//! suggestion, a SKU that cannot be suggested) parks a `notify.due` message with the reason in the
//! DLQ: re-driving it after the fix sends the notification, without replaying old data.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use domain::catalog::SkuId;
use domain::catalog_messages::{self, CatalogChange, ChangeSet, changes};
use domain::catalog_notify::{
    self, AfterChange, Coalescing, FollowUpEnd, FollowUpQueue, FollowUpStep, NotifyDue, NotifyKind,
    SyncStateStore,
};
use domain::clock::Clock;
use domain::erp::{DispatchQueue, QueuedMessage};
use domain::ports::{CatalogReader, CatalogWriter, StoreError};
use lambda_kit::config::Settings;
use lambda_kit::sqs;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vtex::catalog::{
    CatalogClient, CatalogEndpoints, CatalogOutcome, PRODUCTION_SUGGESTIONS_BASE_URL,
    SuggestionRequest, SuggestionSettings,
};

pub mod bulk;
pub mod credentials;
pub mod local;

pub use lambda_kit::sqs::{Backoff, Delivery, sqs_event, sqs_message};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("catalog-sync configuration: {0}")]
pub struct ConfigError(pub String);

/// Configuration, read once from the environment by the composition root.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `VTEX_SELLER_ID`: our seller id in the marketplace (required).
    pub seller_id: String,
    /// `VTEX_ACCOUNT`, else `DEFAULT_AN`: the marketplace account (required).
    pub account: String,
    /// `VTEX_BASE_URL` (default `https://{an}.vtexcommercestable.com.br`).
    pub vtex_base_url: String,
    /// `VTEX_SUGGESTIONS_BASE_URL` (default `https://api.vtex.com/{an}`).
    pub suggestions_base_url: String,
    /// `VTEX_TIMEOUT_MS` (default 10000).
    pub vtex_timeout: Duration,
    /// `CATALOG_NOTIFY_WINDOW_SECS` (default 60) and `CATALOG_FOLLOWUP_GRACE_SECS` (default 900).
    pub coalescing: Coalescing,
    /// `CATALOG_BACKOFF_BASE_SECS` (default 5) and `CATALOG_BACKOFF_MAX_SECS` (default 900).
    pub backoff: Backoff,
    /// `SUGGESTION_CURRENCY` (default `BRL`) and `SUGGESTION_CURRENCY_SYMBOL` (default `R$`).
    pub currency: String,
    pub currency_symbol: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Settings::new(get);
        let value = |k: &str| env.value(k);
        let number = |k: &str, default: u64| env.number(k, default).map_err(ConfigError);
        let seconds = |k: &str, default: u64| -> Result<chrono::Duration, ConfigError> {
            let n = number(k, default)?;
            i64::try_from(n)
                .ok()
                .and_then(chrono::Duration::try_seconds)
                .ok_or_else(|| ConfigError(format!("{k} is too large")))
        };
        let seller_id = value("VTEX_SELLER_ID").ok_or_else(|| {
            ConfigError("VTEX_SELLER_ID (our seller id in the marketplace) is not set".into())
        })?;
        let account = value("VTEX_ACCOUNT")
            .or_else(|| value("DEFAULT_AN"))
            .ok_or_else(|| {
                ConfigError(
                    "VTEX_ACCOUNT (or DEFAULT_AN), the marketplace account, is not set".into(),
                )
            })?;
        let currency = value("SUGGESTION_CURRENCY").unwrap_or_else(|| "BRL".into());
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ConfigError(format!(
                "SUGGESTION_CURRENCY must be an ISO-4217 code like BRL, got {currency:?}"
            )));
        }
        Ok(Config {
            seller_id,
            account,
            vtex_base_url: value("VTEX_BASE_URL")
                .unwrap_or_else(|| vtex::catalog::PRODUCTION_BASE_URL.into()),
            suggestions_base_url: value("VTEX_SUGGESTIONS_BASE_URL")
                .unwrap_or_else(|| PRODUCTION_SUGGESTIONS_BASE_URL.into()),
            vtex_timeout: Duration::from_millis(number("VTEX_TIMEOUT_MS", 10_000)?),
            coalescing: Coalescing {
                window: seconds("CATALOG_NOTIFY_WINDOW_SECS", 60)?,
                followup_grace: seconds("CATALOG_FOLLOWUP_GRACE_SECS", 900)?,
            },
            backoff: Backoff {
                base: Duration::from_secs(number("CATALOG_BACKOFF_BASE_SECS", 5)?),
                max: Duration::from_secs(number("CATALOG_BACKOFF_MAX_SECS", 900)?),
            },
            currency,
            currency_symbol: value("SUGGESTION_CURRENCY_SYMBOL").unwrap_or_else(|| "R$".into()),
        })
    }

    pub fn endpoints(&self) -> CatalogEndpoints {
        CatalogEndpoints {
            base_url: self.vtex_base_url.clone(),
            suggestions_base_url: self.suggestions_base_url.clone(),
            account: self.account.clone(),
            seller_id: self.seller_id.clone(),
        }
    }

    pub fn suggestion_settings(&self) -> SuggestionSettings {
        SuggestionSettings {
            seller_id: self.seller_id.clone(),
            account: self.account.clone(),
            currency: self.currency.clone(),
            currency_symbol: self.currency_symbol.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sending one notification

/// Sends one notification of one SKU to VTEX: the notificator for price and inventory; for
/// catalog the change notification and, when the marketplace answers 404, the SKU suggestion
/// built from the stored SKU. Shared by the worker and the bulk loader.
#[derive(Clone)]
pub struct Notifier {
    pub vtex: CatalogClient,
    pub catalog: Arc<dyn CatalogReader>,
    pub suggestion: SuggestionSettings,
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

    /// The marketplace does not know the SKU: PUT the suggestion (§6.3, rule 20).
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
        let body = match SuggestionRequest::from_sku(&sku, &self.suggestion) {
            Ok(b) => b,
            Err(reason) => {
                return Sent::Failed {
                    code: "SUGGESTION_INCOMPLETE".into(),
                    reason: format!(
                        "the marketplace does not know SKU {sku_id} and it cannot be suggested: {reason}"
                    ),
                };
            }
        };
        match self.vtex.put_suggestion(sku_id, &body).await {
            Ok(CatalogOutcome::Accepted { status }) => Sent::Accepted {
                detail: format!("unknown to the marketplace (404): suggestion sent ({status})"),
                suggested: true,
            },
            Ok(other) => failed_call("suggestion", other),
            Err(e) => config_failure(e),
        }
    }
}

fn config_failure(e: vtex::client::ClientError) -> Sent {
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

/// The ports the worker uses, built once by the composition root (or a test, or the runner).
#[derive(Clone)]
pub struct Deps {
    pub catalog: Arc<dyn CatalogReader>,
    pub writer: Arc<dyn CatalogWriter>,
    pub sync: Arc<dyn SyncStateStore>,
    /// DLQ and visibility of the catalog queue.
    pub queue: Arc<dyn DispatchQueue>,
    /// Where follow-ups go: the catalog queue itself.
    pub followups: Arc<dyn FollowUpQueue>,
    pub notifier: Notifier,
    pub clock: Arc<dyn Clock>,
    pub coalescing: Coalescing,
    pub backoff: Backoff,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Done: delete it.
    Done,
    /// Deliver it again after `after`.
    Retry { after: Duration },
    /// Not processed because an earlier message of its group failed: report it failed as is.
    Blocked,
    /// Park it in the DLQ with the reason, then delete the original.
    DeadLetter { code: String, reason: String },
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

/// The Lambda handler: processes the batch and reports what must come back.
pub async fn handle(deps: &Deps, event: SqsEvent) -> SqsBatchResponse {
    let deliveries: Vec<Delivery<'_>> = event
        .records
        .iter()
        .filter_map(|r| {
            let d = Delivery::of(r);
            if d.is_none() {
                tracing::error!("SQS record without messageId or receiptHandle: skipped");
            }
            d
        })
        .collect();
    let mut outcome = vec![Disposition::Done; deliveries.len()];
    let mut blocked: HashSet<&str> = HashSet::new();
    let mut pending = Pending::default();
    let mut followups: Vec<(usize, NotifyDue)> = Vec::new();

    // 1. Apply the data messages in order.
    for (i, d) in deliveries.iter().enumerate() {
        if d.group_id.is_some_and(|g| blocked.contains(g)) {
            outcome[i] = Disposition::Blocked;
            continue;
        }
        let message = match catalog_messages::parse(d.body.as_bytes()) {
            Ok(m) => m,
            Err(e) => {
                outcome[i] = Disposition::DeadLetter {
                    code: e.code().into(),
                    reason: e.to_string(),
                };
                continue;
            }
        };
        let change = message.change;
        if let CatalogChange::NotifyDue(due) = change {
            followups.push((i, due));
            continue;
        }
        match apply(deps, &change).await {
            Ok(Applied::Changed(set)) => {
                tracing::info!(
                    message_id = d.message_id,
                    erp_message_id = message.message_id.as_deref(),
                    kind = change.kind(),
                    sku_id = change.sku_id(),
                    notify = ?set.kinds(),
                    "catalog change written"
                );
                pending.add(change.sku_id(), set, i);
            }
            Ok(Applied::Unchanged) => tracing::info!(
                message_id = d.message_id,
                kind = change.kind(),
                sku_id = change.sku_id(),
                "catalog message changes nothing"
            ),
            Ok(Applied::Refused { code, reason }) => {
                outcome[i] = Disposition::DeadLetter {
                    code: code.into(),
                    reason,
                }
            }
            Err(e) => {
                tracing::warn!(message_id = d.message_id, error = %e, "store trouble; retrying later");
                outcome[i] = Disposition::Retry {
                    after: deps.backoff.delay(d.receive_count, None),
                };
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
            if let Err(e) = after_change(deps, sku, kind, &throttle).await {
                tracing::warn!(sku_id = %sku, %kind, error = %e, "notification bookkeeping failed; retrying the SKU's messages");
                for &m in members {
                    outcome[m] = Disposition::Retry {
                        after: deps.backoff.delay(deliveries[m].receive_count, None),
                    };
                }
                break;
            }
        }
    }

    // 3. Follow-ups.
    for (i, due) in &followups {
        outcome[*i] = followup(deps, &deliveries[*i], due, &throttle).await;
    }

    let mut failures = Vec::new();
    for (d, o) in deliveries.iter().zip(outcome) {
        if !settle(deps, d, o).await {
            failures.push(d.message_id);
        }
    }
    sqs::batch_response(failures)
}

/// Acts on the queue for one message. `true` when the message may be deleted.
async fn settle(deps: &Deps, d: &Delivery<'_>, outcome: Disposition) -> bool {
    match outcome {
        Disposition::Done => true,
        Disposition::Blocked => false,
        Disposition::Retry { after } => {
            if let Err(e) = deps.queue.retry_later(d.receipt_handle, after).await {
                // It still comes back after the queue's visibility timeout.
                tracing::warn!(message_id = d.message_id, error = %e, "could not set the back-off");
            }
            false
        }
        Disposition::DeadLetter { code, reason } => {
            tracing::warn!(
                message_id = d.message_id,
                code,
                reason,
                "catalog message parked in the DLQ"
            );
            match deps.queue.dead_letter(&d.queued(), &code, &reason).await {
                Ok(()) => {
                    lambda_kit::metrics::emit_for(
                        "catalog-sync",
                        &[("DlqArrivals", 1.0, lambda_kit::metrics::Unit::Count)],
                    );
                    true
                }
                Err(e) => {
                    tracing::error!(message_id = d.message_id, error = %e, "DLQ send failed; retrying");
                    false
                }
            }
        }
    }
}

/// What a data message did to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Written; these notifications are called for.
    Changed(ChangeSet),
    /// Equal to what is stored: nothing written, nothing to notify.
    Unchanged,
    /// Not written: it names a SKU the store does not have.
    Refused { code: &'static str, reason: String },
}

/// Writes one validated change in one single-item write, after comparing it with the stored SKU.
pub async fn apply(deps: &Deps, change: &CatalogChange) -> Result<Applied, StoreError> {
    let unknown = |id: &str| Applied::Refused {
        code: "UNKNOWN_SKU",
        reason: format!(
            "SKU {id} is not in the catalog: send its sku.upsert first (same message group)"
        ),
    };
    match change {
        CatalogChange::SkuUpsert(sku) => {
            let old = deps.catalog.get_sku(&sku.id).await?;
            let set = changes(old.as_ref(), sku);
            if set.is_empty() {
                return Ok(Applied::Unchanged);
            }
            deps.writer.upsert_sku(sku).await?;
            Ok(Applied::Changed(set))
        }
        CatalogChange::PriceChanged { sku_id, prices } => {
            let Some(old) = deps.catalog.get_sku(sku_id).await? else {
                return Ok(unknown(sku_id));
            };
            if old.prices == *prices {
                return Ok(Applied::Unchanged);
            }
            if !deps.writer.set_prices(sku_id, prices).await? {
                return Ok(unknown(sku_id));
            }
            Ok(Applied::Changed(ChangeSet::only(NotifyKind::Price)))
        }
        CatalogChange::StockChanged {
            sku_id,
            location,
            on_hand,
        } => {
            let Some(old) = deps.catalog.get_sku(sku_id).await? else {
                return Ok(unknown(sku_id));
            };
            if old.stock.get(location).map_or(0, |l| l.on_hand) == *on_hand {
                return Ok(Applied::Unchanged);
            }
            if !deps.writer.set_on_hand(sku_id, location, *on_hand).await? {
                return Ok(unknown(sku_id));
            }
            Ok(Applied::Changed(ChangeSet::only(NotifyKind::Inventory)))
        }
        CatalogChange::NotifyDue(_) => Ok(Applied::Unchanged),
    }
}

/// Counts a written change of `kind` and sends, schedules, or leaves it to a live follow-up.
async fn after_change(
    deps: &Deps,
    sku_id: &str,
    kind: NotifyKind,
    throttle: &Throttle,
) -> Result<(), StoreError> {
    let c = deps.coalescing;
    let now = deps.clock.now();
    let (decision, _) = catalog_notify::update(deps.sync.as_ref(), sku_id, |s| {
        s.kind_mut(kind).record_change(now, &c)
    })
    .await?;
    let covers = match decision {
        AfterChange::Covered { due } => {
            tracing::info!(sku_id, %kind, %due, "notification coalesced into the scheduled follow-up");
            return Ok(());
        }
        AfterChange::Schedule { due } => {
            tracing::info!(sku_id, %kind, %due, "inside the notification window: follow-up scheduled");
            return schedule(deps, sku_id, kind, due).await;
        }
        AfterChange::SendNow { covers } => covers,
    };
    if let Some(until) = throttle.until(now) {
        return schedule(deps, sku_id, kind, until).await;
    }
    match deps.notifier.send(sku_id, kind).await {
        Sent::Accepted { detail, suggested } => {
            let at = deps.clock.now();
            catalog_notify::update(deps.sync.as_ref(), sku_id, |s| {
                s.kind_mut(kind).sent(covers, at)
            })
            .await?;
            tracing::info!(sku_id, %kind, suggested, detail, "VTEX notified");
            Ok(())
        }
        Sent::Retry { after, reason } => {
            let wait = from_std(after.unwrap_or(deps.backoff.base));
            throttle.note(now + wait);
            tracing::warn!(sku_id, %kind, reason, "VTEX notification deferred");
            schedule(deps, sku_id, kind, now + wait).await
        }
        Sent::Failed { code, reason } => {
            tracing::error!(sku_id, %kind, code, reason, "VTEX refused the notification; parked");
            let due = NotifyDue {
                sku_id: sku_id.to_string(),
                kind,
                due: now,
            };
            park(deps, &due, &code, &reason).await
        }
    }
}

/// Enqueues the follow-up, then records it (an enqueued but unrecorded follow-up is harmless; a
/// recorded but missing one would hold notifications back until the grace runs out).
async fn schedule(
    deps: &Deps,
    sku_id: &str,
    kind: NotifyKind,
    due: DateTime<Utc>,
) -> Result<(), StoreError> {
    let now = deps.clock.now();
    let followup = NotifyDue {
        sku_id: sku_id.to_string(),
        kind,
        due,
    };
    deps.followups
        .schedule(&followup, to_std(due - now))
        .await?;
    let c = deps.coalescing;
    catalog_notify::update(deps.sync.as_ref(), sku_id, |s| {
        s.kind_mut(kind).scheduled(due, now, &c)
    })
    .await?;
    Ok(())
}

/// Parks a `notify.due` for the refused notification in the DLQ: re-driving it sends again.
async fn park(deps: &Deps, due: &NotifyDue, code: &str, reason: &str) -> Result<(), StoreError> {
    let (id, body, group) = (due.dedup_id(), due.to_json(), due.group_id());
    let queued = QueuedMessage {
        message_id: &id,
        receipt_handle: &id,
        body: &body,
        group_id: Some(&group),
    };
    deps.queue.dead_letter(&queued, code, reason).await
}

/// One delivered follow-up.
async fn followup(
    deps: &Deps,
    d: &Delivery<'_>,
    due: &NotifyDue,
    throttle: &Throttle,
) -> Disposition {
    match followup_inner(deps, d, due, throttle).await {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(message_id = d.message_id, error = %e, "store trouble; retrying the follow-up");
            Disposition::Retry {
                after: deps.backoff.delay(d.receive_count, None),
            }
        }
    }
}

async fn followup_inner(
    deps: &Deps,
    d: &Delivery<'_>,
    f: &NotifyDue,
    throttle: &Throttle,
) -> Result<Disposition, StoreError> {
    let c = deps.coalescing;
    let (sku_id, kind) = (f.sku_id.as_str(), f.kind);
    let now = deps.clock.now();
    let state = deps.sync.get_sync_state(sku_id).await?;
    let covers = match state.state.kind(kind).followup_step(f.due, now, &c) {
        FollowUpStep::Wait { until } => {
            return Ok(Disposition::Retry {
                after: wait_until(until, now),
            });
        }
        FollowUpStep::Nothing => {
            catalog_notify::update(deps.sync.as_ref(), sku_id, |s| {
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
    match deps.notifier.send(sku_id, kind).await {
        Sent::Accepted { detail, suggested } => {
            let at = deps.clock.now();
            let (end, _) = catalog_notify::update(deps.sync.as_ref(), sku_id, |s| {
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
                deps.followups.schedule(&next, to_std(due - at)).await?;
            }
            Ok(Disposition::Done)
        }
        Sent::Retry { after, reason } => {
            let delay = deps.backoff.delay(d.receive_count, after);
            throttle.note(now + from_std(after.unwrap_or(delay)));
            tracing::warn!(sku_id, %kind, reason, delay_secs = delay.as_secs(), "VTEX notification deferred (follow-up)");
            Ok(Disposition::Retry { after: delay })
        }
        Sent::Failed { code, reason } => {
            catalog_notify::update(deps.sync.as_ref(), sku_id, |s| {
                let k = s.kind_mut(kind);
                if k.followup_due == Some(f.due) {
                    k.followup_finished();
                }
            })
            .await?;
            tracing::error!(sku_id, %kind, code, reason, "VTEX refused the notification; parked");
            Ok(Disposition::DeadLetter { code, reason })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let m: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn config_needs_the_seller_and_account_and_reads_defaults() {
        assert!(Config::from_lookup(lookup(&[])).is_err());
        assert!(Config::from_lookup(lookup(&[("VTEX_SELLER_ID", "s1")])).is_err());
        let c = Config::from_lookup(lookup(&[
            ("VTEX_SELLER_ID", "s1"),
            ("DEFAULT_AN", "luxstore"),
        ]))
        .unwrap();
        assert_eq!(c.account, "luxstore");
        assert_eq!(c.coalescing, Coalescing::default());
        assert_eq!(c.suggestions_base_url, "https://api.vtex.com/{an}");
        assert_eq!(c.currency, "BRL");
        let c = Config::from_lookup(lookup(&[
            ("VTEX_SELLER_ID", "s1"),
            ("VTEX_ACCOUNT", "mkp"),
            ("DEFAULT_AN", "other"),
            ("CATALOG_NOTIFY_WINDOW_SECS", "5"),
        ]))
        .unwrap();
        assert_eq!(c.account, "mkp");
        assert_eq!(c.coalescing.window, chrono::Duration::seconds(5));
        assert!(
            Config::from_lookup(lookup(&[
                ("VTEX_SELLER_ID", "s1"),
                ("VTEX_ACCOUNT", "mkp"),
                ("SUGGESTION_CURRENCY", "real"),
            ]))
            .is_err()
        );
    }

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
