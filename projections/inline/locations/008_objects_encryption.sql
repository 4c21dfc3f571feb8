-- The encryption envelope of each current version (format, chunk size, key fingerprint and alias,
-- wrapped data key, segments); null for plaintext. ObjectWritten@2 carries it.
ALTER TABLE objects ADD COLUMN encryption jsonb;
