/**
 * The configured master keys: the primary wraps every new data key; the previous keys (and
 * the primary) unwrap by key id. Key ids are fingerprints; the manual's names are aliases
 * resolved when a command runs: `config-0` (inline primary), `config-1…` (previous_keys in
 * order), `file-0` (file primary), the Vault key name (and `vault:<mount>/<key>`).
 */
import { LRUCache } from 'lru-cache';
import type { EncryptionKeyFacts, WrapScheme } from '../../../domain/encryption/envelope.js';
import type { KeyringView } from '../../../domain/encryption/rotation-scope.js';
import { KeySourceError, KeyUnwrapError, UnknownKeyAliasError, UnknownKeyIdError } from '../errors.js';
import type { MasterKey } from './master-key.js';

export interface KeyDescription {
  readonly keyId: string;
  readonly aliases: readonly string[];
  readonly scheme: WrapScheme;
  readonly source: string;
  readonly primary: boolean;
}

export interface UnwrapCacheOptions {
  /** Data keys kept unwrapped; 0 turns the cache off. */
  readonly max: number;
  readonly ttlMs: number;
}

/**
 * Unwrapped data keys of recently read objects, so a hot object's GET does not pay an unwrap
 * (a Vault round trip) every time. Bounded in count and age: a key revoked in Vault stops
 * working here within `ttlMs`.
 */
export const DEFAULT_UNWRAP_CACHE: UnwrapCacheOptions = { max: 10_000, ttlMs: 5 * 60_000 };

export class Keyring implements KeyringView {
  readonly #primary: MasterKey;
  readonly #keys: readonly MasterKey[];
  readonly #byId = new Map<string, MasterKey>();
  readonly #byAlias = new Map<string, MasterKey>();
  readonly #unwrapped: LRUCache<string, Buffer> | undefined;

  /** Refuses two sources holding the same key: the later one would be a second name that rotation could not tell apart. */
  constructor(primary: MasterKey, previous: readonly MasterKey[], readonly unwrapCache: UnwrapCacheOptions = DEFAULT_UNWRAP_CACHE) {
    this.#unwrapped = unwrapCache.max > 0 ? new LRUCache({ max: unwrapCache.max, ttl: unwrapCache.ttlMs }) : undefined;
    this.#primary = primary;
    this.#keys = [primary, ...previous];
    for (const key of this.#keys) {
      const same = this.#byId.get(key.keyId);
      if (same) throw new KeySourceError(key.source, `is the same key as ${same.source}; remove one of them`);
      this.#byId.set(key.keyId, key);
      for (const alias of key.aliases) this.#byAlias.set(alias, key);
    }
  }

  get primaryKeyId(): string {
    return this.#primary.keyId;
  }

  /** The alias recorded with each new wrap. */
  get primaryAlias(): string {
    return this.#primary.aliases[0] ?? this.#primary.keyId;
  }

  /** Wraps a data key with the primary key. */
  async wrap(dataKey: Buffer): Promise<EncryptionKeyFacts> {
    return (await this.wrapWithBytes(dataKey)).facts;
  }

  /** The same, with the wrapped bytes as well (a new data key's segment headers hold them: no decode of the base64). */
  async wrapWithBytes(dataKey: Buffer): Promise<{ readonly facts: EncryptionKeyFacts; readonly wrapped: Buffer }> {
    const wrapped = await this.#primary.wrap(dataKey);
    const facts = { keyId: this.#primary.keyId, keyAlias: this.primaryAlias, wrapScheme: this.#primary.scheme, wrappedKey: wrapped.toString('base64') };
    return { facts, wrapped };
  }

  /** Unwraps with the key the id names, whichever position it has in the config. */
  async unwrap(keyId: string, wrapScheme: WrapScheme, wrapped: Buffer): Promise<Buffer> {
    const key = this.#byId.get(keyId);
    if (!key) throw new UnknownKeyIdError(keyId, this.#keys.map((k) => `${k.aliases[0] ?? k.source}=${k.keyId}`));
    if (key.scheme !== wrapScheme) throw new KeyUnwrapError(keyId, `it was wrapped with ${wrapScheme}, but that key uses ${key.scheme}`);
    const cacheKey = `${keyId}:${wrapped.toString('base64')}`;
    const cached = this.#unwrapped?.get(cacheKey);
    if (cached) return Buffer.from(cached);
    const dataKey = await key.unwrap(wrapped);
    this.#unwrapped?.set(cacheKey, Buffer.from(dataKey));
    return dataKey;
  }

  has(keyId: string): boolean {
    return this.#byId.has(keyId);
  }

  /** The key id an alias or a key id names now. */
  resolve(aliasOrKeyId: string): string | undefined {
    return (this.#byAlias.get(aliasOrKeyId) ?? this.#byId.get(aliasOrKeyId))?.keyId;
  }

  resolveOrThrow(aliasOrKeyId: string): string {
    const keyId = this.resolve(aliasOrKeyId);
    if (keyId === undefined) throw new UnknownKeyAliasError(aliasOrKeyId, [...this.#byAlias.keys(), ...this.#byId.keys()]);
    return keyId;
  }

  /** The first alias of a configured key. */
  aliasOf(keyId: string): string | undefined {
    return this.#byId.get(keyId)?.aliases[0];
  }

  describe(): KeyDescription[] {
    return this.#keys.map((key) => ({ keyId: key.keyId, aliases: key.aliases, scheme: key.scheme, source: key.source, primary: key === this.#primary }));
  }

  async close(): Promise<void> {
    this.#unwrapped?.clear();
    await Promise.all(this.#keys.map((key) => key.close()));
  }
}
