import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RewriteJobKind } from '../../domain/jobs/job-state.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import { loadJobRow, type JobRow } from '../../projections/read/job-reads.js';
import type { AdminAudit } from './admin-audit.js';
import { parseInput } from './admin-input.js';
import type { EncryptionJobControl } from './controls.js';

export interface EncryptionRouteDeps {
  jobs: EncryptionJobControl;
  reads: Queryable;
  audit: AdminAudit;
  /** How often a waiting request looks at the job (500 ms; shorter in tests). */
  pollIntervalMs?: number;
}

const flag = z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]).transform((v) => v === true || v === 'true' || v === '1');
const Input = z.object({
  /** Return as soon as the job runs instead of when it ends. */
  detach: flag.optional(),
  old_key_id: z.string({ error: 'must be a string' }).optional(),
});

/** The word the result counts its done objects under, as the reference's responses have it. */
const doneField: Record<RewriteJobKind, 'encrypted' | 'decrypted' | 'rotated'> = {
  'encrypt-existing': 'encrypted', 'decrypt-existing': 'decrypted', 'rotate-encryption-key': 'rotated',
};

/** `{status, encrypted|decrypted|rotated, failed, total}` of a job; `complete` once it completed. */
export function encryptionJobResult(kind: RewriteJobKind, job: JobRow): Record<string, unknown> {
  const status = job.state === 'completed' ? 'complete' : job.state;
  return {
    status, [doneField[kind]]: job.moved, failed: job.failed, total: job.objectsTotal, skipped: job.skipped, job_id: job.jobId,
    ...(job.lastError ? { last_error: job.lastError } : {}),
  };
}

/**
 * `POST encrypt-existing`, `POST decrypt-existing`, `POST rotate-encryption-key {old_key_id}`:
 * start the job (or join the one running) and answer when it ends, as the reference does; with
 * `detach` (body or query) at once with its id. The job runs on whatever the request does: an
 * interrupted request leaves it running, and asking again joins it.
 */
export function registerEncryptionRoutes(app: FastifyInstance, deps: EncryptionRouteDeps): void {
  const interval = deps.pollIntervalMs ?? 500;
  for (const kind of ['encrypt-existing', 'decrypt-existing', 'rotate-encryption-key'] as const) {
    app.post(`/${kind}`, async (req) => {
      const input = { ...parseInput(Input, req.query ?? {}, 'query'), ...parseInput(Input, req.body ?? {}, 'body') };
      const oldKeyId = kind === 'rotate-encryption-key' ? input.old_key_id : undefined;
      const cause = await deps.audit.issue(req, kind, oldKeyId === undefined ? {} : { oldKeyId });
      const started = await deps.jobs.start(kind, oldKeyId === undefined ? {} : { oldKeyId }, cause);
      if (input.detach) return { status: 'running', job_id: started.jobId, total: started.total, joined: !started.started };
      for (;;) {
        const job = await loadJobRow(deps.reads, started.jobId);
        if (job && job.state !== 'running') return encryptionJobResult(kind, job);
        // The request stream ends (and is destroyed) once its body is read; only a closed socket means the client left.
        if (req.raw.socket.destroyed) return { status: 'running', job_id: started.jobId };
        await new Promise((r) => setTimeout(r, interval));
      }
    });
  }
}
