import { createHash, randomBytes } from 'node:crypto';
import { CopyObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flipBitOnDisk } from '../support/corrupt-on-disk.js';
import { startStack, type TestStack } from '../support/orchestrator.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const yaml = [
  'telemetry:\n  metrics:\n    enabled: true',
  'replication:\n  factor: 2\n  write_copies: 2\n  worker_interval: 1h',
  'integrity:\n  enabled: true\n  scrubber_interval: 0',
].join('\n');

describe('CopyObject with integrity on: the source is checked against its SHA-256 while it is copied', () => {
  let stack: TestStack;
  const rows = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => (await stack.db.pool.query(sql, params)).rows as T[];
  const copies = (key: string) => rows<{ backend: string; storage_key: string }>(
    "SELECT backend, storage_key FROM object_copies WHERE bucket = 'alpha' AND key = $1 ORDER BY backend", [key]);
  const corruptions = async (key: string) => (await rows<{ data: { backend: string; component: string } }>(
    "SELECT data FROM events WHERE stream_id = $1 AND type = 'CopyCorrupted' ORDER BY revision", [`object-alpha/${key}`])).map((r) => [r.data.backend, r.data.component]);

  async function corruptOnDisk(key: string, backend: 'b1' | 'b2'): Promise<void> {
    const copy = (await copies(key)).find((c) => c.backend === backend)!;
    await flipBitOnDisk(stack.s3rvers[backend === 'b1' ? 0 : 1]!, copy.storage_key);
  }
  async function put(key: string, size: number): Promise<Buffer> {
    const body = randomBytes(size);
    await stack.client().send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: body }));
    expect((await copies(key)).map((c) => c.backend)).toEqual(['b1', 'b2']);
    return body;
  }
  const copy = (from: string, to: string) => stack.client().send(new CopyObjectCommand({ Bucket: 'alpha', Key: to, CopySource: `alpha/${from}` }));

  beforeAll(async () => {
    stack = await startStack({ backends: [{}, {}], extraYaml: yaml, serverYaml: '  small_body_buffer: 64KiB' });
  });
  afterAll(async () => stack?.stop());

  it('a corrupt source copy (streamed, larger than small_body_buffer) is recorded and the copy is made from the healthy one', async () => {
    const body = await put('source', 300_000);
    await corruptOnDisk('source', 'b1');
    await copy('source', 'copied');
    const read = await stack.client().send(new GetObjectCommand({ Bucket: 'alpha', Key: 'copied' }));
    expect(sha256(Buffer.from(await read.Body!.transformToByteArray()))).toBe(sha256(body));
    expect(await rows("SELECT content_sha256 FROM objects WHERE bucket = 'alpha' AND key = 'copied'")).toEqual([{ content_sha256: sha256(body) }]);
    await expect.poll(() => corruptions('source')).toEqual([['b1', 'read']]);
  });

  it('with every source copy corrupt the copy is refused (503) and no object is written', async () => {
    await put('rotten', 5000);
    await corruptOnDisk('rotten', 'b1');
    await corruptOnDisk('rotten', 'b2');
    await expect(copy('rotten', 'never')).rejects.toMatchObject({ $metadata: { httpStatusCode: 503 } });
    expect(await rows("SELECT key FROM objects WHERE bucket = 'alpha' AND key = 'never'")).toEqual([]);
    await expect.poll(async () => (await corruptions('rotten')).map(([b]) => b).sort()).toEqual(['b1', 'b2']);
  });
});
