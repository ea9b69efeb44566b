//! Where the local runner's outbound VTEX calls go, and the marketplaces it serves:
//! - by default an in-process stand-in for VTEX on `STANDIN_PORT` (default `PORT + 1`) that records
//!   every call (`GET /_standin/requests`), with two marketplace accounts registered against it
//!   ([`LOCAL_MARKETPLACES`]: each its own seller id and credentials, served under
//!   `http://127.0.0.1:STANDIN_PORT/{an}`); the registry and their secrets live in the embedded
//!   store, so the `marketplaces` CLI (`--store`) adds more;
//! - `VTEX_BASE_URL` with `VTEX_APP_KEY` / `VTEX_APP_TOKEN` (e.g. a sandbox account): the
//!   single-marketplace variables are the built-in registry entry (`VTEX_ACCOUNT` or `DEFAULT_AN`);
//!   with neither set, any account is sent to `VTEX_BASE_URL` with those credentials (one target
//!   standing for every account, as seller-check's fake OMS does).

use crate::config::LocalConfig;
use async_trait::async_trait;
use domain::marketplaces::{
    AccountName, CachedRegistry, FallbackSecrets, Marketplace, MarketplaceRegistry, SecretSource,
    StaticSecrets,
};
use domain::ports::StoreError;
use embedded_store::marketplaces::SqliteRegistry;
use lambda_kit::config::{Marketplaces, PLAIN_CREDENTIALS_SECRET, Vars};
use std::sync::Arc;
use std::time::Duration;
use vtex::accounts::{AccountClients, MarketplaceCatalogs};
use vtex::catalog::CatalogClient;
use vtex::client::{AppCredentials, VtexClient};

/// The marketplaces the runner registers against its stand-in: `(an, our seller id there, app
/// key, app token)`. The README's walkthrough places an order on each.
pub const LOCAL_MARKETPLACES: [(&str, &str, &str, &str); 2] = [
    (
        "marketplacedemo",
        "1",
        "vtexappkey-marketplacedemo-LOCAL",
        "marketplacedemo-token",
    ),
    (
        "luxstore",
        "externalseller42",
        "vtexappkey-luxstore-LOCAL",
        "luxstore-token",
    ),
];

/// The account of calls naming none, locally (placements without `?an=`).
pub const LOCAL_DEFAULT_AN: &str = "marketplacedemo";

/// How long the runner keeps the registry's list: short, so a `marketplaces` CLI change shows at
/// once.
const LOCAL_CACHE_TTL: Duration = Duration::from_secs(2);

pub struct Outbound {
    /// The unprefixed target: the seller's own account (import flow).
    pub base_url: String,
    pub credentials: AppCredentials,
    /// Base URL template of the marketplaces that name none.
    pub marketplace_base_url: String,
    /// The marketplace registry, as the functions read it.
    pub registry: Arc<dyn MarketplaceRegistry>,
    /// The same, listable: the marketplaces catalog changes go to (`None`: the single target of
    /// [`Outbound::catalog_config`]).
    pub catalog_registry: Option<Arc<CachedRegistry>>,
    /// The secrets the registry's entries name.
    pub secrets: Arc<dyn SecretSource>,
    /// `DEFAULT_AN`, else [`LOCAL_DEFAULT_AN`] when the stand-in plays VTEX.
    pub default_an: Option<String>,
}

impl Outbound {
    /// The catalog sync's settings: the environment's, with the outbound target filled in and, for
    /// the stand-in, a seller id and marketplace account so nothing else needs setting.
    pub fn catalog_config(&self) -> Result<catalog_sync::Config, String> {
        let mut vars = Vars::env();
        vars.or_set("VTEX_BASE_URL", &self.base_url);
        vars.or_set("VTEX_SUGGESTIONS_BASE_URL", &self.base_url);
        vars.or_set("VTEX_SELLER_ID", "1");
        vars.or_set("VTEX_ACCOUNT", LOCAL_DEFAULT_AN);
        catalog_sync::Config::from_vars(&vars).map_err(|e| e.to_string())
    }

    /// The import worker's settings: the environment's, with the seller's own account pointed at
    /// the outbound target and the marketplace-services endpoint at this runner.
    pub fn import_config(
        &self,
        cfg: &LocalConfig,
        auth: &lambda_kit::auth::InboundAuth,
    ) -> Result<order_import::Config, String> {
        let mse = match &auth.path_secret {
            Some(secret) => format!("http://127.0.0.1:{}/{}", cfg.port, secret.expose()),
            None => format!("http://127.0.0.1:{}", cfg.port),
        };
        let mut vars = Vars::env();
        vars.or_set("IMPORT_VTEX_BASE_URL", &self.base_url);
        vars.or_set("IMPORT_VTEX_ACCOUNT", "localseller");
        vars.or_set("IMPORT_MSE_URL", mse);
        // The stand-in's default grace period is 5 s; don't wait 30 minutes locally.
        vars.or_set("IMPORT_GRACE_SECONDS", "5");
        vars.or_set("IMPORT_NOT_READY_RETRY_SECONDS", "5");
        let config = order_import::Config::from_vars(&vars).map_err(|e| e.to_string())?;
        config.check().map_err(|e| e.to_string())?;
        Ok(config)
    }

    /// A client of the unprefixed target (the seller's own account).
    pub fn client(&self, timeout: Duration) -> Result<VtexClient, String> {
        VtexClient::with_timeout(self.base_url.clone(), self.credentials.clone(), timeout)
            .map_err(|e| e.to_string())
    }

    /// The catalog notifier over every notifying marketplace (each its own seller id and key), or
    /// `None` when the runner has a single target.
    pub fn marketplace_catalogs(
        &self,
        config: &catalog_sync::Config,
        catalog: Arc<dyn domain::ports::CatalogReader>,
    ) -> Result<Option<MarketplaceCatalogs>, String> {
        let Some(registry) = self.catalog_registry.clone() else {
            return Ok(None);
        };
        let pool = CatalogClient::new(
            &config.endpoints(),
            AppCredentials::new("", ""),
            config.vtex_timeout,
        )
        .map_err(|e| e.to_string())?;
        Ok(Some(MarketplaceCatalogs::new(
            registry,
            self.secrets.clone(),
            catalog,
            pool,
            self.marketplace_base_url.clone(),
            Some(config.suggestions_base_url.clone()),
            config.suggestion_settings(),
            config
                .coalescing
                .window
                .to_std()
                .unwrap_or(Duration::from_secs(60)),
        )))
    }

    /// The marketplaces' OMS, each call with the credentials of the order's own account.
    pub fn marketplace_oms(&self, timeout: Duration) -> Result<AccountClients, String> {
        let base = VtexClient::without_credentials(self.marketplace_base_url.clone(), timeout)
            .map_err(|e| e.to_string())?
            .with_default_account(self.default_an.clone());
        Ok(AccountClients::new(
            self.registry.clone(),
            self.secrets.clone(),
            base,
        ))
    }
}

/// Returns the outbound target and, when it is the stand-in, the handle that keeps it running.
pub async fn start(
    cfg: &LocalConfig,
    store: &embedded_store::EmbeddedStore,
) -> Result<(Outbound, Option<vtex_standin::ServerHandle>), String> {
    let table = SqliteRegistry::new(store).map_err(|e| e.to_string())?;
    let vars = Vars::env();
    let default_an = vars.get("DEFAULT_AN").map(str::to_string);
    if let Some(base_url) = cfg.vtex_base_url.clone() {
        let (Some(key), Some(token)) = (cfg.vtex_app_key.clone(), cfg.vtex_app_token.clone())
        else {
            return Err("VTEX_BASE_URL is set: also set VTEX_APP_KEY and VTEX_APP_TOKEN".into());
        };
        tracing::info!(%base_url, "outbound VTEX calls go to VTEX_BASE_URL");
        let credentials = AppCredentials::new(key, token);
        let m = Marketplaces::from_vars(&vars).map_err(|e| e.to_string())?;
        let plain = StaticSecrets::new();
        if let Some(v) = &m.plain_credentials {
            plain.set(PLAIN_CREDENTIALS_SECRET, v.clone());
        }
        let inner: Arc<dyn MarketplaceRegistry> = if m.builtin.is_some() {
            Arc::new(table.clone())
        } else {
            tracing::warn!(
                "no VTEX_ACCOUNT or DEFAULT_AN: every marketplace account goes to VTEX_BASE_URL with VTEX_APP_KEY"
            );
            Arc::new(EveryAccount {
                seller_id: vars.get("VTEX_SELLER_ID").unwrap_or("1").to_string(),
                base_url: base_url.clone(),
            })
        };
        let cached = m
            .builtin
            .map(|b| Arc::new(CachedRegistry::new(inner.clone(), Some(b), LOCAL_CACHE_TTL)));
        return Ok((
            Outbound {
                base_url: base_url.clone(),
                credentials,
                marketplace_base_url: base_url,
                registry: match &cached {
                    Some(c) => c.clone(),
                    None => inner,
                },
                catalog_registry: cached,
                secrets: Arc::new(FallbackSecrets {
                    first: plain,
                    then: Arc::new(table),
                }),
                default_an,
            },
            None,
        ));
    }
    let port = cfg
        .standin_port
        .unwrap_or_else(|| cfg.port.checked_add(1).unwrap_or(0));
    let mut standin = vtex_standin::StandInConfig::default();
    for (an, _, key, token) in LOCAL_MARKETPLACES {
        standin = standin.with_account(an, AppCredentials::new(key, token));
    }
    let (addr, handle) = vtex_standin::serve_with(([127, 0, 0, 1], port).into(), standin)
        .await
        .map_err(|e| format!("cannot start the VTEX stand-in on port {port}: {e}"))?;
    let base_url = format!("http://{addr}");
    let marketplace_base_url = format!("{base_url}/{{an}}");
    register_local_marketplaces(&table, &marketplace_base_url)
        .await
        .map_err(|e| format!("cannot register the local marketplaces: {e}"))?;
    tracing::info!(url = %base_url, "VTEX stand-in running; see what it received at {base_url}/_standin/requests");
    let credentials = handle.credentials();
    let registry = Arc::new(CachedRegistry::new(
        Arc::new(table.clone()),
        None,
        LOCAL_CACHE_TTL,
    ));
    Ok((
        Outbound {
            base_url,
            credentials,
            marketplace_base_url,
            registry: registry.clone(),
            catalog_registry: Some(registry),
            secrets: Arc::new(table),
            default_an: default_an.or_else(|| Some(LOCAL_DEFAULT_AN.to_string())),
        },
        Some(handle),
    ))
}

/// Registers [`LOCAL_MARKETPLACES`] against the stand-in at `base_url` (`…/{an}`), their
/// credentials as local secrets `local/{an}`. Each start writes them again (the stand-in's port
/// may have changed), keeping whether an operator disabled one.
async fn register_local_marketplaces(
    table: &SqliteRegistry,
    base_url: &str,
) -> Result<(), StoreError> {
    for (an, seller_id, key, token) in LOCAL_MARKETPLACES {
        let account = AccountName::parse(an).map_err(|w| StoreError::Corrupt(w.into()))?;
        let secret = format!("local/{an}");
        let value = serde_json::json!({ "appKey": key, "appToken": token }).to_string();
        table.put_secret(&secret, &value).await?;
        let enabled = table.get(&account).await?.is_none_or(|m| m.enabled);
        let mut m = Marketplace::new(account, seller_id, secret);
        m.base_url = Some(base_url.to_string());
        m.enabled = enabled;
        table.put(&m).await?;
    }
    Ok(())
}

/// Every valid account, sent to one target with the plain credentials: the local runner against
/// a single fake OMS that stands for all of them (seller-check), when no account is configured.
struct EveryAccount {
    seller_id: String,
    base_url: String,
}

#[async_trait]
impl MarketplaceRegistry for EveryAccount {
    async fn get(&self, account: &AccountName) -> Result<Option<Marketplace>, StoreError> {
        let mut m = Marketplace::new(
            account.clone(),
            self.seller_id.clone(),
            PLAIN_CREDENTIALS_SECRET,
        );
        m.base_url = Some(self.base_url.clone());
        Ok(Some(m))
    }

    async fn list(&self) -> Result<Vec<Marketplace>, StoreError> {
        Ok(Vec::new())
    }

    async fn put(&self, _: &Marketplace) -> Result<(), StoreError> {
        Err(StoreError::Unavailable(
            "no registry: set VTEX_ACCOUNT or DEFAULT_AN".into(),
        ))
    }

    async fn disable(&self, _: &AccountName) -> Result<bool, StoreError> {
        Ok(false)
    }
}

/// VTEX holds every order it places with the seller before it calls `/pvt/orders`. When the
/// stand-in plays VTEX, the runner hands it each placement body it takes, so invoices and tracking
/// of those orders find them there (and a call about any other order is a 404, as at OMS). The
/// stand-in computes the value itself from the body. A body that is no placement is left to the
/// placement handler to refuse.
pub fn register_placement(standin: Option<&vtex_standin::Shared>, body: &[u8]) {
    let Some(standin) = standin else {
        return;
    };
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    match standin.place(&body) {
        Ok(orders) => tracing::debug!(
            orders = orders.len(),
            "VTEX stand-in holds the placed orders"
        ),
        Err(e) => tracing::debug!(error = %e, "VTEX stand-in: not a placement body"),
    }
}
