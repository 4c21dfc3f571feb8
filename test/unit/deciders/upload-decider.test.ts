import { describe, it } from 'vitest';
import type { DomainEvent, EventData } from '../../../domain/events/catalog.js';
import { decideUpload } from '../../../domain/uploads/upload-decider.js';
import { evolveUpload, initialUploadState } from '../../../domain/uploads/upload-state.js';
import { deciderSpec } from '../../support/decider-spec.js';

const creation: EventData<'MultipartUploadCreated'> = {
  uploadId: 'u1', bucket: 'alpha', key: 'k', backend: 'b1', backendUploadId: 'bu', storageKey: 'alpha/k~w', writeId: 'w',
  contentType: 'binary/octet-stream', metadata: {}, headers: {}, initiatedAt: '2026-01-01T00:00:00.000Z', encryption: null,
};
const created: DomainEvent = { type: 'MultipartUploadCreated', data: creation };
const partData = (partNumber: number, etag: string): EventData<'PartUploaded'> =>
  ({ uploadId: 'u1', backend: 'b1', partNumber, size: 10, etag, backendEtag: `"${etag}"`, checksum: null, sha256: null, storedSize: 10, salt: null });
const part = (partNumber: number, etag: string): DomainEvent => ({ type: 'PartUploaded', data: partData(partNumber, etag) });
const completion: EventData<'MultipartUploadCompleted'> = { uploadId: 'u1', backend: 'b1', etag: 'x-1', size: 10, parts: [{ partNumber: 1, size: 10, etag: 'aa' }] };
const completed: DomainEvent = { type: 'MultipartUploadCompleted', data: completion };
const aborted: DomainEvent = { type: 'MultipartUploadAborted', data: { uploadId: 'u1', backend: 'b1', reason: 'client' } };

const upload = deciderSpec(decideUpload, evolveUpload, () => initialUploadState);

describe('upload decider', () => {
  it('given nothing, when created, then it exists; given it created, when created again, then refused', () => {
    upload.given().when({ type: 'Create', created: creation }).then(created);
    upload.given(created).when({ type: 'Create', created: creation }).thenRefused('Conflict');
  });

  it('given it open, when a part is recorded, then recorded; given it closed or unknown, then NoSuchUpload', () => {
    upload.given(created).when({ type: 'RecordPart', part: partData(1, 'aa') }).then(part(1, 'aa'));
    upload.given(created, aborted).when({ type: 'RecordPart', part: partData(1, 'aa') }).thenRefused('NoSuchUpload');
    upload.given(created, part(1, 'aa'), completed).when({ type: 'RecordPart', part: partData(2, 'bb') }).thenRefused('NoSuchUpload');
    upload.given().when({ type: 'RecordPart', part: partData(1, 'aa') }).thenRefused('NoSuchUpload');
  });

  it('given a part on another backend than the upload, when recorded, then refused', () => {
    upload.given(created).when({ type: 'RecordPart', part: { ...partData(1, 'aa'), backend: 'b2' } }).thenRefused('InternalError');
  });

  it('given the parts the backend assembled, when completed, then completed; given one of them uploaded again meanwhile, then InvalidPart', () => {
    const assembled = new Map([[1, '"aa"']]);
    upload.given(created, part(1, 'aa')).when({ type: 'Complete', completion, assembled }).then(completed);
    // A part the completion does not use may change.
    upload.given(created, part(1, 'aa'), part(2, 'bb')).when({ type: 'Complete', completion, assembled }).then(completed);
    upload.given(created, part(1, 'aa'), part(1, 'cc')).when({ type: 'Complete', completion, assembled }).thenRefused('InvalidPart');
  });

  it('given it completed or aborted, when completed, then NoSuchUpload', () => {
    const assembled = new Map([[1, '"aa"']]);
    upload.given(created, part(1, 'aa'), completed).when({ type: 'Complete', completion, assembled }).thenRefused('NoSuchUpload');
    upload.given(created, part(1, 'aa'), aborted).when({ type: 'Complete', completion, assembled }).thenRefused('NoSuchUpload');
  });

  it('given it open, when aborted, then aborted with the reason; given it closed or unknown, then nothing', () => {
    upload.given(created, part(1, 'aa')).when({ type: 'Abort', reason: 'stale' })
      .then({ type: 'MultipartUploadAborted', data: { uploadId: 'u1', backend: 'b1', reason: 'stale' } });
    upload.given(created, aborted).when({ type: 'Abort', reason: 'client' }).thenNothing();
    upload.given(created, part(1, 'aa'), completed).when({ type: 'Abort', reason: 'client' }).thenNothing();
    upload.given().when({ type: 'Abort', reason: 'client' }).thenNothing();
  });

  it('given it open on b1 with parts, when moved from b1 carrying every part, then moved; with a part left behind or from elsewhere, then refused', () => {
    const moved: EventData<'MultipartUploadMoved'> = {
      uploadId: 'u1', from: 'b1', backend: 'b2', backendUploadId: 'bu2', storageKey: 'alpha/k~w2', writeId: 'w2',
      parts: [{ partNumber: 1, size: 10, backendEtag: '"a2"' }, { partNumber: 2, size: 10, backendEtag: '"b2"' }],
    };
    upload.given(created, part(1, 'aa'), part(2, 'bb')).when({ type: 'Move', moved }).then({ type: 'MultipartUploadMoved', data: moved });
    upload.given(created, part(1, 'aa'), part(2, 'bb'), part(3, 'cc')).when({ type: 'Move', moved }).thenRefused('ServiceUnavailable');
    upload.given(created, part(1, 'aa'), part(2, 'bb')).when({ type: 'Move', moved: { ...moved, from: 'b3' } }).thenRefused('InternalError');
    upload.given(created, part(1, 'aa'), part(2, 'bb'), aborted).when({ type: 'Move', moved }).thenRefused('NoSuchUpload');
  });

  it('given an encrypted upload, when an encrypted part is recorded, then recorded; a plaintext part, then refused (and the reverse)', () => {
    const layout = { format: 2 as const, chunkSize: 4096, headerLength: 82, key: { keyId: '0123456789abcdef', keyAlias: 'config-0', wrapScheme: 'aes256-kw' as const, wrappedKey: 'AAAA' } };
    const encrypted: DomainEvent = { type: 'MultipartUploadCreated', data: { ...creation, encryption: layout } };
    const sealed = { ...partData(1, 'aa'), storedSize: 10 + 82 + 16, salt: 'AAAAAAAAAAAAAAAAAAAAAA==' };
    upload.given(encrypted).when({ type: 'RecordPart', part: sealed }).then({ type: 'PartUploaded', data: sealed });
    upload.given(encrypted).when({ type: 'RecordPart', part: partData(1, 'aa') }).thenRefused('InternalError');
    upload.given(created).when({ type: 'RecordPart', part: sealed }).thenRefused('InternalError');
  });

  it('given encrypted parts, when moved carrying their stored sizes, then moved; carrying their client sizes, then refused', () => {
    const sealed = (n: number): DomainEvent => ({ type: 'PartUploaded', data: { ...partData(n, 'aa'), storedSize: 108, salt: 'AAAAAAAAAAAAAAAAAAAAAA==' } });
    const moved = (size: number): EventData<'MultipartUploadMoved'> => ({
      uploadId: 'u1', from: 'b1', backend: 'b2', backendUploadId: 'bu2', storageKey: 'alpha/k~w2', writeId: 'w2', parts: [{ partNumber: 1, size, backendEtag: '"a2"' }],
    });
    upload.given(created, sealed(1)).when({ type: 'Move', moved: moved(108) }).then({ type: 'MultipartUploadMoved', data: moved(108) });
    upload.given(created, sealed(1)).when({ type: 'Move', moved: moved(10) }).thenRefused('ServiceUnavailable');
  });

  it('given it moved to b2, when a part is recorded on b2, then recorded; on b1, then refused', () => {
    const moved: DomainEvent = { type: 'MultipartUploadMoved', data: {
      uploadId: 'u1', from: 'b1', backend: 'b2', backendUploadId: 'bu2', storageKey: 'alpha/k~w2', writeId: 'w2', parts: [],
    } };
    upload.given(created, moved).when({ type: 'RecordPart', part: { ...partData(1, 'aa'), backend: 'b2' } })
      .then({ type: 'PartUploaded', data: { ...partData(1, 'aa'), backend: 'b2' } });
    upload.given(created, moved).when({ type: 'RecordPart', part: partData(1, 'aa') }).thenRefused('InternalError');
  });
});
