import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { BenchSettings, Goal, Measurement, TargetName } from './workloads.js';
import type { DrainBenchResult } from './drain.js';

/** Turns measurements into the final table (stdout) and a JSON file under bench/results/. */

export interface Headline {
  value: number;
  unit: 'req/s' | 'MB/s' | 'MiB';
  p50Ms: number | null;
  p99Ms: number | null;
  /** `77 µs/req`, `450 ms/GB`: CPU time of the answering process (not of Postgres or the upstream behind it). */
  serverCpu: string | null;
  errors: number;
  errorSamples: string[];
}

export type Outcome =
  | { ok: true; headline: Headline; ratioToProxy: number | null; measurement: Measurement }
  /** `not available: <reason>` or `failed: <error>`. */
  | { ok: false; error: string };

export type Verdict = 'PASS' | 'MISS' | 'n/a';

export interface WorkloadReport {
  id: string;
  title: string;
  goal: string;
  /** Only the targets that were selected; an unavailable target has `{ ok: false }`. */
  results: Partial<Record<TargetName, Outcome>>;
  verdict: Verdict;
  verdictNote: string | null;
  /** gateway-1m against the empty-database gateway (≥ 0.9×); null when gateway-1m did not run it. */
  millionVerdict: Verdict | null;
  /** gateway-encrypted against the unencrypted gateway in the same run; absent when it did not run this workload. */
  encrypted?: EncryptedComparison;
  /** gateway-cache against the proxy (≥ 0.9×); null when gateway-cache did not run it. */
  cacheVerdict?: Verdict | null;
}

export interface TargetStatus {
  name: TargetName;
  available: boolean;
  origin: string | null;
  pid: number | null;
  /** Why it is not available. */
  reason: string | null;
  /** Gateway only: its database. */
  database: string | null;
}

/** The shape of bench/results/<timestamp>.json. */
export interface BenchReport {
  format: 's3-orchestrator-bench/1';
  startedAt: string;
  finishedAt: string;
  machine: { cpus: number; cpuModel: string; memoryBytes: number; node: string; platform: string };
  settings: BenchSettings;
  targets: TargetStatus[];
  workloads: WorkloadReport[];
  /** The drain-throughput run, when the gateway was measured. */
  drain?: DrainReport;
}

/** Small objects per second a drain between two fast upstreams should move (issue 11). */
export const DRAIN_GOAL = 500;

export type DrainReport = ({ ok: true; verdict: Verdict } & DrainBenchResult) | { ok: false; error: string };

export function formatDrain(d: DrainReport): string {
  if (!d.ok) return `Drain throughput: failed: ${d.error}`;
  return `Drain throughput: ${d.objects} objects in ${d.seconds.toFixed(1)} s = ${Math.round(d.objectsPerSecond)} objects/s `
    + `(concurrency ${d.concurrency}, ${d.cpuMsPerObject.toFixed(2)} ms CPU of the bench process per object, load ${d.load.toFixed(1)}); `
    + `goal ≥ ${DRAIN_GOAL}/s: ${d.verdict}`;
}

const MIB = 2 ** 20;

export function headline(m: Measurement): Headline {
  switch (m.kind) {
    case 'load':
      return {
        value: m.load.reqPerSec, unit: 'req/s', p50Ms: m.load.latency.p50Ms, p99Ms: m.load.latency.p99Ms,
        serverCpu: m.load.serverCpuUsPerRequest === null ? null : `${fmt(m.load.serverCpuUsPerRequest)} µs/req`,
        errors: m.load.errors, errorSamples: m.load.errorSamples,
      };
    case 'transfer':
      return {
        value: m.transfer.mbPerSec, unit: 'MB/s', p50Ms: m.transfer.latency.p50Ms, p99Ms: m.transfer.latency.p99Ms,
        serverCpu: m.transfer.serverCpuMsPerGB === null ? null : `${fmt(m.transfer.serverCpuMsPerGB)} ms/GB`,
        errors: m.transfer.errors, errorSamples: m.transfer.errorSamples,
      };
    case 'rss':
      return {
        value: m.rss.growthBytes / MIB, unit: 'MiB', p50Ms: null, p99Ms: null,
        serverCpu: m.transfer.serverCpuMsPerGB === null ? null : `${fmt(m.transfer.serverCpuMsPerGB)} ms/GB`,
        errors: m.transfer.errors, errorSamples: m.transfer.errorSamples,
      };
  }
}

export function describeGoal(goal: Goal): string {
  switch (goal.kind) {
    case 'ratio-to-proxy':
      return [
        `≥ ${goal.min}× proxy`,
        ...(goal.maxP99Ratio === undefined ? [] : [`p99 ≤ ${goal.maxP99Ratio}× proxy's`]),
        ...(goal.maxCpuRatio === undefined ? [] : [`CPU ≤ ${goal.maxCpuRatio}× proxy's`]),
      ].join(', ');
    case 'rss-growth':
      return `growth ≤ ${goal.maxBytes / MIB} MiB`;
  }
}

const cpuPerRequest = (o: Outcome & { ok: true }): number | null =>
  o.measurement.kind === 'load' ? o.measurement.load.serverCpuUsPerRequest : null;

export function judge(goal: Goal, gateway: Outcome | undefined, proxy: Outcome | undefined): { verdict: Verdict; note: string | null } {
  if (!gateway?.ok) return { verdict: 'n/a', note: 'gateway not measured' };
  const g = gateway.headline;
  if (g.errors > 0) return { verdict: 'MISS', note: `${g.errors} failed requests` };
  switch (goal.kind) {
    case 'ratio-to-proxy': {
      if (!proxy?.ok || proxy.headline.errors > 0) return { verdict: 'n/a', note: 'no clean proxy figure to compare with' };
      // Every part of the goal is shown with its figure, so a MISS says which part missed.
      const parts: string[] = [];
      let pass = g.value >= goal.min * proxy.headline.value;
      if (goal.maxP99Ratio !== undefined) {
        const ratio = (g.p99Ms ?? NaN) / (proxy.headline.p99Ms ?? NaN);
        pass &&= ratio <= goal.maxP99Ratio;
        parts.push(`p99 ${fmt(ratio, 2)}×`);
      }
      if (goal.maxCpuRatio !== undefined) {
        const ratio = (cpuPerRequest(gateway) ?? NaN) / (cpuPerRequest(proxy) ?? NaN);
        pass &&= ratio <= goal.maxCpuRatio;
        parts.push(`CPU ${fmt(ratio, 2)}×`);
      }
      return { verdict: pass ? 'PASS' : 'MISS', note: parts.length > 0 ? parts.join(', ') : null };
    }
    case 'rss-growth':
      return { verdict: g.value * MIB <= goal.maxBytes ? 'PASS' : 'MISS', note: null };
  }
}

/** gateway-encrypted's figure over the gateway's, and the least it should be (the issue's target for the workload). */
export interface EncryptedComparison {
  min: number;
  ratioToGateway: number | null;
  verdict: Verdict;
}

export function judgeEncrypted(min: number | undefined, encrypted: Outcome | undefined, gateway: Outcome | undefined): EncryptedComparison | undefined {
  if (min === undefined || encrypted === undefined) return undefined;
  if (!encrypted.ok || !gateway?.ok || gateway.headline.errors > 0 || gateway.headline.value <= 0) return { min, ratioToGateway: null, verdict: 'n/a' };
  const ratio = encrypted.headline.value / gateway.headline.value;
  return { min, ratioToGateway: ratio, verdict: encrypted.headline.errors === 0 && ratio >= min ? 'PASS' : 'MISS' };
}

/** The 1M-object gateway must keep at least 90 % of the empty-database gateway's figure. */
export const MILLION_MIN_RATIO = 0.9;

export function judgeMillion(million: Outcome | undefined, gateway: Outcome | undefined): Verdict | null {
  if (million === undefined) return null;
  if (!million.ok || !gateway?.ok || gateway.headline.errors > 0) return 'n/a';
  if (million.headline.errors > 0) return 'MISS';
  return million.headline.value >= MILLION_MIN_RATIO * gateway.headline.value ? 'PASS' : 'MISS';
}

/** The gateway answering from its object cache must reach at least 90 % of the pass-through proxy's figure. */
export const CACHE_MIN_RATIO = 0.9;

export function judgeCache(cached: Outcome | undefined, proxy: Outcome | undefined): Verdict | null {
  if (cached === undefined) return null;
  return judge({ kind: 'ratio-to-proxy', min: CACHE_MIN_RATIO }, cached, proxy).verdict;
}

/** Adds each target's ratio to the proxy (throughput workloads only). */
export function withRatios(results: Partial<Record<TargetName, Outcome>>): Partial<Record<TargetName, Outcome>> {
  const proxy = results.proxy;
  const base = proxy?.ok && proxy.headline.unit !== 'MiB' && proxy.headline.value > 0 ? proxy.headline.value : null;
  const out: Partial<Record<TargetName, Outcome>> = {};
  for (const [name, outcome] of Object.entries(results) as [TargetName, Outcome][]) {
    out[name] = outcome.ok ? { ...outcome, ratioToProxy: base === null ? null : outcome.headline.value / base } : outcome;
  }
  return out;
}

export function machineInfo(): BenchReport['machine'] {
  const cpu = cpus();
  return { cpus: cpu.length, cpuModel: cpu[0]?.model ?? 'unknown', memoryBytes: totalmem(), node: process.version, platform: process.platform };
}

function fmt(n: number | null, digits = 0): string {
  if (n === null || !Number.isFinite(n)) return '-';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function figure(h: Headline): string {
  return `${fmt(h.value, h.unit === 'req/s' ? 0 : 1)} ${h.unit}`;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col] ?? 0))).join('  ').trimEnd()).join('\n');
}

/** One line per measurement, for progress output while the run goes on. */
export function progressLine(title: string, target: TargetName, outcome: Outcome): string {
  if (!outcome.ok) return `  ${title} · ${target}: ${outcome.error}`;
  const h = outcome.headline;
  const latency = h.p50Ms === null ? '' : `, p50 ${fmt(h.p50Ms, 2)} ms, p99 ${fmt(h.p99Ms, 2)} ms`;
  const errors = h.errors > 0 ? `, ${h.errors} ERRORS: ${h.errorSamples[0] ?? ''}` : '';
  return `  ${title} · ${target}: ${figure(h)}${latency}${errors}${warmupNote(outcome.measurement)}${clientNote(outcome.measurement)}`;
}

/** How long a small-object run warmed up and what its server's CPU per request did meanwhile and round by round. */
function warmupNote(m: Measurement): string {
  if (m.kind !== 'load') return '';
  const us = (xs: readonly (number | null)[]): string => xs.map((x) => (x === null ? '?' : x.toFixed(0))).join('/');
  const windows = m.load.warmupWindowsCpuUs.length === 0 ? '' : `, then second by second ${us(m.load.warmupWindowsCpuUs)} µs/req`;
  return ` (warm-up ${fmt(m.load.warmupSeconds, 1)} s in all${windows}; rounds ${us(m.load.rounds.map((r) => r.serverCpuUsPerRequest))} µs/req)`;
}

/** The load generator's own CPU per GB of a large transfer (it competes with the target for the cores). */
function clientNote(m: Measurement): string {
  if (m.kind !== 'transfer' || m.transfer.clientCpuMsPerGB === null) return '';
  return ` (client CPU ${fmt(m.transfer.clientCpuMsPerGB)} ms/GB)`;
}

export function formatReport(report: BenchReport): string {
  const lines: string[] = [];
  for (const t of report.targets) {
    lines.push(t.available ? `${t.name}: ${t.origin} (pid ${t.pid})${t.database ? `, ${t.database}` : ''}` : `${t.name} not available: ${t.reason}`);
  }
  lines.push('');
  const rows: string[][] = [['Workload', 'Target', 'Figure', 'p50 ms', 'p99 ms', '×proxy', 'Server CPU', 'Errors', 'Goal (gateway)', 'Verdict']];
  for (const w of report.workloads) {
    let first = true;
    for (const [name, outcome] of Object.entries(w.results) as [TargetName, Outcome][]) {
      const lead = first ? w.title : '';
      first = false;
      const goalCells = name === 'gateway' ? [w.goal, w.verdictNote ? `${w.verdict} (${w.verdictNote})` : w.verdict]
        : name === 'gateway-1m' ? [`≥ ${MILLION_MIN_RATIO}× gateway`, w.millionVerdict ?? 'n/a']
          : name === 'gateway-encrypted' && w.encrypted
            ? [`≥ ${w.encrypted.min}× gateway`, `${w.encrypted.verdict} (${fmt(w.encrypted.ratioToGateway, 2)}× gateway)`]
          : name === 'gateway-cache' ? [`≥ ${CACHE_MIN_RATIO}× proxy`, w.cacheVerdict ?? 'n/a'] : ['', ''];
      if (!outcome.ok) {
        const cell = outcome.error.startsWith('not available') ? 'not available (see above)' : outcome.error.slice(0, 70);
        rows.push([lead, name, cell, '', '', '', '', '', ...goalCells]);
        continue;
      }
      const h = outcome.headline;
      rows.push([lead, name, figure(h), fmt(h.p50Ms, 2), fmt(h.p99Ms, 2), fmt(outcome.ratioToProxy, 2), h.serverCpu ?? '-', String(h.errors), ...goalCells]);
    }
  }
  lines.push(table(rows));
  lines.push('');
  lines.push('MB/s = 10^6 bytes/s of object data. Latency = request start to last response byte, client side.');
  lines.push('Server CPU = user+system time of the process the client talks to (direct: the upstream), from /proc; 10 ms ticks.');
  lines.push('All processes share this machine\'s CPUs: compare ratios within one run, not absolute figures across machines.');
  lines.push(...overwriteNotes(report));
  return lines.join('\n');
}

/**
 * The 4 KiB PUT row measures new keys (an overwrite costs the gateway about twice as much); a
 * target fast enough to send more PUTs than there are keys wrapped round to overwrites, so say so.
 */
function overwriteNotes(report: BenchReport): string[] {
  const notes: string[] = [];
  for (const w of report.workloads) {
    if (w.id !== 'put-small') continue;
    for (const [name, outcome] of Object.entries(w.results) as [TargetName, Outcome][]) {
      // Only the gateways pay for an overwrite; the proxy and the upstream store alike.
      if (!name.startsWith('gateway') || !outcome.ok || outcome.measurement.kind !== 'load') continue;
      const over = outcome.measurement.load.requestsSent - report.settings.putKeys;
      if (over > 0) notes.push(`NOTE ${w.title} · ${name}: ${over.toLocaleString('en-US')} of its ${outcome.measurement.load.requestsSent.toLocaleString('en-US')} PUTs (warm-ups included) overwrote keys written earlier in the run (${report.settings.putKeys.toLocaleString('en-US')} keys).`);
    }
  }
  return notes;
}

export async function writeReport(dir: string, report: BenchReport): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${report.startedAt.replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
