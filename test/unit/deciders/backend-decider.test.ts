import { describe, it } from 'vitest';
import { decideBackend, type BackendDeclaration } from '../../../domain/backends/backend-decider.js';
import { evolveBackend, initialBackendState } from '../../../domain/backends/backend-state.js';
import type { DomainEvent } from '../../../domain/events/catalog.js';
import { deciderSpec } from '../../support/decider-spec.js';

const limits = { quotaBytes: 1000, apiRequestLimit: 0, egressByteLimit: 0, ingressByteLimit: 0 };
const declaration: BackendDeclaration = { name: 'b1', endpoint: 'http://s3.example', bucket: 'store', region: 'us-east-1', limits };
const registered: DomainEvent = { type: 'BackendRegistered', data: { backend: 'b1', endpoint: 'http://s3.example', bucket: 'store', region: 'us-east-1', limits } };
const drainStarted: DomainEvent = { type: 'BackendDrainStarted', data: { backend: 'b1', jobId: 'J1' } };
const drained: DomainEvent = { type: 'BackendDrained', data: { backend: 'b1', jobId: 'J1' } };
const removed: DomainEvent = { type: 'BackendRemoved', data: { backend: 'b1', jobId: 'J2' } };
const purged: DomainEvent = { type: 'BackendPurged', data: { backend: 'b1', jobId: 'J2' } };

const backend = deciderSpec(decideBackend, evolveBackend, () => initialBackendState('b1'));

describe('backend decider', () => {
  describe('declared in the configuration', () => {
    it('given nothing, when declared, then it is registered', () => {
      backend.given().when({ type: 'Declare', declaration }).then(registered);
    });
    it('given it registered, when declared with other limits, then the change is recorded with the previous limits', () => {
      const more = { ...limits, quotaBytes: 2000 };
      backend.given(registered).when({ type: 'Declare', declaration: { ...declaration, limits: more } })
        .then({ type: 'BackendLimitsChanged', data: { backend: 'b1', limits: more, previous: limits } });
    });
    it('given it registered, when declared the same, then nothing', () => {
      backend.given(registered).when({ type: 'Declare', declaration }).thenNothing();
    });
    it('given it drained or removed, when declared, then it is not registered again', () => {
      backend.given(registered, drainStarted, drained).when({ type: 'Declare', declaration }).thenNothing();
      backend.given(registered, removed).when({ type: 'Declare', declaration }).thenNothing();
    });
  });

  describe('drain', () => {
    it('given it active, when a drain starts, then it drains under that job', () => {
      backend.given(registered).when({ type: 'StartDrain', jobId: 'J1' }).then(drainStarted);
    });
    it('given it unknown, draining, or not active, when a drain starts, then refused', () => {
      backend.given().when({ type: 'StartDrain', jobId: 'J1' }).thenRefused('NotFound', /not known/);
      backend.given(registered, drainStarted).when({ type: 'StartDrain', jobId: 'J3' }).thenRefused('Conflict', /already draining \(job J1\)/);
      backend.given(registered, drainStarted, drained).when({ type: 'StartDrain', jobId: 'J3' }).thenRefused('Conflict', /drained; reactivate it first/);
      backend.given(registered, removed).when({ type: 'StartDrain', jobId: 'J3' }).thenRefused('Conflict', /removed/);
    });
    it('given it draining, when cancelled, then the drain of that job is cancelled', () => {
      backend.given(registered, drainStarted).when({ type: 'CancelDrain' })
        .then({ type: 'BackendDrainCancelled', data: { backend: 'b1', jobId: 'J1' } });
    });
    it('given it not draining, when cancelled, then refused', () => {
      backend.given(registered).when({ type: 'CancelDrain' }).thenRefused('Conflict', /not draining/);
      backend.given(registered, drainStarted, drained).when({ type: 'CancelDrain' }).thenRefused('Conflict');
    });
    it('given it draining under the job, when the job finishes, then it is drained', () => {
      backend.given(registered, drainStarted).when({ type: 'FinishDrain', jobId: 'J1' }).then(drained);
    });
    it('given the drain cancelled or another job draining, when a job finishes, then nothing is recorded for the backend', () => {
      backend.given(registered, drainStarted, { type: 'BackendDrainCancelled', data: { backend: 'b1', jobId: 'J1' } })
        .when({ type: 'FinishDrain', jobId: 'J1' }).thenNothing();
      backend.given(registered, drainStarted).when({ type: 'FinishDrain', jobId: 'J9' }).thenNothing();
    });
  });

  describe('reactivate', () => {
    it('given it drained, removed or purged, when reactivated, then active again, naming what it was', () => {
      backend.given(registered, drainStarted, drained).when({ type: 'Reactivate' })
        .then({ type: 'BackendReactivated', data: { backend: 'b1', previousState: 'drained' } });
      backend.given(registered, removed, purged).when({ type: 'Reactivate' })
        .then({ type: 'BackendReactivated', data: { backend: 'b1', previousState: 'purged' } });
    });
    it('given it unknown, active or draining, when reactivated, then refused', () => {
      backend.given().when({ type: 'Reactivate' }).thenRefused('NotFound');
      backend.given(registered).when({ type: 'Reactivate' }).thenRefused('Conflict', /already active/);
      backend.given(registered, drainStarted).when({ type: 'Reactivate' }).thenRefused('Conflict', /cancel the drain instead/);
    });
  });

  describe('remove and purge', () => {
    it('given it active or drained, when removed, then it leaves the write path under the removal job', () => {
      backend.given(registered).when({ type: 'Remove', jobId: 'J2', purge: false, confirmed: true }).then(removed);
      backend.given(registered, drainStarted, drained).when({ type: 'Remove', jobId: 'J2', purge: true, confirmed: true }).then(removed);
    });
    it('given it draining, already removed, or unknown, when removed, then refused before the confirmation matters', () => {
      backend.given(registered, drainStarted).when({ type: 'Remove', jobId: 'J2', purge: true, confirmed: false }).thenRefused('Conflict', /drain-cancel/);
      backend.given(registered, removed).when({ type: 'Remove', jobId: 'J3', purge: false, confirmed: true }).thenRefused('Conflict', /already removed/);
      backend.given().when({ type: 'Remove', jobId: 'J2', purge: false, confirmed: true }).thenRefused('NotFound');
    });
    it('given it active, when purged without a valid confirmation, then refused', () => {
      backend.given(registered).when({ type: 'Remove', jobId: 'J2', purge: true, confirmed: false }).thenRefused('AccessDenied', /confirmation token/);
    });
    it('given it removed, when the purge job finishes, then it is purged; given it reactivated meanwhile, then nothing', () => {
      backend.given(registered, removed).when({ type: 'FinishPurge', jobId: 'J2' }).then(purged);
      backend.given(registered, removed, { type: 'BackendReactivated', data: { backend: 'b1', previousState: 'removed' } })
        .when({ type: 'FinishPurge', jobId: 'J2' }).thenNothing();
    });
  });
});
