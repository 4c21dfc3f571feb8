-- locations, set-based replay: applies a run of ObjectWritten and ObjectDeleted events of the
-- replay page (pg_temp.s3o_replay_events, ords p_from..p_to) as s3o_proj_locations would one by
-- one. Within such a run an object's rows depend only on its last event: a write replaces the
-- objects row and the copies (revision 0 is a stream's first event: no copies to replace), a
-- delete removes both. Copy-level events are not in runs: the replay applies them one by one.
-- Its joins probe the tables by primary key for each object of the run: a hash join would read
-- the whole table once per run, and the run's temporary table has no statistics to tell.
CREATE OR REPLACE FUNCTION s3o_bulk_locations(p_from int, p_to int) RETURNS void LANGUAGE plpgsql
SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
  -- Emptied at each commit too (temporary tables are never vacuumed), and after each run.
  IF to_regclass('pg_temp.s3o_replay_objects') IS NULL THEN
    CREATE TEMP TABLE s3o_replay_objects (
      bucket text COLLATE "C", key text COLLATE "C", type text, revision bigint, events bigint, data jsonb, at timestamptz
    ) ON COMMIT DELETE ROWS;
  END IF;
  -- One sort: the run's events per object, latest first, and how many there are.
  INSERT INTO pg_temp.s3o_replay_objects
  SELECT x.bucket, x.key, x.type, x.revision, x.events, x.data, x.at
    FROM (SELECT e.data->>'bucket' AS bucket, e.data->>'key' AS key, e.type, e.revision, e.data, e.at,
                 row_number() OVER (w ORDER BY e.ord DESC) AS nth, count(*) OVER w AS events
            FROM pg_temp.s3o_replay_events e
           WHERE e.ord BETWEEN p_from AND p_to AND e.type IN ('ObjectWritten', 'ObjectDeleted')
          WINDOW w AS (PARTITION BY e.data->>'bucket', e.data->>'key')) x
   WHERE x.nth = 1;

  DELETE FROM object_copies c USING pg_temp.s3o_replay_objects l
   WHERE c.bucket = l.bucket AND c.key = l.key AND (l.type = 'ObjectDeleted' OR l.revision > 0 OR l.events > 1);
  DELETE FROM objects o USING pg_temp.s3o_replay_objects l
   WHERE o.bucket = l.bucket AND o.key = l.key AND l.type = 'ObjectDeleted';
  INSERT INTO objects AS o (bucket, key, write_id, size, etag, content_type, metadata, headers,
                            checksum, parts, last_modified, stream_revision, content_sha256, encryption)
  SELECT l.bucket, l.key, l.data->>'writeId', (l.data->>'size')::bigint, l.data->>'etag',
         l.data->>'contentType', l.data->'metadata', l.data->'headers',
         nullif(l.data->'checksum', 'null'::jsonb), nullif(l.data->'parts', 'null'::jsonb),
         (l.data->>'lastModified')::timestamptz, l.revision, l.data->>'contentSha256',
         nullif(l.data->'encryption', 'null'::jsonb)
    FROM pg_temp.s3o_replay_objects l WHERE l.type = 'ObjectWritten'
  ON CONFLICT (bucket, key) DO UPDATE SET
    write_id = EXCLUDED.write_id, size = EXCLUDED.size, etag = EXCLUDED.etag,
    content_type = EXCLUDED.content_type, metadata = EXCLUDED.metadata, headers = EXCLUDED.headers,
    checksum = EXCLUDED.checksum, parts = EXCLUDED.parts, last_modified = EXCLUDED.last_modified,
    stream_revision = EXCLUDED.stream_revision, content_sha256 = EXCLUDED.content_sha256,
    encryption = EXCLUDED.encryption;
  INSERT INTO object_copies (bucket, key, backend, storage_key, size, write_id, created_at)
  SELECT l.bucket, l.key, c.backend, c."storageKey", c.size, l.data->>'writeId', l.at
    FROM pg_temp.s3o_replay_objects l, jsonb_to_recordset(l.data->'copies') AS c(backend text, "storageKey" text, size bigint)
   WHERE l.type = 'ObjectWritten';
  DELETE FROM pg_temp.s3o_replay_objects;
END
$$;
