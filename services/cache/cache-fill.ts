import { Transform, type TransformCallback } from 'node:stream';

/** What a fill does with the bytes it gathered. */
export interface FillTarget {
  /** The whole object arrived: store it. */
  store(bytes: Buffer): void;
  /** The read turned out wrong after all (more bytes than the version has, or a late error): forget it. */
  revoke(): void;
}

/**
 * Passes a GET's bytes through to the client unchanged while keeping a reference to each chunk,
 * so the object can be cached without reading it twice. It keeps at most `limit` bytes: past
 * that the fill is abandoned and the chunks let go. The object is stored the moment its
 * `expected`-th byte arrives, before that last chunk goes on, so a client that has the whole body
 * finds it cached on its next request. (A verified read holds its last chunk back until the hash
 * matched, and decrypted bytes are authenticated before they flow, so complete means correct.)
 * A source that then brings more bytes or fails revokes it; one that fails or is cut short
 * before stores nothing.
 */
export class CacheFill extends Transform {
  private chunks: Buffer[] = [];
  private held = 0;
  private abandoned = false;
  private stored = false;

  constructor(
    private readonly expected: number,
    private readonly limit: number,
    private readonly target: FillTarget,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.held += chunk.length;
    if (this.stored) {
      this.revoke();
    } else if (!this.abandoned) {
      if (this.held > this.limit || this.held > this.expected) {
        this.abandon();
      } else {
        this.chunks.push(chunk);
        if (this.held === this.expected) {
          this.target.store(Buffer.concat(this.chunks, this.held));
          this.stored = true;
          this.chunks = [];
        }
      }
    }
    callback(null, chunk);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (err) this.revoke();
    this.abandon();
    callback(err);
  }

  private revoke(): void {
    if (this.stored) this.target.revoke();
    this.stored = false;
    this.abandon();
  }

  private abandon(): void {
    this.abandoned = true;
    this.chunks = [];
  }
}
