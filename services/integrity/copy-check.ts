import { Transform, type TransformCallback } from 'node:stream';
import type { StoredCopy } from '../../domain/events/common.js';
import type { CorruptionReason } from '../../domain/events/integrity-events.js';
import type { ObjectVersion } from '../../domain/objects/object-state.js';
import { isDomainError } from '../../domain/errors.js';
import { BackendNotFoundError } from '../../infra/backend/index.js';
import { isBadCopy } from '../encryption/crypto-failures.js';
import type { PlaintextReader } from '../objects/plaintext-reader.js';
import type { BackendDirectory } from '../backends/backend-directory.js';
import { ContentVerifier, hasRecordedHash, type HashMismatch } from './content-hash.js';

/** What reading a copy in full found. */
export type CopyCheck =
  | { kind: 'intact' }
  /** The bytes are bad (`reason`); `actualSha256` null when they could not be read in full (missing, or failing decryption). */
  | { kind: 'corrupt'; reason: CorruptionReason; mismatch: HashMismatch | { expectedSha256: string | null; actualSha256: null } }
  /** Not checked: the backend could not be asked now (down, over its limits, unknown). */
  | { kind: 'unreadable'; error: string };

/**
 * Passes bytes through while hashing them against the version's recorded SHA-256, and holds the
 * last chunk back until the end: a client reading through it never gets the whole body of a
 * copy that turns out corrupt (it sees the stream fail instead). `settled` tells the outcome.
 */
export class VerifyingStream extends Transform {
  private readonly verifier: ContentVerifier;
  private held: Buffer | undefined;
  /** Set at the end when the bytes did not match. */
  mismatch: HashMismatch | undefined;
  /** Resolves at the end with the mismatch, or undefined when the bytes are intact. */
  readonly settled: Promise<HashMismatch | undefined>;
  private settle!: (m: HashMismatch | undefined) => void;

  constructor(version: ObjectVersion) {
    super();
    this.verifier = new ContentVerifier(version);
    this.settled = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.verifier.update(chunk);
    if (this.held) this.push(this.held);
    this.held = chunk;
    callback();
  }

  override _flush(callback: TransformCallback): void {
    const mismatch = this.verifier.finish();
    this.mismatch = mismatch;
    this.settle(mismatch);
    if (mismatch) {
      callback(new Error(`the copy's bytes do not match the recorded SHA-256${mismatch.partNumber !== undefined ? ` (part ${mismatch.partNumber})` : ''}`));
      return;
    }
    if (this.held) this.push(this.held);
    callback();
  }
}

/**
 * Reads one copy of `version` in full and checks it against the recorded SHA-256 (of the
 * client's bytes: an encrypted copy is read through `plain`, decrypted; one that fails
 * decryption is corrupt).
 */
export async function checkCopy(backends: BackendDirectory, plain: Pick<PlaintextReader, 'open'>, version: ObjectVersion, copy: StoredCopy): Promise<CopyCheck> {
  const backend = backends.get(copy.backend);
  if (!backend) return { kind: 'unreadable', error: `backend ${copy.backend} is not configured` };
  // An encrypted copy written without a recorded SHA-256 is checked by its ciphertext authenticating.
  const verifier = version.encryption && !hasRecordedHash(version) ? undefined : new ContentVerifier(version);
  try {
    if (version.size > 0) {
      const others = new Set(version.copies.map((c) => c.backend).filter((b) => b !== copy.backend));
      const body = version.encryption ? (await plain.open(version, undefined, undefined, others)).body : (await backend.client.getObject(copy.storageKey)).body;
      for await (const chunk of body) verifier?.update(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof BackendNotFoundError) return { kind: 'corrupt', reason: 'missing', mismatch: { expectedSha256: firstExpected(version), actualSha256: null } };
    if ((isDomainError(err) && err.code === 'CiphertextDamaged') || isBadCopy(err)) {
      return { kind: 'corrupt', reason: 'ciphertext-authentication', mismatch: { expectedSha256: firstExpected(version), actualSha256: null } };
    }
    return { kind: 'unreadable', error: (err as Error).message };
  }
  const mismatch = verifier?.finish();
  return mismatch ? { kind: 'corrupt', reason: 'checksum-mismatch', mismatch } : { kind: 'intact' };
}

/** The digest a copy whose bytes are missing is reported against: the whole object's, or its first part's; null when none was recorded. */
export function firstExpected(version: ObjectVersion): string | null {
  const part = version.parts?.[0]?.sha256;
  if (version.contentSha256 === null) return null;
  return version.contentSha256.includes('-') && part ? part : version.contentSha256.slice(0, 64);
}
