-- After a bulk fill: write its pages out now (needs superuser or pg_checkpoint), so what is
-- measured next does not share the disk with the write-back of the fill itself, which a
-- store that has run for months is long done with.
CHECKPOINT
