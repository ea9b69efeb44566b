//! One way to configure: every function's `Config` (and the local runner's) is a serde struct
//! deserialized from the environment by [`envy`], through [`Vars`], with one rule and one error:
//! - a value is trimmed, and a blank one is **absent** (CloudFormation writes an unset optional
//!   parameter as `""`), so `#[serde(default)]`s and required fields apply to it as to an unset one;
//! - a struct's field is its variable's name in lower case (`vtex_timeout_ms` ↔ `VTEX_TIMEOUT_MS`);
//! - anything wrong is a [`ConfigError`] naming the variable; the function refuses to start.
//!
//! A function's `Config` is deserialized itself where its settings map onto variables (serde
//! `rename`s, the container's `#[serde(default)]` taking [`Default`]'s values, [`millis`]), then
//! checked with the variables' names; where they do not, a private `Env` struct holds the
//! variables' shape apart from the settings built from it.

use crate::auth::InboundAuth;
use domain::auth::{CredentialSource, Secret};
use domain::lifecycle::{AuthorizedCancelPolicy, LifecycleConfig, OrderLimits};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

/// A configuration value that is missing or cannot be used; the message names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

impl From<envy::Error> for ConfigError {
    fn from(e: envy::Error) -> Self {
        ConfigError(match e {
            envy::Error::MissingValue(field) => format!("{} is not set", field.to_uppercase()),
            // envy's own text: "… while parsing value '…' provided by NAME".
            envy::Error::Custom(message) => message,
        })
    }
}

/// Environment variables after the blank-as-unset rule: trimmed, blank ones left out.
#[derive(Debug, Clone, Default)]
pub struct Vars(Vec<(String, String)>);

impl Vars {
    /// The process environment (a variable that is not UTF-8 is absent, as `std::env::var` has it;
    /// `std::env::vars` would panic).
    pub fn env() -> Self {
        Self::from_pairs(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    /// Any list of pairs (a test's table, or overrides).
    pub fn from_pairs<K: Into<String>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut vars = Vars::default();
        for (k, v) in pairs {
            vars.set(k, v);
        }
        vars
    }

    /// Sets `key` (a blank `value` unsets it), replacing what it had.
    pub fn set(&mut self, key: impl Into<String>, value: impl AsRef<str>) {
        let key = key.into();
        self.0.retain(|(k, _)| *k != key);
        let value = value.as_ref().trim();
        if !value.is_empty() {
            self.0.push((key, value.to_string()));
        }
    }

    /// Sets `key` only when it is absent: the local runner's defaults.
    pub fn or_set(&mut self, key: &str, value: impl AsRef<str>) {
        if self.get(key).is_none() {
            self.set(key, value);
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The variables as `T` (fields: the variables' names in lower case).
    pub fn load<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        Ok(envy::from_iter(self.0.iter().cloned())?)
    }
}

/// One variable of the process environment under the same rule (trimmed, blank is absent).
pub fn var(key: &str) -> Option<String> {
    Vars::from_pairs([(key, std::env::var(key).unwrap_or_default())])
        .get(key)
        .map(str::to_string)
}

/// `value` as a `T` (a duration like `8d`, an enum), `default` when absent.
pub fn parse_or<T: FromStr>(key: &str, value: Option<&str>, default: T) -> Result<T, ConfigError>
where
    T::Err: Display,
{
    value.map_or(Ok(default), |v| {
        v.parse().map_err(|e| ConfigError(format!("{key}: {e}")))
    })
}

/// A `…_MS` variable as a [`Duration`] (`#[serde(deserialize_with = "config::millis")]`).
pub fn millis<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_millis)
}

/// `n`, refused when zero.
pub fn positive(key: &str, n: usize) -> Result<usize, ConfigError> {
    if n == 0 {
        return Err(ConfigError(format!(
            "{key} must be a positive integer, got \"0\""
        )));
    }
    Ok(n)
}

/// Where the VTEX app credentials come from: the secret named by `arn_var`, else
/// `VTEX_APP_KEY` / `VTEX_APP_TOKEN`.
pub fn credential_source(vars: &Vars, arn_var: &'static str) -> CredentialSource {
    let get = |k: &str| vars.get(k).map(str::to_string);
    CredentialSource {
        arn_var,
        arn: get(arn_var),
        app_key: get("VTEX_APP_KEY"),
        app_token: get("VTEX_APP_TOKEN"),
    }
}

/// The inbound credentials of the HTTP functions: `INBOUND_AUTH_SECRET_ARN` (the Secrets Manager
/// secret, read at start by `aws_adapters::secrets::inbound_auth`) or, outside Lambda,
/// `INBOUND_PATH_SECRET` / `INBOUND_APP_KEY` + `INBOUND_APP_TOKEN`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inbound {
    pub secret_arn: Option<String>,
    pub auth: InboundAuth,
}

#[derive(Deserialize)]
struct InboundEnv {
    inbound_auth_secret_arn: Option<String>,
    inbound_path_secret: Option<String>,
    inbound_app_key: Option<String>,
    inbound_app_token: Option<String>,
}

impl Inbound {
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let e: InboundEnv = vars.load()?;
        Ok(Inbound {
            secret_arn: e.inbound_auth_secret_arn,
            auth: InboundAuth {
                path_secret: e.inbound_path_secret.and_then(Secret::new),
                app_key: e.inbound_app_key.and_then(Secret::new),
                app_token: e.inbound_app_token.and_then(Secret::new),
            },
        })
    }
}

/// The tables and queue of the order functions (placement, fulfillment, the sweeper), for
/// `aws_adapters::OrderPorts`: all required.
#[derive(Debug, Deserialize)]
pub struct OrderTables {
    pub catalog_table: String,
    pub orders_table: String,
    pub order_events_queue_url: String,
}

#[derive(Deserialize)]
struct LifecycleEnv {
    default_lock_ttl: Option<String>,
    max_lock_ttl: Option<String>,
    authorized_cancel_policy: Option<String>,
    sweep_batch_size: Option<usize>,
    sweep_max_batches: Option<usize>,
    max_units_per_line: Option<i64>,
    max_units_per_order: Option<i64>,
    max_order_lines: Option<usize>,
    max_order_value_cents: Option<i64>,
}

/// The life cycle's settings (placement, fulfillment, the sweeper), defaults for what is unset:
/// - `DEFAULT_LOCK_TTL` (`8d`): reservation length when no line carries a `lockTTL`;
/// - `MAX_LOCK_TTL` (`30d`): cap on any reservation;
/// - `AUTHORIZED_CANCEL_POLICY` (`confirm` | `evaluate`): marketplace cancel of an authorized
///   order;
/// - `SWEEP_BATCH_SIZE` (`100`) and `SWEEP_MAX_BATCHES` (`20`): reservation sweeper paging;
/// - `MAX_UNITS_PER_LINE` (`10000`), `MAX_UNITS_PER_ORDER` (`100000`), `MAX_ORDER_LINES` (`1000`),
///   `MAX_ORDER_VALUE_CENTS` (`10000000000`): what one placement may ask for
///   ([`domain::lifecycle::OrderLimits`]); each at least 1 and at most the default's hundredfold, so
///   that no product or sum of an order's units and cents can wrap.
pub fn lifecycle(vars: &Vars) -> Result<LifecycleConfig, ConfigError> {
    let e: LifecycleEnv = vars.load()?;
    let d = LifecycleConfig::default();
    let count = |k: &str, v: Option<usize>, default| v.map_or(Ok(default), |n| positive(k, n));
    let authorized_cancel = match e.authorized_cancel_policy.map(|v| v.to_ascii_lowercase()) {
        None => d.authorized_cancel,
        Some(v) if v == "confirm" => AuthorizedCancelPolicy::Confirm,
        Some(v) if v == "evaluate" => AuthorizedCancelPolicy::Evaluate,
        Some(v) => {
            return Err(ConfigError(format!(
                "AUTHORIZED_CANCEL_POLICY must be confirm or evaluate, got {v:?}"
            )));
        }
    };
    let dl = d.limits;
    let limit = |k: &str, v: Option<i64>, default: i64| -> Result<i64, ConfigError> {
        match v {
            None => Ok(default),
            Some(n) if (1..=default.saturating_mul(100)).contains(&n) => Ok(n),
            Some(n) => Err(ConfigError(format!(
                "{k} must be between 1 and {}, got {n}",
                default.saturating_mul(100)
            ))),
        }
    };
    let limits = OrderLimits {
        units_per_line: limit(
            "MAX_UNITS_PER_LINE",
            e.max_units_per_line,
            dl.units_per_line,
        )?,
        units_per_order: limit(
            "MAX_UNITS_PER_ORDER",
            e.max_units_per_order,
            dl.units_per_order,
        )?,
        lines: limit(
            "MAX_ORDER_LINES",
            e.max_order_lines.map(|n| n as i64),
            dl.lines as i64,
        )? as usize,
        value_cents: limit(
            "MAX_ORDER_VALUE_CENTS",
            e.max_order_value_cents,
            dl.value_cents,
        )?,
    };
    Ok(LifecycleConfig {
        limits,
        default_lock_ttl: parse_or(
            "DEFAULT_LOCK_TTL",
            e.default_lock_ttl.as_deref(),
            d.default_lock_ttl,
        )?,
        max_lock_ttl: parse_or("MAX_LOCK_TTL", e.max_lock_ttl.as_deref(), d.max_lock_ttl)?,
        authorized_cancel,
        sweep_batch_size: count("SWEEP_BATCH_SIZE", e.sweep_batch_size, d.sweep_batch_size)?,
        sweep_max_batches: count(
            "SWEEP_MAX_BATCHES",
            e.sweep_max_batches,
            d.sweep_max_batches,
        )?,
    })
}

/// The name under which the built-in entry's plain `VTEX_APP_KEY` / `VTEX_APP_TOKEN` (local runs
/// and tools only; the template never sets them) are handed to the secret source.
pub const PLAIN_CREDENTIALS_SECRET: &str = "env:VTEX_APP_KEY+VTEX_APP_TOKEN";

/// The marketplace registry of a function that calls or accepts marketplace accounts
/// ([`domain::marketplaces`]):
/// - `MARKETPLACES_TABLE`: the registry table; unset, only the built-in entry is registered;
/// - `MARKETPLACE_CACHE_SECONDS` (`60`): how long the list (and each secret) is kept;
/// - the built-in entry, from the single-marketplace variables: the account `VTEX_ACCOUNT`, else
///   `DEFAULT_AN`; `VTEX_SELLER_ID`; the secret `VTEX_CREDENTIALS_SECRET_ARN` (else, outside the
///   template, `VTEX_APP_KEY` + `VTEX_APP_TOKEN`); `VTEX_BASE_URL`. No account, or no
///   credentials: no built-in entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Marketplaces {
    pub table: Option<String>,
    pub cache_ttl: Duration,
    pub builtin: Option<domain::marketplaces::Marketplace>,
    /// `VTEX_APP_KEY` / `VTEX_APP_TOKEN` as the secret [`PLAIN_CREDENTIALS_SECRET`]'s JSON value.
    pub plain_credentials: Option<String>,
}

#[derive(Deserialize)]
struct MarketplacesEnv {
    marketplaces_table: Option<String>,
    marketplace_cache_seconds: Option<u64>,
    vtex_account: Option<String>,
    default_an: Option<String>,
    vtex_seller_id: Option<String>,
    vtex_credentials_secret_arn: Option<String>,
    vtex_app_key: Option<String>,
    vtex_app_token: Option<String>,
    vtex_base_url: Option<String>,
}

impl Marketplaces {
    /// For the functions that call VTEX: refuses to start when nothing could ever be sent (no
    /// table, and a built-in entry without credentials), naming what to set.
    pub fn require_credentials(self) -> Result<Self, ConfigError> {
        let builtin_has_secret = self
            .builtin
            .as_ref()
            .is_some_and(|b| !b.credentials_secret.trim().is_empty());
        if self.table.is_none() && !builtin_has_secret {
            return Err(ConfigError(
                "set VTEX_CREDENTIALS_SECRET_ARN (or VTEX_APP_KEY and VTEX_APP_TOKEN locally) with DEFAULT_AN, or MARKETPLACES_TABLE"
                    .into(),
            ));
        }
        Ok(self)
    }

    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        use domain::marketplaces::{AccountName, Marketplace};
        let e: MarketplacesEnv = vars.load()?;
        let plain_credentials = match (&e.vtex_app_key, &e.vtex_app_token) {
            (Some(k), Some(t)) => {
                Some(serde_json::json!({ "appKey": k, "appToken": t }).to_string())
            }
            _ => None,
        };
        let secret = e.vtex_credentials_secret_arn.clone().or_else(|| {
            plain_credentials
                .as_ref()
                .map(|_| PLAIN_CREDENTIALS_SECRET.into())
        });
        let (account_var, account) = match (&e.vtex_account, &e.default_an) {
            (Some(a), _) => ("VTEX_ACCOUNT", Some(a)),
            (None, Some(a)) => ("DEFAULT_AN", Some(a)),
            (None, None) => ("DEFAULT_AN", None),
        };
        // The inbound functions only ask whether the account is served; they get no secret.
        let builtin = match account {
            Some(account) => {
                let account = AccountName::parse(account)
                    .map_err(|why| ConfigError(format!("{account_var} {why}")))?;
                let mut m = Marketplace::new(
                    account,
                    e.vtex_seller_id.unwrap_or_default(),
                    secret.unwrap_or_default(),
                );
                m.base_url = e.vtex_base_url;
                Some(m)
            }
            None => None,
        };
        Ok(Marketplaces {
            table: e.marketplaces_table,
            cache_ttl: e
                .marketplace_cache_seconds
                .map_or(domain::marketplaces::DEFAULT_CACHE_TTL, Duration::from_secs),
            builtin,
            plain_credentials,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::VtexDuration;

    #[derive(Debug, Clone, Deserialize, PartialEq)]
    struct Sample {
        #[serde(default = "seven")]
        n: u64,
        name: String,
        note: Option<String>,
    }

    fn seven() -> u64 {
        7
    }

    #[test]
    fn blank_values_count_as_unset_and_values_are_trimmed() {
        let v = Vars::from_pairs([("A", "  x "), ("B", "   "), ("C", "")]);
        assert_eq!(v.get("A"), Some("x"));
        assert_eq!(v.get("B"), None);
        assert_eq!(v.get("C"), None);
        assert_eq!(v.get("D"), None);
    }

    #[test]
    fn a_blank_value_takes_the_default_or_is_missing_like_an_unset_one() {
        // (variables, what loading says)
        type Row = (
            &'static [(&'static str, &'static str)],
            Result<Sample, &'static str>,
        );
        let table: &[Row] = &[
            (
                &[("N", " 42 "), ("NAME", "a")],
                Ok(Sample {
                    n: 42,
                    name: "a".into(),
                    note: None,
                }),
            ),
            (
                &[("N", " "), ("NAME", "a"), ("NOTE", "")],
                Ok(Sample {
                    n: 7,
                    name: "a".into(),
                    note: None,
                }),
            ),
            (
                &[("N", "1"), ("NAME", "  ")],
                Err("configuration: NAME is not set"),
            ),
            (&[("N", "1")], Err("configuration: NAME is not set")),
            (
                &[("N", "soon"), ("NAME", "a")],
                Err(
                    "configuration: invalid digit found in string while parsing value 'soon' provided by N",
                ),
            ),
        ];
        for (pairs, want) in table {
            let got = Vars::from_pairs(pairs.iter().copied()).load::<Sample>();
            assert_eq!(
                got.map_err(|e| e.to_string()),
                want.clone().map_err(String::from),
                "{pairs:?}"
            );
        }
        assert!(
            Vars::from_pairs([("N", "-1"), ("NAME", "a")])
                .load::<Sample>()
                .is_err()
        );
    }

    #[test]
    fn lifecycle_settings_read_the_environment_and_refuse_garbage_naming_the_variable() {
        let vars = Vars::from_pairs([
            ("DEFAULT_LOCK_TTL", "2h"),
            ("MAX_LOCK_TTL", "7d"),
            ("AUTHORIZED_CANCEL_POLICY", "Evaluate"),
            ("SWEEP_BATCH_SIZE", "10"),
            ("SWEEP_MAX_BATCHES", " "),
            ("MAX_UNITS_PER_LINE", "50"),
            ("MAX_ORDER_VALUE_CENTS", "123456"),
        ]);
        let c = lifecycle(&vars).unwrap();
        assert_eq!(c.limits.units_per_line, 50);
        assert_eq!(c.limits.value_cents, 123_456);
        assert_eq!(c.limits.units_per_order, 100_000, "unset is the default");
        assert_eq!(c.default_lock_ttl, VtexDuration::Hours(2));
        assert_eq!(c.max_lock_ttl, VtexDuration::Days(7));
        assert_eq!(c.authorized_cancel, AuthorizedCancelPolicy::Evaluate);
        assert_eq!(c.sweep_batch_size, 10);
        assert_eq!(c.sweep_max_batches, 20, "blank is the default");
        assert_eq!(
            lifecycle(&Vars::default()).unwrap(),
            LifecycleConfig::default()
        );
        for (k, v) in [
            ("DEFAULT_LOCK_TTL", "soon"),
            ("MAX_LOCK_TTL", "-1d"),
            ("AUTHORIZED_CANCEL_POLICY", "maybe"),
            ("SWEEP_BATCH_SIZE", "0"),
            ("SWEEP_MAX_BATCHES", "-1"),
            ("MAX_UNITS_PER_LINE", "0"),
            ("MAX_UNITS_PER_ORDER", "9223372036854775807"),
            ("MAX_ORDER_LINES", "lots"),
            ("MAX_ORDER_VALUE_CENTS", "-5"),
        ] {
            let e = lifecycle(&Vars::from_pairs([(k, v)])).unwrap_err();
            assert!(e.0.contains(k), "{k}: {e}");
        }
    }

    #[test]
    fn config_reads_the_environment_and_refuses_nonsense() {
        let env = Vars::from_pairs([
            ("DEFAULT_LOCK_TTL", "2d"),
            ("AUTHORIZED_CANCEL_POLICY", "Evaluate"),
            ("SWEEP_BATCH_SIZE", "25"),
        ]);
        let c = lifecycle(&env).unwrap();
        assert_eq!(c.default_lock_ttl, VtexDuration::Days(2));
        assert_eq!(c.max_lock_ttl, VtexDuration::Days(30));
        assert_eq!(c.authorized_cancel, AuthorizedCancelPolicy::Evaluate);
        assert_eq!(c.sweep_batch_size, 25);
        assert_eq!(
            lifecycle(&Vars::default()).unwrap(),
            LifecycleConfig::default()
        );
        for (k, v) in [
            ("DEFAULT_LOCK_TTL", "8"),
            ("AUTHORIZED_CANCEL_POLICY", "maybe"),
            ("SWEEP_MAX_BATCHES", "0"),
        ] {
            assert!(lifecycle(&Vars::from_pairs([(k, v)])).is_err());
        }
    }

    #[test]
    fn the_single_marketplace_variables_are_the_built_in_registry_entry() {
        let m = Marketplaces::from_vars(&Vars::from_pairs([
            ("DEFAULT_AN", "MarketplaceDemo"),
            ("VTEX_SELLER_ID", "seller1"),
            (
                "VTEX_CREDENTIALS_SECRET_ARN",
                "arn:aws:secretsmanager:r:1:secret:x",
            ),
            ("MARKETPLACE_CACHE_SECONDS", "5"),
        ]))
        .unwrap();
        let b = m.builtin.unwrap();
        assert_eq!(b.account.as_str(), "marketplacedemo");
        assert_eq!(b.seller_id, "seller1");
        assert_eq!(b.credentials_secret, "arn:aws:secretsmanager:r:1:secret:x");
        assert!(b.enabled && b.notify_catalog && b.base_url.is_none());
        assert_eq!(m.cache_ttl, Duration::from_secs(5));
        assert_eq!(m.table, None);
        // VTEX_ACCOUNT wins over DEFAULT_AN; plain keys stand in for the secret locally.
        let m = Marketplaces::from_vars(&Vars::from_pairs([
            ("DEFAULT_AN", "a"),
            ("VTEX_ACCOUNT", "b"),
            ("VTEX_APP_KEY", "k"),
            ("VTEX_APP_TOKEN", "t"),
            ("MARKETPLACES_TABLE", "tbl"),
        ]))
        .unwrap();
        assert_eq!(m.builtin.as_ref().unwrap().account.as_str(), "b");
        assert_eq!(
            m.builtin.unwrap().credentials_secret,
            PLAIN_CREDENTIALS_SECRET
        );
        assert!(m.plain_credentials.unwrap().contains("\"appKey\":\"k\""));
        assert_eq!(m.table.as_deref(), Some("tbl"));
        // No credentials: the built-in entry still answers inbound, but nothing can be sent.
        let m = Marketplaces::from_vars(&Vars::from_pairs([("DEFAULT_AN", "a")])).unwrap();
        assert_eq!(m.builtin.as_ref().unwrap().credentials_secret, "");
        assert!(m.require_credentials().is_err());
        assert!(
            Marketplaces::from_vars(&Vars::default())
                .unwrap()
                .builtin
                .is_none()
        );
        // A bad account names its variable.
        let e = Marketplaces::from_vars(&Vars::from_pairs([
            ("VTEX_ACCOUNT", "evil.com/x"),
            ("VTEX_APP_KEY", "k"),
            ("VTEX_APP_TOKEN", "t"),
        ]))
        .unwrap_err();
        assert!(e.0.contains("VTEX_ACCOUNT"), "{e}");
    }

    #[test]
    fn inbound_credentials_come_from_the_arn_or_the_plain_variables() {
        let i = Inbound::from_vars(&Vars::from_pairs([
            ("INBOUND_AUTH_SECRET_ARN", " "),
            ("INBOUND_PATH_SECRET", "p4th"),
            ("INBOUND_APP_KEY", ""),
        ]))
        .unwrap();
        assert_eq!(i.secret_arn, None);
        assert!(
            i.auth
                .path_secret
                .as_ref()
                .is_some_and(|s| s.matches("p4th"))
        );
        assert!(i.auth.app_key.is_none() && i.auth.app_token.is_none());
        assert_eq!(
            Inbound::from_vars(&Vars::default()).unwrap(),
            Inbound::default()
        );
    }
}
