-- A claim's transaction does not wait for its commit to reach the disk: losing a claim in a
-- server crash only puts the job back in the queue, which a crash during the job does anyway;
-- the job's completion commits durably and so flushes the claim before it.
BEGIN;
SET LOCAL synchronous_commit = off
