-- {schema} is a validated plain identifier, spliced in quoted.
CREATE SCHEMA IF NOT EXISTS "{schema}"
