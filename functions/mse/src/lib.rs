//! The marketplace-services endpoint (mse) of imported orders (shared/docs/protocol.md
//! §Marketplace services endpoint): when the import worker places an order in the seller's VTEX
//! account it names this endpoint, and VTEX's OMS then notifies each invoice (and its tracking) at
//! `POST {mse}/pub/orders/{orderId}/invoice`.
//!
//! Per notification: authenticate ([`InboundAuth`], the secret path segment of the mse) → read any
//! invoice-shaped body ([`domain::import::parse_mse_invoice`]) → create-once on `(orderId,
//! fingerprint of invoiceNumber + body)` → forward it once to the seller's ERP on the order-events
//! queue (`import.invoiceNotified`) → log it under the import → answer `200 {date, orderId,
//! receipt}`, the same receipt on every repeat.
//!
//! | Answer | HTTP | code |
//! |---|---|---|
//! | body not JSON / not an object / no `invoiceNumber` / an object or array for a value, `items` no array | 400 | `MSE001` |
//! | body over the limit | 413 | `REQ413` |
//! | wrong or missing secret | 401 | `AUTH001` |
//! | store or queue unavailable (VTEX retries; the receipt stays the same) | 503 | `SRV503` |
//!
//! Nothing here is Lambda-specific: the local runner calls [`handle`] too.

use domain::clock::Clock;
use domain::import::{
    self, ImportEvents, ImportStore, InvoiceNotified, MseNotification, NotificationCreate,
    NotificationStore,
};
use domain::order::{LogEntry, Outcome};
use domain::ports::OrderStore;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use lambda_kit::auth::{InboundAuth, RequestAuth};
use lambda_kit::config::{self, ConfigError, Inbound, Vars};
use lambda_kit::correlation;
use lambda_kit::{ApiError, Route, body_bytes, json_response};
use serde::Deserialize;
use std::sync::Arc;
use vtex::oms::OmsReceipt;
use vtex::orders::format_date;

/// Settings read once per cold start ([`lambda_kit::config`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Largest accepted body (`MSE_MAX_BODY_BYTES`, default 192 KiB: an invoice with its XML,
    /// forwarded whole within SQS's 256 KiB).
    #[serde(rename = "mse_max_body_bytes")]
    pub max_body_bytes: usize,
    #[serde(skip)]
    pub auth: InboundAuth,
    #[serde(skip)]
    pub auth_secret_arn: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            auth: InboundAuth::default(),
            auth_secret_arn: None,
        }
    }
}

/// The tables and queue (all required); the composition root's.
#[derive(Debug, Deserialize)]
pub struct Resources {
    pub imports_table: String,
    pub orders_table: String,
    pub catalog_table: String,
    pub order_events_queue_url: String,
}

impl Config {
    pub const DEFAULT_MAX_BODY_BYTES: usize = 192 * 1024;

    /// `MSE_MAX_BODY_BYTES` and the inbound credentials (the composition root reads the secret).
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let e: Config = vars.load()?;
        let inbound = Inbound::from_vars(vars)?;
        Ok(Config {
            max_body_bytes: config::positive("MSE_MAX_BODY_BYTES", e.max_body_bytes)?,
            auth: inbound.auth,
            auth_secret_arn: inbound.secret_arn,
        })
    }
}

/// The ports this function uses, built once by the composition root (or the local runner).
#[derive(Clone)]
pub struct Deps {
    /// To find which import an order id belongs to.
    pub imports: Arc<dyn ImportStore>,
    pub notifications: Arc<dyn NotificationStore>,
    /// The ERP's order-events queue.
    pub events: Arc<dyn ImportEvents>,
    /// Only `append_log` is used.
    pub log: Arc<dyn OrderStore>,
    pub clock: Arc<dyn Clock>,
    pub config: Config,
}

/// Routes `POST …/pub/orders/{orderId}/invoice`. Always a response: refusals and failures become
/// VTEX's error envelope.
pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    correlation::serve("mse", &req, route(deps, &req), |resp| {
        let (ok, refused) = if resp.status().is_success() {
            (1.0, 0.0)
        } else {
            (0.0, 1.0)
        };
        lambda_kit::metrics::emit_for(
            "mse",
            &[
                ("MseNotifications", ok, lambda_kit::metrics::Unit::Count),
                ("MseRefused", refused, lambda_kit::metrics::Unit::Count),
            ],
        );
    })
    .await
}

async fn route(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let Some(Route::MseInvoice(order_id)) = Route::match_path(req.uri().path()) else {
        return Err(ApiError::not_found("HTTP404", "No such route"));
    };
    if req.method() != lambda_http::http::Method::POST {
        return Err(ApiError::MethodNotAllowed);
    }
    deps.config.auth.check(req)?;
    correlation::record_order_id(&order_id);
    let bytes = body_bytes(req);
    if bytes.len() > deps.config.max_body_bytes {
        return Err(ApiError::PayloadTooLarge {
            limit: deps.config.max_body_bytes,
        });
    }
    let invoice = import::parse_mse_invoice(&order_id, bytes)
        .map_err(|e| ApiError::bad_request("MSE001", e.0))?;
    let imported = deps.imports.find_by_vtex_order_id(&order_id).await?;
    let key = imported.map(|r| r.key);
    let fresh = MseNotification {
        order_id: order_id.clone(),
        fingerprint: invoice.fingerprint.clone(),
        invoice_number: invoice.invoice_number.clone(),
        receipt: uuid::Uuid::new_v4().simple().to_string(),
        date: deps.clock.now(),
        import: key.clone(),
        published: false,
    };
    let (note, repeat) = match deps.notifications.create_notification(&fresh).await? {
        NotificationCreate::Created(n) => (n, false),
        NotificationCreate::Existing(n) => (n, true),
    };
    let forwarded = if note.published {
        false
    } else {
        // A repeat whose first forward failed is forwarded now; the ERP de-duplicates on eventId.
        deps.events
            .publish_invoice_notified(&InvoiceNotified::new(&note, &invoice.body))
            .await?;
        deps.notifications
            .mark_published(&note.order_id, &note.fingerprint)
            .await?;
        true
    };
    let detail = match (repeat, forwarded) {
        (false, _) => format!(
            "VTEX notified invoice {} on {order_id} (receipt {}); forwarded to the ERP",
            note.invoice_number, note.receipt
        ),
        (true, true) => format!(
            "VTEX repeated the notification of invoice {} on {order_id}; same receipt {}, forwarded to the ERP now (the first forward did not complete)",
            note.invoice_number, note.receipt
        ),
        (true, false) => format!(
            "VTEX repeated the notification of invoice {} on {order_id}; same receipt {}, not forwarded again",
            note.invoice_number, note.receipt
        ),
    };
    let log_id = match &key {
        Some(k) => k.log_id(),
        None => format!("mse:{order_id}"),
    };
    let entry = LogEntry::new(
        deps.clock.now(),
        import::steps::MSE_INVOICE,
        Outcome::Success,
        detail,
    );
    if let Err(e) = deps.log.append_log(&log_id, &entry).await {
        // The notification is recorded and forwarded; the log line is best effort.
        tracing::warn!(order_id, error = %e, "order log append failed");
    }
    tracing::info!(
        order_id,
        repeat,
        forwarded,
        known_import = key.is_some(),
        "mse invoice notification"
    );
    Ok(json_response(
        StatusCode::OK,
        &OmsReceipt {
            date: Some(format_date(note.date)),
            order_id: Some(order_id),
            receipt: Some(note.receipt),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    /// (variables, the setting read or the variable the error names)
    #[test]
    fn config_blank_is_unset_defaults_apply_and_bad_values_name_the_variable() {
        type Row = (
            &'static [(&'static str, &'static str)],
            Result<usize, &'static str>,
        );
        let table: &[Row] = &[
            (&[], Ok(Config::DEFAULT_MAX_BODY_BYTES)),
            (
                &[("MSE_MAX_BODY_BYTES", "  ")],
                Ok(Config::DEFAULT_MAX_BODY_BYTES),
            ),
            (&[("MSE_MAX_BODY_BYTES", "4096")], Ok(4096)),
            (&[("MSE_MAX_BODY_BYTES", "0")], Err("MSE_MAX_BODY_BYTES")),
            (&[("MSE_MAX_BODY_BYTES", "big")], Err("MSE_MAX_BODY_BYTES")),
        ];
        for (pairs, want) in table {
            match (
                Config::from_vars(&Vars::from_pairs(pairs.iter().copied())),
                want,
            ) {
                (Ok(c), Ok(v)) => assert_eq!(c.max_body_bytes, *v, "{pairs:?}"),
                (Err(e), Err(var)) => assert!(e.0.contains(var), "{pairs:?}: {e}"),
                (got, _) => panic!("{pairs:?}: {got:?}"),
            }
        }
        let c = Config::from_vars(&Vars::from_pairs([("INBOUND_PATH_SECRET", " ")])).unwrap();
        assert!(c.auth.path_secret.is_none() && c.auth_secret_arn.is_none());
        let r = [
            ("IMPORTS_TABLE", "i"),
            ("ORDERS_TABLE", "o"),
            ("CATALOG_TABLE", ""),
        ];
        let e = Vars::from_pairs(r).load::<Resources>().unwrap_err();
        assert_eq!(e.to_string(), "configuration: CATALOG_TABLE is not set");
    }
}
