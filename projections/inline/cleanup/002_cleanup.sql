-- split from: 002_inline_projections.sql
-- cleanup: bytes on backends that no live record points to, waiting to be deleted.
CREATE TABLE cleanup_queue (
  id                 text PRIMARY KEY,
  backend            text NOT NULL,
  storage_key        text NOT NULL,
  size               bigint NOT NULL,
  kind               text NOT NULL,
  backend_upload_id  text,
  reason             text NOT NULL,
  state              text NOT NULL,
  attempts           int NOT NULL,
  next_retry_at      timestamptz NOT NULL,
  last_error         text,
  created_at         timestamptz NOT NULL
);
CREATE INDEX cleanup_queue_due ON cleanup_queue (state, next_retry_at);
CREATE INDEX cleanup_queue_by_backend ON cleanup_queue (backend);
