//! `seller-check --base URL [options]`: see `config::USAGE` and the crate's README.

use seller_check::config;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cfg = match config::parse(&args) {
        Ok(c) => c,
        Err(e) if e == config::USAGE => {
            println!("{e}");
            return;
        }
        Err(e) => {
            eprintln!("seller-check: {e}");
            std::process::exit(2);
        }
    };
    let report = match seller_check::run(&cfg).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("seller-check: {e}");
            std::process::exit(2);
        }
    };
    if let Some(path) = &cfg.html
        && let Err(e) = std::fs::write(path, report.to_html())
    {
        eprintln!("seller-check: cannot write {}: {e}", path.display());
        std::process::exit(2);
    }
    if cfg.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_table());
    }
    std::process::exit(if report.failed() { 1 } else { 0 });
}
