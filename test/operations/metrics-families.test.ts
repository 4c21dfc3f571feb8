import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../support/s3-e2e.js';
import { startStack, type TestStack } from '../support/orchestrator.js';

/**
 * Every metric family the reference exports (anchor-behaviour §2.15), and what this project
 * does with it: `fed` families must hold samples after the operations below (writes and reads,
 * a drain across a restart, a rebalance, replication and over-replication passes, a lifecycle
 * pass), the main ones with the values those operations produce;
 * `declared` ones are exported and fed by conditions other tests create (named); `absent` ones
 * are not exported, with the reason. A `declared` family names the test that checks its value
 * after feeding it, and that test must mention it.
 */
const reference: Record<string, { status: 'fed' | 'declared' | 'absent'; why?: string; test?: string }> = {
  s3o_requests_total: { status: 'fed' },
  s3o_request_duration_seconds: { status: 'fed' },
  s3o_request_size_bytes: { status: 'fed' },
  s3o_response_size_bytes: { status: 'fed' },
  s3o_inflight_requests: { status: 'fed' },
  s3o_build_info: { status: 'fed' },
  s3o_backend_requests_total: { status: 'fed' },
  s3o_backend_duration_seconds: { status: 'fed' },
  s3o_manager_requests_total: { status: 'fed' },
  s3o_manager_duration_seconds: { status: 'fed' },
  s3o_write_failover_total: { status: 'declared', why: 'a write failing over from a dead backend', test: 'test/operations/metrics-fed-by-failures.test.ts' },
  s3o_quota_bytes_used: { status: 'fed' },
  s3o_quota_bytes_limit: { status: 'fed' },
  s3o_quota_bytes_available: { status: 'fed' },
  s3o_quota_orphan_bytes: { status: 'fed' },
  s3o_objects_count: { status: 'fed' },
  s3o_active_multipart_uploads: { status: 'fed' },
  s3o_usage_api_requests: { status: 'fed' },
  s3o_usage_egress_bytes: { status: 'fed' },
  s3o_usage_ingress_bytes: { status: 'fed' },
  s3o_usage_limit_rejections_total: { status: 'declared', why: 'a read with every copy over a monthly limit', test: 'test/operations/metrics-fed-by-failures.test.ts' },
  s3o_rate_limit_rejections_total: { status: 'declared', why: 'requests over the rate or admission limits', test: 'test/operations/protection.test.ts' },
  s3o_admission_rejections_total: { status: 'declared', why: 'requests over the rate or admission limits', test: 'test/operations/protection.test.ts' },
  s3o_worker_admission_rejections_total: { status: 'absent', why: 'workers here take no admission slots: their concurrency is set per worker (rebalance.concurrency, replication.concurrency)' },
  s3o_load_shed_total: { status: 'declared', why: 'requests shed above server.load_shed_threshold', test: 'test/unit/protection/request-protection.test.ts' },
  s3o_early_rejections_total: { status: 'declared', why: 'an Expect: 100-continue upload refused before its body', test: 'test/operations/metrics-fed-by-failures.test.ts' },
  s3o_rebalance_objects_moved_total: { status: 'fed' },
  s3o_rebalance_bytes_moved_total: { status: 'fed' },
  s3o_rebalance_runs_total: { status: 'fed' },
  s3o_rebalance_skipped_total: { status: 'fed' },
  s3o_rebalance_duration_seconds: { status: 'fed' },
  s3o_rebalance_pending: { status: 'fed' },
  s3o_replication_pending: { status: 'fed' },
  s3o_replication_copies_created_total: { status: 'fed' },
  s3o_replication_errors_total: { status: 'fed' },
  s3o_replication_duration_seconds: { status: 'fed' },
  s3o_replication_runs_total: { status: 'fed' },
  s3o_replication_health_copies_total: {
    status: 'absent', why: 'a copy on an unhealthy backend counts as missing, so the copies made for it are in s3o_replication_copies_created_total',
  },
  s3o_over_replication_pending: { status: 'fed' },
  s3o_over_replication_removed_total: { status: 'fed' },
  s3o_over_replication_errors_total: { status: 'fed' },
  s3o_over_replication_runs_total: { status: 'fed' },
  s3o_over_replication_duration_seconds: { status: 'fed' },
  s3o_circuit_breaker_state: { status: 'declared', why: 'a dead backend opening its breaker', test: 'test/operations/metrics-fed-by-failures.test.ts' },
  s3o_circuit_breaker_transitions_total: { status: 'declared', why: 'a dead backend opening its breaker', test: 'test/operations/metrics-fed-by-failures.test.ts' },
  s3o_degraded_reads_total: { status: 'declared', why: 'reads while the database is unreachable', test: 'test/operations/database-outage.test.ts' },
  s3o_degraded_cache_hits_total: { status: 'declared', why: 'reads while the database is unreachable', test: 'test/operations/database-outage.test.ts' },
  s3o_degraded_write_rejections_total: { status: 'declared', why: 'a write while the database is unreachable', test: 'test/operations/database-outage.test.ts' },
  s3o_cleanup_queue_enqueued_total: { status: 'declared', why: 'bytes left behind by a failed upload', test: 'test/operations/metrics-fed-by-failures.test.ts' },
  s3o_cleanup_queue_processed_total: { status: 'declared', why: 'a cleanup pass over them', test: 'test/operations/metrics-fed-by-failures.test.ts' },
  s3o_cleanup_queue_depth: { status: 'fed' },
  s3o_lifecycle_deleted_total: { status: 'fed' },
  s3o_lifecycle_failed_total: { status: 'fed' },
  s3o_lifecycle_runs_total: { status: 'fed' },
  s3o_drain_objects_moved_total: { status: 'fed' },
  s3o_drain_bytes_moved_total: { status: 'fed' },
  s3o_drain_active: { status: 'fed' },
  s3o_encryption_operations_total: { status: 'declared', why: 'encrypted writes and reads', test: 'test/e2e/s3-encryption.test.ts' },
  s3o_encryption_errors_total: { status: 'declared', why: 'a read of tampered ciphertext', test: 'test/e2e/s3-encryption.test.ts' },
  s3o_encryption_unknown_key_id_total: { status: 'declared', why: 'a read after a restart with another master key', test: 'test/e2e/s3-encryption.test.ts' },
  s3o_key_rotation_objects_total: { status: 'declared', why: 'data keys re-wrapped by rotate-encryption-key', test: 'test/integration/encryption-jobs.test.ts' },
  s3o_encrypt_existing_objects_total: { status: 'declared', why: 'objects rewritten by encrypt-existing', test: 'test/integration/encryption-jobs.test.ts' },
  s3o_decrypt_existing_objects_total: { status: 'declared', why: 'objects rewritten by decrypt-existing', test: 'test/integration/encryption-jobs.test.ts' },
  s3o_integrity_checks_total: { status: 'declared', why: 'scrub passes and verified reads', test: 'test/operations/integrity.test.ts' },
  s3o_integrity_errors_total: { status: 'declared', why: 'a corrupt copy found by a scrub or a read', test: 'test/operations/integrity.test.ts' },
  s3o_cache_hits_total: { status: 'declared', why: 'a second GET of a cached object', test: 'test/operations/object-cache.test.ts' },
  s3o_cache_misses_total: { status: 'declared', why: 'a GET the cache cannot serve', test: 'test/operations/object-cache.test.ts' },
  s3o_cache_evictions_total: { status: 'declared', why: 'objects filling the cache past cache.max_size', test: 'test/operations/object-cache.test.ts' },
  s3o_cache_size_bytes: { status: 'declared', why: 'objects cached by GETs', test: 'test/operations/object-cache.test.ts' },
  s3o_cache_entries: { status: 'declared', why: 'objects cached by GETs', test: 'test/operations/object-cache.test.ts' },
  s3o_redis_operations_total: { status: 'absent', why: 'Redis usage counters are not implemented (the config refuses a redis section)' },
  s3o_redis_fallback_active: { status: 'absent', why: 'Redis usage counters are not implemented' },
  s3o_audit_events_total: { status: 'declared', why: 'audit lines, written at log level info', test: 'test/operations/metrics-fed-by-failures.test.ts' },
  s3o_notification_sent_total: { status: 'absent', why: 'webhook notifications are not implemented (the config refuses endpoints)' },
  s3o_notification_failed_total: { status: 'absent', why: 'webhook notifications are not implemented' },
  s3o_notification_dropped_total: { status: 'absent', why: 'webhook notifications are not implemented' },
  s3o_notification_queue_depth: { status: 'absent', why: 'webhook notifications are not implemented' },
  s3o_notification_duration_seconds: { status: 'absent', why: 'webhook notifications are not implemented' },
};

/** This project's own families, beyond the reference's. */
const own = [
  's3o_jobs_running', 's3o_job_objects_planned', 's3o_job_objects_done', 's3o_job_objects_failed', 's3o_job_bytes_planned', 's3o_job_bytes_done',
  's3o_projection_lag_events', 's3o_integrity_repairs_total', 's3o_integrity_oldest_unverified_seconds', 's3o_integrity_never_verified_copies',
  's3o_worker_last_success_timestamp_seconds', 's3o_worker_last_failure_timestamp_seconds', 's3o_worker_consecutive_failures',
];

interface Sample { name: string; labels: Record<string, string>; value: number }

/** Families by name with their samples (histogram series folded into their family). */
function parseExposition(text: string): Map<string, Sample[]> {
  const families = new Map<string, Sample[]>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) /.exec(line);
    if (type) families.set(type[1] as string, []);
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const name = (m[1] as string).replace(/_(bucket|sum|count)$/, '');
    const family = families.get(m[1] as string) ?? families.get(name);
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    family?.push({ name: m[1] as string, labels: labels as Record<string, string>, value: Number(m[3]) });
  }
  return families;
}

/** The first sample named `name` (a family, or a histogram's `_sum`/`_count`) with these labels. */
function value(families: Map<string, Sample[]>, name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.get(name) ?? families.get(name.replace(/_(sum|count)$/, ''));
  return family?.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

const settings = (factor: number) => [
  'routing_strategy: pack',
  'telemetry:\n  metrics:\n    enabled: true\n    listen: "127.0.0.1:0"',
  'rebalance:\n  enabled: true\n  strategy: spread\n  interval: 1h\n  threshold: 0.1\n  batch_size: 100\n  concurrency: 4',
  `replication:\n  factor: ${factor}\n  worker_interval: 1h`,
  'lifecycle:\n  interval: 1s\n  batch_size: 100\n  rules:\n    - prefix: expiring/\n      expiration_days: 1',
].join('\n');

describe('metric families', () => {
  let stack: TestStack;
  const scrape = async () => {
    const url = stack.orchestrator.metricsUrl;
    if (!url) throw new Error('metrics are off');
    const res = await rawRequest(url);
    expect(res.status).toBe(200);
    return parseExposition(res.text);
  };
  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 20_000 }, { quota: 20_000 }, { quota: 20_000 }, { quota: 20_000 }], extraYaml: settings(1) });
  });
  afterAll(async () => stack?.stop());

  it('exports each family this project claims, on its own listener, and lists the rest with a reason', async () => {
    const s3 = stack.client();
    for (let i = 0; i < 16; i++) await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: `drained/${i}`, Body: Buffer.alloc(500, i) }));
    await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'drained/0' })).then((r) => r.Body?.transformToString());
    const families = await scrape();
    for (const [name, { status, why }] of Object.entries(reference)) {
      if (status === 'absent') {
        expect(why, name).toBeTruthy();
        expect(families.has(name), `${name} is exported: mark it fed or declared`).toBe(false);
      } else {
        expect(families.has(name), `${name} is not exported`).toBe(true);
      }
      if (status === 'declared') expect(why, name).toBeTruthy();
    }
    for (const name of own) expect(families.has(name), name).toBe(true);
    expect(value(families, 's3o_requests_total', { method: 'PUT', operation: 'PutObject', status_code: '200' })).toBe(16);
    expect(value(families, 's3o_manager_requests_total', { operation: 'PutObject', outcome: 'ok' })).toBe(16);
    expect(value(families, 's3o_request_size_bytes_sum', { operation: 'PutObject' })).toBe(16 * 500);
    expect(value(families, 's3o_response_size_bytes_sum', { operation: 'GetObject' })).toBe(500);
    expect(value(families, 's3o_drain_active', { backend: 'b1' })).toBe(0);
    expect(value(families, 's3o_drain_objects_moved_total', { backend: 'b1' })).toBe(0);
  });

  it('shows a drain while it runs and its moves after it, counted from the log across a restart', async () => {
    // The job supervisor is stopped, so the drain stays running until the restart resumes it.
    await stack.orchestrator.jobs.stop();
    await stack.orchestrator.services.backendAdmin.startDrain('b1', { actor: 'operator:test' });
    let families = await scrape();
    expect(value(families, 's3o_drain_active', { backend: 'b1' })).toBe(1);
    expect(value(families, 's3o_drain_active', { backend: 'b2' })).toBe(0);
    expect(value(families, 's3o_jobs_running', { kind: 'drain' })).toBe(1);
    expect(value(families, 's3o_job_objects_planned', { kind: 'drain' })).toBe(16);
    expect(value(families, 's3o_job_bytes_planned', { kind: 'drain' })).toBe(8000);

    await stack.restart();
    await expect.poll(async () => (await stack.orchestrator.services.backendAdmin.drainStatus('b1')).state, { timeout: 60_000, interval: 200 }).toBe('drained');
    families = await scrape();
    expect(value(families, 's3o_drain_active', { backend: 'b1' })).toBe(0);
    expect(value(families, 's3o_drain_objects_moved_total', { backend: 'b1' })).toBe(16);
    expect(value(families, 's3o_drain_bytes_moved_total', { backend: 'b1' })).toBe(8000);
    expect(value(families, 's3o_jobs_running', { kind: 'drain' })).toBe(0);
    expect(value(families, 's3o_worker_last_success_timestamp_seconds', { worker: 'job:drain' })).toBeGreaterThan(0);
  });

  it('counts a rebalance run and its moves', async () => {
    const s3 = stack.client();
    for (let i = 0; i < 20; i++) await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: `packed/${i}`, Body: Buffer.alloc(500, i) }));
    const started = await stack.orchestrator.workers.rebalance.runOnce({ actor: 'operator:test' });
    expect(started.status).toBe('started');
    if (started.status !== 'started') return;
    await expect.poll(async () => (await stack.db.pool.query('SELECT state FROM jobs WHERE job_id = $1', [started.jobId])).rows[0]?.state,
      { timeout: 30_000, interval: 200 }).toBe('completed');
    const families = await scrape();
    expect(value(families, 's3o_rebalance_runs_total')).toBe(1);
    expect(value(families, 's3o_rebalance_objects_moved_total')).toBe(started.moves);
    expect(value(families, 's3o_rebalance_bytes_moved_total')).toBe(started.bytes);
    expect(value(families, 's3o_rebalance_pending')).toBe(0);
    expect(value(families, 's3o_rebalance_duration_seconds_count')).toBe(1);
  });

  it('counts replication and over-replication passes', async () => {
    await stack.restart(settings(2));
    const replicated = await stack.orchestrator.workers.replication.runOnce();
    let families = await scrape();
    expect(value(families, 's3o_replication_runs_total')).toBeGreaterThanOrEqual(1);
    // The pass at start made the copies (the one asked for may find nothing left to do).
    expect(value(families, 's3o_replication_copies_created_total')).toBe(36);
    expect(value(families, 's3o_replication_pending')).toBe(0);
    expect(replicated.status).toBe('ok');

    await stack.restart(settings(1));
    // The replication tick at start also trims; whichever pass runs first removes the copies.
    expect(await stack.orchestrator.workers.overReplication.runOnce()).toMatchObject({ status: 'ok' });
    families = await scrape();
    expect(value(families, 's3o_over_replication_runs_total')).toBeGreaterThanOrEqual(1);
    expect(value(families, 's3o_over_replication_removed_total')).toBe(36);
    expect(value(families, 's3o_over_replication_pending')).toBe(0);
  });

  it('counts lifecycle passes and reports every worker', async () => {
    await expect.poll(async () => value(await scrape(), 's3o_worker_last_success_timestamp_seconds', { worker: 'lifecycle' }), { timeout: 10_000, interval: 100 })
      .toBeGreaterThan(0);
    const families = await scrape();
    expect(value(families, 's3o_lifecycle_runs_total')).toBeGreaterThanOrEqual(1);
    expect(value(families, 's3o_worker_consecutive_failures', { worker: 'lifecycle' })).toBe(0);
    for (const worker of ['cleanup', 'replication', 'rebalance', 'job-supervisor', 'job:drain']) {
      expect(families.get('s3o_worker_consecutive_failures')?.some((s) => s.labels.worker === worker), worker).toBe(true);
    }
  });

  it('names, for every family marked declared, a test that checks it', async () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    for (const [name, { status, test }] of Object.entries(reference)) {
      if (status !== 'declared') continue;
      expect(test, `${name} names no test`).toBeTruthy();
      expect(await readFile(join(root, test as string), 'utf8'), `${test} does not check ${name}`).toContain(name);
    }
  });

  it('holds samples of every family marked fed', async () => {
    const s3 = stack.client();
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'last', Body: 'x' }));
    await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'last' })).then((r) => r.Body?.transformToString());
    const families = await scrape();
    const empty = Object.entries(reference).filter(([name, { status }]) => status === 'fed' && (families.get(name)?.length ?? 0) === 0).map(([name]) => name);
    expect(empty).toEqual([]);
  });
});
