import { Transform, type TransformCallback } from 'node:stream';

/**
 * Passes a GET's bytes through to the client unchanged while keeping a reference to each chunk,
 * so the object can be cached without reading it twice. It keeps at most `limit` bytes: past
 * that (or past the size the version should have) the fill is abandoned and the chunks let go.
 * `complete` runs only when the source ended normally with exactly `expected` bytes; a source
 * that fails (a backend error, a failed verification) or a client that goes away leaves nothing.
 */
export class CacheFill extends Transform {
  private chunks: Buffer[] = [];
  private held = 0;
  private abandoned = false;

  constructor(
    private readonly expected: number,
    private readonly limit: number,
    private readonly complete: (bytes: Buffer) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.abandoned) {
      this.held += chunk.length;
      if (this.held > this.limit || this.held > this.expected) this.abandon();
      else this.chunks.push(chunk);
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (!this.abandoned && this.held === this.expected) this.complete(Buffer.concat(this.chunks, this.held));
    this.abandon();
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.abandon();
    callback(err);
  }

  private abandon(): void {
    this.abandoned = true;
    this.chunks = [];
  }
}
