import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../infra/telemetry/logger.js';
import { startStack, type TestStack } from '../support/orchestrator.js';

interface Line { audit?: boolean; msg: string; event?: string; request_id?: string; event_id?: string; status?: number; access_key_id?: string; key?: string }

describe('audit log', () => {
  let stack: TestStack;
  const raw: string[] = [];
  const audit = (): Line[] => raw.map((l) => JSON.parse(l) as Line).filter((l) => l.audit === true);

  beforeAll(async () => {
    const logger = createLogger('info', {}, { write: (line: string) => void raw.push(line) });
    stack = await startStack({ backends: [{ quota: 1_000_000 }, { quota: 1_000_000 }], start: { logger } });
  });
  afterAll(async () => stack?.stop());

  it('writes one line per S3 request and one per state change it recorded, sharing the request id and naming the event', async () => {
    const s3 = stack.client();
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'audited/one', Body: 'hello' }));
    await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'audited/one' })).then((r) => r.Body?.transformToString());
    const put = audit().find((l) => l.event === 's3.PutObject');
    expect(put).toMatchObject({ msg: 'audit', status: 200, access_key_id: 'ALPHAKEY', key: 'audited/one' });
    const written = audit().filter((l) => l.request_id === put?.request_id && l.event?.startsWith('storage.'));
    expect(written.map((l) => l.event)).toEqual(['storage.ObjectWritten']);
    const stored = await stack.db.pool.query<{ event_id: string; type: string }>(
      "SELECT event_id::text, type FROM events WHERE stream_id = 'object-alpha/audited/one'");
    expect(stored.rows).toEqual([{ event_id: written[0]?.event_id, type: 'ObjectWritten' }]);
    await expect.poll(() => audit().some((l) => l.event === 's3.GetObject' && l.status === 200)).toBe(true);
  });

  it('audits refused requests and drains, and never logs a secret', async () => {
    const wrong = new S3Client({
      endpoint: stack.url, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1,
      credentials: { accessKeyId: 'ALPHAKEY', secretAccessKey: 'not-the-secret' },
    });
    await expect(wrong.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'denied', Body: 'x' }))).rejects.toThrow();
    wrong.destroy();
    await expect.poll(() => audit().find((l) => l.event === 's3.AuthFailure')?.status).toBe(403);

    await stack.orchestrator.services.backendAdmin.startDrain('b1', { actor: 'operator:test', correlationId: 'drain-req-1' });
    const started = audit().find((l) => l.request_id === 'drain-req-1' && l.event === 'drain.BackendDrainStarted');
    const recorded = await stack.db.pool.query<{ event_id: string }>("SELECT event_id::text FROM events WHERE stream_id = 'backend-b1' AND type = 'BackendDrainStarted'");
    expect(started?.event_id).toBe(recorded.rows[0]?.event_id);

    const text = raw.join('');
    for (const secret of ['alpha-secret', 'beta-secret', 'not-the-secret', ...stack.stores.map((s) => s.secretAccessKey)]) expect(text).not.toContain(secret);
  });
});
