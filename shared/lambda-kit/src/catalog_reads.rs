//! The simulation's store reads: the shipping rules through a refresh cache ([`RulesCache`]) and
//! the cart's SKUs, both within a time budget ([`load_shared`]; shared/docs/protocol.md
//! §Simulation: VTEX gives a seller 2.5 s).

use chrono::{DateTime, Utc};
use domain::catalog::{Sku, SkuId};
use domain::ports::{CatalogReader, StoreError};
use domain::shipping::ShippingRules;
use domain::simulation::SkuLookup;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The shipping rules, read from the store at most once per refresh period. When a refresh fails,
/// the previous rules keep being served (they change rarely; an answer with yesterday's freight
/// beats no answer).
#[derive(Debug)]
pub struct RulesCache {
    refresh: chrono::Duration,
    current: RwLock<Option<CachedRules>>,
    /// One refresh at a time; the others wait for it (or serve stale rules when the budget ends).
    refreshing: tokio::sync::Mutex<()>,
}

#[derive(Debug, Clone)]
struct CachedRules {
    rules: Arc<ShippingRules>,
    fetched_at: DateTime<Utc>,
}

impl RulesCache {
    pub fn new(refresh_secs: u32) -> Self {
        RulesCache {
            refresh: chrono::Duration::seconds(i64::from(refresh_secs)),
            current: RwLock::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    fn cached(&self) -> Option<CachedRules> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn fresh(&self, now: DateTime<Utc>) -> Option<Arc<ShippingRules>> {
        self.cached()
            .filter(|c| now - c.fetched_at < self.refresh && c.fetched_at <= now)
            .map(|c| c.rules)
    }

    /// The rules to quote with, or `None` when none could be read (nothing cached and the store
    /// failed or timed out by `deadline`). Rules missing from the store are cached as empty rules,
    /// so every item is unavailable until a seller loads them.
    pub async fn get(
        &self,
        catalog: &dyn CatalogReader,
        now: DateTime<Utc>,
        deadline: tokio::time::Instant,
    ) -> Option<Arc<ShippingRules>> {
        if let Some(rules) = self.fresh(now) {
            return Some(rules);
        }
        let stale = || self.cached().map(|c| c.rules);
        let Ok(_guard) = tokio::time::timeout_at(deadline, self.refreshing.lock()).await else {
            return stale();
        };
        if let Some(rules) = self.fresh(now) {
            return Some(rules);
        }
        match tokio::time::timeout_at(deadline, catalog.shipping_rules()).await {
            Ok(Ok(found)) => {
                let rules = Arc::new(found.unwrap_or_else(|| {
                    tracing::error!("no shipping rules in the store: every item is unavailable");
                    ShippingRules::empty()
                }));
                let problems = rules.validate();
                if !problems.is_empty() {
                    tracing::warn!(problems = ?problems, "shipping rules have problems");
                }
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(CachedRules {
                    rules: rules.clone(),
                    fetched_at: now,
                });
                Some(rules)
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, stale = self.cached().is_some(), "shipping rules refresh failed");
                stale()
            }
            Err(_) => {
                tracing::warn!(
                    stale = self.cached().is_some(),
                    "shipping rules refresh timed out"
                );
                stale()
            }
        }
    }
}

/// Reads the cart's SKUs ([`CatalogReader::get_skus_shared`]) and the rules concurrently within
/// the store budget: what the simulation reads. On failure the lookup is empty (every item
/// unavailable) and the reason is returned for the log.
pub async fn load_shared(
    catalog: &dyn CatalogReader,
    rules: &RulesCache,
    ids: &[SkuId],
    now: DateTime<Utc>,
    budget: Duration,
) -> (
    Arc<dyn SkuLookup>,
    Option<Arc<ShippingRules>>,
    Option<String>,
) {
    let empty = || -> Arc<dyn SkuLookup> { Arc::new(HashMap::<SkuId, Sku>::new()) };
    let deadline = tokio::time::Instant::now() + budget;
    let skus = async {
        if ids.is_empty() {
            return Ok(Ok(empty()));
        }
        tokio::time::timeout_at(deadline, catalog.get_skus_shared(ids)).await
    };
    let rules = rules.get(catalog, now, deadline);
    let (skus, rules) = tokio::join!(skus, rules);
    let (skus, mut failure) = match skus {
        Ok(Ok(found)) => (found, None),
        Ok(Err(e)) => (empty(), Some(describe(&e))),
        Err(_) => (
            empty(),
            Some(format!(
                "SKU read exceeded the {} ms budget",
                budget.as_millis()
            )),
        ),
    };
    if rules.is_none() && failure.is_none() {
        failure = Some("shipping rules could not be read".to_string());
    }
    (skus, rules, failure)
}

fn describe(e: &StoreError) -> String {
    format!("SKU read failed: {e}")
}
