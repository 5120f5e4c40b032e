SELECT paused, global_limit, rate_limit, rate_interval FROM asyncapex_queue WHERE name = :queue
