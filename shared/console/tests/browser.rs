//! The console in a real browser: headless Chromium (Debian's `chromium`, driven through
//! `chromedriver`) against the local runner's binary (`connector-local`, built by `tests/run.sh`).
//!
//! Through the API an order is placed, fulfilled and invoiced; the console finds it and shows its
//! journey. A second order is invoiced before its fulfill: the dispatcher parks the message, the
//! console shows it with its reason; the order is fulfilled (the fix) and the message re-driven
//! from the console, with its confirmation; the order ends invoiced. Screenshots of every step go
//! to `target/browser-artifacts/`.
//!
//! Without Chromium or the runner's binary the test says so and passes, unless
//! `CONNECTOR_TEST_REQUIRE_BROWSER` is set (the test command sets it after installing them).

#[path = "../../../tests/browser/webdriver.rs"]
mod webdriver;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use webdriver::{Browser, Killed, find_program, free_port};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn artifacts() -> PathBuf {
    root().join("target/browser-artifacts")
}

fn runner_binary() -> Option<PathBuf> {
    let dir = std::env::var_os("CONNECTOR_BOOTSTRAP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/debug"));
    Some(dir.join("connector-local")).filter(|p| p.is_file())
}

/// What is missing to run, if anything.
fn prerequisites() -> Result<(PathBuf, PathBuf, PathBuf), String> {
    let driver = find_program(&["chromedriver"]).ok_or("chromedriver not found")?;
    let browser =
        find_program(&["chromium", "chromium-browser", "chrome"]).ok_or("chromium not found")?;
    let runner = runner_binary().ok_or("connector-local not built (cargo build -p local)")?;
    Ok((driver, browser, runner))
}

struct Runner {
    _child: Killed,
    base: String,
    standin: String,
    http: reqwest::Client,
    _data: PathBuf,
}

impl Runner {
    async fn start(binary: &Path) -> Runner {
        let (port, standin) = (free_port(), free_port());
        let data = std::env::temp_dir().join(format!("console-browser-{port}"));
        let _ = std::fs::remove_dir_all(&data);
        let child = Command::new(binary)
            .current_dir(root())
            .env("PORT", port.to_string())
            .env("STANDIN_PORT", standin.to_string())
            .env("CONNECTOR_DATA", data.join("connector.db"))
            .env_remove("VTEX_BASE_URL")
            .env_remove("INBOUND_PATH_SECRET")
            .env_remove("INBOUND_APP_KEY")
            .env_remove("INBOUND_APP_TOKEN")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("connector-local starts");
        let runner = Runner {
            _child: Killed(child),
            base: format!("http://127.0.0.1:{port}"),
            standin: format!("http://127.0.0.1:{standin}"),
            http: reqwest::Client::new(),
            _data: data,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = runner.http.get(runner.url("/console/")).send().await
                && r.status().is_success()
            {
                return runner;
            }
            assert!(Instant::now() < deadline, "the runner did not start");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn post(&self, path: &str, body: &str, group: Option<&str>) -> Value {
        let mut req = self.http.post(self.url(path)).body(body.to_string());
        if let Some(g) = group {
            req = req.header("x-message-group-id", g);
        }
        let resp = req.send().await.expect("POST");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        assert!(status.is_success(), "POST {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Places the sample order as marketplace order `mkp`; returns our order id.
    async fn place(&self, mkp: &str) -> String {
        let event: Value = serde_json::from_str(
            &std::fs::read_to_string(root().join("events/order-placement.array.json"))
                .expect("sample event"),
        )
        .expect("event JSON");
        let mut orders: Value =
            serde_json::from_str(event["body"].as_str().expect("body")).expect("orders JSON");
        orders[0]["marketplaceOrderId"] = json!(mkp);
        // VTEX holds its order before it asks the seller to place it: the stand-in is told, as
        // its OMS would know it (a stand-in that does not check orders ignores this).
        let _ = self
            .http
            .post(format!("{}/_standin/orders", self.standin))
            .body(orders.to_string())
            .send()
            .await;
        let placed = self
            .post("/pvt/orders?an=marketplacedemo", &orders.to_string(), None)
            .await;
        placed[0]["orderId"]
            .as_str()
            .unwrap_or_else(|| panic!("no orderId: {placed}"))
            .to_string()
    }

    async fn fulfill(&self, id: &str, mkp: &str) {
        self.post(
            &format!("/pvt/orders/{id}/fulfill"),
            &json!({ "marketplaceOrderId": mkp }).to_string(),
            None,
        )
        .await;
    }

    async fn invoice(&self, id: &str, number: &str) {
        let msg = json!({"type": "invoice", "version": 1, "orderId": id, "invoice": {
            "type": "Output", "invoiceNumber": number, "invoiceValue": 11080,
            "issuanceDate": "2026-11-22T10:15:00-03:00",
            "items": [{"id": "2002495", "price": 9990, "quantity": 1}]}});
        self.post("/_local/queues/dispatch", &msg.to_string(), Some(id))
            .await;
    }

    async fn admin(&self, id: &str) -> Value {
        self.http
            .get(self.url(&format!("/admin/orders/{id}")))
            .send()
            .await
            .expect("admin view")
            .json()
            .await
            .expect("admin JSON")
    }

    /// Waits until `check` holds for the order's admin view (the dispatch worker polls every 500 ms).
    async fn wait_for(&self, id: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let v = self.admin(id).await;
            if check(&v) {
                return v;
            }
            assert!(Instant::now() < deadline, "order {id} never {what}: {v:#}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

fn logged(view: &Value, step: &str, outcome: &str) -> bool {
    view["log"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| e["step"] == step && e["outcome"] == outcome)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_finds_an_invoiced_order_and_redrives_a_fixed_parked_message() {
    let (driver, chromium, runner_bin) = match prerequisites() {
        Ok(p) => p,
        Err(missing) => {
            assert!(
                std::env::var_os("CONNECTOR_TEST_REQUIRE_BROWSER").is_none(),
                "browser test cannot run: {missing}"
            );
            eprintln!("skipped: {missing} (tests/run.sh installs Chromium and builds the runner)");
            return;
        }
    };
    let shots = artifacts();
    let shot = |name: &str| shots.join(name);
    let runner = Runner::start(&runner_bin).await;

    // Through the API: the order of the README's walkthrough, placed, fulfilled and invoiced.
    let good = runner.place("959311095").await;
    runner.fulfill(&good, "959311095").await;
    runner.invoice(&good, "NFe-00001").await;
    runner
        .wait_for(&good, "invoiced", |v| v["status"] == "INVOICED")
        .await;
    // A bad message: an invoice before the marketplace authorized fulfillment is parked at once.
    let early = runner.place("959311096").await;
    runner.invoice(&early, "NFe-00002").await;
    runner
        .wait_for(&early, "refused", |v| {
            logged(v, "dispatch.invoice", "Alert") || logged(v, "dispatch.invoice", "Error")
        })
        .await;

    let browser = Browser::start(&driver, &chromium, 1280, 900).await;

    // The list: both orders, the parked one flagged.
    browser.goto(&runner.url("/console/")).await;
    let text = browser.text().await;
    assert!(text.contains(&good) && text.contains(&early), "{text}");
    assert!(
        text.contains("INVOICED") && text.contains("parked in dispatch"),
        "{text}"
    );
    browser.screenshot(&shot("01-orders.png")).await;

    // Keyboard: the first Tab reaches the skip link, and it leads to the content.
    browser.keys("\u{E004}").await;
    let focused = browser
        .script("return document.activeElement.textContent")
        .await;
    assert_eq!(focused, "Skip to content");

    // The filters: needs attention only leaves the parked order.
    let attention = browser.find("#f-attention").await;
    browser.click(&attention).await;
    let apply = browser.find("form.filters button[type=submit]").await;
    browser.click_to_navigate(&apply).await;
    let text = browser.text().await;
    assert!(text.contains(&early) && !text.contains(&good), "{text}");
    let account = browser.find("#f-an").await;
    browser.type_into(&account, "nobody").await;
    let apply = browser.find("form.filters button[type=submit]").await;
    browser.click_to_navigate(&apply).await;
    assert!(browser.text().await.contains("No orders match"));
    browser.goto(&runner.url("/console/")).await;

    // The timeline of the invoiced order.
    let link = browser.find(&format!("a[href$='/orders/{good}']")).await;
    browser.click_to_navigate(&link).await;
    assert!(
        browser
            .url()
            .await
            .ends_with(&format!("/console/orders/{good}"))
    );
    let text = browser.text().await;
    for expected in [
        "Journey",
        "Fulfilled",
        "Output NFe-00001 110.80 acknowledged",
        "dispatch.invoice",
        "Customer (masked)",
        "shipped from",
    ] {
        assert!(
            text.contains(expected),
            "timeline lacks {expected:?}: {text}"
        );
    }
    browser.full_screenshot(&shot("02-timeline.png")).await;
    browser.resize(1280, 900).await;

    // The parked message, with its reason.
    browser.goto(&runner.url("/console/parked")).await;
    let text = browser.text().await;
    assert!(text.contains("NOT_AUTHORIZED"), "{text}");
    browser.screenshot(&shot("03-parked.png")).await;

    // The fix, then the re-drive with its confirmation.
    runner.fulfill(&early, "959311096").await;
    let choose = browser.find("input[name=id]").await;
    browser.click(&choose).await;
    let redrive = browser.find("form button:not([name])").await;
    browser.click_to_navigate(&redrive).await;
    let text = browser.text().await;
    assert!(
        text.contains("Re-drive 1 message(s) to dispatch?"),
        "{text}"
    );
    browser.screenshot(&shot("04-confirm.png")).await;
    let yes = browser.find("form button[type=submit]").await;
    browser.click_to_navigate(&yes).await;
    let text = browser.text().await;
    assert!(
        text.contains("1 message(s) moved back to dispatch"),
        "{text}"
    );
    browser.screenshot(&shot("05-redriven.png")).await;

    runner
        .wait_for(&early, "invoiced after the re-drive", |v| {
            v["status"] == "INVOICED"
        })
        .await;
    browser
        .goto(&runner.url(&format!("/console/orders/{early}")))
        .await;
    let text = browser.text().await;
    assert!(
        text.contains("INVOICED") && !text.contains("Needs attention"),
        "{text}"
    );
    browser.screenshot(&shot("06-fixed.png")).await;

    // The simulation playground: the README's cart to a São Paulo postal code.
    browser.goto(&runner.url("/console/catalog")).await;
    let cart = browser.find("#s-cart").await;
    browser.type_into(&cart, "2002495 1").await;
    let postal = browser.find("#s-postal").await;
    browser.type_into(&postal, "01310-100").await;
    let country = browser.find("#s-country").await;
    browser.type_into(&country, "BRA").await;
    let simulate = browser.find("form.filters button[type=submit]").await;
    browser.click_to_navigate(&simulate).await;
    let text = browser.text().await;
    assert!(
        text.contains("Answer (checkout)") && text.contains("available"),
        "{text}"
    );
    assert!(
        text.contains("from cd-"),
        "no SLA with its warehouse: {text}"
    );
    assert!(
        text.contains("Notifications to VTEX, per SKU") && text.contains("inventory"),
        "{text}"
    );
    browser.screenshot(&shot("08-simulation.png")).await;

    // A price change from the ERP: the catalog sync counts it and notifies VTEX; the catalog
    // page's list of every SKU shows its notification state and last sync.
    runner
        .post(
            "/_local/queues/catalog-sync",
            &json!({"type": "price.changed", "version": 1, "skuId": "2002495",
                    "prices": [{"price": 8990, "listPrice": 9990}]})
            .to_string(),
            Some("2002495"),
        )
        .await;
    // Polled over HTTP: a browser does not reload a URL that differs only by its fragment.
    let listing = runner.url("/console/catalog?sync=all#notifications");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let html = runner
            .http
            .get(&listing)
            .send()
            .await
            .expect("catalog page")
            .text()
            .await
            .unwrap_or_default();
        // Listed, and VTEX (the stand-in) accepted the notification: the last sync is a time.
        if html.contains("<td data-label=\"SKU\">2002495</td>")
            && !html.contains("<td data-label=\"Last sync\">never</td>")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the price change never listed as synced: {html}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    browser.goto(&listing).await;
    let text = browser.text().await;
    assert!(
        text.contains("Catalog notifications to VTEX") && text.contains("1 SKU(s) shown"),
        "{text}"
    );
    browser
        .screenshot(&shot("09-catalog-notifications.png"))
        .await;

    // A phone's width: the list reads as cards, nothing scrolls sideways.
    browser.resize(390, 844).await;
    browser.goto(&runner.url("/console/")).await;
    let overflow = browser
        .script("return document.documentElement.scrollWidth > window.innerWidth")
        .await;
    assert_eq!(
        overflow,
        json!(false),
        "the list scrolls sideways at 390 px"
    );
    browser.screenshot(&shot("07-phone.png")).await;

    browser.quit().await;
}
