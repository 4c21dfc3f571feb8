-- locations: integrity. The SHA-256 recorded for each version (ObjectWritten@2,
-- ChecksumBackfilled), and per copy when its bytes were last checked and whether that check
-- found them corrupt (CopyVerified, CopyCorrupted, CopyRepaired). The scrubber reads the copies
-- checked longest ago (or never) first.
ALTER TABLE objects ADD COLUMN content_sha256 text;
ALTER TABLE object_copies ADD COLUMN checked_at timestamptz, ADD COLUMN corrupt_since timestamptz;
CREATE INDEX object_copies_scrub_order ON object_copies (checked_at NULLS FIRST, created_at);
CREATE INDEX object_copies_corrupt ON object_copies (corrupt_since) WHERE corrupt_since IS NOT NULL;
