//! The fault test: a few hundred ERP messages for a few dozen orders, with duplicates (some
//! arriving late, after what followed them), groups interleaved at random, three concurrent
//! pollers, and a VTEX stand-in that fails every fifth call (plus 429s with Retry-After). At the
//! end every invoice, tracking update, carrier event and cancellation is at the stand-in exactly
//! once, and nothing is left in the queues but what the rules rejected (in the DLQ).

use crate::dispatch_support::*;
use domain::erp::OrderRef;
use domain::invoicing::InvoiceType::{Input, Output};
use domain::order::OrderStatus;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use vtex_standin::FaultPlan;

/// xorshift64*: deterministic, so a failure reproduces with the printed seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Story {
    /// One package: invoice, tracking, carrier events, delivered.
    Single,
    /// Two packages: two partial invoices, two trackings, both delivered.
    Split,
    /// Invoice, full return, cancel.
    ReturnThenCancel,
    /// Invoice, then two messages that break rules, then tracking.
    RuleBreaker,
}

struct Planned {
    order_id: String,
    mkp_id: String,
    story: Story,
    /// `(body, rejected by a rule)`, in ERP order.
    messages: Vec<(String, bool)>,
}

fn plan(i: usize) -> (Planned, Vec<Line<'static>>) {
    let order_id = format!("SLR-FT{i:03}");
    let mkp_id = format!("{}-01", 5_000_000 + i);
    let o = if i.is_multiple_of(2) {
        OrderRef::by_order_id(&order_id)
    } else {
        OrderRef::by_marketplace_id(&mkp_id, None)
    };
    let story = [
        Story::Single,
        Story::Split,
        Story::ReturnThenCancel,
        Story::RuleBreaker,
    ][i % 4];
    let ok = |b: String| (b, false);
    let (lines, messages): (Vec<Line<'static>>, Vec<(String, bool)>) = match story {
        Story::Single => (
            vec![("FA", 1, 2000, 300)],
            vec![
                ok(invoice_msg(
                    &o,
                    invoice(Output, "N1", 2300, &[("FA", 1, 2000)]),
                )),
                ok(tracking_msg(&o, "N1", &format!("SR{i}"))),
                ok(status_msg(
                    &o,
                    "N1",
                    false,
                    vec![
                        event("Coletado", "2024-02-08"),
                        event("Em transito", "2024-02-09"),
                    ],
                )),
                ok(status_msg(
                    &o,
                    "N1",
                    true,
                    vec![
                        event("Coletado", "2024-02-08"),
                        event("Em transito", "2024-02-09"),
                        event("Entregue", "2024-02-10"),
                    ],
                )),
            ],
        ),
        Story::Split => (
            vec![("FB1", 2, 1000, 200), ("FB2", 1, 1500, 100)],
            vec![
                ok(invoice_msg(
                    &o,
                    invoice(Output, "P1", 2200, &[("FB1", 2, 1000)]),
                )),
                ok(tracking_msg(&o, "P1", &format!("SR{i}a"))),
                ok(invoice_msg(
                    &o,
                    invoice(Output, "P2", 1600, &[("FB2", 1, 1500)]),
                )),
                ok(tracking_msg(&o, "P2", &format!("SR{i}b"))),
                ok(status_msg(
                    &o,
                    "P1",
                    true,
                    vec![event("Entregue", "2024-02-10")],
                )),
                ok(status_msg(
                    &o,
                    "P2",
                    true,
                    vec![event("Entregue", "2024-02-11")],
                )),
            ],
        ),
        Story::ReturnThenCancel => (
            vec![("FC", 1, 3000, 0)],
            vec![
                ok(invoice_msg(
                    &o,
                    invoice(Output, "N1", 3000, &[("FC", 1, 3000)]),
                )),
                ok(invoice_msg(
                    &o,
                    invoice(Input, "R1", 3000, &[("FC", 1, 3000)]),
                )),
                ok(cancel_msg(&o, "Returned by the customer")),
            ],
        ),
        Story::RuleBreaker => (
            vec![("FD", 1, 1000, 100)],
            vec![
                ok(invoice_msg(
                    &o,
                    invoice(Output, "N1", 1100, &[("FD", 1, 1000)]),
                )),
                (cancel_msg(&o, "Too late"), true),
                (
                    invoice_msg(&o, invoice(Output, "N2", 1100, &[("FD", 1, 1000)])),
                    true,
                ),
                ok(tracking_msg(&o, "N1", &format!("SR{i}"))),
            ],
        ),
    };
    (
        Planned {
            order_id,
            mkp_id,
            story,
            messages,
        },
        lines,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_faults_duplicates_and_reordering_every_update_lands_exactly_once() {
    let Some(b) = bench(10).await else { return };
    let seed: u64 = std::env::var("DISPATCH_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_2024_0207);
    eprintln!("fault test seed: {seed} (DISPATCH_FAULT_SEED)");
    let mut rng = Rng(seed);
    const ORDERS: usize = 48;

    let mut planned = Vec::new();
    for i in 0..ORDERS {
        let (p, lines) = plan(i);
        b.authorized_order(&p.order_id, &p.mkp_id, &lines).await;
        planned.push(p);
    }

    // Per order, the delivery sequence: originals in order, ~30 % duplicated at a random later
    // point (a late duplicate overtakes nothing but arrives after what followed its original).
    let mut sequences: Vec<Vec<(String, bool)>> = planned
        .iter()
        .map(|p| {
            let mut seq = p.messages.clone();
            for (k, m) in p.messages.iter().enumerate() {
                if rng.below(10) < 3 {
                    let at = k + 1 + rng.below(seq.len() - k);
                    seq.insert(at.min(seq.len()), m.clone());
                }
            }
            seq
        })
        .collect();
    let expected_rejections: usize = sequences.iter().flatten().filter(|m| m.1).count();
    let total: usize = sequences.iter().map(Vec::len).sum();
    eprintln!("sending {total} messages for {ORDERS} orders");
    assert!(total >= 200, "a few hundred messages");

    b.standin.state().set_faults(FaultPlan {
        fail_every: Some(5),
        status: Some(500),
        next: vec![429, 429, 503],
        retry_after: Some(1),
        ..FaultPlan::default()
    });
    // Groups interleaved at random, each group's own order kept (FIFO).
    let mut cursors = vec![0usize; ORDERS];
    let mut remaining = total;
    while remaining > 0 {
        let i = rng.below(ORDERS);
        if cursors[i] < sequences[i].len() {
            let body = std::mem::take(&mut sequences[i][cursors[i]].0);
            b.send(&planned[i].order_id, &body).await;
            cursors[i] += 1;
            remaining -= 1;
        }
    }
    b.pump(3).await;

    let journal = b.standin.state().requests();
    let faulted = journal.iter().filter(|r| r.faulted).count();
    assert!(
        faulted >= journal.len() / 6,
        "the stand-in failed a fifth of calls"
    );

    // What the stand-in accepted, by (method, path).
    let mut posts: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut patches: BTreeMap<String, usize> = BTreeMap::new();
    let mut events: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut delivered: BTreeMap<String, usize> = BTreeMap::new();
    let mut cancels: BTreeMap<String, usize> = BTreeMap::new();
    for r in b.accepted() {
        match r.method.as_str() {
            "POST" if r.path.ends_with("/invoice") => {
                let n = r.body["invoiceNumber"].as_str().unwrap().to_string();
                *posts.entry((r.path.clone(), n)).or_default() += 1;
            }
            "POST" if r.path.ends_with("/cancel") => *cancels.entry(r.path).or_default() += 1,
            "PATCH" => *patches.entry(r.path).or_default() += 1,
            "PUT" => {
                events
                    .entry(r.path.clone())
                    .or_default()
                    .extend(r.body["events"].as_array().unwrap().iter().cloned());
                if r.body["isDelivered"] == true {
                    *delivered.entry(r.path).or_default() += 1;
                }
            }
            other => panic!("unexpected call {other} {}", r.path),
        }
    }
    let once = |counts: Vec<usize>| counts.iter().all(|c| *c == 1);
    assert!(
        once(posts.values().copied().collect()),
        "an invoice POSTed twice: {posts:?}"
    );
    assert!(
        once(patches.values().copied().collect()),
        "a tracking PATCHed twice: {patches:?}"
    );
    assert!(
        once(delivered.values().copied().collect()),
        "delivery sent twice: {delivered:?}"
    );
    assert!(
        once(cancels.values().copied().collect()),
        "a cancel sent twice: {cancels:?}"
    );
    for (path, evs) in &events {
        let distinct: BTreeSet<String> = evs.iter().map(Value::to_string).collect();
        assert_eq!(
            distinct.len(),
            evs.len(),
            "an event was sent twice on {path}"
        );
    }

    let base = |p: &Planned| format!("/api/oms/pvt/orders/{}", p.mkp_id);
    let mut expected_posts = 0;
    let mut expected_patches = 0;
    for p in &planned {
        let status = b.status(&p.order_id).await;
        let inv = |n: &str| posts.contains_key(&(format!("{}/invoice", base(p)), n.to_string()));
        let track = |n: &str| format!("{}/invoice/{n}/tracking", base(p));
        match p.story {
            Story::Single => {
                assert_eq!(status, OrderStatus::Delivered, "{}", p.order_id);
                assert!(inv("N1"));
                assert_eq!(events[&track("N1")].len(), 3);
                expected_posts += 1;
                expected_patches += 1;
            }
            Story::Split => {
                assert_eq!(status, OrderStatus::Delivered, "{}", p.order_id);
                assert!(inv("P1") && inv("P2"));
                assert_eq!(delivered[&track("P1")] + delivered[&track("P2")], 2);
                expected_posts += 2;
                expected_patches += 2;
            }
            Story::ReturnThenCancel => {
                assert_eq!(status, OrderStatus::Canceled, "{}", p.order_id);
                assert!(inv("N1") && inv("R1"));
                assert_eq!(cancels[&format!("{}/cancel", base(p))], 1);
                expected_posts += 2;
            }
            Story::RuleBreaker => {
                assert_eq!(status, OrderStatus::Shipped, "{}", p.order_id);
                assert!(inv("N1") && !inv("N2"));
                expected_posts += 1;
                expected_patches += 1;
            }
        }
    }
    assert_eq!(posts.len(), expected_posts);
    assert_eq!(patches.len(), expected_patches);

    // Stock left exactly once per invoiced unit, and nothing is held any more.
    let count = |s: Story| planned.iter().filter(|p| p.story == s).count() as i64;
    assert_eq!(
        b.stock("FA").await,
        (INITIAL_STOCK - count(Story::Single), 0)
    );
    assert_eq!(
        b.stock("FB1").await,
        (INITIAL_STOCK - 2 * count(Story::Split), 0)
    );
    assert_eq!(
        b.stock("FB2").await,
        (INITIAL_STOCK - count(Story::Split), 0)
    );
    assert_eq!(
        b.stock("FC").await,
        (INITIAL_STOCK - count(Story::ReturnThenCancel), 0)
    );
    assert_eq!(
        b.stock("FD").await,
        (INITIAL_STOCK - count(Story::RuleBreaker), 0)
    );

    // Nothing left but what the rules rejected.
    let dlq = b.drain_dlq().await;
    let codes: BTreeSet<String> = dlq.iter().filter_map(|(_, c)| c.clone()).collect();
    assert_eq!(dlq.len(), expected_rejections, "DLQ: {codes:?}");
    assert_eq!(
        codes,
        BTreeSet::from([
            "INVOICED_NEEDS_RETURN".to_string(),
            "QUANTITY_EXCEEDED".to_string()
        ])
    );
}
