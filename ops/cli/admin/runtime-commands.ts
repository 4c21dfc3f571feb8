import { type AdminCommandSpec, output } from './command.js';
import { dash, formatTime, renderTable } from './format.js';

interface WorkerRow {
  worker: string; runs: number; running: boolean; last_success_at: string | null; last_failure_at: string | null;
  last_error: string | null; consecutive_failures: number;
}

export const runtimeCommands: AdminCommandSpec[] = [
  {
    name: 'log-level', args: [], options: ['set'], summary: 'show the log level, or change it (--set debug|info|warn|error; this instance, until restart)',
    run: async (c) => {
      if (c.values.set === undefined) {
        return output(c, await c.client.get<{ level: string }>('log-level'), (r) => `log level: ${r.level}`);
      }
      const r = await c.client.put<{ level: string; previous: string }>('log-level', { level: c.values.set });
      return output(c, r, () => `log level set to ${r.level} (was ${r.previous})`);
    },
  },
  {
    name: 'usage-flush', args: [], options: [], summary: "record this instance's unflushed backend usage now",
    run: async (c) => {
      const r = await c.client.post<{ backends: number; usage_period: string }>('usage-flush');
      return output(c, r, () => `usage flushed: ${r.backends} backend${r.backends === 1 ? '' : 's'} had unrecorded usage (period ${r.usage_period})`);
    },
  },
  {
    name: 'workers', args: [], options: [], summary: "each background worker's last success, last failure and error, consecutive failures (the instance answering)",
    run: async (c) => {
      const r = await c.client.get<{ instance: string; workers: WorkerRow[] }>('workers');
      return output(c, r, () => [
        `instance ${r.instance}`,
        renderTable(
          [{ title: 'WORKER' }, { title: 'RUNS', align: 'right' }, { title: 'LAST SUCCESS' }, { title: 'LAST FAILURE' }, { title: 'FAILING', align: 'right' }, { title: 'LAST ERROR' }],
          r.workers.map((w) => [
            `${w.worker}${w.running ? ' (running)' : ''}`, String(w.runs), formatTime(w.last_success_at), formatTime(w.last_failure_at),
            String(w.consecutive_failures), dash(w.last_error),
          ]),
        ),
      ].join('\n'));
    },
  },
];
