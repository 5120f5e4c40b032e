-- Transaction-local: the session's own search_path comes back when the transaction ends.
-- $1 search path
SELECT set_config('search_path', $1::text, true)
