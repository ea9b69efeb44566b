//! Secrets Manager reads done once at cold start. Values are returned, never logged.

use domain::auth::{CredentialSource, InboundAuth, Secret};

/// The string value of a secret.
pub async fn secret_string(sdk: &aws_config::SdkConfig, arn: &str) -> Result<String, String> {
    let out = aws_sdk_secretsmanager::Client::new(sdk)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| {
            format!(
                "reading secret failed: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
            )
        })?;
    out.secret_string()
        .map(str::to_string)
        .ok_or_else(|| "the secret has no string value".to_string())
}

/// Inbound authentication for the HTTP functions: the secret `secret_arn`
/// (`INBOUND_AUTH_SECRET_ARN`: JSON `{"pathSecret": "…", "appKey": "…", "appToken": "…"}`, any
/// subset, plus `"previous"` with the same keys during a rotation), else `plain` (the `INBOUND_*` variables, local runs). Fails closed in Lambda
/// (`AWS_LAMBDA_FUNCTION_NAME` set): with no complete method configured the function refuses to
/// start, saying what is missing.
pub async fn inbound_auth(
    sdk: &aws_config::SdkConfig,
    secret_arn: Option<&str>,
    plain: InboundAuth,
) -> Result<InboundAuth, String> {
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some_and(|v| !v.is_empty());
    let Some(arn) = secret_arn else {
        return plain.require_in_lambda(in_lambda);
    };
    let text = secret_string(sdk, arn).await?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|_| "the inbound auth secret is not a JSON object".to_string())?;
    // During a rotation the secret also carries the values being replaced, under `previous`
    // (same keys): a request presenting either passes; the current one is what is handed out.
    let value_of = |obj: Option<&serde_json::Value>, k: &str| {
        obj.and_then(|o| o.get(k))
            .and_then(|x| x.as_str())
            .and_then(Secret::new)
    };
    let previous = v.get("previous").filter(|p| p.is_object());
    let field = |k: &str| value_of(Some(&v), k).map(|s| s.with_previous(value_of(previous, k)));
    let auth = InboundAuth {
        path_secret: field("pathSecret"),
        app_key: field("appKey"),
        app_token: field("appToken"),
    };
    if auth.is_open() {
        return Err(
            "the inbound auth secret enables no method (pathSecret or appKey+appToken)".into(),
        );
    }
    Ok(auth)
}

/// The one loader of VTEX app credentials for the composition roots and tools: the Secrets
/// Manager secret of `source.arn` (the variable `source.arn_var`; JSON `{appKey, appToken}`, read
/// by `from_secret`), else `VTEX_APP_KEY` / `VTEX_APP_TOKEN` (local runs and tools only: the
/// template never sets them). The AWS configuration is loaded only when the secret is used, so
/// local tools need no AWS setup. Errors never quote a secret.
pub async fn vtex_credentials<C, E: std::fmt::Display>(
    source: CredentialSource,
    from_secret: impl FnOnce(&str) -> Result<C, E>,
    from_plain: impl FnOnce(String, String) -> C,
) -> Result<C, String> {
    let arn_var = source.arn_var;
    if let Some(arn) = source.arn {
        let sdk = crate::sdk_config().await;
        let text = secret_string(&sdk, &arn)
            .await
            .map_err(|e| format!("VTEX credentials ({arn_var}): {e}"))?;
        return from_secret(&text).map_err(|e| format!("VTEX credentials ({arn_var}): {e}"));
    }
    match (source.app_key, source.app_token) {
        (Some(k), Some(t)) => Ok(from_plain(k, t)),
        _ => Err(format!(
            "set {arn_var} (or VTEX_APP_KEY and VTEX_APP_TOKEN locally)"
        )),
    }
}

/// The marketplace credentials' secrets ([`domain::marketplaces::SecretSource`]), read from Secrets
/// Manager by ARN or name and kept `ttl` (a rotation is picked up within it). A failed read is not
/// cached. Values are never logged; errors never quote one.
pub struct SecretsManagerSource {
    client: aws_sdk_secretsmanager::Client,
    ttl: std::time::Duration,
    cache: std::sync::Mutex<
        std::collections::HashMap<String, (std::time::Instant, secrecy::SecretString)>,
    >,
}

impl SecretsManagerSource {
    pub fn new(sdk: &aws_config::SdkConfig, ttl: std::time::Duration) -> Self {
        SecretsManagerSource {
            client: aws_sdk_secretsmanager::Client::new(sdk),
            ttl,
            cache: Default::default(),
        }
    }
}

#[async_trait::async_trait]
impl domain::marketplaces::SecretSource for SecretsManagerSource {
    async fn secret(&self, name: &str) -> Result<secrecy::SecretString, String> {
        if let Some((at, value)) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            && at.elapsed() < self.ttl
        {
            return Ok(value.clone());
        }
        let out = self
            .client
            .get_secret_value()
            .secret_id(name)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "reading secret failed: {}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                )
            })?;
        let value = secrecy::SecretString::from(
            out.secret_string()
                .ok_or_else(|| "the secret has no string value".to_string())?
                .to_string(),
        );
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), (std::time::Instant::now(), value.clone()));
        Ok(value)
    }
}

/// Writes `value` as the secret `name`'s current version, creating the secret when there is none
/// (the `marketplaces` CLI's `add` and `rotate-credentials`); returns the secret's ARN.
pub async fn put_secret_value(
    sdk: &aws_config::SdkConfig,
    name: &str,
    value: &str,
) -> Result<String, String> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let describe = |e: &dyn std::fmt::Display| format!("writing secret failed: {e}");
    match client
        .put_secret_value()
        .secret_id(name)
        .secret_string(value)
        .send()
        .await
    {
        Ok(out) => Ok(out.arn().unwrap_or(name).to_string()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            let out = client
                .create_secret()
                .name(name)
                .secret_string(value)
                .send()
                .await
                .map_err(|e| describe(&aws_sdk_secretsmanager::error::DisplayErrorContext(&e)))?;
            Ok(out.arn().unwrap_or(name).to_string())
        }
        Err(e) => Err(describe(
            &aws_sdk_secretsmanager::error::DisplayErrorContext(&e),
        )),
    }
}
