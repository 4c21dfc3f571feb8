import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPostgresDataDir } from '../../ops/demo/demo-data-dir.js';

const isRoot = process.getuid?.() === 0;
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 's3o-demo-data-dir-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('defaultPostgresDataDir', () => {
  it('given a data root every account can pass through, then the database lives in <root>/postgres', async () => {
    await chmod(tmp, 0o755);
    expect(await defaultPostgresDataDir(join(tmp, 'data'))).toBe(join(tmp, 'data', 'postgres'));
  });

  it.skipIf(!isRoot)('given root and a 0700 checkout, then the database lives under /var/lib/s3o, the same for every call from there', async () => {
    const privateCheckout = await mkdtemp(join(tmp, 'checkout-'));
    await chmod(privateCheckout, 0o700);
    const dataRoot = join(privateCheckout, 'data');

    const first = await defaultPostgresDataDir(dataRoot);
    const again = await defaultPostgresDataDir(`${privateCheckout}/./data`);
    const other = await defaultPostgresDataDir(join(await mkdtemp(join(tmp, 'checkout-')), 'data'));

    expect(first.startsWith('/var/lib/s3o/postgres/checkout-')).toBe(true);
    expect(again).toBe(first);
    expect(other).not.toBe(first);
  });
});
