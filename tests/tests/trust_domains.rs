//! Issue 13, item 2: one credential per trust domain.
//!
//! | Trust domain | Routes | Credential |
//! |---|---|---|
//! | the marketplace (VTEX calling as marketplace) | `/{secret}/pvt/…` | `InboundAuthSecretArn` |
//! | our own VTEX account (OMS notifications of imported orders) | `/{secret}/pub/orders/{id}/invoice` | `MseAuthSecretArn`, the one written into imported orders' `marketplaceServicesEndpoint` |
//! | operators | `/{secret}/admin/orders/{id}` | IAM (SigV4, `execute-api:Invoke`), on top of the path |
//! | operators | `/console`, `/console/{proxy+}` | IAM (SigV4, `execute-api:Invoke`) |
//!
//! The template is read for the wiring; the real bootstraps show the behaviour: the mse secret an
//! imported order carries opens neither the marketplace's routes nor anything but the mse, and the
//! marketplace's secret does not open the mse.

use connector_tests::aws_env::{moto, unique_name};
use connector_tests::lambda_runtime_api::{Bootstrap, Init, Outcome};
use connector_tests::lambda_stack::{InboundSecret, Stack, bootstrap_dir, root, seed_catalog};
use serde_json::Value;
use serde_yaml::Value as Yaml;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);
/// The marketplace's path secret: the one the HTTP samples carry.
const MARKETPLACE_SECRET: &str = "s3cr3t-7Hq2";
const MSE_SECRET: &str = "mse-0wn-Acc0unt-9fQ2";

fn template() -> Yaml {
    serde_yaml::from_str(&std::fs::read_to_string(root().join("template.yaml")).unwrap()).unwrap()
}

/// `!Ref X` → `X`.
fn ref_name(v: &Yaml) -> Option<String> {
    match v {
        Yaml::Tagged(t) if t.tag == "Ref" => t.value.as_str().map(String::from),
        _ => None,
    }
}

/// Every HttpApi route: (function, path, event properties).
fn routes(t: &Yaml) -> Vec<(String, String, Yaml)> {
    let mut out = Vec::new();
    for (id, r) in t["Resources"].as_mapping().unwrap() {
        let Some(events) = r["Properties"].get("Events").and_then(Yaml::as_mapping) else {
            continue;
        };
        for (_, e) in events {
            if e["Type"] == "HttpApi" {
                let path = e["Properties"]["Path"].as_str().unwrap().to_string();
                out.push((
                    id.as_str().unwrap().to_string(),
                    path,
                    e["Properties"].clone(),
                ));
            }
        }
    }
    out
}

fn inbound_secret_param(t: &Yaml, function: &str) -> Option<String> {
    ref_name(
        &t["Resources"][function]["Properties"]["Environment"]["Variables"]["INBOUND_AUTH_SECRET_ARN"],
    )
}

#[test]
fn the_template_gives_each_trust_domain_its_own_credential() {
    let t = template();
    let routes = routes(&t);
    assert!(routes.len() >= 7, "{routes:?}");
    let mut seen = [false; 3];
    for (function, path, props) in &routes {
        let secret = inbound_secret_param(&t, function);
        let authorizer = props
            .get("Auth")
            .and_then(|a| a.get("Authorizer"))
            .and_then(Yaml::as_str);
        if path.contains("/pvt/") {
            seen[0] = true;
            assert_eq!(secret.as_deref(), Some("InboundAuthSecretArn"), "{path}");
            // VTEX cannot sign SigV4: its routes authenticate in the function.
            assert_eq!(authorizer, None, "{path}");
        } else if path.contains("/pub/") {
            seen[1] = true;
            assert_eq!(secret.as_deref(), Some("MseAuthSecretArn"), "{path}");
            assert_eq!(authorizer, None, "{path}");
        } else if path.contains("/admin/") || path == "/console" || path.starts_with("/console/") {
            seen[2] = true;
            assert_eq!(
                authorizer,
                Some("AWS_IAM"),
                "{path}: operators sign with IAM"
            );
        } else {
            panic!("{path}: a route of no known trust domain");
        }
    }
    assert_eq!(seen, [true; 3], "pvt, pub and admin routes");
    let api = routes[0].2["ApiId"].clone();
    let api = ref_name(&api).unwrap();
    assert_eq!(
        t["Resources"][&api]["Properties"]["Auth"]["EnableIamAuthorizer"],
        Yaml::Bool(true)
    );

    // The import writes the mse's secret (not the marketplace's) into every imported order.
    let (importer, _) = t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .find(|(_, r)| {
            r["Properties"]["Environment"]["Variables"]
                .get("IMPORT_MSE_BASE_URL")
                .is_some()
        })
        .expect("a function builds the mse URL");
    assert_eq!(
        inbound_secret_param(&t, importer.as_str().unwrap()).as_deref(),
        Some("MseAuthSecretArn")
    );

    // CloudFormation refuses the two being one secret (tests/sam_transform.py checks the rule
    // refuses it).
    let rule = &t["Rules"]["MseHasItsOwnSecret"]["Assertions"];
    let text = serde_yaml::to_string(rule).unwrap();
    assert!(
        text.contains("MseAuthSecretArn") && text.contains("InboundAuthSecretArn"),
        "{text}"
    );

    // Operators get the admin route through a policy, and only that route.
    let policy = serde_yaml::to_string(&t["Resources"]["OperatorAdminPolicy"]).unwrap();
    assert!(policy.contains("execute-api:Invoke"), "{policy}");
    assert!(policy.contains("/GET/*/admin/orders/*"), "{policy}");
}

fn status(o: &Outcome) -> u64 {
    match o {
        Outcome::Response(r) => r["statusCode"].as_u64().unwrap_or(0),
        Outcome::Error { .. } => 0,
    }
}

fn http_event(name: &str, secret: &str) -> Value {
    let text = std::fs::read_to_string(root().join(format!("events/{name}.json"))).unwrap();
    serde_json::from_str(&text.replace(MARKETPLACE_SECRET, secret)).unwrap()
}

async fn start(stack: &Stack, bins: &std::path::Path, binary: &str) -> Bootstrap {
    let f = stack
        .functions()
        .into_iter()
        .find(|f| f.binary == binary)
        .unwrap();
    let mut boot = Bootstrap::start(&stack.launch(&f, bins)).await;
    match boot.init(LIMIT).await {
        Init::Ready(_) => boot,
        other => panic!("{binary} did not start: {other:?}\n{}", boot.output()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mse_secret_opens_only_the_mse_and_the_marketplace_secret_not_the_mse() {
    let Some(sdk) = moto().await else { return };
    let Some(bins) = bootstrap_dir() else { return };
    let mut stack = Stack::up(
        sdk.clone(),
        &InboundSecret {
            path_secret: Some(MARKETPLACE_SECRET.into()),
            ..InboundSecret::default()
        },
    )
    .await;
    let mse_arn = aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(unique_name("mse-own"))
        .secret_string(serde_json::json!({ "pathSecret": MSE_SECRET }).to_string())
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    stack
        .bindings
        .params
        .insert("MseAuthSecretArn".into(), mse_arn);
    seed_catalog(&stack).await;

    // The import places the order in our own account with the mse's secret in its mse.
    let mut boot = start(&stack, &bins, "order-import").await;
    let import: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("events/order-import.order.json")).unwrap(),
    )
    .unwrap();
    let (o, _) = boot.invoke(&import, LIMIT).await;
    assert!(
        matches!(&o, Outcome::Response(r) if r["batchItemFailures"] == serde_json::json!([])),
        "{o:?}\n{}",
        boot.output()
    );
    boot.stop().await;
    let placed = stack
        .vtex
        .state()
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/api/fulfillment/pvt/orders"))
        .expect("the import placed the order at VTEX");
    let mse = placed.body[0]["marketplaceServicesEndpoint"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(mse.ends_with(&format!("/{MSE_SECRET}")), "{mse}");
    assert!(!mse.contains(MARKETPLACE_SECRET), "{mse}");

    // The mse: its own secret passes, the marketplace's does not.
    let mut boot = start(&stack, &bins, "mse").await;
    let (own, _) = boot
        .invoke(&http_event("mse.invoice", MSE_SECRET), LIMIT)
        .await;
    let (marketplace, _) = boot
        .invoke(&http_event("mse.invoice", MARKETPLACE_SECRET), LIMIT)
        .await;
    boot.stop().await;
    assert_eq!(status(&own), 200, "{own:?}");
    assert_eq!(status(&marketplace), 401, "{marketplace:?}");

    // The marketplace's routes: the mse secret (readable in our own account) opens none.
    for (binary, case) in [
        ("order-placement", "order-placement.array"),
        ("fulfillment", "fulfillment.cancel-by-marketplace-id"),
        ("simulation", "simulation.post-checkout"),
    ] {
        let mut boot = start(&stack, &bins, binary).await;
        let (o, _) = boot.invoke(&http_event(case, MSE_SECRET), LIMIT).await;
        boot.stop().await;
        assert_eq!(status(&o), 401, "{case} with the mse secret: {o:?}");
    }
}

/// The README's threat model table: (caller, can call, template names) per row.
fn threat_model_rows() -> Vec<(String, String, Vec<String>)> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("### Threat model")
        .nth(1)
        .expect("README has a Threat model section")
        .split("\n### ")
        .next()
        .unwrap();
    let ticked = |cell: &str| -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    section
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---") && !l.starts_with("| Caller"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            assert_eq!(cells.len(), 5, "a threat model row has 5 columns: {l}");
            (cells[0].to_string(), cells[1].to_string(), ticked(cells[3]))
        })
        .collect()
}

#[test]
fn the_readme_threat_model_matches_the_template() {
    let t = template();
    let rows = threat_model_rows();
    assert!(rows.len() >= 7, "{rows:?}");
    let route_rows: Vec<(&str, &Vec<String>)> = rows
        .iter()
        .filter_map(|(_, call, names)| {
            let call = call.strip_prefix('`')?.split('`').next()?;
            call.split_once(' ')
                .filter(|(m, _)| ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(m))
                .map(|_| (call, names))
        })
        .collect();
    let deployed: Vec<(String, String, Yaml)> = routes(&t);
    for (function, path, props) in &deployed {
        let method = props["Method"].as_str().unwrap().to_uppercase();
        let key = format!("{method} {path}");
        let (_, names) = route_rows
            .iter()
            .find(|(k, _)| *k == key)
            .unwrap_or_else(|| panic!("{key} is deployed but not in the README's threat model"));
        if let Some(secret) = inbound_secret_param(&t, function) {
            assert!(
                names.contains(&secret),
                "{key}: the template authenticates it with {secret}, the README says {names:?}"
            );
        }
        let iam = props
            .get("Auth")
            .and_then(|a| a.get("Authorizer"))
            .and_then(Yaml::as_str)
            == Some("AWS_IAM");
        assert_eq!(
            names.iter().any(|n| n == "AWS_IAM"),
            iam,
            "{key}: IAM authorization in the template is {iam}, the README says {names:?}"
        );
    }
    for (key, _) in &route_rows {
        assert!(
            deployed.iter().any(|(_, path, props)| format!(
                "{} {path}",
                props["Method"].as_str().unwrap().to_uppercase()
            ) == *key),
            "the README's threat model names {key}, which the template does not deploy"
        );
    }
    for (caller, _, names) in &rows {
        for name in names.iter().filter(|n| *n != "AWS_IAM") {
            assert!(
                t["Parameters"].get(name.as_str()).is_some()
                    || t["Resources"].get(name.as_str()).is_some(),
                "{caller}: the README names {name}, which is no parameter or resource of the template"
            );
        }
    }
}

/// A Secrets Manager secret in moto; its ARN.
async fn moto_secret(sdk: &aws_config::SdkConfig, name: &str, value: Value) -> String {
    aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name(unique_name(name))
        .secret_string(value.to_string())
        .send()
        .await
        .unwrap()
        .arn
        .unwrap()
}

/// Rotation without downtime: while the secret carries `previous`, requests presenting either
/// value pass; a value that is neither is refused; the mse URL handed to VTEX is the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_a_rotation_the_previous_and_the_new_secret_both_pass() {
    let Some(sdk) = moto().await else { return };
    let Some(bins) = bootstrap_dir() else { return };
    const NEW: &str = "r0tated-New-Secret-77aa";
    const MSE_NEW: &str = "r0tated-New-Mse-31bc";
    let mut stack = Stack::up(sdk.clone(), &InboundSecret::default()).await;
    let inbound = moto_secret(
        &sdk,
        "inbound-rotating",
        serde_json::json!({ "pathSecret": NEW, "previous": { "pathSecret": MARKETPLACE_SECRET } }),
    )
    .await;
    let mse = moto_secret(
        &sdk,
        "mse-rotating",
        serde_json::json!({ "pathSecret": MSE_NEW, "previous": { "pathSecret": MSE_SECRET } }),
    )
    .await;
    stack
        .bindings
        .params
        .insert("InboundAuthSecretArn".into(), inbound);
    stack.bindings.params.insert("MseAuthSecretArn".into(), mse);
    seed_catalog(&stack).await;

    let mut boot = start(&stack, &bins, "simulation").await;
    for (secret, want) in [
        (MARKETPLACE_SECRET, 200),
        (NEW, 200),
        ("neither-0f-them", 401),
    ] {
        let (o, _) = boot
            .invoke(&http_event("simulation.post-checkout", secret), LIMIT)
            .await;
        assert_eq!(status(&o), want, "simulation with {secret}: {o:?}");
    }
    boot.stop().await;

    let mut boot = start(&stack, &bins, "order-import").await;
    let import: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("events/order-import.order.json")).unwrap(),
    )
    .unwrap();
    let (o, _) = boot.invoke(&import, LIMIT).await;
    assert!(
        matches!(&o, Outcome::Response(r) if r["batchItemFailures"] == serde_json::json!([])),
        "{o:?}\n{}",
        boot.output()
    );
    boot.stop().await;
    let placed = stack
        .vtex
        .state()
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/api/fulfillment/pvt/orders"))
        .expect("the import placed the order at VTEX");
    let url = placed.body[0]["marketplaceServicesEndpoint"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(url.ends_with(&format!("/{MSE_NEW}")), "{url}");

    let mut boot = start(&stack, &bins, "mse").await;
    for (secret, want) in [(MSE_SECRET, 200), (MSE_NEW, 200), (NEW, 401)] {
        let (o, _) = boot.invoke(&http_event("mse.invoice", secret), LIMIT).await;
        assert_eq!(status(&o), want, "mse with {secret}: {o:?}");
    }
    boot.stop().await;
}
