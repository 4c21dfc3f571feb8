-- split from: 002_inline_projections.sql
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
