interface PartGate {
  /** Part uploads holding the gate. */
  parts: number;
  /** Settles when the move holding the gate ends. */
  moving: Promise<void> | undefined;
  /** Wakes the move waiting for the parts in flight to settle. */
  idle: (() => void) | undefined;
}

/**
 * Per upload on this instance:
 * - part uploads share a gate that moving the upload to another backend holds alone: a move
 *   waits for the parts in flight to be recorded (so it carries them along), and parts arriving
 *   meanwhile wait for the move (so they go where the upload went);
 * - the steps that end its backend upload (Complete's assembly, an abort's removal) run one at a
 *   time, so a backend never assembles one upload twice at once (a Complete racing an Abort on a
 *   backend without AbortMultipartUpload, where the abort assembles the parts to delete them;
 *   s3rver can fail hard on that).
 */
export class UploadGates {
  private readonly gates = new Map<string, PartGate>();
  private readonly ends = new Map<string, Promise<unknown>>();

  async part<T>(uploadId: string, work: () => Promise<T>): Promise<T> {
    const gate = await this.enter(uploadId);
    gate.parts++;
    try {
      return await work();
    } finally {
      gate.parts--;
      if (gate.parts === 0) {
        gate.idle?.();
        if (gate.moving === undefined) this.gates.delete(uploadId);
      }
    }
  }

  async move<T>(uploadId: string, work: () => Promise<T>): Promise<T> {
    const gate = await this.enter(uploadId);
    let done!: () => void;
    gate.moving = new Promise((resolve) => { done = resolve; });
    try {
      if (gate.parts > 0) await new Promise<void>((resolve) => { gate.idle = resolve; });
      return await work();
    } finally {
      gate.moving = undefined;
      gate.idle = undefined;
      if (gate.parts === 0) this.gates.delete(uploadId);
      done();
    }
  }

  async end<T>(uploadId: string, work: () => Promise<T>): Promise<T> {
    const before = this.ends.get(uploadId) ?? Promise.resolve();
    const run = before.then(work, work);
    const settled = run.catch(() => undefined);
    this.ends.set(uploadId, settled);
    try {
      return await run;
    } finally {
      if (this.ends.get(uploadId) === settled) this.ends.delete(uploadId);
    }
  }

  /** The upload's part gate once no move holds it (taken synchronously after that: no move slips in). */
  private async enter(uploadId: string): Promise<PartGate> {
    for (;;) {
      const gate = this.gates.get(uploadId);
      if (gate === undefined) {
        const created: PartGate = { parts: 0, moving: undefined, idle: undefined };
        this.gates.set(uploadId, created);
        return created;
      }
      if (gate.moving === undefined) return gate;
      await gate.moving;
    }
  }
}
