import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../infra/telemetry/logger.js';
import { startOrchestrator, type Orchestrator } from '../../ops/app.js';
import { parseOrThrow, startStack, type TestStack } from '../support/orchestrator.js';

/**
 * Where a GET and a PUT find the key's current version. A declared single writer answers from
 * the states it keeps after its own commits (no PostgreSQL round trip) and is never stale for its
 * own writes; without the declaration (several instances on one database) every lookup asks the
 * database, so a write through one instance is read through the other at once.
 */

const body = async (s3: S3Client, key: string): Promise<string> =>
  (await (await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key }))).Body?.transformToString()) ?? '';
const put = (s3: S3Client, key: string, text: string) => s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: text }));

describe('object lookups by a declared single writer', () => {
  let stack: TestStack;
  let lookups: () => number;

  beforeAll(async () => {
    stack = await startStack({ extraYaml: 'database:\n  single_writer: true' });
    const query = vi.spyOn(stack.db.pool, 'query');
    lookups = () => query.mock.calls.filter(([q]) => typeof q === 'object' && q !== null && (q as { name?: string }).name === 's3o-load-object').length;
  });
  afterAll(async () => stack?.stop());

  it('reads its own writes, overwrites and deletes without asking the database for the version', async () => {
    const s3 = stack.client();
    await put(s3, 'k', 'one');
    const afterFirstPut = lookups();
    expect(await body(s3, 'k')).toBe('one');
    await put(s3, 'k', 'two');
    expect(await body(s3, 'k')).toBe('two');
    expect(lookups()).toBe(afterFirstPut);
    await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: 'k' }));
    await expect(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'k' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
    await put(s3, 'k', 'three');
    expect(await body(s3, 'k')).toBe('three');
  });

  it('a PUT of a key it has not seen asks the database nothing: the key is presumed new', async () => {
    const s3 = stack.client();
    const before = lookups();
    await put(s3, 'fresh', 'new');
    expect(lookups()).toBe(before);
    expect(await body(s3, 'fresh')).toBe('new');
  });

  it('a PUT over a version it never saw (written by another process) is refused as new by the log, then decided on the database\'s state', async () => {
    const other = await startOrchestrator(parseOrThrow(stack.yaml()), { logger: createLogger('silent'), database: { pool: stack.db.pool } });
    try {
      await put(stack.client('alpha', { endpoint: other.url }), 'theirs', 'old');
    } finally {
      await other.stop();
    }
    const before = lookups();
    await put(stack.client(), 'theirs', 'mine');
    expect(lookups()).toBeGreaterThan(before);
    expect(await body(stack.client(), 'theirs')).toBe('mine');
    const written = (await stack.db.pool.query<{ data: { writeId: string; displaced: { storageKey: string }[] } }>(
      "SELECT data FROM events WHERE stream_id = 'object-alpha/theirs' AND type = 'ObjectWritten' ORDER BY revision",
    )).rows.map((r) => r.data);
    expect(written).toHaveLength(2);
    expect(written[1]?.displaced.map((d) => d.storageKey)).toEqual([expect.stringContaining(written[0]?.writeId ?? '?')]);
  });

  it('concurrent PUTs of one new key all presume it new: one commits as the first version, each other is refused and decided again until it displaces its predecessor', async () => {
    const texts = Array.from({ length: 8 }, (_, i) => `racer-${i}`);
    await Promise.all(texts.map((t) => put(stack.client(), 'race', t)));
    const written = (await stack.db.pool.query<{ data: { writeId: string; displaced: { storageKey: string }[] } }>(
      "SELECT data FROM events WHERE stream_id = 'object-alpha/race' AND type = 'ObjectWritten' ORDER BY revision",
    )).rows.map((r) => r.data);
    expect(written).toHaveLength(texts.length);
    expect(written[0]?.displaced).toEqual([]);
    written.slice(1).forEach((w, i) => expect(w.displaced.map((d) => d.storageKey)).toEqual([expect.stringContaining(written[i]?.writeId ?? '?')]));
    expect(texts).toContain(await body(stack.client(), 'race'));
  });

  it('a key it has not seen is looked up in the database (and found)', async () => {
    const before = lookups();
    await expect(stack.client().send(new GetObjectCommand({ Bucket: 'alpha', Key: 'never-written' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
    expect(lookups()).toBeGreaterThan(before);
  });
});

describe('object lookups by several instances on one database', () => {
  let stack: TestStack;
  let second: Orchestrator;

  beforeAll(async () => {
    stack = await startStack();
    second = await startOrchestrator(parseOrThrow(stack.yaml()), { logger: createLogger('silent'), database: { pool: stack.db.pool } });
  });
  afterAll(async () => {
    await second?.stop();
    await stack?.stop();
  });

  it('a write through either instance is read through the other at once', async () => {
    const a = stack.client();
    const b = stack.client('alpha', { endpoint: second.url });
    for (let round = 0; round < 5; round++) {
      await put(a, 'shared', `a${round}`);
      expect(await body(b, 'shared')).toBe(`a${round}`);
      await put(b, 'shared', `b${round}`);
      expect(await body(a, 'shared')).toBe(`b${round}`);
    }
    await b.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: 'shared' }));
    await expect(a.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'shared' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
  });
});
