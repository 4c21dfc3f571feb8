import { describe, expect, it } from 'vitest';
import { decideCleanupAttempt, isFailedWrite, retryDelayMs, stillThereError } from '../../../domain/cleanup/cleanup-attempt.js';

const now = new Date('2026-01-01T00:00:00.000Z');
const inMs = (ms: number) => new Date(now.getTime() + ms).toISOString();
const settings = { maxAttempts: 4, timeIn: inMs };
const item = (attempts: number) => ({ backend: 'b1', size: 100, attempts });

describe('cleanup attempt decider', () => {
  it('given an item never tried, when its key is removed, then it succeeded on attempt 1, releasing its size', () => {
    expect(decideCleanupAttempt(item(0), { kind: 'removed' }, settings))
      .toEqual({ type: 'CleanupSucceeded', data: { attempt: 1, backend: 'b1', size: 100 } });
  });

  it('given an item tried twice, when the delete fails, then attempt 3 failed and is retried after the back-off', () => {
    expect(decideCleanupAttempt(item(2), { kind: 'failed', error: 'HTTP 503' }, settings))
      .toEqual({ type: 'CleanupFailed', data: { attempt: 3, nextRetryAt: inMs(retryDelayMs(3)), error: 'HTTP 503' } });
  });

  it('given an item never tried, when its key is still there after the delete, then the attempt failed and is retried', () => {
    expect(decideCleanupAttempt(item(0), { kind: 'still-there' }, settings))
      .toEqual({ type: 'CleanupFailed', data: { attempt: 1, nextRetryAt: inMs(retryDelayMs(1)), error: stillThereError } });
  });

  it('given an item on its last attempt, when its key is still there or the delete fails, then it is exhausted (no endless retries)', () => {
    expect(decideCleanupAttempt(item(3), { kind: 'still-there' }, settings))
      .toEqual({ type: 'CleanupExhausted', data: { attempt: 4, error: stillThereError } });
    expect(decideCleanupAttempt(item(3), { kind: 'failed', error: 'HTTP 500' }, settings))
      .toEqual({ type: 'CleanupExhausted', data: { attempt: 4, error: 'HTTP 500' } });
  });

  it('given an item on its last attempt, when its key is removed, then it succeeded', () => {
    expect(decideCleanupAttempt(item(3), { kind: 'removed' }, settings).type).toBe('CleanupSucceeded');
  });
});

describe('failed writes', () => {
  it('are the orphans of a PUT, repair, move, replica or rewrite that failed or was given up on, whose keys are never written again', () => {
    const given = ['failed_upload', 'repair_failed', 'move_abandoned', 'replication_failed', 'rewrite_abandoned'];
    expect(given.filter(isFailedWrite)).toEqual(given);
  });

  it('are not the orphans of writes that completed', () => {
    const others = ['commit_failed', 'rejected_body', 'fan_out_incomplete', 'repair_superseded', 'replication_superseded',
      'replication_not_recorded', 'upload_moved', 'reconcile_untracked', 'abort_client'];
    expect(others.filter(isFailedWrite)).toEqual([]);
  });
});
