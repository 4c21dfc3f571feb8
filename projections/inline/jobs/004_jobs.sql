-- jobs: progress of long-running process managers (drain, remove, rebalance, …), one row per
-- job stream. The live "what is left" of a drain is read from object_copies, not stored here.
CREATE TABLE jobs (
  job_id          text PRIMARY KEY,
  kind            text NOT NULL,
  backend         text,
  state           text NOT NULL,
  params          jsonb NOT NULL,
  actor           text,
  objects_total   bigint NOT NULL,
  bytes_total     bigint NOT NULL,
  moved           bigint NOT NULL DEFAULT 0,
  moved_bytes     bigint NOT NULL DEFAULT 0,
  dropped         bigint NOT NULL DEFAULT 0,
  skipped         bigint NOT NULL DEFAULT 0,
  failed          bigint NOT NULL DEFAULT 0,
  in_flight       bigint NOT NULL DEFAULT 0,
  last_error      text,
  started_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  finished_at     timestamptz
);
CREATE INDEX jobs_by_state ON jobs (state, kind);
