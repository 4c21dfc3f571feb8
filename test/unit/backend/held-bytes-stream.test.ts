import { describe, expect, it } from 'vitest';
import { heldBytesStream } from '../../../infra/held-bytes-stream.js';

describe('heldBytesStream', () => {
  it('gives the bytes once, in one piece, then ends', async () => {
    const bytes = Buffer.from('held whole');
    const pieces: Buffer[] = [];
    for await (const piece of heldBytesStream(bytes)) pieces.push(piece as Buffer);
    expect(pieces).toHaveLength(1);
    expect(pieces[0]).toBe(bytes);
  });

  it('ends at once for no bytes', async () => {
    const pieces: Buffer[] = [];
    for await (const piece of heldBytesStream(Buffer.alloc(0))) pieces.push(piece as Buffer);
    expect(Buffer.concat(pieces).length).toBe(0);
  });
});
