/**
 * The crypto layer's typed failures as catalogue errors (domain/errors.ts), counted where the
 * operator needs to see them. Messages name key ids (fingerprints, not secret), never key bytes.
 */
import { DomainError, isDomainError } from '../../domain/errors.js';
import { CiphertextIntegrityError, KeyServiceError, KeyUnwrapError, NotEncryptedError, UnknownKeyIdError } from '../../infra/crypto/index.js';
import type { EncryptionMetrics } from '../../infra/telemetry/encryption-metrics.js';

/** A failure that condemns one stored copy (another copy may be fine), not the key or the request. */
export function isBadCopy(err: unknown): err is CiphertextIntegrityError | NotEncryptedError {
  return err instanceof CiphertextIntegrityError || err instanceof NotEncryptedError;
}

/** A data key that cannot be unwrapped (unknown key, wrong key material, key service down) as a catalogue error; anything else unchanged. */
export function keyFailure(err: unknown, metrics: EncryptionMetrics | undefined): unknown {
  if (isDomainError(err)) return err;
  if (err instanceof UnknownKeyIdError) {
    metrics?.unknownKeyId.inc();
    return new DomainError('EncryptionKeyUnknown', err.message, { keyId: err.keyId });
  }
  if (err instanceof KeyUnwrapError) {
    return new DomainError('EncryptionKeyUnknown', `${err.message} (is encryption.master_key the key this data was written with?)`, { keyId: err.keyId });
  }
  if (err instanceof KeyServiceError) return new DomainError('EncryptionKeyUnavailable', err.message);
  return err;
}
