-- split from: 003_async_projections.sql
-- usage_monthly: API requests and transfer per backend and month, from usage flushes, with the
-- checkpoint row the projection runner keeps for it.
CREATE TABLE usage_monthly (
  backend        text NOT NULL,
  period         text NOT NULL,
  api_requests   bigint NOT NULL,
  egress_bytes   bigint NOT NULL,
  ingress_bytes  bigint NOT NULL,
  PRIMARY KEY (backend, period)
);

INSERT INTO projection_checkpoints (name) VALUES ('usage_monthly');
