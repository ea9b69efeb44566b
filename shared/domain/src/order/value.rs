//! The order's value as VTEX computes it (shared/docs/protocol.md §Invoices, CONTRACT.md §10 C32):
//! what the Output invoices of an order must add up to.
//!
//! Per line: `price × quantity`, plus its `priceTags` (negative for a discount), plus its
//! `bundleItems` (paid offerings), plus its freight (`logisticsInfo[].price`) and the price of the
//! chosen delivery window. The sum is cross-checked with `marketplacePaymentValue`.
//!
//! How a price tag is read (settled from VTEX's order examples in the OpenAPI files: `value: -1750`
//! with `rawValue: -17.50`, `value: -5000` with `rawValue: -50.0`, `value: 193` with
//! `rawValue: 1.93`, and `sellingPrice = price + value` on a one-unit line):
//! - `value` is in cents and covers the whole line (every unit of it): VTEX's `totals` add the tags
//!   of a line once, not once per unit. When present it is used as is, percentual or not.
//! - without `value`, an absolute tag's `rawValue` is in currency units (`-17.50` = `-1750` cents);
//!   a percentual tag's `rawValue` is a percentage of the line (`10` = 10 % of `price × quantity`).
//!   Either is rounded to the cent, half away from zero.

use crate::money::Cents;
use serde::{Deserialize, Serialize};

/// One `items[].priceTags[]` entry, as placed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PriceTag {
    pub name: String,
    /// Cents, for the whole line.
    pub value: Option<Cents>,
    pub is_percentual: bool,
    pub raw_value: Option<f64>,
}

impl PriceTag {
    /// What this tag adds to a line worth `line_items` (`price × quantity`), in cents.
    pub fn amount(&self, line_items: Cents) -> Cents {
        if let Some(v) = self.value {
            return v;
        }
        let Some(raw) = self.raw_value.filter(|r| r.is_finite()) else {
            return Cents::ZERO;
        };
        if self.is_percentual {
            // rawValue carries up to five decimals (orders API): exact in 1e-5 units.
            let scaled = (raw * 100_000.0).round() as i128;
            Cents(div_round(
                i128::from(line_items.value()) * scaled,
                100 * 100_000,
            ))
        } else {
            Cents((raw * 100.0).round() as i64)
        }
    }
}

/// `a / b` rounded half away from zero (`b > 0`).
fn div_round(a: i128, b: i128) -> i64 {
    let q = (a.abs() + b / 2) / b;
    let q = if a < 0 { -q } else { q };
    q.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// One `items[].bundleItems[]` entry (a paid offering such as a warranty), as placed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BundleItem {
    pub name: Option<String>,
    /// Unit price, cents.
    pub price: Cents,
    /// Units of the offering; absent means one per unit of its item.
    pub quantity: Option<i64>,
}

impl BundleItem {
    pub fn amount(&self, item_quantity: i64) -> Cents {
        self.price * self.quantity.unwrap_or(item_quantity)
    }
}

/// What a line's price tags and bundle items add to its `price × quantity`, cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineAdjustments {
    pub price_tags: Cents,
    pub bundles: Cents,
}

impl LineAdjustments {
    pub fn of(unit_price: Cents, quantity: i64, tags: &[PriceTag], bundles: &[BundleItem]) -> Self {
        let items = unit_price * quantity;
        LineAdjustments {
            price_tags: tags.iter().map(|t| t.amount(items)).sum(),
            bundles: bundles.iter().map(|b| b.amount(quantity)).sum(),
        }
    }
}

/// Which figure the order's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ValueSource {
    /// Items, price tags, bundles, freight and windows, as read from the placement body.
    Computed,
    /// `marketplacePaymentValue`: VTEX's own figure, preferred when it disagrees with ours.
    MarketplacePaymentValue,
}

/// The order's value and how it was reached: stored with the order at placement, shown in the
/// admin view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderValue {
    /// Σ price × quantity.
    pub items: Cents,
    /// Σ price tags (negative: discounts).
    pub price_tags: Cents,
    /// Σ bundle items.
    pub bundles: Cents,
    /// Σ `logisticsInfo[].price`.
    pub freight: Cents,
    /// Σ chosen delivery window prices.
    pub delivery_windows: Cents,
    /// The five above added up.
    pub computed: Cents,
    /// What the order's invoices must add up to.
    pub value: Cents,
    pub source: ValueSource,
    /// Per line (in the order of the order's lines): its tags and bundles.
    pub lines: Vec<LineAdjustments>,
}

/// One line's part in the value, as [`OrderValue::compute`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineAmounts {
    pub unit_price: Cents,
    pub quantity: i64,
    pub adjustments: LineAdjustments,
    pub freight: Cents,
    pub window_price: Cents,
}

impl OrderValue {
    /// The value of lines, cross-checked with `marketplacePaymentValue` (`0` = not stated).
    ///
    /// Decision: when both are known and differ, `marketplacePaymentValue` is the value. It is
    /// VTEX's own figure for what the marketplace pays (S2), while ours rests on reading the price
    /// tags; a wrong reading must not make every invoice of the order fail at OMS.
    pub fn compute(lines: &[LineAmounts], marketplace_payment_value: Cents) -> Self {
        let items: Cents = lines.iter().map(|l| l.unit_price * l.quantity).sum();
        let price_tags: Cents = lines.iter().map(|l| l.adjustments.price_tags).sum();
        let bundles: Cents = lines.iter().map(|l| l.adjustments.bundles).sum();
        let freight: Cents = lines.iter().map(|l| l.freight).sum();
        let delivery_windows: Cents = lines.iter().map(|l| l.window_price).sum();
        let computed = items + price_tags + bundles + freight + delivery_windows;
        let (value, source) =
            if marketplace_payment_value > Cents::ZERO && marketplace_payment_value != computed {
                (
                    marketplace_payment_value,
                    ValueSource::MarketplacePaymentValue,
                )
            } else {
                (computed, ValueSource::Computed)
            };
        OrderValue {
            items,
            price_tags,
            bundles,
            freight,
            delivery_windows,
            computed,
            value,
            source,
            lines: lines.iter().map(|l| l.adjustments).collect(),
        }
    }

    /// `value − computed`: what no line accounts for (zero unless `marketplacePaymentValue`
    /// disagreed). The invoice that bills the order's last unit carries it.
    pub fn unattributed(&self) -> Cents {
        self.value - self.computed
    }

    /// The order-log line for the cross-check with `marketplacePaymentValue`, when there is
    /// something to say.
    pub fn cross_check_note(&self, marketplace_payment_value: Cents) -> Option<String> {
        let parts = format!(
            "items {} + price tags {} + bundles {} + freight {} + delivery windows {} = {}",
            self.items,
            self.price_tags,
            self.bundles,
            self.freight,
            self.delivery_windows,
            self.computed
        );
        match self.source {
            ValueSource::MarketplacePaymentValue => Some(format!(
                "order value {}: marketplacePaymentValue is used, as VTEX's own figure for the order; \
                 the placement body adds up to {parts} (differs by {}): check the price tags",
                self.value,
                self.unattributed()
            )),
            ValueSource::Computed if marketplace_payment_value == Cents::ZERO => Some(format!(
                "order value {}: computed ({parts}); the placement stated no marketplacePaymentValue",
                self.value
            )),
            ValueSource::Computed => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(value: Option<i64>, raw: Option<f64>, pct: bool) -> PriceTag {
        PriceTag {
            name: "DISCOUNT@MARKETPLACE".into(),
            value: value.map(Cents),
            is_percentual: pct,
            raw_value: raw,
        }
    }

    #[test]
    fn value_in_cents_wins_over_raw_value() {
        assert_eq!(
            tag(Some(-1750), Some(-17.5), false).amount(Cents(6999)),
            Cents(-1750)
        );
        // A percentual tag that states its value: the value, not the percentage.
        assert_eq!(
            tag(Some(-1000), Some(10.0), true).amount(Cents(20_000)),
            Cents(-1000)
        );
    }

    #[test]
    fn raw_value_is_currency_units_or_a_percentage_of_the_line() {
        assert_eq!(tag(None, Some(-17.5), false).amount(Cents(1)), Cents(-1750));
        assert_eq!(tag(None, Some(1.93), false).amount(Cents(1)), Cents(193));
        // 10 % of 3 × 1199 = 359.7 → 360 (half away from zero).
        assert_eq!(
            tag(None, Some(-10.0), true).amount(Cents(3597)),
            Cents(-360)
        );
        assert_eq!(
            tag(None, Some(-10.0), true).amount(Cents(3595)),
            Cents(-360)
        );
        assert_eq!(
            tag(None, Some(-10.0), true).amount(Cents(3594)),
            Cents(-359)
        );
        assert_eq!(tag(None, None, true).amount(Cents(3594)), Cents::ZERO);
    }

    #[test]
    fn bundles_count_per_unit_unless_they_say_their_quantity() {
        let b = BundleItem {
            name: None,
            price: Cents(500),
            quantity: None,
        };
        assert_eq!(b.amount(3), Cents(1500));
        let b = BundleItem {
            quantity: Some(1),
            ..b
        };
        assert_eq!(b.amount(3), Cents(500));
    }

    fn line(price: i64, qty: i64, tags: i64, freight: i64, window: i64) -> LineAmounts {
        LineAmounts {
            unit_price: Cents(price),
            quantity: qty,
            adjustments: LineAdjustments {
                price_tags: Cents(tags),
                bundles: Cents::ZERO,
            },
            freight: Cents(freight),
            window_price: Cents(window),
        }
    }

    #[test]
    fn marketplace_payment_value_is_used_when_it_disagrees_and_the_note_says_why() {
        let lines = [line(9990, 1, -1000, 1090, 0)];
        let agree = OrderValue::compute(&lines, Cents(10_080));
        assert_eq!(
            (agree.value, agree.source),
            (Cents(10_080), ValueSource::Computed)
        );
        assert_eq!(agree.cross_check_note(Cents(10_080)), None);

        let differ = OrderValue::compute(&lines, Cents(10_000));
        assert_eq!(differ.value, Cents(10_000));
        assert_eq!(differ.source, ValueSource::MarketplacePaymentValue);
        assert_eq!(differ.unattributed(), Cents(-80));
        let note = differ.cross_check_note(Cents(10_000)).unwrap();
        assert!(note.contains("marketplacePaymentValue is used"), "{note}");
        assert!(note.contains("= 10080"), "{note}");

        let unstated = OrderValue::compute(&lines, Cents::ZERO);
        assert_eq!(unstated.value, Cents(10_080));
        assert!(
            unstated
                .cross_check_note(Cents::ZERO)
                .unwrap()
                .contains("no marketplacePaymentValue")
        );
    }
}
