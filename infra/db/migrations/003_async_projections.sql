-- Async projections: maintained by the projection runner from the log, each with its own
-- checkpoint row in projection_checkpoints.

-- bucket_stats: objects and bytes per virtual bucket (dashboard aggregate).
CREATE TABLE bucket_stats (
  bucket        text PRIMARY KEY,
  object_count  bigint NOT NULL,
  total_bytes   bigint NOT NULL
);

-- usage_monthly: API requests and transfer per backend and month, from usage flushes.
CREATE TABLE usage_monthly (
  backend        text NOT NULL,
  period         text NOT NULL,
  api_requests   bigint NOT NULL,
  egress_bytes   bigint NOT NULL,
  ingress_bytes  bigint NOT NULL,
  PRIMARY KEY (backend, period)
);

INSERT INTO projection_checkpoints (name) VALUES ('bucket_stats'), ('usage_monthly');
