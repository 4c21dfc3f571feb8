import type { JobJson } from '../../../gateway/admin/presenters.js';
import { ProgressBar, formatCount } from '../progress.js';
import { type AdminCommandSpec, type AdminContext, output, print, sleep } from './command.js';
import { dash, formatTime, renderFields, renderTable, size } from './format.js';

/** `done/total objects (bytes)` of a job. */
export function jobProgress(j: JobJson): string {
  const done = j.moved + j.dropped;
  return `${formatCount(done)}/${formatCount(j.objects_total)} objects, ${size(j.moved_bytes)}`;
}

export function renderJob(j: JobJson): string {
  return renderFields([
    ['job', j.job_id], ['kind', j.kind], ['backend', dash(j.backend)], ['state', j.state], ['started by', dash(j.actor)],
    ['objects at start', `${j.objects_total} (${size(j.bytes_total)})`],
    ['moved', `${j.moved} (${size(j.moved_bytes)})`], ['dropped', String(j.dropped)], ['skipped', String(j.skipped)],
    ['failed attempts', String(j.failed)], ['in flight', String(j.in_flight)], ['last error', dash(j.last_error)],
    ['started', formatTime(j.started_at)], ['updated', formatTime(j.updated_at)], ['finished', formatTime(j.finished_at)],
  ]);
}

function renderJobs(r: { jobs: JobJson[] }): string {
  if (r.jobs.length === 0) return 'no jobs';
  return renderTable(
    [
      { title: 'JOB' }, { title: 'KIND' }, { title: 'BACKEND' }, { title: 'STATE' }, { title: 'MOVED', align: 'right' },
      { title: 'DROPPED', align: 'right' }, { title: 'SKIPPED', align: 'right' }, { title: 'FAILED', align: 'right' },
      { title: 'STARTED' }, { title: 'FINISHED' }, { title: 'BY' },
    ],
    r.jobs.map((j) => [
      j.job_id, j.kind, dash(j.backend), j.state, String(j.moved), String(j.dropped), String(j.skipped), String(j.failed),
      formatTime(j.started_at), formatTime(j.finished_at), dash(j.actor),
    ]),
  );
}

/**
 * Polls a job until it is no longer running, with a progress bar on a terminal. Interrupting
 * stops the waiting, not the job.
 */
export async function waitForJob(c: AdminContext, jobId: string, label: string): Promise<JobJson> {
  const bar = new ProgressBar(label, c.io.out);
  for (;;) {
    const job = await c.client.get<JobJson>(`jobs/${encodeURIComponent(jobId)}`);
    bar.show(job.moved + job.dropped, Math.max(job.objects_total, job.moved + job.dropped), 0, null, job.state);
    if (job.state !== 'running') {
      bar.finish();
      return job;
    }
    await sleep(c.pollIntervalMs);
  }
}

export const jobCommands: AdminCommandSpec[] = [
  {
    name: 'jobs', args: [], options: ['state', 'limit'], summary: 'jobs, newest first (--state running|completed|cancelled|failed)',
    run: async (c) => output(c, await c.client.get<{ jobs: JobJson[] }>('jobs', { state: c.values.state, limit: c.values.limit }), renderJobs),
  },
  {
    name: 'job', args: ['<id>'], options: [], summary: "one job's state and progress",
    run: async (c) => output(c, await c.client.get<JobJson>(`jobs/${encodeURIComponent(c.args[0] ?? '')}`), renderJob),
  },
  {
    name: 'job-cancel', args: ['<id>'], options: [],
    summary: 'cancel a running drain (moved copies stay moved) or encrypt-existing / decrypt-existing / rotate-encryption-key job (rewritten objects stay rewritten)',
    run: async (c) => {
      const r = await c.client.post<{ job_id: string; kind: string; backend: string | null }>(`jobs/${encodeURIComponent(c.args[0] ?? '')}/cancel`);
      if (c.json) return output(c, r, () => '');
      print(c, r.backend === null
        ? `job ${r.job_id} cancelled: ${r.kind} stops after the objects in hand; what it rewrote stays rewritten, and running it again does what is left`
        : `job ${r.job_id} cancelled: ${r.kind} of ${r.backend} stopped; ${r.backend} takes writes again`);
      return 0;
    },
  },
];
