//! Local runner settings: environment first, a couple of flags for convenience.

use std::path::PathBuf;

pub struct LocalConfig {
    pub port: u16,
    pub data_file: PathBuf,
    pub catalog_file: PathBuf,
    pub reset: bool,
    /// Seconds between reservation sweeps.
    pub sweep_every_secs: u64,
}

/// The sample catalog of this checkout, wherever the runner is started from.
const DEFAULT_CATALOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sample/catalog.json");

const USAGE: &str = "usage: connector-local [--reset]

environment:
  PORT              listen port on 127.0.0.1 (default 8080)
  CONNECTOR_DATA    SQLite file holding catalog, orders and queues (default .local-data/connector.db)
  CATALOG_FILE      catalog loaded on first start (default shared/sample/catalog.json)
  SWEEP_EVERY_SECS  how often expired reservations are released (default 30)
  VTEX_BASE_URL     where outbound VTEX calls go (default: an in-process stand-in)
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
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
        let port = match var("PORT") {
            Some(p) => p
                .parse()
                .map_err(|_| format!("PORT={p:?} is not a port number"))?,
            None => 8080,
        };
        let sweep_every_secs = match var("SWEEP_EVERY_SECS") {
            Some(s) => s
                .parse()
                .map_err(|_| format!("SWEEP_EVERY_SECS={s:?} is not a number"))?,
            None => 30,
        };
        Ok(LocalConfig {
            port,
            data_file: var("CONNECTOR_DATA")
                .map_or_else(|| PathBuf::from(".local-data/connector.db"), PathBuf::from),
            catalog_file: var("CATALOG_FILE")
                .map_or_else(|| PathBuf::from(DEFAULT_CATALOG), PathBuf::from),
            reset,
            sweep_every_secs,
        })
    }
}
