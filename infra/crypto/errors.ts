/**
 * Typed failures of encryption and key handling, for the callers to map: a GET that meets
 * `CiphertextIntegrityError` fails over to another copy; `UnknownKeyIdError` becomes a clear
 * S3/admin error and counts in s3o_encryption_unknown_key_id_total. No message carries key
 * material, a token or plaintext.
 */

export type IntegrityProblem =
  /** A chunk's tag did not verify: flipped, swapped, duplicated or foreign bytes. */
  | 'authentication'
  /** The bytes end before the final chunk of a segment (or of the planned range). */
  | 'truncated'
  /** Bytes follow where the object (or the planned range) ends. */
  | 'trailing-data'
  /** A segment header is malformed or disagrees with the recorded envelope. */
  | 'header';

export class CiphertextIntegrityError extends Error {
  override readonly name = 'CiphertextIntegrityError';
  constructor(
    readonly problem: IntegrityProblem,
    message: string,
    readonly at: { readonly segment?: number; readonly chunk?: number } = {},
  ) {
    super(message);
  }
}

/** The bytes do not start with a v2 segment header (plaintext, another format, or the original's v1). */
export class NotEncryptedError extends Error {
  override readonly name = 'NotEncryptedError';
}

/** A data key is wrapped by a master key that is not configured. */
export class UnknownKeyIdError extends Error {
  override readonly name = 'UnknownKeyIdError';
  constructor(readonly keyId: string, configured: readonly string[]) {
    super(`the data key is wrapped by master key ${keyId}, which is not configured (configured: ${configured.join(', ') || 'none'}); add that key to encryption.previous_keys`);
  }
}

/** An `--old-key-id` (alias or fingerprint) that names no configured key. */
export class UnknownKeyAliasError extends Error {
  override readonly name = 'UnknownKeyAliasError';
  constructor(readonly alias: string, known: readonly string[]) {
    super(`no configured master key is called "${alias}" (known: ${known.join(', ')})`);
  }
}

/** The wrapped data key did not unwrap under the key its id names: damaged, or the key material changed. */
export class KeyUnwrapError extends Error {
  override readonly name = 'KeyUnwrapError';
  constructor(readonly keyId: string, reason: string) {
    super(`the data key wrapped by master key ${keyId} could not be unwrapped: ${reason}`);
  }
}

export type KeyServiceProblem = 'timeout' | 'unreachable' | 'denied' | 'rejected' | 'bad-response';

/** A remote key service (Vault Transit) failed to wrap or unwrap. */
export class KeyServiceError extends Error {
  override readonly name = 'KeyServiceError';
  constructor(readonly problem: KeyServiceProblem, message: string, readonly status?: number) {
    super(message);
  }
}

/** A key source in the configuration cannot be used; `field` is its config path. */
export class KeySourceError extends Error {
  override readonly name = 'KeySourceError';
  constructor(readonly field: string, problem: string) {
    super(`${field}: ${problem}`);
  }
}
