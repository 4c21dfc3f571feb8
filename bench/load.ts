import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { Pool } from 'undici';
import { LargeGetClient } from './large-get.js';
import { patternStream } from './pattern.js';
import { cpuSeconds } from './procfs.js';
import type { SignedRequest } from './signing.js';

/**
 * The load generator: a closed loop of N clients over one undici Pool (one connection each),
 * timed with process.hrtime and an HDR histogram. Requests are signed before the run, so a
 * request costs the client only undici's own work.
 */

export interface LatencySummary {
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export interface LoadResult {
  /** Requests that completed inside the timed window (failures included). */
  requests: number;
  errors: number;
  /** The first few failures, e.g. `HTTP 403 <Error><Code>SignatureDoesNotMatch…`. */
  errorSamples: string[];
  seconds: number;
  reqPerSec: number;
  /** Body bytes moved (sent for PUT, received for GET) per second, in MB (10^6 bytes). */
  mbPerSec: number;
  latency: LatencySummary;
  /** CPU time of the process that answered, per request in the timed window (null if unreadable). */
  serverCpuUsPerRequest: number | null;
  /** CPU time of the local PostgreSQL server's processes, per request (null when not measured). */
  databaseCpuUsPerRequest: number | null;
  /** Untimed warm-up before the rounds, in all. */
  warmupSeconds: number;
  /** With a settling warm-up: the server's CPU µs per request in each of its one-second windows. */
  warmupWindowsCpuUs: number[];
  /** Each round's req/s and server CPU µs per request. */
  rounds: { reqPerSec: number; serverCpuUsPerRequest: number | null }[];
  /** Every request sent from the list, warm-ups included: past its length, requests repeat. */
  requestsSent: number;
}

export interface SmallRequest extends SignedRequest {
  body?: Buffer;
  /** For a GET: the exact body the response must carry. */
  expect?: Buffer;
}

const NS_PER_MS = 1e6;

function summarize(h: RecordableHistogram): LatencySummary {
  if (h.count === 0) return { p50Ms: NaN, p90Ms: NaN, p99Ms: NaN, maxMs: NaN, meanMs: NaN };
  return {
    p50Ms: h.percentile(50) / NS_PER_MS,
    p90Ms: h.percentile(90) / NS_PER_MS,
    p99Ms: h.percentile(99) / NS_PER_MS,
    maxMs: h.max / NS_PER_MS,
    meanMs: h.mean / NS_PER_MS,
  };
}

class Failures {
  count = 0;
  readonly samples: string[] = [];
  note(what: string): void {
    this.count++;
    if (this.samples.length < 5) this.samples.push(what.slice(0, 300));
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${(err as { code?: string }).code ?? err.name}: ${err.message}`;
  return String(err);
}

/** Sends one small request; resolves to a failure description or undefined, and the body bytes moved. */
async function sendSmall(pool: Pool, r: SmallRequest): Promise<[string | undefined, number]> {
  const res = await pool.request({ method: r.method, path: r.path, headers: r.headers, body: r.body });
  if (res.statusCode >= 300) return [`HTTP ${res.statusCode} ${await res.body.text()}`, 0];
  if (r.expect === undefined) {
    await res.body.dump();
    return [undefined, r.body?.length ?? 0];
  }
  const got = Buffer.from(await res.body.arrayBuffer());
  return [got.equals(r.expect) ? undefined : `wrong body: ${got.length} bytes, expected ${r.expect.length}`, got.length];
}

/**
 * Collects the timed part of one target's closed-loop runs: several short runs (rounds
 * interleaved with the other targets) add up to one result.
 */
export class LoadRecorder {
  readonly histogram = createHistogram({ lowest: 1, highest: 120e9, figures: 3 });
  readonly failures = new Failures();
  requests = 0;
  bytes = 0;
  seconds = 0;
  /** NaN once a reading failed. */
  serverCpuSeconds = 0;
  /** NaN when not measured. */
  databaseCpuSeconds = 0;
  /** Untimed warm-up, all runs together. */
  warmupSeconds = 0;
  /** CPU µs per request of each window of a settling warm-up (the last run's). */
  warmupWindowsCpuUs: number[] = [];
  /** req/s and server CPU µs per request of each run (round). */
  readonly rounds: { reqPerSec: number; serverCpuUsPerRequest: number | null }[] = [];
  requestsSent = 0;

  result(): LoadResult {
    return {
      requests: this.requests,
      errors: this.failures.count,
      errorSamples: this.failures.samples,
      seconds: this.seconds,
      reqPerSec: this.requests / this.seconds,
      mbPerSec: this.bytes / this.seconds / 1e6,
      latency: summarize(this.histogram),
      serverCpuUsPerRequest: perUnit(this.serverCpuSeconds * 1e6, this.requests),
      databaseCpuUsPerRequest: perUnit(this.databaseCpuSeconds * 1e6, this.requests),
      warmupSeconds: this.warmupSeconds,
      warmupWindowsCpuUs: this.warmupWindowsCpuUs,
      rounds: this.rounds,
      requestsSent: this.requestsSent,
    };
  }
}

function perUnit(total: number, units: number): number | null {
  return Number.isFinite(total) && units > 0 ? total / units : null;
}

/** CPU seconds `pid` uses while `timed` runs (NaN if /proc cannot tell). */
async function serverCpu<T>(pid: number, timed: () => Promise<T>): Promise<[T, number]> {
  const before = await cpuSeconds(pid);
  const result = await timed();
  const after = await cpuSeconds(pid);
  return [result, before === undefined || after === undefined ? NaN : after - before];
}

export interface ClosedLoopOptions {
  origin: string;
  connections: number;
  warmupMs: number;
  durationMs: number;
  /** The process that answers (its CPU time is measured). */
  serverPid: number;
  /** Used round-robin, continuing where the previous run with the same list stopped (`requestsSent` counts on). */
  requests: readonly SmallRequest[];
  /** CPU seconds the database server has used so far, when it runs on this machine. */
  databaseCpu?: () => Promise<number>;
  /**
   * Warm up past `warmupMs` until this many requests were answered (V8 optimises a fresh server's
   * code by how often it ran), for at most `warmupCapMs` in all.
   */
  warmupRequests?: { count: number; capMs: number };
}

/** A warm-up past `warmupMs` notes the server's CPU per request in windows this long. */
const WARMUP_WINDOW_MS = 1000;

const cursors = new WeakMap<readonly SmallRequest[], number>();

/** Runs `connections` clients for warm-up + duration and adds the timed part to `recorder`. */
export async function runClosedLoop(options: ClosedLoopOptions, recorder: LoadRecorder): Promise<void> {
  const { requests } = options;
  if (requests.length === 0) throw new Error('no requests to send');
  const pool = new Pool(options.origin, { connections: options.connections, pipelining: 1, keepAliveTimeout: 30_000 });
  let measuring = false;
  let stopped = false;
  let answered = 0;
  let next = cursors.get(requests) ?? 0;

  const client = async (): Promise<void> => {
    while (!stopped) {
      const r = requests[next++ % requests.length] as SmallRequest;
      const t0 = process.hrtime.bigint();
      let failure: string | undefined;
      let moved = 0;
      try {
        [failure, moved] = await sendSmall(pool, r);
      } catch (err) {
        failure = describe(err);
      }
      answered++;
      if (!measuring) continue;
      recorder.histogram.record(Number(process.hrtime.bigint() - t0));
      recorder.requests++;
      recorder.bytes += moved;
      if (failure !== undefined) recorder.failures.note(failure);
    }
  };

  const clients = Array.from({ length: options.connections }, client);
  const warmupStart = performance.now();
  await new Promise((done) => setTimeout(done, options.warmupMs));
  if (options.warmupRequests !== undefined) {
    const { count, capMs } = options.warmupRequests;
    recorder.warmupWindowsCpuUs = await warmUntil(options.serverPid, () => answered, count, warmupStart + capMs);
  }
  recorder.warmupSeconds += (performance.now() - warmupStart) / 1000;
  const requestsBefore = recorder.requests;
  const databaseBefore = await options.databaseCpu?.();
  const [seconds, cpu] = await serverCpu(options.serverPid, async () => {
    measuring = true;
    const start = process.hrtime.bigint();
    await new Promise((done) => setTimeout(done, options.durationMs));
    measuring = false;
    return Number(process.hrtime.bigint() - start) / 1e9;
  });
  const databaseAfter = await options.databaseCpu?.();
  const recordedInRun = recorder.requests - requestsBefore;
  recorder.seconds += seconds;
  recorder.serverCpuSeconds += cpu;
  recorder.rounds.push({ reqPerSec: recordedInRun / seconds, serverCpuUsPerRequest: perUnit(cpu * 1e6, recordedInRun) });
  recorder.databaseCpuSeconds += databaseBefore === undefined || databaseAfter === undefined ? NaN : databaseAfter - databaseBefore;
  stopped = true;
  await Promise.all(clients);
  cursors.set(requests, next);
  recorder.requestsSent = next;
  await pool.close();
}

/** Windows of WARMUP_WINDOW_MS until `count` requests were answered or the deadline; returns each window's CPU µs per request. */
async function warmUntil(pid: number, answered: () => number, count: number, deadline: number): Promise<number[]> {
  const windows: number[] = [];
  while (answered() < count && performance.now() < deadline) {
    const [cpuBefore, countBefore] = [await cpuSeconds(pid), answered()];
    await new Promise((done) => setTimeout(done, Math.min(WARMUP_WINDOW_MS, Math.max(0, deadline - performance.now()))));
    const [cpuAfter, inWindow] = [await cpuSeconds(pid), answered() - countBefore];
    if (cpuBefore !== undefined && cpuAfter !== undefined && inWindow > 0) windows.push(((cpuAfter - cpuBefore) * 1e6) / inWindow);
  }
  return windows;
}

/** Sends every request once with `concurrency` clients (setup work such as preloading objects). */
export async function sendAll(origin: string, requests: readonly SmallRequest[], concurrency = 16): Promise<void> {
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1 });
  let next = 0;
  const failures = new Failures();
  const client = async (): Promise<void> => {
    while (next < requests.length) {
      const r = requests[next++] as SmallRequest;
      try {
        const [failure] = await sendSmall(pool, r);
        if (failure !== undefined) failures.note(`${r.method} ${r.path}: ${failure}`);
      } catch (err) {
        failures.note(`${r.method} ${r.path}: ${describe(err)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  await pool.close();
  if (failures.count > 0) throw new Error(`${failures.count} of ${requests.length} setup requests failed: ${failures.samples.join(' | ')}`);
}

export interface Transfer {
  /** PUT requests stream `size` bytes of the pattern; GET responses must be exactly that. */
  request: SignedRequest;
  size: number;
}

export interface TransferResult {
  transfers: number;
  errors: number;
  errorSamples: string[];
  bytes: number;
  seconds: number;
  mbPerSec: number;
  /** Per transfer. */
  latency: LatencySummary;
  /** CPU time of the process that answered, per 10^9 bytes moved (null if unreadable). */
  serverCpuMsPerGB: number | null;
  /** CPU time of the load generator (this process) per 10^9 bytes moved: it shares the machine with the target. */
  clientCpuMsPerGB: number | null;
}

/**
 * The connections of one target's large transfers: undici for the PUTs (their bodies are views of
 * the pattern block), large-get.ts for the GETs, whose reads through undici cost this process
 * about as much CPU as the target's own work.
 */
class TransferClients {
  readonly #origin: string;
  #pool: Pool | undefined;
  #getter: LargeGetClient | undefined;

  constructor(origin: string) {
    this.#origin = origin;
  }

  /** One large PUT or GET; resolves to a failure description or undefined. */
  async transfer(t: Transfer): Promise<string | undefined> {
    const { method, path, headers } = t.request;
    if (method === 'GET') {
      this.#getter ??= new LargeGetClient(this.#origin);
      return this.#getter.get(t.request, t.size);
    }
    this.#pool ??= new Pool(this.#origin, { connections: 1, pipelining: 1, headersTimeout: 0, bodyTimeout: 0 });
    const res = await this.#pool.request({ method, path, headers, body: method === 'PUT' ? patternStream(t.size) : undefined });
    if (res.statusCode >= 300) return `HTTP ${res.statusCode} ${await res.body.text()}`;
    await res.body.dump();
    return undefined;
  }

  async close(): Promise<void> {
    this.#getter?.close();
    await this.#pool?.close();
  }
}

/** Collects one target's large transfers across rounds. */
export class TransferRecorder {
  readonly histogram = createHistogram({ lowest: 1, highest: 3600e9, figures: 3 });
  readonly failures = new Failures();
  transfers = 0;
  bytes = 0;
  seconds = 0;
  /** NaN once a reading failed. */
  serverCpuSeconds = 0;
  clientCpuSeconds = 0;

  result(): TransferResult {
    return {
      transfers: this.transfers, errors: this.failures.count, errorSamples: this.failures.samples, bytes: this.bytes,
      seconds: this.seconds, mbPerSec: this.bytes / this.seconds / 1e6, latency: summarize(this.histogram),
      serverCpuMsPerGB: perUnit(this.serverCpuSeconds * 1e3, this.bytes / 1e9),
      clientCpuMsPerGB: perUnit(this.clientCpuSeconds * 1e3, this.bytes / 1e9),
    };
  }
}

/** Runs the transfers one after another (after untimed `warmup` ones) and adds the timed ones to `recorder`. */
export async function runTransfers(
  target: { origin: string; pid: number }, warmup: readonly Transfer[], timed: readonly Transfer[], recorder: TransferRecorder,
): Promise<void> {
  const clients = new TransferClients(target.origin);
  try {
    for (const t of warmup) {
      const failure = await clients.transfer(t).catch(describe);
      if (failure !== undefined) recorder.failures.note(`warm-up: ${failure}`);
    }
    for (const t of timed) {
      const [[failure, ns, clientCpu], cpu] = await serverCpu(target.pid, async () => {
        const [t0, cpu0] = [process.hrtime.bigint(), process.cpuUsage()];
        const outcome = await clients.transfer(t).catch(describe);
        const { user, system } = process.cpuUsage(cpu0);
        return [outcome, Number(process.hrtime.bigint() - t0), (user + system) / 1e6] as const;
      });
      recorder.histogram.record(ns);
      recorder.seconds += ns / 1e9;
      recorder.serverCpuSeconds += cpu;
      recorder.clientCpuSeconds += clientCpu;
      recorder.transfers++;
      if (failure === undefined) recorder.bytes += t.size;
      else recorder.failures.note(failure);
    }
  } finally {
    await clients.close();
  }
}
