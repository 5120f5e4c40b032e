-- A rate limit lowered (or removed) drops the slots it no longer allows. $1 queue, $2 slots
DELETE FROM asyncapex_queue_slot WHERE queue = $1::text AND slot >= $2::bigint
