-- {schema} is a validated plain identifier, spliced in quoted.
DROP SCHEMA IF EXISTS "{schema}" CASCADE
