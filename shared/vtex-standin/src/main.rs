//! `vtex-standin [--addr 127.0.0.1:8899]`: a local stand-in for VTEX for the local runner and manual
//! tests. Credentials it expects: `VTEX_APP_KEY` / `VTEX_APP_TOKEN`, else the defaults in the lib.
//! Control routes: `GET /_standin/requests`, `POST /_standin/faults`, `POST /_standin/reset`,
//! `POST /_standin/orders`.

use std::net::SocketAddr;
use vtex::client::AppCredentials;
use vtex_standin::{DEFAULT_APP_KEY, DEFAULT_APP_TOKEN, StandInConfig, serve_with};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut addr = std::env::var("VTEX_STANDIN_ADDR").unwrap_or_else(|_| "127.0.0.1:8899".into());
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--addr" => addr = args.next().unwrap_or(addr),
            _ => {
                eprintln!("usage: vtex-standin [--addr HOST:PORT]");
                std::process::exit(2);
            }
        }
    }
    let addr: SocketAddr = addr
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let key = std::env::var("VTEX_APP_KEY").unwrap_or_else(|_| DEFAULT_APP_KEY.into());
    let token = std::env::var("VTEX_APP_TOKEN").unwrap_or_else(|_| DEFAULT_APP_TOKEN.into());
    let config = StandInConfig {
        credentials: AppCredentials::new(key, token),
        ..StandInConfig::default()
    };
    let (local, _handle) = serve_with(addr, config).await?;
    println!("vtex-standin listening on http://{local}");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
