/**
 * The SQL twins of the upcasters in domain/events/catalog.ts, for the append and replays, which
 * project in the database: `<type>@<from version>` → an expression over `d` (the stored data at
 * that version, jsonb) giving the data one version up. Every TypeScript upcaster has its twin
 * (the schema refuses to build otherwise); give each pair a test that they agree, as
 * test/integration/event-versions.test.ts does for its test-only ObjectWritten@2.
 */
export const sqlUpcasters: Readonly<Record<string, string>> = {
  'ObjectWritten@1': `d || '{"contentSha256": null}'::jsonb`,
  'PartUploaded@1': `d || '{"sha256": null}'::jsonb`,
  'ObjectWritten@2': `d || '{"encryption": null}'::jsonb`,
  'MultipartUploadCreated@1': `d || '{"encryption": null}'::jsonb`,
  'PartUploaded@2': `d || jsonb_build_object('storedSize', d->'size', 'salt', null)`,
  'CopyCorrupted@1': `d || jsonb_build_object('reason', CASE WHEN d->'actualSha256' = 'null'::jsonb THEN 'missing' ELSE 'checksum-mismatch' END)`,
  'StoredBytesRewritten@1': `d || '{"previousKey": null}'::jsonb`,
};
