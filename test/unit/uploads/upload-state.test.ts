import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../../domain/events/catalog.js';
import { completesWithSameParts, evolveUpload, initialUploadState, type UploadState } from '../../../domain/uploads/upload-state.js';

const created: DomainEvent = {
  type: 'MultipartUploadCreated',
  data: {
    uploadId: 'u1', bucket: 'alpha', key: 'k', backend: 'b1', backendUploadId: 'bu', storageKey: 'alpha/k~w', writeId: 'w',
    contentType: 'binary/octet-stream', metadata: {}, headers: {}, initiatedAt: '2026-01-01T00:00:00.000Z', encryption: null,
  },
};
const part = (partNumber: number, etag: string): DomainEvent => ({
  type: 'PartUploaded', data: { uploadId: 'u1', backend: 'b1', partNumber, size: 10, etag, backendEtag: `"${etag}"`, checksum: null, sha256: null, storedSize: 10, salt: null },
});
const fold = (...events: DomainEvent[]): UploadState => events.reduce((s, e) => evolveUpload(s, e, '2026-01-01T00:00:01.000Z'), initialUploadState);

describe('upload state', () => {
  it('given parts uploaded again, then the latest upload of each number is the part, and every event moves the revision', () => {
    const state = fold(created, part(1, 'aa'), part(2, 'bb'), part(1, 'cc'));
    expect(state.status).toBe('open');
    expect(state.revision).toBe(3n);
    expect([...state.parts.values()].map((p) => [p.partNumber, p.etag])).toEqual([[1, 'cc'], [2, 'bb']]);
  });

  it('given a completion or an abort, then the upload is no longer open', () => {
    const completed = fold(created, part(1, 'aa'), {
      type: 'MultipartUploadCompleted', data: { uploadId: 'u1', backend: 'b1', etag: 'x-1', size: 10, parts: [{ partNumber: 1, size: 10, etag: 'aa' }] },
    });
    expect(completed.status).toBe('completed');
    expect(completed.completion?.etag).toBe('x-1');
    expect(fold(created, { type: 'MultipartUploadAborted', data: { uploadId: 'u1', backend: 'b1', reason: 'client' } }).status).toBe('aborted');
  });

  it('given a move, then the upload continues on the new backend upload with the parts carried over, each with its new backend ETag', () => {
    const state = fold(created, part(1, 'aa'), part(2, 'bb'), {
      type: 'MultipartUploadMoved',
      data: { uploadId: 'u1', from: 'b1', backend: 'b2', backendUploadId: 'bu2', storageKey: 'alpha/k~w2', writeId: 'w2', parts: [{ partNumber: 1, size: 10, backendEtag: '"n1"' }] },
    });
    expect(state.status).toBe('open');
    expect(state.revision).toBe(3n);
    expect(state.created).toMatchObject({ bucket: 'alpha', key: 'k', backend: 'b2', backendUploadId: 'bu2', storageKey: 'alpha/k~w2', writeId: 'w2' });
    // The client's ETag stays; a part the move did not carry is gone.
    expect([...state.parts.values()].map((p) => [p.partNumber, p.etag, p.backendEtag])).toEqual([[1, 'aa', '"n1"']]);
  });

  it('a repeated Complete matches only the same part numbers and ETags in the same order (quotes and case aside)', () => {
    const completion = { etag: 'x-2', size: 20, parts: [{ partNumber: 1, size: 10, etag: 'aa' }, { partNumber: 2, size: 10, etag: 'bb' }] };
    expect(completesWithSameParts(completion, [{ partNumber: 1, etag: '"AA"' }, { partNumber: 2, etag: 'bb' }])).toBe(true);
    expect(completesWithSameParts(completion, [{ partNumber: 1, etag: 'aa' }])).toBe(false);
    expect(completesWithSameParts(completion, [{ partNumber: 1, etag: 'aa' }, { partNumber: 2, etag: 'cc' }])).toBe(false);
    expect(completesWithSameParts(completion, [{ partNumber: 1, etag: 'aa' }, { partNumber: 3, etag: 'bb' }])).toBe(false);
  });
});
