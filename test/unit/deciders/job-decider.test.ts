import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../../domain/events/catalog.js';
import { checkpointDue, checkpointEvery, decideJob, type JobCommand, type MoveRef } from '../../../domain/jobs/job-decider.js';
import { evolveJob, initialJobState, type JobState } from '../../../domain/jobs/job-state.js';
import { deciderSpec } from '../../support/decider-spec.js';

const start = { jobId: 'J1', kind: 'drain' as const, backend: 'b1', objectsTotal: 3, bytesTotal: 30, params: {} };
const started: DomainEvent = { type: 'JobStarted', data: start };
const move = (n: number): MoveRef => ({ jobId: 'J1', moveId: `M${n}`, bucket: 'alpha', key: `k${n}`, writeId: `W${n}` });
const target = (n: number) => ({ backend: 'b2', storageKey: `alpha/k${n}~W${n}-M${n}`, size: 10 });
const moveStarted = (n: number): DomainEvent => ({ type: 'MoveStarted', data: { ...move(n), from: 'b1', to: target(n) } });
const moveCompleted = (n: number): DomainEvent => ({ type: 'MoveCompleted', data: { ...move(n), from: 'b1', to: target(n), bytes: 10 } });
const cancelled: DomainEvent = { type: 'JobCancelled', data: { jobId: 'J1' } };

const job = deciderSpec(decideJob, evolveJob, () => initialJobState('J1'));

describe('job decider', () => {
  it('given nothing, when started, then it runs; given it started, when started again, then refused', () => {
    job.given().when({ type: 'Start', start }).then(started);
    job.given(started).when({ type: 'Start', start }).thenRefused('Conflict', /already started/);
  });

  it('given it running, when a move starts, completes, is skipped or fails, then that step is recorded', () => {
    job.given(started).when({ type: 'StartMove', move: move(1), from: 'b1', to: target(1) }).then(moveStarted(1));
    job.given(started, moveStarted(1)).when({ type: 'CompleteMove', move: move(1), from: 'b1', to: target(1), bytes: 10 }).then(moveCompleted(1));
    job.given(started, moveStarted(1)).when({ type: 'SkipMove', move: move(1), reason: 'the object changed meanwhile' })
      .then({ type: 'MoveSkipped', data: { ...move(1), reason: 'the object changed meanwhile' } });
    job.given(started).when({ type: 'FailMove', move: move(1), from: 'b1', attempt: 1, error: 'boom', retryAt: '2026-01-01T00:00:05.000Z' })
      .then({ type: 'MoveFailed', data: { ...move(1), from: 'b1', attempt: 1, error: 'boom', retryAt: '2026-01-01T00:00:05.000Z' } });
  });

  it('given it cancelled or completed, when a step or an end is asked, then refused: a stopped job takes no further step', () => {
    job.given(started, cancelled).when({ type: 'StartMove', move: move(1), from: 'b1', to: target(1) }).thenRefused('Conflict', /cancelled/);
    job.given(started, { type: 'JobCompleted', data: { jobId: 'J1' } }).when({ type: 'Cancel' }).thenRefused('Conflict', /completed/);
    job.given(started, cancelled).when({ type: 'Complete' }).thenRefused('Conflict');
    job.given().when({ type: 'Cancel' }).thenRefused('Conflict', /new/);
  });

  it("given a move of another job, when recorded on this one, then refused", () => {
    job.given(started).when({ type: 'SkipMove', move: { ...move(1), jobId: 'J2' }, reason: 'x' }).thenRefused('InternalError');
  });

  it('given it running, when completed, cancelled or failed, then it ends', () => {
    job.given(started).when({ type: 'Complete' }).then({ type: 'JobCompleted', data: { jobId: 'J1' } });
    job.given(started).when({ type: 'Cancel' }).then(cancelled);
    job.given(started).when({ type: 'Fail', error: 'no plan' }).then({ type: 'JobFailed', data: { jobId: 'J1', error: 'no plan' } });
  });

  it('given moves in flight and failures, when checkpointed, then the checkpoint holds them; given it stopped, then nothing', () => {
    const failed: DomainEvent = { type: 'MoveFailed', data: { ...move(2), from: 'b1', attempt: 2, error: 'x', retryAt: '2026-01-01T00:01:00.000Z' } };
    job.given(started, moveStarted(1), failed, moveStarted(3), moveCompleted(3)).when({ type: 'Checkpoint' }).then({
      type: 'JobCheckpointed',
      data: {
        jobId: 'J1', kind: 'drain', backend: 'b1', params: {}, moved: 1, dropped: 0, skipped: 0, movedBytes: 10,
        inFlight: [{ moveId: 'M1', bucket: 'alpha', key: 'k1', writeId: 'W1', from: 'b1', to: target(1) }],
        failures: [{ copy: 'alpha/k2~W2@b1', attempts: 2, retryAt: '2026-01-01T00:01:00.000Z' }],
        settled: [],
      },
    });
    job.given(started, cancelled).when({ type: 'Checkpoint' }).thenNothing();
  });

  it('a checkpoint is due every so many events after the last one', () => {
    const steps = Array.from({ length: checkpointEvery - 1 }, (_, i) => moveStarted(i));
    const before = job.given(started, ...steps.slice(0, -1)).state;
    expect(checkpointDue(before)).toBe(false);
    const at = job.given(started, ...steps).state;
    expect(checkpointDue(at)).toBe(true);
    const checkpoint = decideJob({ type: 'Checkpoint' }, at);
    expect(checkpointDue(checkpoint.reduce((s, e) => evolveJob(s, e), at))).toBe(false);
  });
});

/** A random job history the owner could write: moves started and settled, with checkpoints anywhere. */
const stepArb = fc.oneof(
  fc.record({ op: fc.constant('start' as const), n: fc.nat(20), to: fc.constantFrom('b2', 'b3') }),
  fc.record({ op: fc.constant('complete' as const), n: fc.nat(20), dropped: fc.boolean() }),
  fc.record({ op: fc.constant('skip' as const), n: fc.nat(20) }),
  fc.record({ op: fc.constant('fail' as const), n: fc.nat(20), attempt: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ op: fc.constant('checkpoint' as const) }),
);

function commandOf(step: { op: string; n?: number; to?: string; dropped?: boolean; attempt?: number }): JobCommand {
  const n = step.n ?? 0;
  switch (step.op) {
    case 'start':
      return { type: 'StartMove', move: move(n), from: 'b1', to: { ...target(n), backend: step.to ?? 'b2' } };
    case 'complete':
      return { type: 'CompleteMove', move: move(n), from: 'b1', to: step.dropped ? null : target(n), bytes: step.dropped ? 0 : 10 };
    case 'skip':
      return { type: 'SkipMove', move: move(n), reason: 'changed' };
    case 'fail':
      return { type: 'FailMove', move: move(n), from: 'b1', attempt: step.attempt ?? 1, error: 'e', retryAt: `2026-01-01T00:0${n % 10}:00.000Z` };
    default:
      return { type: 'Checkpoint' };
  }
}

describe('job checkpoints', () => {
  it('folding from the last checkpoint gives the state the whole stream gives, for any history and any kind', () => {
    fc.assert(fc.property(fc.constantFrom('drain' as const, 'rebalance' as const), fc.array(stepArb, { maxLength: 60 }), (kind, steps) => {
      const history: DomainEvent[] = [{ type: 'JobStarted', data: { ...start, kind } }];
      let state: JobState = evolveJob(initialJobState('J1'), history[0] as DomainEvent);
      for (const step of steps) {
        for (const e of decideJob(commandOf(step), state)) {
          history.push(e);
          state = evolveJob(state, e);
        }
      }
      const whole = history.reduce(evolveJob, initialJobState('J1'));
      const last = history.map((e) => e.type).lastIndexOf('JobCheckpointed');
      const fromCheckpoint = history.slice(Math.max(0, last)).reduce(evolveJob, initialJobState('J1'));
      const { revision: _r1, ...wholeRest } = whole;
      const { revision: _r2, ...resumedRest } = fromCheckpoint;
      expect(resumedRest).toEqual(wholeRest);
      expect(whole).toEqual(state);
    }));
  });
});
