/**
 * Encryption at rest for the data path: a data key per new object version (or multipart upload),
 * the envelope facts recorded in its events, and data keys of recorded envelopes for reads. The
 * keyring exists whenever a key source is configured; new writes are encrypted only when
 * `encryption.enabled` is true (a disabled section with keys still reads encrypted objects, as
 * decrypt-existing needs).
 */
import { LRUCache } from 'lru-cache';
import { DomainError } from '../../domain/errors.js';
import type { EncryptedSegment, EncryptionEnvelope, EncryptionKeyLayout } from '../../domain/encryption/envelope.js';
import { FORMAT_VERSION } from '../../domain/encryption/layout.js';
import { createDataKey, openDataKey, type DataKey, type Keyring } from '../../infra/crypto/index.js';
import type { EncryptionMetrics } from '../../infra/telemetry/encryption-metrics.js';
import { keyFailure } from './crypto-failures.js';

export interface ObjectEncryptionOptions {
  /** Encrypt new writes (`encryption.enabled`). */
  readonly encryptWrites: boolean;
  readonly chunkSize: number;
}

type KeyedEnvelope = Pick<EncryptionEnvelope, 'chunkSize' | 'headerLength' | 'key'>;

/**
 * The opened-key cache's id of an envelope, made once per envelope object: a version's envelope
 * is immutable and the state cache hands the same object to every read of it, and building the
 * long id (it holds the wrapped key) on every GET showed in the encrypted GET's profile.
 */
const keyIds = new WeakMap<KeyedEnvelope, string>();
function openedKeyId(envelope: KeyedEnvelope): string {
  let id = keyIds.get(envelope);
  if (id === undefined) {
    const { key } = envelope;
    id = `${key.keyId}:${key.wrapScheme}:${key.wrappedKey}:${key.keyAlias}:${envelope.chunkSize}:${envelope.headerLength}`;
    keyIds.set(envelope, id);
  }
  return id;
}

export class ObjectEncryption {
  /**
   * Opened data keys of recently read versions, with the segment keys derived from them, so a
   * hot object's GET pays neither the unwrap nor the HKDF. Bounded in count and age exactly as
   * the keyring's unwrap cache (off when it is off); a DataKey never serialises its secret.
   */
  readonly #opened: LRUCache<string, DataKey> | undefined;

  constructor(
    private readonly keyring: Keyring | undefined,
    private readonly options: ObjectEncryptionOptions,
    readonly metrics: EncryptionMetrics | undefined,
  ) {
    if (options.encryptWrites && !keyring) throw new Error('encrypting writes needs a keyring');
    const bounds = keyring?.unwrapCache;
    // ttlResolution 0: each lookup reads the clock, instead of lru-cache arming a 1 ms timer to
    // forget a cached time (up to 1,000 timers a second on a busy GET path, a second set beside
    // the location cache's; processTimers went from 0.14 to 0.43 % of the encrypted gateway's profile).
    this.#opened = bounds && bounds.max > 0 ? new LRUCache({ max: bounds.max, ttl: bounds.ttlMs, ttlResolution: 0 }) : undefined;
  }

  /** Whether new object versions are encrypted. */
  get encryptsWrites(): boolean {
    return this.options.encryptWrites;
  }

  get chunkSize(): number {
    return this.options.chunkSize;
  }

  /** The configured keys, for commands that resolve key aliases (rotation). */
  requireKeyring(): Keyring {
    if (!this.keyring) throw new DomainError('EncryptionNotConfigured');
    return this.keyring;
  }

  /** A fresh data key wrapped by the primary master key. */
  async newDataKey(): Promise<DataKey> {
    try {
      return await createDataKey(this.requireKeyring(), this.options.chunkSize);
    } catch (err) {
      throw keyFailure(err, this.metrics);
    }
  }

  /** The data key of a recorded envelope. */
  async dataKeyFor(envelope: KeyedEnvelope): Promise<DataKey> {
    const cached = this.openedKeyFor(envelope);
    if (cached) return cached;
    try {
      const dataKey = await openDataKey(this.requireKeyring(), envelope);
      this.#opened?.set(openedKeyId(envelope), dataKey);
      return dataKey;
    } catch (err) {
      throw keyFailure(err, this.metrics);
    }
  }

  /** The data key of a recorded envelope when it was opened lately (no await: a hot object's GET decrypts in the turn its bytes arrive). */
  openedKeyFor(envelope: KeyedEnvelope): DataKey | undefined {
    return this.#opened?.get(openedKeyId(envelope));
  }

  /** What all segments under `dataKey` share: an encrypted multipart upload records it when it is created. */
  keyLayout(dataKey: DataKey): EncryptionKeyLayout {
    return { format: FORMAT_VERSION, chunkSize: dataKey.chunkSize, headerLength: dataKey.headerLength, key: dataKey.key };
  }

  /** The envelope facts of a version whose segments `dataKey` encrypted. */
  envelope(dataKey: DataKey, segments: EncryptedSegment[]): EncryptionEnvelope {
    // Written out rather than spread from keyLayout: a field added after a spread costs a runtime call in Node 20.
    return { format: FORMAT_VERSION, chunkSize: dataKey.chunkSize, headerLength: dataKey.headerLength, key: dataKey.key, segments };
  }

  async close(): Promise<void> {
    this.#opened?.clear();
    await this.keyring?.close();
  }

  counted(operation: 'encrypt' | 'decrypt' | 'rewrap'): void {
    this.metrics?.countOperation(operation);
  }
}
