-- The append-only log. Streams hold the current revision of each stream (0-based); events hold
-- every event with the writing transaction's id, so global readers can stay below the oldest
-- running transaction (pg_snapshot_xmin) and never skip an event that commits late.
CREATE TABLE streams (
  stream_id   text PRIMARY KEY COLLATE "C",
  category    text NOT NULL,
  revision    bigint NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE events (
  seq             bigint GENERATED ALWAYS AS IDENTITY,
  tx_id           xid8 NOT NULL DEFAULT pg_current_xact_id(),
  stream_id       text NOT NULL COLLATE "C",
  revision        bigint NOT NULL,
  event_id        uuid NOT NULL,
  type            text NOT NULL,
  schema_version  int NOT NULL,
  data            jsonb NOT NULL,
  metadata        jsonb NOT NULL,
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (stream_id, revision)
);
CREATE UNIQUE INDEX events_event_id ON events (event_id);
CREATE INDEX events_global_order ON events (tx_id, seq);
CREATE INDEX events_type_order ON events (type, tx_id, seq);

-- Async projections: one checkpoint row per projection, claimed by one owner at a time.
CREATE TABLE projection_checkpoints (
  name          text PRIMARY KEY,
  tx_id         xid8 NOT NULL DEFAULT '0',
  seq           bigint NOT NULL DEFAULT 0,
  owner         text,
  lease_until   timestamptz,
  status        text NOT NULL DEFAULT 'active',
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Leases for workers and process managers (drain, replication, …): an owner token that every
-- owner write is conditional on, so a zombie instance cannot write after losing its lease.
CREATE TABLE leases (
  name          text PRIMARY KEY,
  owner         text NOT NULL,
  token         bigint NOT NULL,
  lease_until   timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now()
);
