//! One-off: gives the orders written before the console existed their `gsi2` keys, so the
//! console's order list (a Query of `gsi2`, see `aws_adapters::dynamo::listing`) shows them.
//!
//! ```sh
//! console-backfill --table "$ORDERS_TABLE" [--dry-run] [--page-size 500]
//! ```
//! Scans the orders table page by page for order items (`sk = ORDER`) without `gsi2pk`, and
//! writes the keys [`aws_adapters::dynamo::listing::index_keys`] computes from the stored order,
//! each with an UpdateItem conditioned on the item still having no `gsi2pk`: a run can be stopped
//! and started again, run twice, or run beside live traffic (an order saved meanwhile already
//! carries its keys, and the update is skipped). Only the two key attributes are written, so the
//! order's `version` and data are untouched. `--dry-run` reads and counts without writing. AWS
//! credentials and region come from the usual environment / profile; `AWS_ENDPOINT_URL` points it
//! at a local DynamoDB. Exit code 1 when an item could not be read or written (the others are
//! done; run it again).

use aws_adapters::dynamo::listing::index_keys;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use domain::order::Order;
use std::collections::HashMap;
use std::process::ExitCode;

type Item = HashMap<String, AttributeValue>;

fn usage() -> ExitCode {
    eprintln!("usage: console-backfill [--table ORDERS_TABLE] [--dry-run] [--page-size N]");
    ExitCode::from(2)
}

/// What one run did.
#[derive(Debug, Default)]
struct Tally {
    scanned: usize,
    missing: usize,
    written: usize,
    raced: usize,
    failed: usize,
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut table = std::env::var("ORDERS_TABLE").ok();
    let mut dry_run = false;
    let mut page_size: i32 = 500;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dry-run" => dry_run = true,
            "--table" => match args.next() {
                Some(v) => table = Some(v),
                None => return usage(),
            },
            "--page-size" => match args.next().and_then(|v| v.parse().ok()) {
                Some(n) if (1..=10_000).contains(&n) => page_size = n,
                _ => return usage(),
            },
            _ => return usage(),
        }
    }
    let Some(table) = table.filter(|t| !t.trim().is_empty()) else {
        return usage();
    };
    let client = Client::new(&aws_adapters::sdk_config().await);
    match run(&client, &table, page_size, dry_run).await {
        Ok(t) => {
            let verb = if dry_run { "would write" } else { "wrote" };
            println!(
                "scanned {} item(s); {} order(s) without gsi2 keys; {verb} {}; {} already indexed meanwhile; {} failed",
                t.scanned,
                t.missing,
                if dry_run { t.missing } else { t.written },
                t.raced,
                t.failed
            );
            if t.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("backfill stopped: {e}");
            ExitCode::FAILURE
        }
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

async fn run(client: &Client, table: &str, page_size: i32, dry_run: bool) -> Result<Tally, String> {
    let mut tally = Tally::default();
    let mut start: Option<Item> = None;
    let mut page = 0;
    loop {
        let out = client
            .scan()
            .table_name(table)
            .filter_expression("#sk = :order AND attribute_not_exists(#g)")
            .expression_attribute_names("#sk", "sk")
            .expression_attribute_names("#g", "gsi2pk")
            .expression_attribute_values(":order", s("ORDER"))
            .set_exclusive_start_key(start.take())
            .limit(page_size)
            .send()
            .await
            .map_err(|e| format!("Scan: {}", DisplayErrorContext(&e)))?;
        page += 1;
        tally.scanned += usize::try_from(out.scanned_count()).unwrap_or(0);
        for item in out.items() {
            tally.missing += 1;
            if dry_run {
                continue;
            }
            match backfill(client, table, item).await {
                Ok(true) => tally.written += 1,
                Ok(false) => tally.raced += 1,
                Err(e) => {
                    tally.failed += 1;
                    eprintln!("{e}");
                }
            }
        }
        eprintln!(
            "page {page}: {} scanned so far, {} without keys",
            tally.scanned, tally.missing
        );
        match out.last_evaluated_key {
            Some(k) => start = Some(k),
            None => return Ok(tally),
        }
    }
}

/// Writes the keys of one order item; `false` when it gained them meanwhile.
async fn backfill(client: &Client, table: &str, item: &Item) -> Result<bool, String> {
    let pk = match item.get("pk") {
        Some(AttributeValue::S(pk)) => pk.clone(),
        _ => return Err("an order item without a string pk".into()),
    };
    let order: Order = match item.get("data") {
        Some(AttributeValue::S(data)) => {
            storage_format::decode(data).map_err(|e| format!("{pk}: unreadable order: {}", e.0))?
        }
        _ => return Err(format!("{pk}: no data attribute")),
    };
    let [(pk_name, pk_value), (sk_name, sk_value)] = index_keys(&order);
    let result = client
        .update_item()
        .table_name(table)
        .key("pk", s(&pk))
        .key("sk", s("ORDER"))
        .update_expression("SET #gpk = :gpk, #gsk = :gsk")
        .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#gpk)")
        .expression_attribute_names("#pk", "pk")
        .expression_attribute_names("#gpk", pk_name)
        .expression_attribute_names("#gsk", sk_name)
        .expression_attribute_values(":gpk", pk_value)
        .expression_attribute_values(":gsk", sk_value)
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(SdkError::ServiceError(e))
            if matches!(e.err(), UpdateItemError::ConditionalCheckFailedException(_)) =>
        {
            Ok(false)
        }
        Err(e) => Err(format!("{pk}: UpdateItem: {}", DisplayErrorContext(&e))),
    }
}
