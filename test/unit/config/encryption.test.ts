import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { stringify } from 'yaml';
import { validateCommand } from '../../../ops/cli/validate-command.js';
import { diffForReload } from '../../../ops/config/index.js';
import { mergeReloadable } from '../../../ops/reload.js';
import { baseConfig, configOf, errorsOf, withSections } from './config-fixtures.js';

const keyA = randomBytes(32).toString('base64');
const keyB = randomBytes(32).toString('base64');
const token = 'hvs.config-test-token-5d2a';
const vault = { address: 'https://vault:8200', token, key_name: 's3o' };

describe('encryption section', () => {
  test('defaults: off, 64 KiB chunks, no key source', () => {
    expect(configOf(baseConfig()).encryption).toEqual({
      enabled: false, chunk_size: 65_536, master_key: null, master_key_file: null, vault: null, previous_keys: [],
    });
  });

  test.each([
    ['an inline key with previous keys', { master_key: keyA, previous_keys: [keyB], chunk_size: '4KiB' }],
    ['a key file', { master_key_file: '/etc/s3o/master.key', chunk_size: '1MiB' }],
    ['vault with a token', { vault }],
    ['vault with a token file, a CA and a renew interval', { vault: { address: 'http://127.0.0.1:8200', token_file: '/run/vault-token', key_name: 'k', mount_path: 'kv/transit', ca_cert: '/etc/ca.pem', renew_interval: '1m' } }],
  ])('%s is accepted', (_name, encryption) => {
    const config = configOf(withSections({ encryption }));
    expect(config.encryption.enabled).toBe(false);
  });

  test('vault fields take their defaults', () => {
    expect(configOf(withSections({ encryption: { vault } })).encryption.vault).toEqual({
      address: 'https://vault:8200', token, token_file: null, key_name: 's3o', mount_path: 'transit', ca_cert: null, renew_interval: 300_000,
    });
  });

  test.each([
    ['chunk_size not a power of two', { chunk_size: 5000 }, 'encryption.chunk_size: must be a power of two from 4KiB (4096) to 1MiB (1048576), e.g. 64KiB'],
    ['chunk_size below 4 KiB', { chunk_size: '2KiB' }, 'encryption.chunk_size: must be a power of two from 4KiB'],
    ['chunk_size above 1 MiB', { chunk_size: '2MiB' }, 'encryption.chunk_size: must be a power of two from 4KiB'],
    ['a short master_key', { master_key: randomBytes(16).toString('base64') }, 'encryption.master_key: must be a base64-encoded 32-byte key, but it decodes to 16 bytes'],
    ['a master_key that is not base64', { master_key: 'correct horse battery staple' }, 'encryption.master_key: must be a base64-encoded 32-byte key (generate one with: openssl rand -base64 32)'],
    ['a bad previous key', { master_key: keyA, previous_keys: [keyB, 'AAAA'] }, 'encryption.previous_keys[1]: must be a base64-encoded 32-byte key, but it decodes to 3 bytes'],
    ['two key sources', { master_key: keyA, vault }, 'encryption: set exactly one key source: master_key, master_key_file or vault (found master_key and vault)'],
    ['the primary key again in previous_keys', { master_key: keyA, previous_keys: [keyB, keyA] }, 'encryption.previous_keys[1]: is the same key as encryption.master_key; remove one of them'],
    ['a previous key twice', { master_key: keyA, previous_keys: [keyB, keyB] }, 'encryption.previous_keys[1]: is the same key as encryption.previous_keys[0]'],
    ['vault without an address', { vault: { token, key_name: 's3o' } }, 'encryption.vault.address: is required (e.g. https://vault:8200)'],
    ['vault with an address that is not a URL', { vault: { ...vault, address: 'vault:8200' } }, 'encryption.vault.address: must be an http:// or https:// URL'],
    ['vault without a key name', { vault: { address: 'https://vault:8200', token } }, 'encryption.vault.key_name: is required'],
    ['vault without a token', { vault: { address: 'https://vault:8200', key_name: 's3o' } }, 'encryption.vault: set token or token_file'],
    ['vault with a token and a token file', { vault: { ...vault, token_file: '/run/t' } }, 'encryption.vault: set token or token_file, not both'],
    ['a zero renew interval', { vault: { ...vault, renew_interval: 0 } }, 'encryption.vault.renew_interval: must be > 0'],
    ['a misspelt key', { master_keys: keyA }, 'encryption.master_keys: unknown key (did you mean master_key?)'],
  ])('%s is refused, naming the field', (_name, encryption, message) => {
    const errors = errorsOf(withSections({ encryption }));
    expect(errors.some((error) => error.startsWith(message)), errors.join('\n')).toBe(true);
  });

  test('every mistake of the section is reported at once, and no key or token is quoted', () => {
    const short = randomBytes(20).toString('base64');
    const errors = errorsOf(withSections({ encryption: { master_key: short, previous_keys: [short], chunk_size: 3000, vault: { token } } }));
    expect(errors).toEqual(expect.arrayContaining([
      expect.stringMatching(/^encryption\.master_key: /),
      expect.stringMatching(/^encryption\.previous_keys\[0\]: /),
      expect.stringMatching(/^encryption\.chunk_size: /),
      expect.stringMatching(/^encryption\.vault\.address: /),
    ]));
    for (const secret of [short, token]) expect(errors.join('\n')).not.toContain(secret);
  });

  test('enabled: true with a valid key source is accepted', () => {
    expect(configOf(withSections({ encryption: { enabled: true, master_key: keyA } })).encryption).toMatchObject({ enabled: true, chunk_size: 65_536 });
  });

  test('enabled: true without a key source is refused, saying what is missing', () => {
    expect(errorsOf(withSections({ encryption: { enabled: true } }))).toEqual([
      'encryption: enabled: true needs a key source: master_key, master_key_file or vault',
    ]);
  });

  test('s3o validate prints the mistakes by field path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 's3o-validate-encryption-'));
    const file = join(dir, 'config.yaml');
    await writeFile(file, stringify(withSections({ encryption: { master_key: 'c2hvcnQta2V5LXh5eg==', chunk_size: '100KiB', vault: { address: 'x' } } })));
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    const err = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    try {
      expect(await validateCommand(['--config', file])).toBe(1);
    } finally {
      log.mockRestore();
      err.mockRestore();
      await rm(dir, { recursive: true, force: true });
    }
    const out = lines.join('\n');
    expect(out).toMatch(/encryption\.master_key: must be a base64-encoded 32-byte key/);
    expect(out).toMatch(/encryption\.chunk_size: must be a power of two/);
    expect(out).toMatch(/encryption\.vault\.address: must be an http/);
    expect(out).toMatch(/decodes to 13 bytes/);
    expect(out).not.toContain('c2hvcnQta2V5LXh5eg==');
  });
});

describe('reload', () => {
  const current = configOf(withSections({ encryption: { master_key: keyA } }));

  test.each([
    ['a new primary key', { master_key: keyB, previous_keys: [keyA] }, ['encryption.master_key', 'encryption.previous_keys[0] (added)']],
    ['another chunk size', { master_key: keyA, chunk_size: '128KiB' }, ['encryption.chunk_size']],
    ['switching to vault', { vault }, ['encryption.master_key', 'encryption.vault']],
  ])('%s needs a restart; SIGHUP keeps the running keys', (_name, encryption, paths) => {
    const next = configOf(withSections({ encryption }));
    const diff = diffForReload(current, next);
    expect(diff.restartRequired).toEqual(paths);
    expect(diff.reloadable.paths).toEqual([]);
    expect(mergeReloadable(current, next).encryption).toBe(current.encryption);
  });
});
