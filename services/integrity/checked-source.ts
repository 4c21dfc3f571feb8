import type { Readable } from 'node:stream';
import type { StoredCopy } from '../../domain/events/common.js';
import type { ObjectVersion } from '../../domain/objects/object-state.js';
import type { ReadSignal } from '../../infra/backend/index.js';
import type { PlaintextReader } from '../objects/plaintext-reader.js';
import type { HashMismatch } from './content-hash.js';
import { VerifyingStream } from './copy-check.js';

/** A copy's bytes checked against the version's recorded SHA-256 as they pass. */
export interface CheckedSource {
  copy: StoredCopy;
  /** Ends with an error, before its last chunk, when the bytes do not match. */
  body: Readable;
  /** After the body ended: what differed, or undefined when the bytes are the version's. */
  mismatch(): HashMismatch | undefined;
}

/**
 * Opens the client's bytes of a copy of `v` (decrypted when encrypted), other than those on
 * the `skip` backends, hashed as they stream: a server-side copy writing them never receives a
 * complete wrong body, so nothing corrupt can be committed as a new object.
 */
export async function openCheckedSource(reader: Pick<PlaintextReader, 'open'>, v: ObjectVersion, signal: ReadSignal | undefined, skip: ReadonlySet<string>): Promise<CheckedSource> {
  const opened = await reader.open(v, undefined, signal, skip);
  const verifying = new VerifyingStream(v);
  opened.body.on('error', (err) => verifying.destroy(err));
  return { copy: opened.copy, body: opened.body.pipe(verifying), mismatch: () => verifying.mismatch };
}
