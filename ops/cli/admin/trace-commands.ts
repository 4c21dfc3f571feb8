import { writeFile } from 'node:fs/promises';
import { type AdminCommandSpec, print, UsageError } from './command.js';

interface SnapshotSummary {
  instance: string;
  seconds: number;
  tracing: { enabled: boolean; sample_rate: number | null };
  requests: { held: number; listed: { failed: boolean; duration_ms: number; spans: unknown[] }[] };
  cpu_profile: { samples?: unknown[] };
  heap: { statistics: { used_heap_size: number; heap_size_limit: number } };
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** `--seconds N`: how long the CPU profile runs (1 to 30, default 5). */
function secondsOf(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^[0-9]{1,2}$/.test(raw) || Number(raw) < 1 || Number(raw) > 30) throw new UsageError('--seconds takes a whole number from 1 to 30');
  return Number(raw);
}

const defaultFile = (): string => `s3o-trace-snapshot-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.json`;

export const traceCommands: AdminCommandSpec[] = [
  {
    name: 'trace-snapshot', args: [], options: ['seconds', 'out'],
    summary: 'capture recent request spans (failed and slowest first), a CPU profile (--seconds N, default 5) and heap figures into one JSON file (--out FILE)',
    run: async (c) => {
      const seconds = secondsOf(c.values.seconds);
      const file = c.values.out ?? defaultFile();
      const snapshot = await c.client.post<SnapshotSummary>('trace-snapshot', seconds === undefined ? {} : { seconds });
      await writeFile(file, JSON.stringify(snapshot));
      if (c.json) {
        print(c, JSON.stringify({ file, instance: snapshot.instance }));
        return 0;
      }
      const listed = snapshot.requests.listed;
      const slowest = listed.find((r) => !r.failed);
      print(c, [
        `wrote ${file} (instance ${snapshot.instance})`,
        `requests: ${listed.length} listed of ${snapshot.requests.held} held, ${listed.filter((r) => r.failed).length} failed`
          + `${slowest ? `, slowest ${slowest.duration_ms} ms` : ''}; tracing ${snapshot.tracing.enabled ? `on (sample_rate ${snapshot.tracing.sample_rate}): spans included` : 'off: request records only'}`,
        `cpu profile: ${snapshot.seconds} s, ${snapshot.cpu_profile.samples?.length ?? 0} samples (the "cpu_profile" member is a .cpuprofile for Chrome DevTools)`,
        `heap: ${mib(snapshot.heap.statistics.used_heap_size)} used of ${mib(snapshot.heap.statistics.heap_size_limit)} limit`,
      ].join('\n'));
      return 0;
    },
  },
];
