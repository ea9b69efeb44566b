//! seller-check, as a user runs it, against the local runner (`connector-local`): every rule
//! passes, orders and the OMS side included.
//!
//! The runner's binary comes from `CONNECTOR_BOOTSTRAP_DIR` (tests/run.sh builds it and sets it);
//! without it the test builds it with `cargo build -p local`, and says why when it cannot. Under
//! `CI` it never skips.

use serde_json::Value;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Runner {
    child: Child,
    data: PathBuf,
    port: u16,
}

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.data);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The runner's binary, or why there is none.
fn runner_binary() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("CONNECTOR_BOOTSTRAP_DIR") {
        let bin = PathBuf::from(dir).join("connector-local");
        return bin.exists().then_some(bin.clone()).ok_or(format!(
            "CONNECTOR_BOOTSTRAP_DIR is set but {} does not exist",
            bin.display()
        ));
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-q", "-p", "local", "--bin", "connector-local"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .map_err(|e| format!("cannot run cargo build -p local: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build -p local failed ({status})"));
    }
    // target/debug/deps/local_runner-… → target/debug/connector-local
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let bin = exe
        .parent()
        .and_then(|d| d.parent())
        .map(|d| d.join("connector-local"))
        .ok_or("no target directory above the test binary")?;
    bin.exists()
        .then_some(bin.clone())
        .ok_or(format!("{} was not built", bin.display()))
}

fn start_runner(env: &[(&str, String)]) -> Option<Runner> {
    let bin = match runner_binary() {
        Ok(b) => b,
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("the local runner is needed under CI: {why}")
        }
        Err(why) => {
            eprintln!("SKIPPED: no local runner to check ({why}); tests/run.sh builds it");
            return None;
        }
    };
    let port = free_port();
    let data = std::env::temp_dir().join(format!("seller-check-{}-{port}.db", std::process::id()));
    let child = Command::new(bin)
        .arg("--reset")
        .env("PORT", port.to_string())
        .env("CONNECTOR_DATA", &data)
        .env("STANDIN_PORT", free_port().to_string())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("connector-local starts");
    let runner = Runner { child, data, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "connector-local did not listen on {port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(runner)
}

fn seller_check(args: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_seller-check"))
        .args(args)
        .args(["--json", "--quiet"])
        .output()
        .expect("seller-check runs");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "seller-check printed no JSON report ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

fn ids(report: &Value, outcome: &str) -> Vec<String> {
    report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"] == outcome)
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_local_runner_passes_every_rule_orders_and_oms_included() {
    let oms_port = free_port();
    let secret = "seller-check-test-secret";
    let Some(runner) = start_runner(&[
        ("INBOUND_PATH_SECRET", secret.into()),
        ("VTEX_BASE_URL", format!("http://127.0.0.1:{oms_port}")),
        ("VTEX_APP_KEY", "seller-check-key".into()),
        ("VTEX_APP_TOKEN", "seller-check-token".into()),
    ]) else {
        return;
    };
    let base = format!("http://127.0.0.1:{}", runner.port);
    let oms = format!("127.0.0.1:{oms_port}");
    let hook = format!(
        "sh {}/examples/local-erp-hook.sh",
        env!("CARGO_MANIFEST_DIR")
    );
    let html = std::env::temp_dir().join(format!("seller-check-{}.html", std::process::id()));
    let (code, report) = seller_check(&[
        "--base",
        &base,
        "--path-secret",
        secret,
        "--allow-orders",
        "--order-sku",
        "2002495",
        "--order-sku",
        "34562",
        "--oms-listen",
        &oms,
        "--erp-hook",
        &hook,
        "--oms-wait",
        "60",
        "--html",
        html.to_str().unwrap(),
    ]);
    let pretty = serde_json::to_string_pretty(&report["rules"]).unwrap();
    assert_eq!(ids(&report, "fail"), Vec::<String>::new(), "{pretty}");
    assert_eq!(ids(&report, "skip"), Vec::<String>::new(), "{pretty}");
    assert_eq!(
        ids(&report, "pass").len(),
        report["rules"].as_array().unwrap().len()
    );
    assert_eq!(code, 0);
    let page = std::fs::read_to_string(&html).expect("the HTML report is written");
    let _ = std::fs::remove_file(&html);
    assert!(
        page.contains("no rule failed") && page.contains("oms.retry-after-429"),
        "{page}"
    );
}

#[test]
fn a_plain_run_against_the_local_runner_passes_and_places_nothing() {
    let Some(runner) = start_runner(&[]) else {
        return;
    };
    let base = format!("http://127.0.0.1:{}", runner.port);
    // The local runner answers only the marketplaces it registers (MKP001 for any other `an`).
    let (code, report) = seller_check(&["--base", &base, "--an", "marketplacedemo"]);
    assert_eq!(ids(&report, "fail"), Vec::<String>::new(), "{report}");
    assert_eq!(code, 0);
    let skipped = ids(&report, "skip");
    assert!(
        skipped
            .iter()
            .all(|id| id.starts_with("ord.") || id == "auth.required"),
        "{skipped:?}"
    );
    assert!(
        report["notes"].as_array().unwrap().is_empty(),
        "nothing placed: {}",
        report["notes"]
    );
}
