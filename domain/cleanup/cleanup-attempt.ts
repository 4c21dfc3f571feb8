import type { EventData } from '../events/catalog.js';

/**
 * Orphan reasons of a write given up on: its PUT failed or was aborted, so the backend may still
 * store it (it may have received every byte, or finish a request the client timed out on) after a
 * delete sent at once. Their keys are written once (a fresh key per write, repair, move, replica
 * or rewrite attempt), so a later delete cannot remove a retry's bytes. A move or rewrite given up
 * on after its bytes were stored (skipped, refused at commit) waits the grace as well: harmless.
 */
export const failedWriteReasons: readonly string[] = ['failed_upload', 'repair_failed', 'move_abandoned', 'replication_failed', 'rewrite_abandoned'];

export const isFailedWrite = (reason: string): boolean => failedWriteReasons.includes(reason);

/** How deleting one cleanup item went on its backend. */
export type CleanupAttemptResult =
  | { kind: 'removed' }
  | { kind: 'failed'; error: string }
  /** The delete was answered, yet the key was still there when looked up after it. */
  | { kind: 'still-there' };

export type CleanupAttemptEvent =
  | { type: 'CleanupSucceeded'; data: EventData<'CleanupSucceeded'> }
  | { type: 'CleanupFailed'; data: EventData<'CleanupFailed'> }
  | { type: 'CleanupExhausted'; data: EventData<'CleanupExhausted'> };

const minute = 60_000;
const day = 24 * 60 * minute;

/** Delay before the retry after the `attempt`-th failure: 1 min, 2, 4, … capped at 24 h. */
export function retryDelayMs(attempt: number): number {
  return Math.min(day, minute * 2 ** Math.max(0, attempt - 1));
}

export const stillThereError = 'the key was still on the backend after its delete (a write given up on completed late?)';

/**
 * What one attempt at a cleanup item records: success, or a failure retried with back-off until
 * `maxAttempts`, after which the item is exhausted (its bytes stay reserved). A key found again
 * after its delete counts as a failed attempt, so a backend that keeps showing it ends exhausted
 * instead of being deleted forever.
 */
export function decideCleanupAttempt(
  item: { backend: string; size: number; attempts: number },
  result: CleanupAttemptResult,
  /** `timeIn(ms)`: the ISO time that many milliseconds from now. */
  settings: { maxAttempts: number; timeIn: (ms: number) => string },
): CleanupAttemptEvent {
  const attempt = item.attempts + 1;
  if (result.kind === 'removed') return { type: 'CleanupSucceeded', data: { attempt, backend: item.backend, size: item.size } };
  const error = result.kind === 'failed' ? result.error : stillThereError;
  if (attempt >= settings.maxAttempts) return { type: 'CleanupExhausted', data: { attempt, error } };
  return { type: 'CleanupFailed', data: { attempt, nextRetryAt: settings.timeIn(retryDelayMs(attempt)), error } };
}
