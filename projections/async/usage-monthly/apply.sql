-- One page of usage_monthly, set-based: the UsageFlushed events after (p_after_tx, p_after_seq)
-- up to (p_last_tx, p_last_seq) in the log's order, summed per backend and month and added to the
-- rows in one statement. Data stored at an older version goes through the SQL upcasters (a version
-- they cannot lift is refused, S3O03). plpgsql for the reasons given in bucket_stats' apply.sql.
CREATE OR REPLACE FUNCTION s3o_async_usage_monthly(p_after_tx xid8, p_after_seq bigint, p_last_tx xid8, p_last_seq bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO usage_monthly AS m (backend, period, api_requests, egress_bytes, ingress_bytes)
  SELECT u.d->>'backend', u.d->>'period', sum((u.d->>'apiRequests')::bigint),
         sum((u.d->>'egressBytes')::bigint), sum((u.d->>'ingressBytes')::bigint)
    FROM (SELECT CASE WHEN e.schema_version = s3o_event_current_version(e.type) THEN e.data
                      ELSE s3o_upcast(e.type, e.schema_version, e.data) END AS d
            FROM public.events e
           WHERE (e.tx_id, e.seq) > (p_after_tx, p_after_seq) AND (e.tx_id, e.seq) <= (p_last_tx, p_last_seq)
             AND e.type = 'UsageFlushed') u
   GROUP BY 1, 2
  ON CONFLICT (backend, period) DO UPDATE SET api_requests = m.api_requests + EXCLUDED.api_requests,
    egress_bytes = m.egress_bytes + EXCLUDED.egress_bytes, ingress_bytes = m.ingress_bytes + EXCLUDED.ingress_bytes;
END
$$;
