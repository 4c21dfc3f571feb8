import type { DrainStatusJson } from '../../../gateway/admin/presenters.js';
import { ProgressBar, formatDuration, progressLine } from '../progress.js';
import { type AdminCommandSpec, type AdminContext, output, print, sleep, UsageError } from './command.js';
import { dash, formatTime, renderFields, size } from './format.js';
import { waitForJob } from './job-commands.js';

const path = (backend: string | undefined, rest = ''): string => `backends/${encodeURIComponent(backend ?? '')}${rest}`;

function drainHint(s: DrainStatusJson): string | undefined {
  if (s.state === 'drained') {
    return `${s.backend} is drained: no copy is left on it and it takes no writes, also after a restart. ` +
      `Delete it from the configuration, or drop what is left of its records with "s3o admin remove-backend ${s.backend}".`;
  }
  if (!s.active && s.state === 'active') return `no drain is running on ${s.backend}; it takes writes.`;
  if (s.waiting_for_room) {
    return `the drain of ${s.backend} is stuck: the copies left fit on no other active backend. It retries once room is made ` +
      `(raise a quota, add a backend, delete objects) or "s3o admin drain-cancel ${s.backend}" stops it.`;
  }
  return undefined;
}

export function renderDrainStatus(s: DrainStatusJson): string {
  const text = renderFields([
    ['backend', s.backend], ['state', `${s.state}${s.active ? ' (drain running)' : ''}`], ['job', dash(s.job_id)],
    ['objects remaining', `${s.objects_remaining} (${size(s.bytes_remaining)})`],
    ['moved', `${s.objects_moved} (${size(s.bytes_moved)})`], ['dropped replicas', String(s.objects_dropped)],
    ['skipped', `${s.skipped} (changed by clients meanwhile)`], ['failed attempts', String(s.failures)],
    ['cleanup', `${s.pending_cleanup} pending, ${s.exhausted_cleanup} exhausted`], ['multipart uploads', String(s.uploads)],
    ['rate', `${s.objects_per_second.toFixed(1)} objects/s`], ['ETA', s.waiting_for_room ? 'none: waiting for room' : s.eta_seconds === null ? '-' : formatDuration(s.eta_seconds)],
    ['started', formatTime(s.started_at)], ['finished', formatTime(s.finished_at)], ['last error', dash(s.last_error)],
  ]);
  const hint = drainHint(s);
  return hint ? `${text}\n\n${hint}` : text;
}

function drainLine(s: DrainStatusJson): { done: number; total: number; detail: string } {
  const done = s.objects_moved + s.objects_dropped;
  return {
    done, total: done + s.objects_remaining,
    detail: `${size(s.bytes_remaining)} left, moved ${s.objects_moved}, skipped ${s.skipped}, failed ${s.failures}${s.waiting_for_room ? ', stuck: waiting for room' : ''}`,
  };
}

/** Redraws the drain's progress once a second until it is no longer active, then prints the final status. */
async function watchDrain(c: AdminContext, backend: string): Promise<number> {
  const bar = new ProgressBar(backend, c.io.out);
  for (;;) {
    const s = await c.client.get<DrainStatusJson>(path(backend, '/drain'));
    const { done, total, detail } = drainLine(s);
    if (c.json) c.io.out.write(`${JSON.stringify(s)}\n`);
    else if (c.io.out.isTTY) bar.show(done, total, s.objects_per_second, s.eta_seconds, detail);
    else print(c, progressLine(backend, done, total, s.objects_per_second, s.eta_seconds, detail));
    if (!s.active) {
      bar.finish();
      if (!c.json) print(c, `\n${renderDrainStatus(s)}`);
      return 0;
    }
    await sleep(c.pollIntervalMs);
  }
}

async function removeBackend(c: AdminContext): Promise<number> {
  const backend = c.args[0] ?? '';
  const { purge = false, confirm = false } = c.values;
  if (confirm && !purge) throw new UsageError('--confirm only goes with --purge');
  let jobId: string;
  if (purge) {
    const preview = await c.client.delete<{ object_count: number; total_bytes: number; confirm_token: string; expires_in: number }>(
      path(backend), { purge: true },
    );
    if (!confirm) {
      return output(c, preview, (p) =>
        `purging ${backend} would delete ${p.object_count} objects (${size(p.total_bytes)}) from its storage and drop their records.\n` +
        'Nothing was changed. Run again with --purge --confirm to purge.');
    }
    const started = await c.client.delete<{ job_id: string }>(path(backend), { purge: true, confirm: preview.confirm_token });
    if (c.json) return output(c, started, () => '');
    print(c, `purging ${backend}: deleting ${preview.object_count} objects (${size(preview.total_bytes)}), job ${started.job_id}`);
    jobId = started.job_id;
  } else {
    const started = await c.client.delete<{ job_id: string }>(path(backend));
    if (c.json) return output(c, started, () => '');
    print(c, `${backend} no longer takes writes; dropping its records (job ${started.job_id}); its bytes stay on its storage`);
    jobId = started.job_id;
  }
  const job = await waitForJob(c, jobId, backend);
  if (job.state !== 'completed') {
    c.io.err.write(`error: job ${job.job_id} ended ${job.state}${job.last_error ? `: ${job.last_error}` : ''}\n`);
    return 1;
  }
  print(c, purge
    ? `${backend} purged: ${job.dropped} copies deleted from its storage and their records dropped.`
    : `${backend} removed: ${job.dropped} copies' records dropped; the bytes are still on its storage.`);
  print(c, `It stays ${purge ? 'purged' : 'removed'} across restarts; delete it from the configuration when convenient.`);
  return 0;
}

export const backendCommands: AdminCommandSpec[] = [
  {
    name: 'drain', args: ['<backend>'], options: [], summary: 'move every copy off a backend; it takes no new writes at once',
    run: async (c) => {
      const r = await c.client.post<{ backend: string; job_id: string }>(path(c.args[0], '/drain'));
      return output(c, r, () => `drain of ${r.backend} started (job ${r.job_id}); it takes no new writes.\n` +
        `Follow it with: s3o admin drain-status ${r.backend} --watch`);
    },
  },
  {
    name: 'drain-status', args: ['<backend>'], options: ['watch'], summary: 'drain progress (--watch: redraw until it ends)',
    run: async (c) => {
      if (c.values.watch) return watchDrain(c, c.args[0] ?? '');
      return output(c, await c.client.get<DrainStatusJson>(path(c.args[0], '/drain')), renderDrainStatus);
    },
  },
  {
    name: 'drain-cancel', args: ['<backend>'], options: [], summary: 'stop a drain; moved copies stay moved, the backend takes writes again',
    run: async (c) => {
      const r = await c.client.delete<{ backend: string; job_id: string }>(path(c.args[0], '/drain'));
      return output(c, r, () => `drain of ${r.backend} cancelled (job ${r.job_id}); copies already moved stay moved; ${r.backend} takes writes again`);
    },
  },
  {
    name: 'backend-reactivate', args: ['<backend>'], options: [], summary: 'let a drained or removed backend take writes again',
    run: async (c) => {
      const r = await c.client.post<{ backend: string }>(path(c.args[0], '/reactivate'));
      return output(c, r, () => `${r.backend} is active again and takes writes`);
    },
  },
  {
    name: 'remove-backend', args: ['<backend>'], options: ['purge', 'confirm'],
    summary: 'drop a backend\'s records (--purge: preview deleting its bytes too; --purge --confirm: do it)',
    run: removeBackend,
  },
];
