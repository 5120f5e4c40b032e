-- One keyset page of the application's query, wrapped, not edited. {columns} reads each column
-- (cast to text when the store cannot map its type), {key} is a validated plain identifier and
-- {bounds} the page's key bounds, only those given (`$2 IS NULL OR …` would hide the range from
-- the planner): each bound key is bound as text and cast back to the key column's type.
-- $1 limit, then the bounds' keys
SELECT {columns} FROM ({query}) AS asyncapex_locator
WHERE {bounds}
ORDER BY asyncapex_locator."{key}"
LIMIT $1::bigint
