//! Outbound calls per marketplace account: every call picks the account's own base URL and
//! credentials from the registry ([`domain::marketplaces`]) by the order's `an`.
//!
//! - [`AccountClients`] is the [`MarketplaceOms`] the dispatch worker uses: an account that is not
//!   registered, or disabled, is a [`CallError`] (the worker logs it and parks the message with the
//!   reason, `VTEX_CONFIG`); nothing is sent, least of all with another account's credentials. A
//!   registry or secret read that fails is a retryable outcome (the message comes back later).
//! - [`catalog_notifier`] builds one marketplace's catalog notifier (its seller id, its base URL,
//!   its credentials) for the catalog sync's fan-out.
//! - [`register_seller`]: the Seller Register API call of the `marketplaces add` CLI.
//!
//! Credentials are the secret the entry names (`{"appKey", "appToken"}`), read through a
//! [`SecretSource`] (Secrets Manager, cached, in Lambda; the embedded store locally).

use crate::catalog::{CatalogClient, CatalogEndpoints, PRODUCTION_SUGGESTIONS_BASE_URL};
use crate::client::{AppCredentials, ClientError, VtexClient, read_limited, refusal_excerpt};
use crate::ports::Notificator;
use async_trait::async_trait;
use domain::invoicing::{Invoice, TrackingInfo, TrackingStatus};
use domain::marketplaces::{Marketplace, MarketplaceRegistry, SecretSource, resolve};
use domain::outbound::{CallError, CallOutcome, CallResult, MarketplaceOms, Receipt};
use secrecy::ExposeSecret;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// The credentials `marketplace` names, read through `secrets`. `Ok(Err(reason))` when the read
/// failed (try again later); `Err` when the secret is not usable credentials (configuration).
pub async fn credentials_of(
    secrets: &dyn SecretSource,
    marketplace: &Marketplace,
) -> Result<Result<AppCredentials, String>, ClientError> {
    let text = match secrets.secret(&marketplace.credentials_secret).await {
        Ok(t) => t,
        Err(e) => {
            return Ok(Err(format!(
                "credentials of marketplace account {} could not be read: {e}",
                marketplace.account
            )));
        }
    };
    AppCredentials::from_secret_json(text.expose_secret())
        .map(Ok)
        .map_err(|e| {
            ClientError::Config(format!(
                "credentials of marketplace account {}: {e}",
                marketplace.account
            ))
        })
}

/// What a call for an account resolves to.
pub enum AccountClient {
    /// The enabled entry and a client with its base URL and credentials.
    Ready(Box<Marketplace>, VtexClient),
    /// The registry or the secret could not be read: try again later.
    Later(String),
}

/// The OMS of every registered marketplace, by account. Cheap to share (`Arc`).
pub struct AccountClients {
    registry: Arc<dyn MarketplaceRegistry>,
    secrets: Arc<dyn SecretSource>,
    /// Connection pool, timeout, the default account, and the base URL of entries that name none.
    base: VtexClient,
}

impl AccountClients {
    pub fn new(
        registry: Arc<dyn MarketplaceRegistry>,
        secrets: Arc<dyn SecretSource>,
        base: VtexClient,
    ) -> Self {
        AccountClients {
            registry,
            secrets,
            base,
        }
    }

    /// The client for `an` (blank: the default account), or why not. An unregistered, disabled or
    /// invalid account is `Err` with the reason: never a client with other credentials.
    pub async fn client_for(&self, an: &str) -> Result<AccountClient, CallError> {
        let an = Some(an.trim())
            .filter(|a| !a.is_empty())
            .or(self.base.default_account())
            .unwrap_or("");
        let marketplace = match resolve(self.registry.as_ref(), an).await {
            Err(e) => {
                return Ok(AccountClient::Later(format!(
                    "marketplace registry unavailable: {e}"
                )));
            }
            Ok(Err(refusal)) => return Err(CallError::Config(refusal.to_string())),
            Ok(Ok(m)) => m,
        };
        let creds = match credentials_of(self.secrets.as_ref(), &marketplace).await? {
            Ok(c) => c,
            Err(reason) => return Ok(AccountClient::Later(reason)),
        };
        let base_url = marketplace
            .base_url
            .as_deref()
            .unwrap_or(self.base.base_url_template());
        let client = self.base.for_account(base_url, creds)?;
        Ok(AccountClient::Ready(Box::new(marketplace), client))
    }

    /// Runs `call` with the account's client; a registry or secret outage answers retryable.
    async fn with<T, F, Fut>(&self, an: &str, call: F) -> CallResult<T>
    where
        F: FnOnce(VtexClient, String) -> Fut,
        Fut: std::future::Future<Output = CallResult<T>>,
    {
        match self.client_for(an).await? {
            AccountClient::Later(reason) => Ok(CallOutcome::Retryable {
                retry_after: None,
                reason,
            }),
            AccountClient::Ready(m, client) => call(client, m.account.to_string()).await,
        }
    }
}

#[async_trait]
impl MarketplaceOms for AccountClients {
    async fn invoice(
        &self,
        an: &str,
        marketplace_order_id: &str,
        invoice: &Invoice,
    ) -> CallResult<Receipt> {
        self.with(an, |c, an| async move {
            c.invoice(&an, marketplace_order_id, invoice).await
        })
        .await
    }

    async fn tracking(
        &self,
        an: &str,
        marketplace_order_id: &str,
        invoice_number: &str,
        tracking: &TrackingInfo,
    ) -> CallResult<Receipt> {
        self.with(an, |c, an| async move {
            c.tracking(&an, marketplace_order_id, invoice_number, tracking)
                .await
        })
        .await
    }

    async fn tracking_events(
        &self,
        an: &str,
        marketplace_order_id: &str,
        invoice_number: &str,
        status: &TrackingStatus,
    ) -> CallResult<Receipt> {
        self.with(an, |c, an| async move {
            c.tracking_events(&an, marketplace_order_id, invoice_number, status)
                .await
        })
        .await
    }

    async fn cancel(
        &self,
        an: &str,
        marketplace_order_id: &str,
        reason: &str,
    ) -> CallResult<Receipt> {
        self.with(an, |c, an| async move {
            c.cancel(&an, marketplace_order_id, reason).await
        })
        .await
    }

    async fn order_status(
        &self,
        an: &str,
        marketplace_order_id: &str,
    ) -> CallResult<Option<String>> {
        self.with(an, |c, an| async move {
            c.order_status(&an, marketplace_order_id).await
        })
        .await
    }
}

/// Where one marketplace's catalog calls go: its own base URL when the entry names one (a
/// stand-in or a proxy: suggestions go there too), else `default_base` and `default_suggestions`
/// (VTEX production unless the stack's parameters say otherwise).
pub fn catalog_endpoints(
    marketplace: &Marketplace,
    default_base: &str,
    default_suggestions: Option<&str>,
) -> CatalogEndpoints {
    // An entry's own base (a stand-in, a proxy) serves the suggestions too; the production host
    // does not (they are on api.vtex.com).
    let (base_url, suggestions_base_url) = match &marketplace.base_url {
        Some(b) if b.trim_end_matches('/') != default_base.trim_end_matches('/') => {
            (b.clone(), b.clone())
        }
        _ => (
            default_base.to_string(),
            default_suggestions
                .unwrap_or(PRODUCTION_SUGGESTIONS_BASE_URL)
                .to_string(),
        ),
    };
    CatalogEndpoints {
        base_url,
        suggestions_base_url,
        account: marketplace.account.to_string(),
        seller_id: marketplace.seller_id.clone(),
    }
}

/// One marketplace's catalog client with its own seller id and credentials.
pub fn catalog_client(
    endpoints: &CatalogEndpoints,
    creds: AppCredentials,
    timeout: Duration,
) -> Result<CatalogClient, ClientError> {
    CatalogClient::new(endpoints, creds, timeout)
}

/// One marketplace's notifier (see [`catalog_client`]), suggestions built with `suggestion`.
pub fn catalog_notifier(
    endpoints: &CatalogEndpoints,
    creds: AppCredentials,
    timeout: Duration,
    suggestion: crate::catalog::SuggestionSettings,
) -> Result<Notificator, ClientError> {
    Ok(Notificator {
        client: catalog_client(endpoints, creds, timeout)?,
        suggestion,
    })
}

/// The catalog notifier of a stack that sells on several marketplaces: each notification goes to
/// every enabled marketplace that wants catalog changes and sells the SKU (its sales channels meet
/// the SKU's), each with its own seller id, base URL and credentials; a change notification a
/// marketplace answers 404 is followed by the SKU suggestion to that marketplace only. The
/// outcomes are combined by [`domain::catalog_notify::combine_marketplaces`]. A marketplace that
/// accepted a notification is not sent the same one again within `window` (a retry caused by
/// another marketplace's 429 reaches only the ones still owed it; kept per warm instance).
pub struct MarketplaceCatalogs {
    registry: Arc<domain::marketplaces::CachedRegistry>,
    secrets: Arc<dyn SecretSource>,
    catalog: Arc<dyn domain::ports::CatalogReader>,
    /// Connection pool and timeout of every marketplace's client.
    pool: CatalogClient,
    default_base: String,
    default_suggestions: Option<String>,
    suggestion: crate::catalog::SuggestionSettings,
    window: Duration,
    accepted: std::sync::Mutex<
        std::collections::HashMap<
            (String, domain::catalog_notify::NotifyKind, String),
            std::time::Instant,
        >,
    >,
}

impl MarketplaceCatalogs {
    /// `pool` lends its connection pool and timeout; `default_base` / `default_suggestions` are
    /// the stack's URLs for entries that name none.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        registry: Arc<domain::marketplaces::CachedRegistry>,
        secrets: Arc<dyn SecretSource>,
        catalog: Arc<dyn domain::ports::CatalogReader>,
        pool: CatalogClient,
        default_base: impl Into<String>,
        default_suggestions: Option<String>,
        suggestion: crate::catalog::SuggestionSettings,
        window: Duration,
    ) -> Self {
        MarketplaceCatalogs {
            registry,
            secrets,
            catalog,
            pool,
            default_base: default_base.into(),
            default_suggestions,
            suggestion,
            window,
            accepted: Default::default(),
        }
    }

    fn recently_accepted(
        &self,
        key: &(String, domain::catalog_notify::NotifyKind, String),
    ) -> bool {
        let mut map = self.accepted.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, at| at.elapsed() < self.window);
        map.contains_key(key)
    }

    fn remember(&self, key: (String, domain::catalog_notify::NotifyKind, String)) {
        self.accepted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, std::time::Instant::now());
    }

    /// The client of `m`, or its outcome when none can be had.
    async fn client_of(
        &self,
        m: &Marketplace,
    ) -> Result<CatalogClient, domain::outbound::CatalogOutcome> {
        use domain::outbound::CatalogOutcome;
        let creds = match credentials_of(self.secrets.as_ref(), m).await {
            Ok(Ok(c)) => c,
            Ok(Err(reason)) => {
                return Err(CatalogOutcome::Retryable {
                    retry_after: None,
                    reason,
                });
            }
            Err(e) => {
                return Err(CatalogOutcome::Rejected {
                    status: 0,
                    body: e.to_string(),
                });
            }
        };
        let endpoints =
            catalog_endpoints(m, &self.default_base, self.default_suggestions.as_deref());
        self.pool
            .for_marketplace(&endpoints, creds)
            .map_err(|e| CatalogOutcome::Rejected {
                status: 0,
                body: e.to_string(),
            })
    }

    /// The enabled, notifying marketplaces that sell `sku` (all of them when it is not stored).
    async fn targets(
        &self,
        sku: Option<&domain::catalog::Sku>,
    ) -> Result<Vec<Marketplace>, domain::outbound::CatalogOutcome> {
        let all = self.registry.notifying().await.map_err(|e| {
            domain::outbound::CatalogOutcome::Retryable {
                retry_after: None,
                reason: format!("marketplace registry unavailable: {e}"),
            }
        })?;
        Ok(all
            .into_iter()
            .filter(|m| sku.is_none_or(|s| m.sells_on(&s.sales_channels)))
            .collect())
    }

    async fn sku(
        &self,
        sku_id: &str,
    ) -> Result<Option<domain::catalog::Sku>, domain::outbound::CatalogOutcome> {
        self.catalog.get_sku(sku_id).await.map_err(|e| {
            domain::outbound::CatalogOutcome::Retryable {
                retry_after: None,
                reason: format!("reading the SKU: {e}"),
            }
        })
    }

    async fn suggest_to(
        &self,
        m: &Marketplace,
        client: &CatalogClient,
        sku: Option<&domain::catalog::Sku>,
    ) -> Result<domain::outbound::CatalogOutcome, CallError> {
        use domain::outbound::CatalogOutcome;
        let Some(sku) = sku else {
            return Ok(CatalogOutcome::Rejected {
                status: 404,
                body: "unknown to the marketplace and not in the catalog store".into(),
            });
        };
        // The suggestion names the seller and the marketplace it is made in.
        let settings = crate::catalog::SuggestionSettings {
            seller_id: m.seller_id.clone(),
            account: m.account.to_string(),
            ..self.suggestion.clone()
        };
        match crate::catalog::SuggestionRequest::from_sku(sku, &settings) {
            Ok(body) => client.put_suggestion(&sku.id, &body).await,
            Err(reason) => Ok(CatalogOutcome::Rejected {
                status: 404,
                body: format!("unknown to the marketplace and it cannot be suggested: {reason}"),
            }),
        }
    }
}

#[async_trait]
impl domain::outbound::CatalogNotifier for MarketplaceCatalogs {
    async fn notify(
        &self,
        kind: domain::catalog_notify::NotifyKind,
        sku_id: &str,
    ) -> Result<domain::outbound::CatalogOutcome, CallError> {
        use domain::catalog_notify::NotifyKind;
        use domain::outbound::CatalogOutcome;
        crate::client::check_segment(sku_id)?;
        let sku = match self.sku(sku_id).await {
            Ok(s) => s,
            Err(outcome) => return Ok(outcome),
        };
        let targets = match self.targets(sku.as_ref()).await {
            Ok(t) => t,
            Err(outcome) => return Ok(outcome),
        };
        let mut outcomes = Vec::with_capacity(targets.len());
        for m in targets {
            let key = (m.account.to_string(), kind, sku_id.to_string());
            if self.recently_accepted(&key) {
                continue;
            }
            let client = match self.client_of(&m).await {
                Ok(c) => c,
                Err(outcome) => {
                    outcomes.push((key.0, outcome));
                    continue;
                }
            };
            let mut outcome = client.notify(kind, sku_id).await?;
            if kind == NotifyKind::Catalog && matches!(outcome, CatalogOutcome::NotFound { .. }) {
                outcome = self.suggest_to(&m, &client, sku.as_ref()).await?;
            }
            if matches!(outcome, CatalogOutcome::Accepted { .. }) {
                self.remember(key.clone());
            }
            tracing::info!(account = %key.0, kind = kind.as_str(), outcome = ?outcome, "catalog notification");
            outcomes.push((key.0, outcome));
        }
        Ok(domain::catalog_notify::combine_marketplaces(outcomes))
    }

    async fn suggest(
        &self,
        sku: &domain::catalog::Sku,
    ) -> Result<Result<domain::outbound::CatalogOutcome, String>, CallError> {
        if let Err(reason) = crate::catalog::SuggestionRequest::from_sku(sku, &self.suggestion) {
            return Ok(Err(reason));
        }
        let targets = match self.targets(Some(sku)).await {
            Ok(t) => t,
            Err(outcome) => return Ok(Ok(outcome)),
        };
        let mut outcomes = Vec::with_capacity(targets.len());
        for m in targets {
            let outcome = match self.client_of(&m).await {
                Ok(client) => self.suggest_to(&m, &client, Some(sku)).await?,
                Err(outcome) => outcome,
            };
            outcomes.push((m.account.to_string(), outcome));
        }
        Ok(Ok(domain::catalog_notify::combine_marketplaces(outcomes)))
    }
}

/// What the marketplace's Seller Register needs to add us as a seller (`POST
/// /api/seller-register/pvt/sellers`, "Configure seller account"): the fields an external seller
/// decides. The commission, score and policies are the marketplace's to set; they are sent as the
/// neutral values its UI starts from, and the operator edits them there.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SellerRegistration {
    /// Our seller id in that marketplace.
    pub id: String,
    pub name: String,
    pub is_active: bool,
    /// Our fulfillment endpoint (the stack's `FulfillmentEndpoint` output).
    pub fulfillment_endpoint: String,
    pub allow_hybrid_payments: bool,
    pub tax_code: String,
    pub email: String,
    pub description: String,
    pub seller_commission_configuration: serde_json::Value,
    pub is_better_scope: bool,
    /// 1: regular seller.
    pub seller_type: u8,
    pub available_sales_channels: Vec<SalesChannelChoice>,
    #[serde(rename = "CSCIdentification")]
    pub csc_identification: String,
    pub account: String,
    pub channel: String,
    pub sales_channel: String,
    pub is_vtex: bool,
    pub score: f64,
    pub exchange_return_policy: String,
    pub delivery_policy: String,
    pub security_privacy_policy: String,
    pub fulfillment_seller_id: String,
    pub user: String,
    pub password: String,
    pub catalog_system_endpoint: String,
    pub trust_policy: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesChannelChoice {
    pub is_selected: bool,
    pub id: u32,
    pub name: String,
}

impl SellerRegistration {
    /// The registration of us as `seller_id` named `name` at `fulfillment_endpoint`, on the
    /// marketplace's `sales_channels` (numeric trade policy ids; the first is the main one).
    pub fn new(
        seller_id: &str,
        name: &str,
        fulfillment_endpoint: &str,
        sales_channels: &[String],
        email: &str,
    ) -> Result<Self, String> {
        let channels = sales_channels
            .iter()
            .map(|c| {
                c.trim()
                    .parse::<u32>()
                    .map(|id| SalesChannelChoice {
                        is_selected: true,
                        id,
                        name: format!("Sales channel {id}"),
                    })
                    .map_err(|_| "a sales channel is not a trade policy id (a number)".to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let main = channels
            .first()
            .map_or_else(|| "1".to_string(), |c| c.id.to_string());
        Ok(SellerRegistration {
            id: seller_id.to_string(),
            name: name.to_string(),
            is_active: true,
            fulfillment_endpoint: fulfillment_endpoint.to_string(),
            allow_hybrid_payments: false,
            tax_code: String::new(),
            email: email.to_string(),
            description: format!("{name} (external seller)"),
            seller_commission_configuration: serde_json::json!({
                "productCommissionPercentage": 0.0,
                "freightCommissionPercentage": 0.0,
                "categoriesCommissionConfiguration": []
            }),
            is_better_scope: false,
            seller_type: 1,
            available_sales_channels: channels,
            csc_identification: String::new(),
            account: String::new(),
            channel: String::new(),
            sales_channel: main,
            is_vtex: false,
            score: 0.0,
            exchange_return_policy: String::new(),
            delivery_policy: String::new(),
            security_privacy_policy: String::new(),
            fulfillment_seller_id: String::new(),
            user: String::new(),
            password: String::new(),
            catalog_system_endpoint: String::new(),
            trust_policy: "Default".into(),
        })
    }
}

/// What the Seller Register answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    /// 2xx: we are a seller there.
    Registered,
    /// 401 / 403: the app key may not register sellers; the operator must enter it by hand.
    NotPermitted { status: u16 },
    /// Anything else, with VTEX's reason.
    Refused { status: u16, reason: String },
    /// No answer (timeout, connection): it may or may not have landed; running `add` again is safe
    /// (the call is an upsert by seller id).
    NoAnswer(String),
}

/// `POST {base}/api/seller-register/pvt/sellers` with `creds`, `{an}` in `base_url` replaced by
/// `account`.
pub async fn register_seller(
    base_url: &str,
    account: &str,
    creds: &AppCredentials,
    body: &SellerRegistration,
    timeout: Duration,
) -> Result<Registration, ClientError> {
    let base = VtexClient::with_timeout(base_url, creds.clone(), timeout)?;
    let mut url = base.base_for(account)?;
    url.path_segments_mut()
        .map_err(|_| ClientError::Config("VTEX base URL cannot have a path".into()))?
        .pop_if_empty()
        .extend(["api", "seller-register", "pvt", "sellers"]);
    let http = crate::client::http_client(timeout)?;
    let sent = http
        .post(url)
        .headers(creds.headers()?)
        .json(body)
        .send()
        .await;
    let resp = match sent {
        Ok(r) => r,
        Err(e) => return Ok(Registration::NoAnswer(format!("calling VTEX failed: {e}"))),
    };
    let status = resp.status().as_u16();
    let text = read_limited(resp, 64 * 1024).await.text;
    Ok(match status {
        200..=299 => Registration::Registered,
        401 | 403 => Registration::NotPermitted { status },
        _ => Registration::Refused {
            status,
            reason: refusal_excerpt(&text),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::marketplaces::{AccountName, MemoryRegistry, StaticSecrets};

    fn an(s: &str) -> AccountName {
        AccountName::parse(s).unwrap()
    }

    fn clients(registry: MemoryRegistry, secrets: StaticSecrets) -> AccountClients {
        let base = VtexClient::new("http://127.0.0.1:9/{an}", AppCredentials::new("k", "t"))
            .unwrap()
            .with_default_account(Some("home".into()));
        AccountClients::new(Arc::new(registry), Arc::new(secrets), base)
    }

    #[tokio::test]
    async fn an_unregistered_or_disabled_account_is_refused_before_any_call() {
        let mut off = Marketplace::new(an("off"), "1", "s-off");
        off.enabled = false;
        let secrets = StaticSecrets::new();
        secrets.set("s-off", r#"{"appKey":"k","appToken":"t"}"#);
        let c = clients(MemoryRegistry::with([off]), secrets);
        for (account, says) in [("third", "not registered"), ("off", "disabled")] {
            let Err(CallError::Config(why)) = c.client_for(account).await else {
                panic!("{account} was not refused")
            };
            assert!(why.contains(says) && why.contains(account), "{why}");
        }
        // A blank an is the default account, which is not registered either.
        assert!(c.client_for(" ").await.is_err());
    }

    #[tokio::test]
    async fn each_account_gets_its_own_base_url_and_credentials() {
        let mut a = Marketplace::new(an("alpha"), "seller-a", "s-a");
        a.base_url = Some("http://127.0.0.1:1/{an}".into());
        let b = Marketplace::new(an("beta"), "seller-b", "s-b");
        let secrets = StaticSecrets::new();
        secrets.set("s-a", r#"{"appKey":"key-a","appToken":"tok-a"}"#);
        secrets.set("s-b", r#"{"appKey":"key-b","appToken":"tok-b"}"#);
        let c = clients(MemoryRegistry::with([a, b]), secrets);
        let AccountClient::Ready(m, client) = c.client_for("ALPHA").await.unwrap() else {
            panic!("alpha is registered")
        };
        assert_eq!(m.seller_id, "seller-a");
        assert_eq!(
            client.base_for("alpha").unwrap().as_str(),
            "http://127.0.0.1:1/alpha"
        );
        assert!(client.credentials().matches("key-a", "tok-a"));
        let AccountClient::Ready(_, client) = c.client_for("beta").await.unwrap() else {
            panic!("beta is registered")
        };
        // No base URL of its own: the stack's template.
        assert_eq!(
            client.base_for("beta").unwrap().as_str(),
            "http://127.0.0.1:9/beta"
        );
        assert!(client.credentials().matches("key-b", "tok-b"));
    }

    #[tokio::test]
    async fn a_secret_that_cannot_be_read_is_later_and_a_malformed_one_is_configuration() {
        let m = Marketplace::new(an("mkp"), "1", "missing");
        let c = clients(MemoryRegistry::with([m.clone()]), StaticSecrets::new());
        assert!(matches!(
            c.client_for("mkp").await,
            Ok(AccountClient::Later(_))
        ));
        let secrets = StaticSecrets::new();
        secrets.set("missing", "not json SECRET");
        let c = clients(MemoryRegistry::with([m]), secrets);
        let Err(CallError::Config(why)) = c.client_for("mkp").await else {
            panic!("a malformed secret is configuration")
        };
        assert!(!why.contains("SECRET"), "{why}");
    }

    #[test]
    fn a_registration_needs_numeric_sales_channels() {
        let r = SellerRegistration::new(
            "s1",
            "Acme",
            "https://x/vtex/p",
            &["1".into(), "3".into()],
            "",
        )
        .unwrap();
        assert_eq!(r.sales_channel, "1");
        assert_eq!(r.available_sales_channels.len(), 2);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["fulfillmentEndpoint"], "https://x/vtex/p");
        assert!(v.get("CSCIdentification").is_some());
        assert!(SellerRegistration::new("s1", "Acme", "e", &["main".into()], "").is_err());
    }
}
