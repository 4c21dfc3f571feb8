-- uploads, append-time handler: multipart uploads in progress and their parts. A part of an
-- upload that was completed or aborted meanwhile is refused, and so is a part stored on a backend
-- the upload has moved away from.
CREATE OR REPLACE FUNCTION s3o_proj_uploads(
  p_stream text, p_revision bigint, p_type text, p_data jsonb, p_meta jsonb, p_enforce boolean
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_upload text := p_data->>'uploadId';
BEGIN
  IF p_type = 'MultipartUploadCreated' THEN
    INSERT INTO multipart_uploads (upload_id, bucket, key, backend, backend_upload_id, storage_key,
                                   write_id, content_type, metadata, headers, initiated_at)
    VALUES (v_upload, p_data->>'bucket', p_data->>'key', p_data->>'backend', p_data->>'backendUploadId',
            p_data->>'storageKey', p_data->>'writeId', p_data->>'contentType', p_data->'metadata',
            p_data->'headers', (p_data->>'initiatedAt')::timestamptz);
  ELSIF p_type = 'PartUploaded' THEN
    -- Parts of an upload that was completed or aborted meanwhile are refused.
    IF p_enforce AND NOT EXISTS (SELECT 1 FROM multipart_uploads WHERE upload_id = v_upload) THEN
      RAISE EXCEPTION USING ERRCODE = 'S3Q03', MESSAGE = 'upload_open',
        DETAIL = json_build_object('uploadId', v_upload)::text;
    END IF;
    IF p_enforce AND NOT EXISTS (SELECT 1 FROM multipart_uploads WHERE upload_id = v_upload AND backend = p_data->>'backend') THEN
      RAISE EXCEPTION USING ERRCODE = 'S3Q04', MESSAGE = 'upload_moved',
        DETAIL = json_build_object('uploadId', v_upload, 'backend', p_data->>'backend')::text;
    END IF;
    INSERT INTO multipart_parts (upload_id, part_number, size, etag, backend_etag, checksum, uploaded_at)
    VALUES (v_upload, (p_data->>'partNumber')::int, (p_data->>'size')::bigint, p_data->>'etag',
            p_data->>'backendEtag', nullif(p_data->'checksum', 'null'::jsonb), s3o_event_time(p_meta))
    ON CONFLICT (upload_id, part_number) DO UPDATE SET size = EXCLUDED.size, etag = EXCLUDED.etag,
      backend_etag = EXCLUDED.backend_etag, checksum = EXCLUDED.checksum, uploaded_at = EXCLUDED.uploaded_at;
  ELSIF p_type = 'MultipartUploadMoved' THEN
    UPDATE multipart_uploads SET backend = p_data->>'backend', backend_upload_id = p_data->>'backendUploadId',
      storage_key = p_data->>'storageKey', write_id = p_data->>'writeId'
     WHERE upload_id = v_upload;
    -- The parts carried over get the new backend's ETags; any other part is gone.
    DELETE FROM multipart_parts p WHERE p.upload_id = v_upload AND NOT EXISTS (
      SELECT 1 FROM jsonb_to_recordset(p_data->'parts') AS m("partNumber" int) WHERE m."partNumber" = p.part_number);
    UPDATE multipart_parts p SET backend_etag = m."backendEtag"
      FROM jsonb_to_recordset(p_data->'parts') AS m("partNumber" int, "backendEtag" text)
     WHERE p.upload_id = v_upload AND p.part_number = m."partNumber";
  ELSIF p_type IN ('MultipartUploadCompleted', 'MultipartUploadAborted') THEN
    DELETE FROM multipart_parts WHERE upload_id = v_upload;
    DELETE FROM multipart_uploads WHERE upload_id = v_upload;
  END IF;
END
$$;
