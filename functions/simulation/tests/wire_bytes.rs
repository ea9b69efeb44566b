//! `simulation::wire::response_json` writes exactly the bytes serde_json writes for
//! `vtex::simulation::SimulationResponse::from_result` (the definition of the wire shape), over
//! many carts: every SKU of the sample catalog and unknown ones, several destinations (checkout,
//! indexation, geolocation only, abroad), sales channels, accounts, times, a merchant name, and a
//! catalog whose texts need escaping.

use chrono::{DateTime, TimeZone, Utc};
use domain::catalog::{CatalogFile, Offering, Sku, SkuId};
use domain::money::Cents;
use domain::simulation::{RequestedItem, SimulationContext, SimulationRequest, simulate};
use simulation::wire::{TailCache, response_json, response_json_cached};
use std::collections::HashMap;
use vtex::simulation::SimulationResponse;

fn sample() -> CatalogFile {
    serde_json::from_str(include_str!("../../../shared/sample/catalog.json")).unwrap()
}

/// The sample catalog with texts JSON must escape: quotes, backslashes, every kind of control
/// character (short forms and `\u00xx`) and what must not be escaped (non-ASCII, DEL, `/`), in
/// SKU, offering and pickup-point fields.
fn awkward(mut file: CatalogFile) -> CatalogFile {
    let odd =
        "Caf\u{e9} \"Ñandú\" \\ tab\t nl\n cr\r \u{1}\u{8}\u{c}\u{1f}\u{7f} ✓ </script> / \u{2028}";
    for (n, sku) in file.skus.iter_mut().enumerate().step_by(3) {
        sku.measurement_unit = format!("un{odd}");
        sku.offerings.push(Offering {
            kind: format!("Garantia {odd}"),
            id: format!("of-{n}"),
            name: odd.to_string(),
            price: Cents(1990 + n as i64),
        });
    }
    for p in &mut file.shipping_rules.pickup_points {
        p.friendly_name = format!("{} {odd}", p.friendly_name);
        p.additional_info = odd.to_string();
        p.address.reference = Some(odd.to_string());
        p.address.geo_coordinates = [-43.182_345_678_9, -0.0];
    }
    for c in &mut file.shipping_rules.carriers {
        c.name = format!("{} {odd}", c.name);
    }
    file
}

/// A small deterministic generator (no dependency for randomness).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

fn times() -> [DateTime<Utc>; 3] {
    [
        Utc.with_ymd_and_hms(2026, 11, 18, 12, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 11, 21, 22, 30, 0).unwrap(),
        Utc.with_ymd_and_hms(2028, 1, 3, 2, 0, 0).unwrap(),
    ]
}

fn check(file: &CatalogFile, seed: u64, carts: usize) {
    let skus: HashMap<SkuId, Sku> = file
        .skus
        .iter()
        .map(|s| (s.id.clone(), s.clone()))
        .collect();
    let mut ids: Vec<String> = file.skus.iter().map(|s| s.id.clone()).collect();
    ids.push("no-such-sku".into());
    let destinations: [(Option<&str>, Option<&str>, Vec<f64>); 7] = [
        (Some("BRA"), Some("22051-030"), vec![]),
        (Some("BRA"), Some("01310-100"), vec![]),
        (Some("bra"), Some("69005-000"), vec![]),
        (Some("BRA"), None, vec![-43.18, -22.96]),
        (Some("ARG"), Some("1000"), vec![]),
        (None, Some("22051-030"), vec![]),
        (None, None, vec![]),
    ];
    let scopes = [
        (None, None),
        (None, Some("1")),
        (None, Some("2")),
        (Some("parceiromkp"), Some("1")),
    ];
    let merchants = [None, Some("Loja \"Centro\" \\ ✓")];
    // One cache for every cart, as one handler keeps it for every request.
    let cache = TailCache::default();
    let mut rng = Lcg(seed);
    for n in 0..carts {
        let len = 1 + rng.next(if n % 5 == 0 { 60 } else { 6 });
        let items = (0..len)
            .map(|_| RequestedItem {
                id: ids[rng.next(ids.len())].clone(),
                quantity: [0, 1, 2, 3, 7, 500][rng.next(6)],
                seller: "1".into(),
            })
            .collect();
        let (country, postal, geo) = &destinations[rng.next(destinations.len())];
        let request = SimulationRequest {
            items,
            country: country.map(str::to_string),
            postal_code: postal.map(str::to_string),
            geo_coordinates: geo.clone(),
        };
        let (an, sc) = scopes[rng.next(scopes.len())];
        let now = times()[rng.next(3)];
        let result = simulate(
            &request,
            &SimulationContext {
                skus: &skus,
                rules: &file.shipping_rules,
                an,
                sc,
                price_list: None,
                now,
            },
        );
        let merchant = merchants[rng.next(2)];
        let want =
            serde_json::to_string(&SimulationResponse::from_result(&result, merchant)).unwrap();
        let got = response_json(&result, merchant);
        assert!(
            got == want,
            "cart {n} ({request:?}, an {an:?}, sc {sc:?}, {now}): first difference at byte {}\n\
             got:  {}\nwant: {}",
            first_difference(&got, &want),
            excerpt(&got, first_difference(&got, &want)),
            excerpt(&want, first_difference(&got, &want)),
        );
        let cached = response_json_cached(&result, merchant, &cache);
        assert!(
            cached == want,
            "cart {n}, tails from the cache: first difference at byte {}",
            first_difference(&cached, &want)
        );
    }
}

fn first_difference(a: &str, b: &str) -> usize {
    a.bytes()
        .zip(b.bytes())
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()))
}

fn excerpt(s: &str, at: usize) -> String {
    let from = at.saturating_sub(80);
    String::from_utf8_lossy(&s.as_bytes()[from..(at + 80).min(s.len())]).into_owned()
}

#[test]
fn the_sample_catalog_answers_byte_for_byte_as_the_dtos_serialize() {
    check(&sample(), 1, 400);
}

#[test]
fn texts_that_need_escaping_answer_byte_for_byte_as_the_dtos_serialize() {
    check(&awkward(sample()), 2, 400);
}

#[test]
fn an_empty_cart_and_a_50_item_checkout_to_rio_match() {
    let file = sample();
    let skus: HashMap<SkuId, Sku> = file
        .skus
        .iter()
        .map(|s| (s.id.clone(), s.clone()))
        .collect();
    for items in [0, 50] {
        let request = SimulationRequest {
            items: file
                .skus
                .iter()
                .take(items)
                .map(|s| RequestedItem {
                    id: s.id.clone(),
                    quantity: 1,
                    seller: "1".into(),
                })
                .collect(),
            country: Some("BRA".into()),
            postal_code: Some("22051-030".into()),
            geo_coordinates: vec![],
        };
        let result = simulate(
            &request,
            &SimulationContext {
                skus: &skus,
                rules: &file.shipping_rules,
                an: None,
                sc: Some("1"),
                price_list: None,
                now: times()[0],
            },
        );
        let want = serde_json::to_string(&SimulationResponse::from_result(&result, None)).unwrap();
        assert_eq!(response_json(&result, None), want);
    }
}
