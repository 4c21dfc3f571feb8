-- cleanup, set-based append: a run of events of one type (s3o_project_inline_group), applied as
-- s3o_proj_cleanup would one by one: writes enqueue their displaced copies, moves their sources;
-- a succeeded cleanup's item leaves the queue.
DROP FUNCTION IF EXISTS s3o_group_cleanup(text, bigint[], jsonb[], jsonb[]);

CREATE OR REPLACE FUNCTION s3o_group_cleanup(
  p_type text, p_streams text[], p_revisions bigint[], p_data jsonb[], p_meta jsonb[]
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_type = 'ObjectWritten' THEN
    INSERT INTO cleanup_queue (id, backend, storage_key, size, kind, backend_upload_id, reason, state,
                               attempts, next_retry_at, last_error, created_at)
    SELECT i."cleanupId", i.backend, i."storageKey", i.size, 'object', NULL, 'overwrite_displaced', 'pending', 0,
           s3o_event_time(e.m), NULL, s3o_event_time(e.m)
      FROM unnest(p_data, p_meta) AS e(d, m),
           jsonb_to_recordset(e.d->'displaced') AS i("cleanupId" text, backend text, "storageKey" text, size bigint)
     WHERE jsonb_array_length(e.d->'displaced') > 0;
  ELSIF p_type = 'CopyMoved' THEN
    INSERT INTO cleanup_queue (id, backend, storage_key, size, kind, backend_upload_id, reason, state,
                               attempts, next_retry_at, last_error, created_at)
    SELECT i."cleanupId", i.backend, i."storageKey", i.size, 'object', NULL, 'move_source', 'pending', 0,
           s3o_event_time(e.m), NULL, s3o_event_time(e.m)
      FROM unnest(p_data, p_meta) WITH ORDINALITY AS e(d, m, k),
           jsonb_to_recordset(jsonb_build_array(e.d->'from')) AS i("cleanupId" text, backend text, "storageKey" text, size bigint)
     ORDER BY e.k;
  ELSIF p_type = 'CleanupSucceeded' THEN
    DELETE FROM cleanup_queue WHERE id IN (SELECT substr(s, length('cleanup-') + 1) FROM unnest(p_streams) AS s);
  ELSE
    RAISE EXCEPTION 'cleanup has no set-based append for %', p_type;
  END IF;
END
$$;
