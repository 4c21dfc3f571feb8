import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { createCacheMetrics } from './cache-metrics.js';
import { createEncryptionMetrics } from './encryption-metrics.js';
import { jobMetrics } from './job-metrics.js';
import { requestMetrics } from './request-metrics.js';
import { RequestRecorder } from './request-recorder.js';
import { storageMetrics } from './storage-metrics.js';

/**
 * Prometheus metrics with the original project's `s3o_` names, so its Grafana dashboard works.
 * Labels never carry secrets or object keys (cardinality and privacy).
 *
 * Families are grouped by concern (request-metrics, storage-metrics, job-metrics). A feature
 * with its own families (encryption, integrity, cache) creates them on `registry` in its own
 * module, adds its names to test/operations/metrics-families.test.ts and puts them on a panel
 * of ops/grafana/s3-orchestrator.json (test/unit/telemetry/grafana-dashboard.test.ts checks).
 */
export function createMetrics(version: string) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 's3o_process_' });
  const refreshers: Array<() => Promise<void>> = [];
  let refreshing: Promise<void> | undefined;
  const m = {
    registry,
    buildInfo: new Gauge({ name: 's3o_build_info', help: 'Build information', labelNames: ['version', 'node'], registers: [registry] }),
    ...requestMetrics(registry),
    ...storageMetrics(registry),
    ...jobMetrics(registry),
    encryption: createEncryptionMetrics(registry),
    cache: createCacheMetrics(registry),
    /** Runs `refresh` before each scrape to set values read from elsewhere; it must not throw. */
    onScrape(refresh: () => Promise<void>): void {
      refreshers.push(refresh);
    },
    /** The exposition text of every family, after refreshing the scrape-time values. */
    async exposition(): Promise<string> {
      // Scrapes arriving together share one refresh.
      refreshing ??= Promise.all(refreshers.map((r) => r())).then(() => undefined).finally(() => {
        refreshing = undefined;
      });
      await refreshing;
      return registry.metrics();
    },
  };
  m.buildInfo.set({ version, node: process.version }, 1);
  return { ...m, requests: new RequestRecorder(m) };
}

export type Metrics = ReturnType<typeof createMetrics>;
