-- split from: 005_hot_row_storage.sql
-- A job's row is updated by every move of the job: leave room on each page for HOT updates.
ALTER TABLE jobs SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
