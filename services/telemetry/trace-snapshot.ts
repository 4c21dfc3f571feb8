import type { HrTime } from '@opentelemetry/api';
import { hrTimeToMicroseconds } from '@opentelemetry/core';
import { DomainError } from '../../domain/errors.js';
import { captureCpuProfile, heapStatistics, type CpuProfile } from '../../infra/telemetry/process-profile.js';
import type { SpanRing } from '../../infra/telemetry/span-ring.js';
import type { ReadableSpan } from '../../infra/telemetry/tracer-provider.js';
import { failed, type RecentRequests } from './recent-requests.js';

/** Requests listed in a snapshot (the ring holds more). */
const listedRequests = 200;
export const MIN_SNAPSHOT_SECONDS = 1;
export const MAX_SNAPSHOT_SECONDS = 30;

export interface SnapshotSources {
  requests: RecentRequests;
  /** The latest finished spans, while tracing is on. */
  spans: SpanRing | undefined;
  sampleRate: number;
  instanceId: string;
  version: string;
}

export interface SnapshotSpan {
  name: string;
  kind: number;
  span_id: string;
  parent_span_id: string | null;
  start_time: string;
  duration_ms: number;
  status: 'unset' | 'ok' | 'error';
  attributes: Record<string, unknown>;
}

export interface TraceSnapshot {
  format: 's3o-trace-snapshot/1';
  instance: string;
  version: string;
  started_at: string;
  seconds: number;
  tracing: { enabled: boolean; sample_rate: number | null };
  requests: {
    held: number;
    seen_since_start: number;
    listed: {
      request_id: string; trace_id: string | null; event: string; method: string; bucket: string | null; key: string | null; status: number;
      error_code: string | null; failed: boolean; started_at: string; duration_ms: number; spans: SnapshotSpan[];
    }[];
  };
  cpu_profile: CpuProfile;
  heap: ReturnType<typeof heapStatistics>;
}

const millis = (t: HrTime): number => hrTimeToMicroseconds(t) / 1000;
const statusNames = ['unset', 'ok', 'error'] as const;

/**
 * Takes trace snapshots of this process: a CPU profile for the seconds asked, then the recent
 * requests (the failed and the slowest, with their spans when tracing recorded them) and the
 * heap. One at a time; nothing runs between snapshots.
 */
export class TraceSnapshots {
  #taking = false;

  constructor(private readonly sources: SnapshotSources) {}

  async take(seconds: number): Promise<TraceSnapshot> {
    if (this.#taking) throw new DomainError('OperationAborted', 'a trace snapshot is already being taken on this instance; retry when it is done');
    this.#taking = true;
    try {
      const startedAt = new Date();
      const cpuProfile = await captureCpuProfile(seconds * 1000);
      return { ...this.#requestsAndHeap(seconds, startedAt), cpu_profile: cpuProfile };
    } finally {
      this.#taking = false;
    }
  }

  #requestsAndHeap(seconds: number, startedAt: Date): Omit<TraceSnapshot, 'cpu_profile'> {
    const { held, seen, requests } = this.sources.requests.slowestAndFailed(listedRequests);
    const traced = new Set(requests.flatMap((r) => (r.traceId === undefined ? [] : [r.requestId])));
    const spans = this.sources.spans?.byRequest(traced) ?? new Map<string, ReadableSpan[]>();
    return {
      format: 's3o-trace-snapshot/1',
      instance: this.sources.instanceId,
      version: this.sources.version,
      started_at: startedAt.toISOString(),
      seconds,
      tracing: { enabled: this.sources.spans !== undefined, sample_rate: this.sources.spans ? this.sources.sampleRate : null },
      requests: {
        held,
        seen_since_start: seen,
        listed: requests.map((r) => ({
          request_id: r.requestId, trace_id: r.traceId ?? null, event: r.event, method: r.method, bucket: r.bucket ?? null, key: r.key ?? null,
          status: r.status, error_code: r.errorCode ?? null, failed: failed(r), started_at: new Date(r.startedAtMs).toISOString(),
          duration_ms: Math.round(r.durationMs * 1000) / 1000,
          spans: (spans.get(r.requestId) ?? []).map((s) => ({
            name: s.name, kind: s.kind, span_id: s.spanContext().spanId, parent_span_id: s.parentSpanContext?.spanId ?? null,
            start_time: new Date(millis(s.startTime)).toISOString(), duration_ms: Math.round(millis(s.duration) * 1000) / 1000,
            status: statusNames[s.status.code], attributes: { ...s.attributes },
          })),
        })),
      },
      heap: heapStatistics(),
    };
  }
}
