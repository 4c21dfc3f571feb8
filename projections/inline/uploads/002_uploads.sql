-- split from: 002_inline_projections.sql
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
