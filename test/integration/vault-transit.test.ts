/**
 * The Vault Transit key provider against the Transit stand-in (test/support/vault-transit-standin.ts):
 * wrap/unwrap round trips through the documented API, Vault-side key rotation, tokens (inline
 * renewed, file re-read), TLS with ca_cert, and the failures: 403, a damaged wrap, a refused
 * connection, a server that never answers.
 */
import { chmodSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { planFullRead } from '../../domain/encryption/read-plan.js';
import {
  createDataKey, createKeyring, createRangeDecryptStream, createStoredObjectDecryptStream, KeyServiceError, KeySourceError, KeyUnwrapError,
  openDataKey, vaultKeyFingerprint, type EncryptionKeySettings, type Keyring, type VaultSettings,
} from '../../infra/crypto/index.js';
import { encryptParts, plaintextOf, runThrough } from '../support/encryption.js';
import { createTestCertificates, type TestCertificates } from '../support/test-ca.js';
import { startVaultTransitStandIn, type VaultTransitStandIn } from '../support/vault-transit-standin.js';

const TOKEN = 'hvs.test-token-4b1e90';

const vault = (overrides: Partial<VaultSettings>): EncryptionKeySettings => ({
  master_key: null,
  master_key_file: null,
  previous_keys: [],
  vault: { address: null, token: TOKEN, token_file: null, key_name: 's3o', mount_path: 'transit', ca_cert: null, renew_interval: 300_000, ...overrides },
});

let standIn: VaultTransitStandIn;
let dir: string;
const opened: Keyring[] = [];

async function keyringFor(settings: EncryptionKeySettings, options: Parameters<typeof createKeyring>[1] = {}): Promise<Keyring> {
  const keyring = await createKeyring(settings, options);
  opened.push(keyring);
  return keyring;
}

beforeAll(async () => {
  standIn = await startVaultTransitStandIn({ tokens: [TOKEN] });
  dir = mkdtempSync(join(tmpdir(), 's3o-vault-test-'));
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((keyring) => keyring.close()));
});

afterAll(async () => {
  await standIn.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Vault Transit round trips', () => {
  test('a data key is wrapped by encrypt and unwrapped by decrypt, with the documented requests', async () => {
    const keyring = await keyringFor(vault({ address: standIn.address }));
    standIn.requests.length = 0;
    const dataKey = await createDataKey(keyring, 4096);
    expect(dataKey.key).toMatchObject({ keyId: vaultKeyFingerprint('transit', 's3o'), keyAlias: 's3o', wrapScheme: 'vault-transit' });
    const wrapped = Buffer.from(dataKey.key.wrappedKey, 'base64').toString('utf8');
    expect(wrapped).toMatch(/^vault:v1:[A-Za-z0-9+/=]+$/);

    const object = encryptParts(dataKey, [plaintextOf(10_000)], [0]);
    const reopened = await openDataKey(keyring, object.envelope);
    const plan = planFullRead(object.envelope);
    if (!plan) throw new Error('no plan');
    const read = await runThrough(createRangeDecryptStream(plan, object.envelope, reopened), [object.stored.subarray(plan.backendRange.start)]);
    expect(read.equals(object.plaintext)).toBe(true);
    expect((await runThrough(createStoredObjectDecryptStream(keyring), [object.stored])).equals(object.plaintext)).toBe(true);

    const [encrypt, decrypt] = standIn.requests;
    expect(encrypt).toMatchObject({ method: 'POST', path: '/v1/transit/encrypt/s3o', token: TOKEN });
    expect(Buffer.from((encrypt?.body as { plaintext: string }).plaintext, 'base64')).toHaveLength(32);
    expect(Object.keys(encrypt?.body as object)).toEqual(['plaintext']);
    expect(decrypt).toMatchObject({ method: 'POST', path: '/v1/transit/decrypt/s3o', token: TOKEN, body: { ciphertext: wrapped } });
  });

  test('the key id is the mount and key name\'s fingerprint; its aliases are the key name and vault:<mount>/<name>', async () => {
    const keyring = await keyringFor(vault({ address: `${standIn.address}/`, mount_path: '/transit/' }));
    const keyId = vaultKeyFingerprint('transit', 's3o');
    expect(keyring.primaryKeyId).toBe(keyId);
    expect(keyring.resolve('s3o')).toBe(keyId);
    expect(keyring.resolve('vault:transit/s3o')).toBe(keyId);
    expect(vaultKeyFingerprint('transit', 'other')).not.toBe(keyId);
    expect(vaultKeyFingerprint('transit2', 's3o')).not.toBe(keyId);
  });

  test('after the key is rotated in Vault, new wraps use the new version and old wraps still unwrap', async () => {
    const keyring = await keyringFor(vault({ address: standIn.address, key_name: 'rotating' }));
    const before = await createDataKey(keyring, 4096);
    const rotate = await fetch(`${standIn.address}/v1/transit/keys/rotating/rotate`, { method: 'POST', headers: { 'x-vault-token': TOKEN } });
    expect(rotate.status).toBe(204);
    const after = await createDataKey(keyring, 4096);
    expect(Buffer.from(after.key.wrappedKey, 'base64').toString()).toMatch(/^vault:v2:/);
    expect(after.key.keyId).toBe(before.key.keyId);
    const object = encryptParts(before, [plaintextOf(100)], [0]);
    expect((await runThrough(createStoredObjectDecryptStream(keyring), [object.stored])).equals(object.plaintext)).toBe(true);
  });

  test('unwrapped data keys are cached (bounded), so reading a hot object again does not ask Vault; the cache can be turned off', async () => {
    const decrypts = () => standIn.requests.filter((r) => r.path === '/v1/transit/decrypt/s3o').length;
    for (const [unwrapCache, expected] of [[undefined, 1], [{ max: 0, ttlMs: 0 }, 3]] as const) {
      const keyring = await keyringFor(vault({ address: standIn.address }), unwrapCache ? { unwrapCache } : {});
      const dataKey = await createDataKey(keyring, 4096);
      const facts = { chunkSize: 4096, headerLength: dataKey.headerLength, key: dataKey.key };
      const before = decrypts();
      for (let i = 0; i < 3; i += 1) await openDataKey(keyring, facts);
      expect(decrypts() - before).toBe(expected);
    }
  });

  test('a previous local key next to a Vault primary', async () => {
    const local = Buffer.alloc(32, 9).toString('base64');
    const keyring = await keyringFor({ ...vault({ address: standIn.address }), previous_keys: [local] });
    expect(keyring.describe().map((k) => [k.aliases[0], k.scheme, k.primary])).toEqual([['s3o', 'vault-transit', true], ['config-1', 'aes256-kw', false]]);
  });
});

describe('Vault failures are typed errors that never carry the token', () => {
  test('a token Vault does not accept: 403, denied', async () => {
    const keyring = await keyringFor(vault({ address: standIn.address, token: 'hvs.not-issued-77' }));
    const error = await createDataKey(keyring, 4096).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyServiceError);
    expect(error).toMatchObject({ problem: 'denied', status: 403 });
    expect((error as Error).message).toMatch(/403.*permission denied.*vault\.token/);
    expect((error as Error).message).not.toContain('hvs.not-issued-77');
  });

  test('a damaged wrap: Vault refuses to decrypt it (400), an unwrap error', async () => {
    const keyring = await keyringFor(vault({ address: standIn.address }));
    const dataKey = await createDataKey(keyring, 4096);
    const text = Buffer.from(dataKey.key.wrappedKey, 'base64').toString();
    const damaged = `${text.slice(0, 20)}${text[20] === 'A' ? 'B' : 'A'}${text.slice(21)}`;
    const facts = { chunkSize: 4096, headerLength: dataKey.headerLength, key: { ...dataKey.key, wrappedKey: Buffer.from(damaged).toString('base64') } };
    await expect(openDataKey(keyring, facts)).rejects.toThrow(KeyUnwrapError);
    await expect(openDataKey(keyring, facts)).rejects.toThrow(/message authentication failed/);
  });

  test('nothing listening: unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const keyring = await keyringFor(vault({ address: `http://127.0.0.1:${port}` }));
    await expect(createDataKey(keyring, 4096)).rejects.toMatchObject({ name: 'KeyServiceError', problem: 'unreachable' });
  });

  test('a server that accepts and never answers: a timeout error, not a hang', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const keyring = await keyringFor(vault({ address: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` }), { timeoutMs: 300 });
      const error = await createDataKey(keyring, 4096).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'KeyServiceError', problem: 'timeout' });
      expect((error as Error).message).toMatch(/did not answer .* within 0\.3 s/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('tokens', () => {
  test('an inline token is renewed with renew-self every renew_interval', async () => {
    const token = 'hvs.renewed-token-1';
    standIn.tokens.add(token);
    await keyringFor(vault({ address: standIn.address, token, renew_interval: 20 }));
    await vi.waitFor(() => expect(standIn.renewals.get(token)).toBeGreaterThanOrEqual(2), { timeout: 20_000, interval: 10 });
    expect(standIn.requests.find((r) => r.path === '/v1/auth/token/renew-self' && r.token === token)).toMatchObject({ method: 'POST' });
  });

  test('a token file is re-read every renew_interval, so a replaced token takes over', async () => {
    const file = join(dir, 'token-rotating');
    writeFileSync(file, 'hvs.first-token\n', { mode: 0o600 });
    standIn.tokens.add('hvs.first-token');
    const warnings: string[] = [];
    const keyring = await keyringFor(vault({ address: standIn.address, token: null, token_file: file, renew_interval: 20 }), { onWarning: (m) => warnings.push(m) });
    await createDataKey(keyring, 4096);

    // The agent writes a new token and the old one is revoked.
    standIn.tokens.add('hvs.second-token');
    writeFileSync(file, 'hvs.second-token\n', { mode: 0o600 });
    standIn.tokens.delete('hvs.first-token');
    await vi.waitFor(() => createDataKey(keyring, 4096), { timeout: 20_000, interval: 10 });
    expect(standIn.requests.at(-1)?.token).toBe('hvs.second-token');

    // A token file that vanishes: a warning, and the token already read stays in use.
    unlinkSync(file);
    await vi.waitFor(() => expect(warnings.some((w) => w.includes('encryption.vault.token_file') && w.includes('file not found'))).toBe(true), { timeout: 20_000, interval: 10 });
    await createDataKey(keyring, 4096);
    expect(warnings.join('\n')).not.toContain('hvs.');
  });

  test('a token file readable by others is refused at startup, naming the field', async () => {
    const file = join(dir, 'token-open');
    writeFileSync(file, `${TOKEN}\n`);
    chmodSync(file, 0o644);
    const error = await createKeyring(vault({ address: standIn.address, token: null, token_file: file })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeySourceError);
    expect((error as Error).message).toMatch(/^encryption\.vault\.token_file: .* has mode 0644/);
  });

  test('an empty token file is refused', async () => {
    const file = join(dir, 'token-empty');
    writeFileSync(file, '\n', { mode: 0o600 });
    await expect(createKeyring(vault({ address: standIn.address, token: null, token_file: file }))).rejects.toThrow(/encryption\.vault\.token_file: .* is empty/);
  });
});

describe('TLS with ca_cert', () => {
  let certificates: TestCertificates;
  let tlsStandIn: VaultTransitStandIn;

  beforeAll(async () => {
    certificates = createTestCertificates();
    tlsStandIn = await startVaultTransitStandIn({ tokens: [TOKEN], tls: { cert: certificates.serverCert, key: certificates.serverKey } });
  });

  afterAll(async () => {
    await tlsStandIn.close();
    certificates.remove();
  });

  test('the server certificate is trusted through vault.ca_cert', async () => {
    const keyring = await keyringFor(vault({ address: tlsStandIn.address, ca_cert: certificates.caCertPath }));
    const dataKey = await createDataKey(keyring, 4096);
    await expect(openDataKey(keyring, { chunkSize: 4096, headerLength: dataKey.headerLength, key: dataKey.key })).resolves.toBeDefined();
  });

  test('without ca_cert the certificate is not trusted: unreachable, with a hint', async () => {
    const keyring = await keyringFor(vault({ address: tlsStandIn.address }));
    const error = await createDataKey(keyring, 4096).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'KeyServiceError', problem: 'unreachable' });
    expect((error as Error).message).toContain('check vault.ca_cert');
  });

  test('an unreadable ca_cert is refused at startup, naming the field', async () => {
    await expect(createKeyring(vault({ address: tlsStandIn.address, ca_cert: join(dir, 'missing.pem') }))).rejects.toThrow(/^encryption\.vault\.ca_cert: cannot read/);
  });
});
