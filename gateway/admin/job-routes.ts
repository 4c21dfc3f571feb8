import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DomainError } from '../../domain/errors.js';
import { listJobs, loadJobRow, type JobRow } from '../../projections/read/job-reads.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import type { BackendAdmin } from '../../services/backends/backend-admin.js';
import { rewriteJobKinds } from '../../domain/jobs/job-state.js';
import type { AdminAudit } from './admin-audit.js';
import type { EncryptionJobControl } from './controls.js';
import { parseInput } from './admin-input.js';
import { jobJson } from './presenters.js';

const jobStates = ['running', 'completed', 'cancelled', 'failed'] as const;
const JobsQuery = z.object({
  state: z.enum(jobStates, { error: `must be one of ${jobStates.join(', ')}` }).optional(),
  limit: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(1000, 'must be at most 1000').default(100),
});
const JobParams = z.object({ id: z.string().min(1, 'must not be empty') });

export interface JobRouteDeps {
  /** The projections, read only (the jobs table). */
  reads: Queryable;
  /** A drain job is cancelled through its backend. */
  backendAdmin: Pick<BackendAdmin, 'cancelDrain'>;
  encryptionJobs: Pick<EncryptionJobControl, 'cancel'>;
  audit: AdminAudit;
}

async function requireJob(reads: Queryable, id: string): Promise<JobRow> {
  const job = await loadJobRow(reads, id);
  if (!job) throw new DomainError('NotFound', `no job ${id}`);
  return job;
}

/** `GET jobs[?state=]`, `GET jobs/:id`, `POST jobs/:id/cancel`. */
export function registerJobRoutes(app: FastifyInstance, deps: JobRouteDeps): void {
  app.get('/jobs', async (req) => {
    const q = parseInput(JobsQuery, req.query, 'query');
    const jobs = await listJobs(deps.reads, { ...(q.state ? { state: q.state } : {}), limit: q.limit });
    return { jobs: jobs.map(jobJson) };
  });

  app.get('/jobs/:id', async (req) => jobJson(await requireJob(deps.reads, parseInput(JobParams, req.params, 'path').id)));

  /**
   * Drain jobs are cancelled through the backend (it becomes writable again); encryption jobs
   * (encrypt-existing, decrypt-existing, rotate-encryption-key) stop between objects, what they
   * rewrote staying rewritten. A remove or purge job is not cancellable: the backend already left
   * the write path and half its records are gone; letting it finish is the only consistent end.
   */
  app.post('/jobs/:id/cancel', async (req) => {
    const { id } = parseInput(JobParams, req.params, 'path');
    const job = await requireJob(deps.reads, id);
    if (job.state !== 'running') throw new DomainError('Conflict', `job ${id} is ${job.state}, not running`);
    if ((rewriteJobKinds as readonly string[]).includes(job.kind)) {
      const cause = await deps.audit.issue(req, 'job-cancel', { jobId: id });
      await deps.encryptionJobs.cancel(id, cause);
      return { status: 'job cancelled', job_id: id, kind: job.kind, backend: null };
    }
    if (job.kind !== 'drain' || !job.backend) {
      throw new DomainError('Conflict', `a ${job.kind} job cannot be cancelled; it finishes what it started`);
    }
    const cause = await deps.audit.issue(req, 'job-cancel', { jobId: id, backend: job.backend });
    const cancelled = await deps.backendAdmin.cancelDrain(job.backend, cause);
    return { status: 'job cancelled', job_id: cancelled, kind: job.kind, backend: job.backend };
  });
}
