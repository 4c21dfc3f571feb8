import type { AppendResult, StreamAppend } from '../../domain/eventstore/port.js';
import type { JobCommand } from '../../domain/jobs/job-decider.js';
import type { Appender } from '../commands/handle-command.js';

/**
 * Records the steps of one job as its single owner: each command is decided on the job's state
 * and appended expecting the revision the owner last wrote, so an instance that lost the job (a
 * zombie after a network split) fails its next write instead of corrupting the job's history.
 * Other streams (the object's) may be appended in the same transaction.
 */
export interface JobRecorder {
  readonly jobId: string;
  record(command: JobCommand, others?: readonly StreamAppend[]): Promise<AppendResult[]>;
  /** Appends `command`'s step with whatever a command on another stream (the object's) appends through this. */
  appenderFor(command: JobCommand): Appender;
}

/** The job's stream moved on without its owner (an operator cancelled it, or another owner took it): the step was not appended. */
export class JobOwnershipLostError extends Error {
  constructor(jobId: string) {
    super(`job ${jobId} has ended or was written by another owner; stopping here`);
    this.name = 'JobOwnershipLostError';
  }
}
