-- s3o_append_group: group commit. Runs several independent appends (each one an s3o_append call
-- with its own streams, expected revisions and events) in ONE transaction, so they share one
-- commit and one WAL flush instead of queueing one by one behind the row locks the inline
-- projections take (the backend_usage row of a backend is updated by nearly every write).
--
-- Each append runs in its own subtransaction (the EXCEPTION block): a refused expected
-- revision, a refused quota or any other error undoes that append alone and is returned as its
-- outcome (err_code = SQLSTATE, err_message, err_detail); the others commit. Appends are
-- applied in array order, each seeing the ones before it, exactly as if they had been sent one
-- after the other; only the part of a mixed group that goes at once (below) comes first.
--
-- p_group[k] is the 1-based append that stream entry k belongs to (non-decreasing); the event
-- arrays are laid out as for s3o_append, append after append. All streams' advisory locks are
-- taken first, in hash order, before anything is written, so the transaction id is assigned only
-- once every lock is held (the rule s3o_append states for itself).
--
-- A group of one event per append, all of one type the projections can apply set-based
-- (s3o_group_types), to distinct streams whose expected revisions all hold, is written with a
-- few statements for the whole group in one subtransaction, instead of one subtransaction and one
-- s3o_append per append. Should it raise (an expected revision that does not hold, two appends to
-- one stream, a quota the group would exceed, an event id already in the log, …), it is undone
-- and the group goes one append at a time as below, so each append still gets its own verdict.
-- In a group of other appends too (every overwrite's displaced copy brings the cleanup worker's
-- append), the appends that qualify go at once the same way, first, and the others one at a time.
-- The expected revisions are checked on what the stream rows' upsert returns, not read first: a
-- statement of its own, with its aggregates, cost about a tenth of PostgreSQL's CPU per group.
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
  v_holds boolean;
  v_all boolean := false;
  -- The appends that go at once (the whole group, or part of a mixed one), one entry each.
  a_group int[];
  a_streams text[];
  a_expected text[];
  a_ids uuid[];
  a_types text[];
  a_versions int[];
  a_data jsonb[];
  a_meta jsonb[];
  a_done int[];
BEGIN
  PERFORM pg_advisory_xact_lock(h)
     FROM (SELECT DISTINCT hashtextextended(s, 7) AS h FROM unnest(p_streams) AS s ORDER BY 1) AS locks;

  IF current_setting('s3o.replay', true) IS DISTINCT FROM 'on' THEN
    -- One event per append and stream, of one set-based type at its current version, none 'any'
    -- (an 'any' may be a retry, which s3o_append answers): simple expressions, no statement.
    v_all := v_streams > 0 AND 1 = ALL (p_counts) AND p_types[1] = ALL (p_types) AND p_types[1] = ANY (s3o_group_types())
             AND s3o_event_current_version(p_types[1]) = ALL (p_versions) AND NOT 'any' = ANY (p_expected);
    IF v_all THEN
      a_group := p_group;
      a_streams := p_streams;
      a_expected := p_expected;
      a_ids := p_ids;
      a_types := p_types;
      a_versions := p_versions;
      a_data := p_data;
      a_meta := p_meta;
    ELSIF v_streams > 2 THEN
      -- A mixed group (object writes among the cleanup worker's appends, say): the appends that
      -- could go at once go first, together, the others one at a time after them. Only appends to
      -- one stream must keep their order, and these are the only appends to their streams; the
      -- group's appends were all in flight at once, so this is an order they could have come in.
      SELECT array_agg(x.g ORDER BY x.k), array_agg(x.stream ORDER BY x.k), array_agg(x.expected ORDER BY x.k),
             array_agg(p_ids[x.e] ORDER BY x.k), array_agg(p_types[x.e] ORDER BY x.k),
             array_agg(p_versions[x.e] ORDER BY x.k), array_agg(p_data[x.e] ORDER BY x.k), array_agg(p_meta[x.e] ORDER BY x.k)
        INTO a_group, a_streams, a_expected, a_ids, a_types, a_versions, a_data, a_meta
        FROM (SELECT s.g, s.stream, s.expected, s.n, s.k, (sum(s.n) OVER (ORDER BY s.k))::int AS e,
                     count(*) OVER (PARTITION BY s.stream) AS per_stream, count(*) OVER (PARTITION BY s.g) AS per_append
                FROM unnest(p_group, p_streams, p_expected, p_counts) WITH ORDINALITY AS s(g, stream, expected, n, k)) x
       WHERE x.n = 1 AND x.per_stream = 1 AND x.per_append = 1 AND x.expected <> 'any'
         AND p_types[x.e] = (s3o_group_types())[1] AND p_versions[x.e] = s3o_event_current_version(p_types[x.e]);
      IF coalesce(array_length(a_streams, 1), 0) < 2 THEN
        a_streams := NULL;
      END IF;
    END IF;
  END IF;

  IF a_streams IS NOT NULL THEN
    BEGIN
      -- The stream rows first (a projection rebuild fences appends by locking streams). A stream
      -- the upsert inserts gets revision 0, one it updates its revision + 1, so the revision it
      -- returns tells whether the append's expectation held; a stream twice in the group raises.
      WITH up AS (
        INSERT INTO streams AS s (stream_id, category, revision)
        SELECT x.stream, split_part(x.stream, '-', 1), 0
          FROM unnest(a_streams) WITH ORDINALITY AS x(stream, k) ORDER BY x.k
        ON CONFLICT (stream_id) DO UPDATE SET revision = s.revision + 1, updated_at = now()
        RETURNING s.stream_id, s.revision
      )
      SELECT array_agg(u.revision ORDER BY x.k),
             count(*) = array_length(a_streams, 1)
             AND bool_and(CASE WHEN x.expected = 'no_stream' THEN u.revision = 0
                               WHEN x.expected = 'stream_exists' THEN u.revision > 0
                               ELSE u.revision > 0 AND u.revision = x.expected::bigint + 1 END)
        INTO v_revisions, v_holds
        FROM unnest(a_streams, a_expected) WITH ORDINALITY AS x(stream, expected, k)
        JOIN up u ON u.stream_id = x.stream;
      IF NOT v_holds THEN
        RAISE EXCEPTION 'an expected revision does not hold';
      END IF;
      WITH ins AS (
        INSERT INTO events (stream_id, revision, event_id, type, schema_version, data, metadata)
        SELECT x.stream, x.revision, x.id, x.type, x.version, x.data, x.meta
          FROM unnest(a_streams, v_revisions, a_ids, a_types, a_versions, a_data, a_meta)
               WITH ORDINALITY AS x(stream, revision, id, type, version, data, meta, k)
         ORDER BY x.k
        RETURNING seq
      ) SELECT array_agg(seq ORDER BY seq) INTO v_seqs FROM ins;
      PERFORM s3o_project_inline_group(a_types[1], a_streams, v_revisions, a_data, a_meta);
      a_done := a_group;
    EXCEPTION WHEN OTHERS THEN
      NULL; -- undone: one append at a time below
    END;
    IF a_done IS NOT NULL THEN
      RETURN QUERY
        SELECT a_group[k], a_streams[k], v_revisions[k], pg_current_xact_id(), v_seqs[k], false, NULL::text, NULL::text, NULL::text
          FROM generate_subscripts(a_streams, 1) AS k;
      IF v_all THEN
        RETURN;
      END IF;
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
    IF g = ANY (a_done) THEN -- went at once above
      s_first := s_last + 1;
      e_first := e_last + 1;
      CONTINUE;
    END IF;
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

-- Replaced by the upsert in s3o_append_group.
DROP FUNCTION IF EXISTS s3o_append_group_revisions(text[], text[], int[], text[], int[]);
DROP FUNCTION IF EXISTS s3o_append_group_at_once(text[], bigint[], uuid[], text[], int[], jsonb[], jsonb[]);
