//! The rules seller-check judges, each with the section of the project's protocol notes it comes
//! from (`shared/docs/protocol.md`, "PN", or `shared/protocol/CONTRACT.md`, "CONTRACT", beside the
//! repository). The ids are stable: CI jobs and the tests select rules by them.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    Simulation,
    Auth,
    Orders,
    Oms,
}

impl Group {
    pub fn label(self) -> &'static str {
        match self {
            Group::Simulation => "Simulation",
            Group::Auth => "Authentication",
            Group::Orders => "Orders",
            Group::Oms => "OMS (what the seller sends)",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub id: &'static str,
    pub group: Group,
    pub title: &'static str,
    pub source: &'static str,
}

macro_rules! rule {
    ($id:literal, $group:ident, $title:literal, $source:literal) => {
        Rule {
            id: $id,
            group: Group::$group,
            title: $title,
            source: $source,
        }
    };
}

/// Every rule, in the order they are run and reported.
pub const RULES: &[Rule] = &[
    rule!(
        "sim.indexation",
        Simulation,
        "Indexation (no postal code): real price and stock, slas [], postalCode and country null",
        "PN §Simulation › Indexation vs checkout; CONTRACT §5.1.1"
    ),
    rule!(
        "sim.checkout",
        Simulation,
        "Checkout (postal code + country): address echoed, SLAs quoted, allowMultipleDeliveries",
        "PN §Simulation › Indexation vs checkout; CONTRACT §5.1.2"
    ),
    rule!(
        "sim.one-logistics-per-item",
        Simulation,
        "One item and one logisticsInfo per requested item, in order, requestIndex = itemIndex = position",
        "PN §The rules most often got wrong 3, §Simulation › Response; CONTRACT §1 rule 3"
    ),
    rule!(
        "sim.quantity-clamp",
        Simulation,
        "quantity = min(requested, sellable); stockBalance is the real stock, not clamped",
        "PN §Simulation › Quantity and unavailable items; CONTRACT §5.1.3"
    ),
    rule!(
        "sim.unavailable-zeroed",
        Simulation,
        "Unknown and unavailable items stay in place, zeroed (quantity 0, stockBalance 0, slas [])",
        "PN §Simulation › Quantity and unavailable items; CONTRACT §5.1.4, §10 C9"
    ),
    rule!(
        "sim.integer-cents",
        Simulation,
        "Money is integer cents (price, listPrice ≥ price, offerings, SLA and window prices)",
        "PN §Conventions › Money, §The rules most often got wrong 5; CONTRACT §1 rule 5"
    ),
    rule!(
        "sim.sla-shape",
        Simulation,
        "SLAs: id, name, deliveryChannel, shippingEstimate like \"5bd\", pickupStoreInfo null for delivery; deliveryChannels and shipsTo",
        "PN §Simulation › SLAs, §Conventions › Durations; CONTRACT §5.1 slas[], §3 Durations"
    ),
    rule!(
        "sim.pickup-points",
        Simulation,
        "Pickup SLAs carry a full pickupStoreInfo (isPickupStore, friendlyName, pickup address)",
        "PN §Simulation › SLAs; CONTRACT §5.1 pickupStoreInfo"
    ),
    rule!(
        "sim.delivery-windows",
        Simulation,
        "Delivery windows carry startDateUtc, endDateUtc (ISO 8601) and an integer price",
        "PN §Simulation › SLAs; CONTRACT §5.1 slas[]"
    ),
    rule!(
        "sim.get-purchase-context",
        Simulation,
        "GET with purchaseContext answers exactly what the POST answers",
        "PN §Simulation › GET purchaseContext and caching; CONTRACT §5.1, §10 C5"
    ),
    rule!(
        "sim.cache-headers",
        Simulation,
        "The GET answer is cacheable (Cache-Control with a max-age, not no-store/private)",
        "PN §Simulation › GET purchaseContext and caching"
    ),
    rule!(
        "sim.error-envelope",
        Simulation,
        "Bad input answers a 4xx with VTEX's error envelope {error: {code, message}}",
        "PN §Conventions › Error envelope; CONTRACT §3 Error envelope"
    ),
    rule!(
        "sim.latency",
        Simulation,
        "Checkout simulations answer within VTEX's 2.5 s budget (p99 over N requests)",
        "PN §The rules most often got wrong 1, §Simulation › Latency; CONTRACT §5.1.5"
    ),
    rule!(
        "auth.required",
        Auth,
        "Every route refuses a call without its credential, or with a wrong one (401/403, envelope)",
        "PN §Authentication › Inbound; CONTRACT §4 Inbound"
    ),
    rule!(
        "ord.placement",
        Orders,
        "Placement answers the array with our orderId on each order and reserves the stock",
        "PN §Placement; CONTRACT §5.2"
    ),
    rule!(
        "ord.placement-idempotent",
        Orders,
        "Concurrent retries of a placement return the same orderId and reserve nothing more",
        "PN §Placement › Idempotency; CONTRACT §5.2 Rules"
    ),
    rule!(
        "ord.fulfill",
        Orders,
        "Fulfill answers {date, marketplaceOrderId, orderId, receipt}",
        "PN §Fulfill; CONTRACT §5.3"
    ),
    rule!(
        "ord.fulfill-idempotent",
        Orders,
        "A repeated fulfill answers the same receipt",
        "PN §Fulfill; CONTRACT §5.3 Rules"
    ),
    rule!(
        "ord.unknown-order-404",
        Orders,
        "Fulfill of an unknown order answers 404 with the envelope",
        "PN §Fulfill; CONTRACT §5.3 Rules"
    ),
    rule!(
        "ord.mismatched-marketplace-id-409",
        Orders,
        "Fulfill with another order's marketplaceOrderId answers 409 with the envelope",
        "PN §Fulfill; CONTRACT §5.3 Rules"
    ),
    rule!(
        "ord.cancel-releases-stock",
        Orders,
        "A confirmed cancel answers {date, marketplaceOrderId, orderId, receipt} and releases the stock",
        "PN §Cancel; CONTRACT §5.4"
    ),
    rule!(
        "ord.no-oversell",
        Orders,
        "Concurrent placements on a small stock never reserve more than there is",
        "PN §Placement › Reservation and lockTTL; CONTRACT §5.2 Rules"
    ),
    rule!(
        "oms.invoice-fields",
        Oms,
        "Invoices only after fulfill, with type, invoiceNumber, issuanceDate (date and time), invoiceValue > 0 and unit item prices in integer cents",
        "PN §Invoices and tracking › Invoices; CONTRACT §6.4"
    ),
    rule!(
        "oms.marketplace-order-id-in-path",
        Oms,
        "Every OMS path carries the marketplaceOrderId, never the seller's orderId",
        "PN §The rules most often got wrong 9; CONTRACT §1 rule 10"
    ),
    rule!(
        "oms.tracking-after-invoice",
        Oms,
        "Tracking (PATCH …/invoice/{n}) only on an invoice OMS accepted before",
        "PN §Invoices and tracking › Tracking; CONTRACT §6.5"
    ),
    rule!(
        "oms.events-after-tracking",
        Oms,
        "Carrier events (PUT …/invoice/{n}/tracking) only after a tracking number, with isDelivered, deliveredDate and events",
        "PN §Invoices and tracking › Carrier events; CONTRACT §6.6"
    ),
    rule!(
        "oms.invoices-add-up",
        Oms,
        "Output invoices add up to the order value, freight included, and never exceed it",
        "PN §Invoices and tracking › Invoices (partial invoices); CONTRACT §6.4, §10 C23"
    ),
    rule!(
        "oms.retry-after-429",
        Oms,
        "After a 429 with Retry-After, the seller sends the invoice again, and not before Retry-After",
        "PN §Invoices and tracking; CONTRACT §6 Retry policy"
    ),
];

pub fn rule(id: &str) -> &'static Rule {
    RULES
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no rule {id} in RULES"))
}
