//! The tracing spans the engine opens, with the stable field names the crate documents.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use asyncapex::{Engine, JobError, Queueable, QueueableContext};
use serde::{Deserialize, Serialize};
use support::WAIT;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// A closed span: its name and its fields as text.
type Closed = (String, BTreeMap<String, String>);

/// Keeps every span's fields, and hands them over when the span closes.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<Closed>>>);

struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_owned(),
            format!("{value:?}").trim_matches('"').to_owned(),
        );
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields(BTreeMap::new());
        attrs.record(&mut fields);
        ctx.span(id).unwrap().extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let span = ctx.span(id).unwrap();
        let mut ext = span.extensions_mut();
        values.record(ext.get_mut::<Fields>().unwrap());
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let span = ctx.span(&id).unwrap();
        let fields = span.extensions_mut().remove::<Fields>().unwrap().0;
        self.0
            .lock()
            .unwrap()
            .push((span.name().to_owned(), fields));
    }
}

#[derive(Serialize, Deserialize)]
struct Charge {
    fail: bool,
}

impl Queueable for Charge {
    async fn execute(&mut self, _ctx: &mut QueueableContext) -> Result<(), JobError> {
        if self.fail {
            return Err(JobError::new("declined"));
        }
        Ok(())
    }
}

#[tokio::test]
async fn every_execution_has_a_span_with_its_job_outcome_and_duration() {
    let spans = Spans::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));
    let engine = Engine::builder()
        .in_memory()
        .register::<Charge>()
        .start()
        .await
        .unwrap();
    let ok = engine.enqueue_job(Charge { fail: false }).await.unwrap();
    let bad = engine.enqueue_job(Charge { fail: true }).await.unwrap();
    engine.wait_for(ok, WAIT).await.unwrap();
    engine.wait_for(bad, WAIT).await.unwrap();
    engine
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();

    let closed = spans.0.lock().unwrap().clone();
    let execution = |id: asyncapex::JobId| {
        closed
            .iter()
            .find(|(name, f)| {
                name == "asyncapex.execution" && f.get("job.id") == Some(&id.to_string())
            })
            .map(|(_, f)| f.clone())
            .unwrap_or_else(|| panic!("no execution span for {id}: {closed:?}"))
    };
    let done = execution(ok);
    assert_eq!(done["job.class"], "Charge");
    assert_eq!(done["job.type"], "Queueable");
    assert_eq!(done["job.attempt"], "1");
    assert_eq!(done["outcome"], "completed");
    assert!(done["duration_ms"].parse::<f64>().unwrap() >= 0.0);
    assert!(!done.contains_key("error"));
    let failed = execution(bad);
    assert_eq!(failed["outcome"], "failed");
    assert_eq!(failed["error"], "declined");
    let ops: Vec<&str> = closed
        .iter()
        .filter(|(name, _)| name == "asyncapex.store")
        .map(|(_, f)| f["op"].as_str())
        .collect();
    for op in [
        "job_insert_many",
        "job_claim",
        "job_finish",
        "job_complete_many",
    ] {
        assert!(ops.contains(&op), "no {op} span in {ops:?}");
    }
}
