-- The daily async execution cap counts jobs created in the last 24 hours.
CREATE INDEX asyncapex_job_created ON asyncapex_job (created_at);
