//! Where the local runner's outbound VTEX calls go: `VTEX_BASE_URL` with `VTEX_APP_KEY` /
//! `VTEX_APP_TOKEN` when set (e.g. a sandbox account), else an in-process stand-in for VTEX on
//! `STANDIN_PORT` (default `PORT + 1`) that records every call (`GET /_standin/requests`).

use crate::config::LocalConfig;
use lambda_kit::config::Vars;
use std::time::Duration;
use vtex::client::{AppCredentials, VtexClient};

pub struct Outbound {
    pub base_url: String,
    pub credentials: AppCredentials,
}

impl Outbound {
    /// The catalog sync's settings: the environment's, with the outbound target filled in and, for
    /// the stand-in, a seller id and marketplace account so nothing else needs setting.
    pub fn catalog_config(&self) -> Result<catalog_sync::Config, String> {
        let mut vars = Vars::env();
        vars.or_set("VTEX_BASE_URL", &self.base_url);
        vars.or_set("VTEX_SUGGESTIONS_BASE_URL", &self.base_url);
        vars.or_set("VTEX_SELLER_ID", "1");
        vars.or_set("VTEX_ACCOUNT", "localmarketplace");
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

    pub fn client(&self, timeout: Duration) -> Result<VtexClient, String> {
        VtexClient::with_timeout(self.base_url.clone(), self.credentials.clone(), timeout)
            .map_err(|e| e.to_string())
    }
}

/// Returns the outbound target and, when it is the stand-in, the handle that keeps it running.
pub async fn start(
    cfg: &LocalConfig,
) -> Result<(Outbound, Option<vtex_standin::ServerHandle>), String> {
    if let Some(base_url) = cfg.vtex_base_url.clone() {
        let (Some(key), Some(token)) = (cfg.vtex_app_key.clone(), cfg.vtex_app_token.clone())
        else {
            return Err("VTEX_BASE_URL is set: also set VTEX_APP_KEY and VTEX_APP_TOKEN".into());
        };
        tracing::info!(%base_url, "outbound VTEX calls go to VTEX_BASE_URL");
        let credentials = AppCredentials::new(key, token);
        return Ok((
            Outbound {
                base_url,
                credentials,
            },
            None,
        ));
    }
    let port = cfg
        .standin_port
        .unwrap_or_else(|| cfg.port.checked_add(1).unwrap_or(0));
    let (addr, handle) = vtex_standin::serve(([127, 0, 0, 1], port).into())
        .await
        .map_err(|e| format!("cannot start the VTEX stand-in on port {port}: {e}"))?;
    let base_url = format!("http://{addr}");
    tracing::info!(url = %base_url, "VTEX stand-in running; see what it received at {base_url}/_standin/requests");
    let credentials = handle.credentials();
    Ok((
        Outbound {
            base_url,
            credentials,
        },
        Some(handle),
    ))
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
