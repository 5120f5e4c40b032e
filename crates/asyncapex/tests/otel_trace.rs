//! OpenTelemetry (feature `otel`): an enqueue inside a request's span stores the span's W3C
//! traceparent with the job, and the job's execution — run by another engine — is exported as
//! a span of the same trace whose parent is the request's span; a job it chains is the child
//! of its execution's span (child → parent → request).
#![cfg(feature = "otel")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::Duration;

use asyncapex::{Engine, JobError, JobId, Queueable, QueueableContext};
use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde::{Deserialize, Serialize};
use support::WAIT;

#[derive(Serialize, Deserialize)]
struct Checkout {
    chain: bool,
}

impl Queueable for Checkout {
    async fn execute(&mut self, ctx: &mut QueueableContext) -> Result<(), JobError> {
        if self.chain {
            ctx.enqueue_job(Checkout { chain: false })?;
        }
        Ok(())
    }
}

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv: &&KeyValue| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

fn execution_of(spans: &[SpanData], id: JobId) -> SpanData {
    spans
        .iter()
        .find(|s| s.name == "asyncapex.execution" && attr(s, "job.id") == Some(id.to_string()))
        .cloned()
        .unwrap_or_else(|| panic!("no execution span for {id} among {} spans", spans.len()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execution_span_continues_the_trace_of_the_request_that_enqueued_it() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("jobs.db");
    // The web process: enqueues inside its request span, runs nothing.
    let web = Engine::builder()
        .sqlite(&db)
        .register::<Checkout>()
        .concurrency(0)
        .start()
        .await
        .unwrap();
    // The worker: another engine on the same store.
    let worker = Engine::builder()
        .sqlite(&db)
        .register::<Checkout>()
        .start()
        .await
        .unwrap();

    let tracer = provider.tracer("web");
    let request = tracer
        .span_builder("POST /checkout")
        .with_kind(SpanKind::Server)
        .start(&tracer);
    let request_cx = Context::current_with_span(request);
    let request_trace = request_cx.span().span_context().trace_id();
    let request_span = request_cx.span().span_context().span_id();
    let id = {
        let _entered = request_cx.clone().attach();
        web.enqueue_job(Checkout { chain: true }).await.unwrap()
    };
    request_cx.span().end();
    let stored = web.job(id).await.unwrap().trace_parent.expect("stored");
    assert_eq!(stored, format!("00-{request_trace}-{request_span}-01"));

    worker.wait_for(id, WAIT).await.unwrap();
    worker.wait_idle(WAIT).await.unwrap();
    let child = worker
        .jobs(asyncapex::JobListParams {
            parent_job_id: Some(id),
            ..Default::default()
        })
        .await
        .unwrap()
        .pop()
        .expect("the chained job");
    worker.wait_for(child.id, WAIT).await.unwrap();
    worker.shutdown(Duration::from_secs(5)).await.unwrap();
    web.shutdown(Duration::from_secs(5)).await.unwrap();
    provider.force_flush().unwrap();

    let spans = exporter.get_finished_spans().unwrap();
    let parent = execution_of(&spans, id);
    assert_eq!(parent.span_context.trace_id(), request_trace);
    assert_eq!(
        parent.parent_span_id, request_span,
        "names the request's span"
    );
    assert!(
        parent.parent_span_is_remote,
        "the parent came through the store"
    );
    assert_eq!(parent.span_kind, SpanKind::Consumer);
    assert_eq!(attr(&parent, "job.class").as_deref(), Some("Checkout"));
    assert_eq!(attr(&parent, "outcome").as_deref(), Some("completed"));
    let chained = execution_of(&spans, child.id);
    assert_eq!(chained.span_context.trace_id(), request_trace, "one trace");
    assert_eq!(
        chained.parent_span_id,
        parent.span_context.span_id(),
        "the chained job's parent is its parent job's execution"
    );
}
