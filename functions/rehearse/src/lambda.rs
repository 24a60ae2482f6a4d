//! Lambda as the cloud runs it: each function of the template is the real binary in its own processes,
//! started with the function's environment and nothing else, fed through the **Lambda Runtime API**
//! (`/2018-06-01/runtime/invocation/next`, `…/{id}/response`, `…/{id}/error`, `init/error`).
//!
//! A function starts with no instance; an invocation that finds none idle starts one (a cold start), up
//! to [`MAX_INSTANCES`] a function, so concurrent requests run in separate processes as they do in the
//! cloud. An invocation that outlives the function's timeout is answered as timed out. The functions'
//! own log lines are shown prefixed with the function's name and instance, with a `REPORT` line per
//! invocation as Lambda writes.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, OnceCell, mpsc, oneshot, watch};

use crate::http_server::{self, Answer};
use crate::logs::Logs;
use crate::template::{ACCOUNT, Function, REGION};

/// Instances a function may run at once (Lambda scales further; two cores do not).
pub const MAX_INSTANCES: usize = 4;

/// What an invocation came back with.
#[derive(Debug)]
pub enum Outcome {
    /// The handler's result (`…/response`).
    Response(Bytes),
    /// The handler failed (`…/error`), with Lambda's error document.
    Error(Bytes),
    /// No answer within the function's timeout.
    TimedOut,
}

struct Invocation {
    id: String,
    payload: Bytes,
    deadline: u128,
    reply: oneshot::Sender<Outcome>,
}

/// One function: its processes and their shared Runtime API.
pub struct Pool {
    pub function: Function,
    binary: PathBuf,
    environment: BTreeMap<String, String>,
    queue: mpsc::UnboundedSender<Invocation>,
    waiting: Mutex<mpsc::UnboundedReceiver<Invocation>>,
    in_flight: std::sync::Mutex<HashMap<String, (oneshot::Sender<Outcome>, Instant)>>,
    idle: AtomicUsize,
    instances: AtomicUsize,
    started: AtomicUsize,
    cold_starts: AtomicUsize,
    runtime_api: OnceCell<SocketAddr>,
    shutdown: watch::Receiver<bool>,
    logs: Logs,
    /// CloudFormation answers to custom resources, by request id (the site publisher's).
    pub cloudformation: std::sync::Mutex<HashMap<String, oneshot::Sender<serde_json::Value>>>,
}

impl Pool {
    pub fn new(
        function: Function,
        binary: PathBuf,
        environment: BTreeMap<String, String>,
        shutdown: watch::Receiver<bool>,
        logs: Logs,
    ) -> Arc<Self> {
        let (queue, waiting) = mpsc::unbounded_channel();
        Arc::new(Self {
            function,
            binary,
            environment,
            queue,
            waiting: Mutex::new(waiting),
            in_flight: std::sync::Mutex::new(HashMap::new()),
            idle: AtomicUsize::new(0),
            instances: AtomicUsize::new(0),
            started: AtomicUsize::new(0),
            cold_starts: AtomicUsize::new(0),
            runtime_api: OnceCell::new(),
            shutdown,
            logs,
            cloudformation: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// Instances started so far (each a cold start).
    pub fn cold_starts(&self) -> usize {
        self.cold_starts.load(Ordering::Relaxed)
    }

    /// Invokes the function with `payload` (synchronously, as API Gateway and CloudFormation do).
    pub async fn invoke(self: &Arc<Self>, payload: Bytes) -> Result<Outcome> {
        let address = *self
            .runtime_api
            .get_or_try_init(|| self.clone().start_runtime_api())
            .await?;
        let timeout = Duration::from_secs(self.function.timeout_seconds);
        let (reply, answer) = oneshot::channel();
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|now| (now + timeout).as_millis())
            .unwrap_or_default();
        self.queue
            .send(Invocation {
                id: ulid::Ulid::new().to_string().to_lowercase(),
                payload,
                deadline,
                reply,
            })
            .map_err(|_| anyhow!("the function's queue is closed"))?;
        if self.idle.load(Ordering::SeqCst) == 0
            && self.instances.load(Ordering::SeqCst) < MAX_INSTANCES
        {
            self.start_instance(address);
        }
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(_)) => Err(anyhow!("the invocation was dropped")),
            Err(_) => Ok(Outcome::TimedOut),
        }
    }

    async fn start_runtime_api(self: Arc<Self>) -> Result<SocketAddr> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let pool = self.clone();
        tokio::spawn(http_server::serve(
            listener,
            Arc::new(move |parts: http::request::Parts, body: Bytes, _| {
                let pool = pool.clone();
                async move { pool.runtime_api(parts, body).await }
            }),
        ));
        Ok(address)
    }

    fn start_instance(self: &Arc<Self>, runtime_api: SocketAddr) {
        let number = self.started.fetch_add(1, Ordering::SeqCst) + 1;
        self.instances.fetch_add(1, Ordering::SeqCst);
        self.cold_starts.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}#{number}", self.function.logical_id);
        let mut command = tokio::process::Command::new(&self.binary);
        command
            .env_clear()
            .envs(&self.environment)
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let pool = self.clone();
        tokio::spawn(async move {
            let mut child = match command.spawn() {
                Ok(child) => child,
                Err(error) => {
                    pool.logs
                        .rehearsal(&format!("{name}: cannot start the binary: {error}"));
                    pool.instances.fetch_sub(1, Ordering::SeqCst);
                    return;
                }
            };
            for stream in [
                child
                    .stdout
                    .take()
                    .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
                child
                    .stderr
                    .take()
                    .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
            ]
            .into_iter()
            .flatten()
            {
                let (logs, name) = (pool.logs.clone(), name.clone());
                tokio::spawn(async move {
                    let mut lines = BufReader::new(stream).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        logs.function(&name, &line);
                    }
                });
            }
            let mut shutdown = pool.shutdown.clone();
            tokio::select! {
                status = child.wait() => {
                    pool.logs.rehearsal(&format!("{name} exited: {}", status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string())));
                }
                _ = shutdown.changed() => {
                    let _ = child.kill().await;
                }
            }
            pool.instances.fetch_sub(1, Ordering::SeqCst);
        });
    }

    async fn runtime_api(self: Arc<Self>, parts: http::request::Parts, body: Bytes) -> Answer {
        let path = parts.uri.path();
        let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
            if let Some(id) = path.strip_prefix("/cloudformation/") {
                return self.cloudformation_answer(id, &body);
            }
            return http_server::plain(404, "not a Runtime API path");
        };
        match (parts.method.as_str(), rest) {
            ("GET", "invocation/next") => self.next().await,
            ("POST", "init/error") => {
                self.logs.rehearsal(&format!(
                    "{}: init error: {}",
                    self.function.logical_id,
                    String::from_utf8_lossy(&body)
                ));
                http_server::json(202, &serde_json::json!({"status": "OK"}))
            }
            ("POST", rest) => {
                let Some((id, kind)) = rest
                    .strip_prefix("invocation/")
                    .and_then(|r| r.split_once('/'))
                else {
                    return http_server::plain(404, "unknown Runtime API path");
                };
                let Some((reply, started)) = self
                    .in_flight
                    .lock()
                    .ok()
                    .and_then(|mut in_flight| in_flight.remove(id))
                else {
                    return http_server::json(
                        400,
                        &serde_json::json!({"errorType": "InvalidRequestID"}),
                    );
                };
                let outcome = match kind {
                    "response" => Outcome::Response(body),
                    _ => Outcome::Error(body),
                };
                self.logs.rehearsal_quiet(&format!(
                    "REPORT {} RequestId: {id} Duration: {:.2} ms Memory Size: {} MB",
                    self.function.logical_id,
                    started.elapsed().as_secs_f64() * 1000.0,
                    self.function.memory_mb
                ));
                let _ = reply.send(outcome);
                http_server::json(202, &serde_json::json!({"status": "OK"}))
            }
            _ => http_server::plain(404, "unknown Runtime API path"),
        }
    }

    /// Hands the next invocation to an instance that asks for one, waiting until there is one.
    async fn next(&self) -> Answer {
        self.idle.fetch_add(1, Ordering::SeqCst);
        let invocation = {
            let mut waiting = self.waiting.lock().await;
            waiting.recv().await
        };
        self.idle.fetch_sub(1, Ordering::SeqCst);
        let Some(invocation) = invocation else {
            return http_server::plain(410, "shutting down");
        };
        if let Ok(mut in_flight) = self.in_flight.lock() {
            in_flight.insert(invocation.id.clone(), (invocation.reply, Instant::now()));
        }
        let mut answer = http_server::answer(200, "application/json", invocation.payload);
        let headers = answer.headers_mut();
        let arn = format!(
            "arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}",
            self.function.logical_id
        );
        for (name, value) in [
            ("lambda-runtime-aws-request-id", invocation.id.clone()),
            (
                "lambda-runtime-deadline-ms",
                invocation.deadline.to_string(),
            ),
            ("lambda-runtime-invoked-function-arn", arn),
            (
                "lambda-runtime-trace-id",
                format!(
                    "Root=1-{}-{};Sampled=0",
                    &invocation.id[..8],
                    &invocation.id[8..]
                ),
            ),
        ] {
            if let Ok(value) = http::HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        answer
    }

    fn cloudformation_answer(&self, id: &str, body: &Bytes) -> Answer {
        let value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
        if let Some(waiter) = self
            .cloudformation
            .lock()
            .ok()
            .and_then(|mut waiting| waiting.remove(id))
        {
            let _ = waiter.send(value);
        }
        http_server::plain(200, "")
    }

    /// Where a custom resource answers CloudFormation (`ResponseURL`), and the answer when it comes.
    pub async fn cloudformation_url(
        self: &Arc<Self>,
    ) -> Result<(String, oneshot::Receiver<serde_json::Value>)> {
        let address = *self
            .runtime_api
            .get_or_try_init(|| self.clone().start_runtime_api())
            .await?;
        let id = ulid::Ulid::new().to_string();
        let (sender, receiver) = oneshot::channel();
        if let Ok(mut waiting) = self.cloudformation.lock() {
            waiting.insert(id.clone(), sender);
        }
        Ok((format!("http://{address}/cloudformation/{id}"), receiver))
    }
}
