-- jobs, set-based append: a run of moves started or completed (s3o_project_inline_group) changes
-- each job's row once, as s3o_proj_jobs would one event at a time: counters summed, in_flight
-- lowered by one per completed move but never below 0 (greatest(x - n, 0), what n steps of
-- greatest(x - 1, 0) give), updated_at the time of the run's last event of that job. A missing
-- number makes the sum NULL (the column refuses it, as one by one).
CREATE OR REPLACE FUNCTION s3o_group_jobs(
  p_type text, p_streams text[], p_revisions bigint[], p_data jsonb[], p_meta jsonb[]
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_type = 'MoveStarted' THEN
    UPDATE jobs j SET in_flight = j.in_flight + x.started, updated_at = x.at
      FROM (SELECT e.d->>'jobId' AS job_id, sum(CASE WHEN e.d ? 'replaces' THEN 0 ELSE 1 END) AS started,
                   (array_agg(s3o_event_time(e.m) ORDER BY e.k DESC))[1] AS at
              FROM unnest(p_data, p_meta) WITH ORDINALITY AS e(d, m, k) GROUP BY 1) x
     WHERE j.job_id = x.job_id;
  ELSIF p_type = 'MoveCompleted' THEN
    UPDATE jobs j SET moved = j.moved + x.moved, dropped = j.dropped + x.dropped, moved_bytes = j.moved_bytes + x.bytes,
                      in_flight = greatest(j.in_flight - x.n, 0), updated_at = x.at
      FROM (SELECT e.d->>'jobId' AS job_id, count(*) AS n,
                   sum(CASE WHEN e.d->'to' = 'null'::jsonb THEN 0 ELSE 1 END) AS moved,
                   sum(CASE WHEN e.d->'to' = 'null'::jsonb THEN 1 ELSE 0 END) AS dropped,
                   CASE WHEN bool_and(e.d->>'bytes' IS NOT NULL) THEN sum((e.d->>'bytes')::bigint) END AS bytes,
                   (array_agg(s3o_event_time(e.m) ORDER BY e.k DESC))[1] AS at
              FROM unnest(p_data, p_meta) WITH ORDINALITY AS e(d, m, k) GROUP BY 1) x
     WHERE j.job_id = x.job_id;
  ELSE
    RAISE EXCEPTION 'jobs has no set-based append for %', p_type;
  END IF;
END
$$;
