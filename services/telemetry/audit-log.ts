import type { StreamAppend } from '../../domain/eventstore/port.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { Metrics } from '../../infra/telemetry/metrics.js';

/** What an S3 request's audit line says about it (no secret: the access key id at most). */
export interface AuditedRequest {
  requestId: string;
  /** `s3.<Operation>`, or the refusal: `s3.AuthFailure`, `s3.RateLimitRejected`, `s3.AdmissionRejected`, `s3.LoadShed`. */
  event: string;
  method: string;
  bucket: string | undefined;
  key: string | undefined;
  status: number;
  accessKeyId: string | undefined;
  remoteAddress: string | undefined;
  durationMs: number;
}

/** Stream categories whose changes are the data's: `storage.*`. */
const storageStreams = new Set(['object', 'upload']);

/**
 * The audit log: JSON lines with `audit: true` on the log, one per S3 request and one per
 * state change this instance recorded in the event log. A state change's line shares the
 * request id (the event's correlation id: an S3 request id or a job's / worker's run id) and
 * names the event id; the event log stays the system of record, the line points into it.
 * Lines are written at info level: a log level above info turns them off.
 */
export class AuditLog {
  private readonly requests: ReturnType<Metrics['auditEvents']['labels']>;
  private readonly changes: ReturnType<Metrics['auditEvents']['labels']>;

  constructor(private readonly logger: Logger, metrics: Pick<Metrics, 'auditEvents'>) {
    this.requests = metrics.auditEvents.labels('request');
    this.changes = metrics.auditEvents.labels('state_change');
  }

  request(r: AuditedRequest): void {
    if (!this.logger.isLevelEnabled('info')) return;
    this.requests.inc();
    this.logger.info({
      audit: true, event: r.event, request_id: r.requestId, method: r.method, bucket: r.bucket, key: r.key, status: r.status,
      access_key_id: r.accessKeyId, remote_addr: r.remoteAddress, duration_ms: Math.round(r.durationMs * 1000) / 1000,
    }, 'audit');
  }

  /** One line per event this instance appended. */
  appended(appends: readonly StreamAppend[]): void {
    if (!this.logger.isLevelEnabled('info')) return;
    for (const a of appends) {
      const category = a.streamId.slice(0, a.streamId.indexOf('-'));
      for (const e of a.events) {
        this.changes.inc();
        this.logger.info({
          audit: true, event: `${auditArea(category, e.type, e.metadata.actor)}.${e.type}`, request_id: e.metadata.correlationId,
          event_id: e.id, stream: a.streamId, actor: e.metadata.actor,
        }, 'audit');
      }
    }
  }
}

/**
 * The area an event belongs to: the worker that made it (`replication`, `over_replication`,
 * `lifecycle`, `drain`…), else `storage` for objects and uploads, `drain` for a backend's drain,
 * else the stream's category (`backend`, `job`, `cleanup`, `usage`, `admin`).
 */
export function auditArea(category: string, type: string, actor: string | undefined): string {
  if (actor?.startsWith('system:')) return actor.slice('system:'.length).replaceAll('-', '_');
  if (storageStreams.has(category)) return 'storage';
  if (category === 'backend' && type.startsWith('BackendDrain')) return 'drain';
  return category;
}
