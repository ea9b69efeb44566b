//! The life cycle over the ports.

use super::*;

/// The order life cycle over its ports. Cheap to clone (every port is an `Arc`).
#[derive(Clone)]
pub struct Lifecycle {
    pub store: Arc<dyn OrderStore>,
    pub catalog: Arc<dyn CatalogReader>,
    /// The ERP queue. The life cycle itself never sends to it: its events are written with the
    /// state change and delivered by the outbox relay ([`Lifecycle::relay`]).
    pub events: Arc<dyn OrderEvents>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGen>,
    pub config: LifecycleConfig,
    /// The dispatcher's invoice records, when this function can read them: a marketplace cancel
    /// is not confirmed while a sale invoice is in flight.
    pub invoices: Option<Arc<dyn InvoiceStore>>,
}

impl fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lifecycle")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Lifecycle {
    /// A life cycle with random ids and the default configuration.
    pub fn new(
        store: Arc<dyn OrderStore>,
        catalog: Arc<dyn CatalogReader>,
        events: Arc<dyn OrderEvents>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Lifecycle {
            store,
            catalog,
            events,
            clock,
            ids: Arc::new(RandomIds),
            config: LifecycleConfig::default(),
            invoices: None,
        }
    }

    /// Reads the invoice records before confirming a marketplace cancel.
    pub fn with_invoices(mut self, invoices: Arc<dyn InvoiceStore>) -> Self {
        self.invoices = Some(invoices);
        self
    }

    /// The sale invoice of an authorized order that is in flight, if any: recorded *Pending*, or
    /// acknowledged while the order still says AUTHORIZED.
    async fn invoice_in_flight(&self, order: &Order) -> Result<Option<String>, StoreError> {
        let Some(invoices) = &self.invoices else {
            return Ok(None);
        };
        if order.status != OrderStatus::Authorized {
            return Ok(None);
        }
        Ok(invoices
            .list_by_order(&order.order_id)
            .await?
            .into_iter()
            .find(|r| {
                r.invoice.kind == crate::invoicing::InvoiceType::Output
                    && matches!(
                        r.state,
                        crate::invoicing::SendState::Pending | crate::invoicing::SendState::Sent
                    )
            })
            .map(|r| r.invoice.invoice_number))
    }

    /// The relay that delivers this life cycle's events from `outbox` (the order store's) to its
    /// ERP queue.
    pub fn relay(&self, outbox: Arc<dyn Outbox>) -> OutboxRelay {
        OutboxRelay::new(outbox, self.events.clone(), self.clock.clone())
    }

    pub fn with_config(mut self, config: LifecycleConfig) -> Self {
        self.config = config;
        self
    }

    pub fn with_ids(mut self, ids: Arc<dyn IdGen>) -> Self {
        self.ids = ids;
        self
    }

    async fn log(
        &self,
        order_id: &str,
        step: &str,
        outcome: Outcome,
        detail: impl Into<String>,
    ) -> Result<(), StoreError> {
        let entry = LogEntry::new(self.clock.now(), step, outcome, detail);
        self.store.append_log(order_id, &entry).await
    }

    /// Creates the reservation for one marketplace order, or returns the one a previous attempt
    /// created (idempotent on `(an, marketplaceOrderId)`, also under concurrent retries: the store
    /// decides which attempt wins and the others get its order).
    pub async fn place(&self, req: PlacementRequest) -> Result<PlacementDecision, StoreError> {
        if let Err(refusal) = validate_placement(&req, &self.config.limits) {
            return Ok(PlacementDecision::Refused(refusal));
        }
        if req.shipping_outdated {
            return Ok(PlacementDecision::Refused(
                PlacementRefusal::ShippingDataOutdated,
            ));
        }
        // A retry must answer with the first order even if its reservation took the last unit.
        if let Some(existing) = self
            .store
            .get_by_marketplace_id(&req.an, &req.marketplace_order_id)
            .await?
        {
            return self.placement_replay(existing).await;
        }

        let rules = self.catalog.shipping_rules().await?;
        let sku_ids: Vec<SkuId> = req.lines.iter().map(|l| l.sku_id.clone()).collect();
        let skus = self.catalog.get_skus(&sku_ids).await?;
        let mut taken: HashMap<(SkuId, LocationId), i64> = HashMap::new();
        let mut sources = Vec::with_capacity(req.lines.len());
        for line in &req.lines {
            let Some(sku) = skus.get(&line.sku_id) else {
                return Ok(PlacementDecision::Refused(PlacementRefusal::UnknownSku {
                    sku_id: line.sku_id.clone(),
                }));
            };
            let Some(source) = resolve_stock_source(
                rules.as_ref(),
                req.sc.as_deref(),
                sku,
                line.selected_sla.as_deref(),
                line.quantity,
                &taken,
            ) else {
                return Ok(PlacementDecision::Refused(
                    PlacementRefusal::NoStockLocation {
                        sku_id: line.sku_id.clone(),
                    },
                ));
            };
            *taken
                .entry((line.sku_id.clone(), source.location().clone()))
                .or_default() += line.quantity;
            sources.push(source);
        }

        let now = self.clock.now();
        let order = plan_order(&req, &sources, self.ids.order_id(), now, &self.config);
        match self.store.create_reserved(&order).await? {
            PlaceOutcome::Created(order) => {
                let units: i64 = order.lines.iter().map(|l| l.quantity).sum();
                self.log(
                    &order.order_id,
                    steps::PLACEMENT,
                    Outcome::Success,
                    format!(
                        "reserved {units} unit(s) in {} line(s) until {}",
                        order.lines.len(),
                        order.expires_at.to_rfc3339()
                    ),
                )
                .await?;
                if let Some(note) = order
                    .value
                    .as_ref()
                    .and_then(|v| v.cross_check_note(order.marketplace_payment_value))
                {
                    let outcome = match order.value.as_ref().map(|v| v.source) {
                        Some(crate::order::ValueSource::MarketplacePaymentValue) => Outcome::Alert,
                        _ => Outcome::Success,
                    };
                    self.log(&order.order_id, steps::PLACEMENT, outcome, note)
                        .await?;
                }
                for (line, source) in order.lines.iter().zip(&sources) {
                    if let StockSource::Fallback(loc) = source {
                        self.log(
                            &order.order_id,
                            steps::PLACEMENT,
                            Outcome::Alert,
                            format!(
                                "line {}: selectedSla {:?} is not a known carrier or pickup point; stock taken from {loc:?}",
                                line.index, line.selected_sla
                            ),
                        )
                        .await?;
                    }
                }
                tracing::info!(
                    order_id = %order.order_id,
                    marketplace_order_id = %order.marketplace_order_id,
                    lines = order.lines.len(),
                    units,
                    "order reserved"
                );
                Ok(PlacementDecision::Placed {
                    order: Box::new(order),
                    replay: false,
                })
            }
            PlaceOutcome::Existing(existing) => self.placement_replay(existing).await,
            PlaceOutcome::OutOfStock {
                sku_id,
                location_id,
            } => {
                tracing::info!(
                    marketplace_order_id = %req.marketplace_order_id,
                    sku_id = %sku_id,
                    location_id = %location_id,
                    "placement refused: out of stock"
                );
                Ok(PlacementDecision::Refused(PlacementRefusal::OutOfStock {
                    sku_id,
                    location_id,
                }))
            }
            PlaceOutcome::UnknownSku { sku_id } => {
                Ok(PlacementDecision::Refused(PlacementRefusal::UnknownSku {
                    sku_id,
                }))
            }
        }
    }

    async fn placement_replay(&self, order: Order) -> Result<PlacementDecision, StoreError> {
        self.log(
            &order.order_id,
            steps::PLACEMENT,
            Outcome::Success,
            format!(
                "placement retry answered with the existing order (status {})",
                order.status
            ),
        )
        .await?;
        tracing::info!(
            order_id = %order.order_id,
            marketplace_order_id = %order.marketplace_order_id,
            status = %order.status,
            "placement replay"
        );
        Ok(PlacementDecision::Placed {
            order: Box::new(order),
            replay: true,
        })
    }

    /// Turns a reservation into an authorized order, owing the ERP `order.authorized` (written to the
    /// outbox with the order).
    pub async fn fulfill(&self, req: FulfillRequest) -> Result<FulfillOutcome, StoreError> {
        for _ in 0..MAX_ATTEMPTS {
            let Some(order) = self.store.get(&req.order_id).await? else {
                tracing::info!(order_id = %req.order_id, "fulfill: unknown order");
                return Ok(FulfillOutcome::NotFound);
            };
            let now = self.clock.now();
            match decide_fulfill(&order, &req, now, || self.ids.receipt()) {
                FulfillDecision::Authorize(next) => {
                    let event = order_event(&next, OrderEventKind::Authorized);
                    match self
                        .store
                        .save_emitting(&next, StockEffect::None, &[event])
                        .await?
                    {
                        SaveOutcome::Conflict => continue,
                        SaveOutcome::Saved(saved) => {
                            let receipt = receipt_of(&saved)?;
                            self.log(
                                &saved.order_id,
                                steps::FULFILL,
                                Outcome::Success,
                                format!("authorized; receipt {}", receipt.receipt),
                            )
                            .await?;
                            tracing::info!(order_id = %saved.order_id, status = %saved.status, "order authorized");
                            return Ok(FulfillOutcome::Authorized {
                                order: Box::new(saved),
                                receipt,
                                replay: false,
                            });
                        }
                    }
                }
                FulfillDecision::Replay(receipt) => {
                    self.log(
                        &order.order_id,
                        steps::FULFILL,
                        Outcome::Success,
                        format!("fulfill retry answered with receipt {}", receipt.receipt),
                    )
                    .await?;
                    self.re_emit(&order, OrderEventKind::Authorized).await?;
                    return Ok(FulfillOutcome::Authorized {
                        order: Box::new(order),
                        receipt,
                        replay: true,
                    });
                }
                FulfillDecision::Mismatch => {
                    self.log(
                        &order.order_id,
                        steps::FULFILL,
                        Outcome::Error,
                        "refused: the request's marketplaceOrderId does not match this order",
                    )
                    .await?;
                    tracing::info!(order_id = %order.order_id, "fulfill refused: marketplaceOrderId mismatch");
                    return Ok(FulfillOutcome::MarketplaceOrderMismatch);
                }
                FulfillDecision::NotAuthorizable(status) => {
                    self.log(
                        &order.order_id,
                        steps::FULFILL,
                        Outcome::Error,
                        format!("refused: the order is {status}"),
                    )
                    .await?;
                    tracing::info!(order_id = %order.order_id, status = %status, "fulfill refused");
                    return Ok(FulfillOutcome::NotAuthorizable { status });
                }
                FulfillDecision::Inconsistent(why) => return Err(StoreError::Corrupt(why)),
            }
        }
        Err(too_contended(&req.order_id))
    }

    /// Finds the order a cancel is about: our id first, then the marketplace id
    /// (shared/docs/protocol.md §Decisions C25), from the body or, failing that, the path.
    async fn find_for_cancel(&self, req: &CancelRequest) -> Result<Option<Order>, StoreError> {
        if let Some(o) = self.store.get(&req.path_id).await? {
            return Ok(Some(o));
        }
        let mut tried = HashSet::new();
        for id in req
            .marketplace_order_id
            .iter()
            .chain(std::iter::once(&req.path_id))
        {
            if tried.insert(id.as_str())
                && let Some(o) = self.store.get_by_marketplace_id(&req.an, id).await?
            {
                return Ok(Some(o));
            }
        }
        Ok(None)
    }

    /// A marketplace cancellation: confirm, evaluate or refuse (shared/docs/protocol.md §Cancel).
    pub async fn cancel(&self, req: CancelRequest) -> Result<CancelOutcome, StoreError> {
        let request_key = cancel_request_key(&req);
        for _ in 0..MAX_ATTEMPTS {
            let Some(order) = self.find_for_cancel(&req).await? else {
                tracing::info!(path_id = %req.path_id, "cancel: unknown order");
                return Ok(CancelOutcome::NotFound);
            };
            let now = self.clock.now();
            let in_flight = self.invoice_in_flight(&order).await?;
            if let Some(number) = &in_flight {
                self.log(
                    &order.order_id,
                    steps::CANCEL,
                    Outcome::Alert,
                    format!(
                        "marketplace cancellation {request_key} not confirmed: invoice {number} is in flight to VTEX"
                    ),
                )
                .await?;
            }
            let decision = decide_cancel_with_invoices(
                &order,
                &req,
                now,
                self.config.authorized_cancel,
                in_flight.is_some(),
                || self.ids.receipt(),
            );
            let evaluating = matches!(decision, CancelDecision::Evaluate(_));
            match decision {
                CancelDecision::Confirm {
                    order: next,
                    effect,
                } => {
                    let from = order.status;
                    let events: Vec<OrderEvent> = (next.status == OrderStatus::Canceled)
                        .then(|| order_event(&next, OrderEventKind::Canceled))
                        .into_iter()
                        .collect();
                    match self.store.save_emitting(&next, effect, &events).await? {
                        SaveOutcome::Conflict => continue,
                        SaveOutcome::Saved(saved) => {
                            let cancellation = saved.canceled.clone().ok_or_else(|| {
                                StoreError::Corrupt(format!(
                                    "order {} saved without its cancellation",
                                    saved.order_id
                                ))
                            })?;
                            self.log(
                                &saved.order_id,
                                steps::CANCEL,
                                Outcome::Success,
                                format!(
                                    "marketplace cancellation {request_key} confirmed from {from}; stock {}; receipt {}",
                                    match effect {
                                        StockEffect::Release => "released",
                                        _ => "unchanged",
                                    },
                                    cancellation.receipt
                                ),
                            )
                            .await?;
                            tracing::info!(order_id = %saved.order_id, from = %from, status = %saved.status, "order canceled");
                            return Ok(CancelOutcome::Confirmed {
                                order: saved,
                                cancellation,
                                replay: false,
                            });
                        }
                    }
                }
                CancelDecision::Replay(cancellation) => {
                    self.log(
                        &order.order_id,
                        steps::CANCEL,
                        Outcome::Success,
                        format!(
                            "marketplace cancellation {request_key} answered with the existing confirmation (order {})",
                            order.status
                        ),
                    )
                    .await?;
                    if order.status == OrderStatus::Canceled {
                        self.re_emit(&order, OrderEventKind::Canceled).await?;
                    }
                    return Ok(CancelOutcome::Confirmed {
                        order,
                        cancellation,
                        replay: true,
                    });
                }
                CancelDecision::Evaluate(record) | CancelDecision::Refuse(record) => {
                    let order = match record {
                        None => order,
                        Some(next) => match self.store.save(&next, StockEffect::None).await? {
                            SaveOutcome::Conflict => continue,
                            SaveOutcome::Saved(saved) => saved,
                        },
                    };
                    return self
                        .cancel_not_confirmed(order, evaluating, &request_key)
                        .await;
                }
                CancelDecision::Mismatch => {
                    self.log(
                        &order.order_id,
                        steps::CANCEL,
                        Outcome::Error,
                        format!(
                            "cancellation {request_key} refused: the request's marketplaceOrderId does not match this order"
                        ),
                    )
                    .await?;
                    tracing::info!(order_id = %order.order_id, "cancel refused: marketplaceOrderId mismatch");
                    return Ok(CancelOutcome::MarketplaceOrderMismatch);
                }
                CancelDecision::Inconsistent(why) => return Err(StoreError::Corrupt(why)),
            }
        }
        Err(too_contended(&req.path_id))
    }

    async fn cancel_not_confirmed(
        &self,
        order: Order,
        evaluating: bool,
        request_key: &str,
    ) -> Result<CancelOutcome, StoreError> {
        if evaluating {
            self.log(
                &order.order_id,
                steps::CANCEL,
                Outcome::Pending,
                format!(
                    "marketplace cancellation {request_key} recorded for evaluation (order {})",
                    order.status
                ),
            )
            .await?;
            tracing::info!(order_id = %order.order_id, status = %order.status, "cancel evaluating");
            Ok(CancelOutcome::Evaluating { order })
        } else {
            self.log(
                &order.order_id,
                steps::CANCEL,
                Outcome::Alert,
                format!(
                    "marketplace cancellation {request_key} refused: the order is {}; the invoice is the refusal",
                    order.status
                ),
            )
            .await?;
            tracing::info!(order_id = %order.order_id, status = %order.status, "cancel refused");
            Ok(CancelOutcome::Refused { order })
        }
    }

    /// Releases every reservation whose `lockTTL` passed without fulfill or cancel.
    pub async fn sweep(&self) -> Result<SweepReport, StoreError> {
        let now = self.clock.now();
        let batch_size = self.config.sweep_batch_size.max(1);
        let mut report = SweepReport::default();
        let mut seen: HashSet<OrderId> = HashSet::new();
        for _ in 0..self.config.sweep_max_batches.max(1) {
            let batch = self.store.expired_reservations(now, batch_size).await?;
            let full = batch.len() >= batch_size;
            let fresh: Vec<Order> = batch
                .into_iter()
                .filter(|o| seen.insert(o.order_id.clone()))
                .collect();
            if fresh.is_empty() {
                break;
            }
            for order in fresh {
                report.examined += 1;
                let id = order.order_id.clone();
                match self.expire_one(order, now).await {
                    Ok(true) => report.expired.push(id),
                    Ok(false) => report.skipped += 1,
                    Err(e) => {
                        tracing::error!(order_id = %id, error = %e, "expiry failed");
                        report.failed.push(id);
                    }
                }
            }
            if !full {
                break;
            }
        }
        tracing::info!(
            examined = report.examined,
            expired = report.expired.len(),
            skipped = report.skipped,
            failed = report.failed.len(),
            "reservation sweep done"
        );
        Ok(report)
    }

    /// `Ok(true)`: expired now. `Ok(false)`: no longer a lapsed reservation.
    async fn expire_one(&self, mut order: Order, now: DateTime<Utc>) -> Result<bool, StoreError> {
        for _ in 0..MAX_ATTEMPTS {
            let Some(next) = decide_expiry(&order, now, || self.ids.receipt()) else {
                return Ok(false);
            };
            let event = order_event(&next, OrderEventKind::Expired);
            // The event is written with the expiry: once the order leaves the sweeper's index, the
            // outbox is what still owes the ERP its `order.expired`.
            match self
                .store
                .save_emitting(&next, StockEffect::Release, &[event])
                .await?
            {
                SaveOutcome::Saved(saved) => {
                    self.log(
                        &saved.order_id,
                        steps::EXPIRY,
                        Outcome::Success,
                        format!(
                            "reservation expired (was due {}); stock released",
                            saved.expires_at.to_rfc3339()
                        ),
                    )
                    .await?;
                    tracing::info!(order_id = %saved.order_id, "reservation expired");
                    return Ok(true);
                }
                SaveOutcome::Conflict => match self.store.get(&order.order_id).await? {
                    Some(fresh) => order = fresh,
                    None => return Ok(false),
                },
            }
        }
        Err(too_contended(&order.order_id))
    }

    /// A replayed transition owes its event again if it was never delivered: the record is
    /// written unless one is pending (an order saved before the outbox existed, or whose record a
    /// relay delivered and deleted; the queue's de-duplication absorbs a replay within its window).
    async fn re_emit(&self, order: &Order, kind: OrderEventKind) -> Result<(), StoreError> {
        let event = order_event(order, kind);
        self.store.emit(&[event]).await.inspect_err(|e| {
            tracing::error!(order_id = %order.order_id, kind = event_kind_name(kind), error = %e, "event re-emit failed");
        })
    }
}

/// The cancellation's idempotency key as recorded and logged.
pub(super) fn cancel_request_key(req: &CancelRequest) -> String {
    req.request_id
        .clone()
        .unwrap_or_else(|| "(no cancellationRequestId)".to_string())
}

pub(super) fn receipt_of(order: &Order) -> Result<Receipt, StoreError> {
    order.authorized.clone().ok_or_else(|| {
        StoreError::Corrupt(format!(
            "order {} saved without its authorization",
            order.order_id
        ))
    })
}

pub(super) fn too_contended(order_id: &str) -> StoreError {
    StoreError::Unavailable(format!(
        "order {order_id} kept changing during {MAX_ATTEMPTS} attempts; retry later"
    ))
}
