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
BEGIN
  IF array_length(p_streams, 1) = 1 THEN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_streams[1], 7));
  ELSE
    PERFORM pg_advisory_xact_lock(h)
       FROM (SELECT DISTINCT hashtextextended(s, 7) AS h FROM unnest(p_streams) AS s ORDER BY 1) AS locks;
  END IF;

  FOR i IN 1 .. coalesce(array_length(p_streams, 1), 0) LOOP
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
      PERFORM s3o_project_inline(p_streams[i], coalesce(v_cur, -1) + j, p_types[v_off + j], p_versions[v_off + j],
                                 p_data[v_off + j], p_meta[v_off + j], true);
    END LOOP;

    stream_id := p_streams[i];
    next_revision := coalesce(v_cur, -1) + v_n;
    tx_id := pg_current_xact_id();
    last_seq := v_seq;
    already_appended := false;
    RETURN NEXT;
    v_off := v_off + v_n;
  END LOOP;
END
$$;
