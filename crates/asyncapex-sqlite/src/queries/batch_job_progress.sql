-- One more chunk done; the first error stays in extended_status.
UPDATE asyncapex_job
SET items_processed = items_processed + 1,
    number_of_errors = number_of_errors + :failed,
    extended_status = COALESCE(extended_status, :error),
    payload = COALESCE(:state, payload)
WHERE id = :id
