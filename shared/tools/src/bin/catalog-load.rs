//! `catalog-load FILE [--embedded PATH] [--table NAME] [--no-notify] [--dry-run] [--progress-every N]`
//!
//! Loads or reconciles a whole catalog file (README "Catalog file") into the DynamoDB catalog
//! table (`--table`, else `CATALOG_TABLE`) or the embedded store file (`--embedded`), then tells
//! VTEX only what changed (see `connector_tools::bulk`). The file is checked completely first; if
//! anything is wrong, every problem is printed and nothing is written.
//!
//! Notifying needs the worker's settings: `VTEX_SELLER_ID`, `VTEX_ACCOUNT` (or `DEFAULT_AN`),
//! optionally `VTEX_BASE_URL` / `VTEX_SUGGESTIONS_BASE_URL`, and credentials
//! (`VTEX_CREDENTIALS_SECRET_ARN`, or `VTEX_APP_KEY` + `VTEX_APP_TOKEN`): that account is the
//! built-in entry of the marketplace registry. Each change is notified to every registered,
//! enabled marketplace that wants catalog changes and sells the SKU, each as its own seller with
//! its own key (`connector_tools::bulk::marketplace_notifier`): the registry and its secrets are
//! the embedded store's with `--embedded`, else `MARKETPLACES_TABLE` and Secrets Manager.
//!
//! Progress and the summary go to stderr. Exit status: 0 done; 1 bad usage, an invalid file or a
//! store failure (nothing, or only part, written: run it again); 2 written, but some
//! notifications failed (listed).

use catalog_sync::Config;
use connector_tools::bulk::{self, BulkOptions, BulkTargets, Stage};
use domain::catalog_messages::validate_catalog_file;
use domain::catalog_notify::SyncStateStore;
use domain::clock::SystemClock;
use domain::marketplaces::{CachedRegistry, FallbackSecrets, SecretSource, StaticSecrets};
use domain::ports::{CatalogReader, CatalogWriter};
use embedded_store::EmbeddedStore;
use embedded_store::marketplaces::SqliteRegistry;
use lambda_kit::config::{Marketplaces, PLAIN_CREDENTIALS_SECRET, Vars};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

const USAGE: &str = "usage: catalog-load FILE [--embedded PATH] [--table NAME] [--no-notify] [--dry-run] [--progress-every N]";

struct Args {
    file: PathBuf,
    embedded: Option<PathBuf>,
    table: Option<String>,
    notify: bool,
    dry_run: bool,
    progress_every: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut out = Args {
        file: PathBuf::new(),
        embedded: None,
        table: None,
        notify: true,
        dry_run: false,
        progress_every: 500,
    };
    let mut file = None;
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--embedded" => out.embedded = Some(value("--embedded")?.into()),
            "--table" => out.table = Some(value("--table")?),
            "--no-notify" => out.notify = false,
            "--dry-run" => out.dry_run = true,
            "--progress-every" => {
                out.progress_every = value("--progress-every")?
                    .parse()
                    .map_err(|_| "--progress-every needs a whole number".to_string())?
            }
            "-h" | "--help" => return Err(String::new()),
            other if other.starts_with('-') => return Err(format!("unknown option {other}")),
            other if file.is_none() => file = Some(PathBuf::from(other)),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    out.file = file.ok_or("FILE is required")?;
    Ok(out)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("catalog-load: {e}");
            ExitCode::from(1)
        }
    }
}

type Stores = (
    Arc<dyn CatalogReader>,
    Arc<dyn CatalogWriter>,
    Arc<dyn SyncStateStore>,
    Option<EmbeddedStore>,
);

/// The registry and the secrets its entries name: the embedded store's (`embedded`), else the
/// DynamoDB table and Secrets Manager; the plain `VTEX_APP_KEY` / `VTEX_APP_TOKEN` first.
async fn registry(
    vars: &Vars,
    embedded: Option<&EmbeddedStore>,
) -> Result<(Arc<CachedRegistry>, Arc<dyn SecretSource>), String> {
    let m = Marketplaces::from_vars(vars).map_err(|e| e.to_string())?;
    let plain = StaticSecrets::new();
    if let Some(v) = &m.plain_credentials {
        plain.set(PLAIN_CREDENTIALS_SECRET, v.clone());
    }
    Ok(match embedded {
        Some(store) => {
            let table = SqliteRegistry::new(store).map_err(|e| e.to_string())?;
            (
                Arc::new(CachedRegistry::new(
                    Arc::new(table.clone()),
                    m.builtin,
                    m.cache_ttl,
                )),
                Arc::new(FallbackSecrets {
                    first: plain,
                    then: Arc::new(table),
                }),
            )
        }
        None => {
            let m = m.require_credentials().map_err(|e| e.to_string())?;
            let sdk = aws_adapters::sdk_config().await;
            (
                aws_adapters::marketplaces::cached_registry(&sdk, m.table, m.builtin, m.cache_ttl),
                aws_adapters::marketplaces::marketplace_secrets(
                    &sdk,
                    m.cache_ttl,
                    m.plain_credentials.map(|v| (PLAIN_CREDENTIALS_SECRET, v)),
                ),
            )
        }
    })
}

async fn run() -> Result<ExitCode, String> {
    lambda_kit::telemetry::init_pretty();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            eprintln!("{USAGE}");
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(format!("{e}\n{USAGE}")),
    };
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not JSON: {e}", args.file.display()))?;
    let file = match validate_catalog_file(&value) {
        Ok(f) => f,
        Err(violations) => {
            for v in &violations {
                eprintln!("  {v}");
            }
            return Err(format!(
                "{} has {} problem(s); nothing was written",
                args.file.display(),
                violations.len()
            ));
        }
    };
    eprintln!(
        "catalog-load: {} SKUs in {}",
        file.skus.len(),
        args.file.display()
    );

    let (catalog, writer, sync, embedded): Stores = match &args.embedded {
        Some(path) => {
            let store = EmbeddedStore::open(path)
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            (
                Arc::new(store.clone()),
                Arc::new(store.clone()),
                Arc::new(store.clone()),
                Some(store),
            )
        }
        None => {
            let table = args
                .table
                .clone()
                .or_else(|| Vars::env().get("CATALOG_TABLE").map(str::to_string))
                .filter(|t| !t.trim().is_empty())
                .ok_or("give --table NAME (or CATALOG_TABLE), or --embedded PATH")?;
            let client = aws_sdk_dynamodb::Client::new(&aws_adapters::sdk_config().await);
            let store = Arc::new(aws_adapters::dynamo::DynamoCatalog::new(
                client.clone(),
                table.clone(),
            ));
            (
                store.clone(),
                store,
                Arc::new(aws_adapters::dynamo::DynamoSyncStates::new(client, table)),
                None,
            )
        }
    };
    let notifier = if args.notify && !args.dry_run {
        let vars = Vars::env();
        let config = Config::from_vars(&vars).map_err(|e| format!("{e} (or pass --no-notify)"))?;
        let (registry, secrets) = registry(&vars, embedded.as_ref())
            .await
            .map_err(|e| format!("{e} (or pass --no-notify)"))?;
        let notifying = registry
            .notifying()
            .await
            .map_err(|e| format!("cannot read the marketplace registry: {e}"))?;
        let names: Vec<String> = notifying.iter().map(|m| m.account.to_string()).collect();
        if names.is_empty() {
            eprintln!("catalog-load: no enabled marketplace wants catalog changes; none notified");
        } else {
            eprintln!("catalog-load: notifying {}", names.join(", "));
        }
        Some(bulk::marketplace_notifier(
            &config,
            registry,
            secrets,
            catalog.clone(),
        )?)
    } else {
        None
    };
    let opts = BulkOptions {
        dry_run: args.dry_run,
        progress_every: args.progress_every,
        ..BulkOptions::default()
    };
    let progress = |stage: Stage, done: usize, total: usize| {
        let pct = (done * 100).checked_div(total).unwrap_or(100);
        eprintln!("catalog-load: {} {done}/{total} ({pct}%)", stage.as_str());
    };
    let targets = BulkTargets {
        catalog: catalog.as_ref(),
        writer: writer.as_ref(),
        sync: sync.as_ref(),
        clock: &SystemClock,
        notifier: notifier.as_ref(),
    };
    let report = bulk::run(&file, targets, &opts, &progress)
        .await
        .map_err(|e| format!("store failure: {e}; run the load again"))?;

    let kinds = |m: &std::collections::BTreeMap<_, usize>| {
        m.iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    eprintln!(
        "catalog-load: {} SKUs: {} new, {} changed, {} unchanged",
        report.skus, report.new, report.changed, report.unchanged
    );
    if report.pending_before > 0 {
        eprintln!(
            "catalog-load: {} notification(s) still pending from earlier runs",
            report.pending_before
        );
    }
    if args.dry_run {
        eprintln!(
            "catalog-load: dry run, nothing written; would notify: {}",
            kinds(&report.planned)
        );
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("catalog-load: {} SKUs written", report.written);
    if notifier.is_none() {
        eprintln!(
            "catalog-load: VTEX not notified (--no-notify); pending: {}",
            kinds(&report.planned)
        );
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "catalog-load: notified: {} ({} suggested)",
        kinds(&report.sent),
        report.suggested
    );
    if report.failures.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "catalog-load: {} notification(s) failed:",
        report.failures.len()
    );
    for f in &report.failures {
        eprintln!("  SKU {} {}: {} {}", f.sku_id, f.kind, f.code, f.reason);
    }
    Ok(ExitCode::from(2))
}
