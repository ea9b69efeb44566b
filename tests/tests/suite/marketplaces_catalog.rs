//! Catalog changes reach every marketplace that wants them and sells the SKU, each as its own
//! seller with its own credentials (`vtex::accounts::MarketplaceCatalogs`, the catalog sync's
//! notifier in a multi-marketplace stack); a marketplace that does not know the SKU gets the
//! suggestion, naming our seller id there; a retry caused by one marketplace reaches only that one.

use connector_tests::contract::sku;
use domain::catalog_notify::NotifyKind;
use domain::marketplaces::{
    AccountName, CachedRegistry, Marketplace, MarketplaceRegistry, StaticSecrets,
};
use domain::outbound::{CatalogNotifier, CatalogOutcome};
use domain::ports::CatalogWriter;
use embedded_store::EmbeddedStore;
use std::sync::Arc;
use std::time::Duration;
use vtex::accounts::MarketplaceCatalogs;
use vtex::catalog::{CatalogClient, CatalogEndpoints, SuggestionSettings};
use vtex::client::AppCredentials;
use vtex_standin::{RecordedRequest, StandInConfig};

struct World {
    standin: vtex_standin::ServerHandle,
    notifier: MarketplaceCatalogs,
}

/// alpha (every channel), beta (channel 2 only), quiet (does not want catalog changes), off
/// (disabled); SKU 2002495 sells on channels 1 and 2, SKU 77 on channel 1 only.
async fn world() -> World {
    let accounts = [
        ("alpha", "seller-in-alpha", vec![], true, true),
        ("beta", "seller-in-beta", vec!["2".to_string()], true, true),
        ("quiet", "seller-in-quiet", vec![], false, true),
        ("off", "seller-in-off", vec![], true, false),
    ];
    let mut config = StandInConfig::default();
    for (an, ..) in &accounts {
        config = config.with_account(
            an,
            AppCredentials::new(format!("key-{an}"), format!("token-{an}")),
        );
    }
    let (addr, standin) = vtex_standin::serve_with("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let base = format!("http://{addr}/{{an}}");
    let registry = domain::marketplaces::MemoryRegistry::new();
    let secrets = StaticSecrets::new();
    for (an, seller, channels, notify, enabled) in accounts {
        secrets.set(
            format!("s/{an}"),
            serde_json::json!({"appKey": format!("key-{an}"), "appToken": format!("token-{an}")})
                .to_string(),
        );
        let mut m = Marketplace::new(AccountName::parse(an).unwrap(), seller, format!("s/{an}"));
        m.base_url = Some(base.clone());
        m.sales_channels = channels;
        m.notify_catalog = notify;
        m.enabled = enabled;
        registry.put(&m).await.unwrap();
    }
    let store = EmbeddedStore::open_in_memory().unwrap();
    store
        .upsert_sku(&sku("2002495", &[("w1", 5)]))
        .await
        .unwrap();
    let mut only_one = sku("77", &[("w1", 5)]);
    only_one.sales_channels = vec!["1".into()];
    store.upsert_sku(&only_one).await.unwrap();
    let pool = CatalogClient::new(
        &CatalogEndpoints {
            base_url: "http://127.0.0.1:9".into(),
            suggestions_base_url: "http://127.0.0.1:9".into(),
            account: "unused".into(),
            seller_id: "unused".into(),
        },
        AppCredentials::new("", ""),
        Duration::from_secs(5),
    )
    .unwrap();
    let notifier = MarketplaceCatalogs::new(
        Arc::new(CachedRegistry::new(
            Arc::new(registry),
            None,
            Duration::ZERO,
        )),
        Arc::new(secrets),
        Arc::new(store),
        pool,
        "http://127.0.0.1:9/{an}",
        None,
        SuggestionSettings {
            seller_id: "unused".into(),
            account: "unused".into(),
            currency: "BRL".into(),
            currency_symbol: "R$".into(),
        },
        Duration::from_secs(60),
    );
    World { standin, notifier }
}

fn calls(journal: &[RecordedRequest]) -> Vec<(String, String, bool)> {
    journal
        .iter()
        .map(|r| {
            (
                r.account.clone().unwrap_or_default(),
                format!("{} {}", r.method, r.path),
                r.authorized,
            )
        })
        .collect()
}

#[tokio::test]
async fn a_price_change_reaches_each_notifying_marketplace_as_its_own_seller() {
    let w = world().await;
    let out = w
        .notifier
        .notify(NotifyKind::Price, "2002495")
        .await
        .unwrap();
    assert!(matches!(out, CatalogOutcome::Accepted { .. }), "{out:?}");
    assert_eq!(
        calls(&w.standin.state().requests()),
        vec![
            (
                "alpha".into(),
                "POST /api/notificator/seller-in-alpha/changenotification/2002495/price".into(),
                true
            ),
            (
                "beta".into(),
                "POST /api/notificator/seller-in-beta/changenotification/2002495/price".into(),
                true
            ),
        ],
        "quiet does not want catalog changes and off is disabled"
    );
    // SKU 77 sells on channel 1 only: beta (channel 2) does not hear of it.
    w.standin.state().reset();
    w.notifier
        .notify(NotifyKind::Inventory, "77")
        .await
        .unwrap();
    let accounts: Vec<_> = calls(&w.standin.state().requests())
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(accounts, vec!["alpha"]);
}

#[tokio::test]
async fn an_unknown_sku_is_suggested_to_each_marketplace_as_its_own_seller_and_a_known_one_is_not()
{
    let w = world().await;
    // Neither marketplace knows 2002495: each gets the suggestion, as its own seller.
    let out = w
        .notifier
        .notify(NotifyKind::Catalog, "2002495")
        .await
        .unwrap();
    assert!(matches!(out, CatalogOutcome::Accepted { .. }), "{out:?}");
    let journal = calls(&w.standin.state().requests());
    assert!(
        journal.contains(&(
            "alpha".into(),
            "PUT /alpha/suggestions/seller-in-alpha/2002495".into(),
            true
        )),
        "{journal:?}"
    );
    assert!(
        journal.contains(&(
            "beta".into(),
            "PUT /beta/suggestions/seller-in-beta/2002495".into(),
            true
        )),
        "{journal:?}"
    );
    let suggestions = w
        .standin
        .state()
        .catalog
        .lock()
        .unwrap()
        .suggestions
        .clone();
    assert!(suggestions.contains_key(&("seller-in-alpha".into(), "2002495".into())));
    assert!(suggestions.contains_key(&("seller-in-beta".into(), "2002495".into())));
    // A SKU every marketplace knows is not suggested anywhere.
    w.standin.state().reset();
    w.standin.state().catalog.lock().unwrap().know(["77"]);
    w.notifier.notify(NotifyKind::Catalog, "77").await.unwrap();
    assert!(
        calls(&w.standin.state().requests())
            .iter()
            .all(|c| !c.1.contains("suggestions")),
        "{:?}",
        w.standin.state().requests()
    );
}

#[tokio::test]
async fn a_retry_caused_by_one_marketplace_reaches_only_that_one() {
    let w = world().await;
    // alpha is called first and takes it; beta answers 429.
    w.standin.state().set_faults(vtex_standin::FaultPlan {
        next: vec![200, 429],
        ..Default::default()
    });
    let out = w
        .notifier
        .notify(NotifyKind::Price, "2002495")
        .await
        .unwrap();
    let CatalogOutcome::Retryable { reason, .. } = out else {
        panic!("beta's 429 makes it retryable: {out:?}")
    };
    assert!(reason.starts_with("beta:"), "{reason}");
    w.standin.state().reset();
    let out = w
        .notifier
        .notify(NotifyKind::Price, "2002495")
        .await
        .unwrap();
    assert!(matches!(out, CatalogOutcome::Accepted { .. }), "{out:?}");
    let accounts: Vec<_> = calls(&w.standin.state().requests())
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(accounts, vec!["beta"], "alpha took it already");
}
