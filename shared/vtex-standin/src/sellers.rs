//! The marketplace's Seller Register (`marketplace-apis.json`, "Configure seller account"): `POST
//! /api/seller-register/pvt/sellers` upserts a seller by id, `GET …/sellers/{sellerId}` reads it
//! back. The account is the call's `/{an}` prefix; an account whose app key may not register
//! sellers ([`crate::StandInAccount::may_register_sellers`]) answers 403, as VTEX does without the
//! *Save Seller* resource. Control: `GET /_standin/sellers` lists every registration.

use crate::{CalledAccount, Shared, lock, oms_error};
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One seller as the marketplace holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredSeller {
    /// The marketplace account it was registered in (absent: the unprefixed account).
    pub account: Option<String>,
    pub id: String,
    pub name: String,
    pub fulfillment_endpoint: String,
    pub is_active: bool,
    /// The body as received.
    pub body: Value,
}

#[derive(Debug, Default)]
pub struct SellersState {
    pub sellers: Vec<RegisteredSeller>,
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/seller-register/pvt/sellers", post(upsert))
        .route("/api/seller-register/pvt/sellers/{seller}", get(read))
}

pub fn control_routes() -> Router<Shared> {
    Router::new().route("/_standin/sellers", get(list))
}

async fn upsert(
    State(s): State<Shared>,
    account: Option<Extension<CalledAccount>>,
    body: Bytes,
) -> Response {
    let account = account.map(|Extension(a)| a.0);
    let permitted = account
        .as_ref()
        .and_then(|a| s.config.accounts.get(a))
        .is_none_or(|a| a.may_register_sellers);
    if !permitted {
        return oms_error(
            StatusCode::FORBIDDEN,
            "SR403",
            "The app key lacks the Seller Register resource Save Seller",
        );
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return oms_error(StatusCode::BAD_REQUEST, "SR400", "The body is not JSON");
    };
    let text = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let (Some(id), Some(name), Some(endpoint), Some(active)) = (
        text("id"),
        text("name"),
        text("fulfillmentEndpoint"),
        body.get("isActive").and_then(Value::as_bool),
    ) else {
        return oms_error(
            StatusCode::BAD_REQUEST,
            "SR400",
            "id, name, fulfillmentEndpoint and isActive are required",
        );
    };
    if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
        return oms_error(
            StatusCode::BAD_REQUEST,
            "SR400",
            "fulfillmentEndpoint must be an http(s) URL",
        );
    }
    let seller = RegisteredSeller {
        account,
        id,
        name,
        fulfillment_endpoint: endpoint,
        is_active: active,
        body,
    };
    let mut state = lock(&s.sellers);
    state
        .sellers
        .retain(|x| !(x.account == seller.account && x.id == seller.id));
    state.sellers.push(seller);
    StatusCode::OK.into_response()
}

async fn read(
    State(s): State<Shared>,
    account: Option<Extension<CalledAccount>>,
    Path(seller): Path<String>,
) -> Response {
    let account = account.map(|Extension(a)| a.0);
    let state = lock(&s.sellers);
    match state
        .sellers
        .iter()
        .find(|x| x.account == account && x.id == seller)
    {
        Some(x) => Json(x.body.clone()).into_response(),
        None => oms_error(StatusCode::NOT_FOUND, "SR404", "Seller not found"),
    }
}

async fn list(State(s): State<Shared>) -> Json<Vec<RegisteredSeller>> {
    Json(lock(&s.sellers).sellers.clone())
}
