-- Inline projection handlers. Each handler owns its tables and reads nothing else, so each can
-- be rebuilt on its own. p_enforce is true on the append path (invariants are checked and a
-- violation rolls the append back) and false on replay (history is applied as it happened).
-- Tables are referenced unqualified: a rebuild points search_path at a shadow schema.

CREATE OR REPLACE FUNCTION s3o_event_time(p_meta jsonb) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$ SELECT (p_meta->>'at')::timestamptz $$;

-- locations -------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION s3o_proj_locations(
  p_stream text, p_revision bigint, p_type text, p_data jsonb, p_meta jsonb, p_enforce boolean
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_bucket text := p_data->>'bucket';
  v_key text := p_data->>'key';
  v_current text;
  v_at timestamptz := s3o_event_time(p_meta);
BEGIN
  IF p_type NOT IN ('ObjectWritten', 'ReplicaAdded', 'ReplicaDropped', 'CopyMoved', 'ObjectDeleted') THEN
    RETURN;
  END IF;

  IF p_type = 'ObjectWritten' THEN
    INSERT INTO objects AS o (bucket, key, write_id, size, etag, content_type, metadata, headers,
                              checksum, parts, last_modified, stream_revision)
    VALUES (v_bucket, v_key, p_data->>'writeId', (p_data->>'size')::bigint, p_data->>'etag',
            p_data->>'contentType', p_data->'metadata', p_data->'headers',
            nullif(p_data->'checksum', 'null'::jsonb), nullif(p_data->'parts', 'null'::jsonb),
            (p_data->>'lastModified')::timestamptz, p_revision)
    ON CONFLICT (bucket, key) DO UPDATE SET
      write_id = EXCLUDED.write_id, size = EXCLUDED.size, etag = EXCLUDED.etag,
      content_type = EXCLUDED.content_type, metadata = EXCLUDED.metadata, headers = EXCLUDED.headers,
      checksum = EXCLUDED.checksum, parts = EXCLUDED.parts, last_modified = EXCLUDED.last_modified,
      stream_revision = EXCLUDED.stream_revision;
    -- The first event of a stream has no copies to replace.
    IF p_revision > 0 THEN
      DELETE FROM object_copies WHERE bucket = v_bucket AND key = v_key;
    END IF;
    INSERT INTO object_copies (bucket, key, backend, storage_key, size, write_id, created_at)
    SELECT v_bucket, v_key, c.backend, c."storageKey", c.size, p_data->>'writeId', v_at
      FROM jsonb_to_recordset(p_data->'copies') AS c(backend text, "storageKey" text, size bigint);
    RETURN;
  END IF;

  IF p_type = 'ObjectDeleted' THEN
    DELETE FROM object_copies WHERE bucket = v_bucket AND key = v_key;
    DELETE FROM objects WHERE bucket = v_bucket AND key = v_key;
    RETURN;
  END IF;

  -- Copy-level events must refer to the current version; the writer's expected revision
  -- guarantees it, this is the last line of defence.
  SELECT write_id INTO v_current FROM objects WHERE bucket = v_bucket AND key = v_key FOR UPDATE;
  IF p_enforce AND v_current IS DISTINCT FROM p_data->>'writeId' THEN
    RAISE EXCEPTION USING ERRCODE = 'S3Q02', MESSAGE = 'copy_of_current_version',
      DETAIL = json_build_object('bucket', v_bucket, 'key', v_key, 'writeId', p_data->>'writeId')::text;
  END IF;
  UPDATE objects SET stream_revision = p_revision WHERE bucket = v_bucket AND key = v_key;

  IF p_type = 'ReplicaAdded' THEN
    INSERT INTO object_copies (bucket, key, backend, storage_key, size, write_id, created_at)
    VALUES (v_bucket, v_key, p_data->'copy'->>'backend', p_data->'copy'->>'storageKey',
            (p_data->'copy'->>'size')::bigint, p_data->>'writeId', v_at);
  ELSIF p_type = 'ReplicaDropped' THEN
    DELETE FROM object_copies
     WHERE bucket = v_bucket AND key = v_key AND backend = p_data->'copy'->>'backend';
  ELSIF p_type = 'CopyMoved' THEN
    DELETE FROM object_copies
     WHERE bucket = v_bucket AND key = v_key AND backend = p_data->'from'->>'backend';
    INSERT INTO object_copies (bucket, key, backend, storage_key, size, write_id, created_at)
    VALUES (v_bucket, v_key, p_data->'to'->>'backend', p_data->'to'->>'storageKey',
            (p_data->'to'->>'size')::bigint, p_data->>'writeId', v_at);
  END IF;
END
$$;

-- backends --------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION s3o_proj_backends(
  p_stream text, p_revision bigint, p_type text, p_data jsonb, p_meta jsonb, p_enforce boolean
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_backend text := p_data->>'backend';
  v_at timestamptz := s3o_event_time(p_meta);
  v_state text;
BEGIN
  IF p_type = 'BackendRegistered' THEN
    INSERT INTO backend_state (backend, state, endpoint, bucket, region, quota_bytes, api_request_limit,
                               egress_byte_limit, ingress_byte_limit, drain_job_id, registered_at,
                               updated_at, stream_revision)
    VALUES (v_backend, 'active', p_data->>'endpoint', p_data->>'bucket', p_data->>'region',
            (p_data->'limits'->>'quotaBytes')::bigint, (p_data->'limits'->>'apiRequestLimit')::bigint,
            (p_data->'limits'->>'egressByteLimit')::bigint, (p_data->'limits'->>'ingressByteLimit')::bigint,
            NULL, v_at, v_at, p_revision)
    ON CONFLICT (backend) DO UPDATE SET state = 'active', endpoint = EXCLUDED.endpoint,
      bucket = EXCLUDED.bucket, region = EXCLUDED.region, quota_bytes = EXCLUDED.quota_bytes,
      api_request_limit = EXCLUDED.api_request_limit, egress_byte_limit = EXCLUDED.egress_byte_limit,
      ingress_byte_limit = EXCLUDED.ingress_byte_limit, drain_job_id = NULL,
      updated_at = EXCLUDED.updated_at, stream_revision = EXCLUDED.stream_revision;
    RETURN;
  END IF;

  v_state := CASE p_type
    WHEN 'BackendDrainStarted' THEN 'draining'
    WHEN 'BackendDrained' THEN 'drained'
    WHEN 'BackendDrainCancelled' THEN 'active'
    WHEN 'BackendReactivated' THEN 'active'
    WHEN 'BackendRemoved' THEN 'removed'
    WHEN 'BackendPurged' THEN 'purged'
    ELSE NULL END;

  IF p_type = 'BackendLimitsChanged' THEN
    UPDATE backend_state SET quota_bytes = (p_data->'limits'->>'quotaBytes')::bigint,
      api_request_limit = (p_data->'limits'->>'apiRequestLimit')::bigint,
      egress_byte_limit = (p_data->'limits'->>'egressByteLimit')::bigint,
      ingress_byte_limit = (p_data->'limits'->>'ingressByteLimit')::bigint,
      updated_at = v_at, stream_revision = p_revision
     WHERE backend = v_backend;
  ELSIF v_state IS NOT NULL THEN
    UPDATE backend_state SET state = v_state,
      drain_job_id = CASE WHEN p_type IN ('BackendDrainStarted', 'BackendDrained') THEN p_data->>'jobId' ELSE NULL END,
      updated_at = v_at, stream_revision = p_revision
     WHERE backend = v_backend;
  END IF;
END
$$;

-- uploads ---------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION s3o_proj_uploads(
  p_stream text, p_revision bigint, p_type text, p_data jsonb, p_meta jsonb, p_enforce boolean
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_upload text := p_data->>'uploadId';
BEGIN
  IF p_type = 'MultipartUploadCreated' THEN
    INSERT INTO multipart_uploads (upload_id, bucket, key, backend, backend_upload_id, storage_key,
                                   write_id, content_type, metadata, headers, initiated_at)
    VALUES (v_upload, p_data->>'bucket', p_data->>'key', p_data->>'backend', p_data->>'backendUploadId',
            p_data->>'storageKey', p_data->>'writeId', p_data->>'contentType', p_data->'metadata',
            p_data->'headers', (p_data->>'initiatedAt')::timestamptz);
  ELSIF p_type = 'PartUploaded' THEN
    -- Parts of an upload that was completed or aborted meanwhile are refused.
    IF p_enforce AND NOT EXISTS (SELECT 1 FROM multipart_uploads WHERE upload_id = v_upload) THEN
      RAISE EXCEPTION USING ERRCODE = 'S3Q03', MESSAGE = 'upload_open',
        DETAIL = json_build_object('uploadId', v_upload)::text;
    END IF;
    INSERT INTO multipart_parts (upload_id, part_number, size, etag, backend_etag, checksum, uploaded_at)
    VALUES (v_upload, (p_data->>'partNumber')::int, (p_data->>'size')::bigint, p_data->>'etag',
            p_data->>'backendEtag', nullif(p_data->'checksum', 'null'::jsonb), s3o_event_time(p_meta))
    ON CONFLICT (upload_id, part_number) DO UPDATE SET size = EXCLUDED.size, etag = EXCLUDED.etag,
      backend_etag = EXCLUDED.backend_etag, checksum = EXCLUDED.checksum, uploaded_at = EXCLUDED.uploaded_at;
  ELSIF p_type IN ('MultipartUploadCompleted', 'MultipartUploadAborted') THEN
    DELETE FROM multipart_parts WHERE upload_id = v_upload;
    DELETE FROM multipart_uploads WHERE upload_id = v_upload;
  END IF;
END
$$;

-- cleanup ---------------------------------------------------------------------------------
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

-- usage (last: its rows are the hottest, so their locks are held for the shortest time) ---
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
  ELSIF p_type IN ('ObjectWritten', 'ObjectDeleted', 'ReplicaAdded', 'ReplicaDropped', 'CopyMoved') THEN
    -- One row per backend, in backend order, so concurrent appends lock usage rows in one order.
    FOR r IN
      SELECT d.backend, sum(d.used)::bigint AS used, sum(d.cnt)::bigint AS cnt, sum(d.orphan)::bigint AS orphan
        FROM (
          SELECT c.backend, c.size AS used, 1 AS cnt, 0 AS orphan
            FROM jsonb_to_recordset(CASE WHEN p_type = 'ObjectWritten' THEN p_data->'copies'
                                         WHEN p_type = 'ReplicaAdded' THEN jsonb_build_array(p_data->'copy')
                                         WHEN p_type = 'CopyMoved' THEN jsonb_build_array(p_data->'to')
                                         ELSE '[]'::jsonb END) AS c(backend text, size bigint)
          UNION ALL
          SELECT c.backend, -c.size, -1,
                 CASE WHEN p_type IN ('ReplicaDropped', 'ObjectDeleted') AND NOT coalesce((p_data->>'reclaim')::boolean, true) THEN 0 ELSE c.size END
            FROM jsonb_to_recordset(CASE WHEN p_type IN ('ObjectWritten', 'ObjectDeleted') THEN p_data->'displaced'
                                         WHEN p_type = 'ReplicaDropped' THEN jsonb_build_array(p_data->'copy')
                                         WHEN p_type = 'CopyMoved' THEN jsonb_build_array(p_data->'from')
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
    INSERT INTO usage_pending_parts (upload_id, part_number, backend, size)
    VALUES (p_data->>'uploadId', (p_data->>'partNumber')::int, p_data->>'backend', (p_data->>'size')::bigint)
    ON CONFLICT (upload_id, part_number) DO UPDATE SET size = EXCLUDED.size;
    PERFORM s3o_usage_apply(p_data->>'backend', 0, 0, 0, (p_data->>'size')::bigint - coalesce(v_old, 0), p_enforce);
  ELSIF p_type IN ('MultipartUploadCompleted', 'MultipartUploadAborted') THEN
    WITH gone AS (DELETE FROM usage_pending_parts WHERE upload_id = p_data->>'uploadId' RETURNING size)
    SELECT coalesce(sum(size), 0) INTO v_freed FROM gone;
    IF v_freed > 0 THEN
      PERFORM s3o_usage_apply(p_data->>'backend', 0, 0, 0, -v_freed, false);
    END IF;
  END IF;
END
$$;

-- dispatcher ------------------------------------------------------------------------------
-- Calls only the handlers an event type concerns (a plpgsql call is not free and this runs for
-- every event of every write).
CREATE OR REPLACE FUNCTION s3o_project_inline(
  p_stream text, p_revision bigint, p_type text, p_data jsonb, p_meta jsonb, p_enforce boolean
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_type IN ('ObjectWritten', 'ObjectDeleted', 'ReplicaAdded', 'ReplicaDropped', 'CopyMoved') THEN
    PERFORM s3o_proj_locations(p_stream, p_revision, p_type, p_data, p_meta, p_enforce);
    IF p_type <> 'ReplicaAdded' THEN
      PERFORM s3o_proj_cleanup(p_stream, p_revision, p_type, p_data, p_meta, p_enforce);
    END IF;
    PERFORM s3o_proj_usage(p_stream, p_revision, p_type, p_data, p_meta, p_enforce);
  ELSIF p_type IN ('MultipartUploadCreated', 'PartUploaded', 'MultipartUploadCompleted', 'MultipartUploadAborted') THEN
    PERFORM s3o_proj_uploads(p_stream, p_revision, p_type, p_data, p_meta, p_enforce);
    IF p_type <> 'MultipartUploadCreated' THEN
      PERFORM s3o_proj_usage(p_stream, p_revision, p_type, p_data, p_meta, p_enforce);
    END IF;
  ELSIF p_type IN ('OrphanRecorded', 'CleanupFailed', 'CleanupSucceeded', 'CleanupExhausted', 'CleanupRetried', 'CleanupDismissed') THEN
    PERFORM s3o_proj_cleanup(p_stream, p_revision, p_type, p_data, p_meta, p_enforce);
    IF p_type IN ('OrphanRecorded', 'CleanupSucceeded', 'CleanupDismissed') THEN
      PERFORM s3o_proj_usage(p_stream, p_revision, p_type, p_data, p_meta, p_enforce);
    END IF;
  ELSIF p_type LIKE 'Backend%' THEN
    PERFORM s3o_proj_backends(p_stream, p_revision, p_type, p_data, p_meta, p_enforce);
    IF p_type IN ('BackendRegistered', 'BackendLimitsChanged') THEN
      PERFORM s3o_proj_usage(p_stream, p_revision, p_type, p_data, p_meta, p_enforce);
    END IF;
  ELSIF p_type LIKE 'Job%' OR p_type LIKE 'Move%' THEN
    PERFORM s3o_proj_jobs(p_stream, p_revision, p_type, p_data, p_meta, p_enforce);
  END IF;
END
$$;
