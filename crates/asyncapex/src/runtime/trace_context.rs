//! Trace context across the queue (feature `otel`): the W3C `traceparent` of the span that
//! enqueues a job is stored with it, and the job's execution is an OpenTelemetry span whose
//! parent is that span — in whichever process runs it. Jobs an execution enqueues (chained
//! work, futures, batches, its finalizer) are stamped with the execution's span, so a trace
//! runs from the request through every job it caused. Without the feature, nothing here does
//! anything.

use std::future::Future;

use asyncapex_core::{JobRecord, NewJob};

/// Stamps `jobs` that carry no trace context with the calling code's current span's.
pub(crate) fn stamp(jobs: &mut [NewJob]) {
    if jobs.is_empty() {
        return;
    }
    let Some(current) = current_traceparent() else {
        return;
    };
    for job in jobs.iter_mut().filter(|j| j.trace_parent.is_none()) {
        job.trace_parent = Some(current.clone());
    }
}

/// The W3C `traceparent` of the calling code's current span (feature `otel`).
#[cfg(feature = "otel")]
pub(crate) fn current_traceparent() -> Option<String> {
    use opentelemetry::trace::TraceContextExt;
    let cx = opentelemetry::Context::current();
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags().to_u8()
        )
    })
}

/// Nothing without the feature.
#[cfg(not(feature = "otel"))]
pub(crate) fn current_traceparent() -> Option<String> {
    None
}

/// `work` carrying the caller's `tracing` span and OpenTelemetry context, for a task it is
/// spawned into (a parallel batch chunk), so what it enqueues joins the caller's trace.
pub(crate) fn propagate<F: Future>(work: F) -> impl Future<Output = F::Output> {
    use tracing::Instrument;
    let work = work.in_current_span();
    #[cfg(feature = "otel")]
    {
        use opentelemetry::context::FutureExt;
        work.with_context(opentelemetry::Context::current())
    }
    #[cfg(not(feature = "otel"))]
    {
        work
    }
}

/// The span context a stored `traceparent` names (W3C version 00), if it is well formed.
#[cfg(feature = "otel")]
fn parse(traceparent: &str) -> Option<opentelemetry::trace::SpanContext> {
    use opentelemetry::trace::{SpanContext, TraceState};
    use opentelemetry::{SpanId, TraceFlags, TraceId};
    let mut parts = traceparent.split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if version != "00" || parts.next().is_some() || trace.len() != 32 || span.len() != 16 {
        return None;
    }
    let sc = SpanContext::new(
        TraceId::from_hex(trace).ok()?,
        SpanId::from_hex(span).ok()?,
        TraceFlags::new(u8::from_str_radix(flags, 16).ok()?),
        true,
        TraceState::default(),
    );
    sc.is_valid().then_some(sc)
}

/// One execution's OpenTelemetry span (a no-op without the feature).
#[derive(Clone)]
pub(crate) struct ExecutionSpan {
    #[cfg(feature = "otel")]
    cx: opentelemetry::Context,
}

impl ExecutionSpan {
    /// Starts the span of `job`'s execution, a child of the span that enqueued it.
    #[cfg(feature = "otel")]
    pub(crate) fn start(job: &JobRecord) -> ExecutionSpan {
        use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer};
        use opentelemetry::{Context, KeyValue};
        let parent = job
            .trace_parent
            .as_deref()
            .and_then(parse)
            .map_or_else(Context::new, |sc| {
                Context::new().with_remote_span_context(sc)
            });
        let tracer = opentelemetry::global::tracer("asyncapex");
        let span = tracer
            .span_builder("asyncapex.execution")
            .with_kind(SpanKind::Consumer)
            .with_attributes([
                KeyValue::new("job.id", job.id.to_string()),
                KeyValue::new("job.class", job.class_name.clone()),
                KeyValue::new("job.type", job.job_type.as_str()),
                KeyValue::new("job.attempt", i64::from(job.attempt)),
            ])
            .start_with_context(&tracer, &parent);
        ExecutionSpan {
            cx: parent.with_span(span),
        }
    }

    #[cfg(not(feature = "otel"))]
    pub(crate) fn start(_job: &JobRecord) -> ExecutionSpan {
        ExecutionSpan {}
    }

    /// Runs `work` with this span current (what it enqueues is stamped with it).
    pub(crate) async fn run<F: Future>(&self, work: F) -> F::Output {
        #[cfg(feature = "otel")]
        {
            use opentelemetry::context::FutureExt;
            work.with_context(self.cx.clone()).await
        }
        #[cfg(not(feature = "otel"))]
        {
            work.await
        }
    }

    /// Records how the execution ended.
    #[cfg_attr(not(feature = "otel"), allow(unused_variables))]
    pub(crate) fn outcome(&self, outcome: &'static str, error: Option<&str>) {
        #[cfg(feature = "otel")]
        {
            use opentelemetry::KeyValue;
            use opentelemetry::trace::{Status, TraceContextExt};
            let span = self.cx.span();
            span.set_attribute(KeyValue::new("outcome", outcome));
            if let Some(e) = error {
                span.set_status(Status::error(e.to_owned()));
            }
        }
    }

    /// Ends the span.
    pub(crate) fn end(&self) {
        #[cfg(feature = "otel")]
        {
            use opentelemetry::trace::TraceContextExt;
            self.cx.span().end();
        }
    }
}
