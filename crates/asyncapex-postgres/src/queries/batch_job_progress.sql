-- One more chunk done; the first error stays in extended_status.
-- $1 id, $2 failed (0 or 1), $3 error, $4 state (NULL: unchanged)
UPDATE asyncapex_job
SET items_processed = items_processed + 1,
    number_of_errors = number_of_errors + $2::bigint,
    extended_status = COALESCE(extended_status, $3::text),
    payload = COALESCE($4::text, payload)
WHERE id = $1::text
