import { DomainError } from '../../domain/errors.js';

interface Attempt {
  controller: AbortController;
  settled: Promise<void>;
}

/**
 * The uploads of each part number in flight on this instance. A part uploaded again while an
 * earlier upload of the same number still streams to the backend supersedes it: the earlier one
 * is cut off (its client gets 409 OperationAborted, as a retry after a timeout would have made
 * the first upload moot) and the new one starts only once the earlier one has settled, so the
 * backend never receives two bodies for one part number at once (a backend may then keep a mix
 * of both) and the parts are recorded in the order the backend stored them: the last upload to
 * finish is the part.
 */
export class PartAttempts {
  private readonly slots = new Map<string, Attempt>();

  /** Whether an upload of this part is in flight here (what a test waits for before uploading it again). */
  inFlight(uploadId: string, partNumber: number): boolean {
    return this.slots.has(`${uploadId}/${partNumber}`);
  }

  async run<T>(uploadId: string, partNumber: number, upload: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const slot = `${uploadId}/${partNumber}`;
    const previous = this.slots.get(slot);
    let settle!: () => void;
    const attempt: Attempt = { controller: new AbortController(), settled: new Promise((resolve) => { settle = resolve; }) };
    this.slots.set(slot, attempt);
    try {
      if (previous) {
        previous.controller.abort(new DomainError('OperationAborted', `A newer upload of part ${partNumber} replaced this one.`));
        await previous.settled;
      }
      return await upload(attempt.controller.signal);
    } finally {
      if (this.slots.get(slot) === attempt) this.slots.delete(slot);
      settle();
    }
  }
}
