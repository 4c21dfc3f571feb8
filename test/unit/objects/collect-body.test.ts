import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { BackendClient } from '../../../infra/backend/index.js';
import { collectBody } from '../../../services/objects/collect-body.js';
import { copyStoredBytes } from '../../../services/objects/copy-version.js';

describe('collectBody', () => {
  it('returns the bytes of a body of the expected size, in one buffer', async () => {
    const got = await collectBody(Readable.from([Buffer.from('abc'), Buffer.from('de')]), 5);
    expect(got.toString()).toBe('abcde');
  });

  it('fails a body that ends cleanly short of, or beyond, the expected size', async () => {
    await expect(collectBody(Readable.from([]), 667)).rejects.toThrow('the body held 0 bytes, not the 667 expected');
    await expect(collectBody(Readable.from([Buffer.from('abcdef')]), 5)).rejects.toThrow('the body held 6 bytes, not the 5 expected');
  });
});

describe('copyStoredBytes', () => {
  it('an empty answer to the source GET fails the copy with the byte counts and writes nothing', async () => {
    const puts: string[] = [];
    const source = { name: 'a', getObject: () => Promise.resolve({ status: 200, headers: {}, contentLength: 0, body: Readable.from([]) }) } as unknown as BackendClient;
    const target = { name: 'b', putObject: (key: string) => { puts.push(key); return Promise.resolve({ etag: '"x"' }); } } as unknown as BackendClient;
    await expect(copyStoredBytes({ client: source, storageKey: 'k' }, { client: target, storageKey: 't' }, 667, 'application/octet-stream', undefined))
      .rejects.toThrow('the body held 0 bytes, not the 667 expected');
    expect(puts).toEqual([]);
  });
});
