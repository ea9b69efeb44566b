//! Simulation rules: read-only requests, each rule judged on a request of its own where it can
//! be, so one mistake of the seller fails one rule.

use crate::client::{Auth, Body, Exchange, Seller};
use crate::config::Config;
use crate::judge::{
    Judge, arr, envelope_problem, int, is_duration, is_int, is_iso_datetime, skip, str_of,
};
use crate::report::{Evidence, RuleResult};
use reqwest::Method;
use serde_json::{Value, json};

pub const ROUTE: &str = "/pvt/orderForms/simulation";
/// More than any seller holds: the answer must clamp it to the stock.
const HUGE: u64 = 100_000;

/// The body VTEX sends: indexation without an address, checkout with one.
pub fn body(cfg: &Config, items: &[(&str, u64)], checkout: bool) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|(id, q)| json!({"id": id, "quantity": q, "seller": cfg.seller}))
        .collect();
    if checkout {
        json!({"items": items, "postalCode": cfg.postal_code, "country": cfg.country})
    } else {
        json!({"items": items, "isCheckedIn": false})
    }
}

pub async fn post(seller: &Seller, body: &Value) -> Exchange {
    seller
        .call(
            Method::POST,
            ROUTE,
            &[],
            Some(Body::Json(body.clone())),
            Auth::Configured,
        )
        .await
}

/// The sellable stock the seller reports for `sku` (indexation, one unit).
pub async fn stock_of(seller: &Seller, cfg: &Config, sku: &str) -> (Option<i64>, Exchange) {
    let x = post(seller, &body(cfg, &[(sku, 1)], false)).await;
    let s = x
        .json
        .as_ref()
        .and_then(|j| j.get("logisticsInfo"))
        .and_then(|l| l.get(0))
        .and_then(|l| l.get("stockBalance"))
        .and_then(Value::as_i64);
    (s, x)
}

/// Runs the simulation rules; `Err` when the endpoint cannot be reached at all, so nothing is
/// judged on a connection error.
pub async fn run(
    seller: &Seller,
    cfg: &Config,
    done: &mut dyn FnMut(RuleResult),
) -> Result<(), String> {
    let skus: Vec<(&str, u64)> = cfg.skus.iter().map(|s| (s.as_str(), 1)).collect();
    let idx = post(seller, &body(cfg, &skus, false)).await;
    if idx.status.is_none() {
        return Err(format!(
            "{}: {} (is the seller running, and is --base its fulfillment endpoint?)",
            seller.shown_base(),
            idx.error.as_deref().unwrap_or("no answer")
        ));
    }
    let chk_body = body(cfg, &skus, true);
    let chk = post(seller, &chk_body).await;

    done(indexation(&idx, &skus));
    done(checkout(&chk, cfg));
    done(one_per_item(&[&idx, &chk], &skus));
    done(clamp(seller, cfg, &chk).await);
    let unavailable = unavailable(seller, cfg).await;
    let unavailable_answer = unavailable.1.clone();
    done(unavailable.0);
    done(integer_cents(&[&idx, &chk, &unavailable_answer]));
    done(sla_shape(&chk));
    done(pickup_points(&chk));
    done(delivery_windows(&chk));
    let get = get_purchase_context(seller, &chk_body).await;
    done(same_as_post(&get, &chk));
    done(cache_headers(&get));
    done(error_envelope(seller).await);
    done(latency(seller, cfg, &chk_body).await);
    Ok(())
}

fn ok_json(x: &Exchange) -> Option<&Value> {
    if x.is(200) { x.json.as_ref() } else { None }
}

/// The 200 JSON answer, or the problem that there is none.
fn answer<'a>(j: &mut Judge, x: &'a Exchange) -> Option<&'a Value> {
    j.saw(x);
    match ok_json(x) {
        Some(v) if v.is_object() => Some(v),
        _ => {
            j.problem(format!("{}; expected 200 with a JSON object", x.describe()));
            None
        }
    }
}

fn indexation(x: &Exchange, skus: &[(&str, u64)]) -> RuleResult {
    let mut j = Judge::new();
    if let Some(v) = answer(&mut j, x) {
        for key in ["items", "logisticsInfo"] {
            j.ensure(v.get(key).is_some_and(Value::is_array), || {
                format!("no {key} array")
            });
        }
        for key in ["postalCode", "country"] {
            j.ensure(v.get(key).is_some_and(Value::is_null), || {
                format!(
                    "{key} is {} (an indexation answer has it null)",
                    show(v.get(key))
                )
            });
        }
        for (i, li) in arr(v, "logisticsInfo").iter().enumerate() {
            j.ensure(
                arr(li, "slas").is_empty() && li.get("slas").is_some_and(Value::is_array),
                || format!("logisticsInfo[{i}].slas is not [] without an address (indexation)"),
            );
            j.ensure(li.get("stockBalance").is_some_and(is_int), || {
                format!(
                    "logisticsInfo[{i}].stockBalance is missing (indexation still reports stock)"
                )
            });
        }
        let available = arr(v, "items")
            .iter()
            .filter(|it| it.get("quantity").and_then(Value::as_i64).unwrap_or(0) > 0)
            .count();
        j.ensure(available > 0, || {
            format!(
                "none of the {} SKUs is available at indexation, so VTEX would show the seller as out of stock \
                 (are --sku {} in stock?)",
                skus.len(),
                skus.iter().map(|s| s.0).collect::<Vec<_>>().join(", ")
            )
        });
    }
    j.finish(
        "sim.indexation",
        format!(
            "{} SKUs without an address: slas [], stock reported, address null",
            skus.len()
        ),
    )
}

fn checkout(x: &Exchange, cfg: &Config) -> RuleResult {
    let mut j = Judge::new();
    if let Some(v) = answer(&mut j, x) {
        j.ensure(
            str_of(v, "postalCode") == Some(cfg.postal_code.as_str()),
            || {
                format!(
                    "postalCode is {}, not the {:?} asked",
                    show(v.get("postalCode")),
                    cfg.postal_code
                )
            },
        );
        j.ensure(str_of(v, "country") == Some(cfg.country.as_str()), || {
            format!(
                "country is {}, not the {:?} asked",
                show(v.get("country")),
                cfg.country
            )
        });
        j.ensure(
            v.get("allowMultipleDeliveries") == Some(&Value::Bool(true)),
            || {
                format!(
                    "allowMultipleDeliveries is {}, expected true",
                    show(v.get("allowMultipleDeliveries"))
                )
            },
        );
        let quoted = arr(v, "logisticsInfo")
            .iter()
            .any(|li| !arr(li, "slas").is_empty());
        j.ensure(quoted, || {
            format!(
                "no SLA quoted for postal code {} (choose a --postal-code the seller delivers to)",
                cfg.postal_code
            )
        });
    }
    j.finish(
        "sim.checkout",
        format!(
            "postal code {} {}: address echoed, SLAs quoted",
            cfg.postal_code, cfg.country
        ),
    )
}

fn one_per_item(answers: &[&Exchange], skus: &[(&str, u64)]) -> RuleResult {
    let mut j = Judge::new();
    for x in answers {
        let Some(v) = answer(&mut j, x) else { continue };
        let items = arr(v, "items");
        let lis = arr(v, "logisticsInfo");
        j.ensure(items.len() == skus.len(), || {
            format!("{} items for the {} requested", items.len(), skus.len())
        });
        j.ensure(lis.len() == skus.len(), || {
            format!(
                "{} logisticsInfo entries for the {} items requested",
                lis.len(),
                skus.len()
            )
        });
        for (i, (id, _)) in skus.iter().enumerate() {
            if let Some(it) = items.get(i) {
                j.ensure(str_of(it, "id") == Some(id), || {
                    format!(
                        "items[{i}].id is {}, expected {id:?} (request order)",
                        show(it.get("id"))
                    )
                });
                j.ensure(
                    int(it.get("requestIndex").unwrap_or(&Value::Null)) == Some(i as i64),
                    || {
                        format!(
                            "items[{i}].requestIndex is {}, expected {i}",
                            show(it.get("requestIndex"))
                        )
                    },
                );
            }
            if let Some(li) = lis.get(i) {
                j.ensure(
                    int(li.get("itemIndex").unwrap_or(&Value::Null)) == Some(i as i64),
                    || {
                        format!(
                            "logisticsInfo[{i}].itemIndex is {}, expected {i}",
                            show(li.get("itemIndex"))
                        )
                    },
                );
                if let Some(it) = items.get(i) {
                    j.ensure(li.get("quantity") == it.get("quantity"), || {
                        format!(
                            "logisticsInfo[{i}].quantity {} differs from items[{i}].quantity {}",
                            show(li.get("quantity")),
                            show(it.get("quantity"))
                        )
                    });
                }
            }
        }
    }
    j.finish(
        "sim.one-logistics-per-item",
        format!(
            "indexation and checkout, {} items each: aligned",
            skus.len()
        ),
    )
}

async fn clamp(seller: &Seller, cfg: &Config, chk: &Exchange) -> RuleResult {
    let mut j = Judge::new();
    let sku = cfg.skus[0].as_str();
    let x = post(seller, &body(cfg, &[(sku, HUGE)], true)).await;
    let Some(v) = answer(&mut j, &x) else {
        return j.finish("sim.quantity-clamp", "");
    };
    let item = arr(v, "items").first();
    let li = arr(v, "logisticsInfo").first();
    let (Some(item), Some(li)) = (item, li) else {
        j.problem(format!(
            "no item or logisticsInfo for {sku} asked {HUGE} units"
        ));
        return j.finish("sim.quantity-clamp", "");
    };
    let q = item.get("quantity").and_then(Value::as_i64);
    let lq = li.get("quantity").and_then(Value::as_i64);
    let stock = li.get("stockBalance").and_then(Value::as_i64);
    let Some(stock) = stock else {
        j.problem("logisticsInfo[0].stockBalance is not an integer");
        return j.finish("sim.quantity-clamp", "");
    };
    if stock >= HUGE as i64 {
        return j.skip(
            "sim.quantity-clamp",
            format!("{sku} has {stock} units, more than the {HUGE} asked"),
        );
    }
    let expected = stock.max(0);
    j.ensure(q == Some(expected), || {
        format!("asked {HUGE} units of {sku} with stockBalance {stock}: items[0].quantity is {}, expected {expected}", show(item.get("quantity")))
    });
    j.ensure(lq == Some(expected), || {
        format!(
            "logisticsInfo[0].quantity is {}, expected {expected}",
            show(li.get("quantity"))
        )
    });
    // The one-unit checkout answer must show the same stock, not the quantity asked.
    if let Some(c) = ok_json(chk) {
        j.saw(chk);
        let one = arr(c, "logisticsInfo")
            .first()
            .and_then(|l| l.get("stockBalance"))
            .and_then(Value::as_i64);
        j.ensure(one == Some(stock) || stock <= 1, || {
            format!("asked 1 unit of {sku}: stockBalance is {one:?}, but {stock} when asked {HUGE} (stockBalance must not be clamped)")
        });
    }
    j.finish(
        "sim.quantity-clamp",
        format!("asked {HUGE} units of {sku}: got {expected}, its stockBalance"),
    )
}

async fn unavailable(seller: &Seller, cfg: &Config) -> (RuleResult, Exchange) {
    let mut j = Judge::new();
    let unknown = format!("seller-check-unknown-{}", &seller_run_suffix(seller));
    let first = cfg.skus[0].as_str();
    let mut items: Vec<(&str, u64)> = vec![(first, 1), (unknown.as_str(), 1)];
    for u in &cfg.unavailable_skus {
        items.push((u.as_str(), 1));
    }
    items.push((first, 1));
    let x = post(seller, &body(cfg, &items, true)).await;
    if let Some(v) = answer(&mut j, &x) {
        let its = arr(v, "items");
        let lis = arr(v, "logisticsInfo");
        j.ensure(its.len() == items.len() && lis.len() == items.len(), || {
            format!(
                "{} items and {} logisticsInfo for {} requested (one unknown): items must be kept, not dropped",
                its.len(),
                lis.len(),
                items.len()
            )
        });
        for (i, (id, _)) in items.iter().enumerate() {
            let zeroed = i > 0 && i < items.len() - 1;
            let (Some(it), Some(li)) = (its.get(i), lis.get(i)) else {
                continue;
            };
            j.ensure(str_of(it, "id") == Some(id), || {
                format!(
                    "items[{i}].id is {}, expected {id:?} kept in place",
                    show(it.get("id"))
                )
            });
            if zeroed {
                j.ensure(
                    it.get("quantity").and_then(Value::as_i64) == Some(0),
                    || {
                        format!(
                            "items[{i}] ({id}, unavailable): quantity {}, expected 0",
                            show(it.get("quantity"))
                        )
                    },
                );
                j.ensure(
                    li.get("stockBalance").and_then(Value::as_i64) == Some(0),
                    || {
                        format!(
                            "logisticsInfo[{i}] ({id}): stockBalance {}, expected 0",
                            show(li.get("stockBalance"))
                        )
                    },
                );
                j.ensure(
                    li.get("slas").is_some_and(Value::is_array) && arr(li, "slas").is_empty(),
                    || format!("logisticsInfo[{i}] ({id}): slas must be []"),
                );
                let channel_stock = arr(li, "deliveryChannels")
                    .iter()
                    .all(|c| c.get("stockBalance").and_then(Value::as_i64).unwrap_or(0) == 0);
                j.ensure(channel_stock, || {
                    format!("logisticsInfo[{i}] ({id}): deliveryChannels with stock")
                });
            } else {
                j.ensure(
                    it.get("quantity").and_then(Value::as_i64).unwrap_or(0) > 0,
                    || {
                        format!(
                            "items[{i}] ({id}, available) came back with quantity {}",
                            show(it.get("quantity"))
                        )
                    },
                );
            }
        }
    }
    let what = if cfg.unavailable_skus.is_empty() {
        format!(
            "unknown SKU {unknown:?} between two available ones: kept and zeroed (name a known out-of-stock SKU with --unavailable-sku to check that case too)"
        )
    } else {
        format!(
            "unknown SKU and {} between available ones: kept and zeroed",
            cfg.unavailable_skus.join(", ")
        )
    };
    (j.finish("sim.unavailable-zeroed", what), x)
}

fn seller_run_suffix(seller: &Seller) -> String {
    seller.run_id().chars().take(8).collect()
}

fn integer_cents(answers: &[&Exchange]) -> RuleResult {
    let mut j = Judge::new();
    let mut checked = 0usize;
    for x in answers {
        let Some(v) = ok_json(x) else { continue };
        j.saw(x);
        let mut money = |path: String, m: Option<&Value>, j: &mut Judge| {
            checked += 1;
            match m {
                Some(m) if is_int(m) && m.as_i64().unwrap_or(-1) >= 0 => {}
                other => j.problem(format!(
                    "{path} is {} (integer cents ≥ 0 expected, e.g. 9990)",
                    show(other)
                )),
            }
        };
        for (i, it) in arr(v, "items").iter().enumerate() {
            money(format!("items[{i}].price"), it.get("price"), &mut j);
            money(format!("items[{i}].listPrice"), it.get("listPrice"), &mut j);
            if let (Some(p), Some(l)) = (
                it.get("price").and_then(Value::as_f64),
                it.get("listPrice").and_then(Value::as_f64),
            ) {
                j.ensure(l >= p, || {
                    format!("items[{i}].listPrice {l} is below its price {p}")
                });
            }
            for (k, o) in arr(it, "offerings").iter().enumerate() {
                money(
                    format!("items[{i}].offerings[{k}].price"),
                    o.get("price"),
                    &mut j,
                );
            }
        }
        for (i, li) in arr(v, "logisticsInfo").iter().enumerate() {
            for (s, sla) in arr(li, "slas").iter().enumerate() {
                money(
                    format!("logisticsInfo[{i}].slas[{s}].price"),
                    sla.get("price"),
                    &mut j,
                );
                for (w, win) in arr(sla, "availableDeliveryWindows").iter().enumerate() {
                    let p = win.get("price").or_else(|| win.get("listPrice"));
                    money(
                        format!("logisticsInfo[{i}].slas[{s}].availableDeliveryWindows[{w}].price"),
                        p,
                        &mut j,
                    );
                }
            }
        }
    }
    if checked == 0 && !j.has_problems() {
        return j.skip("sim.integer-cents", "no simulation answered 200");
    }
    j.finish(
        "sim.integer-cents",
        format!("{checked} amounts in three answers: integer cents"),
    )
}

fn slas(v: &Value) -> impl Iterator<Item = (usize, usize, &Value)> {
    arr(v, "logisticsInfo")
        .iter()
        .enumerate()
        .flat_map(|(i, li)| {
            arr(li, "slas")
                .iter()
                .enumerate()
                .map(move |(s, sla)| (i, s, sla))
        })
}

fn sla_shape(x: &Exchange) -> RuleResult {
    let mut j = Judge::new();
    let Some(v) = answer(&mut j, x) else {
        return j.finish("sim.sla-shape", "");
    };
    let mut n = 0;
    for (i, li) in arr(v, "logisticsInfo").iter().enumerate() {
        let ships = li.get("shipsTo").and_then(Value::as_array);
        j.ensure(
            ships.is_some_and(|s| s.iter().all(Value::is_string)),
            || {
                format!(
                    "logisticsInfo[{i}].shipsTo is {} (an array of ISO-3 countries)",
                    show(li.get("shipsTo"))
                )
            },
        );
        match li.get("deliveryChannels").and_then(Value::as_array) {
            None => j.problem(format!("logisticsInfo[{i}].deliveryChannels is missing")),
            Some(chs) => {
                for (c, ch) in chs.iter().enumerate() {
                    let id_ok = matches!(str_of(ch, "id"), Some("delivery" | "pickup-in-point"));
                    j.ensure(id_ok && ch.get("stockBalance").is_some_and(is_int), || {
                        format!("logisticsInfo[{i}].deliveryChannels[{c}] is {} (id delivery | pickup-in-point, integer stockBalance)", ch)
                    });
                }
            }
        }
    }
    for (i, s, sla) in slas(v) {
        n += 1;
        let at = format!("logisticsInfo[{i}].slas[{s}]");
        j.ensure(str_of(sla, "id").is_some_and(|id| !id.is_empty()), || {
            format!("{at}.id is {} (a stable string id)", show(sla.get("id")))
        });
        j.ensure(sla.get("name").is_some_and(Value::is_string), || {
            format!("{at}.name is {}", show(sla.get("name")))
        });
        let channel = str_of(sla, "deliveryChannel");
        j.ensure(
            matches!(channel, Some("delivery" | "pickup-in-point")),
            || {
                format!(
                    "{at}.deliveryChannel is {} (delivery or pickup-in-point)",
                    show(sla.get("deliveryChannel"))
                )
            },
        );
        j.ensure(str_of(sla, "shippingEstimate").is_some_and(is_duration), || {
            format!("{at}.shippingEstimate is {} (a string such as \"5bd\", \"1d\", \"4h\", \"30m\")", show(sla.get("shippingEstimate")))
        });
        j.ensure(sla.get("price").is_some(), || {
            format!("{at}.price is missing")
        });
        j.ensure(
            sla.get("availableDeliveryWindows")
                .is_some_and(Value::is_array),
            || {
                format!(
                    "{at}.availableDeliveryWindows is {} ([] when none)",
                    show(sla.get("availableDeliveryWindows"))
                )
            },
        );
        if channel == Some("delivery") {
            j.ensure(
                sla.get("pickupStoreInfo").is_some_and(Value::is_null),
                || {
                    format!(
                        "{at} (delivery): pickupStoreInfo is {} (null for delivery)",
                        show(sla.get("pickupStoreInfo"))
                    )
                },
            );
        }
    }
    if n == 0 && !j.has_problems() {
        return j.skip(
            "sim.sla-shape",
            "the checkout answer quoted no SLA (see sim.checkout)",
        );
    }
    j.finish("sim.sla-shape", format!("{n} SLAs well formed"))
}

fn pickup_points(x: &Exchange) -> RuleResult {
    let mut j = Judge::new();
    let Some(v) = ok_json(x) else {
        return skip("sim.pickup-points", "no checkout answer (see sim.checkout)");
    };
    j.saw(x);
    let mut n = 0;
    for (i, s, sla) in
        slas(v).filter(|(_, _, sla)| str_of(sla, "deliveryChannel") == Some("pickup-in-point"))
    {
        n += 1;
        let at = format!("logisticsInfo[{i}].slas[{s}].pickupStoreInfo");
        let Some(p) = sla.get("pickupStoreInfo").filter(|p| p.is_object()) else {
            j.problem(format!(
                "{at} is {} (a pickup SLA needs the full object)",
                show(sla.get("pickupStoreInfo"))
            ));
            continue;
        };
        j.ensure(p.get("isPickupStore") == Some(&Value::Bool(true)), || {
            format!("{at}.isPickupStore is not true")
        });
        j.ensure(p.get("friendlyName").is_some_and(Value::is_string), || {
            format!("{at}.friendlyName is missing")
        });
        j.ensure(p.get("additionalInfo").is_some(), || {
            format!("{at}.additionalInfo is missing (\"\" allowed)")
        });
        match p.get("address").filter(|a| a.is_object()) {
            None => j.problem(format!("{at}.address is missing")),
            Some(a) => {
                j.ensure(str_of(a, "addressType") == Some("pickup"), || {
                    format!(
                        "{at}.address.addressType is {} (\"pickup\")",
                        show(a.get("addressType"))
                    )
                });
                j.ensure(
                    str_of(a, "addressId").is_some_and(|s| !s.is_empty()),
                    || format!("{at}.address.addressId is missing (the pickup point id)"),
                );
                for key in [
                    "postalCode",
                    "city",
                    "state",
                    "country",
                    "street",
                    "number",
                    "neighborhood",
                    "complement",
                    "reference",
                    "geoCoordinates",
                ] {
                    j.ensure(a.get(key).is_some(), || {
                        format!("{at}.address.{key} is missing")
                    });
                }
            }
        }
    }
    if n == 0 {
        return j.skip(
            "sim.pickup-points",
            "no pickup SLA quoted for this address and these SKUs",
        );
    }
    j.finish(
        "sim.pickup-points",
        format!("{n} pickup SLAs with a full pickupStoreInfo"),
    )
}

fn delivery_windows(x: &Exchange) -> RuleResult {
    let mut j = Judge::new();
    let Some(v) = ok_json(x) else {
        return skip(
            "sim.delivery-windows",
            "no checkout answer (see sim.checkout)",
        );
    };
    j.saw(x);
    let mut n = 0;
    for (i, s, sla) in slas(v) {
        for (w, win) in arr(sla, "availableDeliveryWindows").iter().enumerate() {
            n += 1;
            let at = format!("logisticsInfo[{i}].slas[{s}].availableDeliveryWindows[{w}]");
            let start = str_of(win, "startDateUtc");
            let end = str_of(win, "endDateUtc");
            j.ensure(start.is_some_and(is_iso_datetime), || {
                format!(
                    "{at}.startDateUtc is {} (ISO 8601)",
                    show(win.get("startDateUtc"))
                )
            });
            j.ensure(end.is_some_and(is_iso_datetime), || {
                format!(
                    "{at}.endDateUtc is {} (ISO 8601)",
                    show(win.get("endDateUtc"))
                )
            });
            j.ensure(
                win.get("price").or_else(|| win.get("listPrice")).is_some(),
                || format!("{at}.price is missing"),
            );
            if let (Some(a), Some(b)) = (start, end)
                && let (Ok(a), Ok(b)) = (
                    chrono::DateTime::parse_from_rfc3339(a),
                    chrono::DateTime::parse_from_rfc3339(b),
                )
            {
                j.ensure(a < b, || format!("{at} ends before it starts"));
            }
        }
    }
    if n == 0 {
        return j.skip(
            "sim.delivery-windows",
            "no scheduled delivery quoted for this address and these SKUs",
        );
    }
    j.finish(
        "sim.delivery-windows",
        format!("{n} delivery windows well formed"),
    )
}

async fn get_purchase_context(seller: &Seller, post_body: &Value) -> Exchange {
    let pc = post_body.to_string();
    seller
        .call(
            Method::GET,
            ROUTE,
            &[("purchaseContext", pc.as_str())],
            None,
            Auth::Configured,
        )
        .await
}

fn same_as_post(get: &Exchange, post: &Exchange) -> RuleResult {
    let mut j = Judge::new();
    j.saw(get);
    j.saw(post);
    match (ok_json(get), ok_json(post)) {
        (None, _) => j.problem(format!(
            "{}; expected 200 with the POST's answer",
            get.describe()
        )),
        (_, None) => {
            return j.skip(
                "sim.get-purchase-context",
                "the POST did not answer 200 (see sim.checkout)",
            );
        }
        (Some(g), Some(p)) => {
            if let Some(path) = first_difference(g, p, String::new()) {
                j.problem(format!("the GET answer differs from the POST's at {path}"));
            }
        }
    }
    j.finish(
        "sim.get-purchase-context",
        "GET ?purchaseContext= answered the POST's JSON",
    )
}

/// The path of the first place two JSON values differ.
fn first_difference(a: &Value, b: &Value, at: String) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                match y.get(k) {
                    None => return Some(format!("{at}.{k} (only in the GET answer)")),
                    Some(vb) => {
                        if let Some(p) = first_difference(va, vb, format!("{at}.{k}")) {
                            return Some(p);
                        }
                    }
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| format!("{at}.{k} (only in the POST answer)"))
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{at} ({} vs {} entries)", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (va, vb))| first_difference(va, vb, format!("{at}[{i}]")))
        }
        _ => (a != b).then(|| {
            format!(
                "{} ({a} vs {b})",
                if at.is_empty() { "the root" } else { &at }
            )
        }),
    }
}

fn cache_headers(get: &Exchange) -> RuleResult {
    let mut j = Judge::new();
    if !get.is(200) {
        return j.skip(
            "sim.cache-headers",
            "the GET did not answer 200 (see sim.get-purchase-context)",
        );
    }
    j.saw(get);
    let cc = get
        .header("cache-control")
        .unwrap_or("")
        .to_ascii_lowercase();
    let directives: Vec<&str> = cc.split(',').map(str::trim).collect();
    let forbids = directives
        .iter()
        .find(|d| matches!(**d, "no-store" | "no-cache" | "private"));
    let max_age = directives.iter().find_map(|d| {
        d.strip_prefix("max-age=")
            .or_else(|| d.strip_prefix("s-maxage="))
            .and_then(|n| n.parse::<u64>().ok())
    });
    if cc.is_empty() {
        j.problem(
            "no Cache-Control header on the GET answer (VTEX's storefront cache fills from it)",
        );
    } else if let Some(f) = forbids {
        j.problem(format!(
            "Cache-Control: {cc} ({f} keeps VTEX from caching a healthy answer)"
        ));
    } else if max_age.is_none_or(|a| a == 0) {
        j.problem(format!("Cache-Control: {cc} has no positive max-age"));
    }
    j.finish("sim.cache-headers", format!("Cache-Control: {cc}"))
}

async fn error_envelope(seller: &Seller) -> RuleResult {
    let mut j = Judge::new();
    let bad: [(&str, Body); 2] = [
        ("malformed JSON", Body::Raw("{\"items\": [".into())),
        (
            "no items",
            Body::Json(json!({"postalCode": "22051-030", "country": "BRA"})),
        ),
    ];
    for (what, b) in bad {
        let x = seller
            .call(Method::POST, ROUTE, &[], Some(b), Auth::Configured)
            .await;
        j.saw(&x);
        match x.status {
            Some(s) if (400..500).contains(&s) => {
                if let Some(p) = envelope_problem(&x) {
                    j.problem(format!("{what}: {p}"));
                }
            }
            _ => j.problem(format!("{what}: {}; expected a 4xx", x.describe())),
        }
    }
    j.finish(
        "sim.error-envelope",
        "malformed JSON and a body without items: 4xx with the envelope",
    )
}

async fn latency(seller: &Seller, cfg: &Config, body: &Value) -> RuleResult {
    let mut j = Judge::new();
    let mut ms: Vec<u64> = Vec::with_capacity(cfg.latency_requests);
    let mut slowest: Option<Exchange> = None;
    for _ in 0..cfg.latency_requests {
        let x = post(seller, body).await;
        if !x.is(200) {
            j.problem(format!("{} during the latency run", x.describe()));
            j.saw(&x);
            if x.status.is_none() {
                break;
            }
        }
        let t = x.elapsed.as_millis() as u64;
        if slowest.as_ref().is_none_or(|s| x.elapsed > s.elapsed) {
            slowest = Some(x);
        }
        ms.push(t);
    }
    ms.sort_unstable();
    let p = |q: f64| ms[((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
    let (p50, p99, max) = (p(0.50), p(0.99), *ms.last().unwrap_or(&0));
    if let Some(s) = &slowest {
        let mut e: Evidence = s.evidence();
        e.request = format!("{} (the slowest of {})", e.request, ms.len());
        j.saw_evidence(e);
    }
    j.ensure(p99 <= 2500, || {
        format!("p99 {p99} ms over {} checkout simulations exceeds VTEX's 2500 ms budget (p50 {p50} ms, max {max} ms)", ms.len())
    });
    j.finish(
        "sim.latency",
        format!(
            "{} checkout simulations: p50 {p50} ms, p99 {p99} ms, max {max} ms (budget 2500 ms)",
            ms.len()
        ),
    )
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "missing".into(),
        Some(v) => crate::report::truncate(&v.to_string(), 80),
    }
}
