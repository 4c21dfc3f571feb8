-- Replays a page of the log through the named inline projection handlers without
-- enforcing invariants: used by `s3o projections rebuild|verify` into shadow tables. With
-- p_gap_safe it stops below the oldest running transaction, like every global reader.
CREATE OR REPLACE FUNCTION s3o_replay_inline(
  p_projections text[], p_after_tx xid8, p_after_seq bigint, p_limit int, p_gap_safe boolean
) RETURNS TABLE (applied int, last_tx xid8, last_seq bigint)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  n int := 0;
BEGIN
  last_tx := p_after_tx;
  last_seq := p_after_seq;
  CREATE TEMP TABLE IF NOT EXISTS s3o_usage_deltas (backend text, used bigint, cnt bigint, orphan bigint, pending bigint);
  PERFORM set_config('s3o.replay', 'on', true);
  -- Planned per page with its values (EXECUTE). The stream id is passed with the default
  -- collation, as the append passes it: a PL/pgSQL function's variables take the collation of
  -- its arguments, and with the log's "C" the handlers' lookups by id could not use their indexes.
  FOR r IN EXECUTE format(
    'SELECT e.stream_id COLLATE "default" AS stream_id, e.revision, e.type, e.data, e.metadata, e.tx_id, e.seq
       FROM public.events e
      WHERE (e.tx_id, e.seq) > ($1, $2) %s
      ORDER BY e.tx_id, e.seq
      LIMIT %s',
    CASE WHEN p_gap_safe THEN 'AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())' ELSE '' END,
    p_limit)
    USING p_after_tx, p_after_seq
  LOOP
    IF 'locations' = ANY (p_projections) THEN
      PERFORM s3o_proj_locations(r.stream_id, r.revision, r.type, r.data, r.metadata, false);
    END IF;
    IF 'backends' = ANY (p_projections) THEN
      PERFORM s3o_proj_backends(r.stream_id, r.revision, r.type, r.data, r.metadata, false);
    END IF;
    IF 'uploads' = ANY (p_projections) THEN
      PERFORM s3o_proj_uploads(r.stream_id, r.revision, r.type, r.data, r.metadata, false);
    END IF;
    IF 'cleanup' = ANY (p_projections) THEN
      PERFORM s3o_proj_cleanup(r.stream_id, r.revision, r.type, r.data, r.metadata, false);
    END IF;
    IF 'jobs' = ANY (p_projections) THEN
      PERFORM s3o_proj_jobs(r.stream_id, r.revision, r.type, r.data, r.metadata, false);
    END IF;
    IF 'usage' = ANY (p_projections) THEN
      PERFORM s3o_proj_usage(r.stream_id, r.revision, r.type, r.data, r.metadata, false);
    END IF;
    n := n + 1;
    last_tx := r.tx_id;
    last_seq := r.seq;
  END LOOP;
  PERFORM set_config('s3o.replay', 'off', true);
  INSERT INTO backend_usage AS u (backend, bytes_used, object_count, orphan_bytes, pending_bytes)
  SELECT d.backend, sum(d.used), sum(d.cnt), sum(d.orphan), sum(d.pending) FROM pg_temp.s3o_usage_deltas d GROUP BY d.backend
  ON CONFLICT (backend) DO UPDATE SET
    bytes_used = u.bytes_used + EXCLUDED.bytes_used, object_count = u.object_count + EXCLUDED.object_count,
    orphan_bytes = u.orphan_bytes + EXCLUDED.orphan_bytes, pending_bytes = u.pending_bytes + EXCLUDED.pending_bytes;
  DELETE FROM pg_temp.s3o_usage_deltas;
  applied := n;
  RETURN NEXT;
END
$$;
