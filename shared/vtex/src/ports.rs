//! The client as the domain's outbound ports ([`domain::outbound`]): domain types in, the wire
//! bodies of [`crate::oms`], [`crate::fulfillment`] and [`crate::catalog`] built here.

use crate::catalog::{CatalogClient, SuggestionRequest, SuggestionSettings};
use crate::client::VtexClient;
use crate::fulfillment::FulfillmentOrderRequest;
use crate::oms::{CancelRequest, InvoiceRequest, OmsReceipt, TrackingPatch, TrackingStatusRequest};
use async_trait::async_trait;
use domain::catalog::Sku;
use domain::catalog_notify::NotifyKind;
use domain::import::ImportOrder;
use domain::invoicing::{Invoice, TrackingInfo, TrackingStatus};
use domain::outbound::{
    CallError, CallResult, CatalogNotifier, CatalogOutcome, Handling, MarketplaceOms, OwnAccount,
    Receipt, VtexOrderSummary,
};

fn receipt(r: OmsReceipt) -> Receipt {
    Receipt(r.receipt)
}

#[async_trait]
impl MarketplaceOms for VtexClient {
    async fn invoice(
        &self,
        an: &str,
        marketplace_order_id: &str,
        invoice: &Invoice,
    ) -> CallResult<Receipt> {
        let body = InvoiceRequest::from(invoice);
        Ok(self
            .send_invoice(an, marketplace_order_id, &body)
            .await?
            .map(receipt))
    }

    async fn tracking(
        &self,
        an: &str,
        marketplace_order_id: &str,
        invoice_number: &str,
        tracking: &TrackingInfo,
    ) -> CallResult<Receipt> {
        let body = TrackingPatch::from(tracking);
        Ok(self
            .patch_tracking(an, marketplace_order_id, invoice_number, &body)
            .await?
            .map(receipt))
    }

    async fn tracking_events(
        &self,
        an: &str,
        marketplace_order_id: &str,
        invoice_number: &str,
        status: &TrackingStatus,
    ) -> CallResult<Receipt> {
        let body = TrackingStatusRequest::from(status);
        Ok(self
            .put_tracking_status(an, marketplace_order_id, invoice_number, &body)
            .await?
            .map(receipt))
    }

    async fn cancel(
        &self,
        an: &str,
        marketplace_order_id: &str,
        reason: &str,
    ) -> CallResult<Receipt> {
        let body = CancelRequest {
            reason: reason.to_string(),
        };
        Ok(self
            .cancel_order(an, marketplace_order_id, &body)
            .await?
            .map(receipt))
    }

    async fn order_status(
        &self,
        an: &str,
        marketplace_order_id: &str,
    ) -> CallResult<Option<String>> {
        Ok(VtexClient::get_order(self, an, marketplace_order_id)
            .await?
            .map(|o| o.map(|o| o.status.unwrap_or_default())))
    }
}

#[async_trait]
impl OwnAccount for VtexClient {
    async fn place_order(
        &self,
        account: &str,
        affiliate_id: &str,
        sales_channel: &str,
        order: &ImportOrder,
        marketplace_services_endpoint: &str,
    ) -> CallResult<String> {
        let body = FulfillmentOrderRequest::new(order, marketplace_services_endpoint);
        self.place_fulfillment_order(account, affiliate_id, sales_channel, &body)
            .await
    }

    async fn authorize_dispatch(
        &self,
        account: &str,
        affiliate_id: &str,
        sales_channel: &str,
        vtex_order_id: &str,
        marketplace_order_id: &str,
    ) -> CallResult<()> {
        VtexClient::authorize_dispatch(
            self,
            account,
            affiliate_id,
            sales_channel,
            vtex_order_id,
            marketplace_order_id,
        )
        .await
    }

    async fn start_handling(&self, account: &str, vtex_order_id: &str) -> CallResult<Handling> {
        VtexClient::start_handling(self, account, vtex_order_id).await
    }

    async fn get_order(
        &self,
        account: &str,
        vtex_order_id: &str,
    ) -> CallResult<Option<VtexOrderSummary>> {
        VtexClient::get_order(self, account, vtex_order_id).await
    }
}

/// The catalog client as the domain's [`CatalogNotifier`]: suggestions are built with `suggestion`.
#[derive(Clone)]
pub struct Notificator {
    pub client: CatalogClient,
    pub suggestion: SuggestionSettings,
}

#[async_trait]
impl CatalogNotifier for Notificator {
    async fn notify(&self, kind: NotifyKind, sku_id: &str) -> Result<CatalogOutcome, CallError> {
        self.client.notify(kind, sku_id).await
    }

    async fn suggest(&self, sku: &Sku) -> Result<Result<CatalogOutcome, String>, CallError> {
        let body = match SuggestionRequest::from_sku(sku, &self.suggestion) {
            Ok(b) => b,
            Err(reason) => return Ok(Err(reason)),
        };
        Ok(Ok(self.client.put_suggestion(&sku.id, &body).await?))
    }
}
