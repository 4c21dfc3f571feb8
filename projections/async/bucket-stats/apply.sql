-- One page of bucket_stats, set-based: the ObjectWritten and ObjectDeleted events after
-- (p_after_tx, p_after_seq) up to (p_last_tx, p_last_seq) in the log's order, summed per bucket
-- and added to the rows in one statement. Data stored at an older version is lifted by the SQL
-- upcasters first (a version they cannot lift is refused, S3O03). plpgsql: its body refers to
-- functions the generated schema creates later, and its tables resolve through search_path at
-- run time (a rebuild's shadow copy).
CREATE OR REPLACE FUNCTION s3o_async_bucket_stats(p_after_tx xid8, p_after_seq bigint, p_last_tx xid8, p_last_seq bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO bucket_stats AS s (bucket, object_count, total_bytes)
  SELECT u.d->>'bucket',
         sum(CASE WHEN u.type = 'ObjectDeleted' THEN -1 WHEN u.d->'previousSize' = 'null'::jsonb THEN 1 ELSE 0 END),
         sum(CASE WHEN u.type = 'ObjectDeleted' THEN -(u.d->>'size')::bigint
                  ELSE (u.d->>'size')::bigint - coalesce((u.d->>'previousSize')::bigint, 0) END)
    FROM (SELECT e.type,
                 CASE WHEN e.schema_version = s3o_event_current_version(e.type) THEN e.data
                      ELSE s3o_upcast(e.type, e.schema_version, e.data) END AS d
            FROM public.events e
           WHERE (e.tx_id, e.seq) > (p_after_tx, p_after_seq) AND (e.tx_id, e.seq) <= (p_last_tx, p_last_seq)
             AND e.type IN ('ObjectWritten', 'ObjectDeleted')) u
   GROUP BY 1
  ON CONFLICT (bucket) DO UPDATE SET object_count = s.object_count + EXCLUDED.object_count,
                                     total_bytes = s.total_bytes + EXCLUDED.total_bytes;
END
$$;
