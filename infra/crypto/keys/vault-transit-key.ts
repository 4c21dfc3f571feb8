/**
 * A master key kept in Vault's Transit secrets engine: data keys are wrapped by
 * `POST /v1/<mount>/encrypt/<key>` and unwrapped by `POST /v1/<mount>/decrypt/<key>`; the key
 * material never leaves Vault. Its id is a fingerprint of the mount and key name (the material
 * is not ours to hash): Vault's own key versions live inside its `vault:vN:` ciphertexts, so
 * rotating the key in Vault keeps the id and old wraps still decrypt.
 *
 * The token is `vault.token` (renewed with `auth/token/renew-self` every `renew_interval`, as
 * the reference does) or `vault.token_file` (re-read every `renew_interval`, so an agent can
 * replace it). A failed refresh keeps the token it has and is reported as a warning.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { KeyServiceError, KeySourceError, KeyUnwrapError } from '../errors.js';
import { KEY_BYTES, type MasterKey } from './master-key.js';
import { readPrivateFile } from './private-file.js';
import { VaultClient, VaultRequestError } from './vault-client.js';

export interface VaultSettings {
  readonly address: string | null;
  readonly token: string | null;
  readonly token_file: string | null;
  readonly key_name: string | null;
  readonly mount_path: string;
  readonly ca_cert: string | null;
  /** Milliseconds. */
  readonly renew_interval: number;
}

export interface VaultKeyOptions {
  /** Per-call limit; 10 s unless a test needs less. */
  readonly timeoutMs?: number;
  readonly onWarning?: (message: string) => void;
}

const FIELD = 'encryption.vault';
const MAX_TOKEN_FILE_BYTES = 64 * 1024;

/** Fingerprint of a Transit key: SHA-256 of a label, the mount and the key name, first 8 bytes. */
export function vaultKeyFingerprint(mountPath: string, keyName: string): string {
  return createHash('sha256').update(`s3o/vault-transit-key/v1\0${mountPath}\0${keyName}`).digest().subarray(0, 8).toString('hex');
}

function normalizeMount(mountPath: string): string {
  return mountPath.split('/').filter((part) => part !== '').join('/');
}

async function readTokenFile(path: string): Promise<string> {
  const token = (await readPrivateFile(path, `${FIELD}.token_file`, MAX_TOKEN_FILE_BYTES)).toString('utf8').trim();
  if (token === '') throw new KeySourceError(`${FIELD}.token_file`, `${path} is empty`);
  return token;
}

function dataOf(answer: unknown, field: string, path: string): string {
  const data = (answer as { data?: Record<string, unknown> } | null)?.data;
  const value = data?.[field];
  if (typeof value !== 'string' || value === '') throw new KeyServiceError('bad-response', `Vault's answer to ${path} has no data.${field}`);
  return value;
}

export class VaultTransitKey implements MasterKey {
  readonly keyId: string;
  readonly aliases: readonly string[];
  readonly scheme = 'vault-transit' as const;
  readonly source = FIELD;
  readonly #client: VaultClient;
  readonly #encryptPath: string;
  readonly #decryptPath: string;
  readonly #tokenFile: string | null;
  readonly #onWarning: (message: string) => void;
  #token: string;
  #timer: NodeJS.Timeout | undefined;

  private constructor(client: VaultClient, mountPath: string, keyName: string, token: string, tokenFile: string | null, onWarning: (message: string) => void) {
    this.#client = client;
    this.keyId = vaultKeyFingerprint(mountPath, keyName);
    this.aliases = [keyName, `vault:${mountPath}/${keyName}`];
    const mount = mountPath.split('/').map(encodeURIComponent).join('/');
    this.#encryptPath = `${mount}/encrypt/${encodeURIComponent(keyName)}`;
    this.#decryptPath = `${mount}/decrypt/${encodeURIComponent(keyName)}`;
    this.#token = token;
    this.#tokenFile = tokenFile;
    this.#onWarning = onWarning;
  }

  /** Reads the token (file) and CA certificate and starts the refresh timer; no request to Vault yet. */
  static async open(settings: VaultSettings, options: VaultKeyOptions = {}): Promise<VaultTransitKey> {
    if (!settings.address) throw new KeySourceError(`${FIELD}.address`, 'is required');
    if (!settings.key_name) throw new KeySourceError(`${FIELD}.key_name`, 'is required');
    const token = settings.token_file !== null ? await readTokenFile(settings.token_file) : settings.token;
    if (!token) throw new KeySourceError(FIELD, 'set token or token_file');
    const caCert = settings.ca_cert === null ? undefined : await readCaCert(settings.ca_cert);
    const client = new VaultClient({ address: settings.address, timeoutMs: options.timeoutMs ?? 10_000, ...(caCert ? { caCert } : {}) });
    const key = new VaultTransitKey(client, normalizeMount(settings.mount_path), settings.key_name, token, settings.token_file, options.onWarning ?? (() => undefined));
    key.#timer = setInterval(() => void key.refreshToken().catch((error: unknown) => key.#onWarning((error as Error).message)), settings.renew_interval);
    key.#timer.unref();
    return key;
  }

  /** Re-reads the token file, or renews the inline token; what the timer runs every renew_interval. */
  async refreshToken(): Promise<void> {
    if (this.#tokenFile !== null) {
      this.#token = await readTokenFile(this.#tokenFile);
      return;
    }
    await this.#client.post('auth/token/renew-self', this.#token, {});
  }

  async wrap(dataKey: Buffer): Promise<Buffer> {
    const answer = await this.#client.post(this.#encryptPath, this.#token, { plaintext: dataKey.toString('base64') });
    const ciphertext = dataOf(answer, 'ciphertext', this.#encryptPath);
    if (!ciphertext.startsWith('vault:v')) throw new KeyServiceError('bad-response', `Vault's ciphertext from ${this.#encryptPath} does not start with vault:v`);
    return Buffer.from(ciphertext, 'utf8');
  }

  async unwrap(wrapped: Buffer): Promise<Buffer> {
    let answer;
    try {
      answer = await this.#client.post(this.#decryptPath, this.#token, { ciphertext: wrapped.toString('utf8') });
    } catch (error) {
      // Vault answers 400 to a ciphertext it cannot authenticate or parse: the wrap is bad, not Vault.
      if (error instanceof VaultRequestError && error.status === 400) {
        throw new KeyUnwrapError(this.keyId, `Vault could not decrypt it (${error.errors.join('; ').slice(0, 200)})`);
      }
      throw error;
    }
    const plaintext = Buffer.from(dataOf(answer, 'plaintext', this.#decryptPath), 'base64');
    if (plaintext.length !== KEY_BYTES) throw new KeyUnwrapError(this.keyId, `Vault returned ${plaintext.length} bytes, not a 32-byte data key`);
    return plaintext;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#client.close();
  }
}

async function readCaCert(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new KeySourceError(`${FIELD}.ca_cert`, `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
