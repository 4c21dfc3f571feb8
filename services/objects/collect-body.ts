import type { Readable } from 'node:stream';

/**
 * A body held whole: one buffer (the one it arrived in when there was only one). A body that
 * ends cleanly with other than `size` bytes is an error: a backend can answer a GET with fewer
 * bytes than the object holds (an empty file s3rver had not written yet), and a short buffer
 * passed on would be written, or checked against the length only much later.
 */
export async function collectBody(body: Readable, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    total += b.length;
    chunks.push(b);
  }
  if (total !== size) throw new Error(`the body held ${total} bytes, not the ${size} expected`);
  return chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks, size);
}
