//! The stack `template.yaml` declares, stood up for the real `bootstrap` binaries: its tables and
//! queues created in moto from their template properties, the secrets its parameters name created
//! in moto's Secrets Manager, VTEX played by the in-process stand-in, and for each function the
//! environment the template gives it, resolved against all of that. Then
//! [`crate::lambda_runtime_api::Bootstrap`] runs the binary as Lambda would.

use crate::aws_env::unique_name;
use crate::lambda_runtime_api::Launch;
use crate::sam_template::{Bindings, Function, Template};
use aws_adapters::dynamo::DynamoCatalog;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use aws_sdk_sqs::types::QueueAttributeName;
use domain::catalog::CatalogFile;
use domain::ports::CatalogWriter;
use serde_json::Value as Json;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Parameter values a deployment of the harness stack uses, besides the secrets (created here)
/// and VTEX's URLs (the stand-in). The import flow is enabled so that every function exists.
pub const MARKETPLACE_ACCOUNT: &str = "marketplacedemo";
pub const SELLER_ACCOUNT: &str = "sellerdemo";
pub const SELLER_ID: &str = "1";

/// How inbound requests authenticate in the harness stack.
#[derive(Debug, Clone, Default)]
pub struct InboundSecret {
    pub path_secret: Option<String>,
    pub app_key: Option<String>,
    pub app_token: Option<String>,
}

impl InboundSecret {
    fn json(&self) -> String {
        let mut m = serde_json::Map::new();
        for (k, v) in [
            ("pathSecret", &self.path_secret),
            ("appKey", &self.app_key),
            ("appToken", &self.app_token),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), v.clone().into());
            }
        }
        serde_json::Value::Object(m).to_string()
    }
}

pub struct Stack {
    pub template: Template,
    pub bindings: Bindings,
    pub sdk: aws_config::SdkConfig,
    /// logical id → physical table name.
    pub tables: HashMap<String, String>,
    /// logical id → queue URL.
    pub queues: HashMap<String, String>,
    pub vtex: vtex_standin::ServerHandle,
}

async fn secret(sdk: &aws_config::SdkConfig, name: &str, value: String) -> String {
    aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name(unique_name(name))
        .secret_string(value)
        .send()
        .await
        .expect("create secret in moto")
        .arn
        .expect("CreateSecret returns an ARN")
}

fn text(v: Option<&Value>) -> String {
    v.and_then(Value::as_str).unwrap_or_default().to_string()
}

impl Stack {
    /// Creates everything the template declares (for the resources whose condition holds).
    pub async fn up(sdk: aws_config::SdkConfig, inbound: &InboundSecret) -> Stack {
        let template = Template::load(&root().join("template.yaml")).expect("template.yaml");
        let (vtex_addr, vtex) = vtex_standin::serve("127.0.0.1:0".parse().unwrap())
            .await
            .expect("start the VTEX stand-in");
        let vtex_url = format!("http://{vtex_addr}");
        let creds = serde_json::json!({
            "appKey": vtex_standin::DEFAULT_APP_KEY,
            "appToken": vtex_standin::DEFAULT_APP_TOKEN,
        })
        .to_string();

        let mut params = template.parameter_defaults();
        let given: HashMap<&str, String> = HashMap::from([
            (
                "InboundAuthSecretArn",
                secret(&sdk, "inbound-auth", inbound.json()).await,
            ),
            // The mse's own trust domain (our VTEX account's notifications) has its own secret;
            // here with the same value, so the samples' one path secret passes every route.
            (
                "MseAuthSecretArn",
                secret(&sdk, "mse-auth", inbound.json()).await,
            ),
            (
                "VtexCredentialsSecretArn",
                secret(&sdk, "vtex-credentials", creds.clone()).await,
            ),
            (
                "ImportVtexCredentialsSecretArn",
                secret(&sdk, "import-credentials", creds).await,
            ),
            ("VtexSellerId", SELLER_ID.into()),
            ("DefaultAccountName", MARKETPLACE_ACCOUNT.into()),
            ("ImportVtexAccount", SELLER_ACCOUNT.into()),
            ("VtexBaseUrl", vtex_url.clone()),
            ("ImportVtexBaseUrl", vtex_url.clone()),
            ("VtexSuggestionsBaseUrl", vtex_url.clone()),
        ]);
        for (k, v) in &given {
            params.insert(k.to_string(), v.clone());
        }
        let missing: Vec<String> = template
            .required_parameters()
            .into_iter()
            .filter(|p| !params.contains_key(p))
            .collect();
        assert!(
            missing.is_empty(),
            "template.yaml has required parameters the harness gives no value: {missing:?}"
        );
        let mut bindings = Bindings {
            params,
            ..Bindings::default()
        };
        let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
        // The HTTP API: only its id appears in the environment (URLs the functions build).
        for (id, _) in template.resources_of_type("AWS::Serverless::HttpApi") {
            bindings.attrs.insert(
                format!("{id}.ApiEndpoint"),
                format!("https://harnessapi.execute-api.{region}.amazonaws.com"),
            );
            bindings.refs.insert(id, "harnessapi".into());
        }

        let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
        let mut tables = HashMap::new();
        for (id, r) in template.resources_of_type("AWS::DynamoDB::Table") {
            if !holds(&template, &r, &bindings) {
                continue;
            }
            let name = unique_name(&id.to_lowercase());
            create_table(&dynamo, &name, &r).await;
            bindings.attrs.insert(
                format!("{id}.Arn"),
                format!("arn:aws:dynamodb:{region}:123456789012:table/{name}"),
            );
            bindings.refs.insert(id.clone(), name.clone());
            tables.insert(id, name);
        }

        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let mut queues = HashMap::new();
        let declared: Vec<(String, Value)> = template
            .resources_of_type("AWS::SQS::Queue")
            .into_iter()
            .filter(|(_, r)| holds(&template, r, &bindings))
            .collect();
        for (id, r) in &declared {
            let props = r.get("Properties").cloned().unwrap_or(Value::Null);
            let fifo = props.get("FifoQueue").and_then(Value::as_bool) == Some(true);
            let name = unique_name(&id.to_lowercase());
            let name = if fifo { format!("{name}.fifo") } else { name };
            let mut create = sqs.create_queue().queue_name(&name);
            for (attr, key) in [
                (QueueAttributeName::FifoQueue, "FifoQueue"),
                (
                    QueueAttributeName::ContentBasedDeduplication,
                    "ContentBasedDeduplication",
                ),
                (QueueAttributeName::VisibilityTimeout, "VisibilityTimeout"),
                (
                    QueueAttributeName::MessageRetentionPeriod,
                    "MessageRetentionPeriod",
                ),
                (QueueAttributeName::DelaySeconds, "DelaySeconds"),
            ] {
                if let Some(v) = props.get(key) {
                    let v = template.resolve(v, &bindings).expect(key);
                    create = create.attributes(attr, v);
                }
            }
            let url = create
                .send()
                .await
                .expect("create queue in moto")
                .queue_url
                .expect("CreateQueue returns a URL");
            let arn = crate::aws_env::queue_arn(&sqs, &url).await;
            bindings.attrs.insert(format!("{id}.Arn"), arn);
            bindings.attrs.insert(format!("{id}.QueueName"), name);
            bindings.attrs.insert(format!("{id}.QueueUrl"), url.clone());
            bindings.refs.insert(id.clone(), url.clone());
            queues.insert(id.clone(), url);
        }
        // Redrive policies once every queue (and so every DLQ ARN) exists.
        for (id, r) in &declared {
            let Some(policy) = r.get("Properties").and_then(|p| p.get("RedrivePolicy")) else {
                continue;
            };
            let dlq = template
                .resolve(policy.get("deadLetterTargetArn").unwrap(), &bindings)
                .expect("deadLetterTargetArn");
            let max = template
                .resolve(policy.get("maxReceiveCount").unwrap(), &bindings)
                .expect("maxReceiveCount");
            let max: u32 = max.parse().expect("maxReceiveCount is a number");
            sqs.set_queue_attributes()
                .queue_url(&queues[id])
                .attributes(
                    QueueAttributeName::RedrivePolicy,
                    crate::aws_env::redrive_policy(&dlq, max),
                )
                .send()
                .await
                .expect("set redrive policy");
        }

        Stack {
            template,
            bindings,
            sdk,
            tables,
            queues,
            vtex,
        }
    }

    /// The functions of the stack (their conditions hold).
    pub fn functions(&self) -> Vec<Function> {
        self.template
            .functions()
            .into_iter()
            .filter(|f| {
                f.condition.as_deref().is_none_or(|c| {
                    self.template
                        .condition(c, &self.bindings)
                        .unwrap_or_else(|e| panic!("{}: {e}", f.logical_id))
                })
            })
            .collect()
    }

    /// The function's environment as the template declares it, resolved, plus the
    /// `LoggingConfig` variables Lambda derives from it.
    pub fn environment(&self, f: &Function) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = f
            .env
            .iter()
            .map(|(k, v)| {
                let value = self
                    .template
                    .resolve(v, &self.bindings)
                    .unwrap_or_else(|e| panic!("{} {k}: {e}", f.logical_id));
                (k.clone(), value)
            })
            .collect();
        if let Some(format) = f.logging.get("LogFormat") {
            let format = self.template.resolve(format, &self.bindings).unwrap();
            if format == "JSON" {
                env.push(("AWS_LAMBDA_LOG_FORMAT".into(), format));
                if let Some(level) = f.logging.get("ApplicationLogLevel") {
                    let level = self.template.resolve(level, &self.bindings).unwrap();
                    env.push(("AWS_LAMBDA_LOG_LEVEL".into(), level));
                }
            }
        }
        env
    }

    /// How to start `f`'s bootstrap from `bin_dir`: the template's environment, plus what the
    /// harness adds to reach moto (endpoint and credentials; Lambda gives a role's credentials).
    pub fn launch(&self, f: &Function, bin_dir: &Path) -> Launch {
        let mut env = self.environment(f);
        for k in [
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_MAX_ATTEMPTS",
        ] {
            if let Ok(v) = std::env::var(k) {
                env.push((k.into(), v));
            }
        }
        Launch {
            binary: bin_dir.join(&f.binary),
            function_name: f.logical_id.clone(),
            memory_mb: f.memory_mb,
            env,
        }
    }
}

fn holds(template: &Template, r: &Value, b: &Bindings) -> bool {
    match r.get("Condition").and_then(Value::as_str) {
        None => true,
        Some(c) => template.condition(c, b).expect("resource condition"),
    }
}

fn key_schema(v: Option<&Value>) -> Vec<KeySchemaElement> {
    v.and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(text(k.get("AttributeName")))
                .key_type(KeyType::from(text(k.get("KeyType")).as_str()))
                .build()
                .unwrap()
        })
        .collect()
}

async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str, r: &Value) {
    let props = r.get("Properties").cloned().unwrap_or(Value::Null);
    let mut create = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(props.get("KeySchema"))));
    for a in props
        .get("AttributeDefinitions")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        create = create.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(text(a.get("AttributeName")))
                .attribute_type(ScalarAttributeType::from(
                    text(a.get("AttributeType")).as_str(),
                ))
                .build()
                .unwrap(),
        );
    }
    for g in props
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let projection = text(g.get("Projection").and_then(|p| p.get("ProjectionType")));
        create = create.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(text(g.get("IndexName")))
                .set_key_schema(Some(key_schema(g.get("KeySchema"))))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(projection.as_str()))
                        .build(),
                )
                .build()
                .unwrap(),
        );
    }
    create.send().await.expect("create table in moto");
}

/// Sample files that are not a Lambda function's input, and why.
pub const NOT_FUNCTION_INPUTS: &[(&str, &str)] = &[
    (
        "erp-order-event.",
        "messages the ERP reads from the order-events queue: output, not a function's input",
    ),
    (
        "order-import.file.json",
        "an import file for the `order-import-file` tool, not an SQS event",
    ),
];

/// `events/*.json` by file stem (`<binary>.<case>`), without the non-function files.
pub fn sample_events() -> BTreeMap<String, Json> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(root().join("events")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        // `env-vars.json` and the like: not `<function>.<case>`.
        if !stem.contains('.') || NOT_FUNCTION_INPUTS.iter().any(|(p, _)| name.starts_with(p)) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let v: Json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        out.insert(stem.to_string(), v);
    }
    out
}

/// The path secret the HTTP samples carry (`pathParameters.secret`), which the harness stack's
/// inbound auth secret must hold for them to pass.
pub fn path_secret(events: &BTreeMap<String, Json>) -> Option<String> {
    let secrets: BTreeSet<String> = events
        .values()
        .filter_map(|e| {
            e.pointer("/pathParameters/secret")?
                .as_str()
                .map(String::from)
        })
        .collect();
    assert!(
        secrets.len() <= 1,
        "the HTTP samples disagree on the path secret: {secrets:?}"
    );
    secrets.into_iter().next()
}

/// The sample catalog (shared/sample/catalog.json) in the stack's catalog table.
pub async fn seed_catalog(stack: &Stack) {
    let file: CatalogFile =
        serde_json::from_str(include_str!("../../shared/sample/catalog.json")).unwrap();
    let name = stack
        .tables
        .get("CatalogTable")
        .expect("the template declares CatalogTable");
    let catalog = DynamoCatalog::new(aws_sdk_dynamodb::Client::new(&stack.sdk), name.clone());
    catalog
        .put_shipping_rules(&file.shipping_rules)
        .await
        .unwrap();
    for sku in &file.skus {
        catalog.upsert_sku(sku).await.unwrap();
    }
}

/// The directory of the built bootstraps (`CONNECTOR_BOOTSTRAP_DIR`, set by tests/run.sh after it
/// builds them), or `None` after printing "skipped"; a panic under `CONNECTOR_TEST_REQUIRE_AWS=1`.
pub fn bootstrap_dir() -> Option<PathBuf> {
    match std::env::var("CONNECTOR_BOOTSTRAP_DIR") {
        Ok(d) if !d.trim().is_empty() => Some(PathBuf::from(d)),
        _ if std::env::var("CONNECTOR_TEST_REQUIRE_AWS").as_deref() == Ok("1") => {
            panic!(
                "CONNECTOR_TEST_REQUIRE_AWS=1 but CONNECTOR_BOOTSTRAP_DIR is unset; run tests/run.sh"
            )
        }
        _ => {
            eprintln!("skipped: no CONNECTOR_BOOTSTRAP_DIR (tests/run.sh builds the bootstraps)");
            None
        }
    }
}
