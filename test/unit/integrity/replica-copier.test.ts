import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ObjectVersion } from '../../../domain/objects/object-state.js';
import type { BackendDirectory } from '../../../services/backends/backend-directory.js';
import type { ObjectReader } from '../../../services/objects/object-reader.js';
import type { IntegrityService } from '../../../services/integrity/integrity-service.js';
import { replicaCopier } from '../../../services/integrity/replica-copier.js';

/**
 * A verified copy of an encrypted version whose PUT to the target fails destroys the source body
 * it opened: left unread, it would hold its backend connection until the body timeout.
 */
describe('replicaCopier', () => {
  it('destroys the opened source when the encrypted copy\'s PUT fails', async () => {
    const source = new PassThrough();
    const version = {
      writeId: 'w1', size: 10, etag: 'e', contentType: 'application/octet-stream', metadata: {}, headers: {}, checksum: null,
      contentSha256: 'a'.repeat(64), parts: null, lastModified: '2026-12-04T17:00:00.000Z',
      copies: [{ backend: 'b1', storageKey: 'k', size: 42 }], encryption: { key: 'wrapped' },
    } as unknown as ObjectVersion;
    const reader = { open: () => Promise.resolve({ copy: version.copies[0], result: { status: 200, headers: {}, contentLength: 42, body: source } }) };
    const backends = { require: () => ({ client: { putObject: () => Promise.reject(new Error('b2 refused the put')) } }) };
    const copy = replicaCopier({
      backends: backends as unknown as BackendDirectory, reader: reader as unknown as ObjectReader,
      plain: { open: () => Promise.reject(new Error('not read back')) }, integrity: () => ({}) as IntegrityService,
    }, () => true);

    await expect(copy('alpha', 'k', version, { backend: 'b2', storageKey: 'k2', size: 42 }, { actor: 'operator:test' })).rejects.toThrow('b2 refused the put');
    expect(source.destroyed).toBe(true);
  });
});
