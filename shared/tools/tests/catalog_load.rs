//! The `catalog-load` binary as an operator runs it: an embedded store file, progress and a
//! summary on stderr, exit codes, VTEX told only what changed (the stand-in plays VTEX).

use domain::catalog_notify::SyncStateStore;
use domain::ports::CatalogReader;
use embedded_store::EmbeddedStore;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Output;

const SAMPLE: &str = include_str!("../../../shared/sample/catalog.json");

/// A temp directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let p =
            std::env::temp_dir().join(format!("catalog-load-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn file(&self, name: &str, content: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, content).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the binary with only the given VTEX settings in its environment, off the runtime's
/// thread (the stand-in it may call runs on it).
async fn load(args: &[&str], env: &[(&str, String)]) -> (Output, String) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    tokio::task::spawn_blocking(move || run_load(&args, &env))
        .await
        .unwrap()
}

fn run_load(args: &[String], env: &[(String, String)]) -> (Output, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_catalog-load"));
    cmd.args(args);
    for k in [
        "VTEX_SELLER_ID",
        "VTEX_ACCOUNT",
        "DEFAULT_AN",
        "VTEX_BASE_URL",
        "VTEX_SUGGESTIONS_BASE_URL",
        "VTEX_APP_KEY",
        "VTEX_APP_TOKEN",
        "VTEX_CREDENTIALS_SECRET_ARN",
        "CATALOG_TABLE",
    ] {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stderr)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

async fn stored_ids(db: &Path) -> usize {
    let store = EmbeddedStore::open(db).unwrap();
    let file: Value = serde_json::from_str(SAMPLE).unwrap();
    let ids: Vec<String> = file["skus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    store.get_skus(&ids).await.unwrap().len()
}

#[tokio::test]
async fn loads_a_catalog_file_into_the_embedded_store_with_progress() {
    let dir = TempDir::new();
    let catalog = dir.file("catalog.json", SAMPLE);
    let db = dir.0.join("connector.db");
    let (out, stderr) = load(
        &[
            path(&catalog),
            "--embedded",
            path(&db),
            "--no-notify",
            "--progress-every",
            "20",
        ],
        &[],
    )
    .await;
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("read 52/52 (100%)"), "{stderr}");
    assert!(stderr.contains("written 20/52 (38%)"), "{stderr}");
    assert!(stderr.contains("written 52/52 (100%)"), "{stderr}");
    assert!(
        stderr.contains("52 new, 0 changed, 0 unchanged"),
        "{stderr}"
    );
    assert!(
        stderr.contains("VTEX not notified (--no-notify); pending: catalog 52"),
        "{stderr}"
    );
    assert_eq!(stored_ids(&db).await, 52);

    // A second run finds nothing to do.
    let (out, stderr) = load(
        &[path(&catalog), "--embedded", path(&db), "--no-notify"],
        &[],
    )
    .await;
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("0 new, 0 changed, 52 unchanged"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_invalid_file_is_reported_completely_and_nothing_is_written() {
    let dir = TempDir::new();
    let mut file: Value = serde_json::from_str(SAMPLE).unwrap();
    file["skus"][0]["prices"][0]["price"] = json!(672.03);
    file["skus"][5]["stock"]["cd-cajamar"]["onHand"] = json!(-2);
    let bad = dir.file("bad.json", &file.to_string());
    let db = dir.0.join("connector.db");
    let (out, stderr) = load(&[path(&bad), "--embedded", path(&db), "--no-notify"], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("skus[0].prices[0].price"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(!db.exists() || stored_ids(&db).await == 0);

    // Decimals are found first; the next run reports the rest.
    file["skus"][0]["prices"][0]["price"] = json!(67203);
    let bad = dir.file("bad.json", &file.to_string());
    let (out, stderr) = load(&[path(&bad), "--embedded", path(&db), "--no-notify"], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("skus[5].stock.cd-cajamar.onHand"),
        "{stderr}"
    );

    let (out, stderr) = load(&["--embedded"], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("usage:"), "{stderr}");
}

#[tokio::test]
async fn a_reload_notifies_vtex_only_for_what_changed() {
    let (addr, standin) = vtex_standin::serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut file: Value = serde_json::from_str(SAMPLE).unwrap();
    standin.state().catalog.lock().unwrap().know(
        file["skus"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string()),
    );
    let dir = TempDir::new();
    let db = dir.0.join("connector.db");
    let catalog = dir.file("catalog.json", SAMPLE);
    let (out, stderr) = load(
        &[path(&catalog), "--embedded", path(&db), "--no-notify"],
        &[],
    )
    .await;
    assert!(out.status.success(), "{stderr}");

    file["skus"][2]["prices"][0]["price"] = json!(7290);
    file["skus"][3]["stock"]["cd-cajamar"]["onHand"] = json!(4);
    let changed = dir.file("changed.json", &file.to_string());
    let env = [
        ("VTEX_SELLER_ID", "seller1".to_string()),
        ("VTEX_ACCOUNT", "luxstore".to_string()),
        ("VTEX_BASE_URL", format!("http://{addr}")),
        ("VTEX_SUGGESTIONS_BASE_URL", format!("http://{addr}/{{an}}")),
        ("VTEX_APP_KEY", vtex_standin::DEFAULT_APP_KEY.to_string()),
        (
            "VTEX_APP_TOKEN",
            vtex_standin::DEFAULT_APP_TOKEN.to_string(),
        ),
    ];
    // A dry run tells, and changes nothing.
    let (out, stderr) = load(
        &[path(&changed), "--embedded", path(&db), "--dry-run"],
        &env,
    )
    .await;
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("would notify: price 1, inventory 1"),
        "{stderr}"
    );
    assert!(standin.state().requests().is_empty());

    let (out, stderr) = load(&[path(&changed), "--embedded", path(&db)], &env).await;
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("0 new, 2 changed, 50 unchanged"),
        "{stderr}"
    );
    assert!(
        stderr.contains("notified: price 1, inventory 1 (0 suggested)"),
        "{stderr}"
    );
    let paths: Vec<String> = standin
        .state()
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    let id = |i: usize| file["skus"][i]["id"].as_str().unwrap().to_string();
    let (id2, id3) = (id(2), id(3));
    let mut expected = vec![
        format!("/api/notificator/seller1/changenotification/{id2}/price"),
        format!("/api/notificator/seller1/changenotification/{id3}/inventory"),
    ];
    let mut got = paths.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);

    // The worker's coalescing state knows about these sends.
    let store = EmbeddedStore::open(&db).unwrap();
    let state = store.get_sync_state(&id2).await.unwrap().state;
    assert_eq!((state.price.changes, state.price.notified), (1, 1));
    assert!(state.price.last_sent_at.is_some());

    // VTEX refusing: written anyway, the failures listed, exit 2.
    file["skus"][2]["prices"][0]["price"] = json!(7190);
    let again = dir.file("again.json", &file.to_string());
    standin.state().set_faults(vtex_standin::FaultPlan {
        next: vec![403],
        ..Default::default()
    });
    let (out, stderr) = load(&[path(&again), "--embedded", path(&db)], &env).await;
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("SKU {id2} price: VTEX_403")),
        "{stderr}"
    );
    let stored = store.get_sku(&id2).await.unwrap().unwrap();
    assert_eq!(stored.prices[0].price.value(), 7190);

    // Once VTEX is back, running the same load again sends what is still pending.
    let (out, stderr) = load(&[path(&again), "--embedded", path(&db)], &env).await;
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("0 new, 0 changed, 52 unchanged"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 notification(s) still pending"),
        "{stderr}"
    );
    assert!(stderr.contains("notified: price 1"), "{stderr}");
    assert_eq!(
        standin.state().catalog.lock().unwrap().count("price", &id2),
        2
    );
    let (out, stderr) = load(&[path(&again), "--embedded", path(&db)], &env).await;
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("pending"), "{stderr}");
}
