/**
 * A minimal client for the Vault HTTP API calls the Transit key needs: JSON POSTs with
 * `X-Vault-Token`, a per-call time limit (10 s by default), an optional CA certificate for the
 * server's TLS certificate, and Vault's `{"errors": [...]}` bodies turned into typed errors.
 * Tokens never appear in errors.
 */
import { Agent, request } from 'undici';
import { KeyServiceError } from '../errors.js';

export interface VaultClientOptions {
  /** `https://vault:8200`; a path prefix is kept. */
  readonly address: string;
  /** PEM of the CA that signed Vault's certificate (`vault.ca_cert`). */
  readonly caCert?: Buffer;
  readonly timeoutMs: number;
}

/** A non-2xx answer: its status and Vault's error strings. */
export class VaultRequestError extends KeyServiceError {
  constructor(readonly path: string, status: number, readonly errors: readonly string[]) {
    super(status === 403 ? 'denied' : 'rejected',
      `Vault answered ${status} to ${path}${errors.length > 0 ? `: ${errors.join('; ').slice(0, 300)}` : ''}${status === 403 ? ' (check vault.token or vault.token_file, and the token\'s policy)' : ''}`,
      status);
  }
}

const tlsCodes = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function errorsOf(body: unknown): string[] {
  if (body !== null && typeof body === 'object' && Array.isArray((body as { errors?: unknown }).errors)) {
    return (body as { errors: unknown[] }).errors.filter((e): e is string => typeof e === 'string');
  }
  return [];
}

export class VaultClient {
  readonly #base: string;
  readonly #agent: Agent;
  readonly #timeoutMs: number;

  constructor(options: VaultClientOptions) {
    this.#base = options.address.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs;
    this.#agent = new Agent(options.caCert ? { connect: { ca: options.caCert } } : {});
  }

  get address(): string {
    return this.#base;
  }

  /** POSTs JSON to `/v1/<path>` and returns the parsed answer of a 2xx. */
  async post(path: string, token: string, body: unknown): Promise<unknown> {
    const signal = AbortSignal.timeout(this.#timeoutMs);
    let response;
    try {
      response = await request(`${this.#base}/v1/${path}`, {
        method: 'POST',
        headers: { 'x-vault-token': token, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        dispatcher: this.#agent,
        signal,
      });
    } catch (error) {
      throw this.#transportError(path, error, signal);
    }
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      throw this.#transportError(path, error, signal);
    }
    let parsed: unknown;
    try {
      parsed = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new KeyServiceError('bad-response', `Vault answered ${response.statusCode} to ${path} with a body that is not JSON`, response.statusCode);
    }
    if (response.statusCode < 200 || response.statusCode > 299) throw new VaultRequestError(path, response.statusCode, errorsOf(parsed));
    return parsed;
  }

  #transportError(path: string, error: unknown, signal: AbortSignal): KeyServiceError {
    if (signal.aborted) {
      return new KeyServiceError('timeout', `Vault at ${this.#base} did not answer ${path} within ${this.#timeoutMs / 1000} s`);
    }
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const hint = tlsCodes.has(code) ? ' (the server certificate is not trusted: check vault.ca_cert and vault.address)' : '';
    return new KeyServiceError('unreachable', `cannot reach Vault at ${this.#base} for ${path}: ${code || (error as Error).message}${hint}`);
  }

  close(): Promise<void> {
    return this.#agent.close();
  }
}
