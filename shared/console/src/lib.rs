//! The operator console: server-rendered pages under `/console/` for the seller's operations team.
//!
//! | Route | Page |
//! |---|---|
//! | `GET /console/`, `/console/orders` | orders, newest first: filters (status, account, creation dates, needs attention) and paging |
//! | `GET /console/orders/{orderId}` | one order's journey: milestones, value, stock held, invoices and tracking, every logged call and refusal, the masked customer |
//! | `GET /console/parked` | parked messages per queue: reason code, reason, body; re-drive one, some or all |
//! | `POST /console/parked/{queue}/redrive` | without `confirm=yes`: the confirmation page; with it: moves the messages back |
//! | `GET /console/catalog` | the simulation playground (a cart and a postal code in, the SLAs out, as the simulation answers VTEX) and each cart SKU's notification state (last sent to VTEX, pending changes, follow-up due); every SKU's notification state, paged (`sync=pending|overdue|all`, `after`), with its last sync, and the notifications VTEX refused, parked in the catalog queue's DLQ |
//!
//! The same [`router`] runs in the local runner and in the `console` Lambda function (behind IAM
//! authorization). It holds no credential of its own and shows no customer data beyond what an
//! operator needs ([`mask`]). A state-changing request from another site is refused: a `POST`
//! must be same-origin (`Sec-Fetch-Site`, `Origin`), the browser's own CSRF signal.
//!
//! The order figures come from the admin view ([`domain::order::admin_view`]), so the console
//! never computes a total of its own.

pub mod mask;
mod pages;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use domain::catalog_notify::{SyncFilter, SyncListPage, SyncState, SyncStates, sync_page};
use domain::invoice_store::InvoiceStore;
use domain::listing::{Cursor, OrderBoard, OrderFilter, Redrive};
use domain::order::OrderStatus;
use domain::order::admin_view::{AdminOrderView, LogPage};
use domain::ports::{CatalogReader, StoreError};
use domain::simulation::{RequestedItem, SimulationContext, SimulationRequest, simulate};
use std::collections::HashMap;
use std::sync::Arc;

pub use pages::Page;

/// Orders per page of the list.
pub const PAGE_SIZE: usize = 25;

/// Parked messages shown per queue.
pub const PARKED_SHOWN: usize = 100;

/// What the pages read and act on, built once by the composition root.
#[derive(Clone)]
pub struct Console {
    pub board: OrderBoard,
    /// The catalog the simulation reads (the playground runs the same engine on it).
    pub catalog: Arc<dyn CatalogReader>,
    /// The catalog sync's per-SKU notification bookkeeping (what VTEX was told, what is pending),
    /// read one SKU at a time and listed.
    pub sync: Arc<dyn SyncStates>,
    pub invoices: Arc<dyn InvoiceStore>,
    /// Where the console is mounted as the browser sees it (`/console`, or `/{stage}/console`
    /// behind an API stage): every link starts with it.
    pub base: String,
}

/// Every console route, under `/console`. Serve it as it is (the local runner merges it) or behind
/// a prefix-stripping layer (the Lambda function).
pub fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route("/console", get(home_redirect))
        .route("/console/", get(orders))
        .route("/console/orders", get(orders))
        .route("/console/orders/{order_id}", get(order))
        .route("/console/parked", get(parked))
        .route("/console/catalog", get(catalog))
        .route("/console/parked/{queue}/redrive", post(redrive))
        .route("/console/assets/console.css", get(stylesheet))
        .with_state(console)
}

type Query_ = Query<HashMap<String, String>>;

async fn home_redirect(State(c): State<Arc<Console>>) -> Redirect {
    Redirect::permanent(&format!("{}/orders", c.base))
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        include_str!("../assets/console.css"),
    )
        .into_response()
}

/// A page with security headers: no framing, no inline script, no sniffing, no caching of data.
fn html(status: StatusCode, page: maud::Markup) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
            (header::REFERRER_POLICY, "same-origin"),
        ],
        page.into_string(),
    )
        .into_response()
}

fn problem(c: &Console, status: StatusCode, message: &str) -> Response {
    html(status, pages::problem(&c.base, status, message))
}

fn unavailable(c: &Console, e: StoreError) -> Response {
    tracing::warn!(error = %e, "console: store call failed");
    problem(
        c,
        StatusCode::SERVICE_UNAVAILABLE,
        "The store did not answer. Try again in a moment; the logs have the details.",
    )
}

/// The filters of the list, parsed; an error names the field.
fn parse_filter(
    q: &HashMap<String, String>,
) -> Result<(OrderFilter, bool, Option<Cursor>), String> {
    let given = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let status = given("status")
        .map(|s| {
            serde_json::from_value::<OrderStatus>(serde_json::Value::String(s.to_string()))
                .map_err(|_| format!("status: {s:?} is not an order status"))
        })
        .transpose()?;
    let day = |k: &str| -> Result<Option<DateTime<Utc>>, String> {
        given(k)
            .map(|d| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
                    .map_err(|_| format!("{k}: expected a date as YYYY-MM-DD"))
            })
            .transpose()
    };
    let created_from = day("from")?;
    // "To" is the last day shown, inclusive: the filter's bound is the next midnight.
    let created_to = day("to")?.map(|d| d + chrono::Duration::days(1));
    let after = given("after")
        .map(|a| Cursor::decode(a).ok_or_else(|| "after: not a page cursor".to_string()))
        .transpose()?;
    let attention = given("attention").is_some();
    Ok((
        OrderFilter {
            status,
            an: given("an").map(str::to_string),
            created_from,
            created_to,
        },
        attention,
        after,
    ))
}

async fn orders(State(c): State<Arc<Console>>, Query(q): Query_) -> Response {
    let (filter, attention, after) = match parse_filter(&q) {
        Ok(f) => f,
        Err(e) => return problem(&c, StatusCode::BAD_REQUEST, &e),
    };
    match c
        .board
        .page(&filter, after.as_ref(), PAGE_SIZE, attention)
        .await
    {
        Ok(page) => html(
            StatusCode::OK,
            pages::orders(&c.base, &q, &page, c.board.clock.now()),
        ),
        Err(e) => unavailable(&c, e),
    }
}

async fn order(
    State(c): State<Arc<Console>>,
    Path(order_id): Path<String>,
    Query(q): Query_,
) -> Response {
    let page = match LogPage::parse(
        q.get("logBefore").map(String::as_str),
        q.get("logLimit").map(String::as_str),
    ) {
        Ok(p) => p,
        Err(e) => return problem(&c, StatusCode::BAD_REQUEST, &e),
    };
    let orders = &c.board.orders;
    let found = match orders.get(&order_id).await {
        Ok(o) => o,
        Err(e) => return unavailable(&c, e),
    };
    let Some(order) = found else {
        return problem(&c, StatusCode::NOT_FOUND, "No order with this id.");
    };
    let log = match orders.read_log(&order_id).await {
        Ok(l) => l,
        Err(e) => return unavailable(&c, e),
    };
    let invoices = match c.invoices.list_by_order(&order_id).await {
        Ok(i) => i,
        Err(e) => return unavailable(&c, e),
    };
    let parked = match c.board.all_parked().await {
        Ok(p) => p,
        Err(e) => return unavailable(&c, e),
    };
    let now = c.board.clock.now();
    let attention = domain::listing::attention(&order, &log, &parked, now);
    let view = AdminOrderView::with_log_page(&order, &log, page);
    let parked: Vec<_> = parked
        .into_iter()
        .filter(|(_, m)| m.names(&order))
        .collect();
    html(
        StatusCode::OK,
        pages::order(
            &c.base,
            &pages::OrderPage {
                order: &order,
                view: &view,
                invoices: &invoices,
                attention: &attention,
                parked: &parked,
            },
        ),
    )
}

async fn parked(State(c): State<Arc<Console>>, Query(q): Query_) -> Response {
    let mut queues = Vec::new();
    for name in c.board.parked.queues() {
        match c.board.parked.list(&name, PARKED_SHOWN).await {
            Ok(list) => queues.push((name, list)),
            Err(e) => return unavailable(&c, e),
        }
    }
    let moved = q.get("moved").and_then(|m| m.parse::<usize>().ok());
    let from = q.get("queue").cloned();
    html(
        StatusCode::OK,
        pages::parked(&c.base, &queues, moved.zip(from)),
    )
}

/// Most cart lines the playground takes (VTEX's carts are far smaller).
const MAX_CART_LINES: usize = 50;

/// The playground's cart: one `sku quantity` (or `sku`, one unit) per line.
fn parse_cart(text: &str) -> Result<Vec<RequestedItem>, String> {
    let mut items = Vec::new();
    for (n, line) in text.lines().map(str::trim).enumerate() {
        if line.is_empty() {
            continue;
        }
        let mut parts = line.split_whitespace();
        let id = parts.next().unwrap_or_default();
        let quantity = match parts.next() {
            None => 1,
            Some(q) => q.parse::<i64>().ok().filter(|q| *q >= 1).ok_or_else(|| {
                format!(
                    "cart line {}: the quantity must be a whole number ≥ 1",
                    n + 1
                )
            })?,
        };
        if parts.next().is_some() || id.len() > 64 {
            return Err(format!(
                "cart line {}: expected a SKU id and a quantity",
                n + 1
            ));
        }
        items.push(RequestedItem {
            id: id.to_string(),
            quantity,
            seller: "1".into(),
        });
    }
    if items.len() > MAX_CART_LINES {
        return Err(format!("cart: at most {MAX_CART_LINES} lines"));
    }
    Ok(items)
}

/// SKUs per page of the notification list.
pub const SYNC_PAGE_SIZE: usize = 25;

/// The catalog page's notification section: one page of SKUs' sync states, and the notifications
/// parked after VTEX refused them.
pub struct Notifications {
    pub filter: SyncFilter,
    pub page: SyncListPage,
    pub parked: Vec<ParkedNotice>,
    pub now: DateTime<Utc>,
}

/// A refused notification waiting in a DLQ (a parked `notify.due` message).
pub struct ParkedNotice {
    pub queue: String,
    pub sku_id: String,
    pub kind: String,
    pub reason_code: Option<String>,
    pub reason: Option<String>,
    pub parked_at: Option<DateTime<Utc>>,
}

/// The parked messages that are notifications to VTEX: the catalog sync parks a refused one as a
/// `notify.due` naming the SKU and kind (re-driving it sends again).
fn parked_notices(parked: Vec<(String, domain::listing::ParkedMessage)>) -> Vec<ParkedNotice> {
    parked
        .into_iter()
        .filter_map(|(queue, m)| {
            let v: serde_json::Value = serde_json::from_str(&m.body).ok()?;
            if v.get("type")?.as_str()? != "notify.due" {
                return None;
            }
            Some(ParkedNotice {
                queue,
                sku_id: v.get("skuId")?.as_str()?.to_string(),
                kind: v.get("kind")?.as_str()?.to_string(),
                reason_code: m.reason_code,
                reason: m.reason,
                parked_at: m.parked_at,
            })
        })
        .collect()
}

async fn notifications(
    c: &Console,
    q: &HashMap<String, String>,
) -> Result<Result<Notifications, String>, StoreError> {
    let given = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let filter = match given("sync") {
        None => SyncFilter::Pending,
        Some(f) => match SyncFilter::parse(f) {
            Some(f) => f,
            None => return Ok(Err(format!("sync: {f:?} is not pending, overdue or all"))),
        },
    };
    let now = c.board.clock.now();
    let page = sync_page(c.sync.as_ref(), filter, given("after"), SYNC_PAGE_SIZE, now).await?;
    let parked = parked_notices(c.board.all_parked().await?);
    Ok(Ok(Notifications {
        filter,
        page,
        parked,
        now,
    }))
}

async fn catalog(State(c): State<Arc<Console>>, Query(q): Query_) -> Response {
    let notes = match notifications(&c, &q).await {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => return problem(&c, StatusCode::BAD_REQUEST, &e),
        Err(e) => return unavailable(&c, e),
    };
    let given = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let Some(cart) = given("cart") else {
        return html(StatusCode::OK, pages::catalog(&c.base, &q, None, &notes));
    };
    let items = match parse_cart(cart) {
        Ok(i) if !i.is_empty() => i,
        Ok(_) => return problem(&c, StatusCode::BAD_REQUEST, "cart: name at least one SKU"),
        Err(e) => return problem(&c, StatusCode::BAD_REQUEST, &e),
    };
    let request = SimulationRequest {
        items,
        country: given("country").map(str::to_uppercase),
        postal_code: given("postalCode").map(str::to_string),
        geo_coordinates: Vec::new(),
    };
    let skus = match c.catalog.get_skus(&request.distinct_sku_ids()).await {
        Ok(s) => s,
        Err(e) => return unavailable(&c, e),
    };
    let rules = match c.catalog.shipping_rules().await {
        Ok(r) => r.unwrap_or_else(domain::shipping::ShippingRules::empty),
        Err(e) => return unavailable(&c, e),
    };
    let mut sync: Vec<(String, SyncState)> = Vec::new();
    for id in request.distinct_sku_ids() {
        match c.sync.get_sync_state(&id).await {
            Ok(v) => sync.push((id, v.state)),
            Err(e) => return unavailable(&c, e),
        }
    }
    let result = simulate(
        &request,
        &SimulationContext {
            skus: &skus,
            rules: &rules,
            an: given("an"),
            sc: given("sc"),
            price_list: None,
            now: c.board.clock.now(),
        },
    );
    html(
        StatusCode::OK,
        pages::catalog(&c.base, &q, Some((&result, &sync)), &notes),
    )
}

/// Whether the browser says the request comes from this site (see the module docs). A client
/// that sends neither header (curl, a script with the operator's credential) is not a browser
/// tricked by another page.
fn same_origin(headers: &HeaderMap) -> bool {
    let value = |n: header::HeaderName| headers.get(n).and_then(|v| v.to_str().ok());
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && site != "same-origin"
        && site != "none"
    {
        return false;
    }
    match (value(header::ORIGIN), value(header::HOST)) {
        (Some(origin), Some(host)) => {
            origin
                .strip_prefix("http://")
                .or(origin.strip_prefix("https://"))
                == Some(host)
        }
        (Some(_), None) => false,
        _ => true,
    }
}

async fn redrive(
    State(c): State<Arc<Console>>,
    Path(queue): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !same_origin(&headers) {
        return problem(
            &c,
            StatusCode::FORBIDDEN,
            "This form can only be sent from the console itself.",
        );
    }
    if !c.board.parked.queues().contains(&queue) {
        return problem(&c, StatusCode::NOT_FOUND, "No such queue.");
    }
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let ids: Vec<String> = fields
        .iter()
        .filter(|(n, _)| n == "id")
        .map(|(_, v)| v.clone())
        .collect();
    let which = if field("all") == Some("yes") {
        Redrive::All
    } else if ids.is_empty() {
        return problem(
            &c,
            StatusCode::BAD_REQUEST,
            "Choose at least one message to re-drive.",
        );
    } else {
        Redrive::Some(ids)
    };
    if field("confirm") != Some("yes") {
        let shown = match c.board.parked.list(&queue, PARKED_SHOWN).await {
            Ok(l) => l,
            Err(e) => return unavailable(&c, e),
        };
        let chosen: Vec<_> = shown
            .into_iter()
            .filter(|m| match &which {
                Redrive::All => true,
                Redrive::Some(ids) => ids.contains(&m.id),
            })
            .collect();
        return html(
            StatusCode::OK,
            pages::confirm_redrive(&c.base, &queue, &which, &chosen),
        );
    }
    match c.board.parked.redrive(&queue, &which).await {
        Ok(moved) => {
            tracing::info!(queue, moved, "console: re-drove parked messages");
            Redirect::to(&format!("{}/parked?queue={queue}&moved={moved}", c.base)).into_response()
        }
        Err(e) => unavailable(&c, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_a_bad_one_is_named() {
        let q = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let (f, attention, after) = parse_filter(&q(&[
            ("status", "INVOICED"),
            ("an", " luxstore "),
            ("from", "2026-03-04"),
            ("to", "2026-03-04"),
            ("attention", "on"),
        ]))
        .unwrap();
        assert_eq!(f.status, Some(OrderStatus::Invoiced));
        assert_eq!(f.an.as_deref(), Some("luxstore"));
        assert_eq!(
            f.created_to.unwrap() - f.created_from.unwrap(),
            chrono::Duration::days(1)
        );
        assert!(attention && after.is_none());
        let (f, attention, _) = parse_filter(&q(&[("status", ""), ("an", "")])).unwrap();
        assert_eq!(f, OrderFilter::default());
        assert!(!attention);
        for (k, v) in [("status", "PAID"), ("from", "04/03/2026"), ("after", "x")] {
            let err = parse_filter(&q(&[(k, v)])).unwrap_err();
            assert!(err.starts_with(k), "{err}");
        }
    }

    #[test]
    fn a_cart_reads_one_sku_and_quantity_per_line_and_a_bad_line_is_named() {
        let items = parse_cart("2002495 2\n\n  2002129  \n").unwrap();
        let got: Vec<(&str, i64)> = items.iter().map(|i| (i.id.as_str(), i.quantity)).collect();
        assert_eq!(got, [("2002495", 2), ("2002129", 1)]);
        for bad in ["a 0", "a two", "a 1 b", "a -1"] {
            let err = parse_cart(bad).unwrap_err();
            assert!(err.starts_with("cart line 1"), "{err}");
        }
        let many: String = (0..=MAX_CART_LINES).map(|i| format!("s{i}\n")).collect();
        assert!(parse_cart(&many).is_err());
    }

    #[test]
    fn a_post_from_another_site_is_not_same_origin() {
        let h = |pairs: &[(&str, &str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(
                    header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                );
            }
            m
        };
        assert!(same_origin(&h(&[])));
        assert!(same_origin(&h(&[
            ("sec-fetch-site", "same-origin"),
            ("origin", "http://127.0.0.1:8080"),
            ("host", "127.0.0.1:8080")
        ])));
        assert!(!same_origin(&h(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(&h(&[
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:8080")
        ])));
    }
}
