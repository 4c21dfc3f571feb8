/**
 * What an encrypted backend object is, from its bytes and the master keys alone: recovery
 * without the log (`s3o sync`, the reconciler). The whole object is read and every chunk
 * authenticated (StoredObjectDecryptStream), so only an object that decrypts completely is
 * described; the plaintext is hashed on its way (nothing is kept) to give back the facts its
 * original write recorded: the client's size, its ETag (the MD5, or for a multipart object the
 * S3 multipart ETag of its parts, one segment per part), its SHA-256 and the envelope.
 */
import { createHash, type Hash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { EncryptionEnvelope } from '../../domain/encryption/envelope.js';
import type { PartLayout } from '../../domain/events/common.js';
import type { BackendClient } from '../../infra/backend/index.js';
import { createStoredObjectDecryptStream, type Keyring } from '../../infra/crypto/index.js';
import { compositeSha256 } from '../../services/integrity/content-hash.js';

export interface StoredObjectFacts {
  envelope: EncryptionEnvelope;
  /** The client's bytes. */
  size: number;
  etag: string;
  contentSha256: string;
  /** One entry per part of a multipart object; null for a single PUT. */
  parts: PartLayout[] | null;
}

interface SegmentDigests {
  md5: Hash;
  sha256: Hash;
}

const discard = () => new Writable({ write: (_chunk, _encoding, done) => done() });

export async function describeStoredObject(client: BackendClient, storageKey: string, keyring: Keyring): Promise<StoredObjectFacts> {
  const digests: SegmentDigests[] = [];
  const digestsOf = (segment: number): SegmentDigests => (digests[segment] ??= { md5: createHash('md5'), sha256: createHash('sha256') });
  const decrypt = createStoredObjectDecryptStream(keyring, (segment, plain) => {
    const d = digestsOf(segment);
    d.md5.update(plain);
    d.sha256.update(plain);
  });
  const opened = await client.getObject(storageKey);
  await pipeline(opened.body, decrypt, discard());
  const envelope = decrypt.envelope();
  const segments = envelope.segments.map((s, i) => ({ ...s, md5: digestsOf(i).md5.digest(), sha256: digestsOf(i).sha256.digest('hex') }));
  const size = segments.reduce((n, s) => n + s.plainSize, 0);
  const single = segments.length === 1 && segments[0]?.partNumber === 0;
  if (single) {
    const only = segments[0] as (typeof segments)[number];
    return { envelope, size, etag: only.md5.toString('hex'), contentSha256: only.sha256, parts: null };
  }
  const etag = `${createHash('md5').update(Buffer.concat(segments.map((s) => s.md5))).digest('hex')}-${segments.length}`;
  return {
    envelope, size, etag,
    contentSha256: compositeSha256(segments.map((s) => s.sha256)) as string,
    parts: segments.map((s) => ({ partNumber: s.partNumber, size: s.plainSize, sha256: s.sha256 })),
  };
}
