import type { JobJson } from '../../../gateway/admin/presenters.js';
import { ProgressBar, progressLine } from '../progress.js';
import { type AdminCommandSpec, type AdminContext, print, sleep, UsageError } from './command.js';

type Kind = 'encrypt-existing' | 'decrypt-existing' | 'rotate-encryption-key';
type Started = { status: 'running'; job_id: string; total: number; joined: boolean };

const doneField = { 'encrypt-existing': 'encrypted', 'decrypt-existing': 'decrypted', 'rotate-encryption-key': 'rotated' } as const;

/** The job's end as the reference's API answers it: `{"status", "<done>", "failed", "total"}`. */
function result(kind: Kind, job: JobJson): Record<string, unknown> {
  return { status: job.state === 'completed' ? 'complete' : job.state, [doneField[kind]]: job.moved, failed: job.failed, total: job.objects_total };
}

/** Polls the job until it ends; with --watch a progress bar (a line per change when not on a terminal). */
async function follow(kind: Kind, c: AdminContext, jobId: string): Promise<JobJson> {
  const bar = new ProgressBar(kind, c.io.err);
  let shown = '';
  for (;;) {
    const job = await c.client.get<JobJson>(`jobs/${encodeURIComponent(jobId)}`);
    const done = job.moved + job.skipped + job.failed;
    const total = Math.max(job.objects_total, done);
    const detail = `${doneField[kind]} ${job.moved}, skipped ${job.skipped}, failed ${job.failed}`;
    if (c.values.watch && c.io.err.isTTY) bar.show(done, total, 0, null, detail);
    else if (c.values.watch && detail !== shown) c.io.err.write(`${progressLine(kind, done, total, 0, null, detail)}\n`);
    shown = detail;
    if (job.state !== 'running') {
      bar.finish();
      return job;
    }
    await sleep(c.pollIntervalMs);
  }
}

/**
 * Starts the job detached, then follows it (a progress bar with --watch) and prints its result
 * when it ends; --detach prints the started job and returns. Exit 1 when the job did not
 * complete or some objects failed (running the command again retries those).
 */
async function runEncryptionJob(kind: Kind, c: AdminContext): Promise<number> {
  if (c.values.watch && c.values.detach) throw new UsageError('--watch and --detach exclude each other');
  const oldKeyId = c.values.oldKeyId;
  if (kind === 'rotate-encryption-key' && (oldKeyId === undefined || oldKeyId === '')) {
    throw new UsageError('usage: s3o admin rotate-encryption-key --old-key-id ID (config-0, config-1…, file-0, the Vault key name, or a key id)');
  }
  const started = await c.client.post<Started>(kind, { detach: true, ...(oldKeyId === undefined ? {} : { old_key_id: oldKeyId }) });
  if (c.values.detach) {
    if (c.json) print(c, JSON.stringify(started));
    else print(c, `${kind} job ${started.job_id} ${started.joined ? 'is already running' : 'started'}: ${started.total} objects to do.\nFollow it with: s3o admin job ${started.job_id}`);
    return 0;
  }
  const job = await follow(kind, c, started.job_id);
  print(c, JSON.stringify(result(kind, job)));
  if (job.state !== 'completed') {
    c.io.err.write(`error: job ${job.job_id} ended ${job.state}${job.last_error ? `: ${job.last_error}` : ''}\n`);
    return 1;
  }
  if (job.failed > 0) {
    c.io.err.write(`${job.failed} objects failed (last error: ${job.last_error ?? '-'}); run "s3o admin ${kind}${oldKeyId ? ` --old-key-id ${oldKeyId}` : ''}" again to retry them\n`);
    return 1;
  }
  return 0;
}

export const encryptionCommands: AdminCommandSpec[] = [
  {
    name: 'encrypt-existing', args: [], options: ['watch', 'detach'],
    summary: 'encrypt every object stored in plaintext (needs encryption.enabled); prints {"status","encrypted","failed","total"} when done',
    run: (c) => runEncryptionJob('encrypt-existing', c),
  },
  {
    name: 'decrypt-existing', args: [], options: ['watch', 'detach'],
    summary: 'store every encrypted object in plaintext again (needs its keys configured); prints {"status","decrypted","failed","total"}',
    run: (c) => runEncryptionJob('decrypt-existing', c),
  },
  {
    name: 'rotate-encryption-key', args: [], options: ['old-key-id', 'watch', 'detach'],
    summary: 're-wrap the data keys wrapped by the old key with the primary key and rewrite the stored headers (same ciphertext); prints {"status","rotated","failed","total"}',
    run: (c) => runEncryptionJob('rotate-encryption-key', c),
  },
];
