/**
 * Per upload on this instance: the steps that end its backend upload (Complete's assembly, an
 * abort's removal) run one at a time, so a backend never assembles one upload twice at once (a
 * Complete racing an Abort on a backend without AbortMultipartUpload, where the abort assembles
 * the parts to delete them; s3rver can fail hard on that).
 */
export class UploadGates {
  private readonly ends = new Map<string, Promise<unknown>>();

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
}
