//! The operator console ([`console_ui`]) as a Lambda function: `GET /console`, `GET` and `POST
//! /console/{proxy+}` of the HTTP API, every route IAM-authorized (SigV4 with
//! `execute-api:Invoke`, the `OperatorConsolePolicy` of the template), as the admin view is. The
//! marketplace holds the path secret, not an IAM identity of this account, so it cannot reach it.
//!
//! A request that reaches the function without an IAM identity in its request context (a route
//! deployed without the authorizer) is refused with 403: the console fails closed.
//!
//! The stage is in the path API Gateway delivers (`/{stage}/console/…`); [`handle`] strips it
//! (`CONSOLE_BASE_PATH`, which the pages' links also start with) before routing.
//!
//! Nothing else is Lambda-specific: the local runner serves the same router at `/console/`.

use aws_adapters::dynamo::listing::{DynamoListing, ParkedQueue, SqsParked};
use aws_adapters::dynamo::{DynamoCatalog, DynamoOrders, DynamoSyncStates};
use aws_adapters::invoices::DynamoInvoices;
use domain::clock::SystemClock;
use domain::listing::OrderBoard;
use http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use lambda_kit::config::{ConfigError, Vars};
use serde::Deserialize;
use std::sync::Arc;
use tower::ServiceExt;

/// Largest response the console sends (Lambda's limit is 6 MB; a page is a few hundred KB).
const MAX_RESPONSE_BYTES: usize = 5 * 1024 * 1024;

/// Settings read once per cold start ([`lambda_kit::config`]).
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub orders_table: String,
    pub catalog_table: String,
    pub invoices_table: String,
    pub dispatch_queue_url: String,
    pub dispatch_dlq_url: String,
    /// The catalog queue and its DLQ (`CATALOG_QUEUE_URL`, `CATALOG_DLQ_URL`), shown when both
    /// are set.
    pub catalog_queue_url: Option<String>,
    pub catalog_dlq_url: Option<String>,
    /// The import queue and its DLQ, when the stack has the import flow.
    pub import_queue_url: Option<String>,
    pub import_dlq_url: Option<String>,
    /// Where the browser sees the console: `/{stage}/console` (`CONSOLE_BASE_PATH`, default
    /// `/console` for the `$default` stage).
    #[serde(default = "default_base")]
    pub console_base_path: String,
}

fn default_base() -> String {
    "/console".into()
}

impl Config {
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let c: Config = vars.load()?;
        let base = c.console_base_path.trim_end_matches('/');
        if !base.starts_with('/') || !base.ends_with("/console") || base.contains("//") {
            return Err(ConfigError(format!(
                "CONSOLE_BASE_PATH: {:?} is not /console or /{{stage}}/console",
                c.console_base_path
            )));
        }
        Ok(Config {
            console_base_path: base.to_string(),
            ..c
        })
    }

    /// The queues whose dead letters the console shows: dispatch, and catalog and import when
    /// configured.
    pub fn parked_queues(&self) -> Vec<ParkedQueue> {
        let mut out = vec![ParkedQueue {
            name: "dispatch".into(),
            queue_url: self.dispatch_queue_url.clone(),
            dlq_url: self.dispatch_dlq_url.clone(),
        }];
        for (name, q, d) in [
            ("catalog", &self.catalog_queue_url, &self.catalog_dlq_url),
            ("import", &self.import_queue_url, &self.import_dlq_url),
        ] {
            if let (Some(q), Some(d)) = (q, d) {
                out.push(ParkedQueue {
                    name: name.into(),
                    queue_url: q.clone(),
                    dlq_url: d.clone(),
                });
            }
        }
        out
    }

    /// The console over DynamoDB and SQS.
    pub fn console(
        &self,
        dynamo: aws_sdk_dynamodb::Client,
        sqs: aws_sdk_sqs::Client,
    ) -> console_ui::Console {
        console_ui::Console {
            catalog: Arc::new(DynamoCatalog::new(dynamo.clone(), &self.catalog_table)),
            sync: Arc::new(DynamoSyncStates::new(dynamo.clone(), &self.catalog_table)),
            board: OrderBoard {
                listing: Arc::new(DynamoListing::new(dynamo.clone(), &self.orders_table)),
                orders: Arc::new(DynamoOrders::new(
                    dynamo.clone(),
                    &self.orders_table,
                    &self.catalog_table,
                )),
                parked: Arc::new(SqsParked::new(sqs, self.parked_queues())),
                clock: Arc::new(SystemClock),
            },
            invoices: Arc::new(DynamoInvoices::new(dynamo, &self.invoices_table)),
            base: self.console_base_path.clone(),
        }
    }
}

fn text(status: StatusCode, message: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(Body::Text(message.to_string()))
        .unwrap_or_default()
}

/// Whether API Gateway authorized the caller with IAM (see the module docs).
fn iam_authorized(req: &Request) -> bool {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.iam.as_ref())
            .is_some_and(|iam| iam.user_arn.is_some() || iam.caller_id.is_some()),
        _ => false,
    }
}

/// One request: the IAM check, the stage stripped from the path, the console's router, the answer
/// as a Lambda response.
pub async fn handle(router: &axum::Router, base: &str, req: Request) -> Response<Body> {
    if !iam_authorized(&req) {
        tracing::warn!("console: request without an IAM identity refused");
        return text(
            StatusCode::FORBIDDEN,
            "The console needs IAM authorization.",
        );
    }
    let (mut parts, body) = req.into_parts();
    let path = parts.uri.path();
    let Some(rest) = path.strip_prefix(base) else {
        return text(StatusCode::NOT_FOUND, "Not the console.");
    };
    let target = match parts.uri.query() {
        Some(q) => format!("/console{rest}?{q}"),
        None => format!("/console{rest}"),
    };
    parts.uri = match target.parse() {
        Ok(u) => u,
        Err(_) => return text(StatusCode::BAD_REQUEST, "Bad path."),
    };
    let bytes: Vec<u8> = match body {
        Body::Empty => Vec::new(),
        Body::Text(t) => t.into_bytes(),
        Body::Binary(b) => b,
        _ => Vec::new(),
    };
    let req = http::Request::from_parts(parts, axum::body::Body::from(bytes));
    let resp = match router.clone().oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let (parts, body) = resp.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_RESPONSE_BYTES).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "console: response body failed");
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be built.",
            );
        }
    };
    let body = match String::from_utf8(bytes.to_vec()) {
        Ok(t) => Body::Text(t),
        Err(e) => Body::Binary(e.into_bytes()),
    };
    Response::from_parts(parts, body)
}
