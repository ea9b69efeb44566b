//! The `marketplaces` CLI (`connector_tools::marketplaces::run`, what the bin prints) against the
//! embedded store file and against DynamoDB + Secrets Manager (moto): add, list, disable,
//! rotate-credentials, and add's seller registration through the stand-in's Seller Register.

use connector_tests::aws_env;
use connector_tests::contract::TempPath;
use connector_tools::marketplaces::run;
use domain::marketplaces::{AccountName, MarketplaceRegistry, SecretSource};
use vtex::client::AppCredentials;
use vtex_standin::StandInConfig;

/// The secret's value, for comparing in a test.
fn expose(s: &secrecy::SecretString) -> String {
    use secrecy::ExposeSecret;
    s.expose_secret().to_string()
}

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

fn an(s: &str) -> AccountName {
    AccountName::parse(s).unwrap()
}

#[tokio::test]
async fn add_list_disable_and_rotate_on_the_embedded_store() {
    let path = TempPath::new("marketplaces-cli");
    let file = path.0.to_str().unwrap().to_string();
    let cli = |words: &[&str]| {
        let mut all = args(&["--store", &file]);
        all.extend(args(words));
        run(all)
    };
    let out = cli(&[
        "add",
        "--an",
        "Alpha",
        "--seller-id",
        "seller-a",
        "--app-key",
        "key-a",
        "--app-token",
        "token-a",
        "--sales-channels",
        "1,3",
        "--price-list",
        "3=wholesale",
    ])
    .await
    .unwrap();
    assert!(
        out.contains("registered alpha: seller id seller-a, enabled"),
        "{out}"
    );
    cli(&[
        "add",
        "--an",
        "beta",
        "--seller-id",
        "seller-b",
        "--app-key",
        "key-b",
        "--app-token",
        "token-b",
        "--no-catalog",
    ])
    .await
    .unwrap();
    let listed = cli(&["list"]).await.unwrap();
    let lines: Vec<&str> = listed.lines().skip(1).collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(
        lines[0].starts_with("alpha") && lines[0].contains("1,3"),
        "{listed}"
    );
    assert!(
        lines[1].starts_with("beta") && lines[1].contains(" no "),
        "{listed}"
    );

    let store = embedded_store::EmbeddedStore::open(&path.0).unwrap();
    let registry = embedded_store::marketplaces::SqliteRegistry::new(&store).unwrap();
    let alpha = registry.get(&an("alpha")).await.unwrap().unwrap();
    assert_eq!(alpha.price_list_for("3"), "wholesale");
    let secret = expose(&registry.secret(&alpha.credentials_secret).await.unwrap());
    assert!(
        AppCredentials::from_secret_json(&secret)
            .unwrap()
            .matches("key-a", "token-a")
    );

    let out = cli(&["disable", "--an", "beta"]).await.unwrap();
    assert!(out.contains("disabled beta"), "{out}");
    assert!(!registry.get(&an("beta")).await.unwrap().unwrap().enabled);
    assert!(cli(&["disable", "--an", "gamma"]).await.is_err());

    cli(&[
        "rotate-credentials",
        "--an",
        "alpha",
        "--app-key",
        "key-a2",
        "--app-token",
        "token-a2",
    ])
    .await
    .unwrap();
    let secret = expose(&registry.secret(&alpha.credentials_secret).await.unwrap());
    assert!(
        AppCredentials::from_secret_json(&secret)
            .unwrap()
            .matches("key-a2", "token-a2")
    );
    let json: serde_json::Value =
        serde_json::from_str(&cli(&["list", "--json"]).await.unwrap()).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);

    // Refusals say what is wrong.
    for bad in [
        &["add", "--an", "x.y", "--seller-id", "s", "--secret", "n"][..],
        &["add", "--an", "x", "--seller-id", "a/b", "--secret", "n"],
        &["add", "--an", "x", "--seller-id", "s"],
        &["add", "--an", "x", "--seller-id", "s", "--app-key", "k"],
        &["frobnicate"],
    ] {
        assert!(cli(bad).await.is_err(), "{bad:?}");
    }
}

#[tokio::test]
async fn add_registers_us_as_a_seller_or_prints_what_the_operator_must_enter() {
    let mut config = StandInConfig::default()
        .with_account("alpha", AppCredentials::new("key-a", "token-a"))
        .with_account("strict", AppCredentials::new("key-s", "token-s"));
    config
        .accounts
        .get_mut("strict")
        .unwrap()
        .may_register_sellers = false;
    let (addr, standin) = vtex_standin::serve_with("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let base = format!("http://{addr}/{{an}}");
    let path = TempPath::new("marketplaces-register");
    let file = path.0.to_str().unwrap().to_string();
    let endpoint = "https://api.example.com/vtex/p4th";
    let add = |account: &'static str, key: &'static str, token: &'static str, extra: &[&str]| {
        let mut all = args(&[
            "--store",
            &file,
            "add",
            "--an",
            account,
            "--seller-id",
            "acme-seller",
            "--app-key",
            key,
            "--app-token",
            token,
            "--base-url",
            &base,
            "--sales-channels",
            "1",
            "--register",
            "--fulfillment-endpoint",
            endpoint,
            "--seller-name",
            "Acme",
        ]);
        all.extend(args(extra));
        run(all)
    };
    let out = add("alpha", "key-a", "token-a", &[]).await.unwrap();
    assert!(
        out.contains("seller acme-seller registered in marketplace alpha"),
        "{out}"
    );
    let sellers = standin.state().sellers.lock().unwrap().sellers.clone();
    assert_eq!(sellers.len(), 1);
    assert_eq!(sellers[0].account.as_deref(), Some("alpha"));
    assert_eq!(sellers[0].id, "acme-seller");
    assert_eq!(sellers[0].fulfillment_endpoint, endpoint);

    // Without the permission: nothing registered, the operator's instructions printed.
    let out = add("strict", "key-s", "token-s", &[]).await.unwrap();
    assert!(out.contains("may not register sellers"), "{out}");
    for needed in [
        "Seller ID:            acme-seller",
        &format!("Fulfillment endpoint: {endpoint}"),
        "Sales channels:       1",
        "/strict/api/seller-register/pvt/sellers",
    ] {
        assert!(out.contains(needed), "{needed}: {out}");
    }
    assert_eq!(standin.state().sellers.lock().unwrap().sellers.len(), 1);

    // --print-only sends nothing.
    let before = standin.state().requests().len();
    let out = add("alpha", "key-a", "token-a", &["--print-only"])
        .await
        .unwrap();
    assert!(out.contains("Seller name:          Acme"), "{out}");
    assert_eq!(standin.state().requests().len(), before);
}

#[tokio::test]
async fn add_list_disable_and_rotate_on_dynamodb_and_secrets_manager() {
    let Some(sdk) = aws_env::moto().await else {
        return;
    };
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let table = aws_env::unique_name("marketplaces");
    aws_adapters::marketplaces::create_marketplaces_table(&client, &table)
        .await
        .unwrap();
    let account = format!("m{}", &aws_env::unique_name("x")[2..10]);
    let cli = |words: &[&str]| {
        let mut all = args(&["--table", &table]);
        all.extend(args(words));
        run(all)
    };
    let out = cli(&[
        "add",
        "--an",
        &account,
        "--seller-id",
        "seller-1",
        "--app-key",
        "key-1",
        "--app-token",
        "token-1",
    ])
    .await
    .unwrap();
    assert!(out.contains(&format!("registered {account}")), "{out}");
    let registry = aws_adapters::marketplaces::DynamoRegistry::new(client, &table);
    let m = registry.get(&an(&account)).await.unwrap().unwrap();
    assert!(
        m.credentials_secret.starts_with("arn:aws:secretsmanager:")
            && m.credentials_secret
                .contains(&format!("vtex/marketplaces/{account}")),
        "the entry names the secret's ARN under the prefix the functions may read: {}",
        m.credentials_secret
    );
    let secrets = aws_adapters::secrets::SecretsManagerSource::new(&sdk, std::time::Duration::ZERO);
    let value = expose(&secrets.secret(&m.credentials_secret).await.unwrap());
    assert!(
        AppCredentials::from_secret_json(&value)
            .unwrap()
            .matches("key-1", "token-1")
    );

    let listed = cli(&["list"]).await.unwrap();
    assert!(
        listed.contains(&account) && listed.contains("seller-1"),
        "{listed}"
    );

    cli(&[
        "rotate-credentials",
        "--an",
        &account,
        "--app-key",
        "key-2",
        "--app-token",
        "token-2",
    ])
    .await
    .unwrap();
    let value = expose(&secrets.secret(&m.credentials_secret).await.unwrap());
    assert!(
        AppCredentials::from_secret_json(&value)
            .unwrap()
            .matches("key-2", "token-2")
    );

    cli(&["disable", "--an", &account]).await.unwrap();
    assert!(!registry.get(&an(&account)).await.unwrap().unwrap().enabled);
}
