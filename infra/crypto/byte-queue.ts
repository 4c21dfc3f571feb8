/**
 * Bytes received but not yet used by a decryptor, as the buffers they arrived in. Taking a run
 * that lies inside one buffer is a view; only a run across buffers is copied (once: the merged
 * run replaces its pieces, so peeking it again costs nothing).
 */
export class ByteQueue {
  #buffers: Buffer[] = [];
  #offset = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.#buffers.push(bytes);
    this.#length += bytes.length;
  }

  /** The first `n` bytes (n ≤ length) without consuming them. */
  peek(n: number): Buffer {
    if (n > this.#length) throw new RangeError(`cannot peek ${n} of ${this.#length} bytes`);
    const first = this.#buffers[0];
    if (first === undefined || n === 0) return Buffer.alloc(0);
    if (first.length - this.#offset >= n) return first.subarray(this.#offset, this.#offset + n);
    const merged = Buffer.allocUnsafe(n);
    let filled = 0;
    let used = 0;
    let offset = this.#offset;
    while (filled < n) {
      const buffer = this.#buffers[used] as Buffer;
      const count = Math.min(buffer.length - offset, n - filled);
      buffer.copy(merged, filled, offset, offset + count);
      filled += count;
      if (offset + count === buffer.length) {
        used += 1;
        offset = 0;
      } else {
        offset += count;
      }
    }
    const rest = this.#buffers.slice(used);
    if (offset > 0) rest[0] = (rest[0] as Buffer).subarray(offset);
    this.#buffers = [merged, ...rest];
    this.#offset = 0;
    return merged;
  }

  skip(n: number): void {
    if (n > this.#length) throw new RangeError(`cannot skip ${n} of ${this.#length} bytes`);
    this.#length -= n;
    let left = n;
    while (left > 0) {
      const first = this.#buffers[0] as Buffer;
      const available = first.length - this.#offset;
      if (available > left) {
        this.#offset += left;
        return;
      }
      left -= available;
      this.#buffers.shift();
      this.#offset = 0;
    }
  }

  take(n: number): Buffer {
    const bytes = this.peek(n);
    this.skip(n);
    return bytes;
  }

  /**
   * The first `n` bytes (n > 0), consumed, as views of the buffers they lie in, when those are
   * at most `most` buffers and the last holds at least `lastAtLeast` of them; otherwise undefined
   * and nothing is consumed. No copy: for a caller that can use the bytes in pieces.
   */
  takePieces(n: number, most: number, lastAtLeast: number): Buffer[] | undefined {
    if (n > this.#length) throw new RangeError(`cannot take ${n} of ${this.#length} bytes`);
    const pieces: Buffer[] = [];
    let offset = this.#offset;
    let left = n;
    for (const buffer of this.#buffers) {
      if (pieces.length === most) return undefined;
      const count = Math.min(buffer.length - offset, left);
      pieces.push(offset === 0 && count === buffer.length ? buffer : buffer.subarray(offset, offset + count));
      left -= count;
      offset = 0;
      if (left === 0) break;
    }
    if ((pieces[pieces.length - 1] as Buffer).length < lastAtLeast) return undefined;
    this.skip(n);
    return pieces;
  }

  /**
   * The first `n` bytes, consumed: a view when they lie in one buffer, else copied into the buffer
   * `scratch(n)` gives (at least n bytes) and returned as a view of it, valid until its next use.
   * For bytes used at once (a chunk handed to the decipher), so a run across buffers costs a copy
   * but no new buffer: at 64 KiB a chunk, new buffers are what made the garbage collector run.
   */
  takeVia(n: number, scratch: (n: number) => Buffer): Buffer {
    if (n > this.#length) throw new RangeError(`cannot take ${n} of ${this.#length} bytes`);
    const first = this.#buffers[0];
    if (first !== undefined && first.length - this.#offset >= n) return this.take(n);
    const into = scratch(n);
    let filled = 0;
    while (filled < n) {
      const buffer = this.#buffers[0] as Buffer;
      const count = Math.min(buffer.length - this.#offset, n - filled);
      buffer.copy(into, filled, this.#offset, this.#offset + count);
      filled += count;
      this.skip(count);
    }
    return into.subarray(0, n);
  }
}
