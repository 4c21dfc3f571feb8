import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { encodeEvent } from '../../../domain/events/codec.js';
import type { EventStore, RecordedEvent } from '../../../domain/eventstore/port.js';
import type { Logger } from '../../../infra/telemetry/logger.js';
import type { BackendDirectory } from '../../../services/backends/backend-directory.js';
import type { OrphanRecorder } from '../../../services/cleanup/orphans.js';
import type { EventFactory } from '../../../services/event-factory.js';
import type { UploadCommands } from '../../../services/multipart/upload-commands.js';
import { UploadRelocation } from '../../../services/multipart/upload-relocation.js';
import type { WritePlacement } from '../../../services/placement/write-placement.js';

const recorded = (revision: bigint, event: ReturnType<typeof encodeEvent>): RecordedEvent => ({
  ...event, id: `e${revision}`, streamId: 'upload-u1', revision, metadata: {}, position: '0' as RecordedEvent['position'], recordedAt: '2026-12-04T18:00:00.000Z',
});

/**
 * Moving an upload copies each assembled part range by range; when a part's upload to the target
 * fails, the source range it opened is destroyed: left unread, it would hold its backend
 * connection until the body timeout.
 */
describe('UploadRelocation', () => {
  it('destroys the opened source range when the part\'s upload to the target fails', async () => {
    const events = [
      recorded(0n, encodeEvent('MultipartUploadCreated', {
        uploadId: 'u1', bucket: 'alpha', key: 'k', backend: 'b1', backendUploadId: 'bu1', storageKey: 'alpha/k~w1', writeId: 'w1',
        contentType: 'binary/octet-stream', metadata: {}, headers: {}, initiatedAt: '2026-12-04T18:00:00.000Z', encryption: null,
      })),
      recorded(1n, encodeEvent('PartUploaded', {
        uploadId: 'u1', backend: 'b1', partNumber: 1, size: 10, etag: 'aa', backendEtag: '"aa"', checksum: null, sha256: null, storedSize: 10, salt: null,
      })),
    ];
    const store = { readStream: () => Promise.resolve({ revision: 1n, events }) };
    const candidate = (name: string, quotaBytes: number) => ({
      name, order: 0, state: 'active', circuitOpen: false, quotaBytes, usedBytes: 10, orphanBytes: 0, pendingBytes: 0, usageExceeded: false, maxObjectSize: 0,
    });
    const range = new PassThrough();
    const clients: Record<string, object> = {
      // b1 assembles the parts and serves their range; taking them back itself fails too, so the move gives up.
      b1: {
        completeMultipartUpload: () => Promise.resolve({ etag: 'x' }),
        getObject: () => Promise.resolve({ status: 206, headers: {}, contentLength: 10, body: range }),
        createMultipartUpload: () => Promise.reject(new Error('b1 refused the upload')),
      },
      b2: {
        createMultipartUpload: () => Promise.resolve('bu2'),
        uploadPart: () => Promise.reject(new Error('b2 refused the part')),
        abortMultipartUpload: () => Promise.resolve(),
      },
    };
    const backends = { candidates: () => [candidate('b1', 15), candidate('b2', 0)], require: (name: string) => ({ client: clients[name] }) };
    const placement = { rankByFreeSpace: () => [candidate('b2', 0)], failoverAttempts: () => 0 };
    const logger = { info: () => undefined, warn: () => undefined };
    const relocation = new UploadRelocation(
      store as unknown as EventStore, { now: () => new Date('2026-12-04T18:00:00.000Z') } as unknown as EventFactory, {} as UploadCommands,
      backends as unknown as BackendDirectory, placement as unknown as WritePlacement, {} as OrphanRecorder, logger as unknown as Logger,
    );

    await expect(relocation.relocate('u1', 2, 10, { actor: 'operator:test' })).rejects.toThrow('could not be moved');
    expect(range.destroyed).toBe(true);
  });
});
