import type { Readable } from 'node:stream';

/** A body held whole: one buffer (the one it arrived in when there was only one). */
export async function collectBody(body: Readable, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    total += b.length;
    chunks.push(b);
  }
  return chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks, total === size ? size : total);
}
