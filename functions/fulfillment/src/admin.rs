//! `GET …/admin/orders/{orderId}`: the order's [`AdminOrderView`] (never customer data), looked up
//! by our id, then by marketplace order id under the request's `an`. `?logLimit=N` (1–1000) and
//! `?logBefore=K` page back through a long log: each view gives the `logBefore` of the next older
//! page in `logNextBefore`.

use crate::Deps;
use domain::order::admin_view::{AdminOrderView, LogPage};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use lambda_kit::{ApiError, json_response};
use vtex::orders::codes;

/// The order by our id, or by marketplace order id under the request's `an`.
pub async fn view(
    deps: &Deps,
    id: &str,
    an: &str,
    page: (Option<String>, Option<String>),
) -> Result<Response<Body>, ApiError> {
    let page = LogPage::parse(page.0.as_deref(), page.1.as_deref())
        .map_err(|e| ApiError::bad_request(codes::INVALID_REQUEST, e))?;
    let order = match deps.store.get(id).await? {
        Some(o) => Some(o),
        None => deps.store.get_by_marketplace_id(an, id).await?,
    };
    let Some(order) = order else {
        return Err(ApiError::not_found(
            codes::ORDER_NOT_FOUND,
            format!("Order {id} not found"),
        ));
    };
    lambda_kit::correlation::record_order(&order.order_id, &order.marketplace_order_id);
    let log = deps.store.read_log(&order.order_id).await?;
    Ok(json_response(
        StatusCode::OK,
        &AdminOrderView::with_log_page(&order, &log, page),
    ))
}
