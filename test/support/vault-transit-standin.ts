/**
 * A STAND-IN for HashiCorp Vault's Transit secrets engine (no Vault server can run here), for
 * testing the Vault key provider. It keeps to the documented HTTP API and only to the calls the
 * provider makes:
 * - `POST /v1/<mount>/encrypt/<name>` `{"plaintext": base64}` → `{"data": {"ciphertext": "vault:vN:…", "key_version": N}}`
 *   (the key is created on first use, as Transit's encrypt does by default);
 * - `POST /v1/<mount>/decrypt/<name>` `{"ciphertext": "vault:vN:…"}` → `{"data": {"plaintext": base64}}`;
 * - `POST /v1/<mount>/keys/<name>/rotate` (a new key version; old versions still decrypt);
 * - `POST /v1/auth/token/renew-self` → `{"auth": {…}}`;
 * with `X-Vault-Token` checked on every call (403 `{"errors":["permission denied"]}`), errors as
 * `{"errors": [...]}` with Vault's status codes, and optionally TLS.
 * Ciphertexts are AES-256-GCM under a random key per version: nonce ‖ ciphertext ‖ tag, base64.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface RecordedVaultRequest {
  readonly method: string;
  readonly path: string;
  readonly token: string | undefined;
  readonly body: unknown;
}

export interface VaultTransitStandIn {
  readonly address: string;
  readonly requests: RecordedVaultRequest[];
  /** Tokens it accepts; change it to revoke or issue tokens. */
  readonly tokens: Set<string>;
  readonly renewals: Map<string, number>;
  close(): Promise<void>;
}

export interface VaultStandInOptions {
  readonly tokens: readonly string[];
  /** Transit mounts it serves (default `transit`). */
  readonly mounts?: readonly string[];
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
}

class VaultError extends Error {
  constructor(readonly status: number, readonly errors: readonly string[]) {
    super(errors.join('; '));
  }
}

function sealWith(key: Buffer, plaintext: Buffer): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64');
}

function openWith(key: Buffer, sealed: Buffer): Buffer {
  if (sealed.length < 28) throw new VaultError(400, ['invalid ciphertext: ciphertext too short']);
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
  } catch {
    throw new VaultError(400, ['cipher: message authentication failed']);
  }
}

function stringField(body: unknown, name: string, missing: string): string {
  const value = (body as Record<string, unknown> | null)?.[name];
  if (typeof value !== 'string' || value === '') throw new VaultError(400, [missing]);
  return value;
}

export async function startVaultTransitStandIn(options: VaultStandInOptions): Promise<VaultTransitStandIn> {
  const mounts = new Set(options.mounts ?? ['transit']);
  const keys = new Map<string, Buffer[]>();
  const tokens = new Set(options.tokens);
  const renewals = new Map<string, number>();
  const requests: RecordedVaultRequest[] = [];

  const routes: [RegExp, (match: RegExpExecArray, body: unknown, token: string) => unknown][] = [
    [/^auth\/token\/renew-self$/, (_m, _b, token) => {
      renewals.set(token, (renewals.get(token) ?? 0) + 1);
      return { auth: { client_token: token, accessor: '', policies: ['default'], lease_duration: 3600, renewable: true } };
    }],
    [/^(.+)\/encrypt\/([^/]+)$/, (m, body) => {
      const name = `${m[1]}/${m[2]}`;
      const plaintext = Buffer.from(stringField(body, 'plaintext', 'missing plaintext to encrypt'), 'base64');
      const versions = keys.get(name) ?? [randomBytes(32)];
      keys.set(name, versions);
      return { data: { ciphertext: `vault:v${versions.length}:${sealWith(versions.at(-1) as Buffer, plaintext)}`, key_version: versions.length } };
    }],
    [/^(.+)\/decrypt\/([^/]+)$/, (m, body) => {
      const versions = keys.get(`${m[1]}/${m[2]}`);
      if (!versions) throw new VaultError(400, ['encryption key not found']);
      const ciphertext = stringField(body, 'ciphertext', 'missing ciphertext to decrypt');
      const parsed = /^vault:v(\d+):(.+)$/.exec(ciphertext);
      if (!parsed) throw new VaultError(400, ['invalid ciphertext: no prefix']);
      const key = versions[Number(parsed[1]) - 1];
      if (!key) throw new VaultError(400, ['invalid key version']);
      return { data: { plaintext: openWith(key, Buffer.from(parsed[2] as string, 'base64')).toString('base64') } };
    }],
    [/^(.+)\/keys\/([^/]+)\/rotate$/, (m) => {
      const versions = keys.get(`${m[1]}/${m[2]}`);
      if (!versions) throw new VaultError(400, ['encryption key not found']);
      versions.push(randomBytes(32));
      return undefined;
    }],
  ];

  function answer(path: string, body: unknown, token: string | undefined): { status: number; json: unknown } {
    if (token === undefined || !tokens.has(token)) throw new VaultError(403, ['permission denied']);
    for (const [pattern, handle] of routes) {
      const match = pattern.exec(path);
      if (!match) continue;
      if (pattern !== routes[0]?.[0] && !mounts.has(match[1] as string)) {
        throw new VaultError(404, [`no handler for route "${path}". route entry not found.`]);
      }
      const data = handle(match, body, token);
      if (data === undefined) return { status: 204, json: undefined };
      return { status: 200, json: { request_id: randomUUID(), lease_id: '', renewable: false, lease_duration: 0, wrap_info: null, warnings: null, auth: null, ...data } };
    }
    throw new VaultError(404, []);
  }

  const handler = (request: IncomingMessage, response: ServerResponse): void => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = (request.url ?? '').replace(/^\/v1\//, '');
      const header = request.headers['x-vault-token'];
      const token = Array.isArray(header) ? header[0] : header;
      let result: { status: number; json: unknown };
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = text === '' ? {} : JSON.parse(text);
        } catch {
          throw new VaultError(400, ['failed to parse JSON input']);
        }
        requests.push({ method: request.method ?? '', path: request.url ?? '', token, body });
        if (request.method !== 'POST' && request.method !== 'PUT') throw new VaultError(405, ['unsupported operation']);
        if (!request.url?.startsWith('/v1/')) throw new VaultError(404, []);
        result = answer(path, body, token);
      } catch (error) {
        if (!(error instanceof VaultError)) throw error;
        result = { status: error.status, json: { errors: error.errors } };
      }
      response.writeHead(result.status, result.json === undefined ? {} : { 'content-type': 'application/json' });
      response.end(result.json === undefined ? undefined : JSON.stringify(result.json));
    });
  };

  const server: Server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler) : createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    tokens,
    renewals,
    close: () => new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((error) => (error ? reject(error) : resolve()));
    }),
  };
}
