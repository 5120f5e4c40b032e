//! A store filled with what the pages show: a finished chain, a batch with failed chunks and
//! error events, queued jobs, holding batches in the flex queue, a schedule and a job whose
//! payload carries a `<script>`; and a router over it, called without a socket.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use asyncapex::unstable::store::Store;
use asyncapex::{
    BatchContext, Batchable, CronTriggerId, Engine, EnqueueOptions, JobError, JobId, Queueable,
    QueueableContext, Schedulable, SchedulableContext, SqliteStore, WorkSet,
};
use asyncapex_web::{Auth, WebState, router};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde::{Deserialize, Serialize};
use tower::ServiceExt;

pub const TOKEN: &str = "test-token-123";
pub const WAIT: Duration = Duration::from_secs(30);
pub const SCRIPT: &str = "<script>alert('pwned')</script>";

/// Chains `remaining` more steps.
#[derive(Serialize, Deserialize)]
pub struct Step {
    pub remaining: u32,
}

impl Queueable for Step {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        if self.remaining > 0 {
            ctx.enqueue_job(Step {
                remaining: self.remaining - 1,
            })?;
        }
        Ok(())
    }
}

/// Numbers 0..n; the chunk holding `fail_on` fails.
#[derive(Default, Serialize, Deserialize)]
pub struct Numbers {
    pub n: u64,
    pub fail_on: Option<u64>,
}

impl Batchable for Numbers {
    type Item = u64;
    const RAISES_ERROR_EVENTS: bool = true;

    async fn start(&mut self, _ctx: &mut BatchContext) -> Result<WorkSet<u64>, JobError> {
        Ok(WorkSet::iter(0..self.n))
    }
    async fn execute(&mut self, _ctx: &mut BatchContext, scope: Vec<u64>) -> Result<(), JobError> {
        match self.fail_on {
            Some(bad) if scope.contains(&bad) => Err(JobError::new(format!("item {bad} is bad"))),
            _ => Ok(()),
        }
    }
    async fn finish(&mut self, _ctx: &mut BatchContext) -> Result<(), JobError> {
        Ok(())
    }
}

/// A scheduled job that does nothing.
#[derive(Serialize, Deserialize)]
pub struct Tick {}

impl Schedulable for Tick {
    async fn execute(&mut self, _ctx: &mut SchedulableContext) -> Result<(), JobError> {
        Ok(())
    }
}

pub struct Fixture {
    pub app: Router,
    pub engine: Engine,
    /// The root of a finished two-job chain, and its child.
    pub chain: (JobId, JobId),
    /// A finished batch with one failed chunk and its error event.
    pub batch: JobId,
    /// A queued queueable (nothing runs it).
    pub queued: JobId,
    /// A queued job whose payload holds a `<script>`.
    pub xss: JobId,
    /// Holding batches, in flex-queue order.
    pub holding: Vec<JobId>,
    /// A waiting schedule.
    pub schedule: CronTriggerId,
}

fn builder() -> asyncapex::EngineBuilder {
    Engine::builder()
        .register::<Step>()
        .register_batch::<Numbers>()
        .register_schedulable::<Tick>()
}

pub async fn fixture() -> Fixture {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    // A worker runs the finished work, then goes away.
    let worker = builder()
        .store(store.clone())
        .concurrency(2)
        .start()
        .await
        .unwrap();
    let root = worker.enqueue_job(Step { remaining: 1 }).await.unwrap();
    worker.wait_idle(WAIT).await.unwrap();
    let batch = worker
        .execute_batch(
            Numbers {
                n: 10,
                fail_on: Some(3),
            },
            2,
        )
        .await
        .unwrap();
    worker.wait_for(batch, WAIT).await.unwrap();
    worker.wait_idle(WAIT).await.unwrap();
    worker.shutdown(WAIT).await.unwrap();

    // The dashboard's engine runs nothing: what it enqueues stays put.
    let engine = builder()
        .store(store)
        .concurrency(0)
        .scheduler(false)
        .start()
        .await
        .unwrap();
    let child = engine
        .jobs(asyncapex::JobListParams {
            parent_job_id: Some(root),
            ..Default::default()
        })
        .await
        .unwrap()[0]
        .id;
    let queued = engine.enqueue_job(Step { remaining: 0 }).await.unwrap();
    let xss = engine
        .enqueue_json(
            "Untrusted",
            serde_json::json!({ "note": SCRIPT }),
            EnqueueOptions::default(),
        )
        .await
        .unwrap();
    let mut holding = Vec::new();
    for n in 1..=3 {
        holding.push(
            engine
                .execute_batch(Numbers { n, fail_on: None }, 200)
                .await
                .unwrap(),
        );
    }
    let schedule = engine
        .schedule("Nightly cleanup", "0 0 2 * * ?", Tick {})
        .await
        .unwrap();
    let state = WebState::new(engine.clone(), Auth::new(TOKEN).unwrap());
    Fixture {
        app: router(state),
        engine,
        chain: (root, child),
        batch,
        queued,
        xss,
        holding,
        schedule,
    }
}

/// A valid session cookie, as the sign-in form sets it.
pub fn cookie() -> String {
    let auth = Auth::new(TOKEN).unwrap();
    format!(
        "asyncapex_session={}",
        auth.session_value(jiff::Timestamp::now())
    )
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The stable error code of a JSON error body.
    pub fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap().to_owned()
    }
}

pub async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Reply {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

pub async fn get(app: &Router, path: &str) -> Reply {
    send(
        app,
        Request::builder().uri(path).body(Body::empty()).unwrap(),
    )
    .await
}

/// A request with a JSON body (or none) and an optional bearer token.
pub async fn call(
    app: &Router,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
    token: Option<&str>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let body = match body {
        Some(b) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    send(app, request.body(body).unwrap()).await
}

pub async fn post(app: &Router, path: &str, body: Option<serde_json::Value>) -> Reply {
    call(app, Method::POST, path, body, Some(TOKEN)).await
}

/// A page form post with the session cookie (or none).
pub async fn form(app: &Router, path: &str, fields: &str, cookie: Option<&str>) -> Reply {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        request = request.header(header::COOKIE, c);
    }
    send(app, request.body(Body::from(fields.to_owned())).unwrap()).await
}
