-- split from: 003_async_projections.sql
-- bucket_stats: objects and bytes per virtual bucket (dashboard aggregate), with the checkpoint
-- row the projection runner keeps for it.
CREATE TABLE bucket_stats (
  bucket        text PRIMARY KEY,
  object_count  bigint NOT NULL,
  total_bytes   bigint NOT NULL
);

INSERT INTO projection_checkpoints (name) VALUES ('bucket_stats');
