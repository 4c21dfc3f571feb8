import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ObjectVersion } from '../../../domain/objects/object-state.js';
import type { BackendClient, GetObjectResult } from '../../../infra/backend/index.js';
import type { Logger } from '../../../infra/telemetry/logger.js';
import type { BackendDirectory } from '../../../services/backends/backend-directory.js';
import { ObjectReader } from '../../../services/objects/object-reader.js';

const answer = (bytes: Buffer): GetObjectResult => ({ status: 200, headers: { 'content-length': String(bytes.length) }, contentLength: bytes.length, bytes, body: Readable.from([bytes]) });
const quiet = { info: () => undefined, warn: () => undefined } as unknown as Logger;

describe('ObjectReader', () => {
  it('passes over a copy whose backend answers a whole read with other than its size (an empty file), for the next copy', async () => {
    const stored: Record<string, Buffer> = { b1: Buffer.alloc(0), b2: Buffer.alloc(667, 7) };
    const entry = (name: string, order: number) => ({
      order, breaker: { isAvailable: () => true },
      client: { name, getObject: () => Promise.resolve(answer(stored[name] as Buffer)) } as unknown as BackendClient,
    });
    const backends = { get: (name: string) => entry(name, name === 'b1' ? 0 : 1), canRead: () => true } as unknown as BackendDirectory;
    const version = {
      size: 667, encryption: null, copies: [{ backend: 'b1', storageKey: 'k', size: 667 }, { backend: 'b2', storageKey: 'k', size: 667 }],
    } as unknown as ObjectVersion;
    const opened = await new ObjectReader(backends, quiet).open(version, undefined, undefined, undefined, 1024);
    expect(opened.copy.backend).toBe('b2');
    expect(opened.result.bytes?.length).toBe(667);
  });

  it('hands out a short encrypted copy as it is: its authentication finds the truncation and records the copy as bad', async () => {
    const backends = {
      get: () => ({ order: 0, breaker: { isAvailable: () => true }, client: { name: 'b1', getObject: () => Promise.resolve(answer(Buffer.alloc(100, 1))) } }),
      canRead: () => true,
    } as unknown as BackendDirectory;
    const encryption = { chunkSize: 65536, headerLength: 100, segments: [{ partNumber: 0, plainSize: 50, salt: '' }] };
    const version = { size: 50, encryption, copies: [{ backend: 'b1', storageKey: 'k', size: 166 }] } as unknown as ObjectVersion;
    const opened = await new ObjectReader(backends, quiet).open(version, undefined, undefined, undefined, 1024);
    expect(opened.result.bytes?.length).toBe(100);
  });
});
