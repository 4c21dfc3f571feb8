import type { EventStore } from '../domain/eventstore/port.js';
import type { Logger } from '../infra/telemetry/logger.js';
import type { EventFactory } from '../services/event-factory.js';
import type { UsageMeter } from '../services/usage/usage-meter.js';

/**
 * Turns this instance's in-memory usage counts into one UsageFlushed event per backend and
 * flush (never one per request). On failure the counts are put back for the next flush.
 */
export async function flushUsage(
  store: EventStore, events: EventFactory, meter: UsageMeter, logger: Logger, opts: { throwOnError?: boolean } = {},
): Promise<number> {
  const batch = meter.drain();
  let flushed = 0;
  try {
    for (const [backend, c] of batch.counts) {
      if (c.apiRequests === 0 && c.egressBytes === 0 && c.ingressBytes === 0) continue;
      await store.appendToStream(`usage-${backend}`, [events.event('UsageFlushed', {
        backend, period: batch.period, apiRequests: c.apiRequests, egressBytes: c.egressBytes, ingressBytes: c.ingressBytes,
      }, { actor: 'system:usage-flush' })], { expected: 'any' });
      batch.counts.delete(backend);
      meter.addToBaseline(batch.period, new Map([[backend, c]]));
      flushed++;
    }
  } catch (err) {
    logger.warn({ err }, 'usage flush failed; counts kept for the next flush');
    batch.restore();
    if (opts.throwOnError) throw err;
  }
  return flushed;
}
