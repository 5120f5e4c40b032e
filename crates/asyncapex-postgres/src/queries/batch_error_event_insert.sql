-- $1 job_id, $2 phase, $3 exception_type, $4 message, $5 job_scope, $6 exceeds, $7 created_at
INSERT INTO asyncapex_batch_error_event (
    job_id, phase, exception_type, message, job_scope, does_exceed_job_scope_max_length, created_at
) VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::boolean, $7::bigint)
