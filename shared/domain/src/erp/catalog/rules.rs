//! The rules a SKU must keep before anything is written.

use super::*;

/// How strict [`validate_sku`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkuRules {
    /// The product data a SKU suggestion needs must be present (ERP messages). A catalog file may
    /// leave it out (simulation-only catalogs); when present it is always checked.
    pub require_product: bool,
}

impl SkuRules {
    pub const MESSAGE: SkuRules = SkuRules {
        require_product: true,
    };
    pub const CATALOG_FILE: SkuRules = SkuRules {
        require_product: false,
    };
}

/// Every rule `sku` breaks; empty when it may be written. Field paths start with `prefix`.
pub fn validate_sku(sku: &Sku, prefix: &str, rules: SkuRules) -> Vec<Violation> {
    let mut out = Vec::new();
    let f = |name: &str| format!("{prefix}.{name}");
    if let Some((code, detail)) = id_problem(&sku.id) {
        out.push(Violation::new(f("id"), code, detail));
    }
    if sku.name.trim().is_empty() {
        out.push(Violation::new(
            f("name"),
            ViolationCode::MissingField,
            "must not be empty",
        ));
    }
    if sku.prices.is_empty() {
        out.push(Violation::new(
            f("prices"),
            ViolationCode::MissingField,
            "must list at least one price",
        ));
    }
    out.extend(validate_prices(&sku.prices, &f("prices")));
    for (loc, level) in &sku.stock {
        if let Some((code, detail)) = id_problem(loc) {
            out.push(Violation::new(
                format!("{prefix}.stock[{loc:?}]"),
                code,
                format!("location id {detail}"),
            ));
        }
        if level.on_hand < 0 {
            out.push(Violation::new(
                format!("{prefix}.stock.{loc}.onHand"),
                ViolationCode::NegativeStock,
                format!("must be 0 or more, got {}", level.on_hand),
            ));
        }
    }
    for (i, sc) in sku.sales_channels.iter().enumerate() {
        if sc.trim().is_empty() {
            out.push(Violation::new(
                format!("{prefix}.salesChannels[{i}]"),
                ViolationCode::MissingId,
                "must not be empty",
            ));
        }
    }
    if sku.measurement_unit.trim().is_empty() {
        out.push(Violation::new(
            f("measurementUnit"),
            ViolationCode::MissingField,
            "must not be empty (use \"un\")",
        ));
    }
    if sku.unit_multiplier < 1 {
        out.push(Violation::new(
            f("unitMultiplier"),
            ViolationCode::InvalidValue,
            format!("must be 1 or more, got {}", sku.unit_multiplier),
        ));
    }
    let d = &sku.dimensions;
    for (name, v) in [
        ("heightCm", d.height_cm),
        ("widthCm", d.width_cm),
        ("lengthCm", d.length_cm),
    ] {
        if !v.is_finite() || v < 0.0 {
            out.push(Violation::new(
                format!("{prefix}.dimensions.{name}"),
                ViolationCode::InvalidValue,
                format!("must be 0 or more centimetres, got {v}"),
            ));
        }
    }
    if d.weight_g < 0 {
        out.push(Violation::new(
            f("dimensions.weightG"),
            ViolationCode::InvalidValue,
            format!("must be 0 or more grams, got {}", d.weight_g),
        ));
    }
    for (i, o) in sku.offerings.iter().enumerate() {
        if o.id.trim().is_empty() {
            out.push(Violation::new(
                format!("{prefix}.offerings[{i}].id"),
                ViolationCode::MissingId,
                "must not be empty",
            ));
        }
        if o.price.is_negative() {
            out.push(Violation::new(
                format!("{prefix}.offerings[{i}].price"),
                ViolationCode::InvalidValue,
                format!("must be 0 or more cents, got {}", o.price),
            ));
        }
    }
    match &sku.product {
        None if rules.require_product => out.push(Violation::new(
            f("product"),
            ViolationCode::MissingField,
            "is required: a SKU the marketplace does not know yet is suggested from it",
        )),
        None => {}
        Some(_) => out.extend(suggestion_problems(sku, prefix)),
    }
    out
}

/// Rules of a price list: positive prices in cents, `listPrice >= price`, one entry per scope.
pub fn validate_prices(prices: &[PriceEntry], prefix: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut scopes = HashSet::new();
    for (i, p) in prices.iter().enumerate() {
        let at = |name: &str| format!("{prefix}[{i}].{name}");
        if p.price.value() <= 0 {
            out.push(Violation::new(
                at("price"),
                ViolationCode::NonPositivePrice,
                format!("must be at least 1 cent, got {}", p.price),
            ));
        }
        if p.list_price < p.price {
            out.push(Violation::new(
                at("listPrice"),
                ViolationCode::ListPriceBelowPrice,
                format!("({}) must not be below price ({})", p.list_price, p.price),
            ));
        }
        for (name, scope) in [("an", &p.an), ("sc", &p.sc)] {
            if scope.as_deref().is_some_and(|s| s.trim().is_empty()) {
                out.push(Violation::new(
                    at(name),
                    ViolationCode::InvalidValue,
                    "must be left out (any) rather than empty",
                ));
            }
        }
        if !scopes.insert((p.an.clone(), p.sc.clone())) {
            out.push(Violation::new(
                format!("{prefix}[{i}]"),
                ViolationCode::Duplicate,
                format!(
                    "a second price for an={} sc={}",
                    p.an.as_deref().unwrap_or("(any)"),
                    p.sc.as_deref().unwrap_or("(any)")
                ),
            ));
        }
    }
    out
}

/// What a SKU suggestion (shared/docs/protocol.md §SKU suggestion) needs beyond the SKU's own
/// rules: the product data, https images, specifications with values, positive dimensions and
/// weight.
pub fn suggestion_problems(sku: &Sku, prefix: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    let Some(p) = &sku.product else {
        out.push(Violation::new(
            format!("{prefix}.product"),
            ViolationCode::MissingField,
            "is required for a SKU suggestion",
        ));
        return out;
    };
    let f = |name: &str| format!("{prefix}.product.{name}");
    if let Some((code, detail)) = id_problem(&p.product_id) {
        out.push(Violation::new(f("productId"), code, detail));
    }
    for (name, value) in [
        ("productName", &p.product_name),
        ("description", &p.description),
        ("brand", &p.brand),
        ("categoryPath", &p.category_path),
    ] {
        if value.trim().is_empty() {
            out.push(Violation::new(
                f(name),
                ViolationCode::MissingField,
                "must not be empty",
            ));
        }
    }
    if p.product_name.chars().count() > MAX_PRODUCT_NAME_CHARS {
        out.push(Violation::new(
            f("productName"),
            ViolationCode::TooLong,
            format!("must be at most {MAX_PRODUCT_NAME_CHARS} characters"),
        ));
    }
    if !p.category_path.trim().is_empty()
        && p.category_path.split('/').any(|seg| seg.trim().is_empty())
    {
        out.push(Violation::new(
            f("categoryPath"),
            ViolationCode::InvalidValue,
            format!(
                "must be \"Department/Category\" without empty parts, got {:?}",
                p.category_path
            ),
        ));
    }
    if p.images.is_empty() {
        out.push(Violation::new(
            f("images"),
            ViolationCode::MissingField,
            "must list at least one image",
        ));
    }
    for (i, img) in p.images.iter().enumerate() {
        if img.name.trim().is_empty() {
            out.push(Violation::new(
                f(&format!("images[{i}].name")),
                ViolationCode::MissingField,
                "must not be empty",
            ));
        }
        if !is_https_url(&img.url) {
            out.push(Violation::new(
                f(&format!("images[{i}].url")),
                ViolationCode::HttpImageUrl,
                format!("must be an https:// URL, got {:?}", img.url),
            ));
        }
    }
    for (list, specs) in [
        ("productSpecifications", &p.product_specifications),
        ("skuSpecifications", &p.sku_specifications),
    ] {
        for (i, s) in specs.iter().enumerate() {
            if s.name.trim().is_empty() {
                out.push(Violation::new(
                    f(&format!("{list}[{i}].name")),
                    ViolationCode::MissingField,
                    "must not be empty",
                ));
            }
            if s.values.is_empty() || s.values.iter().any(|v| v.trim().is_empty()) {
                out.push(Violation::new(
                    f(&format!("{list}[{i}].values")),
                    ViolationCode::MissingField,
                    "must list at least one value, none empty",
                ));
            }
        }
    }
    for (name, v) in [("ean", &p.ean), ("refId", &p.ref_id)] {
        if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
            out.push(Violation::new(
                f(name),
                ViolationCode::InvalidValue,
                "must be left out rather than empty",
            ));
        }
    }
    let d = &sku.dimensions;
    for (name, v) in [
        ("heightCm", d.height_cm),
        ("widthCm", d.width_cm),
        ("lengthCm", d.length_cm),
    ] {
        if v.is_finite() && v <= 0.0 {
            out.push(Violation::new(
                format!("{prefix}.dimensions.{name}"),
                ViolationCode::MissingField,
                "must be more than 0 for a SKU suggestion",
            ));
        }
    }
    if d.weight_g == 0 {
        out.push(Violation::new(
            format!("{prefix}.dimensions.weightG"),
            ViolationCode::MissingField,
            "must be more than 0 grams for a SKU suggestion",
        ));
    }
    out
}

pub(super) fn is_https_url(url: &str) -> bool {
    let Some(rest) = url
        .get(..8)
        .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
        .map(|_| &url[8..])
    else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    !host.is_empty() && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Validates a whole catalog file given as JSON: decimal amounts, duplicate SKU ids and every SKU
/// rule ([`SkuRules::CATALOG_FILE`]), then returns the parsed file. Nothing is written by a caller
/// unless this returns `Ok`.
pub fn validate_catalog_file(value: &Value) -> Result<CatalogFile, Vec<Violation>> {
    let mut out = Vec::new();
    if let Some(Value::Array(skus)) = value.get("skus") {
        for (i, sku) in skus.iter().enumerate() {
            out.extend(decimal_amounts(sku, &format!("skus[{i}]")));
        }
    }
    if !out.is_empty() {
        return Err(out);
    }
    let file: CatalogFile = typed(value, "catalog file")?;
    let mut seen = HashSet::new();
    for (i, sku) in file.skus.iter().enumerate() {
        let prefix = format!("skus[{i}]");
        if !seen.insert(sku.id.as_str()) {
            out.push(Violation::new(
                format!("{prefix}.id"),
                ViolationCode::Duplicate,
                format!("SKU {} appears more than once", sku.id),
            ));
        }
        out.extend(validate_sku(sku, &prefix, SkuRules::CATALOG_FILE));
    }
    if out.is_empty() { Ok(file) } else { Err(out) }
}
