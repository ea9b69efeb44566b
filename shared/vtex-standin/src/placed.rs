//! Orders as VTEX placed them with the seller: OMS knows an order because VTEX created it, and its
//! value is what VTEX computed, not anything the connector says. Tests and the local runner hand
//! the stand-in the placement body VTEX sent (`POST /_standin/orders`, [`crate::StandIn::place`]);
//! the value is computed here from that body alone, by this module's own reading of VTEX's fields
//! (never the connector's code), so a connector that misreads them is caught at invoicing.
//!
//! Per item: `price × quantity`; each `priceTags[]` entry (`value` in cents for the whole item; else
//! `rawValue`, in currency units, or a percentage of `price × quantity` when `isPercentual`); each
//! `bundleItems[]` entry (`price` × its `quantity`, else × the item's); per `logisticsInfo[]`: its
//! `price` and its `deliveryWindow`'s price (`listPrice`, `price`, `lisPrice` or `tax`).

use serde_json::{Map, Value};

/// One order VTEX placed: its marketplace order id, the value VTEX holds, and the
/// `marketplacePaymentValue` it stated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedOrder {
    pub marketplace_order_id: String,
    pub value: i64,
    pub marketplace_payment_value: Option<i64>,
}

fn int(v: Option<&Value>) -> Option<i64> {
    v.and_then(Value::as_i64)
}

/// Half away from zero, to the cent.
fn cents_of(units: f64) -> i64 {
    (units * 100.0).round() as i64
}

fn tag_amount(tag: &Map<String, Value>, line: i64) -> i64 {
    if let Some(v) = int(tag.get("value")) {
        return v;
    }
    let Some(raw) = tag.get("rawValue").and_then(Value::as_f64) else {
        return 0;
    };
    if tag.get("isPercentual").and_then(Value::as_bool) == Some(true) {
        // line × raw / 100 cents, rounded half away from zero.
        ((line as f64) * raw / 100.0).round() as i64
    } else {
        cents_of(raw)
    }
}

fn objects<'a>(
    o: &'a Map<String, Value>,
    key: &str,
) -> impl Iterator<Item = &'a Map<String, Value>> {
    o.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

/// VTEX's value of one placed order, or why the body is not an order.
pub fn placed_order(order: &Value) -> Result<PlacedOrder, String> {
    let o = order
        .as_object()
        .ok_or_else(|| String::from("an order must be a JSON object"))?;
    let id = match o.get("marketplaceOrderId") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(String::from("marketplaceOrderId is required")),
    };
    let mut value = 0i64;
    for item in objects(o, "items") {
        let price = int(item.get("price")).ok_or("items[].price must be integer cents")?;
        let quantity = int(item.get("quantity")).ok_or("items[].quantity is required")?;
        let line = price * quantity;
        value += line;
        value += objects(item, "priceTags")
            .map(|t| tag_amount(t, line))
            .sum::<i64>();
        value += objects(item, "bundleItems")
            .map(|b| int(b.get("price")).unwrap_or(0) * int(b.get("quantity")).unwrap_or(quantity))
            .sum::<i64>();
    }
    if let Some(shipping) = o.get("shippingData").and_then(Value::as_object) {
        for li in objects(shipping, "logisticsInfo") {
            value += int(li.get("price")).unwrap_or(0);
            if let Some(w) = li.get("deliveryWindow").and_then(Value::as_object) {
                value += ["listPrice", "price", "lisPrice", "tax"]
                    .iter()
                    .find_map(|k| int(w.get(*k)))
                    .unwrap_or(0);
            }
        }
    }
    Ok(PlacedOrder {
        marketplace_order_id: id,
        value,
        marketplace_payment_value: int(o.get("marketplacePaymentValue")),
    })
}

/// Every order of a placement body (an array of orders, or one order object).
pub fn placed_orders(body: &Value) -> Result<Vec<PlacedOrder>, String> {
    match body {
        Value::Array(orders) if !orders.is_empty() => orders.iter().map(placed_order).collect(),
        Value::Object(_) => Ok(vec![placed_order(body)?]),
        _ => Err(String::from(
            "the body must be the placement VTEX sent: an array of orders or one order",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_value_adds_items_tags_bundles_freight_and_windows() {
        let body = json!([{
            "marketplaceOrderId": "m-1", "marketplacePaymentValue": 21035,
            "items": [
                {"id": "A", "quantity": 2, "price": 5000,
                 "priceTags": [{"value": -1000, "isPercentual": false, "rawValue": -10.0},
                               {"isPercentual": true, "rawValue": -5}],
                 "bundleItems": [{"price": 700}]},
                {"id": "B", "quantity": 1, "price": 3000, "priceTags": [{"rawValue": -2.5}],
                 "bundleItems": [{"price": 900, "quantity": 1}]}
            ],
            "shippingData": {"logisticsInfo": [
                {"itemIndex": 0, "price": 1090, "deliveryWindow": {"listPrice": 500}},
                {"itemIndex": 1, "price": 0, "deliveryWindow": null}
            ]}
        }]);
        let placed = placed_orders(&body).unwrap();
        // 10000 - 1000 - 500 + 1400 + 3000 - 250 + 900 + 1090 + 500
        assert_eq!(placed[0].value, 15_140);
        assert_eq!(placed[0].marketplace_payment_value, Some(21_035));
    }

    #[test]
    fn a_body_that_is_no_placement_is_refused() {
        assert!(placed_orders(&json!([])).is_err());
        assert!(placed_orders(&json!({"items": []})).is_err());
        assert!(
            placed_orders(
                &json!([{"marketplaceOrderId": "m", "items": [{"quantity": 1, "price": 9.9}]}])
            )
            .is_err()
        );
    }
}
