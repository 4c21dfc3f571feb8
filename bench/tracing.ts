import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { serverSet, type ChildServer } from './child.js';
import { startGateway } from './gateway.js';
import { startPassthroughProxy } from './passthrough-proxy.js';
import { headline, machineInfo, type Headline } from './report.js';
import { receiverStats, startStandInOtlpReceiver, type ReceiverStats } from './stand-in-otlp-receiver.js';
import { startUpstream } from './upstream.js';
import { WORKLOADS, type BenchSettings, type Session } from './workloads.js';

/**
 * `npm run bench:tracing [-- options]`: what OpenTelemetry tracing costs the 4 KiB GET. The
 * pass-through proxy and three gateways — tracing off, `sample_rate: 1.0` and `sample_rate: 0.01`,
 * each traced one exporting over OTLP/HTTP to its own stand-in receiver process — run the same
 * closed-loop GET side by side in one run, in alternating rounds; the figures are ratios to the
 * gateway with tracing off. See bench/README.md.
 */

const USAGE = `Usage: npm run bench:tracing -- [options]
  --duration <seconds>    timed window per target (default 10)
  --warmup <seconds>      untimed warm-up before the first round (default 2)
  --rounds <n>            alternating rounds the timed part is split into (default 3)
  --connections <n>       concurrent clients (default 32)
  --results-dir <dir>     where the JSON goes (default bench/results)`;

interface Variant {
  label: string;
  sampleRate: number | null;
}

const VARIANTS: readonly Variant[] = [
  { label: 'tracing off', sampleRate: null },
  { label: 'sample_rate 1.0', sampleRate: 1 },
  { label: 'sample_rate 0.01', sampleRate: 0.01 },
];

/** Every gateway serves /metrics (collected either way), so the traced ones can tell what their exporter dropped. */
const telemetryYaml = (endpoint: string | null, sampleRate: number | null): string => `telemetry:\n  metrics:\n    enabled: true\n${
  endpoint === null || sampleRate === null ? '' : `  tracing:\n    enabled: true\n    endpoint: "${endpoint}"\n    insecure: true\n    sample_rate: ${sampleRate}\n`}`;

/** The gateway's `s3o_tracing_spans_total` by outcome (exported, dropped, failed). */
async function exporterCounts(origin: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  const counts: Record<string, number> = { exported: 0, dropped: 0, failed: 0 };
  for (const m of text.matchAll(/^s3o_tracing_spans_total\{outcome="(\w+)"\} (\S+)$/gm)) counts[m[1] as string] = Number(m[2]);
  return counts;
}

function positive(name: string, text: string, integer: boolean): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got "${text}"`);
  return n;
}

interface Row {
  target: string;
  headline: Headline;
  ratioToTracingOff: number | null;
  ratioToProxy: number | null;
  /** What the target's stand-in receiver got (null: not traced). */
  receiver: ReceiverStats | null;
  /** Spans the gateway's exporter dropped (queue full) or failed to send, before it was stopped (null: not traced). */
  lost: { dropped: number; failed: number } | null;
}

const fmt = (n: number | null, digits = 0): string =>
  n === null || !Number.isFinite(n) ? '-' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function formatRows(rows: readonly Row[]): string {
  const table = [['Target', 'Figure', 'p50 ms', 'p99 ms', '×tracing off', '×proxy', 'Server CPU', 'Spans received', 'Dropped', 'Failed', 'Errors']];
  for (const r of rows) {
    const h = r.headline;
    table.push([r.target, `${fmt(h.value)} req/s`, fmt(h.p50Ms, 2), fmt(h.p99Ms, 2), fmt(r.ratioToTracingOff, 2), fmt(r.ratioToProxy, 2),
      h.serverCpu ?? '-', fmt(r.receiver?.spans ?? null), fmt(r.lost?.dropped ?? null), fmt(r.lost?.failed ?? null), String(h.errors)]);
  }
  const widths = table[0]?.map((_, col) => Math.max(...table.map((row) => (row[col] ?? '').length))) ?? [];
  return table.map((row) => row.map((cell, col) => cell.padEnd(widths[col] ?? 0)).join('  ').trimEnd()).join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '3' },
      connections: { type: 'string', default: '32' },
      'results-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const settings: BenchSettings = {
    warmupMs: positive('warmup', values.warmup, false) * 1000,
    warmupRequests: 0, warmupCapMs: 0,
    durationMs: positive('duration', values.duration, false) * 1000,
    rounds: positive('rounds', values.rounds, true),
    getConnections: positive('connections', values.connections, true),
    putConnections: 16, smallSize: 4096, getObjects: 256, putKeys: 0, largeSize: 0, largeCount: 0, rssSize: 0,
  };
  const workload = WORKLOADS.find((w) => w.id === 'get-small');
  if (!workload) throw new Error('the get-small workload is missing');
  const startedAt = new Date().toISOString();
  const loadAtStart = loadavg()[0] ?? 0;
  const { servers, stopAll } = serverSet();
  try {
    const upstream = await startUpstream();
    servers.push(upstream);
    const proxy = await startPassthroughProxy(upstream.origin);
    servers.push(proxy);
    const targets: { label: string; server: ChildServer; receiver: ChildServer | null }[] = [{ label: 'proxy', server: proxy, receiver: null }];
    for (const v of VARIANTS) {
      let receiver: ChildServer | null = null;
      if (v.sampleRate !== null) {
        receiver = await startStandInOtlpReceiver();
        servers.push(receiver);
      }
      const yaml = telemetryYaml(receiver?.origin ?? null, v.sampleRate);
      const gateway = await startGateway(upstream.origin, undefined, `gateway (${v.label})`, { extraYaml: yaml });
      servers.push(gateway);
      targets.push({ label: `gateway, ${v.label}`, server: gateway, receiver });
    }
    console.log(`${workload.title(settings)}: preparing, then ${settings.rounds} round(s) per target…`);
    const sessions: Session[] = [];
    for (const t of targets) sessions.push(await workload.prepare({ name: 'gateway', origin: t.server.origin, pid: t.server.pid }, settings));
    for (let round = 0; round < settings.rounds; round++) {
      for (const s of sessions) await s.round(round);
    }
    const headlines = sessions.map((s) => headline(s.result()));
    const lost = new Map<ChildServer, { dropped: number; failed: number }>();
    for (const t of targets) {
      if (!t.receiver) continue;
      const counts = await exporterCounts(t.server.origin);
      lost.set(t.server, { dropped: counts.dropped ?? 0, failed: counts.failed ?? 0 });
    }
    // Stopping a gateway flushes its span exporter: the receivers' counts are complete after it.
    for (const t of targets) if (t.receiver) await t.server.stop();
    const off = headlines[1]?.value ?? null;
    const base = headlines[0]?.value ?? null;
    const rows: Row[] = [];
    for (const [i, t] of targets.entries()) {
      const h = headlines[i] as Headline;
      rows.push({
        target: t.label, headline: h, receiver: t.receiver ? await receiverStats(t.receiver.origin) : null, lost: lost.get(t.server) ?? null,
        ratioToTracingOff: off && t.label !== 'proxy' ? h.value / off : null,
        ratioToProxy: base ? h.value / base : null,
      });
    }
    const loadAtEnd = loadavg()[0] ?? 0;
    console.log(`\n${formatRows(rows)}\n`);
    console.log('Spans received: by the target\'s stand-in receiver, from every request it was sent (preload PUTs and warm-ups included).');
    console.log('Dropped / Failed: spans the gateway\'s exporter dropped (its queue full) or could not send, by its s3o_tracing_spans_total.');
    console.log(`Load average (1 min): ${loadAtStart.toFixed(1)} at the start, ${loadAtEnd.toFixed(1)} at the end. Compare ratios within one run.`);
    const dir = values['results-dir'] ?? fileURLToPath(new URL('../../bench/results/', import.meta.url));
    await mkdir(dir, { recursive: true });
    const file = join(dir, `tracing-${startedAt.replace(/[:.]/g, '-')}.json`);
    await writeFile(file, `${JSON.stringify({
      format: 's3-orchestrator-bench-tracing/1', startedAt, finishedAt: new Date().toISOString(), machine: machineInfo(), settings,
      load: { start: loadAtStart, end: loadAtEnd }, rows,
    }, null, 2)}\n`);
    console.log(`results: ${file}`);
    return 0;
  } finally {
    await stopAll();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench:tracing: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
