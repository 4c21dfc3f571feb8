-- Inline projections: written in the same transaction as the events they derive from. Every
-- column is a function of the log (times come from event metadata, never now()), so a rebuild
-- reproduces these tables exactly.

-- locations: the current version of each object and where its copies are.
CREATE TABLE objects (
  bucket           text COLLATE "C" NOT NULL,
  key              text COLLATE "C" NOT NULL,
  write_id         text NOT NULL,
  size             bigint NOT NULL,
  etag             text NOT NULL,
  content_type     text NOT NULL,
  metadata         jsonb NOT NULL,
  headers          jsonb NOT NULL,
  checksum         jsonb,
  parts            jsonb,
  last_modified    timestamptz NOT NULL,
  stream_revision  bigint NOT NULL,
  PRIMARY KEY (bucket, key)
);

CREATE TABLE object_copies (
  bucket       text COLLATE "C" NOT NULL,
  key          text COLLATE "C" NOT NULL,
  backend      text NOT NULL,
  storage_key  text COLLATE "C" NOT NULL,
  size         bigint NOT NULL,
  write_id     text NOT NULL,
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (bucket, key, backend)
);
CREATE INDEX object_copies_by_backend ON object_copies (backend, storage_key);

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

-- backends: lifecycle state of each backend.
CREATE TABLE backend_state (
  backend             text PRIMARY KEY,
  state               text NOT NULL,
  endpoint            text NOT NULL,
  bucket              text NOT NULL,
  region              text NOT NULL,
  quota_bytes         bigint NOT NULL,
  api_request_limit   bigint NOT NULL,
  egress_byte_limit   bigint NOT NULL,
  ingress_byte_limit  bigint NOT NULL,
  drain_job_id        text,
  registered_at       timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL,
  stream_revision     bigint NOT NULL
);

-- uploads: multipart uploads in progress and their parts.
CREATE TABLE multipart_uploads (
  upload_id          text PRIMARY KEY,
  bucket             text COLLATE "C" NOT NULL,
  key                text COLLATE "C" NOT NULL,
  backend            text NOT NULL,
  backend_upload_id  text NOT NULL,
  storage_key        text NOT NULL,
  write_id           text NOT NULL,
  content_type       text NOT NULL,
  metadata           jsonb NOT NULL,
  headers            jsonb NOT NULL,
  initiated_at       timestamptz NOT NULL
);
CREATE INDEX multipart_uploads_listing ON multipart_uploads (bucket, key, upload_id);
CREATE INDEX multipart_uploads_by_backend ON multipart_uploads (backend);

CREATE TABLE multipart_parts (
  upload_id     text NOT NULL,
  part_number   int NOT NULL,
  size          bigint NOT NULL,
  etag          text NOT NULL,
  backend_etag  text NOT NULL,
  checksum      jsonb,
  uploaded_at   timestamptz NOT NULL,
  PRIMARY KEY (upload_id, part_number)
);

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
