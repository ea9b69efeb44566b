//! A Lambda Runtime API (the 2018-06-01 interface a custom runtime's `bootstrap` polls), served on
//! a local port, and the real `bootstrap` processes started against it with the environment Lambda
//! gives them. This is what `sam local invoke` does in Docker, without Docker: the process starts,
//! initializes, long-polls `GET …/invocation/next`, and answers each event with
//! `POST …/invocation/{id}/response` or `…/error`; a failed init posts `…/init/error` (or the
//! process exits).
//!
//! Routes: `GET /2018-06-01/runtime/invocation/next`, `POST /2018-06-01/runtime/invocation/{id}/response`,
//! `POST /2018-06-01/runtime/invocation/{id}/error`, `POST /2018-06-01/runtime/init/error`.
//!
//! Also measures what Lambda bills and limits: init time (process start → first `/next`), and the
//! process's resident memory (`VmRSS` / `VmHWM` from `/proc/<pid>/status`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::sync::{Notify, oneshot};

/// What the function answered to one event.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// `POST …/{id}/response`: the body the function returned.
    Response(serde_json::Value),
    /// `POST …/{id}/error`: the error type header and the error body.
    Error {
        error_type: String,
        body: serde_json::Value,
    },
}

/// An error posted to `/init/error`.
#[derive(Debug, Clone)]
pub struct InitError {
    pub error_type: String,
    pub body: serde_json::Value,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<VecDeque<(String, Vec<u8>)>>,
    queued: Notify,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    first_next: Mutex<Option<Instant>>,
    first_next_seen: Notify,
    init_error: Mutex<Option<InitError>>,
    init_error_seen: Notify,
}

/// The Runtime API server for one function instance.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:harness";

async fn next(State(s): State<Arc<Shared>>) -> Response {
    {
        let mut first = s.first_next.lock().unwrap();
        if first.is_none() {
            *first = Some(Instant::now());
            s.first_next_seen.notify_waiters();
        }
    }
    loop {
        let notified = s.queued.notified();
        if let Some((id, body)) = s.queue.lock().unwrap().pop_front() {
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 300_000;
            return (
                StatusCode::OK,
                [
                    ("content-type", "application/json".to_string()),
                    ("lambda-runtime-aws-request-id", id),
                    ("lambda-runtime-deadline-ms", deadline.to_string()),
                    ("lambda-runtime-invoked-function-arn", ARN.to_string()),
                    (
                        "lambda-runtime-trace-id",
                        "Root=1-00000000-000000000000000000000000;Sampled=0".to_string(),
                    ),
                ],
                body,
            )
                .into_response();
        }
        notified.await;
    }
}

fn json_or_text(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(body).into_owned()))
}

fn error_type(headers: &HeaderMap) -> String {
    headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn complete(s: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    match s.waiting.lock().unwrap().remove(id) {
        Some(tx) => {
            let _ = tx.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(State(s): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    complete(&s, &id, Outcome::Response(json_or_text(&body)))
}

async fn error(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let outcome = Outcome::Error {
        error_type: error_type(&headers),
        body: json_or_text(&body),
    };
    complete(&s, &id, outcome)
}

async fn init_error(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    *s.init_error.lock().unwrap() = Some(InitError {
        error_type: error_type(&headers),
        body: json_or_text(&body),
    });
    s.init_error_seen.notify_waiters();
    StatusCode::ACCEPTED
}

impl RuntimeApi {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        RuntimeApi {
            addr,
            shared,
            server,
        }
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Queues one event and returns a receiver of the function's answer.
    fn enqueue(&self, event: &serde_json::Value) -> oneshot::Receiver<Outcome> {
        let id = uuid::Uuid::new_v4().to_string();
        let (tx, rx) = oneshot::channel();
        self.shared.waiting.lock().unwrap().insert(id.clone(), tx);
        self.shared
            .queue
            .lock()
            .unwrap()
            .push_back((id, serde_json::to_vec(event).unwrap()));
        self.shared.queued.notify_one();
        rx
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// How a `bootstrap` is started.
#[derive(Debug, Clone)]
pub struct Launch {
    pub binary: PathBuf,
    pub function_name: String,
    pub memory_mb: u64,
    /// The function's own environment (the template's variables, resolved), plus whatever the
    /// harness must add to reach its stand-ins (`AWS_ENDPOINT_URL`, credentials).
    pub env: Vec<(String, String)>,
}

/// A started `bootstrap` process and its Runtime API.
pub struct Bootstrap {
    api: RuntimeApi,
    child: tokio::process::Child,
    started: Instant,
    stderr: Arc<Mutex<Vec<u8>>>,
    stdout: Arc<Mutex<Vec<u8>>>,
}

/// How the init phase ended.
#[derive(Debug)]
pub enum Init {
    /// The first `/next` arrived this long after the process was started.
    Ready(Duration),
    /// The runtime posted `/init/error`.
    Failed(InitError),
    /// The process exited before asking for an event.
    Exited(std::process::ExitStatus),
}

/// Memory of a running process, from `/proc/<pid>/status`, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub rss_kib: u64,
    pub hwm_kib: u64,
}

fn collect(mut r: impl tokio::io::AsyncRead + Unpin + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let out = buf.clone();
    tokio::spawn(async move {
        let mut chunk = [0u8; 8192];
        while let Ok(n) = r.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            out.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    buf
}

impl Bootstrap {
    /// Starts the binary with a clean environment: what Lambda sets for a `provided.al2023`
    /// function, then `launch.env`.
    pub async fn start(launch: &Launch) -> Self {
        let api = RuntimeApi::start().await;
        let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
        let mut cmd = tokio::process::Command::new(&launch.binary);
        cmd.env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", &launch.function_name)
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                launch.memory_mb.to_string(),
            )
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", launch.function_name),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/12/01/[$LATEST]harness")
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_REGION", &region)
            .env("AWS_DEFAULT_REGION", &region)
            .env("_HANDLER", "bootstrap")
            .env("LAMBDA_TASK_ROOT", "/var/task")
            .env("LAMBDA_RUNTIME_DIR", "/var/runtime")
            .env("TZ", ":UTC")
            .env("LANG", "en_US.UTF-8")
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .envs(launch.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", launch.binary.display()));
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        Bootstrap {
            api,
            child,
            started,
            stderr,
            stdout,
        }
    }

    /// Waits until the runtime asks for its first event, reports an init error, or exits.
    /// `limit` only guards against a hung process; it is not a speed check.
    pub async fn init(&mut self, limit: Duration) -> Init {
        let s = self.api.shared.clone();
        let deadline = Instant::now() + limit;
        loop {
            let ready = s.first_next_seen.notified();
            let failed = s.init_error_seen.notified();
            if let Some(t) = *s.first_next.lock().unwrap() {
                return Init::Ready(t - self.started);
            }
            if let Some(e) = s.init_error.lock().unwrap().clone() {
                return Init::Failed(e);
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                panic!(
                    "bootstrap neither asked for an event nor failed within {limit:?}; output:\n{}",
                    self.output()
                );
            }
            tokio::select! {
                _ = ready => {}
                _ = failed => {}
                status = self.child.wait() => {
                    // An init error posted just before exiting wins over the bare exit.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    if let Some(e) = s.init_error.lock().unwrap().clone() {
                        return Init::Failed(e);
                    }
                    return Init::Exited(status.unwrap());
                }
                _ = tokio::time::sleep(remaining.min(Duration::from_millis(200))) => {}
            }
        }
    }

    /// Sends one event and waits for the answer, returning it and the time from queueing the
    /// event to the answer. `limit` only guards against a hung function.
    pub async fn invoke(
        &mut self,
        event: &serde_json::Value,
        limit: Duration,
    ) -> (Outcome, Duration) {
        let start = Instant::now();
        let rx = self.api.enqueue(event);
        tokio::select! {
            outcome = tokio::time::timeout(limit, rx) => match outcome {
                Ok(Ok(o)) => (o, start.elapsed()),
                _ => panic!("no answer within {limit:?}; output:\n{}", self.output()),
            },
            status = self.child.wait() => {
                panic!("bootstrap exited ({:?}) during an invocation; output:\n{}", status, self.output())
            }
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// `VmRSS` and `VmHWM` of the process now.
    pub fn memory(&self) -> Memory {
        let Some(pid) = self.pid() else {
            return Memory::default();
        };
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        Memory {
            rss_kib: field("VmRSS:"),
            hwm_kib: field("VmHWM:"),
        }
    }

    /// Everything the process wrote so far (stdout, then stderr).
    pub fn output(&self) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&self.stdout.lock().unwrap()),
            String::from_utf8_lossy(&self.stderr.lock().unwrap())
        )
    }

    /// What the process printed, once its pipes have gone quiet: the reader tasks may still hold
    /// the lines it wrote just before answering (seen on a loaded machine as an empty output).
    pub async fn settled_output(&self) -> String {
        let mut last = self.output();
        for _ in 0..40 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let now = self.output();
            if now == last && !now.is_empty() {
                return now;
            }
            last = now;
        }
        last
    }

    /// Stops the process (Lambda's shutdown is a SIGKILL after the extensions' turn).
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
