import type pg from 'pg';
import { describe, expect, test } from 'vitest';
import { BackendDirectory, type BackendSettings } from '../../../services/backends/backend-directory.js';
import { CopyHealth } from '../../../services/replication/copy-health.js';
import { UsageMeter } from '../../../services/usage/usage-meter.js';

const settings = (name: string, quotaBytes: number): BackendSettings => ({
  name,
  connection: { name, endpoint: 'http://127.0.0.1:9', region: 'us-east-1', bucket: name, accessKeyId: 'k', secretAccessKey: 's', forcePathStyle: true, timeoutMs: 1000 },
  quotaBytes,
  maxObjectSize: 0,
  limits: { apiRequestLimit: 0, egressByteLimit: 0, ingressByteLimit: 0 },
});

/** The usage and lifecycle rows the directory would read from the projections. */
function projection(rows: { backend: string; state: string; used: number }[]): pg.Pool {
  const result = rows.map((r) => ({
    backend: r.backend, state: r.state, quota_bytes: '1000', bytes_used: String(r.used), object_count: '1', orphan_bytes: '0', pending_bytes: '0',
  }));
  return { query: async () => ({ rows: result }) } as unknown as pg.Pool;
}

async function directory(): Promise<BackendDirectory> {
  const d = new BackendDirectory(
    ['drn', 'brk', 'full', 'roomy', 'gone'].map((n) => settings(n, 1000)),
    { enabled: true, failureThreshold: 1, openTimeoutMs: 60_000 },
    new UsageMeter(),
  );
  await d.refresh(projection([
    { backend: 'drn', state: 'draining', used: 100 },
    { backend: 'brk', state: 'active', used: 100 },
    { backend: 'full', state: 'active', used: 900 },
    { backend: 'roomy', state: 'active', used: 200 },
    { backend: 'gone', state: 'removed', used: 100 },
  ]));
  d.require('brk').breaker.recordFailure();
  return d;
}

const copy = (backend: string) => ({ backend, storageKey: `k@${backend}`, size: 1 });

describe('copy health', () => {
  test('copies on active and draining backends count, on removed or unknown ones not', async () => {
    const health = new CopyHealth(await directory(), () => 600_000);
    expect(health.countedCopies(['drn', 'brk', 'full', 'roomy', 'gone', 'unknown'].map(copy)).map((c) => c.backend))
      .toEqual(['drn', 'brk', 'full', 'roomy']);
  });

  test('a copy on a backend whose breaker is open longer than the threshold does not count', async () => {
    const d = await directory();
    const health = new CopyHealth(d, () => 600_000);
    expect(health.counts('brk')).toBe(true);
    // Open for at least 0 ms: "longer than the threshold" whatever the clock says.
    const longAgo = new CopyHealth(d, () => 0);
    expect(longAgo.counts('brk')).toBe(false);
    expect(longAgo.counts('roomy')).toBe(true);
  });

  test('excess copies go from a draining backend, then a circuit-broken one, then the most utilised', async () => {
    const health = new CopyHealth(await directory(), () => 600_000);
    const copies = ['roomy', 'full', 'brk', 'drn'].map(copy);
    expect(health.chooseToDrop(copies, 1).map((c) => c.backend)).toEqual(['drn']);
    expect(health.chooseToDrop(copies, 2).map((c) => c.backend)).toEqual(['drn', 'brk']);
    expect(health.chooseToDrop(copies, 3).map((c) => c.backend)).toEqual(['drn', 'brk', 'full']);
    expect(health.chooseToDrop(copies, 0)).toEqual([]);
  });
});
