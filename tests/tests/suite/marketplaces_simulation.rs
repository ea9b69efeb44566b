//! The simulation honours the marketplace registry (issue 18): a simulation naming an account
//! (query, then body, then `DEFAULT_AN`) that is not registered, or is disabled, is refused with
//! 403 `MKP001` before the catalog is read, and each marketplace is quoted at the price list its
//! sales channel maps to. A mapped list with no row for the SKU falls back as an unmapped channel
//! does (the account's own row, then the catch-all), so a mapping never makes a SKU unpriced.

use chrono::{TimeZone, Utc};
use domain::catalog::{CatalogFile, PriceEntry};
use domain::clock::ManualClock;
use domain::marketplaces::{
    AccountName, CachedRegistry, Marketplace, MarketplaceRegistry, MemoryRegistry, PriceList,
};
use domain::memory::MemoryStore;
use domain::money::Cents;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use simulation::{Config, Deps, handle};
use std::sync::Arc;
use std::time::Duration;

const SKU: &str = "2000037";
/// The sample catalog's catch-all price of [`SKU`].
const LIST_PRICE: i64 = 67203;
/// Its row in our price list `lux-1`.
const LUX_PRICE: i64 = 59900;

fn account(an: &str) -> AccountName {
    AccountName::parse(an).unwrap()
}

fn mapped(an: &str, sc: &str, list: &str) -> Marketplace {
    let mut m = Marketplace::new(account(an), "1", format!("local/{an}"));
    m.price_lists = vec![PriceList {
        sales_channel: sc.into(),
        price_list: list.into(),
    }];
    m
}

/// The sample catalog with a `lux-1` row for [`SKU`]; `marketplacedemo` built in (the stack's
/// `DEFAULT_AN`), `luxstore` selling its channel 1 at `lux-1`, `emptylist` mapped to a list with no
/// rows, `offstore` disabled.
async fn deps(table: &MemoryRegistry) -> Deps {
    let mut file: CatalogFile =
        serde_json::from_str(include_str!("../../../shared/sample/catalog.json")).unwrap();
    let sku = file.skus.iter_mut().find(|s| s.id == SKU).unwrap();
    sku.prices.push(PriceEntry {
        an: None,
        sc: Some("lux-1".into()),
        price: Cents(LUX_PRICE),
        list_price: Cents(LIST_PRICE),
        valid_until: None,
    });
    let mut off = Marketplace::new(account("offstore"), "1", "local/offstore");
    off.enabled = false;
    for m in [
        mapped("luxstore", "1", "lux-1"),
        mapped("emptylist", "1", "no-such-list"),
        off,
    ] {
        put(table, m).await;
    }
    let registry = Arc::new(CachedRegistry::new(
        Arc::new(table.clone()),
        Some(Marketplace::new(account("marketplacedemo"), "1", "local/x")),
        Duration::from_secs(3600),
    ));
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 18, 12, 0, 0).unwrap());
    Deps::new(
        Arc::new(MemoryStore::with_catalog(&file)),
        Arc::new(clock),
        Config {
            default_an: Some("marketplacedemo".into()),
            ..Config::default()
        },
    )
    .with_marketplaces(registry)
}

async fn put(table: &MemoryRegistry, m: Marketplace) {
    table.put(&m).await.unwrap();
}

fn post(query: &str, body_an: Option<&str>) -> Request {
    let an = body_an.map_or(String::new(), |an| format!(r#","an":"{an}""#));
    let body = format!(
        r#"{{"items":[{{"id":"{SKU}","quantity":1,"seller":"1"}}],"postalCode":"22051030","country":"BRA"{an}}}"#
    );
    let mut req = Request::new(Body::from(body));
    *req.method_mut() = Method::POST;
    *req.uri_mut() = format!("https://x/pvt/orderForms/simulation{query}")
        .parse()
        .unwrap();
    req
}

fn json(resp: &Response<Body>) -> Value {
    serde_json::from_slice(resp.body().as_ref()).expect("JSON body")
}

async fn price(deps: &Deps, req: Request) -> i64 {
    let resp = handle(deps, req).await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", json(&resp));
    let v = json(&resp);
    v["items"][0]["price"]
        .as_i64()
        .unwrap_or_else(|| panic!("no price: {v}"))
}

#[tokio::test]
async fn each_marketplace_is_quoted_at_the_price_list_its_sales_channel_maps_to() {
    let deps = deps(&MemoryRegistry::new()).await;
    assert_eq!(
        price(&deps, post("?sc=1&an=luxstore", None)).await,
        LUX_PRICE
    );
    assert_eq!(
        price(&deps, post("?sc=1&an=marketplacedemo", None)).await,
        LIST_PRICE
    );
    // The body's an when the query has none; DEFAULT_AN when neither has one.
    assert_eq!(
        price(&deps, post("?sc=1", Some("luxstore"))).await,
        LUX_PRICE
    );
    assert_eq!(price(&deps, post("?sc=1", None)).await, LIST_PRICE);
    // A mapped list without a row for the SKU: the catch-all, as for an unmapped channel.
    assert_eq!(
        price(&deps, post("?sc=1&an=emptylist", None)).await,
        LIST_PRICE
    );
}

#[tokio::test]
async fn a_simulation_for_an_account_not_served_is_refused_with_mkp001() {
    let table = MemoryRegistry::new();
    let deps = deps(&table).await;
    for (req, says) in [
        (post("?sc=1&an=thirdstore", None), "not registered"),
        (post("?sc=1&an=offstore", None), "disabled"),
        // The query wins over the body.
        (
            post("?sc=1&an=thirdstore", Some("luxstore")),
            "not registered",
        ),
        (post("?sc=1", Some("thirdstore")), "not registered"),
    ] {
        let resp = handle(&deps, req).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{}", json(&resp));
        let v = json(&resp);
        assert_eq!(v["error"]["code"], "MKP001", "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(says),
            "{v}"
        );
    }
    // The sample event VTEX sends (an=marketplacedemo) is served.
    let event = lambda_http::request::from_str(include_str!(
        "../../../events/simulation.post-checkout.json"
    ))
    .unwrap();
    assert_eq!(handle(&deps, event).await.status(), StatusCode::OK);
    // Registered since the list was read: refused until the cache period ends (no store read
    // per request), then served.
    put(
        &table,
        Marketplace::new(account("thirdstore"), "1", "local/third"),
    )
    .await;
    let again = || post("?sc=1&an=thirdstore", None);
    assert_eq!(handle(&deps, again()).await.status(), StatusCode::FORBIDDEN);
    deps.marketplaces.as_ref().unwrap().invalidate();
    assert_eq!(price(&deps, again()).await, LIST_PRICE);
}

/// The real local runner (`connector-local` from `CONNECTOR_BOOTSTRAP_DIR`, as
/// `marketplaces_local` runs it): its two marketplaces and its default account are quoted, a
/// third account is refused.
mod local_runner {
    use serde_json::Value;
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    struct Runner {
        child: Child,
        data: PathBuf,
    }

    impl Drop for Runner {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", self.data.display()));
            }
        }
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    fn start(port: u16) -> Option<Runner> {
        let bin = std::env::var("CONNECTOR_BOOTSTRAP_DIR")
            .map(|d| PathBuf::from(d).join("connector-local"))
            .ok()
            .filter(|b| b.exists());
        let Some(bin) = bin else {
            if std::env::var_os("CI").is_some() {
                panic!("the local runner is needed under CI: set CONNECTOR_BOOTSTRAP_DIR");
            }
            eprintln!(
                "SKIPPED: no connector-local in CONNECTOR_BOOTSTRAP_DIR; tests/run.sh builds it"
            );
            return None;
        };
        let data = std::env::temp_dir().join(format!("marketplaces-simulation-{port}.db"));
        let child = Command::new(bin)
            .arg("--reset")
            .env("PORT", port.to_string())
            .env("STANDIN_PORT", free_port().to_string())
            .env("CONNECTOR_DATA", &data)
            .env("SWEEP_EVERY_SECS", "3600")
            .env_remove("VTEX_BASE_URL")
            .env_remove("DEFAULT_AN")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("connector-local starts");
        let runner = Runner { child, data };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "connector-local did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(runner)
    }

    #[tokio::test]
    async fn the_local_runner_quotes_its_marketplaces_and_refuses_a_third() {
        let port = free_port();
        let Some(_runner) = start(port) else {
            return;
        };
        let http = reqwest::Client::new();
        let body = r#"{"items":[{"id":"2000037","quantity":1,"seller":"1"}],"postalCode":"22051030","country":"BRA"}"#;
        for (query, status) in [
            ("?sc=1", 200),
            ("?sc=1&an=marketplacedemo", 200),
            ("?sc=1&an=luxstore", 200),
            ("?sc=1&an=thirdmarket", 403),
        ] {
            let resp = http
                .post(format!(
                    "http://127.0.0.1:{port}/pvt/orderForms/simulation{query}"
                ))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), status, "{query}");
            let v: Value = resp.json().await.unwrap();
            if status == 200 {
                assert!(v["items"][0]["price"].as_i64().is_some(), "{query}: {v}");
            } else {
                assert_eq!(v["error"]["code"], "MKP001", "{query}: {v}");
            }
        }
    }
}
