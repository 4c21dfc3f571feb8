import http from 'node:http';
import { Writable } from 'node:stream';
import { CreateMultipartUploadCommand, GetObjectCommand, PutObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeOnEachBackend } from '../support/each-backend.js';
import { startStack, type TestStack } from '../support/orchestrator.js';
import { patternBytes, settleCleanup } from '../support/s3-e2e.js';

const MiB = 1024 * 1024;
const closedMessage = 'connection closed before the response was complete';

interface LogLine { level: number; msg: string; err?: unknown; stack?: unknown; requestId?: string }

/** The orchestrator's log, line by line, with a way to wait for lines to appear. */
class LogCapture extends Writable {
  readonly lines: LogLine[] = [];
  private waiters: { ready: () => boolean; wake: () => void }[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    for (const text of chunk.toString('utf8').split('\n')) if (text) this.lines.push(JSON.parse(text) as LogLine);
    this.waiters = this.waiters.filter((w) => (w.ready() ? (w.wake(), false) : true));
    callback();
  }

  /** Resolves once `count` lines with this message have been logged. */
  until(msg: string, count: number): Promise<void> {
    const ready = () => this.lines.filter((l) => l.msg === msg).length >= count;
    return ready() ? Promise.resolve() : new Promise((wake) => this.waiters.push({ ready, wake }));
  }

  /** Lines at info or above (pino: info 30, warn 40, error 50). */
  visible(): LogLine[] {
    return this.lines.filter((l) => l.level >= 30);
  }
}

/** A presigned PUT with `Expect: 100-continue`: resolves once admitted and `sent` bytes of the body are on their way. */
function startUpload(url: string, declared: number, sent: Buffer): Promise<http.ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'PUT', agent: false, headers: { 'content-length': String(declared), expect: '100-continue' } });
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    req.on('response', (res) => reject(new Error(`answered ${res.statusCode} before the body`)));
    req.on('continue', () => req.write(sent, () => resolve(req)));
    req.flushHeaders();
  });
}

/** Issue 8: a client-aborted request is logged once, at info, without a stack (it was an error with a stack). */
describeOnEachBackend('requests the client abandons', (on) => {
  let stack: TestStack;
  let s3: S3Client;
  const log = new LogCapture();

  beforeAll(async () => {
    stack = await startStack({ on, start: { logger: pino({ level: 'debug' }, log) } });
    s3 = stack.client('alpha');
  });
  afterAll(async () => stack?.stop());
  beforeEach(() => {
    log.lines.length = 0;
  });

  const presignedPut = (key: string): Promise<string> => getSignedUrl(s3, new PutObjectCommand({ Bucket: 'alpha', Key: key }), { expiresIn: 600 });

  /** Exactly `count` info lines saying the connection closed, each without an error or stack, and nothing at warn or above. */
  async function expectOneInfoLineEach(count: number): Promise<void> {
    await log.until(closedMessage, count);
    // Anything the abandoned requests leave behind (failed uploads to reclaim) is settled first,
    // and one more request goes through, so a late line would be seen.
    await settleCleanup(stack);
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'after', Body: 'x' }));
    const visible = log.visible();
    expect(visible.filter((l) => l.level >= 40)).toEqual([]);
    const closed = visible.filter((l) => l.msg === closedMessage);
    expect(closed).toHaveLength(count);
    for (const line of closed) {
      expect(line.level).toBe(30);
      expect(line.err).toBeUndefined();
      expect(JSON.stringify(line)).not.toMatch(/stack|Error:/);
    }
    expect(new Set(closed.map((l) => l.requestId)).size).toBe(count);
  }

  it('a slow PUT (1 MiB declared, a few bytes sent) whose client gives up: one info line, no error line', async () => {
    const req = await startUpload(await presignedPut('slow'), MiB, Buffer.from('abc'));
    req.destroy();
    await expectOneInfoLineEach(1);
  });

  it('fifty slow PUTs whose clients all give up: fifty info lines, one each, no error line', async () => {
    const reqs = await Promise.all(Array.from({ length: 50 }, async (_, i) => startUpload(await presignedPut(`slow-${i}`), MiB, Buffer.from('x'))));
    for (const req of reqs) req.destroy();
    await expectOneInfoLineEach(50);
  });

  it('a large PUT cut off while its body streams to the backend: one info line, no warning', async () => {
    const body = patternBytes(24 * MiB, 1);
    const req = await startUpload(await presignedPut('large'), body.length, body.subarray(0, 12 * MiB));
    req.destroy();
    await expectOneInfoLineEach(1);
  });

  it('an UploadPart cut off mid-body: one info line, no warning', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: 'parts' }));
    const url = await getSignedUrl(s3, new UploadPartCommand({ Bucket: 'alpha', Key: 'parts', UploadId, PartNumber: 1 }), { expiresIn: 600 });
    const req = await startUpload(url, 12 * MiB, patternBytes(6 * MiB, 2));
    req.destroy();
    await expectOneInfoLineEach(1);
  });

  it('a GET whose client leaves after the first bytes of a large object: one info line, no warning', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'download', Body: patternBytes(32 * MiB, 3) }));
    log.lines.length = 0;
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'alpha', Key: 'download' }), { expiresIn: 600 });
    await new Promise<void>((resolve, reject) => {
      const req = http.get(url, { agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    });
    await expectOneInfoLineEach(1);
  });
});
