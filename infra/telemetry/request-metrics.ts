import { Counter, type Registry } from 'prom-client';
import { BoundCounter, BoundHistogram, PlainGauge } from './bound-metrics.js';

const durationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const sizeBuckets = [0, 1024, 16 * 1024, 256 * 1024, 1024 * 1024, 8 * 1024 * 1024, 64 * 1024 * 1024, 512 * 1024 * 1024, 5 * 1024 ** 3];

/** The S3 front door: requests, their sizes and durations, and what protection refused. */
export function requestMetrics(registry: Registry) {
  const registers = [registry];
  return {
    // The per-request families: bound series, updated without prom-client's per-call label hashing.
    requestsTotal: new BoundCounter('s3o_requests_total', 'S3 requests', ['method', 'status_code', 'operation'], registry),
    requestDuration: new BoundHistogram('s3o_request_duration_seconds', 'S3 request duration', ['method', 'operation'], durationBuckets, registry),
    requestSize: new BoundHistogram('s3o_request_size_bytes', 'S3 request body size (declared length)', ['method', 'operation'], sizeBuckets, registry),
    responseSize: new BoundHistogram('s3o_response_size_bytes', 'S3 response body size (declared length)', ['method', 'operation'], sizeBuckets, registry),
    inflight: new PlainGauge('s3o_inflight_requests', 'S3 requests in flight', registry),
    managerRequests: new BoundCounter(
      's3o_manager_requests_total', 'S3 operations run by the service layer (after authentication)', ['operation', 'outcome'], registry,
    ),
    managerDuration: new BoundHistogram('s3o_manager_duration_seconds', 'Service-layer duration of an S3 operation', ['operation'], durationBuckets, registry),
    rateLimitRejections: new Counter({ name: 's3o_rate_limit_rejections_total', help: 'Requests rejected by per-IP rate limiting', registers }),
    admissionRejections: new Counter({ name: 's3o_admission_rejections_total', help: 'Requests rejected at the hard admission limit', registers }),
    loadShed: new Counter({ name: 's3o_load_shed_total', help: 'Requests shed by active load shedding before the hard admission limit', registers }),
    earlyRejections: new Counter({
      name: 's3o_early_rejections_total', help: 'Expect: 100-continue uploads refused before their body was sent', labelNames: ['code'], registers,
    }),
    usageLimitRejections: new Counter({
      name: 's3o_usage_limit_rejections_total', help: 'Requests refused because every backend that could serve them is over a monthly usage limit', labelNames: ['operation'], registers,
    }),
    degradedReads: new Counter({ name: 's3o_degraded_reads_total', help: 'Reads served while the database was unreachable', registers }),
    degradedCacheHits: new Counter({
      name: 's3o_degraded_cache_hits_total', help: 'Degraded reads answered from the recently-seen location cache (no backend broadcast)', registers,
    }),
    degradedWriteRejections: new Counter({
      name: 's3o_degraded_write_rejections_total', help: 'Writes and listings refused with 503 while the database was unreachable', labelNames: ['operation'], registers,
    }),
    // Updated on every backend call: bound series, as the per-request families.
    backendRequests: new BoundCounter('s3o_backend_requests_total', 'Backend calls', ['backend', 'operation', 'outcome'], registry),
    backendDuration: new BoundHistogram(
      's3o_backend_duration_seconds', 'Backend call duration', ['backend', 'operation'], [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registry,
    ),
    auditEvents: new Counter({
      name: 's3o_audit_events_total', help: 'Audit log lines written (request: one per S3 request; state_change: one per event appended)', labelNames: ['kind'], registers,
    }),
    writeFailover: new Counter({
      name: 's3o_write_failover_total', help: 'Client writes whose upload to this backend failed (the write went to another backend or was refused)', labelNames: ['backend'], registers,
    }),
  };
}
