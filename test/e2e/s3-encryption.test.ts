import { randomBytes } from 'node:crypto';
import {
  CopyObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CHUNK_TAG_BYTES } from '../../domain/encryption/layout.js';
import { decodeEvent } from '../../domain/events/codec.js';
import { describeObjectEvent } from '../../domain/objects/object-history.js';
import { syncScope } from '../../processes/reconcile/import-scope.js';
import { UntrackedImporter } from '../../processes/reconcile/untracked-importer.js';
import { describeOnEachBackend } from '../support/each-backend.js';
import { startStack, type TestStack } from '../support/orchestrator.js';
import { storeClient, type BackendStore } from '../support/backend-stores.js';
import { expectConsistent, failure, md5Hex } from '../support/s3-e2e.js';

const CHUNK = 4096;
const MARKER = 'PLAINTEXT-MARKER-7f3a';
const bytesOf = async (p: Promise<{ Body?: unknown }>): Promise<Buffer> =>
  Buffer.from(await ((await p).Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());

/** `size` bytes that repeat the marker, so any stored plaintext shows. */
function marked(size: number, seed: number): Buffer {
  const unit = Buffer.from(`${MARKER}:${seed}:`);
  const out = Buffer.alloc(size);
  for (let at = 0; at < size; at += unit.length) unit.copy(out, at, 0, Math.min(unit.length, size - at));
  return out;
}

const encryptionYaml = (key: string) => ['encryption:', '  enabled: true', `  master_key: "${key}"`, `  chunk_size: ${CHUNK}`].join('\n');
const metricsYaml = 'telemetry:\n  metrics:\n    enabled: true';

interface CopyRow { backend: string; storage_key: string; size: string }

/** Encryption at rest through the S3 API: what clients see is their bytes; what backends hold is ciphertext. */
describeOnEachBackend('S3 with encryption at rest', (on) => {
  let stack: TestStack;
  let s3: S3Client;
  const key = randomBytes(32).toString('base64');
  const objects = new Map<string, Buffer>([
    ['small', marked(1000, 1)],
    ['chunks', marked(5 * CHUNK + 123, 2)],
    ['exact', marked(3 * CHUNK, 3)],
    ['empty', Buffer.alloc(0)],
    // Above small_body_buffer: streamed to the backend.
    ['streamed', marked(300_000, 4)],
  ]);

  beforeAll(async () => {
    stack = await startStack({
      backends: [{ quota: 0 }, { quota: 0 }], serverYaml: '  small_body_buffer: 64KiB', on,
      extraYaml: `${encryptionYaml(key)}\nreplication:\n  factor: 2\n  write_copies: 2\n${metricsYaml}`,
    });
    s3 = stack.client('alpha');
    for (const [name, data] of objects) await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: name, Body: data }));
  });
  afterAll(async () => stack?.stop());

  const copiesOf = async (name: string): Promise<CopyRow[]> =>
    (await stack.db.pool.query<CopyRow>('SELECT backend, storage_key, size FROM object_copies WHERE bucket = $1 AND key = $2 ORDER BY backend', ['alpha', name])).rows;
  const storeOf = (backend: string): BackendStore => stack.stores[stack.config.backends.findIndex((b) => b.name === backend)] as BackendStore;
  const rawGet = async (copy: CopyRow): Promise<Buffer> => {
    const store = storeOf(copy.backend);
    const client = storeClient(store);
    try {
      return await bytesOf(client.send(new GetObjectCommand({ Bucket: store.bucket, Key: copy.storage_key })));
    } finally {
      client.destroy();
    }
  };
  const rawPut = async (copy: CopyRow, body: Buffer): Promise<void> => {
    const store = storeOf(copy.backend);
    const client = storeClient(store);
    try {
      await client.send(new PutObjectCommand({ Bucket: store.bucket, Key: copy.storage_key, Body: body }));
    } finally {
      client.destroy();
    }
  };
  const metricLines = async (family: string): Promise<string> =>
    (await (await fetch(stack.orchestrator.metricsUrl as string)).text()).split('\n').filter((l) => l.startsWith(family)).join('\n');
  const get = (name: string, range?: string) => s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: name, ...(range ? { Range: range } : {}) }));

  it('GET, HEAD and listings show the client bytes, size and MD5 ETag; every backend copy is ciphertext without the marker', async () => {
    for (const [name, data] of objects) {
      const got = await get(name);
      expect(got.ETag, name).toBe(`"${md5Hex(data)}"`);
      expect(got.ContentLength, name).toBe(data.length);
      expect((await bytesOf(Promise.resolve(got))).equals(data), name).toBe(true);
      expect((await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: name }))).ContentLength, name).toBe(data.length);
      const copies = await copiesOf(name);
      expect(copies.map((c) => c.backend), name).toEqual(['b1', 'b2']);
      for (const copy of copies) {
        const stored = await rawGet(copy);
        expect(stored.length, name).toBe(Number(copy.size));
        expect(stored.length, name).toBeGreaterThan(data.length);
        expect(stored.subarray(0, 4).toString('latin1')).toBe('SENC');
        expect(stored.includes(MARKER), `${name} on ${copy.backend}`).toBe(false);
      }
    }
    expect(await metricLines('s3o_encryption_operations_total')).toMatch(/^s3o_encryption_operations_total\{operation="decrypt"\} [1-9]\d*$/m);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha' }));
    expect(Object.fromEntries((listed.Contents ?? []).map((o) => [o.Key, o.Size]))).toEqual(Object.fromEntries([...objects].map(([k, v]) => [k, v.length])));
    // Usage counts what is stored: the ciphertext.
    await expectConsistent(stack);
  });

  it('the write records its key facts: format, chunk size, key fingerprint and alias, never the data key in clear', async () => {
    const row = await stack.db.pool.query<{ data: { encryption: Record<string, unknown> & { key: Record<string, string> } } }>(
      "SELECT data FROM events WHERE stream_id = 'object-alpha/chunks' AND type = 'ObjectWritten'",
    );
    const envelope = row.rows[0]?.data.encryption;
    expect(envelope).toMatchObject({ format: 2, chunkSize: CHUNK, key: { keyAlias: 'config-0', wrapScheme: 'aes256-kw' } });
    expect(envelope?.key.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(JSON.stringify(row.rows)).not.toContain(key);
  });

  it('ranges at and across chunk boundaries fetch only the covered chunks and return exactly those bytes', async () => {
    const data = objects.get('chunks') as Buffer;
    const ranges: [number, number][] = [
      [0, 0], [CHUNK - 1, CHUNK], [CHUNK, 2 * CHUNK - 1], [CHUNK - 1, 3 * CHUNK], [5 * CHUNK, 5 * CHUNK + 122],
      [5 * CHUNK - 1, 5 * CHUNK + 122], [data.length - 1, data.length - 1], [100, 3 * CHUNK + 17],
    ];
    for (const [start, end] of ranges) {
      const got = await get('chunks', `bytes=${start}-${end}`);
      expect(got.ContentRange).toBe(`bytes ${start}-${end}/${data.length}`);
      expect((await bytesOf(Promise.resolve(got))).equals(data.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
    }
    const suffix = await get('chunks', 'bytes=-5000');
    expect((await bytesOf(Promise.resolve(suffix))).equals(data.subarray(-5000))).toBe(true);
    const big = objects.get('streamed') as Buffer;
    const mid = await get('streamed', 'bytes=150000-200000');
    expect((await bytesOf(Promise.resolve(mid))).equals(big.subarray(150_000, 200_001))).toBe(true);
  });

  it('CopyObject of an encrypted object is a new encrypted version with the same bytes and ETag', async () => {
    const data = objects.get('chunks') as Buffer;
    const res = await s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'copied', CopySource: 'alpha/chunks' }));
    expect(res.CopyObjectResult?.ETag).toBe(`"${md5Hex(data)}"`);
    expect((await bytesOf(get('copied'))).equals(data)).toBe(true);
    for (const copy of await copiesOf('copied')) expect((await rawGet(copy)).includes(MARKER)).toBe(false);
  });

  it('a copy whose ciphertext was tampered with is never served: the read fails over to the other copy and counts it', async () => {
    const data = objects.get('chunks') as Buffer;
    const [first] = await copiesOf('chunks');
    if (!first) throw new Error('no copy');
    const stored = await rawGet(first);
    const flipped = Buffer.from(stored);
    flipped[stored.length - 100] = (flipped[stored.length - 100] as number) ^ 1;
    await rawPut(first, flipped);
    const before = await metricLines('s3o_encryption_errors_total');
    // The damage is in the last chunk: a range over it reads the other copy.
    const tail = await get('chunks', `bytes=${data.length - 50}-${data.length - 1}`);
    expect((await bytesOf(Promise.resolve(tail))).equals(data.subarray(-50))).toBe(true);
    const after = await metricLines('s3o_encryption_errors_total');
    expect(after).not.toBe(before);
    expect(after).toContain('s3o_encryption_errors_total{problem="authentication"}');
    await rawPut(first, stored);
  });

  it('a copy failing authentication on a GET is recorded (CopyCorrupted, reason ciphertext-authentication) and replaced from the healthy copy', async () => {
    const data = marked(3 * CHUNK + 5, 7);
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'repairable', Body: data }));
    const [bad, good] = await copiesOf('repairable');
    if (!bad || !good) throw new Error('two copies expected');
    const stored = await rawGet(bad);
    const flipped = Buffer.from(stored);
    flipped[stored.length - 3 * (CHUNK + CHUNK_TAG_BYTES) - 20] = (flipped[stored.length - 3 * (CHUNK + CHUNK_TAG_BYTES) - 20] as number) ^ 4;
    await rawPut(bad, flipped);
    const eventsOf = async () => (await stack.db.pool.query<{ type: string; schema_version: number; data: Record<string, unknown> }>(
      "SELECT type, schema_version, data FROM events WHERE stream_id = 'object-alpha/repairable' ORDER BY revision",
    )).rows;
    // Whichever copy a GET reads first, it never gets the damaged bytes; reading the bad one records it.
    await expect.poll(async () => {
      expect((await bytesOf(get('repairable'))).equals(data)).toBe(true);
      return (await eventsOf()).map((e) => e.type);
    }, { timeout: 30_000, interval: 200 }).toContain('CopyRepaired');
    const events = await eventsOf();
    const corrupted = events.find((e) => e.type === 'CopyCorrupted');
    expect(corrupted).toMatchObject({ schema_version: 2, data: { backend: bad.backend, component: 'read', reason: 'ciphertext-authentication', actualSha256: null } });
    const decoded = decodeEvent('CopyCorrupted', 2, corrupted?.data);
    expect(decoded && describeObjectEvent(decoded)).toContain('its ciphertext failed authentication');
    // The repair copied the healthy ciphertext as it is; both copies read.
    const repaired = await copiesOf('repairable');
    expect(repaired).toHaveLength(2);
    for (const copy of repaired) expect((await rawGet(copy)).equals(await rawGet(good)), copy.backend).toBe(true);
    expect((await bytesOf(get('repairable'))).equals(data)).toBe(true);
  });

  it('flipped, swapped, duplicated and truncated chunks on every copy: an error, never wrong bytes', async () => {
    const data = objects.get('exact') as Buffer;
    const copies = await copiesOf('exact');
    const stored = await rawGet(copies[0] as CopyRow);
    const header = stored.length - 3 * (CHUNK + CHUNK_TAG_BYTES);
    const chunk = (i: number) => stored.subarray(header + i * (CHUNK + CHUNK_TAG_BYTES), header + (i + 1) * (CHUNK + CHUNK_TAG_BYTES));
    const flipped = Buffer.from(stored);
    flipped[header + 10] = (flipped[header + 10] as number) ^ 0x80;
    // Each with a range that covers the damage (a range elsewhere rightly reads intact chunks).
    const damaged: Record<string, [Buffer, string]> = {
      flipped: [flipped, 'bytes=0-10'],
      swapped: [Buffer.concat([stored.subarray(0, header), chunk(1), chunk(0), chunk(2)]), `bytes=0-${CHUNK + 5}`],
      duplicated: [Buffer.concat([stored.subarray(0, header), chunk(0), chunk(0), chunk(2)]), `bytes=${CHUNK - 5}-${CHUNK + 5}`],
      truncated: [Buffer.concat([stored.subarray(0, header), chunk(0), chunk(1)]), `bytes=${CHUNK}-${3 * CHUNK - 1}`],
    };
    try {
      for (const [how, [bytes, range]] of Object.entries(damaged)) {
        for (const copy of copies) await rawPut(copy, bytes);
        const full = await failure(bytesOf(get('exact')));
        expect(full.status, how).toBe(500);
        // A truncated copy may also be refused by the backend itself (the range starts past its end): 503.
        const ranged = await failure(bytesOf(get('exact', range)));
        expect(ranged.status, how).toBeGreaterThanOrEqual(500);
      }
    } finally {
      for (const copy of copies) await rawPut(copy, stored);
    }
    expect((await bytesOf(get('exact'))).equals(data)).toBe(true);
  });

  it('without the encryption keys, s3o sync does not take encrypted backend bytes for an object: it imports plaintext and skips ciphertext', async () => {
    const [copy] = await copiesOf('small');
    if (!copy) throw new Error('no copy');
    const foreign = { ...copy, storage_key: 'foreign-encrypted.bin' };
    await rawPut(foreign, await rawGet(copy));
    await rawPut({ ...copy, storage_key: 'foreign-plain.txt' }, Buffer.from('plain foreign bytes'));
    const s = stack.orchestrator.services;
    const importer = new UntrackedImporter(s.pool, s.store, s.events, s.backends, s.orphans, s.logger);
    const report = await importer.scan(copy.backend, {
      prefix: 'foreign-', scope: syncScope('alpha', ['alpha', 'beta']), dryRun: false, now: new Date(), cause: { actor: 'operator:sync' },
    });
    expect(report).toMatchObject({ imported: 1, skipped: { encrypted: 1 } });
    expect((await bytesOf(get('foreign-plain.txt'))).toString()).toBe('plain foreign bytes');
    expect((await failure(bytesOf(get('foreign-encrypted.bin')))).status).toBe(404);
  });

  it('after a restart with another master key, reads are a clear error naming the missing key, counted', async () => {
    await stack.restart(`${encryptionYaml(randomBytes(32).toString('base64'))}\nreplication:\n  factor: 2\n  write_copies: 2\n${metricsYaml}`);
    s3 = stack.client('alpha');
    const err = await failure(bytesOf(get('small')));
    expect(err).toMatchObject({ name: 'KMS.NotFoundException', status: 500 });
    expect(await metricLines('s3o_encryption_unknown_key_id_total')).toMatch(/ [1-9]\d*$/m);
    // With the old key back as a previous key, everything reads again.
    await stack.restart([encryptionYaml(randomBytes(32).toString('base64')), `  previous_keys: ["${key}"]`, 'replication:\n  factor: 2\n  write_copies: 2', metricsYaml].join('\n'));
    s3 = stack.client('alpha');
    for (const [name, data] of objects) expect((await bytesOf(get(name))).equals(data), name).toBe(true);
  });
});
