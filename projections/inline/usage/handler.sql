-- usage, append-time handler: bytes per backend and the quota they are checked against
-- (backend_usage), the part sizes of open uploads (usage_pending_parts) and the room moves in
-- flight hold on their targets (usage_move_reservations); both count as pending bytes. Its rows
-- are the hottest, so the dispatch runs it last: their locks are held for the shortest time.
CREATE OR REPLACE FUNCTION s3o_usage_apply(
  p_backend text, p_used bigint, p_count bigint, p_orphan bigint, p_pending bigint, p_enforce boolean
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_row backend_usage%ROWTYPE;
BEGIN
  -- A replay (rebuild, verify) sums deltas per page instead of updating the few usage rows once
  -- per event, which would leave a million dead row versions behind and slow every update.
  IF current_setting('s3o.replay', true) = 'on' THEN
    INSERT INTO pg_temp.s3o_usage_deltas VALUES (p_backend, p_used, p_count, p_orphan, p_pending);
    RETURN;
  END IF;
  INSERT INTO backend_usage AS u (backend, bytes_used, object_count, orphan_bytes, pending_bytes)
  VALUES (p_backend, p_used, p_count, p_orphan, p_pending)
  ON CONFLICT (backend) DO UPDATE SET
    bytes_used = u.bytes_used + EXCLUDED.bytes_used,
    object_count = u.object_count + EXCLUDED.object_count,
    orphan_bytes = u.orphan_bytes + EXCLUDED.orphan_bytes,
    pending_bytes = u.pending_bytes + EXCLUDED.pending_bytes
  RETURNING u.* INTO v_row;
  IF p_enforce AND p_used + p_orphan + p_pending > 0 AND v_row.quota_bytes > 0
     AND v_row.bytes_used + v_row.orphan_bytes + v_row.pending_bytes > v_row.quota_bytes THEN
    RAISE EXCEPTION USING ERRCODE = 'S3Q01', MESSAGE = 'quota',
      DETAIL = json_build_object('backend', p_backend, 'quotaBytes', v_row.quota_bytes,
                                 'usedBytes', v_row.bytes_used, 'orphanBytes', v_row.orphan_bytes,
                                 'pendingBytes', v_row.pending_bytes)::text;
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION s3o_proj_usage(
  p_stream text, p_revision bigint, p_type text, p_data jsonb, p_meta jsonb, p_enforce boolean
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  r record;
  v_freed bigint;
  v_old bigint;
  v_backend text;
BEGIN
  IF p_type IN ('BackendRegistered', 'BackendLimitsChanged') THEN
    INSERT INTO backend_usage AS u (backend, quota_bytes)
    VALUES (p_data->>'backend', (p_data->'limits'->>'quotaBytes')::bigint)
    ON CONFLICT (backend) DO UPDATE SET quota_bytes = EXCLUDED.quota_bytes;
    RETURN;
  END IF;

  IF p_type = 'ObjectWritten' AND jsonb_array_length(p_data->'displaced') = 0 AND jsonb_array_length(p_data->'copies') = 1 THEN
    -- The common case, a new key with one copy: one usage row, no aggregation needed.
    PERFORM s3o_usage_apply(p_data->'copies'->0->>'backend', (p_data->'copies'->0->>'size')::bigint, 1, 0, 0, p_enforce);
  ELSIF p_type IN ('ObjectWritten', 'ObjectDeleted', 'ReplicaAdded', 'ReplicaDropped', 'CopyMoved', 'CopyRepaired', 'StoredBytesRewritten') THEN
    -- A rewrite (encrypt/decrypt) moves used bytes by the size difference and orphans the old
    -- bytes, per backend in one step, so the quota is checked on what the backend then holds.
    -- One row per backend, in backend order, so concurrent appends lock usage rows in one order.
    FOR r IN
      SELECT d.backend, sum(d.used)::bigint AS used, sum(d.cnt)::bigint AS cnt, sum(d.orphan)::bigint AS orphan
        FROM (
          SELECT c.backend, c.size AS used, 1 AS cnt, 0 AS orphan
            FROM jsonb_to_recordset(CASE WHEN p_type IN ('ObjectWritten', 'StoredBytesRewritten') THEN p_data->'copies'
                                         WHEN p_type = 'ReplicaAdded' THEN jsonb_build_array(p_data->'copy')
                                         WHEN p_type IN ('CopyMoved', 'CopyRepaired') THEN jsonb_build_array(p_data->'to')
                                         ELSE '[]'::jsonb END) AS c(backend text, size bigint)
          UNION ALL
          SELECT c.backend, -c.size, -1,
                 CASE WHEN p_type IN ('ReplicaDropped', 'ObjectDeleted') AND NOT coalesce((p_data->>'reclaim')::boolean, true) THEN 0 ELSE c.size END
            FROM jsonb_to_recordset(CASE WHEN p_type IN ('ObjectWritten', 'ObjectDeleted', 'StoredBytesRewritten') THEN p_data->'displaced'
                                         WHEN p_type = 'ReplicaDropped' THEN jsonb_build_array(p_data->'copy')
                                         WHEN p_type IN ('CopyMoved', 'CopyRepaired') THEN jsonb_build_array(p_data->'from')
                                         ELSE '[]'::jsonb END) AS c(backend text, size bigint)
        ) d
       GROUP BY d.backend ORDER BY d.backend
    LOOP
      PERFORM s3o_usage_apply(r.backend, r.used, r.cnt, r.orphan, 0, p_enforce);
    END LOOP;
  ELSIF p_type = 'OrphanRecorded' THEN
    PERFORM s3o_usage_apply(p_data->>'backend', 0, 0, (p_data->>'size')::bigint, 0, false);
  ELSIF p_type IN ('CleanupSucceeded', 'CleanupDismissed') THEN
    PERFORM s3o_usage_apply(p_data->>'backend', 0, 0, -(p_data->>'size')::bigint, 0, false);
  ELSIF p_type = 'PartUploaded' THEN
    SELECT size INTO v_old FROM usage_pending_parts
     WHERE upload_id = p_data->>'uploadId' AND part_number = (p_data->>'partNumber')::int;
    -- Pending bytes are what the part takes on the backend (an encrypted part's ciphertext).
    INSERT INTO usage_pending_parts (upload_id, part_number, backend, size)
    VALUES (p_data->>'uploadId', (p_data->>'partNumber')::int, p_data->>'backend', (p_data->>'storedSize')::bigint)
    ON CONFLICT (upload_id, part_number) DO UPDATE SET size = EXCLUDED.size;
    PERFORM s3o_usage_apply(p_data->>'backend', 0, 0, 0, (p_data->>'storedSize')::bigint - coalesce(v_old, 0), p_enforce);
  ELSIF p_type IN ('MoveStarted', 'MoveCompleted', 'MoveSkipped', 'MoveFailed') THEN
    -- A move's reservation ends when it settles; a restarted move (new target) replaces it. The job
    -- stream is appended before the object's, so a completed move's room is released before its
    -- CopyMoved counts the copy as used.
    DELETE FROM usage_move_reservations WHERE move_id = p_data->>'moveId' RETURNING backend, size INTO v_backend, v_old;
    IF FOUND THEN
      PERFORM s3o_usage_apply(v_backend, 0, 0, 0, -v_old, false);
    END IF;
    IF p_type = 'MoveStarted' THEN
      INSERT INTO usage_move_reservations (move_id, job_id, backend, size)
      VALUES (p_data->>'moveId', p_data->>'jobId', p_data->'to'->>'backend', (p_data->'to'->>'size')::bigint);
      PERFORM s3o_usage_apply(p_data->'to'->>'backend', 0, 0, 0, (p_data->'to'->>'size')::bigint, p_enforce);
    END IF;
  ELSIF p_type IN ('JobCompleted', 'JobCancelled', 'JobFailed') THEN
    FOR r IN
      SELECT m.backend, sum(m.size)::bigint AS size FROM usage_move_reservations m
       WHERE m.job_id = p_data->>'jobId' GROUP BY m.backend ORDER BY m.backend
    LOOP
      PERFORM s3o_usage_apply(r.backend, 0, 0, 0, -r.size, false);
    END LOOP;
    DELETE FROM usage_move_reservations WHERE job_id = p_data->>'jobId';
  ELSIF p_type = 'MultipartUploadMoved' THEN
    -- The parts' bytes leave the old backend's pending bytes and count on the new one (rows in
    -- backend order, like every multi-backend change); the new one's quota is checked.
    FOR r IN
      SELECT d.backend, sum(d.size)::bigint AS size FROM (
        SELECT u.backend, -u.size AS size FROM usage_pending_parts u WHERE u.upload_id = p_data->>'uploadId'
        UNION ALL
        SELECT p_data->>'backend', m.size FROM jsonb_to_recordset(p_data->'parts') AS m(size bigint)
      ) d GROUP BY d.backend ORDER BY d.backend
    LOOP
      PERFORM s3o_usage_apply(r.backend, 0, 0, 0, r.size, p_enforce);
    END LOOP;
    DELETE FROM usage_pending_parts WHERE upload_id = p_data->>'uploadId';
    INSERT INTO usage_pending_parts (upload_id, part_number, backend, size)
    SELECT p_data->>'uploadId', m."partNumber", p_data->>'backend', m.size
      FROM jsonb_to_recordset(p_data->'parts') AS m("partNumber" int, size bigint);
  ELSIF p_type IN ('MultipartUploadCompleted', 'MultipartUploadAborted') THEN
    WITH gone AS (DELETE FROM usage_pending_parts WHERE upload_id = p_data->>'uploadId' RETURNING size)
    SELECT coalesce(sum(size), 0) INTO v_freed FROM gone;
    IF v_freed > 0 THEN
      PERFORM s3o_usage_apply(p_data->>'backend', 0, 0, 0, -v_freed, false);
    END IF;
  END IF;
END
$$;

-- A replay sums usage deltas per page instead of updating the few usage rows once per event,
-- which would leave a million dead row versions behind and slow every update.
CREATE OR REPLACE FUNCTION s3o_usage_replay_begin() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  CREATE TEMP TABLE IF NOT EXISTS s3o_usage_deltas (backend text, used bigint, cnt bigint, orphan bigint, pending bigint);
  PERFORM set_config('s3o.replay', 'on', true);
END
$$;

CREATE OR REPLACE FUNCTION s3o_usage_replay_end() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('s3o.replay', 'off', true);
  INSERT INTO backend_usage AS u (backend, bytes_used, object_count, orphan_bytes, pending_bytes)
  SELECT d.backend, sum(d.used), sum(d.cnt), sum(d.orphan), sum(d.pending) FROM pg_temp.s3o_usage_deltas d GROUP BY d.backend
  ON CONFLICT (backend) DO UPDATE SET
    bytes_used = u.bytes_used + EXCLUDED.bytes_used, object_count = u.object_count + EXCLUDED.object_count,
    orphan_bytes = u.orphan_bytes + EXCLUDED.orphan_bytes, pending_bytes = u.pending_bytes + EXCLUDED.pending_bytes;
  DELETE FROM pg_temp.s3o_usage_deltas;
END
$$;
