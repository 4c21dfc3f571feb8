import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { serverSet, type ChildServer } from './child.js';
import { startGateway } from './gateway.js';
import { startMillionGateway } from './million.js';
import { startPassthroughProxy } from './passthrough-proxy.js';
import {
  describeGoal, DRAIN_GOAL, formatDrain, formatReport, headline, judge, judgeCache, judgeEncrypted, judgeMillion, machineInfo, progressLine, withRatios, writeReport,
  type BenchReport, type DrainReport, type Outcome, type TargetStatus, type WorkloadReport,
} from './report.js';
import { runDrainBench } from './drain.js';
import { forgetStoredObjects, startUpstream } from './upstream.js';
import { TARGET_NAMES, WORKLOADS, type BenchSettings, type Session, type Target, type TargetName, type Workload } from './workloads.js';

/**
 * `npm run bench [-- options]`: direct upstream, bare pass-through proxy and the gateway, side by
 * side in one run, against one in-memory upstream. See bench/README.md.
 */

const USAGE = `Usage: npm run bench -- [options]
  --targets <list>        direct,proxy,gateway,gateway-encrypted,gateway-cache,gateway-1m
                          (default: all; --only is an alias). gateway-encrypted is the
                          gateway with encryption at rest on, judged as a ratio to gateway;
                          gateway-cache runs the small GET with the object cache on
                          gateway-1m runs the small GET and PUT on a database with 1,000,000
                          objects, prepared on the first run and kept (see bench/README.md)
  --duration <seconds>    timed window per target of each small-object run (default 10)
  --warmup <seconds>      untimed warm-up before each small-object run (default 2)
  --warmup-requests <n>   the warm-up goes on until n requests were answered (default 10000;
                          every target alike: V8 optimises a fresh server by how often its
                          code ran), for at most --warmup-cap seconds in all (default 20)
  --rounds <n>            split the timed part into n rounds that alternate between the
                          targets, so background load hits all of them alike (default 3)
  --connections <n>       concurrent clients for the small GET (default 32)
  --put-connections <n>   concurrent clients for the small PUT (default 16)
  --large-count <n>       timed large transfers per target and direction (default 6)
  --skip-large            skip the 64 MiB and 1 GiB workloads
  --workloads <list>      only these workload ids (get-small,put-small,put-large,get-large,
                          rss-put,rss-get; a GET needs the PUT before it for its objects)
  --results-dir <dir>     where the JSON goes (default bench/results)
  --drain-objects <n>     small objects the drain-throughput run moves (default 2000)
  --drain-concurrency <n> moves in flight during that drain (default 16)
  --skip-drain            skip the drain-throughput run`;

const MIB = 2 ** 20;

/** gateway-cache: every GET object fits (256 × 4 KiB), and the entries outlive the run. */
const CACHE_YAML = 'cache:\n  enabled: true\n  max_size: 64MiB\n  max_object_size: 1MiB\n  ttl: 1h\n';

function positive(name: string, text: string, integer: boolean): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got "${text}"`);
  return n;
}

function nonNegative(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got "${text}"`);
  return n;
}

interface Options {
  settings: BenchSettings; targets: TargetName[]; skipLarge: boolean; workloads: readonly string[] | undefined; resultsDir: string;
  drain: { objects: number; concurrency: number } | undefined;
}

function parseOptions(): Options | undefined {
  const { values } = parseArgs({
    options: {
      targets: { type: 'string' },
      only: { type: 'string' },
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      'warmup-requests': { type: 'string', default: '10000' },
      'warmup-cap': { type: 'string', default: '20' },
      rounds: { type: 'string', default: '3' },
      connections: { type: 'string', default: '32' },
      'put-connections': { type: 'string', default: '16' },
      'large-count': { type: 'string', default: '6' },
      'skip-large': { type: 'boolean', default: false },
      workloads: { type: 'string' },
      'results-dir': { type: 'string' },
      'drain-objects': { type: 'string', default: '2000' },
      'drain-concurrency': { type: 'string', default: '16' },
      'skip-drain': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return undefined;
  }
  const list = (values.targets ?? values.only ?? TARGET_NAMES.join(',')).split(',').map((t) => t.trim()).filter((t) => t !== '');
  for (const t of list) {
    if (!(TARGET_NAMES as readonly string[]).includes(t)) throw new Error(`unknown target "${t}" (expected ${TARGET_NAMES.join(', ')})`);
  }
  const workloads = values.workloads?.split(',').map((w) => w.trim()).filter((w) => w !== '');
  for (const w of workloads ?? []) {
    if (!WORKLOADS.some((k) => k.id === w)) throw new Error(`unknown workload "${w}" (expected ${WORKLOADS.map((k) => k.id).join(', ')})`);
  }
  return {
    workloads,
    settings: {
      warmupMs: positive('warmup', values.warmup, false) * 1000,
      warmupRequests: nonNegative('warmup-requests', values['warmup-requests']),
      warmupCapMs: nonNegative('warmup-cap', values['warmup-cap']) * 1000,
      durationMs: positive('duration', values.duration, false) * 1000,
      rounds: positive('rounds', values.rounds, true),
      getConnections: positive('connections', values.connections, true),
      putConnections: positive('put-connections', values['put-connections'], true),
      smallSize: 4096,
      getObjects: 256,
      putKeys: 81_920,
      largeSize: 64 * MIB,
      largeCount: positive('large-count', values['large-count'], true),
      rssSize: 1024 * MIB,
    },
    // Always in the same order, so every workload measures direct, proxy, gateway back to back.
    targets: TARGET_NAMES.filter((t) => list.includes(t)),
    skipLarge: values['skip-large'],
    resultsDir: values['results-dir'] ?? fileURLToPath(new URL('../../bench/results/', import.meta.url)),
    // The drain runs the orchestrator itself: it belongs to the gateway's figures.
    drain: values['skip-drain'] || !list.includes('gateway') ? undefined : {
      objects: positive('drain-objects', values['drain-objects'], true),
      concurrency: positive('drain-concurrency', values['drain-concurrency'], true),
    },
  };
}

const optional = <K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> => (value === undefined ? {} : { [key]: value } as Record<K, V>);

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ');

/** Prepares every available target, runs the rounds interleaved, and judges the gateway's figure. */
async function runWorkload(
  workload: Workload, selected: readonly TargetName[], targets: ReadonlyMap<TargetName, Target>, statuses: readonly TargetStatus[], settings: BenchSettings,
): Promise<WorkloadReport> {
  const title = workload.title(settings);
  console.log(`${title}: preparing, then ${settings.rounds} round(s) per target…`);
  const failed = new Map<TargetName, string>();
  const sessions = new Map<TargetName, Session>();
  const names = selected.filter((n) => (n !== 'gateway-1m' || workload.million) && (n !== 'gateway-encrypted' || workload.encrypted !== undefined)
    && (n !== 'gateway-cache' || workload.cached === true));
  for (const name of names) {
    const target = targets.get(name);
    if (!target) {
      failed.set(name, `not available: ${statuses.find((s) => s.name === name)?.reason ?? 'not started'}`);
      continue;
    }
    try {
      sessions.set(name, await workload.prepare(target, settings));
    } catch (err) {
      failed.set(name, `failed: ${message(err)}`);
    }
  }
  for (let round = 0; round < settings.rounds; round++) {
    for (const [name, session] of sessions) {
      if (failed.has(name)) continue;
      try {
        await session.round(round);
      } catch (err) {
        failed.set(name, `failed: ${message(err)}`);
      }
    }
  }
  const results: Partial<Record<TargetName, Outcome>> = {};
  for (const name of names) {
    const session = sessions.get(name);
    let outcome: Outcome = { ok: false, error: failed.get(name) ?? 'failed: no result' };
    if (session && !failed.has(name)) {
      try {
        const measurement = session.result();
        outcome = { ok: true, headline: headline(measurement), ratioToProxy: null, measurement };
      } catch (err) {
        outcome = { ok: false, error: `failed: ${message(err)}` };
      }
    }
    results[name] = outcome;
    console.log(progressLine(title, name, outcome));
  }
  const withRatio = withRatios(results);
  const { verdict, note } = judge(workload.goal, withRatio.gateway, withRatio.proxy);
  return {
    id: workload.id, title, goal: describeGoal(workload.goal), results: withRatio, verdict, verdictNote: note,
    millionVerdict: judgeMillion(withRatio['gateway-1m'], withRatio.gateway),
    ...optional('encrypted', judgeEncrypted(workload.encrypted, withRatio['gateway-encrypted'], withRatio.gateway)),
    cacheVerdict: judgeCache(withRatio['gateway-cache'], withRatio.proxy),
  };
}

/** The drain-throughput run, reported as a line of its own (it has no proxy to compare with). */
async function measureDrain(opts: { objects: number; concurrency: number }, size: number): Promise<DrainReport> {
  console.log(`drain ${opts.objects} objects of ${size} B between two in-process upstreams (concurrency ${opts.concurrency})…`);
  try {
    const r = await runDrainBench({ ...opts, size });
    return { ok: true, ...r, verdict: r.objectsPerSecond >= DRAIN_GOAL ? 'PASS' : 'MISS' };
  } catch (err) {
    return { ok: false, error: message(err) };
  }
}

/**
 * Room in the upstream's BodyArena for the ciphertext the encrypted 64 MiB PUT row stores (its
 * warm-up and timed bodies, plus 1/16 for the encryption's framing); the plain rows store lengths.
 */
function upstreamArenaBytes(targets: readonly TargetName[], s: BenchSettings, skipLarge: boolean): number {
  return skipLarge || !targets.includes('gateway-encrypted') ? 0 : Math.ceil(((s.largeCount + 1) * s.largeSize * 17) / 16);
}

async function main(): Promise<number> {
  const options = parseOptions();
  if (!options) return 0;
  const { settings, skipLarge } = options;
  const startedAt = new Date().toISOString();
  const { servers, stopAll } = serverSet();

  try {
    const upstream = await startUpstream(upstreamArenaBytes(options.targets, settings, skipLarge));
    servers.push(upstream);
    const statuses: TargetStatus[] = [];
    const targets = new Map<TargetName, Target>();
    const start = async (name: TargetName, launch: () => Promise<ChildServer & { database?: string }>): Promise<void> => {
      try {
        const server = await launch();
        if (server !== upstream) servers.push(server);
        targets.set(name, { name, origin: server.origin, pid: server.pid });
        statuses.push({ name, available: true, origin: server.origin, pid: server.pid, reason: null, database: server.database ?? null });
      } catch (err) {
        statuses.push({ name, available: false, origin: null, pid: null, reason: message(err), database: null });
      }
    };
    for (const name of options.targets) {
      if (name === 'direct') await start(name, () => Promise.resolve(upstream));
      if (name === 'proxy') await start(name, () => startPassthroughProxy(upstream.origin));
      if (name === 'gateway') await start(name, () => startGateway(upstream.origin));
      if (name === 'gateway-encrypted') await start(name, () => startGateway(upstream.origin, undefined, name, { encrypted: true }));
      if (name === 'gateway-cache') await start(name, () => startGateway(upstream.origin, undefined, name, { extraYaml: CACHE_YAML }));
      if (name === 'gateway-1m') await start(name, () => startMillionGateway(upstream.origin, (line) => console.log(line)));
    }
    for (const s of statuses) console.log(s.available ? `${s.name}: ${s.origin} (pid ${s.pid})` : `${s.name} not available: ${s.reason}`);

    const workloads: WorkloadReport[] = [];
    for (const workload of WORKLOADS.filter((w) => !(skipLarge && w.large) && (options.workloads?.includes(w.id) ?? true))) {
      if (workload.readsEarlierObjects !== true) await forgetStoredObjects(upstream.origin);
      workloads.push(await runWorkload(workload, options.targets, targets, statuses, settings));
    }

    const drain = options.drain ? await measureDrain(options.drain, settings.smallSize) : undefined;
    const report: BenchReport = {
      format: 's3-orchestrator-bench/1', startedAt, finishedAt: new Date().toISOString(), machine: machineInfo(), settings,
      targets: statuses, workloads, ...(drain ? { drain } : {}),
    };
    const gateway = servers.find((s) => s.name === 'gateway');
    const gatewayOutput = gateway?.outputTail() ?? '';
    if (gatewayOutput !== '') console.log(`\ngateway output (last lines, log_level warn): ${gatewayOutput}`);
    console.log(`\n${formatReport(report)}`);
    if (drain) console.log(`\n${formatDrain(drain)}`);
    console.log(`\nresults: ${await writeReport(options.resultsDir, report)}`);
    return 0;
  } finally {
    await stopAll();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench: ${message(err)}`);
    process.exit(1);
  },
);
