//! Order rules (`--allow-orders`): placements on the SKUs the user named, every one canceled at
//! the end. Stock is read back through the seller's own simulation, so the rules hold for any
//! implementation.

use crate::client::{Auth, Body, Exchange, Seller};
use crate::config::Config;
use crate::judge::{Judge, arr, envelope_problem, skip, str_of};
use crate::oms::Oms;
use crate::report::RuleResult;
use crate::sim;
use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const PLACE: &str = "/pvt/orders";
/// Concurrent copies of a placement sent as VTEX's retries.
const RETRIES: usize = 3;

/// What one order line costs, from the seller's own checkout answer.
#[derive(Debug, Clone)]
pub struct Quote {
    pub sku: String,
    pub quantity: u64,
    pub price: i64,
    pub sla: String,
    pub estimate: String,
    pub freight: i64,
}

impl Quote {
    pub fn value(&self) -> i64 {
        self.price * self.quantity as i64 + self.freight
    }
}

pub struct Orders<'a> {
    seller: &'a Seller,
    cfg: &'a Config,
    oms: Option<&'a Oms>,
    prefix: String,
    next: std::sync::atomic::AtomicU32,
    /// (marketplaceOrderId, orderId) of everything placed, to cancel at the end.
    placed: std::sync::Mutex<Vec<(String, String)>>,
    canceled: std::sync::Mutex<Vec<String>>,
}

/// The seller's answer to a placement of one order.
struct Placed {
    x: Exchange,
    order_id: Option<String>,
}

impl<'a> Orders<'a> {
    pub fn new(seller: &'a Seller, cfg: &'a Config, oms: Option<&'a Oms>, prefix: String) -> Self {
        Orders {
            seller,
            cfg,
            oms,
            prefix,
            next: Default::default(),
            placed: Default::default(),
            canceled: Default::default(),
        }
    }

    fn new_id(&self) -> String {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{}-{n}", self.prefix)
    }

    async fn quote(&self, sku: &str, quantity: u64) -> Result<Quote, Box<(String, Exchange)>> {
        let x = sim::post(self.seller, &sim::body(self.cfg, &[(sku, quantity)], true)).await;
        let fail = |why: String, x: Exchange| Err(Box::new((why, x)));
        let Some(v) = x.json.as_ref().filter(|_| x.is(200)) else {
            return fail(
                format!("the checkout simulation of {sku}: {}", x.describe()),
                x,
            );
        };
        let item = arr(v, "items").first().cloned().unwrap_or(Value::Null);
        let price = item.get("price").and_then(Value::as_i64);
        let available = item.get("quantity").and_then(Value::as_u64).unwrap_or(0);
        let slas = arr(v, "logisticsInfo")
            .first()
            .map(|li| arr(li, "slas").to_vec())
            .unwrap_or_default();
        // A plain delivery: no pickup point or window to choose for the shopper.
        let sla = slas
            .iter()
            .find(|s| {
                str_of(s, "deliveryChannel") == Some("delivery")
                    && arr(s, "availableDeliveryWindows").is_empty()
            })
            .or_else(|| slas.first())
            .cloned();
        match (price, sla) {
            (Some(price), Some(sla)) if available >= quantity => Ok(Quote {
                sku: sku.into(),
                quantity,
                price,
                sla: str_of(&sla, "id").unwrap_or("").into(),
                estimate: str_of(&sla, "shippingEstimate").unwrap_or("1d").into(),
                freight: sla.get("price").and_then(Value::as_i64).unwrap_or(0),
            }),
            (None, _) => fail(
                format!("the checkout simulation of {sku} has no integer price"),
                x,
            ),
            (_, None) => fail(
                format!("no SLA reaches {} for {sku}", self.cfg.postal_code),
                x,
            ),
            _ => fail(
                format!("{sku}: {available} units available, {quantity} needed"),
                x,
            ),
        }
    }

    /// A placement body as VTEX sends it (S2's example, with this run's marker everywhere).
    fn body(&self, marketplace_order_id: &str, q: &Quote) -> Value {
        let mse = match self.oms {
            Some(o) => format!("{}/api/oms?an={}", o.url(), self.cfg.an),
            None => format!("https://seller-check.invalid/api/oms?an={}", self.cfg.an),
        };
        json!([{
            "marketplaceOrderId": marketplace_order_id,
            "marketplaceServicesEndpoint": mse,
            "marketplacePaymentValue": q.value(),
            "items": [{
                "id": q.sku, "quantity": q.quantity, "seller": self.cfg.seller, "price": q.price,
                "commission": 0, "freightCommission": 0, "bundleItems": [], "attachments": [],
                "priceTags": [], "measurementUnit": "un", "unitMultiplier": 1, "isGift": false
            }],
            "clientProfileData": {
                "email": "seller-check@example.invalid", "firstName": "Seller", "lastName": "Check",
                "documentType": "cpf", "document": "00000000000", "phone": "0000000000",
                "corporateName": null, "tradeName": null, "corporateDocument": null,
                "stateInscription": null, "corporatePhone": null, "isCorporate": false
            },
            "shippingData": {
                "address": {
                    "addressType": "residential", "receiverName": "Seller Check (test order)",
                    "addressId": "seller-check", "postalCode": self.cfg.postal_code,
                    "city": "seller-check", "state": "--", "country": self.cfg.country,
                    "street": "seller-check test order", "number": "0", "neighborhood": "-",
                    "complement": null, "reference": null, "geoCoordinates": []
                },
                "logisticsInfo": [{
                    "itemIndex": 0, "selectedSla": q.sla, "lockTTL": "1d",
                    "shippingEstimate": q.estimate, "price": q.freight, "deliveryWindow": null
                }]
            },
            "openTextField": "seller-check conformance test order: canceled by the tool",
            "marketingData": null,
            "paymentData": null
        }])
    }

    async fn place(&self, marketplace_order_id: &str, q: &Quote) -> Placed {
        let x = self
            .seller
            .call(
                Method::POST,
                PLACE,
                &[],
                Some(Body::Json(self.body(marketplace_order_id, q))),
                Auth::Configured,
            )
            .await;
        let order_id = x
            .json
            .as_ref()
            .filter(|_| x.is(200))
            .and_then(|v| v.get(0).or(Some(v)))
            .and_then(|o| str_of(o, "orderId"))
            .filter(|id| !id.is_empty())
            .map(str::to_string);
        if let Some(id) = &order_id {
            let mut placed = self.placed.lock().unwrap_or_else(|p| p.into_inner());
            if !placed.iter().any(|(_, o)| o == id) {
                placed.push((marketplace_order_id.into(), id.clone()));
                if let Some(oms) = self.oms {
                    oms.expect(marketplace_order_id, id, q.value());
                }
            }
        }
        Placed { x, order_id }
    }

    async fn fulfill(&self, order_id: &str, marketplace_order_id: &str) -> Exchange {
        let body = json!({"marketplaceOrderId": marketplace_order_id, "marketplaceOrderGroup": marketplace_order_id});
        self.seller
            .call(
                Method::POST,
                &format!("/pvt/orders/{order_id}/fulfill"),
                &[],
                Some(Body::Json(body)),
                Auth::Configured,
            )
            .await
    }

    async fn cancel(&self, order_id: &str, marketplace_order_id: &str, request: &str) -> Exchange {
        let body = json!({
            "marketplaceOrderId": marketplace_order_id, "marketplaceOrderGroup": marketplace_order_id,
            "cancellationRequestId": request,
            "cancellationRequestDate": chrono::Utc::now().to_rfc3339(),
            "reason": "seller-check: conformance test order", "requestedByUser": false
        });
        let x = self
            .seller
            .call(
                Method::POST,
                &format!("/pvt/orders/{order_id}/cancel"),
                &[],
                Some(Body::Json(body)),
                Auth::Configured,
            )
            .await;
        if x.is(200)
            && x.json
                .as_ref()
                .is_some_and(|j| str_of(j, "orderId").is_some())
        {
            self.canceled
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(order_id.into());
        }
        x
    }

    async fn stock(&self, sku: &str, j: &mut Judge) -> Option<i64> {
        let (s, x) = sim::stock_of(self.seller, self.cfg, sku).await;
        j.saw(&x);
        s
    }

    /// Every order rule, then the OMS rules when a listener runs, then the clean-up.
    pub async fn run(&self, done: &mut dyn FnMut(RuleResult), notes: &mut Vec<String>) {
        let sku = self.cfg.order_skus[0].clone();
        let mut j = Judge::new();
        let stock0 = self.stock(&sku, &mut j).await;
        // Two units when the stock allows, so the seller can invoice it in two packages.
        let quantity = if stock0.unwrap_or(0) >= 4 { 2 } else { 1 };
        let quote = match self.quote(&sku, quantity).await {
            Ok(q) => q,
            Err(e) => {
                let (why, x) = *e;
                j.saw(&x);
                let why = format!("cannot build an order on {sku}: {why}");
                done(j.skip("ord.placement", why.clone()));
                for id in [
                    "ord.placement-idempotent",
                    "ord.fulfill",
                    "ord.fulfill-idempotent",
                    "ord.unknown-order-404",
                    "ord.mismatched-marketplace-id-409",
                    "ord.cancel-releases-stock",
                ] {
                    done(skip(id, why.clone()));
                }
                done(self.no_oversell().await);
                self.skip_oms(done, &why);
                self.clean_up(notes).await;
                return;
            }
        };

        // Placement: the reservation id, and the stock held.
        let a_id = self.new_id();
        let a = self.place(&a_id, &quote).await;
        j.saw(&a.x);
        match (&a.order_id, a.x.json.as_ref()) {
            (Some(_), Some(v)) => {
                j.ensure(
                    v.is_array() && v.as_array().is_some_and(|a| a.len() == 1),
                    || "the answer to an array of one order is not an array of one order".into(),
                );
                let echoed = v.get(0).and_then(|o| str_of(o, "marketplaceOrderId"));
                j.ensure(echoed == Some(a_id.as_str()), || {
                    format!("marketplaceOrderId echoed as {echoed:?}, sent {a_id:?}")
                });
            }
            _ => j.problem(format!(
                "{}; expected 200 with [{{…, \"orderId\": …}}]",
                a.x.describe()
            )),
        }
        let stock1 = self.stock(&sku, &mut j).await;
        if let (Some(s0), Some(s1)) = (stock0, stock1)
            && a.order_id.is_some()
        {
            j.ensure(s1 == s0 - quantity as i64, || {
                format!("stockBalance of {sku} went from {s0} to {s1} after reserving {quantity}; expected {}", s0 - quantity as i64)
            });
        }
        done(j.finish(
            "ord.placement",
            format!(
                "{a_id} placed ({quantity} × {sku}, value {}): orderId returned, stock held",
                quote.value()
            ),
        ));
        let Some(a_order) = a.order_id.clone() else {
            let why = "the first placement failed (see ord.placement)";
            for id in [
                "ord.placement-idempotent",
                "ord.fulfill",
                "ord.fulfill-idempotent",
                "ord.unknown-order-404",
                "ord.mismatched-marketplace-id-409",
                "ord.cancel-releases-stock",
            ] {
                done(skip(id, why));
            }
            done(self.no_oversell().await);
            self.skip_oms(done, why);
            self.clean_up(notes).await;
            return;
        };

        // Concurrent retries: the same order id, nothing more reserved.
        let mut j = Judge::new();
        let retries = join_all((0..RETRIES).map(|_| self.place(&a_id, &quote))).await;
        for r in &retries {
            j.saw(&r.x);
            match &r.order_id {
                Some(id) if id == &a_order => {}
                Some(id) => j.problem(format!(
                    "a retry of {a_id} answered orderId {id:?}, the first placement {a_order:?}"
                )),
                None => j.problem(format!(
                    "a retry of {a_id}: {}; expected 200 with the same orderId",
                    r.x.describe()
                )),
            }
        }
        let stock2 = self.stock(&sku, &mut j).await;
        if let (Some(s1), Some(s2)) = (stock1, stock2) {
            j.ensure(s2 == s1, || format!("stockBalance of {sku} went from {s1} to {s2} after {RETRIES} retries; a retry reserves nothing"));
        }
        done(j.finish(
            "ord.placement-idempotent",
            format!(
                "{RETRIES} concurrent retries of {a_id}: same orderId {a_order}, stock unchanged"
            ),
        ));

        // Unknown order, mismatched marketplace id, then the fulfill itself.
        let mut j = Judge::new();
        let ghost = self.new_id();
        let x = self.fulfill(&format!("{ghost}-unknown"), &ghost).await;
        j.saw(&x);
        j.ensure(x.is(404), || format!("{}; expected 404", x.describe()));
        if x.is(404)
            && let Some(p) = envelope_problem(&x)
        {
            j.problem(p);
        }
        done(j.finish(
            "ord.unknown-order-404",
            "fulfill of an order that does not exist: 404 with the envelope",
        ));

        let mut j = Judge::new();
        let x = self.fulfill(&a_order, &format!("{a_id}-other")).await;
        j.saw(&x);
        j.ensure(x.is(409), || {
            format!(
                "{} with marketplaceOrderId {a_id}-other; expected 409",
                x.describe()
            )
        });
        if x.is(409)
            && let Some(p) = envelope_problem(&x)
        {
            j.problem(p);
        }
        done(j.finish(
            "ord.mismatched-marketplace-id-409",
            format!("fulfill of {a_order} with another marketplaceOrderId: 409"),
        ));

        let mut j = Judge::new();
        let sent = std::time::Instant::now();
        let f1 = self.fulfill(&a_order, &a_id).await;
        if let Some(oms) = self.oms
            && f1.is(200)
        {
            oms.fulfilled(&a_id, sent);
        }
        j.saw(&f1);
        let receipt = |x: &Exchange| x.json.as_ref().and_then(|v| v.get("receipt")).cloned();
        match f1.json.as_ref().filter(|_| f1.is(200)) {
            None => j.problem(format!(
                "{}; expected 200 with {{date, marketplaceOrderId, orderId, receipt}}",
                f1.describe()
            )),
            Some(v) => {
                j.ensure(str_of(v, "date").is_some(), || "date is missing".into());
                j.ensure(
                    str_of(v, "marketplaceOrderId") == Some(a_id.as_str()),
                    || {
                        format!(
                            "marketplaceOrderId is {:?}, expected {a_id:?}",
                            str_of(v, "marketplaceOrderId")
                        )
                    },
                );
                j.ensure(str_of(v, "orderId") == Some(a_order.as_str()), || {
                    format!(
                        "orderId is {:?}, expected {a_order:?}",
                        str_of(v, "orderId")
                    )
                });
                j.ensure(
                    v.get("receipt")
                        .is_some_and(|r| r.is_string() || r.is_null()),
                    || "receipt is missing (a string, or null)".into(),
                );
            }
        }
        done(j.finish(
            "ord.fulfill",
            format!("fulfill of {a_order}: {{date, marketplaceOrderId, orderId, receipt}}"),
        ));

        // What the seller sends to OMS runs alongside the rest.
        let hook = self.start_hook(&a_order, &a_id, &quote, notes);
        let oms_started = Instant::now();

        let mut j = Judge::new();
        let again = join_all((0..2).map(|_| self.fulfill(&a_order, &a_id))).await;
        for x in &again {
            j.saw(x);
            if !x.is(200) {
                j.problem(format!("{}; a repeated fulfill answers 200", x.describe()));
            } else if f1.is(200) && receipt(x) != receipt(&f1) {
                j.problem(format!(
                    "a repeated fulfill answered receipt {}, the first {}",
                    show(receipt(x)),
                    show(receipt(&f1))
                ));
            }
        }
        done(j.finish(
            "ord.fulfill-idempotent",
            format!(
                "2 repeats of the fulfill of {a_order}: the same receipt {}",
                show(receipt(&f1))
            ),
        ));

        done(self.cancel_releases(&sku).await);
        done(self.no_oversell().await);

        if let Some(oms) = self.oms {
            let deadline = oms_started + self.cfg.oms_wait;
            oms.wait(&a_id, deadline, self.cfg.oms_quiet).await;
            if let Some(mut child) = hook {
                match tokio::time::timeout(
                    deadline.saturating_duration_since(Instant::now()) + Duration::from_secs(1),
                    child.wait(),
                )
                .await
                {
                    Ok(Ok(status)) if status.success() => {}
                    Ok(Ok(status)) => notes.push(format!("--erp-hook exited with {status}")),
                    Ok(Err(e)) => notes.push(format!("--erp-hook: {e}")),
                    Err(_) => {
                        let _ = child.kill().await;
                        notes.push(
                            "--erp-hook was still running at the end of --oms-wait and was stopped"
                                .into(),
                        );
                    }
                }
            }
            for r in oms.judge(&a_id, oms_started.elapsed()) {
                done(r);
            }
        }
        self.clean_up(notes).await;
    }

    fn skip_oms(&self, done: &mut dyn FnMut(RuleResult), why: &str) {
        if self.oms.is_some() {
            for id in [
                "oms.invoice-fields",
                "oms.marketplace-order-id-in-path",
                "oms.tracking-after-invoice",
                "oms.events-after-tracking",
                "oms.invoices-add-up",
                "oms.retry-after-429",
            ] {
                done(skip(id, format!("no order was fulfilled: {why}")));
            }
        }
    }

    fn start_hook(
        &self,
        order_id: &str,
        marketplace_order_id: &str,
        q: &Quote,
        notes: &mut Vec<String>,
    ) -> Option<tokio::process::Child> {
        let cmd = self.cfg.erp_hook.as_ref()?;
        let spawned = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .env("SELLER_CHECK_ORDER_ID", order_id)
            .env("SELLER_CHECK_MARKETPLACE_ORDER_ID", marketplace_order_id)
            .env("SELLER_CHECK_SKU", &q.sku)
            .env("SELLER_CHECK_QUANTITY", q.quantity.to_string())
            .env("SELLER_CHECK_PRICE", q.price.to_string())
            .env("SELLER_CHECK_FREIGHT", q.freight.to_string())
            .env("SELLER_CHECK_VALUE", q.value().to_string())
            .env(
                "SELLER_CHECK_BASE",
                self.cfg.base.as_str().trim_end_matches('/'),
            )
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn();
        match spawned {
            Ok(child) => Some(child),
            Err(e) => {
                notes.push(format!("--erp-hook could not start: {e}"));
                None
            }
        }
    }

    async fn cancel_releases(&self, sku: &str) -> RuleResult {
        let mut j = Judge::new();
        let before = self.stock(sku, &mut j).await;
        let q = match self.quote(sku, 1).await {
            Ok(q) => q,
            Err(e) => {
                let (why, x) = *e;
                j.saw(&x);
                return j.skip(
                    "ord.cancel-releases-stock",
                    format!("cannot build an order: {why}"),
                );
            }
        };
        let b_id = self.new_id();
        let b = self.place(&b_id, &q).await;
        j.saw(&b.x);
        let Some(b_order) = b.order_id else {
            j.problem(format!(
                "{}; the order to cancel could not be placed",
                b.x.describe()
            ));
            return j.finish("ord.cancel-releases-stock", "");
        };
        let held = self.stock(sku, &mut j).await;
        let x = self
            .cancel(&b_order, &b_id, &format!("{b_id}-cancel"))
            .await;
        j.saw(&x);
        if x.is(200) && x.text.trim().is_empty() {
            return j.skip("ord.cancel-releases-stock", format!("the seller answered the cancel of {b_order} with an empty 200: it evaluates cancellations rather than confirm them"));
        }
        match x.json.as_ref().filter(|_| x.is(200)) {
            None => j.problem(format!(
                "{}; expected 200 confirming the cancel",
                x.describe()
            )),
            Some(v) => {
                for key in ["date", "marketplaceOrderId", "orderId"] {
                    j.ensure(str_of(v, key).is_some(), || {
                        format!("the cancel confirmation has no {key}")
                    });
                }
                j.ensure(v.get("receipt").is_some(), || {
                    "the cancel confirmation has no receipt (a string, or null)".into()
                });
            }
        }
        let after = self.stock(sku, &mut j).await;
        if let (Some(b0), Some(a)) = (before, after) {
            j.ensure(a == b0, || {
                format!("stockBalance of {sku}: {b0} before the order, {} while held, {a} after its cancel; expected {b0}", held.map_or("?".into(), |h| h.to_string()))
            });
        }
        j.finish(
            "ord.cancel-releases-stock",
            format!(
                "{b_order} placed and canceled: confirmed, stock of {sku} back to {}",
                before.unwrap_or(0)
            ),
        )
    }

    async fn no_oversell(&self) -> RuleResult {
        let mut j = Judge::new();
        let max = self.cfg.max_oversell_stock as i64;
        let mut chosen = None;
        for sku in &self.cfg.order_skus {
            if let Some(s) = self.stock(sku, &mut j).await
                && (1..=max).contains(&s)
            {
                chosen = Some((sku.clone(), s));
                break;
            }
        }
        let Some((sku, stock)) = chosen else {
            return j.skip("ord.no-oversell", format!("no --order-sku has between 1 and {max} units in stock (--max-oversell-stock); name one that does"));
        };
        let q = match self.quote(&sku, 1).await {
            Ok(q) => q,
            Err(e) => {
                let (why, x) = *e;
                j.saw(&x);
                return j.skip(
                    "ord.no-oversell",
                    format!("cannot build an order on {sku}: {why}"),
                );
            }
        };
        let n = stock as usize + 2;
        let ids: Vec<String> = (0..n).map(|_| self.new_id()).collect();
        let results = join_all(ids.iter().map(|id| self.place(id, &q))).await;
        let mut won = 0i64;
        for r in &results {
            j.saw(&r.x);
            match (r.order_id.is_some(), r.x.status) {
                (true, _) => won += 1,
                (false, Some(s)) if (400..500).contains(&s) => {}
                _ => j.problem(format!(
                    "{}; a placement without stock is refused with a 4xx",
                    r.x.describe()
                )),
            }
        }
        j.ensure(won <= stock, || {
            format!(
                "{won} of {n} concurrent placements of 1 × {sku} succeeded with {stock} in stock"
            )
        });
        if let Some(after) = self.stock(&sku, &mut j).await {
            j.ensure(after == stock - won && after >= 0, || {
                format!("stockBalance of {sku} is {after} after {won} reservations of {stock} units; expected {}", stock - won)
            });
        }
        j.finish("ord.no-oversell", format!("{n} concurrent placements of 1 × {sku} with {stock} in stock: {won} succeeded, the rest refused"))
    }

    /// Cancels every order this run placed and is not known canceled.
    async fn clean_up(&self, notes: &mut Vec<String>) {
        let placed = self
            .placed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if placed.is_empty() {
            return;
        }
        let mut open = Vec::new();
        for (k, (mkp, order)) in placed.iter().enumerate() {
            if self
                .canceled
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains(order)
            {
                continue;
            }
            let x = self
                .cancel(order, mkp, &format!("{}-cleanup-{k}", self.prefix))
                .await;
            if !(x.is(200)
                && x.json
                    .as_ref()
                    .is_some_and(|j| str_of(j, "orderId").is_some()))
            {
                open.push(format!("{order} ({mkp}): {}", if x.is(200) { "answered an empty 200 (the seller refuses it, e.g. invoiced: cancel it on the seller's side)".to_string() } else { x.describe() }));
            }
        }
        let ids: Vec<&str> = placed.iter().map(|(m, _)| m.as_str()).collect();
        notes.push(format!(
            "placed {} order(s) ({}) and sent a cancel for each",
            placed.len(),
            ids.join(", ")
        ));
        if !open.is_empty() {
            notes.push(format!(
                "not canceled, clean up by hand: {}",
                open.join("; ")
            ));
        }
    }
}

fn show(v: Option<Value>) -> String {
    v.map_or("missing".into(), |v| v.to_string())
}
