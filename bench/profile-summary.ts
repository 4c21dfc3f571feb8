import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/**
 * Summarises a V8 .cpuprofile (`--cpu-prof`, e.g. the gateway's under `npm run bench` with
 * S3O_BENCH_GATEWAY_NODE_ARGS): busy and idle time, self time by function and by module, and
 * inclusive time by module (each module counted once per sample). `--callers writev` shows the
 * stacks a function (often a native one) was called from. The profiler samples wall-clock time:
 * on an oversubscribed machine a frame also collects the time its thread waited to run again.
 *
 *   node dist/bench/profile-summary.js <file.cpuprofile> [--top 25] [--skip 8] [--callers writev]
 */

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

/** `pg`, `@smithy/signature-v4`, `gateway/s3`, `node:net`, or the function name of a native frame. */
function moduleOf(frame: CallFrame): string {
  const url = frame.url;
  if (url === '') return frame.functionName || '(native)';
  if (url.startsWith('node:')) return url.startsWith('node:internal') ? 'node:internal' : url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1] !== undefined) return pkg[1];
  const own = /\/(?:dist\/)?((?:gateway|infra|services|processes|projections|domain|ops|bench)\/[^/]+)/.exec(url);
  return own?.[1] ?? url;
}

const frameLabel = (f: CallFrame): string => `${f.functionName || '(anonymous)'} ${moduleOf(f)}:${f.lineNumber + 1}`;

function add(map: Map<string, number>, key: string, us: number): void {
  map.set(key, (map.get(key) ?? 0) + us);
}

function summarise(profile: CpuProfile, top: number, skipUs: number, callersOf: string | undefined): string[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const selfByModule = new Map<string, number>();
  const inclusiveByModule = new Map<string, number>();
  const callers = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  let elapsed = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    elapsed += us;
    const node = byId.get(id);
    if (elapsed < skipUs || node === undefined) return;
    if (node.callFrame.functionName === '(idle)') {
      idle += us;
      return;
    }
    busy += us;
    add(self, frameLabel(node.callFrame), us);
    add(selfByModule, moduleOf(node.callFrame), us);
    const seen = new Set<string>();
    const stack: string[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = (byId.get(cur) as ProfileNode).callFrame;
      if (frame.url !== '') {
        const m = moduleOf(frame);
        if (!seen.has(m)) add(inclusiveByModule, m, us);
        seen.add(m);
      }
      if (cur !== id && stack.length < 8) stack.push(frameLabel(frame));
    }
    if (callersOf !== undefined && node.callFrame.functionName === callersOf) add(callers, stack.join(' < '), us);
  });
  const pct = (us: number): string => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
  const table = (title: string, map: Map<string, number>): string[] => [
    '', `== ${title} (% of busy time)`, ...[...map].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, us]) => `${pct(us)}  ${k}`),
  ];
  return [
    `busy ${(busy / 1e6).toFixed(1)} s, idle ${(idle / 1e6).toFixed(1)} s (after the first ${skipUs / 1e6} s)`,
    ...table('self time by function', self),
    ...table('self time by module', selfByModule),
    ...table('inclusive time by module', inclusiveByModule),
    ...(callersOf === undefined ? [] : table(`${callersOf} called from`, callers)),
  ];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' }, skip: { type: 'string', default: '0' }, callers: { type: 'string' } },
});
const file = positionals[0];
if (file === undefined) {
  console.error('usage: node dist/bench/profile-summary.js <file.cpuprofile> [--top 25] [--skip <seconds>] [--callers <function>]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
console.log(summarise(profile, Number(values.top), Number(values.skip) * 1e6, values.callers).join('\n'));
