import type { FastifyInstance } from 'fastify';
import { backendOverview, bucketStats, type BackendOverviewRow } from '../../projections/read/backend-reads.js';
import { listJobs } from '../../projections/read/job-reads.js';
import type { Config } from '../../domain/config/config.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import type { BackendDirectory } from '../../services/backends/backend-directory.js';
import type { UsageControl } from './controls.js';
import { jobJson, type JobJson } from './presenters.js';

export interface BackendStatusJson {
  name: string;
  /** Lifecycle from the log: active, draining, drained, removed, purged (unregistered if never recorded). */
  state: string;
  /** False when the backend is in the log but no longer in the configuration. */
  configured: boolean;
  endpoint: string | null;
  bytes_used: number;
  bytes_limit: number;
  orphan_bytes: number;
  pending_bytes: number;
  object_count: number;
  api_requests: number;
  api_request_limit: number;
  egress_bytes: number;
  egress_byte_limit: number;
  ingress_bytes: number;
  ingress_byte_limit: number;
  /** closed, open or half-open; null when this instance has no client for it (not configured). */
  circuit_breaker: string | null;
  drain_job_id: string | null;
  /** What an operator should know about this backend's situation, if anything. */
  note: string | null;
}

export interface StatusRouteDeps {
  config(): Config;
  usage: Pick<UsageControl, 'period' | 'effective'>;
  /** The projections, read only; also the database health probe. */
  reads: Queryable;
  /** The configured backends' circuit breakers. */
  backends: Pick<BackendDirectory, 'get'>;
}

export interface StatusJson {
  db_healthy: boolean;
  usage_period: string;
  backends: BackendStatusJson[];
  buckets: { name: string; object_count: number; total_bytes: number }[];
  running_jobs: JobJson[];
}

function noteFor(b: { name: string; state: string; configured: boolean; objectCount: number }): string | null {
  const holds = b.objectCount > 0;
  if (!b.configured && holds && (b.state === 'active' || b.state === 'draining' || b.state === 'drained')) {
    return `not in the configuration: its ${b.objectCount} copies are unreachable and reads fail over to other copies ` +
      `(objects with no other copy cannot be read); put it back in the configuration, or remove it with "s3o admin remove-backend ${b.name}"`;
  }
  if (!b.configured && b.state === 'draining') return 'not in the configuration: the drain cannot read its copies until it is configured again';
  if (b.configured && (b.state === 'drained' || b.state === 'removed' || b.state === 'purged')) {
    return `${b.state} but still in the configuration: it takes no writes; delete it from the configuration (or "s3o admin backend-reactivate ${b.name}")`;
  }
  return null;
}

/** Database health, every backend the log or the configuration knows, buckets, running jobs (also the dashboard's). */
export async function readStatus(deps: StatusRouteDeps): Promise<StatusJson> {
  const config = deps.config();
  const usagePeriod = deps.usage.period();
  const dbHealthy = await deps.reads.query('SELECT 1').then(() => true, () => false);
  const known = dbHealthy ? await backendOverview(deps.reads) : [];
  const byName = new Map<string, BackendOverviewRow>(known.map((r) => [r.backend, r]));
  const configured = new Map(config.backends.map((b) => [b.name, b]));
  const names = [...configured.keys(), ...known.map((r) => r.backend).filter((n) => !configured.has(n))];

  const backends = names.map((name): BackendStatusJson => {
    const row = byName.get(name);
    const conf = configured.get(name);
    const usage = deps.usage.effective(name);
    const state = row?.state ?? (dbHealthy ? 'unregistered' : 'unknown');
    const objectCount = row?.objectCount ?? 0;
    return {
      name, state, configured: conf !== undefined, endpoint: row?.endpoint ?? conf?.endpoint ?? null,
      bytes_used: row?.bytesUsed ?? 0, bytes_limit: row?.quotaBytes ?? conf?.quota_bytes ?? 0,
      orphan_bytes: row?.orphanBytes ?? 0, pending_bytes: row?.pendingBytes ?? 0, object_count: objectCount,
      api_requests: usage.apiRequests, api_request_limit: row?.apiRequestLimit ?? conf?.api_request_limit ?? 0,
      egress_bytes: usage.egressBytes, egress_byte_limit: row?.egressByteLimit ?? conf?.egress_byte_limit ?? 0,
      ingress_bytes: usage.ingressBytes, ingress_byte_limit: row?.ingressByteLimit ?? conf?.ingress_byte_limit ?? 0,
      circuit_breaker: deps.backends.get(name)?.breaker.current() ?? null,
      drain_job_id: row?.drainJobId ?? null,
      note: noteFor({ name, state, configured: conf !== undefined, objectCount }),
    };
  });

  const stats = dbHealthy ? await bucketStats(deps.reads) : [];
  const statByName = new Map(stats.map((s) => [s.bucket, s]));
  const bucketNames = [...config.buckets.map((b) => b.name), ...stats.map((s) => s.bucket).filter((n) => !config.buckets.some((b) => b.name === n))];
  const buckets = bucketNames.map((name) => ({
    name, object_count: statByName.get(name)?.objectCount ?? 0, total_bytes: statByName.get(name)?.totalBytes ?? 0,
  }));
  const running = dbHealthy ? await listJobs(deps.reads, { state: 'running' }) : [];
  return { db_healthy: dbHealthy, usage_period: usagePeriod, backends, buckets, running_jobs: running.map(jobJson) };
}

/** `GET status`. */
export function registerStatusRoute(app: FastifyInstance, deps: StatusRouteDeps): void {
  app.get('/status', async (): Promise<StatusJson> => readStatus(deps));
}
