-- cleanup, set-based replay: applies a run of the replay page (pg_temp.s3o_replay_events, ords
-- p_from..p_to) made of events that only enqueue items (displaced or dropped copies, orphans) or
-- remove them (CleanupSucceeded, CleanupDismissed), as s3o_proj_cleanup would one by one. An
-- item's row then depends only on its last operation in the run: removed, or enqueued (after
-- the removal of an earlier one). Retry bookkeeping (CleanupFailed, …) is applied one by one.
-- Its join probes the queue by primary key for each removed item (see s3o_bulk_locations).
CREATE OR REPLACE FUNCTION s3o_bulk_cleanup(p_from int, p_to int) RETURNS void LANGUAGE plpgsql
SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
  -- Emptied at each commit too (temporary tables are never vacuumed), and after each run.
  IF to_regclass('pg_temp.s3o_replay_cleanup') IS NULL THEN
    CREATE TEMP TABLE s3o_replay_cleanup (
      ord int, id text, enqueue boolean, backend text, storage_key text, size bigint, kind text,
      backend_upload_id text, reason text, at timestamptz
    ) ON COMMIT DELETE ROWS;
  END IF;
  INSERT INTO pg_temp.s3o_replay_cleanup
  SELECT e.ord, i."cleanupId", true, i.backend, i."storageKey", i.size, 'object', NULL,
         CASE e.type WHEN 'ObjectWritten' THEN 'overwrite_displaced'
                     WHEN 'ObjectDeleted' THEN 'delete_' || (e.data->>'reason')
                     WHEN 'CopyMoved' THEN 'move_source'
                     WHEN 'CopyRepaired' THEN 'integrity_repaired'
                     ELSE 'replica_' || (e.data->>'reason') END,
         e.at
    FROM pg_temp.s3o_replay_events e,
         jsonb_to_recordset(CASE WHEN e.type = 'ObjectWritten' OR (e.type = 'ObjectDeleted' AND (e.data->>'reclaim')::boolean)
                                   THEN e.data->'displaced'
                                 WHEN e.type IN ('CopyMoved', 'CopyRepaired') THEN jsonb_build_array(e.data->'from')
                                 WHEN e.type = 'ReplicaDropped' AND (e.data->>'reclaim')::boolean THEN jsonb_build_array(e.data->'copy')
                                 ELSE '[]'::jsonb END) AS i("cleanupId" text, backend text, "storageKey" text, size bigint)
   WHERE e.ord BETWEEN p_from AND p_to AND e.type IN ('ObjectWritten', 'ObjectDeleted', 'CopyMoved', 'CopyRepaired', 'ReplicaDropped')
  UNION ALL
  SELECT e.ord, substr(e.stream_id, length('cleanup-') + 1), true, e.data->>'backend', e.data->>'storageKey',
         (e.data->>'size')::bigint, e.data->>'kind', e.data->>'backendUploadId', e.data->>'reason', e.at
    FROM pg_temp.s3o_replay_events e
   WHERE e.ord BETWEEN p_from AND p_to AND e.type = 'OrphanRecorded'
  UNION ALL
  SELECT e.ord, substr(e.stream_id, length('cleanup-') + 1), false, NULL, NULL, NULL, NULL, NULL, NULL, NULL
    FROM pg_temp.s3o_replay_events e
   WHERE e.ord BETWEEN p_from AND p_to AND e.type IN ('CleanupSucceeded', 'CleanupDismissed');

  DELETE FROM cleanup_queue q USING (SELECT DISTINCT r.id FROM pg_temp.s3o_replay_cleanup r WHERE NOT r.enqueue) gone
   WHERE q.id = gone.id;
  INSERT INTO cleanup_queue (id, backend, storage_key, size, kind, backend_upload_id, reason, state,
                             attempts, next_retry_at, last_error, created_at)
  SELECT l.id, l.backend, l.storage_key, l.size, l.kind, l.backend_upload_id, l.reason, 'pending', 0, l.at, NULL, l.at
    FROM (SELECT DISTINCT ON (r.id) r.* FROM pg_temp.s3o_replay_cleanup r ORDER BY r.id, r.ord DESC) l
   WHERE l.enqueue;
  DELETE FROM pg_temp.s3o_replay_cleanup;
END
$$;
