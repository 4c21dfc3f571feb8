-- split from: 002_inline_projections.sql
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
