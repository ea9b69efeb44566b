//! The mse over real HTTP against moto: VTEX's invoice notification reaches the ERP's queue once,
//! however often VTEX repeats it. The ERP queue here is a *standard* queue, so nothing but the
//! connector's own bookkeeping can drop a repeat.

use crate::import_support::{MSE_SECRET, Options, bench, order_message_for};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_reaches_the_erp_queue_once_however_often_it_is_repeated() {
    let Some(b) = bench(Options {
        fifo_events: false,
        ..Options::default()
    })
    .await
    else {
        return;
    };
    let mkp = "2630580124-mse";
    let mut msg = order_message_for(mkp);
    msg["invoices"] = json!([]);
    b.send(&msg).await;
    b.pump().await;
    let vtex_id = format!("EXT-{mkp}");
    let url = format!(
        "http://{}/vtex/{MSE_SECRET}/pub/orders/{vtex_id}/invoice",
        b.mse_addr
    );
    let body = json!({
        "type": "Output", "invoiceNumber": "NF-77", "invoiceValue": "1100",
        "issuanceDate": "2024-02-07T15:22:56-03:00", "invoiceUrl": null,
        "items": [ { "id": "1", "price": 900, "quantity": 1 } ]
    });
    let http = reqwest_free_post(&url, &body).await;
    assert_eq!(http.0, 200);
    let again = reqwest_free_post(&url, &body).await;
    assert_eq!(again.0, 200);
    assert_eq!(again.1, http.1, "same receipt on a repeat");
    assert_eq!(http.1["orderId"], vtex_id.as_str());
    let erp = b.erp_messages().await;
    assert_eq!(erp.len(), 1, "{erp:#?}");
    assert_eq!(erp[0]["invoiceNumber"], "NF-77");
    assert_eq!(erp[0]["marketplaceOrderId"], mkp);
    // A malformed body gets the error envelope and reaches nobody.
    let bad = reqwest_free_post(&url, &json!({"invoiceValue": 1})).await;
    assert_eq!(bad.0, 400);
    assert_eq!(bad.1["error"]["code"], "MSE001");
    // A wrong secret is refused.
    let wrong = reqwest_free_post(&url.replace(MSE_SECRET, "nope"), &body).await;
    assert_eq!(wrong.0, 401);
    assert!(b.erp_messages().await.is_empty());
    let log = b.log(mkp).await;
    assert_eq!(log.iter().filter(|e| e.step == "mse.invoice").count(), 2);
}

/// A minimal HTTP/1.1 POST over a TCP stream (the tests crate has no HTTP client dependency).
async fn reqwest_free_post(url: &str, body: &Value) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let text = body.to_string();
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let out = String::from_utf8_lossy(&out).into_owned();
    let status: u16 = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("");
    (
        status,
        serde_json::from_str(body.trim()).unwrap_or(Value::Null),
    )
}
