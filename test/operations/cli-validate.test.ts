import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { validateCommand } from '../../ops/cli/validate-command.js';

const valid = `
server:
  listen_addr: ":9000"
buckets:
  - name: photos
    credentials:
      - access_key_id: PHOTOSKEY
        secret_access_key: very-secret-value
backends:
  - name: b2
    endpoint: https://s3.us-west-002.backblazeb2.com
    bucket: my-photos
    access_key_id: K002
    secret_access_key: backend-secret-value
    quota_bytes: 10GB
`;

async function run(dir: string, name: string, text: string): Promise<{ code: number; out: string }> {
  const file = join(dir, name);
  await writeFile(file, text);
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  const err = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  try {
    return { code: await validateCommand(['--config', file]), out: lines.join('\n') };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

describe('s3o validate', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 's3o-validate-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('prints a summary of a valid file, without any secret, and exits 0', async () => {
    const { code, out } = await run(dir, 'ok.yaml', valid);
    expect(code).toBe(0);
    expect(out).toMatch(/is valid/);
    expect(out).toMatch(/b2/);
    expect(out).toMatch(/photos/);
    expect(out).not.toMatch(/very-secret-value|backend-secret-value/);
  });

  it('prints every error with its field path and exits 1', async () => {
    const broken = valid
      .replace('quota_bytes: 10GB', 'quota_bytes: -1\n    quta_bytes: 5')
      .replace('- name: photos', '- name: Photos/Bad')
      .concat('\nencryption:\n  enabled: true\n');
    const { code, out } = await run(dir, 'bad.yaml', broken);
    expect(code).toBe(1);
    expect(out).toMatch(/backends\[0\]\.quota_bytes/);
    expect(out).toMatch(/backends\[0\]\.quta_bytes: unknown key/);
    expect(out).toMatch(/buckets\[0\]\.name/);
    expect(out).toMatch(/encryption: enabled: true needs a key source/);
    expect(out).not.toMatch(/very-secret-value|backend-secret-value/);
    // Rules across sections are checked once the sections themselves are valid.
    const factor = await run(dir, 'factor.yaml', `${valid}\nreplication:\n  factor: 3\n`);
    expect(factor.code).toBe(1);
    expect(factor.out).toMatch(/replication\.factor \(3\) exceeds the number of backends \(1\)/);
  });
});
