-- The application's query, wrapped to learn its columns' names and types without running it.
SELECT * FROM ({query}) AS asyncapex_locator LIMIT 0
