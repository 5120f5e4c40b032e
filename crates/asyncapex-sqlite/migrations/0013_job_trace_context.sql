-- The W3C traceparent of the span that enqueued a job (an application's request, or the
-- execution of the job that chained it), so its execution's span names that span as its
-- parent: a trace runs from the request through every job it caused.
ALTER TABLE asyncapex_job ADD COLUMN trace_parent TEXT;
