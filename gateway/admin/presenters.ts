import type { CleanupItemRow } from '../../projections/read/cleanup-reads.js';
import type { JobRow } from '../../projections/read/job-reads.js';
import type { DrainStatus } from '../../services/backends/backend-admin.js';

// The admin API speaks snake_case JSON, as the original's.

export function jobJson(j: JobRow) {
  return {
    job_id: j.jobId, kind: j.kind, backend: j.backend, state: j.state, actor: j.actor, params: j.params,
    objects_total: j.objectsTotal, bytes_total: j.bytesTotal, moved: j.moved, moved_bytes: j.movedBytes, dropped: j.dropped,
    skipped: j.skipped, failed: j.failed, in_flight: j.inFlight, last_error: j.lastError,
    started_at: j.startedAt, updated_at: j.updatedAt, finished_at: j.finishedAt,
  };
}
export type JobJson = ReturnType<typeof jobJson>;

export function drainStatusJson(s: DrainStatus) {
  return {
    backend: s.backend, state: s.state, active: s.active, job_id: s.jobId,
    objects_remaining: s.objectsRemaining, bytes_remaining: s.bytesRemaining,
    objects_moved: s.objectsMoved, bytes_moved: s.bytesMoved, objects_dropped: s.objectsDropped,
    skipped: s.skipped, failures: s.failures,
    pending_cleanup: s.pendingCleanup, exhausted_cleanup: s.exhaustedCleanup, uploads: s.uploads,
    started_at: s.startedAt, finished_at: s.finishedAt,
    objects_per_second: s.objectsPerSecond, eta_seconds: s.etaSeconds, waiting_for_room: s.waitingForRoom, last_error: s.lastError,
  };
}
export type DrainStatusJson = ReturnType<typeof drainStatusJson>;

export function cleanupItemJson(c: CleanupItemRow) {
  return {
    id: c.id, backend: c.backend, storage_key: c.storageKey, size: c.size, kind: c.kind, reason: c.reason, state: c.state,
    attempts: c.attempts, next_retry_at: c.nextRetryAt, last_error: c.lastError, created_at: c.createdAt,
  };
}
export type CleanupItemJson = ReturnType<typeof cleanupItemJson>;
