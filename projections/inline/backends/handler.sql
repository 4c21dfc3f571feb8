-- backends, append-time handler: lifecycle state and limits of each backend (backend_state).
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
