import { Ring } from '../../infra/telemetry/ring.js';
import type { AuditedRequest } from './audit-log.js';

/** An S3 request as the trace snapshot lists it: its audit record, when it started, how it ended. */
export interface RequestRecord extends AuditedRequest {
  startedAtMs: number;
  /** The S3 error code answered, if any. */
  errorCode: string | undefined;
  /** The trace the request was recorded in, when tracing sampled it. */
  traceId: string | undefined;
  /** False when the connection closed before the response was complete. */
  complete: boolean;
}

/** Requests that failed on our side, or were cut off, come first in a snapshot. */
export const failed = (r: RequestRecord): boolean => !r.complete || r.status >= 500;

/**
 * The latest S3 requests of this instance, kept whether or not tracing is on: one record per
 * request in a fixed ring (the record the audit line is made from), read only by a trace snapshot.
 */
export class RecentRequests {
  readonly #ring: Ring<RequestRecord>;

  constructor(capacity = 1024) {
    this.#ring = new Ring(capacity);
  }

  record(r: RequestRecord): void {
    this.#ring.add(r);
  }

  /** Up to `limit` of the requests held: the failed first, then the slowest. */
  slowestAndFailed(limit: number): { held: number; seen: number; requests: RequestRecord[] } {
    const all = this.#ring.items();
    const requests = all.sort((a, b) => Number(failed(b)) - Number(failed(a)) || b.durationMs - a.durationMs).slice(0, limit);
    return { held: all.length, seen: this.#ring.added, requests };
  }
}
