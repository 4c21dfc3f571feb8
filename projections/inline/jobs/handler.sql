-- jobs, append-time handler: one row per job stream with its state and progress counters.
CREATE OR REPLACE FUNCTION s3o_proj_jobs(
  p_stream text, p_revision bigint, p_type text, p_data jsonb, p_meta jsonb, p_enforce boolean
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_job text := p_data->>'jobId';
  v_at timestamptz := s3o_event_time(p_meta);
BEGIN
  IF p_type = 'JobStarted' THEN
    INSERT INTO jobs (job_id, kind, backend, state, params, actor, objects_total, bytes_total, started_at, updated_at)
    VALUES (v_job, p_data->>'kind', p_data->>'backend', 'running', p_data->'params', p_meta->>'actor',
            (p_data->>'objectsTotal')::bigint, (p_data->>'bytesTotal')::bigint, v_at, v_at);
  -- A start that `replaces` the target of the same move or rewrite (resumed, taken over) is not another one in flight.
  ELSIF p_type = 'MoveStarted' THEN
    UPDATE jobs SET in_flight = in_flight + CASE WHEN p_data ? 'replaces' THEN 0 ELSE 1 END, updated_at = v_at WHERE job_id = v_job;
  ELSIF p_type = 'MoveCompleted' THEN
    UPDATE jobs SET moved = moved + CASE WHEN p_data->'to' = 'null'::jsonb THEN 0 ELSE 1 END,
                    dropped = dropped + CASE WHEN p_data->'to' = 'null'::jsonb THEN 1 ELSE 0 END,
                    moved_bytes = moved_bytes + (p_data->>'bytes')::bigint,
                    in_flight = greatest(in_flight - 1, 0), updated_at = v_at
     WHERE job_id = v_job;
  ELSIF p_type = 'MoveSkipped' THEN
    UPDATE jobs SET skipped = skipped + 1, in_flight = greatest(in_flight - 1, 0), updated_at = v_at WHERE job_id = v_job;
  ELSIF p_type = 'MoveFailed' THEN
    UPDATE jobs SET failed = failed + 1, in_flight = greatest(in_flight - 1, 0), last_error = p_data->>'error', updated_at = v_at
     WHERE job_id = v_job;
  -- Encryption jobs: `moved` counts the objects rewritten (or re-wrapped), `moved_bytes` their bytes
  -- stored after. A re-wrap starts nothing (no bytes move), so its in_flight stays 0.
  ELSIF p_type = 'RewriteStarted' THEN
    UPDATE jobs SET in_flight = in_flight + CASE WHEN p_data ? 'replaces' THEN 0 ELSE 1 END, updated_at = v_at WHERE job_id = v_job;
  ELSIF p_type = 'RewriteCompleted' THEN
    UPDATE jobs SET moved = moved + 1, moved_bytes = moved_bytes + (p_data->>'bytesAfter')::bigint,
                    in_flight = greatest(in_flight - 1, 0), updated_at = v_at
     WHERE job_id = v_job;
  ELSIF p_type = 'RewriteSkipped' THEN
    UPDATE jobs SET skipped = skipped + 1, in_flight = greatest(in_flight - 1, 0), updated_at = v_at WHERE job_id = v_job;
  ELSIF p_type = 'RewriteFailed' THEN
    UPDATE jobs SET failed = failed + 1, in_flight = greatest(in_flight - 1, 0), last_error = p_data->>'error', updated_at = v_at
     WHERE job_id = v_job;
  ELSIF p_type IN ('JobCompleted', 'JobCancelled', 'JobFailed') THEN
    UPDATE jobs SET state = CASE p_type WHEN 'JobCompleted' THEN 'completed' WHEN 'JobCancelled' THEN 'cancelled' ELSE 'failed' END,
                    last_error = coalesce(p_data->>'error', last_error), in_flight = 0, updated_at = v_at, finished_at = v_at
     WHERE job_id = v_job;
  END IF;
END
$$;
