//! The stand-in answers the catalog calls like VTEX (shared/docs/protocol.md
//! §Catalog notifications): driven by the real `vtex::catalog::CatalogClient` where the connector
//! would call it, by raw HTTP for the shapes the connector must never send.

use serde_json::{Value, json};
use std::time::Duration;
use vtex::catalog::{
    CatalogClient, CatalogEndpoints, CatalogOutcome, NotifyKind, SuggestionImage,
    SuggestionPricing, SuggestionRequest, SuggestionSpecification,
};
use vtex::client::AppCredentials;
use vtex_standin::{FaultPlan, ServerHandle, serve};

async fn start() -> (String, ServerHandle, CatalogClient) {
    let (addr, handle) = serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let url = format!("http://{addr}");
    handle.state().catalog.lock().unwrap().seller_id = Some("seller1".into());
    let client = client(&url, handle.credentials());
    (url, handle, client)
}

fn client(url: &str, creds: AppCredentials) -> CatalogClient {
    CatalogClient::new(
        &CatalogEndpoints {
            base_url: url.into(),
            suggestions_base_url: format!("{url}/{{an}}"),
            account: "luxstore".into(),
            seller_id: "seller1".into(),
        },
        creds,
        Duration::from_secs(5),
    )
    .unwrap()
}

fn suggestion() -> SuggestionRequest {
    SuggestionRequest {
        product_id: "P2003001".into(),
        product_name: "Luminária LED".into(),
        name_complete: "Luminária LED preta".into(),
        product_description: "Luminária de mesa.".into(),
        brand_name: "Lumina".into(),
        sku_name: "Luminária LED preta".into(),
        seller_id: "seller1".into(),
        height: 45.0,
        width: 18.0,
        length: 18.5,
        weight: 1300,
        updated: None,
        ref_id: Some("2003001".into()),
        ean: None,
        seller_stock_keeping_unit_id: Some(2003001),
        category_full_path: "Casa/Iluminação".into(),
        images: vec![SuggestionImage {
            image_name: "principal".into(),
            image_url: "https://img.example.com/1.jpg".into(),
        }],
        product_specifications: vec![],
        sku_specifications: vec![SuggestionSpecification {
            field_name: "Cor".into(),
            field_values: vec!["Preto".into()],
        }],
        measurement_unit: "un".into(),
        unit_multiplier: 1,
        available_quantity: 4,
        pricing: SuggestionPricing {
            currency: "BRL".into(),
            sale_price: 15990,
            currency_symbol: "R$".into(),
        },
    }
}

#[tokio::test]
async fn notificator_accepts_empty_posts_with_202() {
    let (_url, h, c) = start().await;
    for kind in [NotifyKind::Price, NotifyKind::Inventory] {
        assert_eq!(
            c.notify(kind, "2002495").await.unwrap(),
            CatalogOutcome::Accepted { status: 202 }
        );
    }
    let calls = h.state().requests();
    assert_eq!(
        calls[0].path,
        "/api/notificator/seller1/changenotification/2002495/price"
    );
    assert_eq!(calls[0].body, Value::Null);
    assert!(calls.iter().all(|c| c.authorized && c.accepted()));
    let state = h.state().catalog.lock().unwrap();
    assert_eq!(
        (
            state.count("price", "2002495"),
            state.count("inventory", "2002495")
        ),
        (1, 1)
    );
}

#[tokio::test]
async fn change_notification_answers_204_for_known_skus_and_404_for_unknown_ones() {
    let (url, h, c) = start().await;
    let unknown = c.notify(NotifyKind::Catalog, "2003001").await.unwrap();
    assert_eq!(
        unknown,
        CatalogOutcome::NotFound {
            body: "Seller StockKeepingUnit not found for this seller id".into()
        }
    );
    let r = reqwest::Client::new()
        .post(format!("{url}/_standin/catalog/known"))
        .json(&json!({"skuIds": ["2003001"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        c.notify(NotifyKind::Catalog, "2003001").await.unwrap(),
        CatalogOutcome::Accepted { status: 204 }
    );
    assert_eq!(
        h.state()
            .catalog
            .lock()
            .unwrap()
            .count("catalog", "2003001"),
        1
    );
}

#[tokio::test]
async fn a_suggestion_is_accepted_and_a_re_put_replaces_it() {
    let (url, h, c) = start().await;
    let mut body = suggestion();
    assert_eq!(
        c.put_suggestion("2003001", &body).await.unwrap(),
        CatalogOutcome::Accepted { status: 200 }
    );
    body.product_description = "Luminária de mesa articulada.".into();
    c.put_suggestion("2003001", &body).await.unwrap();
    let listed: Value = reqwest::get(format!("{url}/_standin/catalog/suggestions"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(
        listed[0]["body"]["ProductDescription"],
        json!("Luminária de mesa articulada.")
    );
    assert_eq!(
        h.state().requests()[0].path,
        "/luxstore/suggestions/seller1/2003001"
    );
}

#[tokio::test]
async fn throttling_and_bad_credentials_are_told_apart() {
    let (url, h, c) = start().await;
    h.state().set_faults(FaultPlan {
        next: vec![429, 503],
        retry_after: Some(4),
        ..FaultPlan::default()
    });
    for _ in 0..2 {
        assert!(matches!(
            c.notify(NotifyKind::Price, "1").await.unwrap(),
            CatalogOutcome::Retryable { retry_after: Some(d), .. } if d == Duration::from_secs(4)
        ));
    }
    let stranger = client(&url, AppCredentials::new("vtexappkey-other", "nope"));
    assert!(matches!(
        stranger.notify(NotifyKind::Price, "1").await.unwrap(),
        CatalogOutcome::Rejected { status: 403, .. }
    ));
    assert_eq!(h.state().catalog.lock().unwrap().count("price", "1"), 0);
}

#[tokio::test]
async fn shapes_the_contract_rules_out_are_refused() {
    let (url, h, _c) = start().await;
    let creds = |r: reqwest::RequestBuilder| {
        r.header("X-VTEX-API-AppKey", vtex_standin::DEFAULT_APP_KEY)
            .header("X-VTEX-API-AppToken", vtex_standin::DEFAULT_APP_TOKEN)
    };
    let http = reqwest::Client::new();
    // A body on a notification.
    let r = creds(http.post(format!(
        "{url}/api/notificator/seller1/changenotification/1/price"
    )))
    .json(&json!({"price": 100}))
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    // S2's camel-cased path.
    let r = creds(http.post(format!(
        "{url}/api/catalog_system/pvt/skuSeller/changenotification/seller1/1"
    )))
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("lowercase"));
    // Another seller's id.
    let r = creds(http.post(format!(
        "{url}/api/notificator/seller2/changenotification/1/inventory"
    )))
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 404);
    // S2's suggestion shape.
    let mut s2 = serde_json::to_value(suggestion()).unwrap();
    s2["ProductId"] = json!(2003001);
    s2["WeightKg"] = json!(1.3);
    let r = creds(http.put(format!("{url}/luxstore/suggestions/seller1/2003001")))
        .json(&s2)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("ProductId") && text.contains("WeightKg"),
        "{text}"
    );
    assert!(h.state().catalog.lock().unwrap().suggestions.is_empty());
    assert!(h.state().catalog.lock().unwrap().notifications.is_empty());
}
