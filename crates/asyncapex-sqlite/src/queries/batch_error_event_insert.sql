INSERT INTO asyncapex_batch_error_event (
    job_id, phase, exception_type, message, job_scope, does_exceed_job_scope_max_length, created_at
) VALUES (:job_id, :phase, :exception_type, :message, :job_scope, :exceeds, :created_at)
