//! VTEX app key and token for the composition roots: the Secrets Manager secret named by
//! `VTEX_CREDENTIALS_SECRET_ARN` (JSON `{appKey, appToken}`), else `VTEX_APP_KEY` /
//! `VTEX_APP_TOKEN` (local runs and tools only: the template never sets them). Never logged.

use vtex::client::AppCredentials;

fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Loads the AWS configuration only when the secret is used, so local tools need no AWS setup.
pub async fn from_env() -> Result<AppCredentials, String> {
    if let Some(arn) = optional("VTEX_CREDENTIALS_SECRET_ARN") {
        let sdk = aws_adapters::sdk_config().await;
        let out = aws_sdk_secretsmanager::Client::new(&sdk)
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "reading the VTEX credentials secret failed: {}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                )
            })?;
        let text = out
            .secret_string()
            .ok_or("the VTEX credentials secret has no string value")?;
        return AppCredentials::from_secret_json(text).map_err(|e| e.to_string());
    }
    match (optional("VTEX_APP_KEY"), optional("VTEX_APP_TOKEN")) {
        (Some(k), Some(t)) => Ok(AppCredentials::new(k, t)),
        _ => Err(
            "set VTEX_CREDENTIALS_SECRET_ARN (or VTEX_APP_KEY and VTEX_APP_TOKEN locally)".into(),
        ),
    }
}
