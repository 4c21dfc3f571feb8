import { Transform } from 'node:stream';

/** Flips the lowest bit of the byte at offset `at` of whatever flows through: a one-bit corruption in transit. */
export function flipBitAt(at: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (at >= seen && at < seen + chunk.length) {
        const copy = Buffer.from(chunk);
        copy[at - seen] = (copy[at - seen] as number) ^ 0x01;
        chunk = copy;
      }
      seen += chunk.length;
      cb(null, chunk);
    },
  });
}
