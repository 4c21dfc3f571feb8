-- The next gap-safe page after (p_after_tx, p_after_seq) for a projection of p_types: it ends at
-- (last_tx, last_seq) and holds `matched` events of those types (at most p_limit). Null when
-- nothing is readable after it. The events of p_types are found through the type index
-- (events_type_order) a type at a time, so a projection of rare events does not read the log's
-- other events; when fewer than p_limit wait, the page ends at the last event below the horizon,
-- so a stretch of other events is passed over in the same page. Gap-safe: only events of
-- transactions older than the oldest running one (tx_id < xmin of the current snapshot), which can
-- no longer gain events. Generic plans: a custom plan of these statements was planned again at
-- every step (0.26 ms of planning per step), and both read by index in key order whatever the values.
CREATE OR REPLACE FUNCTION s3o_projection_page(p_after_tx xid8, p_after_seq bigint, p_types text[], p_limit int,
  OUT last_tx xid8, OUT last_seq bigint, OUT matched int)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_horizon xid8 := pg_snapshot_xmin(pg_current_snapshot());
BEGIN
  SELECT p.tx_id, p.seq, count(*) OVER () INTO last_tx, last_seq, matched FROM (
    SELECT x.tx_id, x.seq FROM unnest(p_types) AS t(type)
     CROSS JOIN LATERAL (
       SELECT e.tx_id, e.seq FROM public.events e
        WHERE e.type = t.type AND (e.tx_id, e.seq) > (p_after_tx, p_after_seq) AND e.tx_id < v_horizon
        ORDER BY e.tx_id, e.seq LIMIT p_limit) x
     ORDER BY x.tx_id, x.seq LIMIT p_limit) p
   ORDER BY p.tx_id DESC, p.seq DESC LIMIT 1;
  matched := coalesce(matched, 0);
  IF matched < p_limit THEN
    SELECT e.tx_id, e.seq INTO last_tx, last_seq FROM public.events e
     WHERE e.tx_id < v_horizon ORDER BY e.tx_id DESC, e.seq DESC LIMIT 1;
    IF last_tx IS NULL OR (last_tx, last_seq) <= (p_after_tx, p_after_seq) THEN
      last_tx := NULL;
      last_seq := NULL;
      matched := 0;
    END IF;
  END IF;
END
$$;

-- One step of the projection runner for async projection p_name, in one statement (so one round
-- trip and one transaction): claim the lease (the row stays locked until the commit, so no other
-- instance takes the projection over mid-page), find the next gap-safe page (s3o_projection_page),
-- apply it with s3o_async_<p_name> and move the checkpoint. An idle claim still commits, to keep
-- the lease.
CREATE OR REPLACE FUNCTION s3o_projection_step(p_name text, p_owner text, p_lease_ms int, p_types text[], p_limit int,
  OUT owned boolean, OUT advanced boolean, OUT applied int, OUT more boolean)
LANGUAGE plpgsql AS $$
DECLARE
  v_tx xid8;
  v_seq bigint;
  v_last_tx xid8;
  v_last_seq bigint;
BEGIN
  advanced := false;
  applied := 0;
  more := false;
  UPDATE projection_checkpoints SET owner = p_owner, lease_until = now() + make_interval(secs => p_lease_ms / 1000.0), updated_at = now()
   WHERE name = p_name AND status = 'active' AND (owner IS NULL OR owner = p_owner OR lease_until < now())
  RETURNING tx_id, seq INTO v_tx, v_seq;
  owned := FOUND;
  IF NOT owned THEN
    RETURN;
  END IF;
  SELECT g.last_tx, g.last_seq, g.matched INTO v_last_tx, v_last_seq, applied FROM s3o_projection_page(v_tx, v_seq, p_types, p_limit) g;
  IF v_last_tx IS NULL THEN
    RETURN;
  END IF;
  more := applied >= p_limit;
  IF applied > 0 THEN
    EXECUTE format('SELECT %I($1, $2, $3, $4)', 's3o_async_' || p_name) USING v_tx, v_seq, v_last_tx, v_last_seq;
  END IF;
  UPDATE projection_checkpoints SET tx_id = v_last_tx, seq = v_last_seq, updated_at = now() WHERE name = p_name;
  advanced := true;
END
$$;
