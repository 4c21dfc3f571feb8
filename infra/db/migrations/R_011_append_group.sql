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
--
-- A group of one event per append, all of one type the projections can apply set-based
-- (s3o_group_types), to distinct streams whose expected revisions all hold, is written with a
-- few statements for the whole group (s3o_append_group_at_once) in one subtransaction, instead
-- of one subtransaction and one s3o_append per append. Should it raise (a quota the group would
-- exceed, an event id already in the log, …), it is undone and the group goes one append at a
-- time as below, so each append still gets its own verdict.
--
-- Its statements, and those of the functions it calls, run with generic plans (plan_cache_mode):
-- each is a write or a lookup by key over the group's arrays, whose plan does not depend on the
-- values. Left to choose, the plan cache kept a custom plan for most of them (unnest's row estimate
-- differs between the two) and planned them again at every call: about a fifth of PostgreSQL's CPU
-- per group. (s3o_append alone showed no such gain, and keeps the default.)
CREATE OR REPLACE FUNCTION s3o_append_group(
  p_group int[], p_streams text[], p_expected text[], p_counts int[],
  p_ids uuid[], p_types text[], p_versions int[], p_data jsonb[], p_meta jsonb[]
) RETURNS TABLE (grp int, stream_id text, next_revision bigint, tx_id xid8, last_seq bigint, already_appended boolean,
                 err_code text, err_message text, err_detail text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
  g int;
  s_first int := 1;
  s_last int;
  e_first int := 1;
  e_last int;
  v_streams int := coalesce(array_length(p_streams, 1), 0);
  v_revisions bigint[];
  v_seqs bigint[];
BEGIN
  PERFORM pg_advisory_xact_lock(h)
     FROM (SELECT DISTINCT hashtextextended(s, 7) AS h FROM unnest(p_streams) AS s ORDER BY 1) AS locks;

  v_revisions := s3o_append_group_revisions(p_streams, p_expected, p_counts, p_types, p_versions);
  IF v_revisions IS NOT NULL THEN
    BEGIN
      v_seqs := s3o_append_group_at_once(p_streams, v_revisions, p_ids, p_types, p_versions, p_data, p_meta);
    EXCEPTION WHEN OTHERS THEN
      v_seqs := NULL;
    END;
    IF v_seqs IS NOT NULL THEN
      RETURN QUERY
        SELECT p_group[k], p_streams[k], v_revisions[k], pg_current_xact_id(), v_seqs[k], false, NULL::text, NULL::text, NULL::text
          FROM generate_subscripts(p_streams, 1) AS k;
      RETURN;
    END IF;
  END IF;

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

-- The revision each stream's event gets when the whole group can be written at once (see
-- s3o_append_group), else NULL: one event per stream, streams distinct, one type the projections
-- apply set-based at its current version, every expected revision holding and none 'any' (an
-- 'any' may be a retry, which s3o_append answers). Called with the streams' locks held. PL/pgSQL:
-- the functions it calls are generated from the registry after this file.
CREATE OR REPLACE FUNCTION s3o_append_group_revisions(
  p_streams text[], p_expected text[], p_counts int[], p_types text[], p_versions int[]
) RETURNS bigint[] LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT CASE WHEN count(*) = count(DISTINCT x.stream) AND count(DISTINCT x.type) = 1
                   AND bool_and(x.n = 1 AND x.type = ANY (s3o_group_types())
                                AND x.version = s3o_event_current_version(x.type)
                                AND CASE WHEN x.expected = 'no_stream' THEN s.revision IS NULL
                                         WHEN x.expected = 'stream_exists' THEN s.revision IS NOT NULL
                                         WHEN x.expected = 'any' THEN false
                                         ELSE s.revision IS NOT DISTINCT FROM x.expected::bigint END)
                   AND current_setting('s3o.replay', true) IS DISTINCT FROM 'on'
              THEN array_agg(coalesce(s.revision, -1) + 1 ORDER BY x.k) END
    FROM unnest(p_streams, p_expected, p_counts, p_types, p_versions) WITH ORDINALITY AS x(stream, expected, n, type, version, k),
         -- A lookup by key per stream: a join would be planned for a hundred streams and scan the table.
         LATERAL (SELECT (SELECT t.revision FROM streams t WHERE t.stream_id = x.stream) AS revision) AS s);
END
$$;

-- Writes a group that s3o_append_group_revisions accepted as s3o_append would one append after
-- the other: the stream rows first (a projection rebuild fences appends by locking streams), the
-- events in append order, then the inline projections set-based. Returns each event's seq.
CREATE OR REPLACE FUNCTION s3o_append_group_at_once(
  p_streams text[], p_revisions bigint[], p_ids uuid[], p_types text[], p_versions int[], p_data jsonb[], p_meta jsonb[]
) RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE
  v_seqs bigint[];
BEGIN
  INSERT INTO streams AS s (stream_id, category, revision)
  SELECT x.stream, split_part(x.stream, '-', 1), x.revision
    FROM unnest(p_streams, p_revisions) WITH ORDINALITY AS x(stream, revision, k) ORDER BY x.k
  ON CONFLICT (stream_id) DO UPDATE SET revision = EXCLUDED.revision, updated_at = now();
  WITH ins AS (
    INSERT INTO events (stream_id, revision, event_id, type, schema_version, data, metadata)
    SELECT x.stream, x.revision, x.id, x.type, x.version, x.data, x.meta
      FROM unnest(p_streams, p_revisions, p_ids, p_types, p_versions, p_data, p_meta)
           WITH ORDINALITY AS x(stream, revision, id, type, version, data, meta, k)
     ORDER BY x.k
    RETURNING seq
  ) SELECT array_agg(seq ORDER BY seq) INTO v_seqs FROM ins;
  PERFORM s3o_project_inline_group(p_types[1], p_revisions, p_data, p_meta);
  RETURN v_seqs;
END
$$;
