import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ObjectVersion } from '../../../domain/objects/object-state.js';
import { openWholeObject } from '../../../gateway/s3/handlers/read-object.js';

/**
 * A whole read of a small version (≤ 64 KiB) is taken in before the answer starts and sent as
 * one Buffer; a larger one streams. A small copy that ends short, runs long, fails or is
 * destroyed mid-body is an error before any byte is sent, never a cut or wrong response.
 */
function version(size: number): ObjectVersion {
  return {
    writeId: 'w1', size, etag: 'e', contentType: 'application/octet-stream', metadata: {}, headers: {}, checksum: null, contentSha256: null,
    parts: null, lastModified: '2026-12-03T05:00:00.000Z', copies: [{ backend: 'b1', storageKey: 'k', size }], encryption: null,
  } as unknown as ObjectVersion;
}

function ctxWith(body: () => Readable) {
  const filled: (Buffer | Readable)[] = [];
  return {
    filled,
    ctx: {
      config: () => ({ integrity: { enabled: false, verify_on_read: false }, server: { small_body_buffer: 8 << 20 } }),
      plain: { open: () => Promise.resolve({ body: body(), copy: { backend: 'b1' } }) },
      integrity: {},
      cache: {
        read: () => undefined,
        fill: (_b: string, _k: string, _v: ObjectVersion, b: Buffer | Readable) => {
          filled.push(b);
          return b;
        },
      },
    } as unknown as Parameters<typeof openWholeObject>[0],
  };
}

const open = (ctx: Parameters<typeof openWholeObject>[0], size: number) => openWholeObject(ctx, 'bkt', 'key', version(size), { actor: 't', correlationId: 'c' });

describe('openWholeObject', () => {
  it('a small version arrives as one Buffer of its bytes (also from several chunks), and the cache is filled with it', async () => {
    const bytes = Buffer.from('x'.repeat(4096));
    const { ctx, filled } = ctxWith(() => Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]));
    const got = await open(ctx, 4096);
    expect(Buffer.isBuffer(got)).toBe(true);
    expect((got as Buffer).equals(bytes)).toBe(true);
    expect(filled).toEqual([got]);
  });

  it('a version over 64 KiB streams', async () => {
    const size = 64 * 1024 + 1;
    const { ctx } = ctxWith(() => Readable.from([Buffer.alloc(size)]));
    const got = await open(ctx, size);
    expect(got).toBeInstanceOf(Readable);
  });

  it('a small copy that ends short or runs long is refused, never sent', async () => {
    await expect(open(ctxWith(() => Readable.from([Buffer.alloc(10)])).ctx, 4096)).rejects.toThrow(/10 bytes for a version of 4096/);
    await expect(open(ctxWith(() => Readable.from([Buffer.alloc(5000)])).ctx, 4096)).rejects.toThrow(/5000 bytes/);
  });

  it('a small copy that fails or is destroyed mid-body is an error', async () => {
    const failing = () => new Readable({
      read() {
        this.push(Buffer.alloc(100));
        this.destroy(new Error('backend reset'));
      },
    });
    await expect(open(ctxWith(failing).ctx, 4096)).rejects.toThrow('backend reset');
    const destroyed = () => new Readable({
      read() {
        this.push(Buffer.alloc(100));
        this.destroy();
      },
    });
    await expect(open(ctxWith(destroyed).ctx, 4096)).rejects.toThrow(/closed before its end/);
  });
});
