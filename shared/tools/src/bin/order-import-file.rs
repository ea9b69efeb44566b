//! Imports orders from a JSON file: checks every message first (nothing is sent when one is bad),
//! then either drops them on the import queue in AWS or runs the whole import here.
//!
//! ```sh
//! order-import-file --enqueue [--queue-url URL] [--affiliate EXT] [--sc 1] FILE
//! order-import-file --run [--store import-store.sqlite] [--affiliate EXT] [--sc 1] [FILE]
//! ```
//! FILE holds an `importOrder` message, a bare VTEX fulfillment order (EMO / S0 shape, wrapped
//! with `--affiliate` and `--sc`), or an array of either (e.g. the S0 placement array).
//!
//! - `--enqueue`: SQS `SendMessage` to `--queue-url` (default `IMPORT_QUEUE_URL`); AWS credentials
//!   and region from the usual environment / profile. The deployed worker does the rest.
//! - `--run`: the worker in this process over a local store file (progress survives a Ctrl-C; run
//!   again without FILE to resume), talking to VTEX with the configuration of the Lambda
//!   (`IMPORT_VTEX_ACCOUNT`, `IMPORT_VTEX_BASE_URL`, `IMPORT_MSE_URL`, `IMPORT_GRACE_SECONDS`, …)
//!   and `VTEX_APP_KEY` / `VTEX_APP_TOKEN`. It waits out the grace period (30 minutes by default)
//!   and stops when nothing is left to do, printing each import's log.

use domain::clock::SystemClock;
use domain::import::{self, ImportKey, ImportStore};
use domain::ports::OrderStore;
use embedded_store::EmbeddedStore;
use embedded_store::imports::SqliteImports;
use lambda_kit::config::Vars;
use local::IMPORT_QUEUE;
use local::event_source::poll_once;
use order_import::{Config, Deps};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use vtex::client::{AppCredentials, VtexClient};

const USAGE: &str = "usage: order-import-file (--enqueue [--queue-url URL] | --run [--store FILE]) [--affiliate EXT] [--sc 1] [FILE]";

#[derive(Default)]
struct Args {
    enqueue: bool,
    run: bool,
    queue_url: Option<String>,
    store: Option<String>,
    affiliate: Option<String>,
    sc: Option<String>,
    file: Option<String>,
}

fn args() -> Option<Args> {
    let mut a = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        match x.as_str() {
            "--enqueue" => a.enqueue = true,
            "--run" => a.run = true,
            "--queue-url" => a.queue_url = Some(it.next()?),
            "--store" => a.store = Some(it.next()?),
            "--affiliate" => a.affiliate = Some(it.next()?),
            "--sc" => a.sc = Some(it.next()?),
            f if !f.starts_with("--") && a.file.is_none() => a.file = Some(f.to_string()),
            _ => return None,
        }
    }
    (a.enqueue != a.run && (a.run || a.file.is_some())).then_some(a)
}

/// The file's messages: `importOrder` messages as they are, bare orders wrapped.
fn messages(text: &str, affiliate: Option<&str>, sc: Option<&str>) -> Result<Vec<String>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("the file is not JSON: {e}"))?;
    let items = match v {
        Value::Array(a) => a,
        other => vec![other],
    };
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let body = if item.get("type").is_some() {
            item
        } else {
            let mut m =
                json!({ "type": "importOrder", "version": import::CURRENT_VERSION, "order": item });
            if let Some(a) = affiliate {
                m["affiliateId"] = json!(a);
            }
            if let Some(s) = sc {
                m["salesChannel"] = json!(s);
            }
            m
        };
        let text = body.to_string();
        import::parse(text.as_bytes(), affiliate).map_err(|e| format!("entry {i}: {e}"))?;
        out.push(text);
    }
    Ok(out)
}

#[tokio::main]
async fn main() -> ExitCode {
    let Some(a) = args() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let env = Vars::env();
    let affiliate = a
        .affiliate
        .clone()
        .or_else(|| env.get("IMPORT_AFFILIATE_ID").map(str::to_string));
    let bodies = match &a.file {
        None => Vec::new(),
        Some(path) => {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("cannot read {path}: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match messages(&text, affiliate.as_deref(), a.sc.as_deref()) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("nothing imported: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    let result = if a.enqueue {
        enqueue(a.queue_url, &bodies).await
    } else {
        run(a.store, affiliate, &bodies).await
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn enqueue(queue_url: Option<String>, bodies: &[String]) -> Result<(), String> {
    // A blank --queue-url is no URL (and does not fall back to the variable).
    let url = queue_url
        .or_else(|| Vars::env().get("IMPORT_QUEUE_URL").map(str::to_string))
        .filter(|v| !v.trim().is_empty())
        .ok_or("give --queue-url or set IMPORT_QUEUE_URL")?;
    let sdk = aws_adapters::sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    for body in bodies {
        sqs.send_message()
            .queue_url(&url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "SendMessage: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(&e)
                )
            })?;
    }
    println!("enqueued {} import message(s)", bodies.len());
    Ok(())
}

async fn run(
    store: Option<String>,
    affiliate: Option<String>,
    bodies: &[String],
) -> Result<(), String> {
    let mut config = Config::from_vars(&Vars::env()).map_err(|e| e.to_string())?;
    if config.default_affiliate.is_none() {
        config.default_affiliate = affiliate.clone();
    }
    config.check().map_err(|e| e.to_string())?;
    let env = Vars::env();
    let creds = match (env.get("VTEX_APP_KEY"), env.get("VTEX_APP_TOKEN")) {
        (Some(k), Some(t)) => AppCredentials::new(k, t),
        _ => {
            return Err(
                "set VTEX_APP_KEY and VTEX_APP_TOKEN (the seller's own account key)".into(),
            );
        }
    };
    let vtex = VtexClient::with_timeout(config.vtex_base_url.clone(), creds, config.vtex_timeout)
        .map_err(|e| e.to_string())?
        .with_default_account(Some(config.account.clone()));
    let path = store.unwrap_or_else(|| "import-store.sqlite".into());
    let store = EmbeddedStore::open(&path).map_err(|e| format!("store {path}: {e}"))?;
    let imports = Arc::new(SqliteImports::new(&store).map_err(|e| e.to_string())?);
    let queue = store.queue(IMPORT_QUEUE).with_max_receives(5);
    let deps = Deps {
        imports: imports.clone(),
        log: Arc::new(store.clone()),
        vtex: Arc::new(vtex),
        queue: Arc::new(queue.clone()),
        scheduler: Arc::new(queue.clone()),
        clock: Arc::new(SystemClock),
        config,
    };
    let mut keys: Vec<ImportKey> = Vec::new();
    for body in bodies {
        if let Some(k) = import::key_hint(body.as_bytes(), deps.config.default_affiliate.as_deref())
        {
            keys.push(k);
        }
        queue
            .send(body, None, None)
            .await
            .map_err(|e| e.to_string())?;
    }
    let mut shown: BTreeMap<String, usize> = BTreeMap::new();
    loop {
        poll_once(&queue, 10, Duration::from_secs(60), |e| {
            order_import::handle(&deps, e)
        })
        .await
        .map_err(|e| e.to_string())?;
        for k in &keys {
            let log = store
                .read_log(&k.log_id())
                .await
                .map_err(|e| e.to_string())?;
            let seen = shown.entry(k.log_id()).or_default();
            for e in log.iter().skip(*seen) {
                println!("{k} {} {:?} {}", e.step, e.outcome, e.detail);
            }
            *seen = log.len();
        }
        if queue.is_empty().await.map_err(|e| e.to_string())? {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    for k in &keys {
        if let Some(r) = imports.get(k).await.map_err(|e| e.to_string())? {
            println!(
                "{k}: {} (VTEX order {})",
                r.status().as_str(),
                r.vtex_order_id.as_deref().unwrap_or("none")
            );
        }
    }
    let parked = queue.dlq().len().await.map_err(|e| e.to_string())?;
    if parked > 0 {
        return Err(format!(
            "{parked} message(s) parked in the local DLQ ({path}, queue {}-dlq): see the log above",
            IMPORT_QUEUE
        ));
    }
    Ok(())
}
