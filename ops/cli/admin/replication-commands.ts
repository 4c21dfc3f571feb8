import { type AdminCommandSpec, output } from './command.js';
import { waitForJob } from './job-commands.js';

type Skipped = { status: 'skipped'; reason: string };
type ReplicateResult = { status: 'ok'; copies_created: number; objects_short: number } | (Skipped & { copies_created: 0 });
type TrimResult = { status: 'ok'; copies_removed: number } | (Skipped & { copies_removed: 0 });
type RebalanceResult =
  | { status: 'started'; job_id: string; moves: number; bytes: number; spread: number; spread_after: number }
  | (Skipped & { spread: number | null });

const percent = (x: number): string => `${Math.round(x * 1000) / 10}%`;
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const copies = (n: number): string => `${n} ${n === 1 ? 'copy' : 'copies'}`;

export const replicationCommands: AdminCommandSpec[] = [
  {
    name: 'replicate', args: [], options: [], summary: 'run a replication pass now: copy objects short of replication.factor',
    run: async (c) => output(c, await c.client.post<ReplicateResult>('replicate'), (r) => {
      if (r.status === 'skipped') return `replication skipped: ${r.reason}`;
      const short = r.objects_short > 0 ? `; ${plural(r.objects_short, 'object')} still short of copies (see the log)` : '';
      return `replication pass done: ${copies(r.copies_created)} created${short}`;
    }),
  },
  {
    name: 'over-replication', args: [], options: ['execute'], summary: 'objects with more copies than replication.factor; --execute removes the excess',
    run: async (c) => {
      if (!c.values.execute) {
        return output(c, await c.client.get<{ factor: number; pending: number }>('over-replication'),
          (r) => `${plural(r.pending, 'object')} with more than ${copies(r.factor)}${r.pending > 0 ? ' (--execute removes the excess)' : ''}`);
      }
      return output(c, await c.client.post<TrimResult>('over-replication'), (r) =>
        r.status === 'skipped' ? `over-replication skipped: ${r.reason}` : `removed ${copies(r.copies_removed)} beyond the factor`);
    },
  },
  {
    name: 'rebalance', args: [], options: ['watch'], summary: 'plan a rebalance now and start it as a job (--watch follows it)',
    run: async (c) => {
      const r = await c.client.post<RebalanceResult>('rebalance');
      if (r.status === 'skipped' || !c.values.watch || c.json) {
        return output(c, r, (v) => v.status === 'skipped'
          ? `rebalance skipped: ${v.reason}${v.spread === null ? '' : ` (utilisation spread ${percent(v.spread)})`}`
          : `rebalance job ${v.job_id} started: ${plural(v.moves, 'move')}, spread ${percent(v.spread)} → ${percent(v.spread_after)}`);
      }
      const job = await waitForJob(c, r.job_id, 'rebalance');
      return output(c, job, (j) => `rebalance job ${j.job_id} ${j.state}: ${j.moved} moved, ${j.skipped} skipped, ${j.failed} failed`);
    },
  },
];
