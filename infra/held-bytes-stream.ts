import { Readable } from 'node:stream';

/**
 * Bytes already held whole, as a stream that pushes them in one piece. Cheaper than
 * `Readable.from([bytes])`, whose async iterator costs a promise per read.
 */
export function heldBytesStream(bytes: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      this.push(sent ? null : bytes);
      sent = true;
    },
  });
}
