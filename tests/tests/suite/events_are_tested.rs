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
            "simulation" | "order-placement" | "fulfillment" | "mse" | "console" => {
                lambda_http::request::from_str(&text).is_ok()
            }
            "dispatch" | "catalog-sync" | "order-import" if name.ends_with(".file.json") => {
                serde_json::from_str::<serde_json::Value>(&text).is_ok()
            }
            "dispatch" | "catalog-sync" | "order-import" => {
                serde_json::from_str::<aws_lambda_events::sqs::SqsEvent>(&text)
                    .is_ok_and(|e| !e.records.is_empty())
            }
            "outbox-relay" if name.ends_with(".scheduled.json") => {
                serde_json::from_str::<aws_lambda_events::eventbridge::EventBridgeEvent>(&text)
                    .is_ok()
            }
            "outbox-relay" => serde_json::from_str::<outbox_relay::StreamEvent>(&text)
                .is_ok_and(|e| !e.records.is_empty()),
            "reservation-sweeper" | "reconciler" => {
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

/// The HTTP samples are what API Gateway delivers through the deployed stage (`rawPath` =
/// `/{stage}/{secret}/…`; tests/sam_transform.py checks them against the template). Here: the
/// request `lambda_http` builds from each one routes to its function and passes the path-secret
/// check with the secret of its `pathParameters`, and fails it with another secret. lambda_http
/// keeps a `rawPath` that already starts with the stage whether or not
/// `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` is set, so both modes see this path.
#[test]
fn every_http_event_routes_and_authenticates_as_lambda_http_builds_it() {
    use lambda_kit::auth::{InboundAuth, RequestAuth, Secret};
    use lambda_kit::routes::Route;
    let mut seen = 0;
    for path in events() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        if v.get("routeKey").is_none() {
            continue;
        }
        // The console's routes carry no path secret: IAM authorizes them at the API
        // (tests/sam_transform.py checks it; functions/console's tests feed these events).
        if name.starts_with("console.") {
            continue;
        }
        seen += 1;
        let req = lambda_http::request::from_str(&text).unwrap();
        let route = Route::match_path(req.uri().path())
            .unwrap_or_else(|| panic!("{name}: {} matches no route", req.uri().path()));
        let function = name.split('.').next().unwrap();
        let expected = match route {
            Route::Simulation => "simulation",
            Route::PlaceOrders => "order-placement",
            Route::Fulfill(_) | Route::Cancel(_) | Route::AdminOrder(_) => "fulfillment",
            Route::MseInvoice(_) => "mse",
        };
        assert_eq!(function, expected, "{name}: routed to {route:?}");
        assert!(
            route.allows(req.method()),
            "{name}: {route:?} refuses its method"
        );
        if let Route::Fulfill(id)
        | Route::Cancel(id)
        | Route::AdminOrder(id)
        | Route::MseInvoice(id) = &route
        {
            assert_eq!(
                Some(id.as_str()),
                v["pathParameters"]["orderId"].as_str(),
                "{name}"
            );
        }
        let secret = v["pathParameters"]["secret"].as_str().unwrap();
        let with = |s: &str| InboundAuth {
            path_secret: Secret::new(s),
            app_key: None,
            app_token: None,
        };
        assert!(
            with(secret).check(&req).is_ok(),
            "{name}: its own secret is refused"
        );
        assert!(
            with("another-secret").check(&req).is_err(),
            "{name}: any secret passes"
        );
    }
    assert_eq!(seen, 13, "the HTTP samples");
}
