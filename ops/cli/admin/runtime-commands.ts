import { type AdminCommandSpec, output } from './command.js';

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
];
