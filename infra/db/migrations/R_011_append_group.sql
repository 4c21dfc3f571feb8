-- s3o_append_group: group commit. Runs several independent appends (each one an s3o_append call
-- with its own streams, expected revisions and events) in ONE transaction, so they share one
-- commit and one WAL flush instead of queueing one by one behind the row locks the inline
-- projections take (the backend_usage row of a backend is updated by nearly every write).
--
-- Each append runs in its own subtransaction (the EXCEPTION block): a refused expected
-- revision, a refused quota or any other error undoes that append alone and is returned as its
-- outcome (err_code = SQLSTATE, err_message, err_detail); the others commit. Appends are
-- applied in array order, each seeing the ones before it, exactly as if they had been sent one
-- after the other.
--
-- p_group[k] is the 1-based append that stream entry k belongs to (non-decreasing); the event
-- arrays are laid out as for s3o_append, append after append. All streams' advisory locks are
-- taken first, in hash order, before anything is written, so the transaction id is assigned only
-- once every lock is held (the rule s3o_append states for itself).
CREATE OR REPLACE FUNCTION s3o_append_group(
  p_group int[], p_streams text[], p_expected text[], p_counts int[],
  p_ids uuid[], p_types text[], p_versions int[], p_data jsonb[], p_meta jsonb[]
) RETURNS TABLE (grp int, stream_id text, next_revision bigint, tx_id xid8, last_seq bigint, already_appended boolean,
                 err_code text, err_message text, err_detail text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  g int;
  s_first int := 1;
  s_last int;
  e_first int := 1;
  e_last int;
  v_streams int := coalesce(array_length(p_streams, 1), 0);
BEGIN
  PERFORM pg_advisory_xact_lock(h)
     FROM (SELECT DISTINCT hashtextextended(s, 7) AS h FROM unnest(p_streams) AS s ORDER BY 1) AS locks;

  WHILE s_first <= v_streams LOOP
    g := p_group[s_first];
    s_last := s_first;
    WHILE s_last < v_streams AND p_group[s_last + 1] = g LOOP
      s_last := s_last + 1;
    END LOOP;
    e_last := e_first - 1;
    FOR k IN s_first .. s_last LOOP
      e_last := e_last + p_counts[k];
    END LOOP;
    BEGIN
      RETURN QUERY
        SELECT g, a.stream_id, a.next_revision, a.tx_id, a.last_seq, a.already_appended, NULL::text, NULL::text, NULL::text
          FROM s3o_append(p_streams[s_first : s_last], p_expected[s_first : s_last], p_counts[s_first : s_last],
                          p_ids[e_first : e_last], p_types[e_first : e_last], p_versions[e_first : e_last],
                          p_data[e_first : e_last], p_meta[e_first : e_last]) AS a;
    EXCEPTION WHEN OTHERS THEN
      grp := g;
      stream_id := NULL;
      next_revision := NULL;
      tx_id := NULL;
      last_seq := NULL;
      already_appended := NULL;
      GET STACKED DIAGNOSTICS err_code = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT, err_detail = PG_EXCEPTION_DETAIL;
      RETURN NEXT;
    END;
    s_first := s_last + 1;
    e_first := e_last + 1;
  END LOOP;
END
$$;
