-- split from: 002_inline_projections.sql
-- usage: bytes per backend and the quota they are checked against.
CREATE TABLE backend_usage (
  backend        text PRIMARY KEY,
  quota_bytes    bigint NOT NULL DEFAULT 0,
  bytes_used     bigint NOT NULL DEFAULT 0,
  object_count   bigint NOT NULL DEFAULT 0,
  orphan_bytes   bigint NOT NULL DEFAULT 0,
  pending_bytes  bigint NOT NULL DEFAULT 0
);
-- The usage projection's own memory of part sizes, so re-uploading a part replaces its bytes.
CREATE TABLE usage_pending_parts (
  upload_id    text NOT NULL,
  part_number  int NOT NULL,
  backend      text NOT NULL,
  size         bigint NOT NULL,
  PRIMARY KEY (upload_id, part_number)
);
