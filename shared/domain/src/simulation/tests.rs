use super::*;
use crate::catalog::{Dimensions, PriceEntry, StockLevel};
use crate::shipping::{
    Carrier, DeliveryWindowTemplate, FreightPrice, PickupAddress, PostalCodeRange,
    ScheduledDelivery, Warehouse, Zone,
};
use chrono::TimeZone;
use std::collections::BTreeMap;

// GIVEN helpers -------------------------------------------------------------------------

fn now() -> DateTime<Utc> {
    // Wednesday 2026-11-18 12:00 UTC (09:00 in São Paulo).
    Utc.with_ymd_and_hms(2026, 11, 18, 12, 0, 0).unwrap()
}

fn price(an: Option<&str>, sc: Option<&str>, price: i64, list: i64) -> PriceEntry {
    PriceEntry {
        an: an.map(str::to_string),
        sc: sc.map(str::to_string),
        price: Cents(price),
        list_price: Cents(list),
        valid_until: None,
    }
}

fn sku(id: &str, stock: &[(&str, i64, i64)]) -> Sku {
    Sku {
        id: id.into(),
        active: true,
        name: format!("SKU {id}"),
        prices: vec![price(None, None, 9990, 10990)],
        stock: stock
            .iter()
            .map(|(l, on_hand, reserved)| {
                (
                    l.to_string(),
                    StockLevel {
                        on_hand: *on_hand,
                        reserved: *reserved,
                    },
                )
            })
            .collect::<BTreeMap<_, _>>(),
        sales_channels: vec![],
        dimensions: Dimensions {
            height_cm: 10.0,
            width_cm: 10.0,
            length_cm: 10.0,
            weight_g: 1200,
        },
        measurement_unit: "un".into(),
        unit_multiplier: 1,
        offerings: vec![],
        product: None,
    }
}

fn range(from: &str, to: &str) -> PostalCodeRange {
    PostalCodeRange {
        from: from.into(),
        to: to.into(),
    }
}

fn zone(ranges: &[(&str, &str)], per_line: i64, estimate: &str) -> Zone {
    Zone {
        country: "BRA".into(),
        postal_code_ranges: ranges.iter().map(|(a, b)| range(a, b)).collect(),
        price: FreightPrice {
            per_line: Cents(per_line),
            per_unit: Cents(0),
            per_kg: Cents(0),
        },
        shipping_estimate: estimate.parse().unwrap(),
    }
}

fn carrier(id: &str, warehouse: &str, zones: Vec<Zone>) -> Carrier {
    Carrier {
        id: id.into(),
        name: format!("Carrier {id}"),
        warehouse_id: warehouse.into(),
        zones,
        sales_channels: vec![],
        scheduled: None,
    }
}

fn pickup(id: &str, serves: Vec<Zone>) -> PickupPoint {
    PickupPoint {
        id: id.into(),
        name: format!("Retirada {id}"),
        friendly_name: format!("Loja {id}"),
        address: PickupAddress {
            postal_code: "22041-001".into(),
            city: "Rio de Janeiro".into(),
            state: "RJ".into(),
            country: "BRA".into(),
            street: "Avenida Nossa Senhora de Copacabana".into(),
            number: "680".into(),
            neighborhood: "Copacabana".into(),
            complement: String::new(),
            reference: None,
            geo_coordinates: [-43.1823, -22.9681],
        },
        serves,
        additional_info: String::new(),
        sales_channels: vec![],
    }
}

/// SP warehouse ships `Normal` to SP (01000-000..19999-999, 1000) and Rio (20000-000..28999-999,
/// 1500); a Rio store is a pickup point for Rio postal codes.
fn rules() -> ShippingRules {
    ShippingRules {
        ships_to: vec!["BRA".into()],
        warehouses: vec![Warehouse {
            id: "cd-sp".into(),
            name: "CD São Paulo".into(),
        }],
        carriers: vec![carrier(
            "Normal",
            "cd-sp",
            vec![
                zone(&[("01000-000", "19999-999")], 1000, "3bd"),
                zone(&[("20000-000", "28999-999")], 1500, "5bd"),
            ],
        )],
        pickup_points: vec![pickup(
            "loja-rio",
            vec![zone(&[("20000-000", "23799-999")], 0, "0bd")],
        )],
        follow_up_email: String::new(),
    }
}

fn request(items: &[(&str, i64)], postal: Option<&str>) -> SimulationRequest {
    SimulationRequest {
        items: items
            .iter()
            .map(|(id, q)| RequestedItem {
                id: id.to_string(),
                quantity: *q,
                seller: "1".into(),
            })
            .collect(),
        country: postal.map(|_| "BRA".to_string()),
        postal_code: postal.map(str::to_string),
        geo_coordinates: vec![],
    }
}

fn catalog(skus: Vec<Sku>) -> HashMap<SkuId, Sku> {
    skus.into_iter().map(|s| (s.id.clone(), s)).collect()
}

/// The result borrows its inputs; the tests build them as temporaries, so they are kept alive
/// for the rest of the test run (a few KB per test).
fn run(
    req: &SimulationRequest,
    skus: &HashMap<SkuId, Sku>,
    rules: &ShippingRules,
    sc: Option<&str>,
) -> SimulationResult<'static> {
    let req: &'static SimulationRequest = Box::leak(Box::new(req.clone()));
    let skus: &'static HashMap<SkuId, Sku> = Box::leak(Box::new(skus.clone()));
    let rules: &'static ShippingRules = Box::leak(Box::new(rules.clone()));
    let sc: Option<&'static str> = sc.map(|sc| &*Box::leak(sc.to_string().into_boxed_str()));
    simulate(
        req,
        &SimulationContext {
            skus,
            rules,
            an: None,
            sc,
            price_list: None,
            now: now(),
        },
    )
}

fn sla_ids<'a>(item: &QuotedItem<'a>) -> Vec<&'a str> {
    item.slas.iter().map(|s| s.id).collect()
}

fn assert_zeroed(item: &QuotedItem, index: usize) {
    assert_eq!(item.request_index, index);
    assert_eq!(item.quantity, 0);
    assert_eq!(item.stock_balance, 0);
    assert!(item.slas.is_empty());
    assert_eq!(
        item.delivery_channels,
        vec![ChannelStock {
            channel: DeliveryChannel::Delivery,
            stock_balance: 0
        }]
    );
    assert_eq!(*item.ships_to, ["BRA".to_string()]);
}

// Quantity --------------------------------------------------------------------------------

#[test]
fn quantity_is_clamped_to_sellable_and_stock_balance_is_not() {
    let skus = catalog(vec![
        sku("a", &[("cd-sp", 3, 0)]),
        sku("b", &[("cd-sp", 10, 0)]),
    ]);
    let r = run(&request(&[("a", 5), ("b", 2)], None), &skus, &rules(), None);
    assert_eq!((r.items[0].quantity, r.items[0].stock_balance), (3, 3));
    assert_eq!((r.items[1].quantity, r.items[1].stock_balance), (2, 10));
    assert_eq!(r.items[0].requested, 5);
}

#[test]
fn reserved_stock_is_not_sellable() {
    let skus = catalog(vec![
        sku("held", &[("cd-sp", 5, 5)]),
        sku("part", &[("cd-sp", 5, 3)]),
    ]);
    let r = run(
        &request(&[("held", 1), ("part", 4)], None),
        &skus,
        &rules(),
        None,
    );
    assert_eq!(r.items[0].availability, Availability::OutOfStock);
    assert_zeroed(&r.items[0], 0);
    assert_eq!((r.items[1].quantity, r.items[1].stock_balance), (2, 2));
}

#[test]
fn stock_at_locations_no_rule_names_is_not_sellable() {
    let skus = catalog(vec![sku("a", &[("cd-sp", 2, 0), ("old-dc", 50, 0)])]);
    let r = run(&request(&[("a", 10)], None), &skus, &rules(), None);
    assert_eq!((r.items[0].quantity, r.items[0].stock_balance), (2, 2));
}

// Unavailable items -------------------------------------------------------------------------

#[test]
fn unavailable_items_stay_in_place_zeroed() {
    let mut inactive = sku("inactive", &[("cd-sp", 9, 0)]);
    inactive.active = false;
    let mut other_sc = sku("sc2-only", &[("cd-sp", 9, 0)]);
    other_sc.sales_channels = vec!["2".into()];
    let mut unpriced = sku("mkp-only", &[("cd-sp", 9, 0)]);
    unpriced.prices = vec![price(Some("othermkp"), None, 500, 500)];
    let skus = catalog(vec![
        sku("ok", &[("cd-sp", 9, 0)]),
        inactive,
        other_sc,
        unpriced,
        sku("empty", &[("cd-sp", 0, 0)]),
    ]);
    let req = request(
        &[
            ("ok", 1),
            ("missing", 1),
            ("inactive", 1),
            ("sc2-only", 1),
            ("mkp-only", 1),
            ("empty", 1),
            ("ok", 2),
        ],
        Some("22051030"),
    );
    let r = run(&req, &skus, &rules(), Some("1"));
    let reasons: Vec<Availability> = r.items.iter().map(|i| i.availability).collect();
    assert_eq!(
        reasons,
        vec![
            Availability::Available,
            Availability::UnknownSku,
            Availability::Inactive,
            Availability::NotOnSalesChannel,
            Availability::NoPrice,
            Availability::OutOfStock,
            Availability::Available,
        ]
    );
    for (i, item) in r.items.iter().enumerate().skip(1).take(5) {
        assert_zeroed(item, i);
    }
    assert_eq!(r.unavailable_count(), 5);
    // Known price kept, unknown price zero.
    assert_eq!(r.items[1].price, Cents(0));
    assert_eq!(r.items[1].list_price, Cents(0));
    assert_eq!(r.items[2].price, Cents(9990));
    assert_eq!(r.items[4].price, Cents(0));
    assert_eq!(r.items[5].price, Cents(9990));
    // Ids and sellers are echoed, the last line is quoted on its own.
    assert_eq!(r.items[1].id, "missing");
    assert_eq!(r.items[6].request_index, 6);
    assert_eq!(r.items[6].quantity, 2);
    assert!(!r.items[6].slas.is_empty());
}

#[test]
fn price_follows_an_and_sc() {
    let mut s = sku("a", &[("cd-sp", 9, 0)]);
    s.prices = vec![
        price(None, None, 1000, 1200),
        price(None, Some("2"), 900, 1200),
        price(Some("mkp"), None, 800, 1200),
    ];
    let skus = catalog(vec![s]);
    let rules = rules();
    let req = request(&[("a", 1)], None);
    let quote = |an, sc| {
        simulate(
            &req,
            &SimulationContext {
                skus: &skus,
                rules: &rules,
                an,
                sc,
                price_list: None,
                now: now(),
            },
        )
        .items[0]
            .price
    };
    assert_eq!(quote(None, Some("1")), Cents(1000));
    assert_eq!(quote(None, Some("2")), Cents(900));
    assert_eq!(quote(Some("mkp"), Some("1")), Cents(800));
}

#[test]
fn a_price_past_its_valid_until_is_not_quoted() {
    let mut s = sku("a", &[("cd-sp", 9, 0)]);
    let mut promo = price(None, Some("1"), 800, 1200);
    promo.valid_until = Some(now() - chrono::Duration::minutes(1));
    let mut regular = price(None, None, 1000, 1200);
    regular.valid_until = Some(now() + chrono::Duration::days(30));
    s.prices = vec![promo.clone(), regular];
    let mut only_expired = sku("b", &[("cd-sp", 9, 0)]);
    only_expired.prices = vec![promo];
    let skus = catalog(vec![s, only_expired]);
    let r = run(
        &request(&[("a", 1), ("b", 1)], None),
        &skus,
        &rules(),
        Some("1"),
    );
    assert_eq!(r.items[0].price, Cents(1000));
    assert_eq!(
        r.items[0].price_valid_until,
        Some(now() + chrono::Duration::days(30))
    );
    assert_eq!(r.items[1].availability, Availability::NoPrice);
    assert_eq!(r.items[1].price, Cents(0));
    assert_zeroed(&r.items[1], 1);
}

#[test]
fn list_price_is_never_below_price() {
    let mut s = sku("a", &[("cd-sp", 9, 0)]);
    s.prices = vec![price(None, None, 1000, 900)];
    let skus = catalog(vec![s]);
    let r = run(&request(&[("a", 1)], None), &skus, &rules(), None);
    assert_eq!(
        (r.items[0].price, r.items[0].list_price),
        (Cents(1000), Cents(1000))
    );
}

// Channels ----------------------------------------------------------------------------------

#[test]
fn stock_is_reported_per_delivery_channel() {
    let skus = catalog(vec![
        sku("both", &[("cd-sp", 7, 0), ("loja-rio", 4, 1)]),
        sku("dc-only", &[("cd-sp", 7, 0), ("loja-rio", 0, 0)]),
    ]);
    let r = run(
        &request(&[("both", 1), ("dc-only", 1)], None),
        &skus,
        &rules(),
        None,
    );
    assert_eq!(r.items[0].stock_balance, 10);
    assert_eq!(
        r.items[0].delivery_channels,
        vec![
            ChannelStock {
                channel: DeliveryChannel::Delivery,
                stock_balance: 7
            },
            ChannelStock {
                channel: DeliveryChannel::PickupInPoint,
                stock_balance: 3
            },
        ]
    );
    assert_eq!(
        r.items[1].delivery_channels.len(),
        1,
        "empty pickup channel omitted"
    );
}

#[test]
fn a_store_that_ships_and_hands_over_is_counted_once() {
    let mut rules = rules();
    rules.pickup_points[0].id = "cd-sp".into();
    let skus = catalog(vec![sku("a", &[("cd-sp", 5, 0)])]);
    let r = run(&request(&[("a", 9)], None), &skus, &rules, None);
    assert_eq!(r.items[0].stock_balance, 5);
    assert_eq!(r.items[0].quantity, 5);
    let per_channel: Vec<i64> = r.items[0]
        .delivery_channels
        .iter()
        .map(|c| c.stock_balance)
        .collect();
    assert_eq!(per_channel, vec![5, 5]);
}

#[test]
fn pickup_only_stock_still_sells() {
    let skus = catalog(vec![sku("a", &[("loja-rio", 2, 0)])]);
    let r = run(
        &request(&[("a", 1)], Some("22051-030")),
        &skus,
        &rules(),
        None,
    );
    assert_eq!(r.items[0].availability, Availability::Available);
    assert_eq!(r.items[0].delivery_channels[0].stock_balance, 0);
    assert_eq!(sla_ids(&r.items[0]), vec!["loja-rio"]);
}

// Modes -------------------------------------------------------------------------------------

#[test]
fn indexation_has_real_price_and_stock_but_no_slas_nor_address() {
    let skus = catalog(vec![sku("a", &[("cd-sp", 99, 0)])]);
    let mut req = request(&[("a", 1)], None);
    req.country = Some("BRA".into());
    let r = run(&req, &skus, &rules(), None);
    assert_eq!(r.mode, Mode::Indexation);
    assert_eq!((r.country, r.postal_code), (None, None));
    assert_eq!(r.items[0].price, Cents(9990));
    assert_eq!((r.items[0].quantity, r.items[0].stock_balance), (1, 99));
    assert!(r.items[0].slas.is_empty());

    let checkout = run(
        &request(&[("a", 1)], Some("01310-100")),
        &skus,
        &rules(),
        None,
    );
    assert_eq!(checkout.mode, Mode::Checkout);
    assert_eq!(checkout.items[0].price, r.items[0].price);
    assert_eq!(checkout.postal_code, Some("01310-100"));
    assert_eq!(checkout.country, Some("BRA"));
}

#[test]
fn coordinates_alone_mean_checkout() {
    let mut req = request(&[("a", 1)], None);
    req.postal_code = Some("  ".into());
    assert_eq!(req.mode(), Mode::Indexation);
    req.geo_coordinates = vec![-43.18, -22.96];
    assert_eq!(req.mode(), Mode::Checkout);
}

// SLAs --------------------------------------------------------------------------------------

#[test]
fn carriers_are_chosen_by_postal_code_range() {
    let skus = catalog(vec![sku("a", &[("cd-sp", 9, 0)])]);
    let rules = rules();
    let sp = run(
        &request(&[("a", 1)], Some("01310-100")),
        &skus,
        &rules,
        None,
    );
    assert_eq!(sla_ids(&sp.items[0]), vec!["Normal"]);
    assert_eq!(sp.items[0].slas[0].price, Cents(1000));
    assert_eq!(sp.items[0].slas[0].shipping_estimate.to_string(), "3bd");
    assert_eq!(sp.items[0].slas[0].channel, DeliveryChannel::Delivery);
    assert!(sp.items[0].slas[0].pickup_point.is_none());

    let rio = run(&request(&[("a", 1)], Some("22051030")), &skus, &rules, None);
    assert_eq!(rio.items[0].slas[0].price, Cents(1500));
    assert_eq!(rio.items[0].slas[0].shipping_estimate.to_string(), "5bd");

    let manaus = run(
        &request(&[("a", 1)], Some("69005-000")),
        &skus,
        &rules,
        None,
    );
    assert!(manaus.items[0].slas.is_empty(), "no zone reaches 69005-000");
    assert_eq!(
        manaus.items[0].quantity, 1,
        "unreachable keeps its quantity"
    );
    assert_eq!(manaus.items[0].stock_balance, 9);
}

#[test]
fn a_region_zone_covers_its_whole_country_and_nothing_abroad() {
    let mut rules = rules();
    rules.ships_to.push("ARG".into());
    rules.carriers[0].zones.push(zone(&[], 4000, "10bd"));
    let skus = catalog(vec![sku("a", &[("cd-sp", 9, 0)])]);
    let manaus = run(
        &request(&[("a", 1)], Some("69005-000")),
        &skus,
        &rules,
        None,
    );
    assert_eq!(manaus.items[0].slas[0].price, Cents(4000));
    let mut abroad = request(&[("a", 1)], Some("C1002"));
    abroad.country = Some("ARG".into());
    assert!(run(&abroad, &skus, &rules, None).items[0].slas.is_empty());
}

#[test]
fn no_slas_outside_ships_to_or_without_country() {
    let skus = catalog(vec![sku("a", &[("cd-sp", 9, 0)])]);
    let mut req = request(&[("a", 1)], Some("01310-100"));
    req.country = Some("PRT".into());
    assert!(run(&req, &skus, &rules(), None).items[0].slas.is_empty());
    req.country = None;
    let r = run(&req, &skus, &rules(), None);
    assert!(r.items[0].slas.is_empty());
    assert_eq!(r.items[0].quantity, 1);
}

#[test]
fn freight_is_priced_per_item_line() {
    let mut rules = rules();
    rules.carriers[0].zones[0].price = FreightPrice {
        per_line: Cents(500),
        per_unit: Cents(100),
        per_kg: Cents(200),
    };
    let skus = catalog(vec![sku("a", &[("cd-sp", 9, 0)])]);
    // 3 units of 1.2 kg = 3.6 kg → 4 kg: 500 + 3×100 + 4×200.
    let r = run(
        &request(&[("a", 3), ("a", 1)], Some("01310100")),
        &skus,
        &rules,
        None,
    );
    assert_eq!(r.items[0].slas[0].price, Cents(1600));
    // One unit: 500 + 100 + ⌈1.2⌉ = 2 kg × 200.
    assert_eq!(r.items[1].slas[0].price, Cents(1000));
}

#[test]
fn freight_uses_the_clamped_quantity() {
    let mut rules = rules();
    rules.carriers[0].zones[0].price.per_unit = Cents(100);
    let skus = catalog(vec![sku("a", &[("cd-sp", 2, 0)])]);
    let r = run(
        &request(&[("a", 10)], Some("01310100")),
        &skus,
        &rules,
        None,
    );
    assert_eq!(r.items[0].quantity, 2);
    assert_eq!(r.items[0].slas[0].price, Cents(1200));
}

#[test]
fn pickup_is_offered_only_with_stock_at_the_point() {
    let skus = catalog(vec![
        sku("stocked", &[("cd-sp", 9, 0), ("loja-rio", 2, 0)]),
        sku("not-there", &[("cd-sp", 9, 0)]),
    ]);
    let req = request(
        &[("stocked", 1), ("not-there", 1), ("stocked", 3)],
        Some("22051030"),
    );
    let r = run(&req, &skus, &rules(), None);
    assert_eq!(sla_ids(&r.items[0]), vec!["Normal", "loja-rio"]);
    let pickup = &r.items[0].slas[1];
    assert_eq!(pickup.channel, DeliveryChannel::PickupInPoint);
    assert_eq!(pickup.price, Cents(0));
    assert_eq!(pickup.location_id, "loja-rio");
    assert_eq!(
        pickup
            .pickup_point
            .as_ref()
            .map(|p| p.friendly_name.as_str()),
        Some("Loja loja-rio")
    );
    assert_eq!(sla_ids(&r.items[1]), vec!["Normal"]);
    // 3 units: the store has only 2, so only the warehouse can serve the line.
    assert_eq!(sla_ids(&r.items[2]), vec!["Normal"]);
}

#[test]
fn pickup_is_offered_only_to_postal_codes_it_serves() {
    let skus = catalog(vec![sku("a", &[("cd-sp", 9, 0), ("loja-rio", 2, 0)])]);
    let r = run(
        &request(&[("a", 1)], Some("01310-100")),
        &skus,
        &rules(),
        None,
    );
    assert_eq!(sla_ids(&r.items[0]), vec!["Normal"]);
}

#[test]
fn an_sla_needs_the_whole_line_at_its_location() {
    let mut rules = rules();
    rules.warehouses.push(Warehouse {
        id: "cd-rj".into(),
        name: "CD Rio".into(),
    });
    rules.carriers.push(carrier(
        "Expressa",
        "cd-rj",
        vec![zone(&[("20000-000", "28999-999")], 2500, "1bd")],
    ));
    let skus = catalog(vec![sku("a", &[("cd-sp", 3, 0), ("cd-rj", 5, 0)])]);
    let r = run(
        &request(&[("a", 4), ("a", 6)], Some("22051030")),
        &skus,
        &rules,
        None,
    );
    assert_eq!(r.items[0].quantity, 4);
    assert_eq!(sla_ids(&r.items[0]), vec!["Expressa"]);
    assert_eq!(r.items[1].quantity, 6);
    assert!(r.items[1].slas.is_empty(), "no single location holds 6");
}

#[test]
fn sales_channel_filters_carriers_pickups_and_their_stock() {
    let mut rules = rules();
    rules.warehouses.push(Warehouse {
        id: "cd-b2b".into(),
        name: "CD B2B".into(),
    });
    let mut b2b = carrier("Economica", "cd-b2b", vec![zone(&[], 300, "10bd")]);
    b2b.sales_channels = vec!["2".into()];
    rules.carriers.push(b2b);
    rules.pickup_points[0].sales_channels = vec!["1".into()];
    let skus = catalog(vec![sku(
        "a",
        &[("cd-sp", 1, 0), ("cd-b2b", 40, 0), ("loja-rio", 2, 0)],
    )]);
    let req = request(&[("a", 1)], Some("22051030"));

    let sc1 = run(&req, &skus, &rules, Some("1"));
    assert_eq!(sla_ids(&sc1.items[0]), vec!["Normal", "loja-rio"]);
    assert_eq!(
        sc1.items[0].stock_balance, 3,
        "B2B warehouse not counted on sc 1"
    );

    let sc2 = run(&req, &skus, &rules, Some("2"));
    assert_eq!(sla_ids(&sc2.items[0]), vec!["Normal", "Economica"]);
    assert_eq!(
        sc2.items[0].stock_balance, 41,
        "pickup point not counted on sc 2"
    );
    assert_eq!(sc2.items[0].delivery_channels.len(), 1);
}

// Scheduled delivery -----------------------------------------------------------------------

fn scheduled_rules(schedule: ScheduledDelivery) -> ShippingRules {
    let mut rules = rules();
    let mut agendada = carrier(
        "Agendada",
        "cd-sp",
        vec![zone(&[("20000-000", "23799-999")], 800, "5d")],
    );
    agendada.scheduled = Some(schedule);
    rules.carriers.push(agendada);
    rules
}

fn schedule(first_day_offset: u32, days_ahead: u32, skip_weekends: bool) -> ScheduledDelivery {
    ScheduledDelivery {
        first_day_offset,
        days_ahead,
        utc_offset_minutes: -180,
        skip_weekends,
        windows: vec![
            DeliveryWindowTemplate {
                start: "08:00".into(),
                end: "12:00".into(),
                price: Cents(0),
            },
            DeliveryWindowTemplate {
                start: "18:00".into(),
                end: "22:00".into(),
                price: Cents(500),
            },
        ],
    }
}

fn utc(d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap()
}

#[test]
fn scheduled_delivery_offers_windows() {
    let skus = catalog(vec![sku("a", &[("cd-sp", 9, 0)])]);
    let rules = scheduled_rules(schedule(1, 2, false));
    let r = run(&request(&[("a", 1)], Some("22051030")), &skus, &rules, None);
    assert_eq!(sla_ids(&r.items[0]), vec!["Normal", "Agendada"]);
    let agendada = &r.items[0].slas[1];
    assert_eq!(agendada.price, Cents(800));
    assert_eq!(agendada.shipping_estimate.to_string(), "5d");
    let windows: Vec<(DateTime<Utc>, DateTime<Utc>, Cents)> = agendada
        .delivery_windows()
        .iter()
        .map(|w| (w.start, w.end, w.price))
        .collect();
    // Thursday and Friday, 08-12 and 18-22 in UTC-3.
    assert_eq!(
        windows,
        vec![
            (utc(19, 11), utc(19, 15), Cents(0)),
            (utc(19, 21), utc(20, 1), Cents(500)),
            (utc(20, 11), utc(20, 15), Cents(0)),
            (utc(20, 21), utc(21, 1), Cents(500)),
        ]
    );
    assert!(r.items[0].slas[0].delivery_windows().is_empty());
}

#[test]
fn windows_count_days_in_the_windows_time_zone() {
    // Saturday 01:00 UTC is still Friday 22:00 in UTC-3: "tomorrow" is Saturday, not Sunday.
    let now = utc(21, 1);
    let slots = schedule(1, 1, false).windows_at(now);
    assert_eq!(slots[0].start, utc(21, 11));
    // Skipping weekends moves the one delivery day to Monday.
    let slots = schedule(1, 1, true).windows_at(now);
    assert_eq!(slots[0].start, utc(23, 11));
    assert_eq!(slots.len(), 2);
}

#[test]
fn windows_that_already_started_are_not_offered() {
    // Wednesday 12:00 UTC = 09:00 local: today's 08:00 window has started, 18:00 has not.
    let slots = schedule(0, 1, false).windows_at(now());
    assert_eq!(slots.len(), 1);
    assert_eq!(slots[0].start, utc(18, 21));
}

#[test]
fn scheduled_carrier_without_future_windows_is_not_offered() {
    let skus = catalog(vec![sku("a", &[("cd-sp", 9, 0)])]);
    let mut s = schedule(0, 1, false);
    s.windows.truncate(1); // only 08:00-12:00, already started at 09:00 local
    let rules = scheduled_rules(s);
    let r = run(&request(&[("a", 1)], Some("22051030")), &skus, &rules, None);
    assert_eq!(sla_ids(&r.items[0]), vec!["Normal"]);
}

// The sample catalog (shared/sample/catalog.json) ------------------------------------------

fn sample() -> crate::catalog::CatalogFile {
    serde_json::from_str(include_str!("../../../sample/catalog.json")).unwrap()
}

#[test]
fn sample_catalog_parses_with_sound_rules_and_at_least_50_skus() {
    let file = sample();
    assert!(file.skus.len() >= 50, "{} SKUs", file.skus.len());
    assert_eq!(file.shipping_rules.validate(), Vec::<String>::new());
    for id in ["2000037", "34562", "7908010136043", "2002129", "2002495"] {
        assert!(
            file.skus.iter().any(|s| s.id == id),
            "example SKU {id} missing"
        );
    }
    let ids: std::collections::HashSet<&str> = file.skus.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids.len(), file.skus.len(), "SKU ids are unique");
}

#[test]
fn sample_catalog_tells_the_protocol_examples_story() {
    let file = sample();
    let skus = catalog(file.skus);
    let rules = file.shipping_rules;
    // simulation-checkout.request.json: Rio de Janeiro, item 2 asks 2 of a SKU with 1 in stock.
    let r = run(
        &request(&[("2000037", 1), ("34562", 2)], Some("22051030")),
        &skus,
        &rules,
        Some("1"),
    );
    let (a, b) = (&r.items[0], &r.items[1]);
    assert_eq!(
        (a.price, a.list_price, a.quantity, a.stock_balance),
        (Cents(67203), Cents(67203), 1, 199)
    );
    let channels: Vec<i64> = a
        .delivery_channels
        .iter()
        .map(|c| c.stock_balance)
        .collect();
    assert_eq!(channels, vec![179, 20]);
    assert_eq!(
        sla_ids(a),
        vec!["Normal", "Expressa", "Agendada", "retira-copacabana"]
    );
    let prices: Vec<i64> = a.slas.iter().map(|s| s.price.0).collect();
    assert_eq!(prices, vec![1000, 2990, 800, 0]);
    assert!(!a.slas[2].delivery_windows().is_empty());
    assert_eq!(a.offerings.len(), 1);
    assert_eq!(
        (b.price, b.list_price, b.quantity, b.stock_balance),
        (Cents(890), Cents(990), 1, 1)
    );
    assert_eq!(b.slas[0].price, Cents(200));

    // order-placement.request.json: 2002495 at 9990 with Normal freight 1090 to Americana (SP).
    let r = run(
        &request(&[("2002495", 1)], Some("13476103")),
        &skus,
        &rules,
        Some("1"),
    );
    assert_eq!(r.items[0].price, Cents(9990));
    assert_eq!(sla_ids(&r.items[0]), vec!["Normal"]);
    assert_eq!(r.items[0].slas[0].price, Cents(1090));

    // simulation-indexation: 7390 / 7490, 99 in stock.
    let r = run(
        &request(&[("7908010136043", 1)], None),
        &skus,
        &rules,
        Some("1"),
    );
    assert_eq!(
        (r.items[0].price, r.items[0].list_price),
        (Cents(7390), Cents(7490))
    );
    assert_eq!(r.items[0].stock_balance, 99);
}

#[test]
fn sample_catalog_has_unavailable_items_and_a_second_price_list() {
    let file = sample();
    let skus = catalog(file.skus);
    let rules = file.shipping_rules;
    let ids = [
        "2001037", "2001044", "2001045", "2009001", "2009002", "2001001",
    ];
    let req = request(&ids.map(|id| (id, 1)), None);
    let sc1 = run(&req, &skus, &rules, Some("1"));
    let reasons: Vec<Availability> = sc1.items.iter().map(|i| i.availability).collect();
    assert_eq!(
        reasons,
        vec![
            Availability::Inactive,
            Availability::OutOfStock,
            Availability::OutOfStock,
            Availability::NotOnSalesChannel,
            Availability::NoPrice,
            Availability::Available,
        ]
    );
    let sc2 = run(&req, &skus, &rules, Some("2"));
    assert_eq!(sc2.items[3].availability, Availability::Available);
    assert!(sc2.items[5].price < sc1.items[5].price, "sc 2 is 10% off");
}

#[test]
fn sample_postal_codes_reach_what_the_sample_readme_says() {
    let file = sample();
    let skus = catalog(file.skus);
    let rules = file.shipping_rules;
    let quote = |postal: &str, sc: &str| {
        let r = run(
            &request(&[("2002129", 1)], Some(postal)),
            &skus,
            &rules,
            Some(sc),
        );
        sla_ids(&r.items[0])
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let curbside = "548304ed-dd40-4416-b12b-4b32bfa7b1e0";
    assert_eq!(quote("01310-100", "1"), ["Normal", "Expressa", "Agendada"]);
    assert_eq!(
        quote("22051-030", "1"),
        ["Normal", "Expressa", "Agendada", "retira-copacabana"]
    );
    assert_eq!(quote("13476-103", "1"), ["Normal"]);
    assert_eq!(quote("30130-010", "1"), ["Normal"]);
    assert_eq!(quote("82320-040", "1"), ["Normal", curbside]);
    assert_eq!(quote("82320-040", "2"), ["Normal", "Economica"]);
    assert_eq!(quote("69005-000", "1"), ["Normal"]);
}
