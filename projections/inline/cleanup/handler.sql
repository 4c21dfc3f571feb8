-- cleanup, append-time handler: bytes on backends that no live record points to, waiting to be
-- deleted (cleanup_queue), one item per cleanup stream.
CREATE OR REPLACE FUNCTION s3o_cleanup_enqueue(p_items jsonb, p_reason text, p_at timestamptz)
RETURNS void LANGUAGE sql AS $$
  INSERT INTO cleanup_queue (id, backend, storage_key, size, kind, backend_upload_id, reason, state,
                             attempts, next_retry_at, last_error, created_at)
  SELECT i."cleanupId", i.backend, i."storageKey", i.size, 'object', NULL, p_reason, 'pending', 0, p_at, NULL, p_at
    FROM jsonb_to_recordset(p_items) AS i("cleanupId" text, backend text, "storageKey" text, size bigint)
$$;

CREATE OR REPLACE FUNCTION s3o_proj_cleanup(
  p_stream text, p_revision bigint, p_type text, p_data jsonb, p_meta jsonb, p_enforce boolean
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_at timestamptz := s3o_event_time(p_meta);
  v_id text := substr(p_stream, length('cleanup-') + 1);
BEGIN
  IF p_type = 'ObjectWritten' THEN
    IF jsonb_array_length(p_data->'displaced') > 0 THEN
      PERFORM s3o_cleanup_enqueue(p_data->'displaced', 'overwrite_displaced', v_at);
    END IF;
  ELSIF p_type = 'ObjectDeleted' AND (p_data->>'reclaim')::boolean THEN
    PERFORM s3o_cleanup_enqueue(p_data->'displaced', 'delete_' || (p_data->>'reason'), v_at);
  ELSIF p_type = 'CopyMoved' THEN
    PERFORM s3o_cleanup_enqueue(jsonb_build_array(p_data->'from'), 'move_source', v_at);
  ELSIF p_type = 'StoredBytesRewritten' THEN
    PERFORM s3o_cleanup_enqueue(p_data->'displaced', 'rewrite_' || (p_data->>'change'), v_at);
  ELSIF p_type = 'CopyRepaired' THEN
    PERFORM s3o_cleanup_enqueue(jsonb_build_array(p_data->'from'), 'integrity_repaired', v_at);
  ELSIF p_type = 'ReplicaDropped' AND (p_data->>'reclaim')::boolean THEN
    PERFORM s3o_cleanup_enqueue(jsonb_build_array(p_data->'copy'), 'replica_' || (p_data->>'reason'), v_at);
  ELSIF p_type = 'OrphanRecorded' THEN
    INSERT INTO cleanup_queue (id, backend, storage_key, size, kind, backend_upload_id, reason, state,
                               attempts, next_retry_at, last_error, created_at)
    VALUES (v_id, p_data->>'backend', p_data->>'storageKey', (p_data->>'size')::bigint, p_data->>'kind',
            p_data->>'backendUploadId', p_data->>'reason', 'pending', 0, v_at, NULL, v_at);
  ELSIF p_type = 'CleanupFailed' THEN
    UPDATE cleanup_queue SET attempts = (p_data->>'attempt')::int,
      next_retry_at = (p_data->>'nextRetryAt')::timestamptz, last_error = p_data->>'error'
     WHERE id = v_id;
  ELSIF p_type = 'CleanupExhausted' THEN
    UPDATE cleanup_queue SET state = 'exhausted', attempts = (p_data->>'attempt')::int,
      last_error = p_data->>'error'
     WHERE id = v_id;
  ELSIF p_type = 'CleanupRetried' THEN
    UPDATE cleanup_queue SET state = 'pending', attempts = 0,
      next_retry_at = (p_data->>'nextRetryAt')::timestamptz
     WHERE id = v_id;
  ELSIF p_type IN ('CleanupSucceeded', 'CleanupDismissed') THEN
    DELETE FROM cleanup_queue WHERE id = v_id;
  END IF;
END
$$;
