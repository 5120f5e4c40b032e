-- One keyset page of the application's query, wrapped, not edited. {columns} reads each column
-- (cast to text when the store cannot map its type), {key} is a validated plain identifier and
-- {key_type} the key column's type, so the previous key is bound as text and cast back.
-- $1 after (NULL: first page), $2 limit
SELECT {columns} FROM ({query}) AS asyncapex_locator
WHERE ($1::text IS NULL OR asyncapex_locator."{key}" > CAST($1::text AS {key_type}))
ORDER BY asyncapex_locator."{key}"
LIMIT $2::bigint
