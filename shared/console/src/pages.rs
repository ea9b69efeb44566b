//! The pages. Plain HTML forms and links (every action works without JavaScript), labels on every
//! control, one `h1` per page, tables with header cells that the stylesheet turns into cards at a
//! phone's width.

use crate::mask;
use domain::catalog_notify::{KindState, NotifyKind, SyncFilter, SyncState};
use domain::invoicing::{InvoiceRecord, SendState};
use domain::listing::{Attention, BoardPage, ParkedMessage, Redrive};
use domain::money::Cents;
use domain::order::admin_view::AdminOrderView;
use domain::order::{Order, OrderStatus, Outcome, format_date};
use domain::simulation::{Availability, SimulationResult};
use maud::{DOCTYPE, Markup, html};
use std::collections::HashMap;

/// Which navigation entry is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Orders,
    Parked,
    Catalog,
    Other,
}

const STATUSES: [OrderStatus; 9] = [
    OrderStatus::Reserved,
    OrderStatus::Authorized,
    OrderStatus::PartiallyInvoiced,
    OrderStatus::Invoiced,
    OrderStatus::Shipped,
    OrderStatus::Delivered,
    OrderStatus::Returned,
    OrderStatus::Canceled,
    OrderStatus::Expired,
];

/// Integer cents as units with two decimals (`11080` → `110.80`); the currency is the
/// marketplace's.
pub fn money(c: Cents) -> String {
    let v = c.value();
    let sign = if v < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", (v / 100).abs(), (v % 100).abs())
}

fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A date of the admin view (`2026-11-20T12:00:00.000+00:00`) as the pages write dates, with its
/// milliseconds (log entries a few ms apart stay apart); anything else as it is.
fn readable(view_date: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(view_date)
        .map(|d| {
            d.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%S%.3f UTC")
                .to_string()
        })
        .unwrap_or_else(|_| view_date.to_string())
}

fn status_badge(s: OrderStatus) -> Markup {
    let class = match s {
        OrderStatus::Reserved | OrderStatus::PartiallyInvoiced => "badge warn",
        OrderStatus::Canceled | OrderStatus::Expired | OrderStatus::Returned => "badge muted",
        _ => "badge ok",
    };
    html! { span class=(class) { (s.as_str()) } }
}

fn outcome_badge(o: Outcome) -> Markup {
    let (class, text) = match o {
        Outcome::Success => ("badge ok", "Success"),
        Outcome::Pending => ("badge muted", "Pending"),
        Outcome::Alert => ("badge warn", "Alert"),
        Outcome::Error => ("badge bad", "Error"),
    };
    html! { span class=(class) { (text) } }
}

fn layout(base: &str, title: &str, current: Page, body: Markup) -> Markup {
    let nav = |page: Page, href: String, text: &str| {
        html! {
            @if page == current {
                a href=(href) aria-current="page" { (text) }
            } @else {
                a href=(href) { (text) }
            }
        }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Connector console" }
                link rel="stylesheet" href=(format!("{base}/assets/console.css"));
            }
            body {
                a class="skip" href="#main" { "Skip to content" }
                header class="top" {
                    span class="brand" { "Connector console" }
                    nav aria-label="Sections" {
                        (nav(Page::Orders, format!("{base}/orders"), "Orders"))
                        (nav(Page::Parked, format!("{base}/parked"), "Parked messages"))
                        (nav(Page::Catalog, format!("{base}/catalog"), "Simulation"))
                    }
                }
                main id="main" tabindex="-1" { (body) }
            }
        }
    }
}

pub fn problem(base: &str, status: http::StatusCode, message: &str) -> Markup {
    layout(
        base,
        status.canonical_reason().unwrap_or("Error"),
        Page::Other,
        html! {
            h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) }
            p role="alert" { (message) }
            p { a href=(format!("{base}/orders")) { "Back to the orders" } }
        },
    )
}

fn attention_list(items: &[Attention]) -> Markup {
    html! {
        @for a in items {
            @let text = match a {
                Attention::Parked { queue, reason } => format!("parked in {queue}: {reason}"),
                Attention::Refused { step, .. } => format!("{step} refused"),
                Attention::ExpiresSoon { at } => format!("reservation lapses {}", when(*at)),
                Attention::PendingCancellation => "cancel pending".to_string(),
            };
            span class="badge warn" { (text) } " "
        }
    }
}

fn query_with(q: &HashMap<String, String>, key: &str, value: &str) -> String {
    let mut pairs: Vec<(&str, &str)> = ["status", "an", "from", "to", "attention"]
        .iter()
        .filter_map(|k| q.get(*k).map(|v| (*k, v.as_str())))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    pairs.push((key, value));
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

pub fn orders(
    base: &str,
    q: &HashMap<String, String>,
    page: &BoardPage,
    now: chrono::DateTime<chrono::Utc>,
) -> Markup {
    let v = |k: &str| q.get(k).cloned().unwrap_or_default();
    let attention = q.get("attention").is_some_and(|a| !a.is_empty());
    layout(
        base,
        "Orders",
        Page::Orders,
        html! {
            h1 { "Orders" }
            form class="filters" method="get" action=(format!("{base}/orders")) role="search" aria-label="Filter orders" {
                div class="field" {
                    label for="f-status" { "Status" }
                    select id="f-status" name="status" {
                        option value="" { "Any status" }
                        @for s in STATUSES {
                            option value=(s.as_str()) selected[v("status") == s.as_str()] { (s.as_str()) }
                        }
                    }
                }
                div class="field" {
                    label for="f-an" { "Account" }
                    input id="f-an" name="an" type="text" value=(v("an")) placeholder="e.g. luxstore" autocomplete="off";
                }
                div class="field" {
                    label for="f-from" { "Created from" }
                    input id="f-from" name="from" type="date" value=(v("from"));
                }
                div class="field" {
                    label for="f-to" { "Created until" }
                    input id="f-to" name="to" type="date" value=(v("to"));
                }
                div class="field check" {
                    input id="f-attention" name="attention" type="checkbox" value="on" checked[attention];
                    label for="f-attention" { "Needs attention only" }
                }
                div class="field actions" {
                    button type="submit" { "Apply filters" }
                    a href=(format!("{base}/orders")) { "Clear" }
                }
            }
            p class="summary" aria-live="polite" {
                (page.rows.len()) " order(s) shown"
                @if attention { ", " (page.examined) " examined" }
                " · as of " (when(now))
            }
            @if page.rows.is_empty() {
                p class="empty" { "No orders match these filters." }
            } @else {
                table class="list" {
                    caption class="sr-only" { "Orders, newest first" }
                    thead {
                        tr {
                            th scope="col" { "Order" }
                            th scope="col" { "Marketplace order" }
                            th scope="col" { "Account" }
                            th scope="col" { "Status" }
                            th scope="col" { "Created" }
                            th scope="col" class="num" { "Value" }
                            th scope="col" { "Needs attention" }
                        }
                    }
                    tbody {
                        @for row in &page.rows {
                            @let o = &row.order;
                            tr {
                                td data-label="Order" {
                                    a class="id" href=(format!("{base}/orders/{}", urlencode(&o.order_id))) { (o.order_id) }
                                }
                                td data-label="Marketplace order" { (o.marketplace_order_id) }
                                td data-label="Account" { @if o.an.is_empty() { em { "none" } } @else { (o.an) } }
                                td data-label="Status" { (status_badge(o.status)) }
                                td data-label="Created" { time datetime=(format_date(o.created_at)) { (when(o.created_at)) } }
                                td data-label="Value" class="num" { (money(o.total())) }
                                td data-label="Needs attention" {
                                    @if row.attention.is_empty() { span class="muted" { "—" } }
                                    @else { (attention_list(&row.attention)) }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(next) = &page.next {
                nav class="pager" aria-label="Pages" {
                    a href=(format!("{base}/orders?{}", query_with(q, "after", &next.encode()))) rel="next" { "Older orders →" }
                }
            }
        },
    )
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Everything the order page shows.
pub struct OrderPage<'a> {
    pub order: &'a Order,
    pub view: &'a AdminOrderView,
    pub invoices: &'a [InvoiceRecord],
    pub attention: &'a [Attention],
    pub parked: &'a [(String, ParkedMessage)],
}

fn state_text(s: SendState) -> (&'static str, &'static str) {
    match s {
        SendState::Pending => ("badge muted", "pending"),
        SendState::Sent => ("badge ok", "acknowledged"),
        SendState::Rejected => ("badge bad", "refused"),
    }
}

/// `priceTags` → `Price tags`.
fn label(key: &str) -> String {
    let mut out = String::new();
    for (i, c) in key.chars().enumerate() {
        if c.is_uppercase() {
            out.push(' ');
            out.extend(c.to_lowercase());
        } else if i == 0 {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The admin view's totals as it serializes them, known figures first: whatever breakdown the
/// view carries is shown without the console computing any of it.
fn totals(view: &AdminOrderView) -> Markup {
    const FIRST: [&str; 10] = [
        "items",
        "priceTags",
        "bundles",
        "freight",
        "deliveryWindows",
        "computed",
        "total",
        "marketplacePaymentValue",
        "valueSource",
        "valueStored",
    ];
    let json = serde_json::to_value(&view.totals).unwrap_or_default();
    let Some(map) = json.as_object() else {
        return html! {};
    };
    let mut keys: Vec<&str> = FIRST
        .iter()
        .copied()
        .filter(|k| map.contains_key(*k))
        .collect();
    keys.extend(
        map.keys()
            .map(String::as_str)
            .filter(|k| !FIRST.contains(k)),
    );
    html! {
        dl class="figures" {
            @for k in keys {
                @let v = &map[k];
                div class=(if k == "total" { "figure total" } else { "figure" }) {
                    dt { (if k == "total" { "Order value (invoices add up to it)".to_string() } else { label(k) }) }
                    dd {
                        @match v {
                            serde_json::Value::Number(n) if n.is_i64() => (money(Cents(n.as_i64().unwrap_or(0)))),
                            serde_json::Value::String(s) => (s),
                            serde_json::Value::Bool(b) => (if *b { "yes" } else { "no" }),
                            other => (other.to_string()),
                        }
                    }
                }
            }
        }
    }
}

fn milestone(done: bool, title: &str, detail: Markup) -> Markup {
    html! {
        li class=(if done { "done" } else { "todo" }) {
            span class="dot" aria-hidden="true" {}
            div {
                strong { (title) }
                @if !done { span class="sr-only" { " (not yet)" } }
                div class="detail" { (detail) }
            }
        }
    }
}

pub fn order(base: &str, p: &OrderPage<'_>) -> Markup {
    let o = p.order;
    let v = p.view;
    let masked = mask::mask(o.customer.as_ref(), o.address.as_ref());
    let outputs: Vec<&InvoiceRecord> = p
        .invoices
        .iter()
        .filter(|r| r.invoice.kind.as_str() == "Output")
        .collect();
    let shipped = matches!(
        o.status,
        OrderStatus::Shipped | OrderStatus::Delivered | OrderStatus::Returned
    ) || p.invoices.iter().any(|r| r.tracking.is_some());
    let delivered = p.invoices.iter().find_map(|r| r.delivered_date.clone());
    layout(
        base,
        &format!("Order {}", o.order_id),
        Page::Orders,
        html! {
            p class="crumbs" { a href=(format!("{base}/orders")) { "← Orders" } }
            h1 { "Order " (o.order_id) " " (status_badge(o.status)) }
            @if !p.attention.is_empty() {
                div class="callout" role="status" {
                    strong { "Needs attention: " } (attention_list(p.attention))
                }
            }
            dl class="ids" {
                div { dt { "Marketplace order" } dd { (o.marketplace_order_id) } }
                div { dt { "Account" } dd { @if o.an.is_empty() { em { "none" } } @else { (o.an) } } }
                @if let Some(sc) = &o.sc { div { dt { "Sales channel" } dd { (sc) } } }
                @if let Some(g) = &o.marketplace_order_group { div { dt { "Order group" } dd { (g) } } }
                div { dt { "Created" } dd { (when(o.created_at)) } }
                @if o.status == OrderStatus::Reserved { div { dt { "Reservation lapses" } dd { (when(o.expires_at)) } } }
                div { dt { "Version" } dd { (v.version) } }
            }

            section aria-labelledby="journey" {
                h2 id="journey" { "Journey" }
                ol class="journey" {
                    (milestone(true, "Placed", html! { (when(o.created_at)) " · stock reserved" }))
                    (milestone(o.authorized.is_some(), "Fulfilled", html! {
                        @if let Some(r) = &o.authorized { (when(r.date)) " · receipt " code { (r.receipt) } }
                        @else { "waiting for the marketplace's /fulfill" }
                    }))
                    (milestone(!outputs.is_empty(), "Invoiced", html! {
                        @if p.invoices.is_empty() { "no invoice yet" }
                        @for r in p.invoices {
                            @let (class, text) = state_text(r.state);
                            span class="inline" {
                                (r.invoice.kind.as_str()) " " code { (r.invoice.invoice_number) } " "
                                (money(r.invoice.invoice_value)) " " span class=(class) { (text) }
                            }
                        }
                    }))
                    (milestone(shipped, "Tracking", html! {
                        @let tracked: Vec<_> = p.invoices.iter().filter_map(|r| r.tracking.as_ref().map(|t| (r, t))).collect();
                        @if tracked.is_empty() { "no tracking yet" }
                        @for (r, t) in tracked {
                            @let (class, text) = state_text(t.state);
                            span class="inline" {
                                code { (t.info.tracking_number) } " on " (r.invoice.invoice_number)
                                @if let Some(c) = &t.info.courier { " · " (c) }
                                " " span class=(class) { (text) }
                            }
                        }
                    }))
                    (milestone(p.invoices.iter().any(|r| !r.events_sent.is_empty()), "Carrier events", html! {
                        @let events: Vec<_> = p.invoices.iter().flat_map(|r| &r.events_sent).collect();
                        @if events.is_empty() { "none sent" }
                        @for e in events {
                            span class="inline" { (e.date) " · " (e.description) " (" (e.city) ", " (e.state) ")" }
                        }
                    }))
                    // Recorded before the call to VTEX; until the order is saved CANCELED the call
                    // may or may not have landed, so the operator should not cancel again.
                    @if let Some(s) = &v.seller_cancel {
                        (milestone(false, "Seller cancel pending", html! {
                            "requested " (readable(&s.requested_at)) " · request " code { (s.request_id) }
                            " · not confirmed by the marketplace yet"
                        }))
                    }
                    @if let Some(c) = &v.canceled {
                        (milestone(true, "Canceled", html! { (readable(&c.date)) " · by " (format!("{:?}", c.by).to_lowercase()) " · receipt " code { (c.receipt) } }))
                    } @else if o.status == OrderStatus::Expired {
                        (milestone(true, "Expired", html! { "the reservation lapsed at " (when(o.expires_at)) }))
                    } @else {
                        (milestone(delivered.is_some(), "Delivered", html! {
                            @if let Some(d) = &delivered { (d) } @else { "not yet" }
                        }))
                    }
                }
            }

            @if !p.parked.is_empty() {
                section aria-labelledby="parked" {
                    h2 id="parked" { "Parked messages naming this order" }
                    ul {
                        @for (q, m) in p.parked {
                            li {
                                (q) ": " code { (m.reason_code.as_deref().unwrap_or("parked")) } " "
                                (m.reason.as_deref().unwrap_or("")) " · "
                                a href=(format!("{base}/parked#m-{}", m.id)) { "re-drive it" }
                            }
                        }
                    }
                }
            }

            section aria-labelledby="value" {
                h2 id="value" { "Value" }
                (totals(v))
            }

            section aria-labelledby="stock" {
                h2 id="stock" { "Lines and the stock they hold" }
                table class="list" {
                    thead { tr {
                        th scope="col" { "#" } th scope="col" { "SKU" } th scope="col" class="num" { "Qty" }
                        th scope="col" class="num" { "Unit price" } th scope="col" class="num" { "Freight" }
                        th scope="col" { "SLA" } th scope="col" { "Stock" }
                    } }
                    tbody {
                        @for l in &v.lines {
                            tr {
                                td data-label="#" { (l.index) }
                                td data-label="SKU" { (l.sku_id) }
                                td data-label="Qty" class="num" { (l.quantity) }
                                td data-label="Unit price" class="num" { (money(l.unit_price)) }
                                td data-label="Freight" class="num" { (money(l.freight)) }
                                td data-label="SLA" { (l.selected_sla.as_deref().unwrap_or("—")) }
                                td data-label="Stock" {
                                    @if o.status.holds_stock() { (l.quantity) " held at " code { (l.location_id) } }
                                    @else if o.canceled.is_some() || o.status == OrderStatus::Expired { "released (" (l.location_id) ")" }
                                    @else { "shipped from " code { (l.location_id) } }
                                }
                            }
                        }
                    }
                }
            }

            section aria-labelledby="customer" {
                h2 id="customer" { "Customer (masked)" }
                dl class="ids" {
                    div { dt { "Name" } dd { (masked.name.as_deref().unwrap_or("—")) } }
                    div { dt { "E-mail" } dd { (masked.email.as_deref().unwrap_or("—")) } }
                    div { dt { "Document" } dd { (masked.document.as_deref().unwrap_or("—")) } }
                    div { dt { "Phone" } dd { (masked.phone.as_deref().unwrap_or("—")) } }
                    div { dt { "Ships to" } dd { (masked.place.as_deref().unwrap_or("—")) } }
                    div { dt { "Postal code" } dd { (masked.postal_code.as_deref().unwrap_or("—")) } }
                }
            }

            section aria-labelledby="log" {
                h2 id="log" { "Every call and refusal" }
                p class="summary" {
                    (v.log.len()) " of " (v.log_total) " log entries, oldest first"
                }
                table class="list log" {
                    thead { tr { th scope="col" { "When" } th scope="col" { "Step" } th scope="col" { "Outcome" } th scope="col" { "Detail" } } }
                    tbody {
                        @for e in &v.log {
                            tr class=(format!("{:?}", e.outcome).to_lowercase()) {
                                td data-label="When" class="id" { (readable(&e.at)) }
                                td data-label="Step" { code { (e.step) } }
                                td data-label="Outcome" { (outcome_badge(e.outcome)) }
                                td data-label="Detail" class="detail" { (e.detail) }
                            }
                        }
                    }
                }
                @if let Some(before) = v.log_next_before {
                    nav class="pager" aria-label="Log pages" {
                        a href=(format!("{base}/orders/{}?logBefore={before}#log", urlencode(&o.order_id))) { "← Older entries" }
                    }
                }
            }
        },
    )
}

fn sync_row(id: &str, kind: &str, k: &KindState) -> Markup {
    let pending = k.changes.saturating_sub(k.notified);
    html! {
        tr {
            td data-label="SKU" { (id) }
            td data-label="Kind" { (kind) }
            td data-label="Pending" class="num" {
                @if pending > 0 { span class="badge warn" { (pending) } } @else { "0" }
            }
            td data-label="Last sent" { (k.last_sent_at.map(when).unwrap_or_else(|| "never".into())) }
            td data-label="Follow-up due" { (k.followup_due.map(when).unwrap_or_else(|| "—".into())) }
        }
    }
}

/// The order a parked message names: a link by our id, else the marketplace id it gives.
fn order_link(base: &str, m: &ParkedMessage) -> Markup {
    match m.order_ref() {
        Some(r) => match (&r.order_id, &r.marketplace_order_id) {
            (Some(id), _) => {
                html! { a class="id" href=(format!("{base}/orders/{}", urlencode(id))) { (id) } }
            }
            (None, Some(mkp)) => html! { "marketplace order " (mkp) },
            (None, None) => html! { span class="muted" { "—" } },
        },
        None => html! { span class="muted" { "names no order" } },
    }
}

fn pretty(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| body.to_string())
}

pub fn parked(
    base: &str,
    queues: &[(String, Vec<ParkedMessage>)],
    moved: Option<(usize, String)>,
) -> Markup {
    layout(
        base,
        "Parked messages",
        Page::Parked,
        html! {
            h1 { "Parked messages" }
            @if let Some((n, q)) = moved {
                p class="callout ok" role="status" { (n) " message(s) moved back to " (q) "; its worker takes them in the next seconds." }
            }
            p { "Messages a worker gave up on wait in their queue's dead-letter queue. Fix the cause (the order, the catalog, the data), then re-drive them." }
            @for (q, list) in queues {
                section aria-labelledby=(format!("q-{q}")) {
                    h2 id=(format!("q-{q}")) { (q) " " span class="count" { "(" (list.len()) ")" } }
                    @if list.is_empty() {
                        p class="empty" { "Nothing parked." }
                    } @else {
                        form method="post" action=(format!("{base}/parked/{q}/redrive")) {
                            table class="list parked" {
                                thead { tr {
                                    th scope="col" { span class="sr-only" { "Choose" } }
                                    th scope="col" { "Reason" } th scope="col" { "Order" } th scope="col" { "Parked" } th scope="col" { "Message" }
                                } }
                                tbody {
                                    @for m in list {
                                        tr id=(format!("m-{}", m.id)) {
                                            td data-label="Choose" {
                                                input type="checkbox" name="id" value=(m.id) id=(format!("c-{}", m.id));
                                                label for=(format!("c-{}", m.id)) class="sr-only" { "Choose message " (m.id) }
                                            }
                                            td data-label="Reason" {
                                                code class="reason" { (m.reason_code.as_deref().unwrap_or("MAX_RECEIVES")) }
                                                div { (m.reason.as_deref().unwrap_or("delivered the maximum number of times without success")) }
                                            }
                                            td data-label="Order" { (order_link(base, m)) }
                                            td data-label="Parked" { (m.parked_at.map(when).unwrap_or_default()) }
                                            td data-label="Message" {
                                                details {
                                                    summary { "Body of " code { (m.id) } }
                                                    pre { (pretty(&m.body)) }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                            div class="actions" {
                                button type="submit" { "Re-drive the chosen messages…" }
                                button type="submit" name="all" value="yes" class="secondary" { "Re-drive all " (list.len()) " of " (q) "…" }
                            }
                        }
                    }
                }
            }
        },
    )
}

pub fn confirm_redrive(
    base: &str,
    queue: &str,
    which: &Redrive,
    chosen: &[ParkedMessage],
) -> Markup {
    layout(
        base,
        "Confirm re-drive",
        Page::Parked,
        html! {
            h1 { "Re-drive " (chosen.len()) " message(s) to " (queue) "?" }
            p { "Each message goes back to the " (queue) " queue as it is, and its worker processes it again. Do this once the cause is fixed, or it is parked again." }
            ul class="chosen" {
                @for m in chosen {
                    li { code { (m.id) } " · " (m.reason_code.as_deref().unwrap_or("MAX_RECEIVES")) " · " (order_link(base, m)) }
                }
            }
            form method="post" action=(format!("{base}/parked/{queue}/redrive")) {
                input type="hidden" name="confirm" value="yes";
                @match which {
                    Redrive::All => { input type="hidden" name="all" value="yes"; }
                    Redrive::Some(ids) => { @for id in ids { input type="hidden" name="id" value=(id); } }
                }
                div class="actions" {
                    button type="submit" autofocus { "Yes, re-drive" }
                    a href=(format!("{base}/parked")) { "Cancel" }
                }
            }
        },
    )
}

pub fn catalog(
    base: &str,
    q: &HashMap<String, String>,
    result: Option<(&SimulationResult, &[(String, SyncState)])>,
    notes: &crate::Notifications,
) -> Markup {
    let v = |k: &str| q.get(k).cloned().unwrap_or_default();
    layout(
        base,
        "Simulation",
        Page::Catalog,
        html! {
            h1 { "Simulation playground" }
            p { "A cart and a destination in, the items and SLAs out: the same engine and catalog that answer VTEX's fulfillment simulation. Nothing is reserved." }
            form class="filters" method="get" action=(format!("{base}/catalog")) aria-label="Simulate a cart" {
                div class="field wide" {
                    label for="s-cart" { "Cart" }
                    textarea id="s-cart" name="cart" rows="3" aria-describedby="s-cart-help" required { (v("cart")) }
                    span id="s-cart-help" class="help" { "One SKU id and quantity per line, e.g. " code { "2002495 2" } }
                }
                div class="field" {
                    label for="s-postal" { "Postal code" }
                    input id="s-postal" name="postalCode" type="text" value=(v("postalCode")) placeholder="empty: indexation" autocomplete="off";
                }
                div class="field" {
                    label for="s-country" { "Country" }
                    input id="s-country" name="country" type="text" value=(v("country")) placeholder="BRA" maxlength="3" autocomplete="off";
                }
                div class="field" {
                    label for="s-an" { "Account (an)" }
                    input id="s-an" name="an" type="text" value=(v("an")) autocomplete="off";
                }
                div class="field" {
                    label for="s-sc" { "Sales channel (sc)" }
                    input id="s-sc" name="sc" type="text" value=(v("sc")) placeholder="1" autocomplete="off";
                }
                div class="field actions" { button type="submit" { "Simulate" } }
            }
            @if let Some((r, sync)) = result {
                h2 { "Answer (" (r.mode.as_str()) ")" }
                p class="summary" aria-live="polite" {
                    (r.items.len()) " item(s), " (r.unavailable_count()) " unavailable"
                    @if let Some(p) = &r.postal_code { " · to " (p) }
                    @if let Some(c) = &r.country { " " (c) }
                }
                table class="list" {
                    thead { tr {
                        th scope="col" { "SKU" } th scope="col" { "Availability" } th scope="col" class="num" { "Qty" }
                        th scope="col" class="num" { "Price" } th scope="col" class="num" { "Stock" } th scope="col" { "SLAs" }
                    } }
                    tbody {
                        @for i in &r.items {
                            tr {
                                td data-label="SKU" { (i.id) }
                                td data-label="Availability" {
                                    span class=(if i.availability == Availability::Available { "badge ok" } else { "badge bad" }) { (i.availability.as_str()) }
                                }
                                td data-label="Qty" class="num" { (i.quantity) " of " (i.requested) }
                                td data-label="Price" class="num" { (money(i.price)) }
                                td data-label="Stock" class="num" { (i.stock_balance) }
                                td data-label="SLAs" {
                                    @if i.slas.is_empty() { span class="muted" { "none" } }
                                    ul class="slas" {
                                        @for sla in &i.slas {
                                            li {
                                                strong { (sla.name) } " (" code { (sla.id) } ", " (sla.channel.as_str()) ") · "
                                                (money(sla.price)) " · " (sla.shipping_estimate.to_string()) " · from " code { (sla.location_id) }
                                                @if !sla.delivery_windows().is_empty() { " · " (sla.delivery_windows().len()) " delivery window(s)" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                h2 { "Notifications to VTEX, per SKU" }
                p class="summary" { "What the catalog sync told VTEX about each SKU of the cart (changes counted, changes covered by an accepted notification) and what waits for a follow-up." }
                table class="list" {
                    thead { tr {
                        th scope="col" { "SKU" } th scope="col" { "Kind" } th scope="col" class="num" { "Pending" }
                        th scope="col" { "Last sent" } th scope="col" { "Follow-up due" }
                    } }
                    tbody {
                        @for (id, state) in sync {
                            @for (kind, k) in [("price", &state.price), ("inventory", &state.inventory), ("catalog", &state.catalog)] {
                                (sync_row(id, kind, k))
                            }
                        }
                    }
                }
            }
            (notifications(base, q, notes))
        },
    )
}

/// The catalog page's query with `key` set: the playground's fields and the list's filter kept.
fn catalog_query(q: &HashMap<String, String>, key: &str, value: &str) -> String {
    let mut pairs: Vec<(&str, &str)> = ["cart", "postalCode", "country", "an", "sc", "sync"]
        .iter()
        .filter(|k| **k != key)
        .filter_map(|k| q.get(*k).map(|v| (*k, v.as_str())))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    pairs.push((key, value));
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

const SYNC_FILTERS: [(SyncFilter, &str); 3] = [
    (SyncFilter::Pending, "Notification pending"),
    (SyncFilter::Overdue, "Follow-up overdue"),
    (SyncFilter::All, "Every SKU"),
];

/// Every SKU's notification state (paged, filtered) and the notifications VTEX refused.
fn notifications(base: &str, q: &HashMap<String, String>, n: &crate::Notifications) -> Markup {
    html! {
        h2 id="notifications" { "Catalog notifications to VTEX" }
        p { "Per SKU and kind: changes counted against changes covered by a notification VTEX accepted, the follow-up scheduled for the end of the coalescing window, and the last sync (the newest accepted notification of any kind)." }
        form class="filters" method="get" action=(format!("{base}/catalog")) aria-label="Filter the notification list" {
            div class="field" {
                label for="n-sync" { "Show" }
                select id="n-sync" name="sync" {
                    @for (f, text) in SYNC_FILTERS {
                        option value=(f.as_str()) selected[n.filter == f] { (text) }
                    }
                }
            }
            div class="field actions" { button type="submit" { "Show SKUs" } }
        }
        p class="summary" aria-live="polite" {
            (n.page.rows.len()) " SKU(s) shown · as of " (when(n.now))
        }
        @if n.page.rows.is_empty() {
            p class="empty" { "No SKU matches." }
        } @else {
            table class="list" id="sync-list" {
                caption class="sr-only" { "SKUs and their notification state, per kind" }
                thead { tr {
                    th scope="col" { "SKU" } th scope="col" { "Kind" } th scope="col" class="num" { "Changes" }
                    th scope="col" class="num" { "Notified" } th scope="col" { "Last sent" } th scope="col" { "Follow-up due" }
                    th scope="col" { "Last sync" }
                } }
                tbody {
                    @for row in &n.page.rows {
                        @let last = row.last_sync().map(when).unwrap_or_else(|| "never".into());
                        @for kind in NotifyKind::ALL {
                            @let k = row.state.kind(kind);
                            tr {
                                td data-label="SKU" { (row.sku_id) }
                                td data-label="Kind" { (kind.as_str()) }
                                td data-label="Changes" class="num" {
                                    @if k.pending() { span class="badge warn" { (k.changes) " (" (k.changes - k.notified) " pending)" } }
                                    @else { (k.changes) }
                                }
                                td data-label="Notified" class="num" { (k.notified) }
                                td data-label="Last sent" { (k.last_sent_at.map(when).unwrap_or_else(|| "never".into())) }
                                td data-label="Follow-up due" {
                                    @match k.followup_due {
                                        Some(due) if k.pending() && due < n.now => { span class="badge bad" { (when(due)) " (overdue)" } }
                                        Some(due) => { (when(due)) }
                                        None => { "—" }
                                    }
                                }
                                td data-label="Last sync" { (last) }
                            }
                        }
                    }
                }
            }
        }
        nav class="pager" aria-label="Pages of SKUs" {
            @if q.get("after").is_some_and(|a| !a.is_empty()) {
                a href=(format!("{base}/catalog?{}#notifications", catalog_query(q, "after", ""))) { "← First SKUs" }
                " "
            }
            @if let Some(next) = &n.page.next {
                a href=(format!("{base}/catalog?{}#notifications", catalog_query(q, "after", next))) rel="next" { "More SKUs →" }
            }
        }
        h2 id="refused" { "Refused notifications (parked)" }
        p { "Notifications VTEX refused for good wait in the catalog queue's dead-letter queue; re-drive them from " a href=(format!("{base}/parked")) { "Parked messages" } " once the cause is fixed, and they are sent again." }
        @if n.parked.is_empty() {
            p class="empty" { "No refused notification is parked." }
        } @else {
            table class="list" id="refused-list" {
                thead { tr {
                    th scope="col" { "SKU" } th scope="col" { "Kind" } th scope="col" { "Queue" }
                    th scope="col" { "Reason" } th scope="col" { "Parked" }
                } }
                tbody {
                    @for p in &n.parked {
                        tr {
                            td data-label="SKU" { (p.sku_id) }
                            td data-label="Kind" { (p.kind) }
                            td data-label="Queue" { (p.queue) }
                            td data-label="Reason" {
                                @if let Some(code) = &p.reason_code { code { (code) } " " }
                                (p.reason.as_deref().unwrap_or(""))
                            }
                            td data-label="Parked" { (p.parked_at.map(when).unwrap_or_else(|| "—".into())) }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_read_as_units_with_two_decimals() {
        assert_eq!(money(Cents(11080)), "110.80");
        assert_eq!(money(Cents(5)), "0.05");
        assert_eq!(money(Cents(-1999)), "-19.99");
        assert_eq!(money(Cents(0)), "0.00");
    }

    #[test]
    fn camel_case_keys_read_as_words() {
        assert_eq!(label("priceTags"), "Price tags");
        assert_eq!(
            label("marketplacePaymentValue"),
            "Marketplace payment value"
        );
        assert_eq!(label("items"), "Items");
    }

    #[test]
    fn an_order_page_shows_a_pending_seller_cancel_without_its_reason() {
        use chrono::{TimeZone, Utc};
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let mut o: Order = serde_json::from_value(serde_json::json!({
            "orderId": "SLR-1", "an": "luxstore", "marketplaceOrderId": "959311095",
            "marketplacePaymentValue": 0, "status": "AUTHORIZED", "lines": [],
            "createdAt": "2026-01-02T03:04:05Z", "expiresAt": "2026-01-09T03:04:05Z",
        }))
        .unwrap();
        let render = |o: &Order| {
            let view = AdminOrderView::new(o, &[]);
            order(
                "/console",
                &OrderPage {
                    order: o,
                    view: &view,
                    invoices: &[],
                    attention: &[],
                    parked: &[],
                },
            )
            .into_string()
        };
        assert!(!render(&o).contains("Seller cancel pending"));
        o.seller_cancel = Some(domain::order::PendingSellerCancel {
            request_id: "erp-msg-7".into(),
            reason: "sem estoque no CD".into(),
            requested_at: at,
        });
        let page = render(&o);
        assert!(page.contains("Seller cancel pending"), "{page}");
        assert!(page.contains("erp-msg-7"), "{page}");
        assert!(!page.contains("sem estoque"), "{page}");
    }
}
