import type { StoredCopy } from '../../domain/events/common.js';
import type { ObjectVersion } from '../../domain/objects/object-state.js';
import type { BackendDirectory } from '../backends/backend-directory.js';
import { copyVersion, type VersionCopier } from '../objects/copy-version.js';
import type { ObjectReader, OpenedCopy } from '../objects/object-reader.js';
import type { PlaintextReader } from '../objects/plaintext-reader.js';
import { hasRecordedHash } from './content-hash.js';
import { checkCopy, VerifyingStream, type CopyCheck } from './copy-check.js';
import type { IntegrityService } from './integrity-service.js';

type CorruptCopy = Extract<CopyCheck, { kind: 'corrupt' }>;

/**
 * How replication and moves copy a version (`integrity.verify_on_replicate`): the bytes written
 * must hash to the recorded SHA-256 before the copy may be recorded. A plaintext copy is hashed
 * as it streams, and its last chunk is held back until the hash is known, so a target never gets
 * a complete corrupt object; an encrypted copy is copied as ciphertext and read back decrypted
 * (its recorded hash is of the client's bytes). A source whose bytes do not match is recorded
 * corrupt (CopyCorrupted, component `replicate`, repaired in the background) and the next copy
 * is the source; with none left the copy fails and nothing is recorded. Off, or for a version
 * without a recorded hash, it is the plain copy.
 */
export function replicaCopier(
  deps: { backends: BackendDirectory; reader: ObjectReader; plain: Pick<PlaintextReader, 'open'>; integrity: () => IntegrityService },
  verify: () => boolean,
): VersionCopier {
  return async (bucket, key, version, target, cause) => {
    if (!verify() || !hasRecordedHash(version) || (version.size === 0 && !version.encryption)) return copyVersion(deps.backends, deps.reader, version, target);
    const corrupt = new Set<string>();
    for (;;) {
      if (corrupt.size >= version.copies.length) throw new Error('no copy matches the recorded SHA-256: nothing was copied');
      const opened = await deps.reader.open(version, undefined, undefined, corrupt);
      const corruption = await copyChecked(deps, version, opened, target);
      if (corruption === undefined) {
        deps.integrity().noteIntact('replicate');
        return;
      }
      deps.integrity().reportCorrupt(bucket, key, version.writeId, opened.copy, 'replicate', corruption, cause);
      corrupt.add(opened.copy.backend);
    }
  };
}

/** Copies the opened copy to `target`; how the source is corrupt when the bytes are not the version's. */
async function copyChecked(
  deps: { backends: BackendDirectory; plain: Pick<PlaintextReader, 'open'> }, version: ObjectVersion, opened: OpenedCopy, target: StoredCopy,
): Promise<CorruptCopy | undefined> {
  const client = deps.backends.require(target.backend).client;
  const source = opened.result.body;
  if (version.encryption) {
    try {
      await client.putObject(target.storageKey, source, { contentLength: opened.copy.size, contentType: version.contentType });
    } catch (err) {
      // The put leaves the source unread: destroyed, its backend connection is freed now, not at its body timeout.
      source.destroy();
      throw err;
    }
    const check = await checkCopy(deps.backends, deps.plain, { ...version, copies: [target] }, target);
    if (check.kind === 'unreadable') throw new Error(`the copy written to ${target.backend} could not be read back to verify it: ${check.error}`);
    return check.kind === 'corrupt' ? check : undefined;
  }
  const verifying = new VerifyingStream(version);
  source.on('error', (err) => verifying.destroy(err)).pipe(verifying);
  try {
    await client.putObject(target.storageKey, verifying, { contentLength: opened.copy.size, contentType: version.contentType });
  } catch (err) {
    source.destroy();
    if (verifying.mismatch) return { kind: 'corrupt', reason: 'checksum-mismatch', mismatch: verifying.mismatch };
    throw err;
  }
  return undefined;
}
