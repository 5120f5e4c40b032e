-- {schema} is a validated plain identifier; the channel is the one job_notify.sql signals.
LISTEN "{schema}_wake"
