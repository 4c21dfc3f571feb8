import { Readable } from 'node:stream';

/**
 * Large benchmark bodies are one deterministic 1 MiB block repeated: the client streams it
 * without holding the whole body, and the upstream recognises it and stores only its length.
 */
export const PATTERN_BYTES = 1 << 20;

let cached: Buffer | undefined;

/** The same pseudo-random 1 MiB in every process (xorshift32 with a fixed seed). */
export function pattern(): Buffer {
  if (cached) return cached;
  const words = new Uint32Array(PATTERN_BYTES / 4);
  let x = 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  cached = Buffer.from(words.buffer);
  return cached;
}

/** A body of `length` bytes of the repeated pattern; at most one pattern block is queued at a time. */
export function patternStream(length: number): Readable {
  const block = pattern();
  let sent = 0;
  return new Readable({
    highWaterMark: PATTERN_BYTES,
    read() {
      if (sent >= length) {
        this.push(null);
        return;
      }
      const n = Math.min(block.length, length - sent);
      sent += n;
      this.push(n === block.length ? block : block.subarray(0, n));
    },
  });
}

/** Yields the bytes [start, end) of the repeated pattern as views of the pattern block (no copies). */
export function* patternSlices(start: number, end: number): Generator<Buffer> {
  const block = pattern();
  let at = start;
  while (at < end) {
    const from = at % block.length;
    const n = Math.min(block.length - from, end - at);
    yield block.subarray(from, from + n);
    at += n;
  }
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/**
 * Follows a byte stream against the repeated pattern. `matchedPrefix` is how many leading bytes
 * matched; after the first mismatch the rest of the stream is no longer compared.
 */
export class PatternMatcher {
  #offset = 0;
  #matching = true;
  #prefix = 0;

  get matchedPrefix(): number {
    return this.#prefix;
  }

  get matchesSoFar(): boolean {
    return this.#matching;
  }

  /** Index in `chunk` where the stream stops matching, or -1 if all of it (still) matches. */
  update(chunk: Buffer): number {
    if (!this.#matching) {
      this.#offset += chunk.length;
      return 0;
    }
    const block = pattern();
    let pos = 0;
    while (pos < chunk.length) {
      const from = (this.#offset + pos) % block.length;
      const n = Math.min(block.length - from, chunk.length - pos);
      const got = chunk.subarray(pos, pos + n);
      const want = block.subarray(from, from + n);
      if (!got.equals(want)) {
        const at = pos + firstDifference(got, want);
        this.#matching = false;
        this.#prefix = this.#offset + at;
        this.#offset += chunk.length;
        return at;
      }
      pos += n;
    }
    this.#offset += chunk.length;
    this.#prefix = this.#offset;
    return -1;
  }
}

/** A distinct 4 KiB-ish body per index, so a GET answered with another key's bytes is caught. */
export function smallBody(index: number, size: number): Buffer {
  const body = Buffer.alloc(size);
  pattern().copy(body, 0, (index * 4099) % (PATTERN_BYTES - size), (index * 4099) % (PATTERN_BYTES - size) + size);
  body.write(`object-${index}:`, 0, 'latin1');
  return body;
}
