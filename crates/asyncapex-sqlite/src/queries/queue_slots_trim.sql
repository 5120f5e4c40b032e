-- A rate limit lowered (or removed) drops the slots it no longer allows.
DELETE FROM asyncapex_queue_slot WHERE queue = :queue AND slot >= :slots
