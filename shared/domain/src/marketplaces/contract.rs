//! The contract every [`MarketplaceRegistry`] adapter must pass (feature `test-support`): one body
//! per behaviour, each given a fresh, empty registry. `tests/tests/suite/marketplaces_contract.rs`
//! runs every body against every adapter (memory, SQLite, DynamoDB).

use super::*;

fn an(s: &str) -> AccountName {
    AccountName::parse(s).expect("fixture account name")
}

/// An entry with every field set away from its default.
pub fn sample(account: &str) -> Marketplace {
    Marketplace {
        account: an(account),
        seller_id: format!("seller-{account}"),
        credentials_secret: format!(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:vtex/marketplaces/{account}-AbCdEf"
        ),
        sales_channels: vec!["1".into(), "3".into()],
        price_lists: vec![PriceList {
            sales_channel: "3".into(),
            price_list: "wholesale".into(),
        }],
        base_url: Some("http://127.0.0.1:8081/{an}".into()),
        notify_catalog: false,
        enabled: true,
    }
}

fn check(ok: bool, what: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what.to_string()) }
}

fn store<T>(r: Result<T, StoreError>) -> Result<T, String> {
    r.map_err(|e| e.to_string())
}

/// `put` then `get` returns the entry field for field; an unknown account is `None`.
pub async fn put_and_get_round_trip(registry: &dyn MarketplaceRegistry) -> Result<(), String> {
    let m = sample("marketplacedemo");
    store(registry.put(&m).await)?;
    let got = store(registry.get(&m.account).await)?;
    check(got.as_ref() == Some(&m), "get returns what put stored")?;
    let mut minimal = Marketplace::new(an("minimal"), "1", "secret-name");
    minimal.notify_catalog = true;
    store(registry.put(&minimal).await)?;
    check(
        store(registry.get(&minimal.account).await)?.as_ref() == Some(&minimal),
        "an entry without optional fields round-trips",
    )?;
    check(
        store(registry.get(&an("nobody")).await)?.is_none(),
        "get of an unknown account is None",
    )
}

/// A second `put` of the same account replaces the entry (a rotation to another secret).
pub async fn put_replaces(registry: &dyn MarketplaceRegistry) -> Result<(), String> {
    let m = sample("mkp");
    store(registry.put(&m).await)?;
    let mut next = m.clone();
    next.credentials_secret = "arn:rotated".into();
    next.seller_id = "seller-2".into();
    next.sales_channels.clear();
    next.base_url = None;
    store(registry.put(&next).await)?;
    check(
        store(registry.get(&m.account).await)?.as_ref() == Some(&next),
        "the second put replaces the first",
    )?;
    check(
        store(registry.list().await)?.len() == 1,
        "one entry per account",
    )
}

/// `list` returns every entry, disabled ones too, sorted by account.
pub async fn list_is_sorted_and_complete(registry: &dyn MarketplaceRegistry) -> Result<(), String> {
    check(
        store(registry.list().await)?.is_empty(),
        "a fresh registry lists nothing",
    )?;
    let names = ["zeta", "alpha", "mid-1", "b2"];
    for n in names {
        store(registry.put(&sample(n)).await)?;
    }
    store(registry.disable(&an("mid-1")).await)?;
    let listed: Vec<String> = store(registry.list().await)?
        .into_iter()
        .map(|m| m.account.to_string())
        .collect();
    check(
        listed == ["alpha", "b2", "mid-1", "zeta"],
        &format!("list sorted by account, disabled included: {listed:?}"),
    )
}

/// `disable` keeps the entry with `enabled: false` and reports whether one existed.
pub async fn disable_keeps_the_entry(registry: &dyn MarketplaceRegistry) -> Result<(), String> {
    let m = sample("mkp");
    store(registry.put(&m).await)?;
    check(
        store(registry.disable(&m.account).await)?,
        "disable finds it",
    )?;
    check(
        store(registry.disable(&m.account).await)?,
        "disabling twice still finds it",
    )?;
    let got = store(registry.get(&m.account).await)?.ok_or("the disabled entry is gone")?;
    let mut expected = m.clone();
    expected.enabled = false;
    check(got == expected, "only `enabled` changed")?;
    check(
        !store(registry.disable(&an("nobody")).await)?,
        "disable of an unknown account is false",
    )?;
    check(
        store(registry.get(&an("nobody")).await)?.is_none(),
        "disable of an unknown account creates nothing",
    )?;
    // Re-enabling is a put.
    store(registry.put(&m).await)?;
    check(
        store(registry.get(&m.account).await)?.is_some_and(|x| x.enabled),
        "a put enables it again",
    )
}
