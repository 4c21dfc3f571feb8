import { Session } from 'node:inspector/promises';
import type { Profiler } from 'node:inspector';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';

export type CpuProfile = Profiler.Profile;

/** Sampling interval of the CPU profile, in microseconds (V8's default is 1000). */
const samplingIntervalUs = 500;

/**
 * A V8 CPU profile of this process for `ms` milliseconds, as Chrome DevTools loads it
 * (`.cpuprofile`: nodes, startTime, endTime, samples, timeDeltas). The profiler runs only while
 * this is asked for.
 */
export async function captureCpuProfile(ms: number): Promise<CpuProfile> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
    await session.post('Profiler.start');
    await sleep(ms);
    const { profile } = await session.post('Profiler.stop');
    return profile;
  } finally {
    await session.post('Profiler.disable').catch(() => undefined);
    session.disconnect();
  }
}

/** V8's heap figures now: the totals and each heap space. */
export function heapStatistics(): { statistics: v8.HeapInfo; spaces: v8.HeapSpaceInfo[] } {
  return { statistics: v8.getHeapStatistics(), spaces: v8.getHeapSpaceStatistics() };
}
