//! Command-line options. Everything that sends a request is bounded here: the hosts (the base URL's
//! only), the number of requests, each request's time, the OMS wait.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// How the endpoint under test is configured to recognise VTEX.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A secret path segment after the base URL: `{base}/{secret}/pvt/…`.
    PathSecret(String),
    /// `?secret=…` on every call.
    QuerySecret(String),
    /// `X-VTEX-API-AppKey` / `X-VTEX-API-AppToken` headers.
    AppHeaders { key: String, token: String },
    /// `Authorization: VTEX key="…" token="…"`.
    Authorization { key: String, token: String },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub base: Url,
    pub credential: Option<Credential>,
    pub an: String,
    pub sc: String,
    /// The seller id VTEX puts on every item (`items[].seller`).
    pub seller: String,
    pub skus: Vec<String>,
    pub unavailable_skus: Vec<String>,
    pub postal_code: String,
    pub country: String,
    pub latency_requests: usize,
    pub allow_orders: bool,
    pub order_skus: Vec<String>,
    /// The no-oversell check runs on a named SKU with at most this many units in stock.
    pub max_oversell_stock: u64,
    pub oms_listen: Option<SocketAddr>,
    pub oms_wait: Duration,
    /// With every invoice in, the OMS check ends after this long without a new call.
    pub oms_quiet: Duration,
    pub retry_after_secs: u64,
    pub erp_hook: Option<String>,
    pub request_timeout: Duration,
    pub max_requests: u32,
    pub json: bool,
    pub html: Option<PathBuf>,
    pub quiet: bool,
}

impl Config {
    /// The defaults: the local runner's sample catalog and S2's Rio de Janeiro address.
    pub fn new(base: Url) -> Self {
        Config {
            base,
            credential: None,
            an: "sellercheck".into(),
            sc: "1".into(),
            seller: "1".into(),
            skus: vec!["2000037".into(), "2002129".into()],
            unavailable_skus: Vec::new(),
            postal_code: "22051-030".into(),
            country: "BRA".into(),
            latency_requests: 20,
            allow_orders: false,
            order_skus: Vec::new(),
            max_oversell_stock: 10,
            oms_listen: None,
            oms_wait: Duration::from_secs(60),
            oms_quiet: Duration::from_secs(3),
            retry_after_secs: 2,
            erp_hook: None,
            request_timeout: Duration::from_secs(10),
            max_requests: 600,
            json: false,
            html: None,
            quiet: false,
        }
    }
}

pub const USAGE: &str = "\
usage: seller-check --base URL [options]

Plays the VTEX marketplace against an External Seller fulfillment endpoint and reports each
protocol rule as pass / fail / skip. Read-only (simulations) unless --allow-orders.

endpoint
  --base URL                 the fulfillment endpoint as registered in VTEX (required)
  --path-secret S            the endpoint expects a secret path segment: {base}/S/pvt/…
  --query-secret S           the endpoint expects ?secret=S
  --app-key K --app-token T  the endpoint expects X-VTEX-API-AppKey / AppToken headers
  --authorization            send K/T as `Authorization: VTEX key=\"K\" token=\"T\"` instead
  --an NAME                  marketplace account sent as ?an= (default sellercheck; a seller that
                             checks accounts needs one it has registered)
  --sc ID                    sales channel sent as ?sc= (default 1)
  --seller ID                items[].seller (default 1)

simulation
  --sku ID                   an available SKU (repeatable; default 2000037 and 2002129, the
                             local runner's sample catalog)
  --unavailable-sku ID       a known SKU that is out of stock or inactive (repeatable)
  --postal-code P --country C   checkout address (default 22051-030 BRA)
  --latency-requests N       checkout simulations timed for p50/p99 (default 20, at most 1000)

orders (each placed order is canceled at the end)
  --allow-orders             place orders; needs --order-sku
  --order-sku ID             a SKU to place orders on (repeatable); one with at most
                             --max-oversell-stock units (default 10) runs the oversell check
  --oms-listen ADDR          serve as the marketplace's OMS on ADDR (e.g. 127.0.0.1:8899) and
                             check what the seller sends after fulfill; point the seller's
                             VTEX base URL there
  --erp-hook CMD             run CMD (sh -c) after the fulfill so the seller's ERP invoices the
                             order; it gets SELLER_CHECK_* variables (see README)
  --oms-wait SECS            how long to wait for the seller's OMS calls (default 60)
  --retry-after SECS         Retry-After of the 429 the OMS answers first (default 2)

bounds and output
  --max-requests N           never send more than N requests (default 600)
  --timeout-ms MS            per-request timeout (default 10000)
  --json                     print the report as JSON on stdout
  --html FILE                also write the report as an HTML page
  -q, --quiet                no progress on stderr

exit status: 0 no rule failed, 1 a rule failed, 2 bad usage";

pub fn parse(args: &[String]) -> Result<Config, String> {
    let mut base = None;
    let mut cfg_items: Vec<(String, Option<String>)> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let flag = matches!(
            name.as_str(),
            "--allow-orders" | "--authorization" | "--json" | "-q" | "--quiet" | "-h" | "--help"
        );
        let value = if flag {
            None
        } else {
            Some(match inline {
                Some(v) => v,
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value"))?,
            })
        };
        if name == "--base" {
            base = value.clone();
        }
        cfg_items.push((name, value));
    }
    if cfg_items.iter().any(|(n, _)| n == "-h" || n == "--help") {
        return Err(USAGE.to_string());
    }
    let base = base.ok_or("--base URL is required")?;
    let base = Url::parse(&base).map_err(|e| format!("--base {base:?}: {e}"))?;
    if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
        return Err("--base must be an http(s) URL with a host".into());
    }
    let mut c = Config::new(base);
    let (mut skus, mut order_skus, mut unavailable) = (Vec::new(), Vec::new(), Vec::new());
    let (mut key, mut token, mut authorization) = (None, None, false);
    let num = |n: &str, v: &str| -> Result<u64, String> {
        v.parse::<u64>()
            .map_err(|_| format!("{n} needs a whole number, got {v:?}"))
    };
    for (name, value) in cfg_items {
        let v = value.unwrap_or_default();
        match name.as_str() {
            "--base" => {}
            "--path-secret" => c.credential = Some(Credential::PathSecret(v)),
            "--query-secret" => c.credential = Some(Credential::QuerySecret(v)),
            "--app-key" => key = Some(v),
            "--app-token" => token = Some(v),
            "--authorization" => authorization = true,
            "--an" => c.an = v,
            "--sc" => c.sc = v,
            "--seller" => c.seller = v,
            "--sku" => skus.push(v),
            "--unavailable-sku" => unavailable.push(v),
            "--postal-code" => c.postal_code = v,
            "--country" => c.country = v,
            "--latency-requests" => {
                c.latency_requests = num(&name, &v)?.clamp(1, 1000) as usize;
            }
            "--allow-orders" => c.allow_orders = true,
            "--order-sku" => order_skus.push(v),
            "--max-oversell-stock" => c.max_oversell_stock = num(&name, &v)?.clamp(1, 100),
            "--oms-listen" => {
                c.oms_listen = Some(
                    v.parse()
                        .map_err(|_| format!("--oms-listen needs HOST:PORT, got {v:?}"))?,
                )
            }
            "--erp-hook" => c.erp_hook = Some(v),
            "--oms-wait" => c.oms_wait = Duration::from_secs(num(&name, &v)?.clamp(1, 900)),
            "--retry-after" => c.retry_after_secs = num(&name, &v)?.clamp(1, 60),
            "--max-requests" => c.max_requests = num(&name, &v)?.clamp(1, 100_000) as u32,
            "--timeout-ms" => {
                c.request_timeout = Duration::from_millis(num(&name, &v)?.clamp(100, 120_000))
            }
            "--json" => c.json = true,
            "--html" => c.html = Some(PathBuf::from(v)),
            "-q" | "--quiet" => c.quiet = true,
            other => return Err(format!("unknown option {other:?}\n\n{USAGE}")),
        }
    }
    match (key, token) {
        (Some(key), Some(token)) => {
            if c.credential.is_some() {
                return Err("give one credential: a secret or an app key and token".into());
            }
            c.credential = Some(if authorization {
                Credential::Authorization { key, token }
            } else {
                Credential::AppHeaders { key, token }
            });
        }
        (None, None) if !authorization => {}
        _ => {
            return Err(
                "--app-key and --app-token go together (--authorization needs both)".into(),
            );
        }
    }
    if !skus.is_empty() {
        c.skus = skus;
    }
    c.unavailable_skus = unavailable;
    c.order_skus = order_skus;
    if c.allow_orders && c.order_skus.is_empty() {
        return Err("--allow-orders places real orders: name the SKUs with --order-sku".into());
    }
    if c.oms_listen.is_some() && !c.allow_orders {
        return Err(
            "--oms-listen checks what the seller sends after an order: add --allow-orders".into(),
        );
    }
    Ok(c)
}
