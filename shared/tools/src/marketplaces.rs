//! The `marketplaces` CLI: the marketplace registry ([`domain::marketplaces`]) of a deployed stack
//! (DynamoDB table + Secrets Manager) or of the local runner (its embedded store file).
//!
//! ```sh
//! marketplaces [--table NAME | --store FILE] add --an ACCOUNT --seller-id ID
//!     [--app-key K --app-token T] [--secret ARN_OR_NAME] [--sales-channels 1,3]
//!     [--price-list SC=LIST]… [--base-url URL] [--no-catalog] [--disabled]
//!     [--register --fulfillment-endpoint URL --seller-name NAME [--email E] [--print-only]]
//! marketplaces [--table NAME | --store FILE] list [--json]
//! marketplaces [--table NAME | --store FILE] disable --an ACCOUNT
//! marketplaces [--table NAME | --store FILE] rotate-credentials --an ACCOUNT
//!     (--app-key K --app-token T | --secret ARN_OR_NAME)
//! ```
//!
//! - The table defaults to `MARKETPLACES_TABLE` (the stack output `MarketplacesTableName`); the
//!   secrets `add` writes are named `{MARKETPLACE_SECRET_PREFIX}{an}` (default
//!   `vtex/marketplaces/`: the prefix the template lets the functions read). AWS credentials and
//!   region come from the usual environment; `AWS_ENDPOINT_URL` points it at a local server.
//! - `--store FILE` works on the local runner's embedded store instead (`.local-data/connector.db`);
//!   the credentials go to its local secrets table.
//! - `add --register` also registers us as a seller in that marketplace (Seller Register API,
//!   `POST /api/seller-register/pvt/sellers`) with the account's own key. Without the permission
//!   (401/403), or with `--print-only`, it prints what the marketplace's operator must enter.
//! - Functions read the registry once a minute (`MARKETPLACE_CACHE_SECONDS`): a change is live in
//!   every warm function within that time.

use aws_adapters::marketplaces::DynamoRegistry;
use domain::marketplaces::{
    AccountName, Marketplace, MarketplaceRegistry, PriceList, SecretSource,
};
use embedded_store::marketplaces::SqliteRegistry;
use std::time::Duration;
use vtex::accounts::{Registration, SellerRegistration, credentials_of, register_seller};
use vtex::client::{AppCredentials, PRODUCTION_BASE_URL};

pub const USAGE: &str = "usage: marketplaces [--table NAME | --store FILE] COMMAND
commands:
  add --an ACCOUNT --seller-id ID [--app-key K --app-token T] [--secret ARN_OR_NAME]
      [--sales-channels 1,3] [--price-list SC=LIST]... [--base-url URL] [--no-catalog] [--disabled]
      [--register --fulfillment-endpoint URL --seller-name NAME [--email E] [--print-only]]
  list [--json]
  disable --an ACCOUNT
  rotate-credentials --an ACCOUNT (--app-key K --app-token T | --secret ARN_OR_NAME)
environment: MARKETPLACES_TABLE, MARKETPLACE_SECRET_PREFIX (default vtex/marketplaces/)";

/// Default name prefix of the marketplace secrets (the template's `MarketplaceSecretPrefix`).
pub const DEFAULT_SECRET_PREFIX: &str = "vtex/marketplaces/";

/// Where the registry and the secrets are.
pub enum Target {
    Dynamo {
        registry: DynamoRegistry,
        sdk: Box<aws_config::SdkConfig>,
        secret_prefix: String,
    },
    Embedded {
        registry: SqliteRegistry,
    },
}

impl Target {
    fn registry(&self) -> &dyn MarketplaceRegistry {
        match self {
            Target::Dynamo { registry, .. } => registry,
            Target::Embedded { registry } => registry,
        }
    }

    /// Writes `value` as the secret `name` (created when missing); the name to store in the entry.
    async fn write_secret(&self, name: &str, value: &str) -> Result<String, String> {
        match self {
            Target::Dynamo { sdk, .. } => {
                aws_adapters::secrets::put_secret_value(sdk, name, value).await
            }
            Target::Embedded { registry } => {
                registry
                    .put_secret(name, value)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(name.to_string())
            }
        }
    }

    fn default_secret_name(&self, an: &AccountName) -> String {
        match self {
            Target::Dynamo { secret_prefix, .. } => format!("{secret_prefix}{an}"),
            Target::Embedded { .. } => format!("local/{an}"),
        }
    }

    async fn read_credentials(&self, m: &Marketplace) -> Result<AppCredentials, String> {
        let source: Box<dyn SecretSource> = match self {
            Target::Dynamo { sdk, .. } => Box::new(
                aws_adapters::secrets::SecretsManagerSource::new(sdk, Duration::ZERO),
            ),
            Target::Embedded { registry } => Box::new(registry.clone()),
        };
        match credentials_of(source.as_ref(), m).await {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(reason)) => Err(reason),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Parsed command-line words: flags with values, switches, in order given.
struct Words(Vec<String>);

impl Words {
    fn value(&mut self, flag: &str) -> Result<Option<String>, String> {
        let Some(i) = self.0.iter().position(|w| w == flag) else {
            return Ok(None);
        };
        if i + 1 >= self.0.len() {
            return Err(format!("{flag} needs a value"));
        }
        let v = self.0.remove(i + 1);
        self.0.remove(i);
        Ok(Some(v))
    }

    fn values(&mut self, flag: &str) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        while let Some(v) = self.value(flag)? {
            out.push(v);
        }
        Ok(out)
    }

    fn switch(&mut self, flag: &str) -> bool {
        match self.0.iter().position(|w| w == flag) {
            Some(i) => {
                self.0.remove(i);
                true
            }
            None => false,
        }
    }

    fn done(self) -> Result<(), String> {
        match self.0.first() {
            None => Ok(()),
            Some(w) => Err(format!("unexpected argument {w:?}\n{USAGE}")),
        }
    }
}

fn account(words: &mut Words) -> Result<AccountName, String> {
    let an = words
        .value("--an")?
        .ok_or_else(|| format!("--an is required\n{USAGE}"))?;
    AccountName::parse(&an).map_err(|why| format!("--an: the account name {why}"))
}

fn credentials_json(key: &str, token: &str) -> Result<String, String> {
    AppCredentials::from_secret_json(
        &serde_json::json!({ "appKey": key, "appToken": token }).to_string(),
    )
    .map_err(|e| e.to_string())?;
    Ok(serde_json::json!({ "appKey": key.trim(), "appToken": token.trim() }).to_string())
}

/// Reads the global options, then runs the command on the target they name; the text to print.
pub async fn run(args: Vec<String>) -> Result<String, String> {
    let mut words = Words(args);
    let store = words.value("--store")?;
    let table = words
        .value("--table")?
        .or_else(|| lambda_kit::config::var("MARKETPLACES_TABLE"));
    let target = match (store, table) {
        (Some(path), _) => {
            let store = embedded_store::EmbeddedStore::open(&path)
                .map_err(|e| format!("cannot open {path}: {e}"))?;
            Target::Embedded {
                registry: SqliteRegistry::new(&store).map_err(|e| e.to_string())?,
            }
        }
        (None, Some(table)) => {
            let sdk = aws_adapters::sdk_config().await;
            Target::Dynamo {
                registry: DynamoRegistry::new(aws_sdk_dynamodb::Client::new(&sdk), table),
                sdk: Box::new(sdk),
                secret_prefix: lambda_kit::config::var("MARKETPLACE_SECRET_PREFIX")
                    .unwrap_or_else(|| DEFAULT_SECRET_PREFIX.into()),
            }
        }
        (None, None) => {
            return Err(format!(
                "name the registry: --table NAME (or MARKETPLACES_TABLE) or --store FILE\n{USAGE}"
            ));
        }
    };
    if words.0.is_empty() {
        return Err(USAGE.into());
    }
    let command = words.0.remove(0);
    match command.as_str() {
        "add" => add(&target, words).await,
        "list" => list(&target, words).await,
        "disable" => disable(&target, words).await,
        "rotate-credentials" => rotate(&target, words).await,
        "-h" | "--help" | "help" => Ok(USAGE.into()),
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    }
}

async fn add(target: &Target, mut w: Words) -> Result<String, String> {
    let an = account(&mut w)?;
    let seller_id = w
        .value("--seller-id")?
        .ok_or_else(|| format!("--seller-id is required\n{USAGE}"))?;
    let key = w.value("--app-key")?;
    let token = w.value("--app-token")?;
    let secret = w.value("--secret")?;
    let sales_channels: Vec<String> = w
        .value("--sales-channels")?
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let price_lists = w
        .values("--price-list")?
        .into_iter()
        .map(|v| match v.split_once('=') {
            Some((sc, list)) => Ok(PriceList {
                sales_channel: sc.trim().into(),
                price_list: list.trim().into(),
            }),
            None => Err(format!(
                "--price-list {v:?}: expected SALES_CHANNEL=PRICE_LIST"
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let base_url = w.value("--base-url")?;
    let no_catalog = w.switch("--no-catalog");
    let disabled = w.switch("--disabled");
    let register = w.switch("--register");
    let print_only = w.switch("--print-only");
    let endpoint = w.value("--fulfillment-endpoint")?;
    let seller_name = w.value("--seller-name")?;
    let email = w.value("--email")?.unwrap_or_default();
    w.done()?;

    let mut out = String::new();
    let credentials_secret = match (key.as_deref(), token.as_deref()) {
        (Some(k), Some(t)) => {
            let name = secret.unwrap_or_else(|| target.default_secret_name(&an));
            let stored = target.write_secret(&name, &credentials_json(k, t)?).await?;
            out.push_str(&format!("credentials of {an} written to secret {stored}\n"));
            stored
        }
        (None, None) => secret.ok_or_else(|| {
            "give the account's credentials: --app-key and --app-token, or --secret naming an existing secret".to_string()
        })?,
        _ => return Err("--app-key and --app-token go together".into()),
    };
    let mut m = Marketplace::new(an.clone(), seller_id.trim(), credentials_secret);
    m.sales_channels = sales_channels;
    m.price_lists = price_lists;
    m.base_url = base_url;
    m.notify_catalog = !no_catalog;
    m.enabled = !disabled;
    if let Some(problem) = m.problem() {
        return Err(format!("{an}: {problem}"));
    }
    target.registry().put(&m).await.map_err(|e| e.to_string())?;
    out.push_str(&format!(
        "registered {an}: seller id {}, {}, catalog changes {}\n",
        m.seller_id,
        if m.enabled { "enabled" } else { "disabled" },
        if m.notify_catalog {
            "notified"
        } else {
            "not notified"
        },
    ));
    if register || print_only {
        let (Some(endpoint), Some(name)) = (endpoint, seller_name) else {
            return Err(
                "--register needs --fulfillment-endpoint (the stack output FulfillmentEndpoint) and --seller-name"
                    .into(),
            );
        };
        let body =
            SellerRegistration::new(&m.seller_id, &name, &endpoint, &m.sales_channels, &email)?;
        let base = m
            .base_url
            .clone()
            .unwrap_or_else(|| PRODUCTION_BASE_URL.into());
        if print_only {
            out.push_str(&operator_instructions(&m, &body, &base));
            return Ok(out);
        }
        let creds = target.read_credentials(&m).await?;
        match register_seller(&base, an.as_str(), &creds, &body, Duration::from_secs(15))
            .await
            .map_err(|e| e.to_string())?
        {
            Registration::Registered => out.push_str(&format!(
                "seller {} registered in marketplace {an} (Seller Register)\n",
                m.seller_id
            )),
            Registration::NotPermitted { status } => {
                out.push_str(&format!(
                    "the app key of {an} may not register sellers (VTEX answered {status}: it lacks Seller Register › Save Seller)\n"
                ));
                out.push_str(&operator_instructions(&m, &body, &base));
            }
            Registration::Refused { status, reason } => {
                return Err(format!(
                    "{out}the Seller Register of {an} refused the registration ({status}): {reason}"
                ));
            }
            Registration::NoAnswer(reason) => {
                return Err(format!(
                    "{out}the Seller Register of {an} did not answer ({reason}); running add again is safe"
                ));
            }
        }
    }
    Ok(out)
}

/// What the marketplace's operator enters to add us as a seller, by hand or with the API.
pub fn operator_instructions(m: &Marketplace, body: &SellerRegistration, base: &str) -> String {
    let channels = if m.sales_channels.is_empty() {
        "(the marketplace's main sales channel)".to_string()
    } else {
        m.sales_channels.join(", ")
    };
    let api = format!(
        "{}/api/seller-register/pvt/sellers",
        base.trim_end_matches('/')
            .replace("{an}", m.account.as_str())
    );
    format!(
        "The operator of marketplace {an} adds the seller (Marketplace › Sellers › Management › Add seller) with:\n  \
         Seller ID:            {id}\n  \
         Seller name:          {name}\n  \
         Fulfillment endpoint: {endpoint}\n  \
         Sales channels:       {channels}\n  \
         Seller type:          regular seller, active\n\
         or with the API (POST {api}, Seller Register › Save Seller):\n{json}\n",
        an = m.account,
        id = body.id,
        name = body.name,
        endpoint = body.fulfillment_endpoint,
        json = serde_json::to_string_pretty(body).unwrap_or_default(),
    )
}

async fn list(target: &Target, mut w: Words) -> Result<String, String> {
    let json = w.switch("--json");
    w.done()?;
    let all = target.registry().list().await.map_err(|e| e.to_string())?;
    if json {
        return serde_json::to_string_pretty(&all)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string());
    }
    let mut out = format!(
        "{:<24} {:<8} {:<8} {:<20} {:<12} {}\n",
        "ACCOUNT", "ENABLED", "CATALOG", "SELLER ID", "CHANNELS", "BASE URL / SECRET"
    );
    for m in all {
        out.push_str(&format!(
            "{:<24} {:<8} {:<8} {:<20} {:<12} {} / {}\n",
            m.account.as_str(),
            if m.enabled { "yes" } else { "no" },
            if m.notify_catalog { "yes" } else { "no" },
            m.seller_id,
            if m.sales_channels.is_empty() {
                "all".to_string()
            } else {
                m.sales_channels.join(",")
            },
            m.base_url.as_deref().unwrap_or("(production)"),
            m.credentials_secret,
        ));
    }
    Ok(out)
}

async fn disable(target: &Target, mut w: Words) -> Result<String, String> {
    let an = account(&mut w)?;
    w.done()?;
    if target
        .registry()
        .disable(&an)
        .await
        .map_err(|e| e.to_string())?
    {
        Ok(format!(
            "disabled {an}: its calls are refused and its outbound messages parked (within the functions' cache time)\n"
        ))
    } else {
        Err(format!("{an} is not registered in this registry"))
    }
}

async fn rotate(target: &Target, mut w: Words) -> Result<String, String> {
    let an = account(&mut w)?;
    let key = w.value("--app-key")?;
    let token = w.value("--app-token")?;
    let secret = w.value("--secret")?;
    w.done()?;
    let mut m = target
        .registry()
        .get(&an)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{an} is not registered in this registry"))?;
    let what = match (key.as_deref(), token.as_deref(), secret) {
        (Some(k), Some(t), None) => {
            let stored = target
                .write_secret(&m.credentials_secret, &credentials_json(k, t)?)
                .await?;
            format!("new credentials of {an} written to secret {stored}")
        }
        (None, None, Some(s)) => {
            m.credentials_secret = s.clone();
            target.registry().put(&m).await.map_err(|e| e.to_string())?;
            format!("{an} now reads its credentials from secret {s}")
        }
        _ => return Err("rotate-credentials takes --app-key and --app-token, or --secret".into()),
    };
    Ok(format!(
        "{what}; functions use them within MARKETPLACE_CACHE_SECONDS (60 s by default)\n"
    ))
}
