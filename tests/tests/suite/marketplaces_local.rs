//! The README's two-marketplace walkthrough on the real local runner (`connector-local`, from
//! `CONNECTOR_BOOTSTRAP_DIR`, which tests/run.sh builds and sets): an order placed on each of its
//! two marketplaces is fulfilled and invoiced, and each invoice reaches the stand-in under its own
//! account with that account's credentials; a third account is refused at placement.

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

fn start(port: u16, standin: u16) -> Option<Runner> {
    let bin = std::env::var("CONNECTOR_BOOTSTRAP_DIR")
        .map(|d| PathBuf::from(d).join("connector-local"))
        .ok()
        .filter(|b| b.exists());
    let Some(bin) = bin else {
        if std::env::var_os("CI").is_some() {
            panic!(
                "the local runner is needed under CI: set CONNECTOR_BOOTSTRAP_DIR (tests/run.sh)"
            );
        }
        eprintln!("SKIPPED: no connector-local in CONNECTOR_BOOTSTRAP_DIR; tests/run.sh builds it");
        return None;
    };
    let data = std::env::temp_dir().join(format!("marketplaces-local-{port}.db"));
    let child = Command::new(bin)
        .arg("--reset")
        .env("PORT", port.to_string())
        .env("STANDIN_PORT", standin.to_string())
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
async fn an_order_on_each_of_two_marketplaces_is_invoiced_with_that_marketplace_s_credentials() {
    let (port, standin) = (free_port(), free_port());
    let Some(_runner) = start(port, standin) else {
        return;
    };
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let event: Value =
        serde_json::from_str(include_str!("../../../events/order-placement.array.json")).unwrap();
    let body = event["body"].as_str().unwrap().to_string();
    let orders = [
        ("marketplacedemo", "959311095", body.clone()),
        (
            "luxstore",
            "880022001",
            body.replace("959311095", "880022001"),
        ),
    ];
    for (an, marketplace_order_id, body) in &orders {
        let placed: Value = http
            .post(format!("{base}/pvt/orders?an={an}"))
            .body(body.clone())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = placed[0]["orderId"]
            .as_str()
            .unwrap_or_else(|| panic!("{an}: {placed}"));
        let fulfilled = http
            .post(format!("{base}/pvt/orders/{id}/fulfill?an={an}"))
            .body(format!(
                r#"{{"marketplaceOrderId": "{marketplace_order_id}"}}"#
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(fulfilled.status(), 200, "{an}");
        let invoice = serde_json::json!({"type": "invoice", "version": 1, "orderId": id,
            "invoice": {"type": "Output", "invoiceNumber": format!("NFe-{an}"), "invoiceValue": 11080,
            "issuanceDate": "2026-11-22T10:15:00-03:00",
            "items": [{"id": "2002495", "price": 9990, "quantity": 1}]}});
        let queued = http
            .post(format!("{base}/_local/queues/dispatch"))
            .header("x-message-group-id", id)
            .body(invoice.to_string())
            .send()
            .await
            .unwrap();
        assert!(queued.status().is_success(), "{an}");
    }
    let third = http
        .post(format!("{base}/pvt/orders?an=thirdmarket"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(third.status(), 403);
    let refusal: Value = third.json().await.unwrap();
    assert_eq!(refusal["error"]["code"], "MKP001");

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let journal: Vec<Value> = http
            .get(format!("http://127.0.0.1:{standin}/_standin/requests"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let invoices: Vec<(String, String, bool)> = journal
            .iter()
            .filter(|r| r["path"].as_str().unwrap_or("").ends_with("/invoice"))
            .map(|r| {
                (
                    r["account"].as_str().unwrap_or("").to_string(),
                    r["path"].as_str().unwrap_or("").to_string(),
                    r["authorized"] == true,
                )
            })
            .collect();
        if invoices.len() >= 2 {
            let mut invoices = invoices;
            invoices.sort();
            assert_eq!(
                invoices,
                vec![
                    (
                        "luxstore".into(),
                        "/api/oms/pvt/orders/880022001/invoice".into(),
                        true
                    ),
                    (
                        "marketplacedemo".into(),
                        "/api/oms/pvt/orders/959311095/invoice".into(),
                        true
                    ),
                ]
            );
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the invoices did not reach the stand-in: {journal:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
