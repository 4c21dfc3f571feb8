-- A drain's and a rebalance's next batch: a backend's copies smallest first. Without this index each
-- batch sorted every copy on the backend, so draining N copies cost O(N²) in PostgreSQL.
CREATE INDEX object_copies_by_backend_size ON object_copies (backend, size, bucket, key);
