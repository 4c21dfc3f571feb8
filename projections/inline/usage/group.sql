-- usage, set-based append: the ObjectWritten events of one group commit change each backend's
-- row once, by their summed deltas, in backend order. Each event adds the size of the copies it
-- writes to a backend's used + orphaned bytes (a displaced copy moves from used to orphaned), so
-- within the group a backend's total only grows: it ends within its quota exactly when it stays
-- within it after every event, as the one-by-one checks require. A backend the group would take
-- over its quota raises, and the group is appended one append at a time, each with its own verdict.
-- One statement for all the group's backends: a loop of one upsert per backend cost a cursor and
-- a statement start per backend besides.
CREATE OR REPLACE FUNCTION s3o_group_usage(
  p_type text, p_revisions bigint[], p_data jsonb[], p_meta jsonb[]
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_over boolean;
BEGIN
  IF p_type <> 'ObjectWritten' THEN
    RAISE EXCEPTION 'usage has no set-based append for %', p_type;
  END IF;
  WITH deltas AS (
    SELECT d.backend, sum(d.used)::bigint AS used, sum(d.cnt)::bigint AS cnt, sum(d.orphan)::bigint AS orphan,
           sum(d.written)::bigint AS written
      FROM (
        SELECT c.backend, c.size AS used, 1 AS cnt, 0 AS orphan, c.size AS written
          FROM unnest(p_data) AS e(d), jsonb_to_recordset(e.d->'copies') AS c(backend text, size bigint)
        UNION ALL
        SELECT c.backend, -c.size, -1, c.size, 0
          FROM unnest(p_data) AS e(d), jsonb_to_recordset(e.d->'displaced') AS c(backend text, size bigint)
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
END
$$;
