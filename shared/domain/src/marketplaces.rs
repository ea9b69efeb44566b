//! Port: the marketplace registry. One stack sells on several VTEX marketplaces; each marketplace
//! account (`an`) gave us our own seller id there, its own app key and token (a secret, by name),
//! its own sales channels and price lists. Every outbound call picks its credentials, base URL and
//! seller id here by the order's `an`, and an account that is not registered (or disabled) is
//! refused: inbound with a 4xx, outbound parked with the reason; never sent with another account's
//! credentials.
//!
//! # The built-in entry
//!
//! The stack's single-marketplace parameters (`VtexAccount` or `DefaultAccountName`,
//! `VtexSellerId`, `VtexCredentialsSecretArn`, `VtexBaseUrl`) remain one registry entry, built in
//! ([`CachedRegistry::new`]'s `builtin`): a single-marketplace deployment keeps working with an
//! empty table. An entry in the table for the same account replaces the built-in one (so the
//! built-in account can be disabled or moved to another secret with the CLI); the table adds more.
//!
//! # Reads
//!
//! Functions read the registry through [`CachedRegistry`]: the whole list once, kept
//! [`DEFAULT_CACHE_TTL`], then read again. A registration, a disable or a rotated secret therefore
//! takes effect within that time in every warm function. When the store fails, the last list read
//! keeps answering (a registry outage does not stop dispatch of registered accounts).
//!
//! Adapters: [`MemoryRegistry`] (tests, feature `test-support`),
//! `embedded_store::marketplaces::SqliteRegistry`, `aws_adapters::marketplaces::DynamoRegistry`.
//! Their shared contract: [`contract`].

use crate::outbound::path_id_problem;
use crate::ports::StoreError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a function keeps the registry's list before reading it again.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(60);

/// Longest VTEX account name (a DNS label).
pub const MAX_ACCOUNT_LEN: usize = 63;

/// A VTEX account name (`an`): a host label, `[a-z0-9-]`, 1 to 63 characters, not starting or
/// ending with `-`. Parsed in lower case (host names are case-insensitive, and the registry is
/// keyed by it), so `MarketplaceDemo` and `marketplacedemo` are one account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountName(String);

impl AccountName {
    /// The account named `text` (trimmed, lower-cased), or why it is not one. The reason never
    /// quotes the text (it may come from any caller).
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let name = text.trim().to_ascii_lowercase();
        if name.is_empty() {
            Err("is empty")
        } else if name.len() > MAX_ACCOUNT_LEN {
            Err("is longer than 63 characters")
        } else if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            Err("is not a host label (letters, digits and -)")
        } else if name.starts_with('-') || name.ends_with('-') {
            Err("starts or ends with -")
        } else {
            Ok(AccountName(name))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AccountName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        AccountName::parse(&s).map_err(|why| format!("account name {why}"))
    }
}

impl From<AccountName> for String {
    fn from(a: AccountName) -> String {
        a.0
    }
}

impl fmt::Display for AccountName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which of our price lists a marketplace's sales channel sells at: the `an`/`sc` of the catalog's
/// price rows (`shared/sample/README.md`) is looked up with `price_list` in place of the
/// marketplace's own sales channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceList {
    pub sales_channel: String,
    pub price_list: String,
}

/// One marketplace account we sell on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Marketplace {
    pub account: AccountName,
    /// Our seller id in this marketplace (the catalog, notificator and suggestion paths carry it).
    pub seller_id: String,
    /// The secret (Secrets Manager ARN or name; locally, a name in the embedded store) holding this
    /// account's `{"appKey", "appToken"}`. Never the value.
    pub credentials_secret: String,
    /// The marketplace's sales channels we sell on; empty = every one. A SKU is notified to this
    /// marketplace when it sells on one of them ([`Marketplace::sells_on`]).
    #[serde(default)]
    pub sales_channels: Vec<String>,
    #[serde(default)]
    pub price_lists: Vec<PriceList>,
    /// OMS / catalog base URL, `{an}` replaced by the account; `None` = VTEX production
    /// (`https://{an}.vtexcommercestable.com.br`).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Whether catalog changes (price, inventory, SKU) are notified to this marketplace.
    pub notify_catalog: bool,
    pub enabled: bool,
}

impl Marketplace {
    /// A new, enabled entry that notifies catalog changes, every sales channel, production URL.
    pub fn new(
        account: AccountName,
        seller_id: impl Into<String>,
        credentials_secret: impl Into<String>,
    ) -> Self {
        Marketplace {
            account,
            seller_id: seller_id.into(),
            credentials_secret: credentials_secret.into(),
            sales_channels: Vec::new(),
            price_lists: Vec::new(),
            base_url: None,
            notify_catalog: true,
            enabled: true,
        }
    }

    /// What makes this entry unusable, if anything: a seller id that cannot be one URL path
    /// segment, no secret, a base URL that is not http(s), a blank sales channel, a price list
    /// mapping for a sales channel twice.
    pub fn problem(&self) -> Option<String> {
        if let Some(why) = path_id_problem(self.seller_id.trim()) {
            return Some(format!("seller id {why}"));
        }
        if self.credentials_secret.trim().is_empty() {
            return Some("credentials secret is empty".into());
        }
        if let Some(url) = &self.base_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Some("base URL must start with https:// or http://".into());
        }
        if self.sales_channels.iter().any(|s| s.trim().is_empty()) {
            return Some("a sales channel is blank".into());
        }
        let mut seen = std::collections::HashSet::new();
        if self.price_lists.iter().any(|p| {
            p.sales_channel.trim().is_empty()
                || p.price_list.trim().is_empty()
                || !seen.insert(p.sales_channel.as_str())
        }) {
            return Some("price lists: a blank or repeated sales channel".into());
        }
        None
    }

    /// Whether a SKU offered on `sku_channels` (empty = every channel) sells here.
    pub fn sells_on(&self, sku_channels: &[String]) -> bool {
        self.sales_channels.is_empty()
            || sku_channels.is_empty()
            || sku_channels.iter().any(|c| self.sales_channels.contains(c))
    }

    /// Our price list for the marketplace's sales channel `sc` (the channel itself when unmapped).
    pub fn price_list_for<'a>(&'a self, sc: &'a str) -> &'a str {
        self.price_lists
            .iter()
            .find(|p| p.sales_channel == sc)
            .map_or(sc, |p| p.price_list.as_str())
    }
}

/// Why a call for an account is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The `an` is not an account name at all.
    #[error("the marketplace account (an) {0}")]
    Invalid(&'static str),
    #[error(
        "marketplace account {0} is not registered in this stack (register it with `marketplaces add`)"
    )]
    Unregistered(AccountName),
    #[error("marketplace account {0} is disabled in this stack (`marketplaces add` enables it)")]
    Disabled(AccountName),
}

/// The registry. Every adapter passes [`contract`].
#[async_trait]
pub trait MarketplaceRegistry: Send + Sync {
    /// The entry of `account`, enabled or not; `None` when none is stored.
    async fn get(&self, account: &AccountName) -> Result<Option<Marketplace>, StoreError>;

    /// Every entry, enabled or not, sorted by account. A stack has a handful to a few hundred;
    /// adapters read them all.
    async fn list(&self) -> Result<Vec<Marketplace>, StoreError>;

    /// Creates or replaces the entry of `marketplace.account`.
    async fn put(&self, marketplace: &Marketplace) -> Result<(), StoreError>;

    /// Marks the entry disabled and keeps it (its orders' history still names it); `false` when
    /// none is stored. Disabling twice is `true` both times.
    async fn disable(&self, account: &AccountName) -> Result<bool, StoreError>;
}

/// The enabled entry for the order's (or the call's) `an`, or why it is refused. A store failure is
/// `Err`: the caller retries later, it does not refuse.
pub async fn resolve(
    registry: &dyn MarketplaceRegistry,
    an: &str,
) -> Result<Result<Marketplace, Refusal>, StoreError> {
    let account = match AccountName::parse(an) {
        Ok(a) => a,
        Err(why) => return Ok(Err(Refusal::Invalid(why))),
    };
    Ok(admit(&account, registry.get(&account).await?))
}

/// The rule behind [`resolve`], for a caller holding the registry's entry for `account` already
/// (owned, or borrowed from [`CachedRegistry::entries`] so nothing is cloned per request): an
/// entry is served only when it exists and is enabled.
pub fn admit<M: std::borrow::Borrow<Marketplace>>(
    account: &AccountName,
    entry: Option<M>,
) -> Result<M, Refusal> {
    match entry {
        None => Err(Refusal::Unregistered(account.clone())),
        Some(m) if !m.borrow().enabled => Err(Refusal::Disabled(account.clone())),
        Some(m) => Ok(m),
    }
}

/// The registry as the functions read it: the built-in entry under the table's, the list read once
/// per `ttl` (see the module doc). Writes go through to the store and drop the cached list.
pub struct CachedRegistry {
    inner: Arc<dyn MarketplaceRegistry>,
    builtin: Option<Marketplace>,
    ttl: Duration,
    snapshot: Mutex<Option<Snapshot>>,
    /// Held by the first read while nothing was ever read: callers arriving meanwhile (the first
    /// request racing the cold start's read) wait for it rather than read a second time.
    first_read: futures::lock::Mutex<()>,
}

struct Snapshot {
    read_at: Instant,
    entries: Arc<BTreeMap<AccountName, Marketplace>>,
}

impl CachedRegistry {
    pub fn new(
        inner: Arc<dyn MarketplaceRegistry>,
        builtin: Option<Marketplace>,
        ttl: Duration,
    ) -> Self {
        CachedRegistry {
            inner,
            builtin,
            ttl,
            snapshot: Mutex::new(None),
            first_read: futures::lock::Mutex::new(()),
        }
    }

    /// Every entry, built-in included (unless the table replaces it), by account.
    pub async fn entries(&self) -> Result<Arc<BTreeMap<AccountName, Marketplace>>, StoreError> {
        let fresh = || {
            let guard = self.snapshot.lock().unwrap_or_else(|e| e.into_inner());
            match guard.as_ref() {
                Some(s) if s.read_at.elapsed() < self.ttl => Ok(s.entries.clone()),
                Some(s) => Err(Some(s.entries.clone())),
                None => Err(None),
            }
        };
        let stale = match fresh() {
            Ok(entries) => return Ok(entries),
            Err(stale) => stale,
        };
        let _first = match stale {
            None => {
                let guard = self.first_read.lock().await;
                if let Ok(entries) = fresh() {
                    return Ok(entries);
                }
                Some(guard)
            }
            Some(_) => None,
        };
        // Read outside the lock: two callers may both read at expiry, which costs one extra
        // read and never blocks a caller behind another's store call.
        match self.inner.list().await {
            Ok(listed) => {
                let mut entries = BTreeMap::new();
                if let Some(b) = &self.builtin {
                    entries.insert(b.account.clone(), b.clone());
                }
                for m in listed {
                    entries.insert(m.account.clone(), m);
                }
                let entries = Arc::new(entries);
                *self.snapshot.lock().unwrap_or_else(|e| e.into_inner()) = Some(Snapshot {
                    read_at: Instant::now(),
                    entries: entries.clone(),
                });
                Ok(entries)
            }
            Err(e) => match stale {
                Some(entries) => {
                    tracing::warn!(error = %e, "marketplace registry read failed; the last list read answers");
                    Ok(entries)
                }
                None => Err(e),
            },
        }
    }

    /// Forgets the cached list: the next read goes to the store.
    pub fn invalidate(&self) {
        *self.snapshot.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The enabled entries that want catalog changes, by account.
    pub async fn notifying(&self) -> Result<Vec<Marketplace>, StoreError> {
        Ok(self
            .entries()
            .await?
            .values()
            .filter(|m| m.enabled && m.notify_catalog)
            .cloned()
            .collect())
    }
}

#[async_trait]
impl MarketplaceRegistry for CachedRegistry {
    async fn get(&self, account: &AccountName) -> Result<Option<Marketplace>, StoreError> {
        Ok(self.entries().await?.get(account).cloned())
    }

    async fn list(&self) -> Result<Vec<Marketplace>, StoreError> {
        Ok(self.entries().await?.values().cloned().collect())
    }

    async fn put(&self, marketplace: &Marketplace) -> Result<(), StoreError> {
        self.inner.put(marketplace).await?;
        self.invalidate();
        Ok(())
    }

    /// The built-in entry is disabled by storing a disabled copy of it (the table's entry wins).
    async fn disable(&self, account: &AccountName) -> Result<bool, StoreError> {
        let found = if self.inner.disable(account).await? {
            true
        } else if let Some(b) = self.builtin.as_ref().filter(|b| &b.account == account) {
            let mut off = b.clone();
            off.enabled = false;
            self.inner.put(&off).await?;
            true
        } else {
            false
        };
        self.invalidate();
        Ok(found)
    }
}

/// The value of a secret, read by name: the marketplace credentials of [`Marketplace::credentials_secret`].
/// Adapters: `aws_adapters::secrets::SecretsManagerSource` (cached), the embedded store's local
/// secrets, [`StaticSecrets`]. Errors never quote a value.
#[async_trait]
pub trait SecretSource: Send + Sync {
    async fn secret(&self, name: &str) -> Result<secrecy::SecretString, String>;
}

/// Secrets given at start (local runs, tests): name → value.
#[derive(Default, Clone)]
pub struct StaticSecrets(Arc<Mutex<BTreeMap<String, secrecy::SecretString>>>);

impl fmt::Debug for StaticSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticSecrets(<redacted>)")
    }
}

impl StaticSecrets {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(&self, name: impl Into<String>, value: impl Into<String>) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.into(), secrecy::SecretString::from(value.into()));
    }
}

#[async_trait]
impl SecretSource for StaticSecrets {
    async fn secret(&self, name: &str) -> Result<secrecy::SecretString, String> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
            .ok_or_else(|| "no such secret".to_string())
    }
}

/// The registry of a stack without a marketplaces table: nothing stored, writes refused. With
/// [`CachedRegistry`]'s built-in entry it is the single-marketplace deployment.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTable;

#[async_trait]
impl MarketplaceRegistry for NoTable {
    async fn get(&self, _: &AccountName) -> Result<Option<Marketplace>, StoreError> {
        Ok(None)
    }

    async fn list(&self) -> Result<Vec<Marketplace>, StoreError> {
        Ok(Vec::new())
    }

    async fn put(&self, _: &Marketplace) -> Result<(), StoreError> {
        Err(StoreError::Unavailable(
            "this stack has no marketplaces table (MARKETPLACES_TABLE)".into(),
        ))
    }

    async fn disable(&self, _: &AccountName) -> Result<bool, StoreError> {
        Ok(false)
    }
}

/// Secrets given at start first (the built-in entry's plain `VTEX_APP_KEY` / `VTEX_APP_TOKEN` on
/// a local run), then `then` (Secrets Manager).
pub struct FallbackSecrets {
    pub first: StaticSecrets,
    pub then: Arc<dyn SecretSource>,
}

#[async_trait]
impl SecretSource for FallbackSecrets {
    async fn secret(&self, name: &str) -> Result<secrecy::SecretString, String> {
        match self.first.secret(name).await {
            Ok(v) => Ok(v),
            Err(_) => self.then.secret(name).await,
        }
    }
}

#[cfg(any(test, feature = "test-support"))]
mod memory {
    use super::*;

    /// The registry in memory (tests). Cheap to clone; clones share the entries.
    #[derive(Debug, Default, Clone)]
    pub struct MemoryRegistry(Arc<Mutex<BTreeMap<AccountName, Marketplace>>>);

    impl MemoryRegistry {
        pub fn new() -> Self {
            Self::default()
        }

        pub fn with(entries: impl IntoIterator<Item = Marketplace>) -> Self {
            let r = Self::new();
            for m in entries {
                r.0.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(m.account.clone(), m);
            }
            r
        }
    }

    #[async_trait]
    impl MarketplaceRegistry for MemoryRegistry {
        async fn get(&self, account: &AccountName) -> Result<Option<Marketplace>, StoreError> {
            Ok(self
                .0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(account)
                .cloned())
        }

        async fn list(&self) -> Result<Vec<Marketplace>, StoreError> {
            Ok(self
                .0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .values()
                .cloned()
                .collect())
        }

        async fn put(&self, marketplace: &Marketplace) -> Result<(), StoreError> {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(marketplace.account.clone(), marketplace.clone());
            Ok(())
        }

        async fn disable(&self, account: &AccountName) -> Result<bool, StoreError> {
            let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
            Ok(match map.get_mut(account) {
                Some(m) => {
                    m.enabled = false;
                    true
                }
                None => false,
            })
        }
    }
}

#[cfg(any(test, feature = "test-support"))]
pub use memory::MemoryRegistry;

#[cfg(any(test, feature = "test-support"))]
pub mod contract;

#[cfg(test)]
mod tests {
    use super::*;

    fn an(s: &str) -> AccountName {
        AccountName::parse(s).unwrap()
    }

    #[test]
    fn account_names_are_host_labels_in_lower_case() {
        assert_eq!(an(" MarketplaceDemo ").as_str(), "marketplacedemo");
        for bad in ["", "a.b", "a/b", "-a", "a-", "ä", "a b", &"a".repeat(64)] {
            assert!(AccountName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(AccountName::parse(&"a".repeat(63)).is_ok());
    }

    #[test]
    fn a_sku_sells_where_its_channels_meet_the_marketplace_s() {
        let mut m = Marketplace::new(an("mkp"), "1", "s");
        assert!(m.sells_on(&["9".into()]), "no channels = every channel");
        m.sales_channels = vec!["1".into(), "2".into()];
        assert!(m.sells_on(&["2".into(), "5".into()]));
        assert!(!m.sells_on(&["5".into()]));
        assert!(m.sells_on(&[]), "a SKU without channels sells everywhere");
    }

    #[test]
    fn price_lists_map_a_sales_channel_and_default_to_it() {
        let mut m = Marketplace::new(an("mkp"), "1", "s");
        m.price_lists = vec![PriceList {
            sales_channel: "1".into(),
            price_list: "3".into(),
        }];
        assert_eq!(m.price_list_for("1"), "3");
        assert_eq!(m.price_list_for("2"), "2");
    }

    #[test]
    fn unusable_entries_say_why() {
        let ok = Marketplace::new(an("mkp"), "seller1", "arn:secret");
        assert_eq!(ok.problem(), None);
        let mut m = ok.clone();
        m.seller_id = "a/b".into();
        assert!(m.problem().unwrap().contains("seller id"));
        let mut m = ok.clone();
        m.credentials_secret = " ".into();
        assert!(m.problem().is_some());
        let mut m = ok.clone();
        m.base_url = Some("ftp://x".into());
        assert!(m.problem().is_some());
        let mut m = ok;
        m.price_lists = vec![
            PriceList {
                sales_channel: "1".into(),
                price_list: "a".into(),
            },
            PriceList {
                sales_channel: "1".into(),
                price_list: "b".into(),
            },
        ];
        assert!(m.problem().is_some());
    }

    /// A registry whose `list` counts its calls and holds each until released.
    struct Slow {
        inner: MemoryRegistry,
        lists: std::sync::atomic::AtomicUsize,
        release: tokio::sync::Semaphore,
    }

    #[async_trait::async_trait]
    impl MarketplaceRegistry for Slow {
        async fn get(&self, account: &AccountName) -> Result<Option<Marketplace>, StoreError> {
            self.inner.get(account).await
        }
        async fn list(&self) -> Result<Vec<Marketplace>, StoreError> {
            self.lists.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = self.release.acquire().await.unwrap();
            self.inner.list().await
        }
        async fn put(&self, marketplace: &Marketplace) -> Result<(), StoreError> {
            self.inner.put(marketplace).await
        }
        async fn disable(&self, account: &AccountName) -> Result<bool, StoreError> {
            self.inner.disable(account).await
        }
    }

    /// The cold start's read and the first request racing it: one read of the store, both served.
    #[tokio::test]
    async fn callers_racing_the_first_read_wait_for_it_instead_of_reading_again() {
        let slow = Arc::new(Slow {
            inner: MemoryRegistry::with([Marketplace::new(an("on"), "1", "s")]),
            lists: Default::default(),
            release: tokio::sync::Semaphore::new(0),
        });
        let cached = Arc::new(CachedRegistry::new(
            slow.clone(),
            None,
            Duration::from_secs(60),
        ));
        let callers: Vec<_> = (0..3)
            .map(|_| {
                let cached = cached.clone();
                tokio::spawn(async move { cached.entries().await.unwrap().len() })
            })
            .collect();
        while slow.lists.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        slow.release.add_permits(3);
        for caller in callers {
            assert_eq!(caller.await.unwrap(), 1);
        }
        assert_eq!(slow.lists.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn resolve_refuses_unregistered_disabled_and_invalid_accounts() {
        let mut off = Marketplace::new(an("off"), "1", "s");
        off.enabled = false;
        let reg = MemoryRegistry::with([Marketplace::new(an("on"), "1", "s"), off]);
        assert!(resolve(&reg, "ON").await.unwrap().is_ok());
        assert_eq!(
            resolve(&reg, "off").await.unwrap(),
            Err(Refusal::Disabled(an("off")))
        );
        assert_eq!(
            resolve(&reg, "third").await.unwrap(),
            Err(Refusal::Unregistered(an("third")))
        );
        assert!(matches!(
            resolve(&reg, "evil.com/x").await.unwrap(),
            Err(Refusal::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn the_cache_serves_the_builtin_under_the_table_and_rereads_after_its_ttl() {
        let table = MemoryRegistry::new();
        let builtin = Marketplace::new(an("home"), "1", "builtin-secret");
        let cached = CachedRegistry::new(
            Arc::new(table.clone()),
            Some(builtin.clone()),
            Duration::from_secs(3600),
        );
        assert_eq!(
            cached.get(&an("home")).await.unwrap(),
            Some(builtin.clone())
        );
        // A write behind the cache's back is not seen until the list is read again.
        table
            .put(&Marketplace::new(an("second"), "2", "s2"))
            .await
            .unwrap();
        assert_eq!(cached.get(&an("second")).await.unwrap(), None);
        cached.invalidate();
        assert!(cached.get(&an("second")).await.unwrap().is_some());
        // The table's entry replaces the built-in one; disabling the built-in stores a copy.
        assert!(cached.disable(&an("home")).await.unwrap());
        let home = cached.get(&an("home")).await.unwrap().unwrap();
        assert!(!home.enabled);
        assert_eq!(home.credentials_secret, "builtin-secret");
        assert!(!cached.disable(&an("nobody")).await.unwrap());
        let notifying: Vec<_> = cached
            .notifying()
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.account)
            .collect();
        assert_eq!(notifying, vec![an("second")]);
    }

    #[tokio::test]
    async fn a_zero_ttl_reads_every_time() {
        let table = MemoryRegistry::new();
        let cached = CachedRegistry::new(Arc::new(table.clone()), None, Duration::ZERO);
        assert!(cached.list().await.unwrap().is_empty());
        table
            .put(&Marketplace::new(an("mkp"), "1", "s"))
            .await
            .unwrap();
        assert_eq!(cached.list().await.unwrap().len(), 1);
    }
}
