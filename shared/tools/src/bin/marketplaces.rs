//! The marketplace registry's CLI: `add`, `list`, `disable`, `rotate-credentials`, against the
//! stack's DynamoDB table (and Secrets Manager) or the local runner's embedded store. See
//! [`connector_tools::marketplaces`] for the commands.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match connector_tools::marketplaces::run(std::env::args().skip(1).collect()).await {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("marketplaces: {e}");
            ExitCode::FAILURE
        }
    }
}
