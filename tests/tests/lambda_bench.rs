//! Benchmark of the real bootstraps under the local Lambda Runtime API (the harness of
//! `lambda_bootstraps.rs`): per function, cold init (process start → first `/next`), resident
//! memory after init and at peak (`VmRSS` / `VmHWM`), first and warm invoke latency (p50 / p99),
//! and the binary's size. Ignored in the normal suite (it measures, it does not check: the targets
//! are read in tests/BENCHMARKS.md); run by `tests/bench/lambda.sh`, which builds release bins
//! and starts moto. Prints a Markdown table.

use connector_tests::aws_env::moto;
use connector_tests::lambda_runtime_api::{Bootstrap, Init, Outcome};
use connector_tests::lambda_stack::{
    InboundSecret, Stack, bootstrap_dir, path_secret, sample_events, seed_catalog,
};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);
const EVENT_ORDER_ID: &str = "SLR-7Q2M9K4D1X8B5N3R6T0V";

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run tests/bench/lambda.sh"]
async fn lambda_bootstrap_benchmark() {
    let Some(sdk) = moto().await else { return };
    let Some(bins) = bootstrap_dir() else { return };
    let cold_runs = env_num("LAMBDA_BENCH_COLD_RUNS", 10);
    let warm_invokes = env_num("LAMBDA_BENCH_WARM_INVOKES", 200);
    let events = sample_events();
    let stack = Stack::up(
        sdk,
        &InboundSecret {
            path_secret: path_secret(&events),
            ..InboundSecret::default()
        },
    )
    .await;
    seed_catalog(&stack).await;

    let mut rows = Vec::new();
    let mut placed: Option<String> = None;
    for f in stack.functions() {
        let launch = stack.launch(&f, &bins);
        let size = std::fs::metadata(&launch.binary)
            .map(|m| m.len())
            .unwrap_or_else(|e| panic!("{}: {e}", launch.binary.display()));
        let prefix = format!("{}.", f.binary);
        let cases: Vec<serde_json::Value> = events
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, v)| {
                let text = v.to_string();
                let text = match &placed {
                    Some(id) => text.replace(EVENT_ORDER_ID, id),
                    None => text,
                };
                serde_json::from_str(&text).unwrap()
            })
            .collect();
        assert!(!cases.is_empty(), "{}: no sample events", f.binary);

        // Cold starts: a new process each time, as a new Lambda execution environment.
        let mut inits = Vec::new();
        let mut rss_after_init = Vec::new();
        let mut boot = None;
        for run in 0..cold_runs.max(1) {
            let mut b = Bootstrap::start(&launch).await;
            match b.init(LIMIT).await {
                Init::Ready(d) => inits.push(d),
                other => panic!("{} did not start: {other:?}\n{}", f.logical_id, b.output()),
            }
            rss_after_init.push(b.memory().rss_kib);
            if run + 1 == cold_runs.max(1) {
                boot = Some(b);
            } else {
                b.stop().await;
            }
        }
        let mut boot = boot.unwrap();

        // First invocation of the last instance, then warm ones cycling through the samples.
        let (first_outcome, first) = boot.invoke(&cases[0], LIMIT).await;
        if f.binary == "order-placement"
            && let Outcome::Response(r) = &first_outcome
            && let Some(id) = r
                .get("body")
                .and_then(|b| b.as_str())
                .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
                .and_then(|b| {
                    b.pointer("/0/orderId")
                        .and_then(|v| v.as_str().map(String::from))
                })
        {
            placed = Some(id);
        }
        let mut warm = Vec::with_capacity(warm_invokes);
        for i in 0..warm_invokes {
            let (_, d) = boot.invoke(&cases[(i + 1) % cases.len()], LIMIT).await;
            warm.push(d);
        }
        let peak = boot.memory();
        boot.stop().await;

        inits.sort();
        warm.sort();
        rss_after_init.sort();
        rows.push(format!(
            "| {} | {} | {} / {} | {:.1} | {:.1} | {} | {} / {} | {:.2} |",
            f.logical_id,
            cases.len(),
            ms(percentile(&inits, 50.0)),
            ms(*inits.last().unwrap()),
            rss_after_init[rss_after_init.len() / 2] as f64 / 1024.0,
            peak.hwm_kib as f64 / 1024.0,
            ms(first),
            ms(percentile(&warm, 50.0)),
            ms(percentile(&warm, 99.0)),
            size as f64 / (1024.0 * 1024.0),
        ));
    }
    let table = format!(
        "| function | samples | cold init p50 / max (ms) | RSS after init (MiB) | peak RSS VmHWM (MiB) | first invoke (ms) | warm p50 / p99 (ms) | bootstrap (MiB) |\n\
         |---|---|---|---|---|---|---|---|\n{}\n\n{cold_runs} cold starts per function; {warm_invokes} warm invocations cycling through its samples.",
        rows.join("\n")
    );
    println!("{table}");
    if let Ok(path) = std::env::var("LAMBDA_BENCH_OUT") {
        std::fs::write(path, format!("{table}\n")).unwrap();
    }
}
