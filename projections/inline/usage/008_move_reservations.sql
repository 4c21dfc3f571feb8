-- usage: room a move holds on its target from its MoveStarted until it settles (completed,
-- skipped, failed, or its job ended), counted in backend_usage.pending_bytes beside the parts of
-- open multipart uploads: pending bytes are bytes promised to work in progress. Reserving is
-- checked against the quota like any write, so concurrent moves cannot overfill a target.
CREATE TABLE usage_move_reservations (
  move_id  text PRIMARY KEY,
  job_id   text NOT NULL,
  backend  text NOT NULL,
  size     bigint NOT NULL
);
CREATE INDEX usage_move_reservations_by_job ON usage_move_reservations (job_id);
