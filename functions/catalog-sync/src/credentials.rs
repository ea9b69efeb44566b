//! VTEX app key and token for the composition root and `catalog-load`: the secret named by
//! `VTEX_CREDENTIALS_SECRET_ARN`, else `VTEX_APP_KEY` / `VTEX_APP_TOKEN` (local runs and tools).
//! Never logged.

use vtex::client::AppCredentials;

pub async fn from_env() -> Result<AppCredentials, String> {
    aws_adapters::secrets::vtex_credentials(
        lambda_kit::config::credential_source(
            &lambda_kit::config::Vars::env(),
            "VTEX_CREDENTIALS_SECRET_ARN",
        ),
        AppCredentials::from_secret_json,
        AppCredentials::new,
    )
    .await
}
