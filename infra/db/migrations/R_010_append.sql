-- s3o_project_runs: applies events set-based (every type in s3o_group_types(), at its current
-- version), a run of consecutive events of one type at a time, in the order given: the order
-- one-by-one projection would apply them in, so each run starts from what the runs before it left.
-- Its statements run with generic plans, as s3o_append_group's (which says why).
CREATE OR REPLACE FUNCTION s3o_project_runs(
  p_types text[], p_streams text[], p_revisions bigint[], p_data jsonb[], p_meta jsonb[]
) RETURNS void LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_n int := coalesce(array_length(p_types, 1), 0);
  v_first int := 1;
  v_last int;
BEGIN
  WHILE v_first <= v_n LOOP
    v_last := v_first;
    WHILE v_last < v_n AND p_types[v_last + 1] = p_types[v_first] LOOP
      v_last := v_last + 1;
    END LOOP;
    IF v_first = 1 AND v_last = v_n THEN
      PERFORM s3o_project_inline_group(p_types[1], p_streams, p_revisions, p_data, p_meta);
    ELSE
      PERFORM s3o_project_inline_group(p_types[v_first], p_streams[v_first : v_last], p_revisions[v_first : v_last],
                                       p_data[v_first : v_last], p_meta[v_first : v_last]);
    END IF;
    v_first := v_last + 1;
  END LOOP;
END
$$;

-- s3o_append: appends batches of events to one or more streams atomically, runs the inline
-- projections (s3o_project_inline, generated from projections/registry.ts; it refuses an event
-- version the projections do not know), and returns one row per stream. It must be the first
-- write of its transaction: it takes every stream's advisory lock (in hash order, so concurrent
-- multi-stream appends cannot deadlock) before writing anything, so the transaction id is
-- assigned only once all locks are held. Within a stream, transaction-id order then equals
-- revision order, which is what lets global readers (ordered by tx_id, seq) replay each stream
-- in revision order.
CREATE OR REPLACE FUNCTION s3o_append(
  p_streams text[], p_expected text[], p_counts int[],
  p_ids uuid[], p_types text[], p_versions int[], p_data jsonb[], p_meta jsonb[]
) RETURNS TABLE (stream_id text, next_revision bigint, tx_id xid8, last_seq bigint, already_appended boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  i int;
  j int;
  v_off int := 0;
  v_n int;
  v_cur bigint;
  v_exp text;
  v_holds boolean;
  v_found int;
  v_prev record;
  v_seq bigint;
  v_set boolean := false;
  v_revs bigint[];
  v_seqs bigint[];
  -- With v_set, the events written, to project once every stream is written.
  v_m int := 0;
  x_streams text[];
  x_revisions bigint[];
  x_types text[];
  x_versions int[];
  x_data jsonb[];
  x_meta jsonb[];
BEGIN
  IF array_length(p_streams, 1) = 1 THEN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_streams[1], 7));
  ELSE
    PERFORM pg_advisory_xact_lock(h)
       FROM (SELECT DISTINCT hashtextextended(s, 7) AS h FROM unnest(p_streams) AS s ORDER BY 1) AS locks;
  END IF;

  IF array_length(p_ids, 1) > 1 AND p_types <@ s3o_group_types() AND current_setting('s3o.replay', true) IS DISTINCT FROM 'on' THEN
    v_set := NOT EXISTS (SELECT FROM unnest(p_types, p_versions) AS e(t, v) WHERE v IS DISTINCT FROM s3o_event_current_version(t));
  END IF;

  -- Several streams, each once, every expected revision holding, none of the events in the log
  -- yet (an 'any' may be a retry, answered below): the streams' rows and the events are written
  -- with one statement each for the whole append, instead of three statements per stream (the
  -- reclaimer's CleanupSucceeded go to a new stream each). Otherwise (a revision that does not
  -- hold gets its verdict, or its retry's answer, below) nothing is written here.
  IF v_set AND array_length(p_streams, 1) > 1 THEN
    SELECT array_agg(s.revision ORDER BY x.k),
           count(DISTINCT x.stream) = count(*)
           AND bool_and(CASE WHEN x.e = 'any' THEN true
                             WHEN x.e = 'no_stream' THEN s.revision IS NULL
                             WHEN x.e = 'stream_exists' THEN s.revision IS NOT NULL
                             ELSE s.revision IS NOT DISTINCT FROM x.e::bigint END)
      INTO v_revs, v_holds
      FROM unnest(p_streams, p_expected) WITH ORDINALITY AS x(stream, e, k) LEFT JOIN streams s ON s.stream_id = x.stream;
    IF v_holds AND 'any' = ANY (p_expected) THEN
      v_holds := NOT EXISTS (SELECT FROM events e WHERE e.event_id = ANY (p_ids));
    END IF;
    IF v_holds THEN
      -- The stream rows first (a projection rebuild fences appends by locking streams).
      INSERT INTO streams AS s (stream_id, category, revision)
      SELECT x.stream, split_part(x.stream, '-', 1), x.n - 1
        FROM unnest(p_streams, p_counts) WITH ORDINALITY AS x(stream, n, k) ORDER BY x.k
      ON CONFLICT (stream_id) DO UPDATE SET revision = s.revision + EXCLUDED.revision + 1, updated_at = now();
      -- Event e is the o-th of stream si, in the order given (its seq, from the insert's order).
      WITH ev AS (
        SELECT c.k AS si, o, (c.before + o)::int AS e
          FROM (SELECT x.k, x.n, sum(x.n) OVER (ORDER BY x.k) - x.n AS before
                  FROM unnest(p_counts) WITH ORDINALITY AS x(n, k)) c,
               generate_series(1, c.n) AS o
      ), ins AS (
        INSERT INTO events (stream_id, revision, event_id, type, schema_version, data, metadata)
        SELECT p_streams[ev.si], coalesce(v_revs[ev.si], -1) + ev.o, p_ids[ev.e], p_types[ev.e], p_versions[ev.e],
               p_data[ev.e], p_meta[ev.e]
          FROM ev ORDER BY ev.e
        RETURNING stream_id, revision, seq
      ) SELECT array_agg(ins.stream_id ORDER BY ins.seq), array_agg(ins.revision ORDER BY ins.seq), array_agg(ins.seq ORDER BY ins.seq)
          INTO x_streams, x_revisions, v_seqs FROM ins;
      v_m := array_length(p_ids, 1);
      x_types := p_types;
      x_versions := p_versions;
      x_data := p_data;
      x_meta := p_meta;
      RETURN QUERY
        SELECT x.stream, coalesce(v_revs[x.k], -1) + x.n, pg_current_xact_id(), v_seqs[(sum(x.n) OVER (ORDER BY x.k))::int], false
          FROM unnest(p_streams, p_counts) WITH ORDINALITY AS x(stream, n, k) ORDER BY x.k;
    END IF;
  END IF;

  -- One stream at a time, unless written above.
  FOR i IN 1 .. CASE WHEN v_m > 0 THEN 0 ELSE coalesce(array_length(p_streams, 1), 0) END LOOP
    v_n := p_counts[i];
    v_exp := p_expected[i];
    SELECT s.revision INTO v_cur FROM streams s WHERE s.stream_id = p_streams[i];
    v_holds := CASE
      WHEN v_exp = 'any' THEN true
      WHEN v_exp = 'no_stream' THEN v_cur IS NULL
      WHEN v_exp = 'stream_exists' THEN v_cur IS NOT NULL
      ELSE v_cur IS NOT DISTINCT FROM v_exp::bigint
    END;

    -- A retried append (same event ids) is a no-op that answers like the original append.
    IF v_exp = 'any' OR NOT v_holds THEN
      SELECT count(*)::int INTO v_found FROM events e
       WHERE e.event_id = ANY (p_ids[v_off + 1 : v_off + v_n]) AND e.stream_id = p_streams[i];
      IF v_found = v_n AND v_n > 0 THEN
        SELECT e.revision, e.tx_id, e.seq INTO v_prev FROM events e
         WHERE e.event_id = p_ids[v_off + v_n];
        stream_id := p_streams[i];
        next_revision := v_prev.revision;
        tx_id := v_prev.tx_id;
        last_seq := v_prev.seq;
        already_appended := true;
        RETURN NEXT;
        v_off := v_off + v_n;
        CONTINUE;
      ELSIF v_found > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'S3O02', MESSAGE = 'partial idempotent retry',
          DETAIL = json_build_object('stream', p_streams[i])::text;
      END IF;
    END IF;

    IF NOT v_holds THEN
      RAISE EXCEPTION USING ERRCODE = 'S3O01', MESSAGE = 'wrong expected revision',
        DETAIL = json_build_object('stream', p_streams[i], 'expected', v_exp,
                                   'actual', coalesce(v_cur::text, 'no_stream'))::text;
    END IF;

    -- The stream row is written first: a projection rebuild fences appends by locking streams.
    IF v_cur IS NULL THEN
      INSERT INTO streams (stream_id, category, revision) VALUES (p_streams[i], split_part(p_streams[i], '-', 1), v_n - 1);
    ELSE
      UPDATE streams SET revision = v_cur + v_n, updated_at = now() WHERE streams.stream_id = p_streams[i];
    END IF;

    IF v_n = 1 THEN
      INSERT INTO events (stream_id, revision, event_id, type, schema_version, data, metadata)
      VALUES (p_streams[i], coalesce(v_cur, -1) + 1, p_ids[v_off + 1], p_types[v_off + 1],
              p_versions[v_off + 1], p_data[v_off + 1], p_meta[v_off + 1])
      RETURNING seq INTO v_seq;
    ELSE
      WITH ins AS (
        INSERT INTO events (stream_id, revision, event_id, type, schema_version, data, metadata)
        SELECT p_streams[i], coalesce(v_cur, -1) + o, p_ids[v_off + o], p_types[v_off + o],
               p_versions[v_off + o], p_data[v_off + o], p_meta[v_off + o]
          FROM generate_series(1, v_n) AS o
        RETURNING seq
      ) SELECT max(seq) INTO v_seq FROM ins;
    END IF;

    FOR j IN 1 .. v_n LOOP
      IF v_set THEN
        v_m := v_m + 1;
        x_streams[v_m] := p_streams[i];
        x_revisions[v_m] := coalesce(v_cur, -1) + j;
        x_types[v_m] := p_types[v_off + j];
        x_versions[v_m] := p_versions[v_off + j];
        x_data[v_m] := p_data[v_off + j];
        x_meta[v_m] := p_meta[v_off + j];
      ELSE
        PERFORM s3o_project_inline(p_streams[i], coalesce(v_cur, -1) + j, p_types[v_off + j], p_versions[v_off + j],
                                   p_data[v_off + j], p_meta[v_off + j], true);
      END IF;
    END LOOP;

    stream_id := p_streams[i];
    next_revision := coalesce(v_cur, -1) + v_n;
    tx_id := pg_current_xact_id();
    last_seq := v_seq;
    already_appended := false;
    RETURN NEXT;
    v_off := v_off + v_n;
  END LOOP;

  IF v_m > 0 THEN
    BEGIN
      PERFORM s3o_project_runs(x_types, x_streams, x_revisions, x_data, x_meta);
    EXCEPTION WHEN OTHERS THEN
      FOR k IN 1 .. v_m LOOP
        PERFORM s3o_project_inline(x_streams[k], x_revisions[k], x_types[k], x_versions[k], x_data[k], x_meta[k], true);
      END LOOP;
    END;
  END IF;
END
$$;
