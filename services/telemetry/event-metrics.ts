import type { NewEvent } from '../../domain/eventstore/port.js';
import type { Metrics } from '../../infra/telemetry/metrics.js';

/**
 * Counters fed by the events this instance committed (each counted once, by the instance that
 * appended it): orphaned bytes recorded for cleanup, and client writes a backend failed.
 */
export function countAppendedEvents(metrics: Metrics, events: readonly NewEvent[]): void {
  for (const e of events) {
    if (e.type !== 'OrphanRecorded') continue;
    const data = e.data as { backend: string; reason: string };
    metrics.cleanupEnqueued.inc({ reason: data.reason });
    // A failed upload recorded by a client's write (not a worker's copy): the write failed over or was refused.
    if (data.reason === 'failed_upload' && !e.metadata.actor?.startsWith('system:')) metrics.writeFailover.inc({ backend: data.backend });
  }
}
