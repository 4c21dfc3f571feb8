import { readFile, writeFile } from 'node:fs/promises';

/**
 * Readings of another process from /proc: CPU time, and resident-memory growth while something runs, read from outside through
 * /proc/<pid>/status every ~50 ms. Where the kernel allows it, the peak counter (VmHWM) is reset
 * first (`echo 5 > /proc/<pid>/clear_refs`), so a spike between two samples is not missed.
 */

export interface RssGrowth {
  baselineBytes: number;
  peakBytes: number;
  growthBytes: number;
  samples: number;
  /** Whether the kernel's peak counter could be reset and was taken into account. */
  peakCounterUsed: boolean;
}

const KIB = 1024;

async function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const m = text === undefined ? null : new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
  return m?.[1] === undefined ? undefined : Number(m[1]) * KIB;
}

export async function rssBytes(pid: number): Promise<number> {
  const rss = await statusField(pid, 'VmRSS');
  if (rss === undefined) throw new Error(`cannot read VmRSS of process ${pid}`);
  return rss;
}

async function resetPeak(pid: number): Promise<boolean> {
  return writeFile(`/proc/${pid}/clear_refs`, '5').then(() => true, () => false);
}

/** Measures `pid`'s RSS peak above its level just before `work` starts. */
export async function measureRssGrowth<T>(pid: number, work: () => Promise<T>, intervalMs = 50): Promise<{ result: T; rss: RssGrowth }> {
  const baseline = await rssBytes(pid);
  const peakCounterUsed = await resetPeak(pid);
  let peak = baseline;
  let samples = 0;
  let sampling: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    sampling = sampling.then(async () => {
      const rss = await statusField(pid, 'VmRSS');
      if (rss === undefined) return;
      samples++;
      peak = Math.max(peak, rss);
    });
  }, intervalMs);
  let result: T;
  try {
    result = await work();
  } finally {
    clearInterval(timer);
    await sampling;
  }
  const last = await rssBytes(pid);
  peak = Math.max(peak, last);
  if (peakCounterUsed) peak = Math.max(peak, (await statusField(pid, 'VmHWM')) ?? 0);
  return { result, rss: { baselineBytes: baseline, peakBytes: peak, growthBytes: peak - baseline, samples, peakCounterUsed } };
}

/** Linux reports /proc/<pid>/stat times in USER_HZ, which is 100 on every architecture. */
const USER_HZ = 100;

/** User + system CPU seconds `pid` has used so far (10 ms resolution), or undefined if it is gone. */
export async function cpuSeconds(pid: number): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  // Fields after the parenthesised command name, which may itself contain spaces.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}

/**
 * CPU seconds used so far by `pid` and its descendants, the exited ones included (a parent's
 * cutime/cstime count the children it has reaped, as a postmaster reaps its backends).
 */
export async function processTreeCpuSeconds(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (text === undefined) return 0;
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  let seconds = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / USER_HZ;
  const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  for (const child of children.split(' ').filter(Boolean)) seconds += await processTreeCpuSeconds(Number(child));
  return seconds;
}

/** The parent of `pid` (a PostgreSQL backend's is its postmaster), or undefined when it cannot be read. */
export async function parentPid(pid: number): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
}

/** The postmaster of a PostgreSQL backend running on this machine (its parent, a postgres process), else undefined. */
export async function postmasterOf(backendPid: number): Promise<number | undefined> {
  const parent = await parentPid(backendPid);
  if (parent === undefined) return undefined;
  const comm = await readFile(`/proc/${parent}/comm`, 'utf8').catch(() => '');
  return comm.trim().startsWith('postgres') ? parent : undefined;
}
