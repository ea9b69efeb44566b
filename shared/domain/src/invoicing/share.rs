//! How an order's value is shared out over its packages and units: the one rounding rule.
//!
//! A line is worth `V = goods + shipping` (goods: `price × quantity` plus its price tags and bundle
//! items; shipping: its freight and delivery window), over `q` units. **The first `n` units of a
//! line are worth `⌊n × V / q⌋` cents.** So a package that bills `k` more units of the line, after
//! `n` were billed, carries `⌊(n + k) × V / q⌋ − ⌊n × V / q⌋`: its share of the discounts and of the
//! freight, never more than the line has left, and the last unit brings the line to exactly `V`.
//! The invoice that bills the order's last unit also carries whatever no line accounts for
//! ([`OrderValue::unattributed`](crate::order::OrderValue::unattributed), non-zero only when
//! `marketplacePaymentValue` disagreed with the placement body). Units of one SKU spread over
//! several lines are billed line by line, in line order.
//!
//! The **discounted unit price** an invoice item may carry is `⌊goods / q⌋` (or `⌈goods / q⌉` for
//! the units that take the leftover cents); the invoice's `invoiceValue`, not its item prices,
//! carries the cents the rounding leaves over.

use crate::money::Cents;
use crate::order::Order;
use std::collections::HashMap;

/// `⌊a / b⌋` for `b > 0` (money may be negative only in intermediate sums).
fn floor_div(a: i128, b: i128) -> i128 {
    a.div_euclid(b)
}

/// What the first `n` of a line's `q` units are worth, when all `q` are worth `v`.
pub fn units_worth(v: Cents, n: i64, q: i64) -> Cents {
    if q <= 0 {
        return Cents::ZERO;
    }
    let n = n.clamp(0, q);
    Cents(floor_div(i128::from(v.value()) * i128::from(n), i128::from(q)) as i64)
}

/// The discounted unit prices of a line: `(⌊goods / q⌋, ⌈goods / q⌉)`.
pub fn discounted_unit_prices(goods: Cents, q: i64) -> (Cents, Cents) {
    if q <= 0 {
        return (goods, goods);
    }
    let (g, q) = (i128::from(goods.value()), i128::from(q));
    let lo = floor_div(g, q);
    let hi = if lo * q == g { lo } else { lo + 1 };
    (Cents(lo as i64), Cents(hi as i64))
}

/// Per line of `order`, how many units `billed` (units per SKU) covers, lines of one SKU filled
/// in line order.
pub fn units_per_line(order: &Order, billed: &HashMap<String, i64>) -> Vec<i64> {
    let mut left = billed.clone();
    order
        .lines
        .iter()
        .map(|l| {
            let e = left.entry(l.sku_id.clone()).or_insert(0);
            let take = (*e).clamp(0, l.quantity);
            *e -= take;
            take
        })
        .collect()
}

/// What the units `billed` (per SKU) are worth under the rule above, the unattributed part
/// included once every unit is billed.
pub fn billed_worth(order: &Order, billed: &HashMap<String, i64>) -> Cents {
    let values = order.line_values();
    let units = units_per_line(order, billed);
    let lines: Cents = order
        .lines
        .iter()
        .zip(&values)
        .zip(&units)
        .map(|((l, v), &n)| units_worth(v.total(), n, l.quantity))
        .sum();
    let every_unit = order
        .lines
        .iter()
        .zip(&units)
        .all(|(l, &n)| n >= l.quantity);
    if every_unit {
        lines + order.order_value().unattributed()
    } else {
        lines
    }
}

/// The `invoiceValue` of a package billing `package` (units per SKU) after `before` was billed:
/// its share under the rule above.
pub fn package_value(
    order: &Order,
    before: &HashMap<String, i64>,
    package: &HashMap<String, i64>,
) -> Cents {
    let mut after = before.clone();
    for (sku, k) in package {
        *after.entry(sku.clone()).or_insert(0) += k;
    }
    billed_worth(order, &after) - billed_worth(order, before)
}

/// The least the units not yet billed (after `billed`) can be invoiced for: each at its line's
/// discounted unit price, freight left out (a package may carry more than its share of it). A
/// negative unattributed part lowers it, never below zero.
pub fn least_for_the_rest(order: &Order, billed: &HashMap<String, i64>) -> Cents {
    let values = order.line_values();
    let units = units_per_line(order, billed);
    let goods: Cents = order
        .lines
        .iter()
        .zip(&values)
        .zip(&units)
        .map(|((l, v), &n)| discounted_unit_prices(v.goods, l.quantity).0 * (l.quantity - n))
        .sum();
    let unattributed = order.order_value().unattributed().min(Cents::ZERO);
    (goods + unattributed).max(Cents::ZERO)
}

/// The unit prices an invoice item of `sku` may carry: each of its lines' price as placed and
/// discounted unit prices. Empty when the SKU is not on the order.
pub fn allowed_unit_prices(order: &Order, sku: &str) -> Vec<Cents> {
    let values = order.line_values();
    let mut prices = Vec::new();
    for (l, v) in order.lines.iter().zip(&values) {
        if l.sku_id != sku {
            continue;
        }
        let (lo, hi) = discounted_unit_prices(v.goods, l.quantity);
        for p in [l.unit_price, lo, hi] {
            if !prices.contains(&p) {
                prices.push(p);
            }
        }
    }
    prices
}

/// The invoice items of a package billing `package` (units per SKU) after `before`: one item per
/// order line it touches, `(sku, quantity, discounted unit price)`, in line order. What an ERP
/// following the rule above sends.
pub fn package_items(
    order: &Order,
    before: &HashMap<String, i64>,
    package: &HashMap<String, i64>,
) -> Vec<(String, i64, Cents)> {
    let mut after = before.clone();
    for (sku, k) in package {
        *after.entry(sku.clone()).or_insert(0) += k;
    }
    let values = order.line_values();
    let was = units_per_line(order, before);
    let now = units_per_line(order, &after);
    order
        .lines
        .iter()
        .zip(&values)
        .zip(was.iter().zip(&now))
        .filter(|(_, (w, n))| n > w)
        .map(|((l, v), (w, n))| {
            let price = discounted_unit_prices(v.goods, l.quantity).0;
            (l.sku_id.clone(), n - w, price)
        })
        .collect()
}
