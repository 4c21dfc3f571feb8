-- usage, set-based replay: the deltas a run of the replay page (pg_temp.s3o_replay_events, ords
-- p_from..p_to) makes to backend_usage, summed per backend into the page's deltas
-- (s3o_usage_replay_begin/end), as s3o_proj_usage would add them one by one: copies written,
-- added or moved in count as used, copies displaced, dropped or moved out leave used (and count
-- as orphaned unless not reclaimed), orphans recorded and cleaned up move orphan bytes.
-- Pending bytes (parts, moves) and quotas are applied one by one.
CREATE OR REPLACE FUNCTION s3o_bulk_usage(p_from int, p_to int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO pg_temp.s3o_usage_deltas (backend, used, cnt, orphan, pending)
  SELECT d.backend, sum(d.used), sum(d.cnt), sum(d.orphan), 0
    FROM (
      SELECT c.backend, c.size AS used, 1 AS cnt, 0::bigint AS orphan
        FROM pg_temp.s3o_replay_events e,
             jsonb_to_recordset(CASE WHEN e.type = 'ObjectWritten' THEN e.data->'copies'
                                     WHEN e.type = 'ReplicaAdded' THEN jsonb_build_array(e.data->'copy')
                                     ELSE jsonb_build_array(e.data->'to') END) AS c(backend text, size bigint)
       WHERE e.ord BETWEEN p_from AND p_to AND e.type IN ('ObjectWritten', 'ReplicaAdded', 'CopyMoved', 'CopyRepaired')
      UNION ALL
      SELECT c.backend, -c.size, -1,
             CASE WHEN e.type IN ('ReplicaDropped', 'ObjectDeleted') AND NOT coalesce((e.data->>'reclaim')::boolean, true) THEN 0 ELSE c.size END
        FROM pg_temp.s3o_replay_events e,
             jsonb_to_recordset(CASE WHEN e.type IN ('ObjectWritten', 'ObjectDeleted') THEN e.data->'displaced'
                                     WHEN e.type = 'ReplicaDropped' THEN jsonb_build_array(e.data->'copy')
                                     ELSE jsonb_build_array(e.data->'from') END) AS c(backend text, size bigint)
       WHERE e.ord BETWEEN p_from AND p_to AND e.type IN ('ObjectWritten', 'ObjectDeleted', 'ReplicaDropped', 'CopyMoved', 'CopyRepaired')
      UNION ALL
      SELECT e.data->>'backend', 0, 0, CASE WHEN e.type = 'OrphanRecorded' THEN 1 ELSE -1 END * (e.data->>'size')::bigint
        FROM pg_temp.s3o_replay_events e
       WHERE e.ord BETWEEN p_from AND p_to AND e.type IN ('OrphanRecorded', 'CleanupSucceeded', 'CleanupDismissed')
    ) d
   GROUP BY d.backend;
END
$$;
