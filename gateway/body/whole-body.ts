import type { Readable } from 'node:stream';
import { DomainError } from '../../domain/errors.js';
import { BodyHashes, plan } from './pipeline.js';
import type { BodyDigests, BodyExpectations } from './types.js';

export interface WholeBody {
  data: Buffer;
  digests: BodyDigests;
}

/**
 * A small body without aws-chunked framing, read whole from the request and verified as
 * `createBodyPipeline` verifies it (Content-MD5, the payload SHA-256, the x-amz-checksum-* value),
 * without a stream in between: its chunks are hashed as they arrive and kept. Rejects with the
 * verification's DomainError once the body has ended, or IncompleteBody when the client closed
 * the connection before. Throws DomainError at once for malformed expectations.
 */
export function readWholeBody(raw: Readable, exp: BodyExpectations): Promise<WholeBody> {
  const p = plan(exp);
  if (p.chunked) throw new TypeError('readWholeBody takes no aws-chunked body');
  const hashes = new BodyHashes(p);
  return new Promise<WholeBody>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let ended = false;
    const cutOff = (): void => {
      if (!ended) reject(new DomainError('IncompleteBody', 'The connection closed before the body ended.'));
    };
    raw.on('data', (chunk: Buffer) => {
      hashes.update(chunk);
      chunks.push(chunk);
    });
    raw.once('end', () => {
      ended = true;
      const data = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, hashes.size);
      hashes.verify().then((digests) => resolve({ data, digests }), reject);
    });
    raw.once('error', cutOff);
    raw.once('close', cutOff);
  });
}
