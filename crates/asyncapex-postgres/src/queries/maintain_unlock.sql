SELECT pg_advisory_unlock(1634301540, hashtext(current_schema()))
