-- split from: 005_hot_row_storage.sql
-- backend_usage has one row per backend, updated by nearly every write: leave room on each
-- page for HOT updates and vacuum it after a fixed number of changes rather than a fraction.
ALTER TABLE backend_usage SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
                               autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 1000);
