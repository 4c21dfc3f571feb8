import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const passBuckets = [0.01, 0.1, 1, 10, 60, 300, 1800];

/** Backends' quotas and usage, and what the background workers and jobs do to the stored data. */
export function storageMetrics(registry: Registry) {
  const registers = [registry];
  const byBackend = ['backend'];
  return {
    quotaUsed: new Gauge({ name: 's3o_quota_bytes_used', help: 'Bytes used per backend', labelNames: byBackend, registers }),
    quotaLimit: new Gauge({ name: 's3o_quota_bytes_limit', help: 'Quota per backend (0 = unlimited)', labelNames: byBackend, registers }),
    quotaAvailable: new Gauge({ name: 's3o_quota_bytes_available', help: 'Bytes available per backend', labelNames: byBackend, registers }),
    orphanBytes: new Gauge({ name: 's3o_quota_orphan_bytes', help: 'Bytes awaiting cleanup per backend', labelNames: byBackend, registers }),
    objectsCount: new Gauge({ name: 's3o_objects_count', help: 'Live copies per backend', labelNames: byBackend, registers }),
    activeMultipartUploads: new Gauge({ name: 's3o_active_multipart_uploads', help: 'Multipart uploads in progress per backend', labelNames: byBackend, registers }),
    usageApiRequests: new Gauge({ name: 's3o_usage_api_requests', help: 'Backend API requests this month (flushed totals plus this instance\'s unflushed counts)', labelNames: byBackend, registers }),
    usageEgressBytes: new Gauge({ name: 's3o_usage_egress_bytes', help: 'Bytes read from the backend this month', labelNames: byBackend, registers }),
    usageIngressBytes: new Gauge({ name: 's3o_usage_ingress_bytes', help: 'Bytes written to the backend this month', labelNames: byBackend, registers }),
    circuitState: new Gauge({ name: 's3o_circuit_breaker_state', help: '0 closed, 1 open, 2 half-open', labelNames: ['name'], registers }),
    circuitTransitions: new Counter({ name: 's3o_circuit_breaker_transitions_total', help: 'Breaker transitions', labelNames: ['name', 'to'], registers }),
    cleanupEnqueued: new Counter({ name: 's3o_cleanup_queue_enqueued_total', help: 'Orphaned bytes recorded for cleanup by this instance', labelNames: ['reason'], registers }),
    cleanupProcessed: new Counter({ name: 's3o_cleanup_queue_processed_total', help: 'Cleanup items processed', labelNames: ['outcome'], registers }),
    cleanupDepth: new Gauge({ name: 's3o_cleanup_queue_depth', help: 'Cleanup items by state (pending: awaiting a retry; exhausted: given up, bytes still reserved)', labelNames: ['state'], registers }),
    replicationPending: new Gauge({ name: 's3o_replication_pending', help: 'Objects the last replication pass left short of copies', registers }),
    replicationCopiesCreated: new Counter({ name: 's3o_replication_copies_created_total', help: 'Replicas created by the replication worker', registers }),
    replicationErrors: new Counter({ name: 's3o_replication_errors_total', help: 'Objects a replication pass left short of copies', registers }),
    replicationRuns: new Counter({ name: 's3o_replication_runs_total', help: 'Replication passes', registers }),
    replicationDuration: new Histogram({ name: 's3o_replication_duration_seconds', help: 'Replication pass duration', registers, buckets: passBuckets }),
    overReplicationPending: new Gauge({ name: 's3o_over_replication_pending', help: 'Objects the last over-replication pass left with too many copies', registers }),
    overReplicationRemoved: new Counter({ name: 's3o_over_replication_removed_total', help: 'Excess copies removed', registers }),
    overReplicationErrors: new Counter({ name: 's3o_over_replication_errors_total', help: 'Objects whose excess copies could not be removed', registers }),
    overReplicationRuns: new Counter({ name: 's3o_over_replication_runs_total', help: 'Over-replication passes', registers }),
    overReplicationDuration: new Histogram({ name: 's3o_over_replication_duration_seconds', help: 'Over-replication pass duration', registers, buckets: passBuckets }),
    rebalanceRuns: new Counter({ name: 's3o_rebalance_runs_total', help: 'Rebalance jobs started', registers }),
    rebalanceSkipped: new Counter({ name: 's3o_rebalance_skipped_total', help: 'Rebalance runs that planned nothing', registers }),
    rebalanceDuration: new Histogram({ name: 's3o_rebalance_duration_seconds', help: 'Rebalance planning pass duration', registers, buckets: passBuckets }),
    lifecycleRuns: new Counter({ name: 's3o_lifecycle_runs_total', help: 'Lifecycle expiration passes run by this instance', registers }),
    lifecycleDeleted: new Counter({ name: 's3o_lifecycle_deleted_total', help: 'Objects deleted by lifecycle rules', registers }),
    lifecycleFailed: new Counter({ name: 's3o_lifecycle_failed_total', help: 'Expired objects lifecycle could not delete', registers }),
  };
}
