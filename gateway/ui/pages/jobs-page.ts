import { listJobs } from '../../../projections/read/job-reads.js';
import { jobJson, type JobJson } from '../../admin/presenters.js';
import { html, query } from '../html.js';
import { actionButton, page } from '../layout.js';
import type { UiSession } from '../session.js';
import { uiUrl, type Flash, type UiContext } from '../ui-context.js';
import { jobDone, jobProgress, jobProgressText } from './job-progress.js';

const recentJobs = 50;

/** Running jobs first, then the most recent others: every kind the jobs projection has (drain, remove, purge, rebalance, encryption jobs…). */
export async function readJobs(ctx: UiContext): Promise<JobJson[]> {
  const reads = ctx.admin.jobs.reads;
  const [running, recent] = await Promise.all([listJobs(reads, { state: 'running', limit: 1000 }), listJobs(reads, { limit: recentJobs })]);
  const ids = new Set(running.map((j) => j.jobId));
  return [...running, ...recent.filter((j) => !ids.has(j.jobId))].map(jobJson);
}

/** `api/jobs`: what dashboard.js needs to move the bars (the figures already worded, so the page and the poll agree). */
export async function jobsJson(ctx: UiContext) {
  const jobs = await readJobs(ctx);
  return {
    jobs: jobs.map((j) => ({
      job_id: j.job_id, kind: j.kind, backend: j.backend, state: j.state, done: jobDone(j), total: j.objects_total,
      progress_text: jobProgressText(j), last_error: j.last_error,
    })),
  };
}

export async function jobsPage(ctx: UiContext, session: UiSession, flash?: Flash): Promise<string> {
  const jobs = await readJobs(ctx);
  const rows = jobs.map((j) => html`<tr data-job-row="${j.job_id}">
<td><code>${j.job_id}</code></td><td>${j.kind}</td>
<td>${j.backend ? html`<a href="${uiUrl(ctx, '/backends')}">${j.backend}</a>` : ''}</td>
<td>${j.actor ?? ''}</td><td><time>${j.started_at}</time></td><td>${j.finished_at ? html`<time>${j.finished_at}</time>` : ''}</td>
<td>${jobProgress(j)}</td>
<td>${j.state === 'running' && j.kind === 'drain' && j.backend ? actionButton(ctx, session, 'drain-cancel', 'Cancel', { backend: j.backend }) : ''}</td></tr>`);
  const body = html`<p>Running jobs, then the ${recentJobs} most recent. Progress updates while this page is open.</p>
<table class="jobs"><thead><tr><th>Job</th><th>Kind</th><th>Backend</th><th>By</th><th>Started</th><th>Finished</th><th>Progress</th><th></th></tr></thead>
<tbody>${rows.length > 0 ? rows : html`<tr><td colspan="8">No jobs yet.</td></tr>`}</tbody></table>
<p><a href="${uiUrl(ctx, '/jobs')}${query({})}">Refresh</a></p>`;
  return page(ctx, session, 'jobs', 'Jobs', body, flash);
}
