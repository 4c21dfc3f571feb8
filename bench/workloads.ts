import { randomBytes } from 'node:crypto';
import {
  LoadRecorder, runClosedLoop, runTransfers, sendAll, TransferRecorder, type LoadResult, type SmallRequest, type Transfer, type TransferResult,
} from './load.js';
import { smallBody } from './pattern.js';
import { measureRssGrowth, type RssGrowth } from './procfs.js';
import { BenchSigner } from './signing.js';

/**
 * The benchmark's workloads. Each is prepared per target (preloading, signing), then its timed
 * part runs in rounds: round 1 for every target, round 2 for every target, … so that whatever
 * else the machine does during the run falls on all targets alike.
 */

/**
 * `gateway-1m`: the gateway on a database that already records 1,000,000 objects (million.ts).
 * `gateway-encrypted`: the gateway with encryption at rest on (gateway.ts), compared with `gateway`.
 * `gateway-cache`: the gateway with the object cache on (a hit is answered from memory: with the
 * single-writer location cache it makes no PostgreSQL query either), compared with `proxy`.
 */
export const TARGET_NAMES = ['direct', 'proxy', 'gateway', 'gateway-encrypted', 'gateway-cache', 'gateway-1m'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

export interface Target {
  name: TargetName;
  origin: string;
  /** The process that answers the client (for RSS). */
  pid: number;
}

export interface BenchSettings {
  /** Untimed warm-up before the first round of a small-object run (later rounds warm up for ≤ 0.5 s). */
  warmupMs: number;
  /**
   * The first round's warm-up goes on past `warmupMs` until this many requests were answered
   * (every target alike: V8 optimises a fresh server's code by how often it ran, so a gateway
   * answering a fifth of the proxy's requests per second needs five times as long), for at most
   * `warmupCapMs` in all. 0: a fixed warm-up.
   */
  warmupRequests: number;
  warmupCapMs: number;
  /** Timed window of a small-object run per target, split over the rounds. */
  durationMs: number;
  rounds: number;
  getConnections: number;
  putConnections: number;
  smallSize: number;
  /** Objects the small-GET run cycles over. */
  getObjects: number;
  /** Distinct keys signed for the small-PUT run; more requests than this overwrite. */
  putKeys: number;
  largeSize: number;
  /** Timed large transfers per target and direction, split over the rounds. */
  largeCount: number;
  rssSize: number;
}

export type Goal =
  /**
   * The gateway's headline figure is at least `min` × the proxy's; with `maxP99Ratio` its p99 at
   * most that × the proxy's, with `maxCpuRatio` its server CPU per request at most that × the proxy's.
   */
  | { kind: 'ratio-to-proxy'; min: number; maxP99Ratio?: number; maxCpuRatio?: number }
  | { kind: 'rss-growth'; maxBytes: number };

export type Measurement =
  | { kind: 'load'; load: LoadResult }
  | { kind: 'transfer'; transfer: TransferResult }
  | { kind: 'rss'; rss: RssGrowth; transfer: TransferResult };

/** One workload against one target, prepared. */
export interface Session {
  /** Runs round `index` (0-based) of `settings.rounds`. */
  round(index: number): Promise<void>;
  result(): Measurement;
}

export interface Workload {
  id: string;
  title(settings: BenchSettings): string;
  large: boolean;
  /** Also measured on `gateway-1m`, whose figure must be within 10 % of the empty database's. */
  million: boolean;
  /** Also measured on `gateway-cache`, whose figure must be at least 0.9 × the proxy's. */
  cached?: boolean;
  /** What the gateway must reach (the targets). */
  goal: Goal;
  /** Also measured on `gateway-encrypted`, whose figure must be at least this × the gateway's. */
  encrypted?: number;
  /** Reads what the workload before it stored; any other workload starts on an upstream holding nothing. */
  readsEarlierObjects?: true;
  prepare(target: Target, settings: BenchSettings): Promise<Session>;
}

/** 4096 → "4 KiB", 67108864 → "64 MiB". */
export function size(bytes: number): string {
  for (const [unit, n] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes / n} ${unit}`;
  }
  return `${bytes} B`;
}

const LATER_ROUND_WARMUP_MS = 500;

function closedLoopSession(target: Target, s: BenchSettings, connections: number, requests: SmallRequest[]): Session {
  const recorder = new LoadRecorder();
  return {
    round: (index) => runClosedLoop({
      origin: target.origin,
      connections,
      warmupMs: index === 0 ? s.warmupMs : Math.min(s.warmupMs, LATER_ROUND_WARMUP_MS),
      ...(index === 0 && s.warmupRequests > 0 ? { warmupRequests: { count: s.warmupRequests, capMs: s.warmupCapMs } } : {}),
      durationMs: s.durationMs / s.rounds,
      serverPid: target.pid,
      requests,
    }, recorder),
    result: () => ({ kind: 'load', load: recorder.result() }),
  };
}

const smallGet: Workload = {
  id: 'get-small',
  title: (s) => `${size(s.smallSize)} GET, c=${s.getConnections}`,
  large: false,
  million: true,
  cached: true,
  goal: { kind: 'ratio-to-proxy', min: 0.6, maxCpuRatio: 2 },
  encrypted: 0.9,
  async prepare(target, s) {
    const signer = new BenchSigner(target.origin);
    const keys = Array.from({ length: s.getObjects }, (_, i) => `get-small/${i}`);
    const bodies = keys.map((_, i) => smallBody(i, s.smallSize));
    const puts = await signer.signAll('PUT', keys, s.smallSize);
    await sendAll(target.origin, puts.map((r, i) => ({ ...r, body: bodies[i] })));
    const gets = await signer.signAll('GET', keys);
    return closedLoopSession(target, s, s.getConnections, gets.map((r, i) => ({ ...r, expect: bodies[i] })));
  },
};

const SMALL_PUT_BODIES = 64;

/**
 * Each run PUTs keys no earlier run wrote: gateway-1m's database outlives runs, and an overwrite
 * (which also deletes the replaced copy) costs the gateway about twice a new key's CPU, whereas
 * the other targets always start empty.
 */
const RUN_TOKEN = randomBytes(4).toString('hex');

const smallPut: Workload = {
  id: 'put-small',
  title: (s) => `${size(s.smallSize)} PUT, c=${s.putConnections}`,
  large: false,
  million: true,
  goal: { kind: 'ratio-to-proxy', min: 0.35, maxP99Ratio: 3 },
  encrypted: 0.9,
  async prepare(target, s) {
    const signer = new BenchSigner(target.origin);
    const keys = Array.from({ length: s.putKeys }, (_, i) => `put-small/${target.name}/${RUN_TOKEN}/${i}`);
    const bodies = Array.from({ length: SMALL_PUT_BODIES }, (_, i) => smallBody(i, s.smallSize));
    const puts = await signer.signAll('PUT', keys, s.smallSize);
    return closedLoopSession(target, s, s.putConnections, puts.map((r, i) => ({ ...r, body: bodies[i % SMALL_PUT_BODIES] })));
  },
};

/** The timed transfers are `large/0…n-1`, split evenly over the rounds; round 0 starts with one untimed `large/warm-up`. */
async function transferSession(target: Target, s: BenchSettings, method: 'PUT' | 'GET'): Promise<Session> {
  const signer = new BenchSigner(target.origin);
  const sign = async (key: string): Promise<Transfer> => ({
    request: await signer.sign(method, key, method === 'PUT' ? s.largeSize : undefined),
    size: s.largeSize,
  });
  const warmup = [await sign('large/warm-up')];
  const timed: Transfer[] = [];
  for (let i = 0; i < s.largeCount; i++) timed.push(await sign(`large/${i}`));
  const recorder = new TransferRecorder();
  const share = (index: number): number => Math.round((index * timed.length) / s.rounds);
  return {
    round: (index) => runTransfers(target, index === 0 ? warmup : [], timed.slice(share(index), share(index + 1)), recorder),
    result: () => ({ kind: 'transfer', transfer: recorder.result() }),
  };
}

const largePut: Workload = {
  id: 'put-large',
  title: (s) => `${size(s.largeSize)} PUT ×${s.largeCount}, c=1`,
  large: true,
  million: false,
  goal: { kind: 'ratio-to-proxy', min: 0.8 },
  encrypted: 0.8,
  prepare: (target, s) => transferSession(target, s, 'PUT'),
};

/** Reads the objects `put-large` wrote through the same target. */
const largeGet: Workload = {
  id: 'get-large',
  title: (s) => `${size(s.largeSize)} GET ×${s.largeCount}, c=1`,
  large: true,
  million: false,
  goal: { kind: 'ratio-to-proxy', min: 0.8 },
  encrypted: 0.8,
  readsEarlierObjects: true,
  prepare: (target, s) => transferSession(target, s, 'GET'),
};

/** One huge transfer in the first round; RSS is sampled around it. */
async function rssSession(target: Target, s: BenchSettings, method: 'PUT' | 'GET'): Promise<Session> {
  const signer = new BenchSigner(target.origin);
  const request = await signer.sign(method, 'rss/huge', method === 'PUT' ? s.rssSize : undefined);
  const recorder = new TransferRecorder();
  let rss: RssGrowth | undefined;
  return {
    async round(index) {
      if (index !== 0) return;
      // Let the previous workload's garbage settle so the baseline is the process' resting size.
      await new Promise((done) => setTimeout(done, 500));
      rss = (await measureRssGrowth(target.pid, () => runTransfers(target, [], [{ request, size: s.rssSize }], recorder))).rss;
    },
    result() {
      if (!rss) throw new Error('the RSS transfer did not run');
      return { kind: 'rss', rss, transfer: recorder.result() };
    },
  };
}

const RSS_GOAL: Goal = { kind: 'rss-growth', maxBytes: 64 * 2 ** 20 };

const rssPut: Workload = {
  id: 'rss-put', title: (s) => `${size(s.rssSize)} PUT, RSS growth`, large: true, million: false, goal: RSS_GOAL, prepare: (target, s) => rssSession(target, s, 'PUT'),
};
const rssGet: Workload = {
  id: 'rss-get', title: (s) => `${size(s.rssSize)} GET, RSS growth`, large: true, million: false, goal: RSS_GOAL, readsEarlierObjects: true, prepare: (target, s) => rssSession(target, s, 'GET'),
};

/** In run order: each GET reads what the PUT before it wrote through the same target. */
export const WORKLOADS: readonly Workload[] = [smallGet, smallPut, largePut, largeGet, rssPut, rssGet];
