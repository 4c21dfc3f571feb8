import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics with the original project's `s3o_` names, so its Grafana dashboard works.
 * Labels never carry secrets or object keys (cardinality and privacy).
 */
export function createMetrics(version: string) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 's3o_process_' });
  const m = {
    registry,
    buildInfo: new Gauge({ name: 's3o_build_info', help: 'Build information', labelNames: ['version', 'node'], registers: [registry] }),
    requestsTotal: new Counter({ name: 's3o_requests_total', help: 'S3 requests', labelNames: ['method', 'status_code', 'operation'], registers: [registry] }),
    requestDuration: new Histogram({
      name: 's3o_request_duration_seconds', help: 'S3 request duration', labelNames: ['method', 'operation'], registers: [registry],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    }),
    inflight: new Gauge({ name: 's3o_inflight_requests', help: 'S3 requests in flight', registers: [registry] }),
    rateLimitRejections: new Counter({ name: 's3o_rate_limit_rejections_total', help: 'Requests rejected by per-IP rate limiting', registers: [registry] }),
    admissionRejections: new Counter({ name: 's3o_admission_rejections_total', help: 'Requests rejected at the hard admission limit', registers: [registry] }),
    loadShed: new Counter({ name: 's3o_load_shed_total', help: 'Requests shed by active load shedding before the hard admission limit', registers: [registry] }),
    backendRequests: new Counter({ name: 's3o_backend_requests_total', help: 'Backend calls', labelNames: ['backend', 'operation', 'outcome'], registers: [registry] }),
    backendDuration: new Histogram({
      name: 's3o_backend_duration_seconds', help: 'Backend call duration', labelNames: ['backend', 'operation'], registers: [registry],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    }),
    writeFailover: new Counter({ name: 's3o_write_failover_total', help: 'Writes retried on another backend', labelNames: ['backend'], registers: [registry] }),
    quotaUsed: new Gauge({ name: 's3o_quota_bytes_used', help: 'Bytes used per backend', labelNames: ['backend'], registers: [registry] }),
    quotaLimit: new Gauge({ name: 's3o_quota_bytes_limit', help: 'Quota per backend (0 = unlimited)', labelNames: ['backend'], registers: [registry] }),
    quotaAvailable: new Gauge({ name: 's3o_quota_bytes_available', help: 'Bytes available per backend', labelNames: ['backend'], registers: [registry] }),
    orphanBytes: new Gauge({ name: 's3o_quota_orphan_bytes', help: 'Bytes awaiting cleanup per backend', labelNames: ['backend'], registers: [registry] }),
    objectsCount: new Gauge({ name: 's3o_objects_count', help: 'Live copies per backend', labelNames: ['backend'], registers: [registry] }),
    circuitState: new Gauge({ name: 's3o_circuit_breaker_state', help: '0 closed, 1 open, 2 half-open', labelNames: ['name'], registers: [registry] }),
    circuitTransitions: new Counter({ name: 's3o_circuit_breaker_transitions_total', help: 'Breaker transitions', labelNames: ['name', 'to'], registers: [registry] }),
    cleanupProcessed: new Counter({ name: 's3o_cleanup_queue_processed_total', help: 'Cleanup items processed', labelNames: ['outcome'], registers: [registry] }),
    cleanupDepth: new Gauge({ name: 's3o_cleanup_queue_depth', help: 'Pending cleanup items', registers: [registry] }),
    replicationCopiesCreated: new Counter({ name: 's3o_replication_copies_created_total', help: 'Replicas created by the replication worker', registers: [registry] }),
    replicationErrors: new Counter({ name: 's3o_replication_errors_total', help: 'Objects a replication pass left short of copies', registers: [registry] }),
    replicationRuns: new Counter({ name: 's3o_replication_runs_total', help: 'Replication passes', registers: [registry] }),
    replicationDuration: new Histogram({ name: 's3o_replication_duration_seconds', help: 'Replication pass duration', registers: [registry], buckets: [0.01, 0.1, 1, 10, 60, 300, 1800] }),
    overReplicationRemoved: new Counter({ name: 's3o_over_replication_removed_total', help: 'Excess copies removed', registers: [registry] }),
    overReplicationErrors: new Counter({ name: 's3o_over_replication_errors_total', help: 'Objects whose excess copies could not be removed', registers: [registry] }),
    overReplicationRuns: new Counter({ name: 's3o_over_replication_runs_total', help: 'Over-replication passes', registers: [registry] }),
    overReplicationDuration: new Histogram({ name: 's3o_over_replication_duration_seconds', help: 'Over-replication pass duration', registers: [registry], buckets: [0.01, 0.1, 1, 10, 60, 300, 1800] }),
    rebalanceRuns: new Counter({ name: 's3o_rebalance_runs_total', help: 'Rebalance jobs started', registers: [registry] }),
    rebalanceSkipped: new Counter({ name: 's3o_rebalance_skipped_total', help: 'Rebalance runs that planned nothing', registers: [registry] }),
    degradedReads: new Counter({ name: 's3o_degraded_reads_total', help: 'Reads served while the database was unreachable', registers: [registry] }),
    projectionLag: new Gauge({ name: 's3o_projection_lag_events', help: 'Events an async projection is behind', labelNames: ['projection'], registers: [registry] }),
  };
  m.buildInfo.set({ version, node: process.version }, 1);
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
