import type { Readable } from 'node:stream';
import { DomainError } from '../../domain/errors.js';
import type { ObjectVersion } from '../../domain/objects/object-state.js';
import type { ReadSignal } from '../../infra/backend/index.js';
import type { Cause } from '../event-factory.js';
import type { PlaintextReader } from '../objects/plaintext-reader.js';
import { ContentVerifier } from './content-hash.js';
import { VerifyingStream } from './copy-check.js';
import type { IntegrityService } from './integrity-service.js';

export interface VerifiedReadDeps {
  /** Reads the client's bytes of a copy (decrypted when the version is encrypted). */
  reader: Pick<PlaintextReader, 'open'>;
  integrity: IntegrityService;
  /** Objects up to this size are read whole and checked before a byte is sent, so a corrupt copy fails over. */
  bufferLimit: number;
}

/**
 * A full read of `v` checked against its recorded SHA-256 (verify_on_read). An object up to
 * `bufferLimit` is read and checked before anything is sent: a corrupt copy is reported (and
 * repaired in the background) and the next copy is read instead. A larger object streams; its
 * last chunk is held back until the hash is known, so a corrupt copy ends the response early (the
 * client sees a short body, never a complete wrong one) and is reported the same way.
 */
export async function openVerifiedRead(deps: VerifiedReadDeps, bucket: string, key: string, v: ObjectVersion, cause: Cause, signal?: ReadSignal): Promise<Readable | Buffer> {
  const found = new Set<string>();
  for (;;) {
    let opened;
    try {
      opened = await deps.reader.open(v, undefined, signal, found);
    } catch (err) {
      if (found.size === 0) throw err;
      throw new DomainError('ServiceUnavailable', 'No intact copy of the object could be read; the corrupt copies are reported for repair.');
    }
    if (v.size > deps.bufferLimit) {
      const verifying = new VerifyingStream(v);
      opened.body.on('error', (err) => verifying.destroy(err));
      void verifying.settled.then((mismatch) => {
        if (mismatch) deps.integrity.reportCorrupt(bucket, key, v.writeId, opened.copy, 'read', { kind: 'corrupt', reason: 'checksum-mismatch', mismatch }, cause);
        else deps.integrity.noteIntactRead();
      });
      return opened.body.pipe(verifying);
    }
    const verifier = new ContentVerifier(v);
    const chunks: Buffer[] = [];
    for await (const chunk of opened.body) {
      verifier.update(chunk as Buffer);
      chunks.push(chunk as Buffer);
    }
    const mismatch = verifier.finish();
    if (!mismatch) {
      deps.integrity.noteIntactRead();
      return Buffer.concat(chunks);
    }
    deps.integrity.reportCorrupt(bucket, key, v.writeId, opened.copy, 'read', { kind: 'corrupt', reason: 'checksum-mismatch', mismatch }, cause);
    found.add(opened.copy.backend);
  }
}
