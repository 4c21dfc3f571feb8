import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStorageInvariants } from '../support/backend-objects.js';
import { defaultBuckets, parseOrThrow, startStack, type TestStack } from '../support/orchestrator.js';

const day = 24 * 60 * 60 * 1000;

/**
 * Objects are written now, for real; the worker is asked what is expired at a later instant
 * (`runOnce(now)`: the worker's injectable clock). Nothing in the log or the projections is
 * back-dated, so the test exercises exactly the path production takes, one day later.
 */
describe('lifecycle expiration', () => {
  let stack: TestStack;
  const rules = (r: string) => `lifecycle:\n  interval: 24h\n  batch_size: 2\n  rules:\n${r}`;
  const initialRules = rules([
    '    - { prefix: "tmp/", expiration_days: 1 }',
    '    - { bucket: alpha, prefix: "logs/", expiration_days: 30 }',
  ].join('\n'));
  const buckets = [...defaultBuckets, { name: 'tmp', accessKeyId: 'TMPKEY', secretAccessKey: 'tmp-secret' }];
  const written = [
    'alpha/tmp/1', 'alpha/tmp/2', 'alpha/tmp/3', 'alpha/tmp/4', 'alpha/tmp/5', 'alpha/tmpfile', 'alpha/keep/tmp/x',
    'alpha/logs/1', 'beta/tmp/1', 'beta/logs/1', 'tmp/x', 'tmp/tmp/y',
  ];
  let oldest: number;
  let newest: number;

  const clients = new Map<string, S3Client>();
  const client = (bucket: string): S3Client => {
    let c = clients.get(bucket);
    if (!c) clients.set(bucket, (c = stack.client(bucket)));
    return c;
  };
  async function remaining(): Promise<string[]> {
    const all: string[] = [];
    for (const b of buckets) {
      const page = await client(b.name).send(new ListObjectsV2Command({ Bucket: b.name }));
      for (const o of page.Contents ?? []) all.push(`${b.name}/${o.Key}`);
    }
    return all.sort();
  }

  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 1_000_000 }, { quota: 1_000_000 }], buckets, extraYaml: initialRules });
    for (const path of written) {
      const [bucket, ...rest] = path.split('/');
      await client(bucket as string).send(new PutObjectCommand({ Bucket: bucket, Key: rest.join('/'), Body: `body of ${path}` }));
    }
    const r = await stack.db.pool.query<{ oldest: Date; newest: Date }>('SELECT min(last_modified) AS oldest, max(last_modified) AS newest FROM objects');
    oldest = (r.rows[0]?.oldest as Date).getTime();
    newest = (r.rows[0]?.newest as Date).getTime();
  });
  afterAll(async () => stack?.stop());

  it('deletes nothing before the expiration', async () => {
    // Exactly one day after the oldest write: nothing is *older* than a day yet.
    const report = await stack.orchestrator.workers.lifecycle.runOnce(new Date(oldest + day));
    expect(report).toEqual({ deleted: 0, skipped: 0, failed: 0 });
    expect(await remaining()).toEqual([...written].sort());
  });

  it('deletes exactly the keys inside a bucket that a rule matches, across pages', async () => {
    const report = await stack.orchestrator.workers.lifecycle.runOnce(new Date(newest + day + 1));
    // Not alpha/tmpfile or alpha/keep/tmp/x (prefix), not tmp/x (bucket "tmp", key "x": the
    // original matched "tmp/" against the internal "tmp/x"), not the 30-day logs.
    const expired = ['alpha/tmp/1', 'alpha/tmp/2', 'alpha/tmp/3', 'alpha/tmp/4', 'alpha/tmp/5', 'beta/tmp/1', 'tmp/tmp/y'];
    expect(report).toEqual({ deleted: expired.length, skipped: 0, failed: 0 });
    expect(await remaining()).toEqual(written.filter((k) => !expired.includes(k)).sort());

    const events = await stack.db.pool.query<{ stream_id: string; data: { reason: string }; actor: string }>(
      `SELECT stream_id, data, metadata->>'actor' AS actor FROM events WHERE type = 'ObjectDeleted' ORDER BY stream_id`,
    );
    expect(events.rows.map((e) => e.stream_id)).toEqual(expired.map((k) => `object-${k}`).sort());
    expect(new Set(events.rows.map((e) => `${e.data.reason} ${e.actor}`))).toEqual(new Set(['lifecycle system:lifecycle']));
    await expectStorageInvariants(stack);
  });

  it('restricts a rule to its bucket', async () => {
    const report = await stack.orchestrator.workers.lifecycle.runOnce(new Date(newest + 30 * day + 1));
    expect(report?.deleted).toBe(1);
    expect(await remaining()).toEqual(['alpha/keep/tmp/x', 'alpha/tmpfile', 'beta/logs/1', 'tmp/x']);
  });

  it('deletes only the version it selected, never one written after', async () => {
    const { objects } = stack.orchestrator.services;
    const current = await objects.load('alpha', 'tmpfile');
    const cause = { actor: 'system:lifecycle' };
    expect(await objects.delete('alpha', 'tmpfile', 'lifecycle', cause, { expectedWriteId: '01ARZ3NDEKTSV4RRFFQ69G5FAV' })).toBeUndefined();
    expect((await objects.load('alpha', 'tmpfile')).current?.writeId).toBe(current.current?.writeId);
  });

  it('applies reloaded rules at the next run', async () => {
    const next = parseOrThrow(stack.yaml(rules([
      '    - { bucket: beta, prefix: "logs/", expiration_days: 30 }',
      '    - { bucket: tmp, prefix: "x", expiration_days: 2 }',
    ].join('\n'))));
    const result = await stack.orchestrator.reload(next);
    expect(result.restartRequired).toEqual([]);
    expect(result.applied.every((path) => path.startsWith('lifecycle.rules'))).toBe(true);
    const report = await stack.orchestrator.workers.lifecycle.runOnce(new Date(newest + 30 * day + 1));
    expect(report?.deleted).toBe(2);
    expect(await remaining()).toEqual(['alpha/keep/tmp/x', 'alpha/tmpfile']);
    await expectStorageInvariants(stack);
  });
});
