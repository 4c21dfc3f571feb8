-- locations, set-based append: applies a run of ObjectWritten or CopyMoved events
-- (s3o_project_inline_group), every object distinct, as s3o_proj_locations would one by one. Two
-- events of one object cannot be told apart here: they fail (a row affected twice, a duplicate
-- copy, fewer objects moved than events) and the events are applied one at a time instead.
DROP FUNCTION IF EXISTS s3o_group_locations(text, bigint[], jsonb[], jsonb[]);

CREATE OR REPLACE FUNCTION s3o_group_locations(
  p_type text, p_streams text[], p_revisions bigint[], p_data jsonb[], p_meta jsonb[]
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_moved int;
BEGIN
  IF p_type = 'CopyMoved' THEN
    -- Each move is of its object's current version (the handler's last line of defence): an
    -- object whose version is another is not updated, and the run raises; one by one then names it.
    UPDATE objects o SET stream_revision = e.r
      FROM unnest(p_data, p_revisions) AS e(d, r)
     WHERE o.bucket = e.d->>'bucket' AND o.key = e.d->>'key' AND o.write_id = e.d->>'writeId';
    GET DIAGNOSTICS v_moved = ROW_COUNT;
    IF v_moved <> array_length(p_data, 1) THEN
      RAISE EXCEPTION 'locations: a move not of its object''s current version, or two of one object';
    END IF;
    DELETE FROM object_copies c
     USING unnest(p_data) AS e(d)
     WHERE c.bucket = e.d->>'bucket' AND c.key = e.d->>'key' AND c.backend = e.d->'from'->>'backend';
    INSERT INTO object_copies (bucket, key, backend, storage_key, size, write_id, created_at)
    SELECT e.d->>'bucket', e.d->>'key', e.d->'to'->>'backend', e.d->'to'->>'storageKey',
           (e.d->'to'->>'size')::bigint, e.d->>'writeId', s3o_event_time(e.m)
      FROM unnest(p_data, p_meta) WITH ORDINALITY AS e(d, m, k) ORDER BY e.k;
    RETURN;
  ELSIF p_type <> 'ObjectWritten' THEN
    RAISE EXCEPTION 'locations has no set-based append for %', p_type;
  END IF;
  INSERT INTO objects AS o (bucket, key, write_id, size, etag, content_type, metadata, headers,
                            checksum, parts, last_modified, stream_revision, content_sha256, encryption)
  SELECT e.d->>'bucket', e.d->>'key', e.d->>'writeId', (e.d->>'size')::bigint, e.d->>'etag',
         e.d->>'contentType', e.d->'metadata', e.d->'headers',
         nullif(e.d->'checksum', 'null'::jsonb), nullif(e.d->'parts', 'null'::jsonb),
         (e.d->>'lastModified')::timestamptz, e.r, e.d->>'contentSha256',
         nullif(e.d->'encryption', 'null'::jsonb)
    FROM unnest(p_data, p_revisions) AS e(d, r)
  ON CONFLICT (bucket, key) DO UPDATE SET
    write_id = EXCLUDED.write_id, size = EXCLUDED.size, etag = EXCLUDED.etag,
    content_type = EXCLUDED.content_type, metadata = EXCLUDED.metadata, headers = EXCLUDED.headers,
    checksum = EXCLUDED.checksum, parts = EXCLUDED.parts, last_modified = EXCLUDED.last_modified,
    stream_revision = EXCLUDED.stream_revision, content_sha256 = EXCLUDED.content_sha256,
    encryption = EXCLUDED.encryption;
  -- The first event of a stream has no copies to replace.
  FOR i IN 1 .. array_length(p_revisions, 1) LOOP
    IF p_revisions[i] > 0 THEN
      DELETE FROM object_copies WHERE bucket = p_data[i]->>'bucket' AND key = p_data[i]->>'key';
    END IF;
  END LOOP;
  INSERT INTO object_copies (bucket, key, backend, storage_key, size, write_id, created_at)
  SELECT e.d->>'bucket', e.d->>'key', c.backend, c."storageKey", c.size, e.d->>'writeId', s3o_event_time(e.m)
    FROM unnest(p_data, p_meta) AS e(d, m),
         jsonb_to_recordset(e.d->'copies') AS c(backend text, "storageKey" text, size bigint);
END
$$;
