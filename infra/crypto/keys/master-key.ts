/**
 * What the keyring needs from a master key, wherever it lives (inline, in a file, in Vault).
 * A key's id is a fingerprint of the key (never its position in the config), so reordering
 * `previous_keys` can never make an id point at another key.
 */
import type { WrapScheme } from '../../../domain/encryption/envelope.js';

export interface MasterKey {
  /** Fingerprint: 16 hex digits. */
  readonly keyId: string;
  /** The names an operator may use for it; the first is recorded with each wrap it makes. */
  readonly aliases: readonly string[];
  readonly scheme: WrapScheme;
  /** The config field it came from, for messages. */
  readonly source: string;
  wrap(dataKey: Buffer): Promise<Buffer>;
  unwrap(wrapped: Buffer): Promise<Buffer>;
  /** Stops background work (token refresh) and releases connections. */
  close(): Promise<void>;
}

/** Bytes of a data key and of a local master key: AES-256. */
export const KEY_BYTES = 32;
