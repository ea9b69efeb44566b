//! The OMS read reconciliation makes ([`domain::reconcile::OmsOrders`]): `GET
//! /api/oms/pvt/orders/{marketplaceOrderId}` on the order's account (shared/docs/protocol.md §Get
//! order), reduced to the fields compared: `status`, `value`, and per
//! `packageAttachment.packages[]` its `invoiceNumber`, `invoiceValue`, `type` and
//! `trackingNumber`. The rest of the order (customer, address, payment) is never parsed, so it
//! cannot reach a log.
//!
//! Answers: 200 → the view (an unreadable body is *unavailable*: a proxy's page is not an order);
//! 404 → not found; 429 → throttled with its `Retry-After`; 5xx, 408, timeouts → unavailable;
//! any other status → refused (403: the key lacks OMS › View orders).
//!
//! Implemented by [`VtexClient`] (one account's credentials) and by [`AccountClients`] (each
//! order's own marketplace, from the registry), as the dispatcher's calls are.

use crate::accounts::{AccountClient, AccountClients};
use crate::client::{ClientError, RawAnswer, VtexClient, check_segments, refusal_excerpt};
use async_trait::async_trait;
use domain::invoicing::InvoiceType;
use domain::money::Cents;
use domain::reconcile::{OmsOrderView, OmsOrders, OmsPackage, OmsRead};
use reqwest::{Method, StatusCode};
use serde::Deserialize;

/// The fields of OMS's order read here. Every field is optional: OMS leaves
/// `packageAttachment` null before invoicing.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OmsOrderDto {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub value: Option<i64>,
    #[serde(default)]
    pub package_attachment: Option<PackageAttachment>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PackageAttachment {
    #[serde(default)]
    pub packages: Option<Vec<PackageDto>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageDto {
    #[serde(default)]
    pub invoice_number: Option<String>,
    #[serde(default)]
    pub invoice_value: Option<i64>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub tracking_number: Option<String>,
}

impl From<OmsOrderDto> for OmsOrderView {
    fn from(o: OmsOrderDto) -> Self {
        let packages = o
            .package_attachment
            .and_then(|a| a.packages)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| {
                Some(OmsPackage {
                    invoice_number: p.invoice_number.filter(|n| !n.trim().is_empty())?,
                    invoice_value: Cents(p.invoice_value.unwrap_or(0)),
                    kind: match p.kind.as_deref() {
                        Some("Output") => Some(InvoiceType::Output),
                        Some("Input") => Some(InvoiceType::Input),
                        _ => None,
                    },
                    tracking_number: p
                        .tracking_number
                        .map(|t| t.trim().to_string())
                        .filter(|t| !t.is_empty()),
                })
            })
            .collect();
        OmsOrderView {
            status: o.status.unwrap_or_default(),
            value: o.value.map(Cents),
            packages,
        }
    }
}

/// What one answer to the order read means.
pub(crate) fn classify_read(answer: RawAnswer) -> OmsRead {
    match answer {
        RawAnswer::NoAnswer { reason } => OmsRead::Unavailable { reason },
        RawAnswer::Answered { status, .. } if status == StatusCode::NOT_FOUND => OmsRead::NotFound,
        RawAnswer::Answered { status, text, .. } if status.is_success() => {
            match serde_json::from_str::<OmsOrderDto>(&text) {
                Ok(o) => OmsRead::Found(o.into()),
                Err(_) => OmsRead::Unavailable {
                    reason: format!("VTEX answered {} with an unreadable order", status.as_u16()),
                },
            }
        }
        RawAnswer::Answered {
            status,
            retry_after,
            ..
        } if status == StatusCode::TOO_MANY_REQUESTS => OmsRead::Throttled { retry_after },
        RawAnswer::Answered { status, .. }
            if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT =>
        {
            OmsRead::Unavailable {
                reason: format!("VTEX answered {}", status.as_u16()),
            }
        }
        RawAnswer::Answered { status, text, .. } => OmsRead::Refused {
            status: status.as_u16(),
            body: refusal_excerpt(&text),
        },
    }
}

impl VtexClient {
    /// `GET /api/oms/pvt/orders/{marketplaceOrderId}` on `an`'s host, classified for
    /// reconciliation.
    pub async fn read_oms_order(
        &self,
        an: &str,
        marketplace_order_id: &str,
    ) -> Result<OmsRead, ClientError> {
        check_segments(&[marketplace_order_id])?;
        let mut url = self.base_for(an)?;
        url.path_segments_mut()
            .map_err(|_| ClientError::Config("VTEX base URL cannot have a path".into()))?
            .pop_if_empty()
            .extend(["api", "oms", "pvt", "orders", marketplace_order_id]);
        Ok(classify_read(self.exchange(Method::GET, url, None).await?))
    }
}

#[async_trait]
impl OmsOrders for VtexClient {
    async fn get_order(
        &self,
        an: &str,
        marketplace_order_id: &str,
    ) -> Result<OmsRead, ClientError> {
        self.read_oms_order(an, marketplace_order_id).await
    }
}

/// Per account: the read goes out with the order's own marketplace credentials and base URL
/// ([`AccountClients::client_for`]). An account that is not registered, or disabled, is a
/// [`ClientError`] (that order is not read, never with another account's key); a registry or
/// secret outage is *unavailable*.
#[async_trait]
impl OmsOrders for AccountClients {
    async fn get_order(
        &self,
        an: &str,
        marketplace_order_id: &str,
    ) -> Result<OmsRead, ClientError> {
        match self.client_for(an).await? {
            AccountClient::Later(reason) => Ok(OmsRead::Unavailable { reason }),
            AccountClient::Ready(m, client) => {
                client
                    .read_oms_order(m.account.as_str(), marketplace_order_id)
                    .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn answered(status: u16, text: &str, retry_after: Option<u64>) -> RawAnswer {
        RawAnswer::Answered {
            status: StatusCode::from_u16(status).unwrap(),
            retry_after: retry_after.map(Duration::from_secs),
            text: text.to_string(),
        }
    }

    #[test]
    fn the_openapi_example_reads_as_its_status_value_and_packages() {
        let body = r#"{"orderId": "v502559llux-01", "status": "handling", "value": 1160,
          "clientProfileData": {"email": "someone@example.com"},
          "packageAttachment": {"packages": [{"invoiceNumber": "24382", "invoiceValue": 1015,
            "type": "Input", "trackingNumber": "TRK-48960684", "courier": "PAC Correios"},
            {"invoiceNumber": "NFe-2", "invoiceValue": 145, "type": "Output", "trackingNumber": " "}]}}"#;
        let OmsRead::Found(v) = classify_read(answered(200, body, None)) else {
            panic!("a 200 with an order is found")
        };
        assert_eq!(v.status, "handling");
        assert_eq!(v.value, Some(Cents(1160)));
        assert_eq!(
            v.packages,
            vec![
                OmsPackage {
                    invoice_number: "24382".into(),
                    invoice_value: Cents(1015),
                    kind: Some(InvoiceType::Input),
                    tracking_number: Some("TRK-48960684".into()),
                },
                OmsPackage {
                    invoice_number: "NFe-2".into(),
                    invoice_value: Cents(145),
                    kind: Some(InvoiceType::Output),
                    tracking_number: None,
                },
            ]
        );
        let before_invoicing =
            r#"{"status": "ready-for-handling", "value": 1160, "packageAttachment": null}"#;
        let OmsRead::Found(v) = classify_read(answered(200, before_invoicing, None)) else {
            panic!()
        };
        assert!(v.packages.is_empty());
    }

    #[test]
    fn answers_are_classified() {
        assert_eq!(classify_read(answered(404, "", None)), OmsRead::NotFound);
        assert_eq!(
            classify_read(answered(429, "", Some(7))),
            OmsRead::Throttled {
                retry_after: Some(Duration::from_secs(7))
            }
        );
        for s in [500, 502, 503, 408] {
            assert!(
                matches!(
                    classify_read(answered(s, "", None)),
                    OmsRead::Unavailable { .. }
                ),
                "{s}"
            );
        }
        assert!(matches!(
            classify_read(answered(200, "<html>proxy</html>", None)),
            OmsRead::Unavailable { .. }
        ));
        assert!(matches!(
            classify_read(answered(
                403,
                r#"{"error":{"code":"403","message":"forbidden"}}"#,
                None
            )),
            OmsRead::Refused { status: 403, .. }
        ));
        assert!(matches!(
            classify_read(RawAnswer::NoAnswer {
                reason: "timeout".into()
            }),
            OmsRead::Unavailable { .. }
        ));
    }

    #[tokio::test]
    async fn an_id_that_would_leave_its_segment_is_refused_before_any_call() {
        let c = VtexClient::new(
            "http://127.0.0.1:9",
            crate::client::AppCredentials::new("k", "t"),
        )
        .unwrap();
        for bad in ["..", "a/b", ""] {
            assert!(c.read_oms_order("", bad).await.is_err(), "{bad:?}");
        }
    }
}
