//! The client as the domain's outbound ports ([`domain::outbound`]): domain types in, the wire
//! bodies of [`crate::oms`] and [`crate::fulfillment`] built here.

use crate::client::VtexClient;
use crate::fulfillment::FulfillmentOrderRequest;
use crate::oms::{CancelRequest, InvoiceRequest, OmsReceipt, TrackingPatch, TrackingStatusRequest};
use async_trait::async_trait;
use domain::import::ImportOrder;
use domain::invoicing::{Invoice, TrackingInfo, TrackingStatus};
use domain::outbound::{
    CallResult, Handling, MarketplaceOms, OwnAccount, Receipt, VtexOrderSummary,
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
