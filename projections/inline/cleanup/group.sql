-- cleanup, set-based append: the ObjectWritten events of one group commit enqueue their displaced
-- copies, as s3o_proj_cleanup would one by one.
CREATE OR REPLACE FUNCTION s3o_group_cleanup(
  p_type text, p_revisions bigint[], p_data jsonb[], p_meta jsonb[]
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_type <> 'ObjectWritten' THEN
    RAISE EXCEPTION 'cleanup has no set-based append for %', p_type;
  END IF;
  INSERT INTO cleanup_queue (id, backend, storage_key, size, kind, backend_upload_id, reason, state,
                             attempts, next_retry_at, last_error, created_at)
  SELECT i."cleanupId", i.backend, i."storageKey", i.size, 'object', NULL, 'overwrite_displaced', 'pending', 0,
         s3o_event_time(e.m), NULL, s3o_event_time(e.m)
    FROM unnest(p_data, p_meta) AS e(d, m),
         jsonb_to_recordset(e.d->'displaced') AS i("cleanupId" text, backend text, "storageKey" text, size bigint)
   WHERE jsonb_array_length(e.d->'displaced') > 0;
END
$$;
