//! The contract every [`ImportStore`] + [`NotificationStore`] adapter must pass (feature
//! `test-support`): one body per behaviour, each given a fresh, empty store.
//! `connector_tests::import_store_contract_tests!` runs every body against every adapter (memory,
//! SQLite, DynamoDB).

use super::*;
use chrono::TimeZone;

/// The shared/docs/protocol.md §Example story import example
/// (`import-place-fulfillment-order.request.json`) as an order with marketplace id `mkp`.
pub fn sample_order(mkp: &str) -> ImportOrder {
    let v = json!({
        "marketplaceOrderId": mkp,
        "marketplaceOrderGroup": "794901324",
        "marketplacePaymentValue": 1100,
        "isCreatedAsync": true,
        "items": [ { "id": "1", "price": 900, "quantity": 1, "seller": "1" } ],
        "clientProfileData": {
            "email": "conta@dominio.com.br", "firstName": "Nome", "lastName": "Sobrenome",
            "documentType": "cpf", "document": "14310315771", "phone": "41998718616",
            "isCorporate": false
        },
        "shippingData": {
            "address": {
                "addressId": "Casa", "addressType": "Residencial", "receiverName": "Marcelo",
                "city": "Curitiba", "country": "BRA", "geoCoordinates": [],
                "neighborhood": "Novo Mundo", "number": "4000", "postalCode": "81020230",
                "state": "PR", "street": "Rua Eduardo Carlos Pereira"
            },
            "logisticsInfo": [ {
                "itemIndex": 0, "price": 200, "selectedDeliveryChannel": "delivery",
                "selectedSla": null, "lockTTL": "1d", "shippingEstimate": "1d"
            } ]
        },
        "openTextField": "Phones: 21998718616"
    });
    serde_json::from_value(v).unwrap_or_else(|e| panic!("sample order: {e}"))
}

pub fn sample(tag: &str) -> ImportRecord {
    let at = Utc
        .with_ymd_and_hms(2024, 1, 31, 12, 0, 0)
        .single()
        .unwrap_or_default();
    ImportRecord::new(
        ImportKey::new("EXT", format!("2630580124-{tag}")),
        "1".into(),
        sample_order(&format!("2630580124-{tag}")),
        Vec::new(),
        None,
        at,
    )
}

/// Runs every check against `imports`/`notes` (usually the same adapter). Keys are suffixed
/// with `tag` so a shared table works.
/// `create_once` writes version 0 once; a second create with the same key returns the first record
/// and writes nothing; `get` returns it, or `None` for a missing key.
pub async fn create_once_writes_once<S: ImportStore>(imports: &S) -> Result<(), String> {
    let e = |e: StoreError| e.to_string();
    let a = sample("t");
    let created = match imports.create_once(&a).await.map_err(e)? {
        ImportCreate::Created(r) => r,
        ImportCreate::Existing(_) => return Err("fresh record reported as existing".into()),
    };
    check(created == a, "created record equals the input")?;
    let mut changed = a.clone();
    changed.sales_channel = "2".into();
    match imports.create_once(&changed).await.map_err(e)? {
        ImportCreate::Existing(r) => check(r == a, "existing record is the first one")?,
        ImportCreate::Created(_) => return Err("second create_once wrote".into()),
    }
    check(
        imports.get(&a.key).await.map_err(e)?.as_ref() == Some(&a),
        "get returns the record",
    )?;
    let missing = ImportKey::new("EXT", "missing-t");
    check(
        imports.get(&missing).await.map_err(e)?.is_none(),
        "get of a missing key is None",
    )?;
    Ok(())
}

/// `save` writes at the stored version and bumps it (a stale version or a record never created
/// conflicts); a placed import is found by its VTEX order id.
pub async fn save_is_versioned_and_found_by_vtex_order_id<S: ImportStore>(
    imports: &S,
) -> Result<(), String> {
    let e = |e: StoreError| e.to_string();
    let a = sample("t");
    imports.create_once(&a).await.map_err(e)?;
    let mut placed = a.clone();
    placed.placed("EXT-2630580124-t", a.created_at);
    let saved = match imports.save(&placed).await.map_err(e)? {
        ImportSave::Saved(r) => r,
        ImportSave::Conflict => return Err("save at the current version conflicted".into()),
    };
    check(saved.version == 1, "save bumps the version")?;
    check(
        imports.save(&placed).await.map_err(e)? == ImportSave::Conflict,
        "save at a stale version conflicts",
    )?;
    check(
        imports.get(&a.key).await.map_err(e)? == Some(saved.clone()),
        "the saved record reads back",
    )?;
    check(
        imports.save(&sample("t-never")).await.map_err(e)? == ImportSave::Conflict,
        "saving a record that was never created conflicts",
    )?;
    let found = imports
        .find_by_vtex_order_id("EXT-2630580124-t")
        .await
        .map_err(e)?;
    check(
        found == Some(saved),
        "find_by_vtex_order_id finds the placed import",
    )?;
    check(
        imports
            .find_by_vtex_order_id("EXT-unknown-t")
            .await
            .map_err(e)?
            .is_none(),
        "find_by_vtex_order_id of an unknown id is None",
    )?;
    Ok(())
}

/// A notification is created once per `(order, fingerprint)`; a repeat returns the first one;
/// `mark_published` is stored; another fingerprint is another notification.
pub async fn notifications_are_created_once<S: ImportStore + NotificationStore>(
    store: &S,
) -> Result<(), String> {
    let e = |e: StoreError| e.to_string();
    let a = sample("t");
    store.create_once(&a).await.map_err(e)?;
    let n = MseNotification {
        order_id: "EXT-2630580124-t".into(),
        fingerprint: fingerprint(&["t", "NF-1"]),
        invoice_number: "NF-1".into(),
        receipt: "r-1".into(),
        date: a.created_at,
        import: Some(a.key.clone()),
        published: false,
    };
    check(
        store.create_notification(&n).await.map_err(e)? == NotificationCreate::Created(n.clone()),
        "a new notification is created",
    )?;
    let mut other_receipt = n.clone();
    other_receipt.receipt = "r-2".into();
    check(
        store.create_notification(&other_receipt).await.map_err(e)?
            == NotificationCreate::Existing(n.clone()),
        "a repeat returns the first notification",
    )?;
    store
        .mark_published(&n.order_id, &n.fingerprint)
        .await
        .map_err(e)?;
    let mut published = n.clone();
    published.published = true;
    check(
        store.create_notification(&n).await.map_err(e)? == NotificationCreate::Existing(published),
        "mark_published is stored",
    )?;
    let mut second = n.clone();
    second.fingerprint = fingerprint(&["t", "NF-2"]);
    check(
        matches!(
            store.create_notification(&second).await.map_err(e)?,
            NotificationCreate::Created(_)
        ),
        "another fingerprint is another notification",
    )?;
    Ok(())
}

fn check(ok: bool, what: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("contract broken: {what}"))
    }
}
