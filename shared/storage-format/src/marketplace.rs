//! The stored shape of a marketplace registry entry, version 1 (the DynamoDB registry table's
//! `data` attribute and the SQLite `marketplaces` table's `data` column). Written first with
//! `schemaVersion`, so there is no legacy form; the golden test pins the shape.

use crate::{FormatError, Stored};
use domain::marketplaces::{AccountName, Marketplace, PriceList};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarketplaceV1 {
    pub account: String,
    pub seller_id: String,
    pub credentials_secret: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sales_channels: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub price_lists: Vec<PriceListV1>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    pub notify_catalog: bool,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceListV1 {
    pub sales_channel: String,
    pub price_list: String,
}

impl Stored for Marketplace {
    const WHAT: &'static str = "marketplace";
    const VERSION: u32 = 1;
    type Shape = MarketplaceV1;

    fn to_shape(&self) -> MarketplaceV1 {
        MarketplaceV1 {
            account: self.account.to_string(),
            seller_id: self.seller_id.clone(),
            credentials_secret: self.credentials_secret.clone(),
            sales_channels: self.sales_channels.clone(),
            price_lists: self
                .price_lists
                .iter()
                .map(|p| PriceListV1 {
                    sales_channel: p.sales_channel.clone(),
                    price_list: p.price_list.clone(),
                })
                .collect(),
            base_url: self.base_url.clone(),
            notify_catalog: self.notify_catalog,
            enabled: self.enabled,
        }
    }

    fn from_shape(s: MarketplaceV1) -> Result<Self, FormatError> {
        let account = AccountName::parse(&s.account)
            .map_err(|why| FormatError(format!("stored marketplace: account name {why}")))?;
        Ok(Marketplace {
            account,
            seller_id: s.seller_id,
            credentials_secret: s.credentials_secret,
            sales_channels: s.sales_channels,
            price_lists: s
                .price_lists
                .into_iter()
                .map(|p| PriceList {
                    sales_channel: p.sales_channel,
                    price_list: p.price_list,
                })
                .collect(),
            base_url: s.base_url,
            notify_catalog: s.notify_catalog,
            enabled: s.enabled,
        })
    }
}

#[cfg(test)]
mod golden {
    use super::*;
    use crate::testing::compact;
    use crate::{decode, encode};

    const V1: &str = r#"{
        "schemaVersion": 1,
        "account": "marketplacedemo",
        "sellerId": "externalseller01",
        "credentialsSecret": "arn:aws:secretsmanager:us-east-1:1:secret:vtex/marketplaces/marketplacedemo",
        "salesChannels": ["1", "3"],
        "priceLists": [{"salesChannel": "3", "priceList": "wholesale"}],
        "baseUrl": "https://{an}.vtexcommercestable.com.br",
        "notifyCatalog": true,
        "enabled": false
    }"#;

    #[test]
    fn version_one_reads_and_writes_byte_for_byte() {
        let m: Marketplace = decode(&compact(V1)).unwrap();
        assert_eq!(m.account.as_str(), "marketplacedemo");
        assert_eq!(m.price_list_for("3"), "wholesale");
        assert!(!m.enabled);
        assert_eq!(encode(&m).unwrap(), compact(V1));
    }

    #[test]
    fn optional_fields_may_be_missing() {
        let m: Marketplace = decode(
            r#"{"schemaVersion":1,"account":"mkp","sellerId":"1","credentialsSecret":"s","notifyCatalog":false,"enabled":true}"#,
        )
        .unwrap();
        assert!(m.sales_channels.is_empty() && m.base_url.is_none());
    }

    #[test]
    fn a_stored_account_that_is_not_a_host_label_is_corrupt() {
        let bad = compact(V1).replace("marketplacedemo\",\"seller", "evil.com/x\",\"seller");
        assert!(decode::<Marketplace>(&bad).is_err());
    }
}
