import type { NewEvent, StreamAppend } from '../../domain/eventstore/port.js';

/**
 * Appends to one job's stream as its single owner: every append expects the revision the
 * owner last wrote, so an instance that lost the job (a zombie after a network split) fails
 * its next write instead of corrupting the job's history. Other streams (the object's) may
 * be appended in the same transaction.
 */
export interface JobRecorder {
  readonly jobId: string;
  record(jobEvents: readonly NewEvent[], others?: readonly StreamAppend[]): Promise<void>;
}
