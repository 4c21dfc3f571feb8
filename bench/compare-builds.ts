import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { serverSet, type ChildServer } from './child.js';
import { databaseCpuReader, startGateway } from './gateway.js';
import { LoadRecorder, runClosedLoop, sendAll, type SmallRequest } from './load.js';
import { startPassthroughProxy } from './passthrough-proxy.js';
import { smallBody } from './pattern.js';
import { BenchSigner } from './signing.js';
import { startUpstream } from './upstream.js';

/**
 * `node dist/bench/compare-builds.js --build before=/path/to/other/dist [options]`: the 4 KiB PUT
 * or GET against the pass-through proxy, this build's gateway and other builds' gateways (each
 * from its own dist, e.g. another worktree's), in many short rounds whose order alternates. On a
 * shared machine a change worth a few percent drowns in the noise between two bench runs; side by
 * side in one run, round after round, the load falls on every build alike. Each round prints every
 * target's req/s and server CPU per request: a freshly started gateway's CPU per request falls for
 * tens of seconds while V8 optimises it, so the summary gives the CPU of the rounds after
 * `--skip-rounds` apart.
 */

const USAGE = `Usage: node dist/bench/compare-builds.js [options]
  --build <label>=<dist>  another build's dist directory (repeatable); this build runs as "this"
  --workload <put|get>    4 KiB PUTs (16 clients) or GETs (32 clients) (default put)
  --rounds <n>            rounds; each runs every target once, in alternating order (default 10)
  --duration <seconds>    timed part of each target's round (default 3)
  --connections <n>       clients (default 16 for put, 32 for get)
  --skip-rounds <n>       rounds left out of the warm CPU figure (default 2)
  --encrypted             every build's gateway with encryption at rest on, plus this build's
                          plain gateway ("this-plain") as the yardstick of issue 9's 4 KiB ratios
  Set S3O_BENCH_PG_URL / S3O_BENCH_GATEWAY_NODE_ARGS as for npm run bench.`;

interface Compared {
  label: string;
  server: ChildServer;
  requests: SmallRequest[];
  all: LoadRecorder;
  warm: LoadRecorder;
  /** req/s, CPU µs per request and the database server's CPU µs per request, round by round. */
  rounds: { reqPerSec: number; cpuUs: number; databaseCpuUs: number }[];
}

type GatewayStarter = typeof startGateway;

function positiveInteger(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got "${text}"`);
  return n;
}

async function starterOf(dist: string): Promise<GatewayStarter> {
  const module = (await import(pathToFileURL(join(resolve(dist), 'bench', 'gateway.js')).href)) as { startGateway?: GatewayStarter };
  if (typeof module.startGateway !== 'function') throw new Error(`${dist}/bench/gateway.js has no startGateway`);
  return module.startGateway;
}

async function requestsFor(origin: string, label: string, workload: 'put' | 'get'): Promise<SmallRequest[]> {
  const signer = new BenchSigner(origin);
  if (workload === 'put') {
    const keys = Array.from({ length: 81_920 }, (_, i) => `compare-put/${label}/${i}`);
    const bodies = Array.from({ length: 64 }, (_, i) => smallBody(i, 4096));
    return (await signer.signAll('PUT', keys, 4096)).map((r, i) => ({ ...r, body: bodies[i % bodies.length] }));
  }
  const keys = Array.from({ length: 256 }, (_, i) => `compare-get/${i}`);
  const bodies = keys.map((_, i) => smallBody(i, 4096));
  await sendAll(origin, (await signer.signAll('PUT', keys, 4096)).map((r, i) => ({ ...r, body: bodies[i] })));
  return (await signer.signAll('GET', keys)).map((r, i) => ({ ...r, expect: bodies[i] }));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length / 2;
  return s.length % 2 === 1 ? (s[Math.floor(mid)] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

/** `plain`: with --encrypted, this build's plain gateway, to which the encrypted ones are compared (issue 9: ≥ 0.9× for 4 KiB). */
function summary(t: Compared, proxy: Compared, plain: Compared | undefined): string {
  const all = t.all.result();
  const warm = t.warm.result();
  const p = proxy.all.result();
  const ratios = t.rounds.map((r, i) => r.reqPerSec / (proxy.rounds[i]?.reqPerSec ?? NaN));
  const cpu = (us: number | null): string => (us === null ? '?' : us.toFixed(0));
  const database = warm.databaseCpuUsPerRequest === null ? '' : `, PostgreSQL ${cpu(all.databaseCpuUsPerRequest)} µs/req, warm ${cpu(warm.databaseCpuUsPerRequest)}`;
  return `${t.label.padEnd(10)} ${all.reqPerSec.toFixed(0).padStart(6)} req/s  ×proxy ${(all.reqPerSec / p.reqPerSec).toFixed(3)}` +
    ` (median round ${median(ratios).toFixed(3)})  p50 ${all.latency.p50Ms.toFixed(1)} ms  p99 ${all.latency.p99Ms.toFixed(1)} ms` +
    ` (×${(all.latency.p99Ms / p.latency.p99Ms).toFixed(2)})  CPU ${cpu(all.serverCpuUsPerRequest)} µs/req, warm ${cpu(warm.serverCpuUsPerRequest)}${database}` +
    `  errors ${all.errors}${all.errorSamples[0] ? ` (${all.errorSamples[0]})` : ''}` +
    (plain && plain !== t && t !== proxy ? versusPlain(t, plain) : '');
}

function versusPlain(t: Compared, plain: Compared): string {
  const ratios = t.rounds.map((r, i) => r.reqPerSec / (plain.rounds[i]?.reqPerSec ?? NaN));
  const warm = t.warm.result().serverCpuUsPerRequest;
  const plainWarm = plain.warm.result().serverCpuUsPerRequest;
  const extra = warm === null || plainWarm === null ? '?' : `${warm - plainWarm >= 0 ? '+' : ''}${(warm - plainWarm).toFixed(0)}`;
  return `\n${''.padEnd(11)}×this-plain ${(t.all.result().reqPerSec / plain.all.result().reqPerSec).toFixed(3)} (median round ${median(ratios).toFixed(3)}), warm CPU ${extra} µs/req`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      build: { type: 'string', multiple: true, default: [] },
      workload: { type: 'string', default: 'put' },
      rounds: { type: 'string', default: '10' },
      duration: { type: 'string', default: '3' },
      connections: { type: 'string' },
      'skip-rounds': { type: 'string', default: '2' },
      encrypted: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.workload !== 'put' && values.workload !== 'get') throw new Error(`--workload must be put or get, got "${values.workload}"`);
  const workload = values.workload;
  const rounds = positiveInteger('rounds', values.rounds);
  const durationMs = Number(values.duration) * 1000;
  if (!(durationMs > 0)) throw new Error(`--duration must be a positive number, got "${values.duration}"`);
  const connections = values.connections === undefined ? (workload === 'put' ? 16 : 32) : positiveInteger('connections', values.connections);
  const skipRounds = positiveInteger('skip-rounds', values['skip-rounds']);
  const builds: [string, GatewayStarter][] = [['this', startGateway]];
  for (const spec of values.build) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new Error(`--build wants <label>=<dist directory>, got "${spec}"`);
    builds.push([spec.slice(0, eq), await starterOf(spec.slice(eq + 1))]);
  }

  const { servers, stopAll } = serverSet();
  try {
    const upstream = await startUpstream();
    servers.push(upstream);
    const started: [string, ChildServer][] = [['proxy', await startPassthroughProxy(upstream.origin)]];
    servers.push(started[0]?.[1] as ChildServer);
    if (values.encrypted) {
      const plain = await startGateway(upstream.origin, undefined, 'gateway-this-plain');
      servers.push(plain);
      started.push(['this-plain', plain]);
    }
    for (const [label, start] of builds) {
      const gateway = await start(upstream.origin, undefined, `gateway-${label}`, { encrypted: values.encrypted });
      servers.push(gateway);
      started.push([label, gateway]);
    }
    const targets: Compared[] = [];
    for (const [label, server] of started) {
      targets.push({ label, server, requests: await requestsFor(server.origin, label, workload), all: new LoadRecorder(), warm: new LoadRecorder(), rounds: [] });
    }
    // Every round reads the whole server's CPU: use a PostgreSQL server of its own for the figure to mean this bench alone.
    const databaseCpu = await databaseCpuReader();
    console.log(`4 KiB ${workload.toUpperCase()}, ${connections} clients, ${rounds} rounds of ${durationMs / 1000} s per target` +
      (databaseCpu === undefined ? '' : '; PostgreSQL CPU per request read from its processes'));
    for (let round = 0; round < rounds; round++) {
      for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
        const recorder = new LoadRecorder();
        await runClosedLoop({
          origin: t.server.origin, connections, warmupMs: round === 0 ? 2000 : 500, durationMs, serverPid: t.server.pid, requests: t.requests,
          databaseCpu: t.label === 'proxy' ? undefined : databaseCpu,
        }, recorder);
        const r = recorder.result();
        t.rounds.push({ reqPerSec: r.reqPerSec, cpuUs: r.serverCpuUsPerRequest ?? NaN, databaseCpuUs: r.databaseCpuUsPerRequest ?? NaN });
        for (const into of round >= skipRounds ? [t.all, t.warm] : [t.all]) {
          into.requests += recorder.requests;
          into.bytes += recorder.bytes;
          into.seconds += recorder.seconds;
          into.serverCpuSeconds += recorder.serverCpuSeconds;
          into.databaseCpuSeconds += recorder.databaseCpuSeconds;
          into.histogram.add(recorder.histogram);
          into.failures.count += recorder.failures.count;
          into.failures.samples.push(...recorder.failures.samples.slice(0, 5 - into.failures.samples.length));
        }
      }
      const line = targets.map((t) => {
        const r = t.rounds[round];
        return `${t.label} ${r?.reqPerSec.toFixed(0)}/s ${r?.cpuUs.toFixed(0)} µs${Number.isNaN(r?.databaseCpuUs) ? '' : ` +pg ${r?.databaseCpuUs.toFixed(0)} µs`}`;
      }).join('  ');
      console.log(`round ${round} (load ${loadavg()[0]?.toFixed(1)}): ${line}`);
    }
    const proxy = targets[0] as Compared;
    const plain = targets.find((t) => t.label === 'this-plain');
    for (const t of targets) console.log(summary(t, proxy, plain));
  } finally {
    await stopAll();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
