import type { JobJson } from '../../admin/presenters.js';
import { formatBytes, html, type Html } from '../html.js';

/** Objects a job is done with: moved, dropped (a copy that was no longer needed) or skipped. */
export function jobDone(j: JobJson): number {
  return j.moved + j.dropped + j.skipped;
}

export function jobProgressText(j: JobJson): string {
  const parts = [`${jobDone(j)} of ${j.objects_total} objects`, `${formatBytes(j.moved_bytes)} of ${formatBytes(j.bytes_total)} moved`];
  if (j.in_flight > 0) parts.push(`${j.in_flight} in flight`);
  if (j.failed > 0) parts.push(`${j.failed} failed`);
  return parts.join(' · ');
}

export function stateBadge(state: string): Html {
  return html`<span class="badge badge-${state.replace(/[^a-z-]/g, '')}">${state}</span>`;
}

/**
 * A job's progress bar and figures, marked with its id: dashboard.js polls `api/jobs` and updates
 * them in place (state, bar, text) while the job runs.
 */
export function jobProgress(j: JobJson): Html {
  return html`<div class="job-progress" data-job="${j.job_id}">
<span data-job-state="${j.job_id}">${stateBadge(j.state)}</span>
<progress data-job-bar="${j.job_id}" max="${Math.max(j.objects_total, 1)}" value="${Math.min(jobDone(j), Math.max(j.objects_total, 1))}"></progress>
<span class="figures" data-job-text="${j.job_id}">${jobProgressText(j)}</span>
${j.last_error ? html`<span class="error" data-job-error="${j.job_id}">${j.last_error}</span>` : ''}</div>`;
}
