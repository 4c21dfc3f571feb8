/**
 * The uploads of each part number in flight on this instance. A part uploaded again while an
 * earlier upload of the same number still streams to the backend waits until that one has
 * settled, then goes: the backend never receives two bodies for one part number at once (a
 * backend may then keep a mix of both), both uploads succeed, and the parts are recorded in the
 * order the backend stored them, so the last upload to finish is the part and its ETag is the
 * one the client got last. The backend overwrites the part number in place: the earlier bytes
 * leave nothing behind, and the part's pending bytes are the last upload's only.
 */
export class PartAttempts {
  /** Per part: how many uploads of it are here, and when the last of them settles. */
  private readonly slots = new Map<string, { count: number; last: Promise<void> }>();

  /** How many uploads of this part are here, the one streaming and those waiting for it. */
  attempts(uploadId: string, partNumber: number): number {
    return this.slots.get(`${uploadId}/${partNumber}`)?.count ?? 0;
  }

  async run<T>(uploadId: string, partNumber: number, upload: () => Promise<T>): Promise<T> {
    const key = `${uploadId}/${partNumber}`;
    const previous = this.slots.get(key);
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => { settle = resolve; });
    const slot = { count: (previous?.count ?? 0) + 1, last: settled };
    this.slots.set(key, slot);
    try {
      await previous?.last;
      return await upload();
    } finally {
      settle();
      const current = this.slots.get(key);
      if (current) {
        current.count -= 1;
        if (current.count === 0) this.slots.delete(key);
      }
    }
  }
}
