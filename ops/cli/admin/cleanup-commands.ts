import type { CleanupItemJson } from '../../../gateway/admin/presenters.js';
import { type AdminCommandSpec, output } from './command.js';
import { dash, formatTime, renderTable, size } from './format.js';

interface CleanupQueueJson {
  depth: number;
  exhausted: number;
  pending_bytes: number;
  exhausted_bytes: number;
  items: CleanupItemJson[];
}

function renderQueue(q: CleanupQueueJson): string {
  const head = `${q.depth} pending (${size(q.pending_bytes)}), ${q.exhausted} exhausted (${size(q.exhausted_bytes)}, still reserved)`;
  if (q.items.length === 0) return head;
  return `${head}\n\n${renderTable(
    [
      { title: 'ID' }, { title: 'BACKEND' }, { title: 'STATE' }, { title: 'SIZE', align: 'right' }, { title: 'REASON' },
      { title: 'ATTEMPTS', align: 'right' }, { title: 'NEXT RETRY' }, { title: 'STORAGE KEY' }, { title: 'LAST ERROR' },
    ],
    q.items.map((i) => [
      i.id, i.backend, i.state, size(i.size), i.reason, String(i.attempts), i.state === 'pending' ? formatTime(i.next_retry_at) : '-',
      i.storage_key, dash(i.last_error),
    ]),
  )}`;
}

const item = (id: string | undefined, action: string): string => `cleanup-queue/${encodeURIComponent(id ?? '')}/${action}`;

export const cleanupCommands: AdminCommandSpec[] = [
  {
    name: 'cleanup-queue', args: [], options: ['state', 'limit'], summary: 'orphaned bytes waiting to be deleted (--state pending|exhausted)',
    run: async (c) => output(c, await c.client.get<CleanupQueueJson>('cleanup-queue', { state: c.values.state, limit: c.values.limit }), renderQueue),
  },
  {
    name: 'cleanup-retry', args: ['<id>'], options: [], summary: 'retry a cleanup item now, its attempts reset (also an exhausted one)',
    run: async (c) => {
      const r = await c.client.post<{ id: string; backend: string; storage_key: string }>(item(c.args[0], 'retry'));
      return output(c, r, () => `cleanup item ${r.id} (${r.backend}: ${r.storage_key}) will be retried now`);
    },
  },
  {
    name: 'cleanup-dismiss', args: ['<id>'], options: [], summary: 'stop tracking a cleanup item: its bytes stay on the backend, unreserved',
    run: async (c) => {
      const r = await c.client.post<{ id: string; backend: string; storage_key: string; size: number }>(item(c.args[0], 'dismiss'));
      return output(c, r, () => `cleanup item ${r.id} dismissed; ${size(r.size)} stay on ${r.backend} as ${r.storage_key} and no longer count against its quota`);
    },
  },
];
