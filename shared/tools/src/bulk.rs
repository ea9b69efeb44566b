//! The bulk path (`catalog-load`): loads or reconciles a whole catalog file
//! ([`domain::catalog::CatalogFile`]) into the store, and tells VTEX only what changed.
//!
//! 1. the file was validated completely by the caller ([`domain::catalog_messages::validate_catalog_file`]);
//! 2. read what is stored, 100 SKUs per request, and diff each SKU ([`domain::catalog_messages::changes`]);
//! 3. write the new and changed SKUs (reservations kept, see `CatalogWriter::upsert_sku`) and the
//!    shipping rules; unchanged SKUs are not written;
//! 4. notify: price changes → notificator price, stock / availability changes → notificator
//!    inventory, new SKUs and catalog-data changes → change notification, then a suggestion when
//!    the marketplace answers 404. A 429 or 5xx is retried here after `Retry-After` (or a growing
//!    pause); the notification state the worker coalesces with is kept up to date. Notifications
//!    still pending for unchanged SKUs (an earlier run or the worker could not send them) are sent
//!    too, so running the load again after a VTEX failure heals it.
//!
//! Progress goes to a callback after every `progress_every` SKUs (or notifications) and at the end.
//!
//! In a stack that sells on several marketplaces the notifier is [`marketplace_notifier`]: each
//! notification goes to every registered, enabled marketplace that wants catalog changes and sells
//! the SKU, each as its own seller with its own key, as the catalog sync sends them.

use catalog_sync::{Notifier, Sent};
use domain::catalog::CatalogFile;
use domain::catalog_messages::{ChangeSet, changes};
use domain::catalog_notify::{self, NotifyKind, SyncStateStore};
use domain::clock::Clock;
use domain::marketplaces::{CachedRegistry, SecretSource};
use domain::ports::{CatalogReader, CatalogWriter, StoreError};
use futures::stream::{self, StreamExt, TryStreamExt};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use vtex::accounts::MarketplaceCatalogs;
use vtex::catalog::CatalogClient;
use vtex::client::AppCredentials;

/// Keys per read (DynamoDB BatchGetItem's limit).
const READ_CHUNK: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkOptions {
    /// Plan only: read and diff, write and notify nothing.
    pub dry_run: bool,
    /// Report progress every this many SKUs or notifications.
    pub progress_every: usize,
    pub write_concurrency: usize,
    /// VTEX calls in flight at once (VTEX throttles catalog calls: keep it small).
    pub notify_concurrency: usize,
    /// Attempts of one throttled / failing notification before it is reported failed.
    pub max_attempts: u32,
    /// Longest pause between attempts (a longer `Retry-After` is cut to this).
    pub max_wait: Duration,
}

impl Default for BulkOptions {
    fn default() -> Self {
        BulkOptions {
            dry_run: false,
            progress_every: 500,
            write_concurrency: 16,
            notify_concurrency: 4,
            max_attempts: 8,
            max_wait: Duration::from_secs(60),
        }
    }
}

/// Where the bulk load reads, writes and notifies.
#[derive(Clone, Copy)]
pub struct BulkTargets<'a> {
    pub catalog: &'a dyn CatalogReader,
    pub writer: &'a dyn CatalogWriter,
    pub sync: &'a dyn SyncStateStore,
    pub clock: &'a dyn Clock,
    /// `None`: write only (`--no-notify`).
    pub notifier: Option<&'a Notifier>,
}

/// The notifier of a load over the marketplace registry ([`MarketplaceCatalogs`]): `registry`
/// says who is notified (enabled, notifying, selling the SKU on one of its channels) and under
/// which seller id and base URL, `secrets` holds each one's key. `config` (the catalog sync's
/// settings) gives the URLs of entries that name none, the timeout, the suggestion's currency and
/// the window within which a marketplace that accepted a notification is not sent it again (a
/// retry caused by one marketplace's 429 reaches only the ones still owed it).
pub fn marketplace_notifier(
    config: &catalog_sync::Config,
    registry: Arc<CachedRegistry>,
    secrets: Arc<dyn SecretSource>,
    catalog: Arc<dyn CatalogReader>,
) -> Result<Notifier, String> {
    // Only its connection pool and timeout are used: each marketplace's client has its own key.
    let pool = CatalogClient::new(
        &config.endpoints(),
        AppCredentials::new("", ""),
        config.vtex_timeout,
    )
    .map_err(|e| e.to_string())?;
    let window = config
        .coalescing
        .window
        .to_std()
        .unwrap_or(Duration::from_secs(60));
    Ok(Notifier {
        vtex: Arc::new(MarketplaceCatalogs::new(
            registry,
            secrets,
            catalog.clone(),
            pool,
            config.vtex_base_url.clone(),
            Some(config.suggestions_base_url.clone()),
            config.suggestion_settings(),
            window,
        )),
        catalog,
    })
}

/// Which step a progress report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Read,
    Written,
    Notified,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Read => "read",
            Stage::Written => "written",
            Stage::Notified => "notified",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyFailure {
    pub sku_id: String,
    pub kind: NotifyKind,
    pub code: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkReport {
    pub skus: usize,
    pub new: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub written: usize,
    /// Notifications called for, per kind (sent or, in a dry run, that would be sent).
    pub planned: BTreeMap<NotifyKind, usize>,
    pub sent: BTreeMap<NotifyKind, usize>,
    /// SKUs the marketplace did not know, suggested.
    pub suggested: usize,
    /// Notifications of unchanged SKUs still pending from earlier (included in `planned`).
    pub pending_before: usize,
    pub failures: Vec<NotifyFailure>,
}

/// Loads `file`; see the module docs.
pub async fn run(
    file: &CatalogFile,
    t: BulkTargets<'_>,
    opts: &BulkOptions,
    progress: &(dyn Fn(Stage, usize, usize) + Sync),
) -> Result<BulkReport, StoreError> {
    let every = opts.progress_every.max(1);
    let total = file.skus.len();
    let mut report = BulkReport {
        skus: total,
        ..BulkReport::default()
    };

    // Diff against the store.
    let mut plan: Vec<(usize, ChangeSet)> = Vec::new();
    let mut read = 0usize;
    for (chunk_no, chunk) in file.skus.chunks(READ_CHUNK).enumerate() {
        let ids: Vec<String> = chunk.iter().map(|s| s.id.clone()).collect();
        let stored = t.catalog.get_skus(&ids).await?;
        for (j, sku) in chunk.iter().enumerate() {
            let set = changes(stored.get(&sku.id), sku);
            if set.new_sku {
                report.new += 1;
            } else if set.is_empty() {
                report.unchanged += 1;
            } else {
                report.changed += 1;
            }
            if !set.is_empty() {
                for kind in set.kinds() {
                    *report.planned.entry(kind).or_default() += 1;
                }
                plan.push((chunk_no * READ_CHUNK + j, set));
            }
        }
        let before = read;
        read += chunk.len();
        if read == total || before / every != read / every {
            progress(Stage::Read, read, total);
        }
    }
    // Notifications an earlier run (or the worker) left pending, for SKUs that did not change.
    let changed: std::collections::HashSet<usize> = plan.iter().map(|(i, _)| *i).collect();
    let unchanged: Vec<usize> = (0..total).filter(|i| !changed.contains(i)).collect();
    let states: Vec<(usize, Vec<NotifyKind>)> = stream::iter(unchanged)
        .map(|i| async move {
            let state = t.sync.get_sync_state(&file.skus[i].id).await?.state;
            let kinds: Vec<NotifyKind> = NotifyKind::ALL
                .into_iter()
                .filter(|k| state.kind(*k).pending())
                .collect();
            Ok::<_, StoreError>((i, kinds))
        })
        .buffer_unordered(opts.write_concurrency.max(1))
        .try_collect()
        .await?;
    let mut resend: Vec<(usize, NotifyKind)> = states
        .into_iter()
        .flat_map(|(i, kinds)| kinds.into_iter().map(move |k| (i, k)))
        .collect();
    resend.sort();
    for (_, kind) in &resend {
        *report.planned.entry(*kind).or_default() += 1;
    }
    report.pending_before = resend.len();
    if opts.dry_run {
        return Ok(report);
    }

    // Write what changed.
    let to_write = plan.len();
    let written = AtomicUsize::new(0);
    stream::iter(plan.iter().map(Ok::<_, StoreError>))
        .try_for_each_concurrent(opts.write_concurrency.max(1), |(i, _)| {
            let written = &written;
            async move {
                t.writer.upsert_sku(&file.skus[*i]).await?;
                let n = written.fetch_add(1, Ordering::Relaxed) + 1;
                if n == to_write || n.is_multiple_of(every) {
                    progress(Stage::Written, n, to_write);
                }
                Ok(())
            }
        })
        .await?;
    t.writer.put_shipping_rules(&file.shipping_rules).await?;
    report.written = to_write;

    let Some(notifier) = t.notifier else {
        return Ok(report);
    };
    // Notify what changed.
    let jobs: Vec<(&str, NotifyKind, bool)> = plan
        .iter()
        .flat_map(|(i, set)| {
            set.kinds()
                .into_iter()
                .map(move |k| (file.skus[*i].id.as_str(), k, true))
        })
        .chain(
            resend
                .iter()
                .map(|(i, k)| (file.skus[*i].id.as_str(), *k, false)),
        )
        .collect();
    let job_count = jobs.len();
    let done = AtomicUsize::new(0);
    let results: Vec<Result<(&str, NotifyKind, Sent), StoreError>> = stream::iter(jobs)
        .map(|(sku_id, kind, new_change)| {
            let done = &done;
            async move {
                let sent = notify_one(t, notifier, opts, sku_id, kind, new_change).await?;
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if n == job_count || n.is_multiple_of(every) {
                    progress(Stage::Notified, n, job_count);
                }
                Ok((sku_id, kind, sent))
            }
        })
        .buffer_unordered(opts.notify_concurrency.max(1))
        .collect()
        .await;
    for r in results {
        let (sku_id, kind, sent) = r?;
        match sent {
            Sent::Accepted { suggested, .. } => {
                *report.sent.entry(kind).or_default() += 1;
                report.suggested += usize::from(suggested);
            }
            Sent::Retry { reason, .. } => report.failures.push(NotifyFailure {
                sku_id: sku_id.to_string(),
                kind,
                code: "RETRIES_EXHAUSTED".into(),
                reason,
            }),
            Sent::Failed { code, reason } => report.failures.push(NotifyFailure {
                sku_id: sku_id.to_string(),
                kind,
                code,
                reason,
            }),
        }
    }
    report
        .failures
        .sort_by(|a, b| (&a.sku_id, a.kind).cmp(&(&b.sku_id, b.kind)));
    Ok(report)
}

/// Counts the change (unless it is an earlier, pending one), sends with retries, records the
/// send. A final `Retry` means the attempts ran out.
async fn notify_one(
    t: BulkTargets<'_>,
    notifier: &Notifier,
    opts: &BulkOptions,
    sku_id: &str,
    kind: NotifyKind,
    new_change: bool,
) -> Result<Sent, StoreError> {
    let (covers, _) = catalog_notify::update(t.sync, sku_id, |s| {
        let k = s.kind_mut(kind);
        if new_change {
            k.changes += 1;
        }
        k.changes
    })
    .await?;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let sent = notifier.send(sku_id, kind).await;
        match &sent {
            Sent::Accepted { .. } => {
                let at = t.clock.now();
                catalog_notify::update(t.sync, sku_id, |s| s.kind_mut(kind).sent(covers, at))
                    .await?;
                return Ok(sent);
            }
            Sent::Retry { after, .. } if attempt < opts.max_attempts => {
                let pause = after
                    .unwrap_or_else(|| Duration::from_secs(1u64 << attempt.min(6)))
                    .min(opts.max_wait);
                tokio::time::sleep(pause).await;
            }
            _ => return Ok(sent),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::clock::SystemClock;
    use domain::marketplaces::{AccountName, Marketplace, MarketplaceRegistry};
    use embedded_store::EmbeddedStore;
    use embedded_store::marketplaces::SqliteRegistry;
    use lambda_kit::config::Vars;
    use std::collections::BTreeSet;
    use vtex_standin::StandInConfig;

    fn sku(id: &str, channels: &[&str], price: i64) -> domain::catalog::Sku {
        serde_json::from_value(serde_json::json!({
            "id": id,
            "name": format!("SKU {id}"),
            "prices": [{"price": price, "listPrice": price}],
            "stock": {"w1": {"onHand": 5}},
            "salesChannels": channels,
        }))
        .unwrap()
    }

    fn file(skus: Vec<domain::catalog::Sku>) -> CatalogFile {
        CatalogFile {
            version: 1,
            shipping_rules: domain::shipping::ShippingRules::empty(),
            skus,
        }
    }

    /// A load over the registry notifies each SKU to every enabled, notifying marketplace that
    /// sells it, each as its own seller with its own key (the stand-in checks the key against the
    /// account): alpha sells everywhere, beta on channel 2 only, quiet wants no catalog changes,
    /// off is disabled. SKU 2002495 sells on every channel, 77 on channel 1 only.
    #[tokio::test]
    async fn a_load_notifies_every_marketplace_that_sells_each_sku_as_its_own_seller() {
        let accounts: [(&str, &str, &[&str], bool, bool); 4] = [
            ("alpha", "seller-in-alpha", &[], true, true),
            ("beta", "seller-in-beta", &["2"], true, true),
            ("quiet", "seller-in-quiet", &[], false, true),
            ("off", "seller-in-off", &[], true, false),
        ];
        let mut config = StandInConfig::default();
        for (an, ..) in &accounts {
            config = config.with_account(
                an,
                AppCredentials::new(format!("key-{an}"), format!("token-{an}")),
            );
        }
        let (addr, standin) = vtex_standin::serve_with("127.0.0.1:0".parse().unwrap(), config)
            .await
            .unwrap();
        standin
            .state()
            .catalog
            .lock()
            .unwrap()
            .know(["2002495", "77"]);
        let store = EmbeddedStore::open_in_memory().unwrap();
        let table = SqliteRegistry::new(&store).unwrap();
        for (an, seller, channels, notify, enabled) in accounts {
            let secret = format!("local/{an}");
            let value = serde_json::json!({"appKey": format!("key-{an}"), "appToken": format!("token-{an}")});
            table.put_secret(&secret, &value.to_string()).await.unwrap();
            let mut m = Marketplace::new(AccountName::parse(an).unwrap(), seller, secret);
            m.base_url = Some(format!("http://{addr}/{{an}}"));
            m.sales_channels = channels.iter().map(|c| c.to_string()).collect();
            m.notify_catalog = notify;
            m.enabled = enabled;
            table.put(&m).await.unwrap();
        }
        let sync_config = catalog_sync::Config::from_vars(&Vars::from_pairs([
            ("VTEX_SELLER_ID", "not-a-marketplace-seller"),
            ("DEFAULT_AN", "unused"),
            ("VTEX_BASE_URL", "http://127.0.0.1:9/{an}"),
        ]))
        .unwrap();
        let notifier = marketplace_notifier(
            &sync_config,
            Arc::new(CachedRegistry::new(
                Arc::new(table.clone()),
                None,
                Duration::ZERO,
            )),
            Arc::new(table),
            Arc::new(store.clone()),
        )
        .unwrap();
        let targets = BulkTargets {
            catalog: &store,
            writer: &store,
            sync: &store,
            clock: &SystemClock,
            notifier: Some(&notifier),
        };
        let seller = |an: &str| accounts.iter().find(|a| a.0 == an).unwrap().1;
        // (account, SKU) of every call, each checked to carry its account's seller id and key.
        let reached = || -> BTreeSet<(String, String)> {
            standin
                .state()
                .requests()
                .iter()
                .map(|r| {
                    let an = r.account.clone().unwrap_or_default();
                    assert!(r.authorized, "{an}: {} {}", r.method, r.path);
                    assert!(r.path.contains(seller(&an)), "{an}: {}", r.path);
                    let sku = ["2002495", "77"]
                        .into_iter()
                        .find(|s| r.path.contains(&format!("/{s}")))
                        .unwrap_or_else(|| panic!("{}", r.path));
                    (an, sku.to_string())
                })
                .collect()
        };
        let pair = |an: &str, sku: &str| (an.to_string(), sku.to_string());
        let opts = BulkOptions::default();
        let first = file(vec![sku("2002495", &[], 1000), sku("77", &["1"], 500)]);
        let report = run(&first, targets, &opts, &|_, _, _| {}).await.unwrap();
        assert!(report.failures.is_empty(), "{:?}", report.failures);
        assert_eq!(
            reached(),
            BTreeSet::from([
                pair("alpha", "2002495"),
                pair("alpha", "77"),
                pair("beta", "2002495")
            ])
        );
        // A price change of 77 alone reaches alpha alone, as its own seller.
        standin.state().reset();
        let second = file(vec![sku("2002495", &[], 1000), sku("77", &["1"], 450)]);
        let report = run(&second, targets, &opts, &|_, _, _| {}).await.unwrap();
        assert!(report.failures.is_empty(), "{:?}", report.failures);
        assert_eq!(report.sent.get(&NotifyKind::Price), Some(&1));
        let journal: Vec<String> = standin
            .state()
            .requests()
            .iter()
            .map(|r| format!("{:?} {} {}", r.account, r.method, r.path))
            .collect();
        assert_eq!(
            journal,
            vec![
                "Some(\"alpha\") POST /api/notificator/seller-in-alpha/changenotification/77/price"
            ]
        );
    }
}
