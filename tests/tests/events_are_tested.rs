//! `events/` feeds `sam local invoke`, the handler tests and the README. Docker is not on every
//! machine, so the handler tests are how these files are exercised here; this test makes sure no
//! sample goes stale: each file parses as the event its function receives, and each is fed to a
//! handler by at least one test.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn events() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        // `sam local invoke --env-vars` input, not an event (tests/sam_transform.py checks it).
        .filter(|p| !p.ends_with("env-vars.json"))
        .collect();
    v.sort();
    assert!(
        v.len() >= 20,
        "expected the sample events, found {}",
        v.len()
    );
    v
}

fn rust_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if p.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_sources(&p, out);
            }
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_event_parses_as_what_its_function_receives() {
    for path in events() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = fs::read_to_string(&path).unwrap();
        let prefix = name.split('.').next().unwrap();
        let ok = match prefix {
            "simulation" | "order-placement" | "fulfillment" | "mse" => {
                lambda_http::request::from_str(&text).is_ok()
            }
            "dispatch" | "catalog-sync" | "order-import" if name.ends_with(".file.json") => {
                serde_json::from_str::<serde_json::Value>(&text).is_ok()
            }
            "dispatch" | "catalog-sync" | "order-import" => {
                serde_json::from_str::<aws_lambda_events::sqs::SqsEvent>(&text)
                    .is_ok_and(|e| !e.records.is_empty())
            }
            "reservation-sweeper" => {
                serde_json::from_str::<aws_lambda_events::eventbridge::EventBridgeEvent>(&text)
                    .is_ok()
            }
            "erp-order-event" => serde_json::from_str::<domain::ports::OrderEvent>(&text).is_ok(),
            other => panic!("{name}: no function takes events named {other}.*"),
        };
        assert!(
            ok,
            "{name} does not parse as the event its function receives"
        );
    }
}

#[test]
fn every_event_is_fed_to_a_handler_by_some_test() {
    let mut sources = Vec::new();
    rust_sources(&root().join("functions"), &mut sources);
    rust_sources(&root().join("tests").join("tests"), &mut sources);
    rust_sources(&root().join("shared"), &mut sources);
    let me = file!().rsplit('/').next().unwrap().to_string();
    let texts: Vec<String> = sources
        .iter()
        .filter(|p| !p.ends_with(&me))
        .map(|p| fs::read_to_string(p).unwrap())
        .collect();
    let unused: Vec<String> = events()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
        .filter(|name| !texts.iter().any(|t| t.contains(name.as_str())))
        .collect();
    assert!(unused.is_empty(), "sample events no test uses: {unused:?}");
}
