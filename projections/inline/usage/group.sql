-- usage, set-based append: a run of events of one type (s3o_project_inline_group) changes each
-- backend's row once, by the run's summed deltas, in backend order, one statement for all the
-- run's backends (a loop of one upsert per backend cost a cursor and a statement start each).
--
-- The quota: every event adds to each backend it checks nothing or bytes (copies written or moved
-- in, a displaced or moved-out copy going from used to orphaned, room reserved), never removes,
-- so within the run a backend's total only grows: it ends within its quota exactly when it stays
-- within it after every event, as the one-by-one checks require. A backend the run would take
-- over its quota raises, as does anything the sums could hide (a missing size, a negative one, a
-- move restarted, whose old reservation is released first): the append is then applied one event
-- at a time, each checked on its own.
DROP FUNCTION IF EXISTS s3o_group_usage(text, bigint[], jsonb[], jsonb[]);

-- The summed deltas of a run, per backend, as one upsert in backend order. Each entry is one
-- event's change to one backend; with p_checks (a type whose handler checks the quota) every
-- entry must add (used + orphaned + pending >= 0) and a backend an entry adds to raises the quota
-- (S3Q01) when it ends over it.
CREATE OR REPLACE FUNCTION s3o_usage_apply_group(
  p_checks boolean, p_backends text[], p_used bigint[], p_count bigint[], p_orphan bigint[], p_pending bigint[]
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_over boolean;
  v_hidden boolean;
BEGIN
  WITH deltas AS (
    SELECT d.b AS backend, sum(d.u)::bigint AS used, sum(d.c)::bigint AS cnt, sum(d.o)::bigint AS orphan,
           sum(d.p)::bigint AS pending, p_checks AND bool_or(d.u + d.o + d.p > 0) AS checked,
           bool_or(d.u IS NULL OR d.c IS NULL OR d.o IS NULL OR d.p IS NULL OR (p_checks AND d.u + d.o + d.p < 0)) AS hidden
      FROM unnest(p_backends, p_used, p_count, p_orphan, p_pending) AS d(b, u, c, o, p)
     GROUP BY d.b
  ), changed AS (
    -- In backend order, so concurrent appends lock the rows they share in one order.
    INSERT INTO backend_usage AS u (backend, bytes_used, object_count, orphan_bytes, pending_bytes)
    SELECT x.backend, x.used, x.cnt, x.orphan, x.pending FROM deltas x ORDER BY x.backend
    ON CONFLICT (backend) DO UPDATE SET
      bytes_used = u.bytes_used + EXCLUDED.bytes_used,
      object_count = u.object_count + EXCLUDED.object_count,
      orphan_bytes = u.orphan_bytes + EXCLUDED.orphan_bytes,
      pending_bytes = u.pending_bytes + EXCLUDED.pending_bytes
    RETURNING u.backend, u.quota_bytes > 0 AND u.bytes_used + u.orphan_bytes + u.pending_bytes > u.quota_bytes AS over
  )
  SELECT coalesce(bool_or(c.over AND x.checked), false), coalesce(bool_or(x.hidden), false) INTO v_over, v_hidden
    FROM changed c JOIN deltas x USING (backend);
  IF v_hidden THEN
    RAISE EXCEPTION 'usage: a change the sums would hide';
  END IF;
  IF v_over THEN
    RAISE EXCEPTION USING ERRCODE = 'S3Q01', MESSAGE = 'quota';
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION s3o_group_usage(
  p_type text, p_streams text[], p_revisions bigint[], p_data jsonb[], p_meta jsonb[]
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_over boolean;
  b text[];
  u bigint[];
  c bigint[];
  o bigint[];
  p bigint[];
BEGIN
  IF p_type = 'ObjectWritten' THEN
    -- Writes (a group commit's PUTs, the hot path) in one statement rather than through
    -- s3o_usage_apply_group's two: each adds the size of the copies it writes to a backend's used +
    -- orphaned bytes (a displaced copy moves from used to orphaned).
    WITH deltas AS (
      SELECT d.backend, sum(d.used)::bigint AS used, sum(d.cnt)::bigint AS cnt, sum(d.orphan)::bigint AS orphan,
             sum(d.written)::bigint AS written
        FROM (
          SELECT x.backend, x.size AS used, 1 AS cnt, 0 AS orphan, x.size AS written
            FROM unnest(p_data) AS e(d), jsonb_to_recordset(e.d->'copies') AS x(backend text, size bigint)
          UNION ALL
          SELECT x.backend, -x.size, -1, x.size, 0
            FROM unnest(p_data) AS e(d), jsonb_to_recordset(e.d->'displaced') AS x(backend text, size bigint)
        ) d
       GROUP BY d.backend
    ), changed AS (
      -- In backend order, so concurrent groups lock the rows they share in one order.
      INSERT INTO backend_usage AS u (backend, bytes_used, object_count, orphan_bytes, pending_bytes)
      SELECT x.backend, x.used, x.cnt, x.orphan, 0 FROM deltas x ORDER BY x.backend
      ON CONFLICT (backend) DO UPDATE SET
        bytes_used = u.bytes_used + EXCLUDED.bytes_used,
        object_count = u.object_count + EXCLUDED.object_count,
        orphan_bytes = u.orphan_bytes + EXCLUDED.orphan_bytes
      RETURNING u.backend, u.quota_bytes > 0 AND u.bytes_used + u.orphan_bytes + u.pending_bytes > u.quota_bytes AS over
    )
    SELECT coalesce(bool_or(c.over AND x.written > 0), false) INTO v_over FROM changed c JOIN deltas x USING (backend);
    IF v_over THEN
      RAISE EXCEPTION USING ERRCODE = 'S3Q01', MESSAGE = 'quota';
    END IF;
  ELSIF p_type = 'CopyMoved' THEN
    -- The copy counts as used on its target; its source's bytes go from used to orphaned.
    SELECT array_agg(x.backend), array_agg(x.used), array_agg(x.cnt), array_agg(x.orphan), array_agg(0::bigint)
      INTO b, u, c, o, p FROM (
        SELECT e.d->'to'->>'backend' AS backend, (e.d->'to'->>'size')::bigint AS used, 1::bigint AS cnt, 0::bigint AS orphan
          FROM unnest(p_data) AS e(d)
        UNION ALL
        SELECT e.d->'from'->>'backend', -(e.d->'from'->>'size')::bigint, -1, (e.d->'from'->>'size')::bigint
          FROM unnest(p_data) AS e(d)
      ) x;
    PERFORM s3o_usage_apply_group(true, b, u, c, o, p);
  ELSIF p_type = 'CleanupSucceeded' THEN
    SELECT array_agg(e.d->>'backend'), array_agg(0::bigint), array_agg(0::bigint), array_agg(-(e.d->>'size')::bigint), array_agg(0::bigint)
      INTO b, u, c, o, p FROM unnest(p_data) AS e(d);
    PERFORM s3o_usage_apply_group(false, b, u, c, o, p);
  ELSIF p_type = 'MoveStarted' THEN
    -- Only moves that hold no reservation yet: a restarted move releases its old one first.
    IF EXISTS (SELECT FROM usage_move_reservations m WHERE m.move_id IN (SELECT e.d->>'moveId' FROM unnest(p_data) AS e(d))) THEN
      RAISE EXCEPTION 'usage: a move restarted';
    END IF;
    INSERT INTO usage_move_reservations (move_id, job_id, backend, size)
    SELECT e.d->>'moveId', e.d->>'jobId', e.d->'to'->>'backend', (e.d->'to'->>'size')::bigint FROM unnest(p_data) AS e(d);
    SELECT array_agg(e.d->'to'->>'backend'), array_agg(0::bigint), array_agg(0::bigint), array_agg(0::bigint),
           array_agg((e.d->'to'->>'size')::bigint)
      INTO b, u, c, o, p FROM unnest(p_data) AS e(d);
    PERFORM s3o_usage_apply_group(true, b, u, c, o, p);
  ELSIF p_type = 'MoveCompleted' THEN
    -- The moves' reservations end (their CopyMoved, later in the append, count the copies as used).
    WITH gone AS (
      DELETE FROM usage_move_reservations m WHERE m.move_id IN (SELECT e.d->>'moveId' FROM unnest(p_data) AS e(d))
      RETURNING m.backend, m.size
    )
    SELECT array_agg(g.backend), array_agg(0::bigint), array_agg(0::bigint), array_agg(0::bigint), array_agg(-g.size)
      INTO b, u, c, o, p FROM gone g;
    IF b IS NOT NULL THEN
      PERFORM s3o_usage_apply_group(false, b, u, c, o, p);
    END IF;
  ELSE
    RAISE EXCEPTION 'usage has no set-based append for %', p_type;
  END IF;
END
$$;
