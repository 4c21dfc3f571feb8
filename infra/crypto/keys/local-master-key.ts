/**
 * A master key held by this process (inline `master_key`, `master_key_file`, `previous_keys`).
 * Data keys are wrapped with AES-256 key wrap (RFC 3394, NIST SP 800-38F): deterministic, no
 * nonce to manage, and a 64-bit integrity check, so a wrong key is an error, never a wrong
 * data key.
 */
import { createCipheriv, createDecipheriv, createHmac, type Cipher } from 'node:crypto';
import { KeyUnwrapError } from '../errors.js';
import { KEY_BYTES, type MasterKey } from './master-key.js';

const KEY_WRAP = 'id-aes256-wrap';
const KEY_WRAP_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');
const WRAPPED_BYTES = KEY_BYTES + 8;
const FINGERPRINT_LABEL = 's3o/master-key-fingerprint/v1';

/** HMAC-SHA256 of a fixed label under the key, first 8 bytes in hex: identifies the key without revealing it. */
export function localKeyFingerprint(material: Buffer): string {
  return createHmac('sha256', material).update(FINGERPRINT_LABEL).digest().subarray(0, 8).toString('hex');
}

const base64Text = /^[A-Za-z0-9+/]*={0,2}$/;

/** A base64 master key (standard alphabet, padded); a problem (never quoting the value) otherwise. */
export function decodeMasterKey(text: string): { readonly key: Buffer } | { readonly problem: string } {
  const trimmed = text.trim();
  if (trimmed.length % 4 !== 0 || !base64Text.test(trimmed)) {
    return { problem: 'must be a base64-encoded 32-byte key (generate one with: openssl rand -base64 32)' };
  }
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== KEY_BYTES) {
    return { problem: `must be a base64-encoded 32-byte key, but it decodes to ${key.length} bytes (generate one with: openssl rand -base64 32)` };
  }
  return { key };
}

export class LocalMasterKey implements MasterKey {
  readonly keyId: string;
  readonly scheme = 'aes256-kw' as const;
  readonly #material: Buffer;
  /**
   * One key-wrap cipher for every data key this key wraps: in OpenSSL's wrap mode each update()
   * is a whole RFC 3394 wrap of its input under the fixed default IV, independent of the ones
   * before, so the cipher and its key schedule (a visible share of a 4 KiB PUT) are made once.
   */
  #wrapper: Cipher | undefined;

  constructor(material: Buffer, readonly aliases: readonly string[], readonly source: string) {
    if (material.length !== KEY_BYTES) throw new RangeError('a master key is 32 bytes');
    this.#material = Buffer.from(material);
    this.keyId = localKeyFingerprint(this.#material);
  }

  wrap(dataKey: Buffer): Promise<Buffer> {
    this.#wrapper ??= createCipheriv(KEY_WRAP, this.#material, KEY_WRAP_IV);
    return Promise.resolve(this.#wrapper.update(dataKey));
  }

  unwrap(wrapped: Buffer): Promise<Buffer> {
    if (wrapped.length !== WRAPPED_BYTES) {
      return Promise.reject(new KeyUnwrapError(this.keyId, `a wrapped key is ${WRAPPED_BYTES} bytes, got ${wrapped.length}`));
    }
    try {
      const decipher = createDecipheriv(KEY_WRAP, this.#material, KEY_WRAP_IV);
      return Promise.resolve(Buffer.concat([decipher.update(wrapped), decipher.final()]));
    } catch {
      return Promise.reject(new KeyUnwrapError(this.keyId, 'its integrity check failed (the wrapped key is damaged)'));
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
