//! Local runner settings: environment first, a couple of flags for convenience.

use lambda_kit::config::{ConfigError, Vars};
use serde::Deserialize;
use std::path::PathBuf;

pub struct LocalConfig {
    pub port: u16,
    pub data_file: PathBuf,
    pub catalog_file: PathBuf,
    pub reset: bool,
    /// Seconds between reservation sweeps.
    pub sweep_every_secs: u64,
    /// `VTEX_BASE_URL` with `VTEX_APP_KEY` / `VTEX_APP_TOKEN`: a real VTEX (else the stand-in, on
    /// `STANDIN_PORT`, default `PORT + 1`).
    pub vtex_base_url: Option<String>,
    pub vtex_app_key: Option<String>,
    pub vtex_app_token: Option<String>,
    pub standin_port: Option<u16>,
}

/// The variables ([`lambda_kit::config`]).
#[derive(Deserialize)]
struct Env {
    port: Option<u16>,
    connector_data: Option<PathBuf>,
    catalog_file: Option<PathBuf>,
    sweep_every_secs: Option<u64>,
    vtex_base_url: Option<String>,
    vtex_app_key: Option<String>,
    vtex_app_token: Option<String>,
    standin_port: Option<u16>,
}

/// The sample catalog of this checkout, wherever the runner is started from.
const DEFAULT_CATALOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sample/catalog.json");

const USAGE: &str = "usage: connector-local [--reset]

environment:
  PORT              listen port on 127.0.0.1 (default 8080)
  CONNECTOR_DATA    SQLite file holding catalog, orders and queues (default .local-data/connector.db)
  CATALOG_FILE      catalog loaded on first start (default shared/sample/catalog.json)
  SWEEP_EVERY_SECS  how often expired reservations are released (default 30)
  VTEX_BASE_URL     where outbound VTEX calls go (default: an in-process stand-in, with the
                    marketplaces marketplacedemo and luxstore registered against it)
  DEFAULT_AN        the marketplace of calls without ?an= (default marketplacedemo)
  marketplaces --store CONNECTOR_DATA add|list|disable|rotate-credentials   more marketplaces
  INBOUND_PATH_SECRET / INBOUND_APP_KEY / INBOUND_APP_TOKEN   inbound auth (default: off)";

impl LocalConfig {
    pub fn from_env_and_args() -> Result<Self, String> {
        let mut reset = false;
        for arg in std::env::args().skip(1) {
            match arg.as_str() {
                "--reset" => reset = true,
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
            }
        }
        Self::from_vars(&Vars::env(), reset).map_err(|e| e.to_string())
    }

    pub fn from_vars(vars: &Vars, reset: bool) -> Result<Self, ConfigError> {
        let e: Env = vars.load()?;
        Ok(LocalConfig {
            port: e.port.unwrap_or(8080),
            data_file: e
                .connector_data
                .unwrap_or_else(|| PathBuf::from(".local-data/connector.db")),
            catalog_file: e
                .catalog_file
                .unwrap_or_else(|| PathBuf::from(DEFAULT_CATALOG)),
            reset,
            sweep_every_secs: e.sweep_every_secs.unwrap_or(30),
            vtex_base_url: e.vtex_base_url,
            vtex_app_key: e.vtex_app_key,
            vtex_app_token: e.vtex_app_token,
            standin_port: e.standin_port,
        })
    }
}
