//! What a change touches: which notifications it calls for.

use super::*;

/// Which VTEX notifications a change of a SKU calls for (shared/docs/protocol.md
/// §Change notification, §Notificator).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// The SKU was not in the store: discover it (change notification, then maybe a suggestion).
    pub new_sku: bool,
    /// Catalog data changed (names, product data, dimensions, units): change notification.
    pub catalog: bool,
    /// Prices or offerings changed: notificator `…/price`.
    pub price: bool,
    /// On-hand stock, `active` or sales channels changed (what is sellable): notificator `…/inventory`.
    pub inventory: bool,
}

impl ChangeSet {
    pub fn is_empty(&self) -> bool {
        self.kinds().is_empty()
    }

    /// The notifications to send. A new SKU gets only the catalog notification: when the
    /// marketplace knows it, it re-reads everything (simulation included); when it does not, a
    /// suggestion carries the data.
    pub fn kinds(&self) -> Vec<NotifyKind> {
        if self.new_sku {
            return vec![NotifyKind::Catalog];
        }
        let mut kinds = Vec::new();
        if self.catalog {
            kinds.push(NotifyKind::Catalog);
        }
        if self.price {
            kinds.push(NotifyKind::Price);
        }
        if self.inventory {
            kinds.push(NotifyKind::Inventory);
        }
        kinds
    }

    pub fn merge(&mut self, other: ChangeSet) {
        self.new_sku |= other.new_sku;
        self.catalog |= other.catalog;
        self.price |= other.price;
        self.inventory |= other.inventory;
    }

    pub fn only(kind: NotifyKind) -> ChangeSet {
        ChangeSet {
            new_sku: false,
            catalog: kind == NotifyKind::Catalog,
            price: kind == NotifyKind::Price,
            inventory: kind == NotifyKind::Inventory,
        }
    }
}

/// What writing `new` over `old` changes, as VTEX sees it. Stock compares on-hand figures only
/// (reservations are the connector's own); a location missing on one side counts as 0 on hand.
pub fn changes(old: Option<&Sku>, new: &Sku) -> ChangeSet {
    let Some(old) = old else {
        return ChangeSet {
            new_sku: true,
            catalog: true,
            price: true,
            inventory: true,
        };
    };
    let locations: BTreeSet<&String> = old.stock.keys().chain(new.stock.keys()).collect();
    let on_hand = |s: &Sku, loc: &str| s.stock.get(loc).map_or(0, |l| l.on_hand);
    let stock_changed = locations
        .iter()
        .any(|loc| on_hand(old, loc) != on_hand(new, loc));
    ChangeSet {
        new_sku: false,
        catalog: old.name != new.name
            || old.product != new.product
            || old.dimensions != new.dimensions
            || old.measurement_unit != new.measurement_unit
            || old.unit_multiplier != new.unit_multiplier,
        price: old.prices != new.prices || old.offerings != new.offerings,
        inventory: stock_changed
            || old.active != new.active
            || old.sales_channels != new.sales_channels,
    }
}
