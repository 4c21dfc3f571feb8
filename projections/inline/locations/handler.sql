-- locations, append-time handler: the current version of each object (objects) and where its
-- copies are (object_copies). Copy-level events must refer to the current version.
CREATE OR REPLACE FUNCTION s3o_proj_locations(
  p_stream text, p_revision bigint, p_type text, p_data jsonb, p_meta jsonb, p_enforce boolean
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_bucket text := p_data->>'bucket';
  v_key text := p_data->>'key';
  v_current text;
  v_at timestamptz := s3o_event_time(p_meta);
BEGIN
  IF p_type NOT IN ('ObjectWritten', 'ReplicaAdded', 'ReplicaDropped', 'CopyMoved', 'ObjectDeleted',
                    'CopyVerified', 'CopyCorrupted', 'CopyRepaired', 'ChecksumBackfilled',
                    'StoredBytesRewritten', 'DataKeyRewrapped') THEN
    RETURN;
  END IF;

  IF p_type = 'ObjectWritten' THEN
    INSERT INTO objects AS o (bucket, key, write_id, size, etag, content_type, metadata, headers,
                              checksum, parts, last_modified, stream_revision, content_sha256, encryption)
    VALUES (v_bucket, v_key, p_data->>'writeId', (p_data->>'size')::bigint, p_data->>'etag',
            p_data->>'contentType', p_data->'metadata', p_data->'headers',
            nullif(p_data->'checksum', 'null'::jsonb), nullif(p_data->'parts', 'null'::jsonb),
            (p_data->>'lastModified')::timestamptz, p_revision, p_data->>'contentSha256',
            nullif(p_data->'encryption', 'null'::jsonb))
    ON CONFLICT (bucket, key) DO UPDATE SET
      write_id = EXCLUDED.write_id, size = EXCLUDED.size, etag = EXCLUDED.etag,
      content_type = EXCLUDED.content_type, metadata = EXCLUDED.metadata, headers = EXCLUDED.headers,
      checksum = EXCLUDED.checksum, parts = EXCLUDED.parts, last_modified = EXCLUDED.last_modified,
      stream_revision = EXCLUDED.stream_revision, content_sha256 = EXCLUDED.content_sha256,
      encryption = EXCLUDED.encryption;
    -- The first event of a stream has no copies to replace.
    IF p_revision > 0 THEN
      DELETE FROM object_copies WHERE bucket = v_bucket AND key = v_key;
    END IF;
    INSERT INTO object_copies (bucket, key, backend, storage_key, size, write_id, created_at)
    SELECT v_bucket, v_key, c.backend, c."storageKey", c.size, p_data->>'writeId', v_at
      FROM jsonb_to_recordset(p_data->'copies') AS c(backend text, "storageKey" text, size bigint);
    RETURN;
  END IF;

  IF p_type = 'ObjectDeleted' THEN
    DELETE FROM object_copies WHERE bucket = v_bucket AND key = v_key;
    DELETE FROM objects WHERE bucket = v_bucket AND key = v_key;
    RETURN;
  END IF;

  -- Copy-level events must refer to the current version; the writer's expected revision
  -- guarantees it, this is the last line of defence.
  SELECT write_id INTO v_current FROM objects WHERE bucket = v_bucket AND key = v_key FOR UPDATE;
  IF p_enforce AND v_current IS DISTINCT FROM p_data->>'writeId' THEN
    RAISE EXCEPTION USING ERRCODE = 'S3Q02', MESSAGE = 'copy_of_current_version',
      DETAIL = json_build_object('bucket', v_bucket, 'key', v_key, 'writeId', p_data->>'writeId')::text;
  END IF;
  UPDATE objects SET stream_revision = p_revision WHERE bucket = v_bucket AND key = v_key;

  IF p_type = 'ReplicaAdded' THEN
    INSERT INTO object_copies (bucket, key, backend, storage_key, size, write_id, created_at)
    VALUES (v_bucket, v_key, p_data->'copy'->>'backend', p_data->'copy'->>'storageKey',
            (p_data->'copy'->>'size')::bigint, p_data->>'writeId', v_at);
  ELSIF p_type = 'ReplicaDropped' THEN
    DELETE FROM object_copies
     WHERE bucket = v_bucket AND key = v_key AND backend = p_data->'copy'->>'backend';
  ELSIF p_type = 'CopyVerified' THEN
    UPDATE object_copies SET checked_at = v_at, corrupt_since = NULL
     WHERE bucket = v_bucket AND key = v_key AND backend = p_data->>'backend' AND storage_key = p_data->>'storageKey';
  ELSIF p_type = 'CopyCorrupted' THEN
    UPDATE object_copies SET checked_at = v_at, corrupt_since = coalesce(corrupt_since, v_at)
     WHERE bucket = v_bucket AND key = v_key AND backend = p_data->>'backend' AND storage_key = p_data->>'storageKey';
  ELSIF p_type = 'CopyRepaired' THEN
    DELETE FROM object_copies
     WHERE bucket = v_bucket AND key = v_key AND backend = p_data->'from'->>'backend';
    -- The repair verified the bytes it wrote: the new copy counts as checked now.
    INSERT INTO object_copies (bucket, key, backend, storage_key, size, write_id, created_at, checked_at)
    VALUES (v_bucket, v_key, p_data->'to'->>'backend', p_data->'to'->>'storageKey',
            (p_data->'to'->>'size')::bigint, p_data->>'writeId', v_at, v_at);
  ELSIF p_type = 'ChecksumBackfilled' THEN
    UPDATE objects o SET content_sha256 = p_data->>'contentSha256',
      parts = CASE WHEN o.parts IS NULL OR p_data->'parts' = 'null'::jsonb THEN o.parts ELSE (
        SELECT jsonb_agg(p || coalesce((SELECT jsonb_build_object('sha256', b->>'sha256')
                                          FROM jsonb_array_elements(p_data->'parts') b
                                         WHERE (b->>'partNumber')::int = (p->>'partNumber')::int), '{}'::jsonb)
                         ORDER BY i)
          FROM jsonb_array_elements(o.parts) WITH ORDINALITY AS x(p, i)) END
     WHERE bucket = v_bucket AND key = v_key;
  ELSIF p_type = 'StoredBytesRewritten' THEN
    -- Every copy replaced by new bytes on the same backends; the envelope follows the bytes.
    UPDATE objects SET encryption = nullif(p_data->'encryption', 'null'::jsonb) WHERE bucket = v_bucket AND key = v_key;
    DELETE FROM object_copies WHERE bucket = v_bucket AND key = v_key;
    INSERT INTO object_copies (bucket, key, backend, storage_key, size, write_id, created_at)
    SELECT v_bucket, v_key, c.backend, c."storageKey", c.size, p_data->>'writeId', v_at
      FROM jsonb_to_recordset(p_data->'copies') AS c(backend text, "storageKey" text, size bigint);
  ELSIF p_type = 'DataKeyRewrapped' THEN
    UPDATE objects SET encryption = jsonb_set(encryption, '{key}', p_data->'wrap')
     WHERE bucket = v_bucket AND key = v_key AND encryption IS NOT NULL;
  ELSIF p_type = 'CopyMoved' THEN
    DELETE FROM object_copies
     WHERE bucket = v_bucket AND key = v_key AND backend = p_data->'from'->>'backend';
    INSERT INTO object_copies (bucket, key, backend, storage_key, size, write_id, created_at)
    VALUES (v_bucket, v_key, p_data->'to'->>'backend', p_data->'to'->>'storageKey',
            (p_data->'to'->>'size')::bigint, p_data->>'writeId', v_at);
  END IF;
END
$$;
