/**
 * ByteQueue.takePieces: the bytes a decryptor opens where they lie, as views of the buffers they
 * came in; nothing is taken when they lie in too many buffers or the last holds too few.
 */
import { describe, expect, test } from 'vitest';
import { ByteQueue } from '../../../infra/crypto/byte-queue.js';

function queueOf(...buffers: Buffer[]): ByteQueue {
  const queue = new ByteQueue();
  for (const buffer of buffers) queue.push(buffer);
  return queue;
}

describe('takePieces', () => {
  test('returns views of the buffers the bytes lie in (no copy) and consumes them', () => {
    const a = Buffer.from('abcdef');
    const b = Buffer.from('ghijkl');
    const queue = queueOf(a, b);
    queue.skip(2);
    const pieces = queue.takePieces(7, 2, 3) as Buffer[];
    expect(pieces.map((p) => p.toString())).toEqual(['cdef', 'ghi']);
    a[2] = 0x43;
    expect(pieces[0]?.toString()).toBe('Cdef');
    expect(queue.length).toBe(3);
    expect(queue.take(3).toString()).toBe('jkl');
  });

  test('takes nothing when the bytes span more buffers than allowed or the last piece is too short', () => {
    const queue = queueOf(Buffer.from('ab'), Buffer.from('cd'), Buffer.from('efgh'));
    expect(queue.takePieces(6, 2, 1)).toBeUndefined();
    expect(queue.takePieces(5, 3, 2)).toBeUndefined();
    expect(queue.length).toBe(8);
    expect(queue.takePieces(6, 3, 2)?.map((p) => p.toString())).toEqual(['ab', 'cd', 'ef']);
    expect(queue.take(2).toString()).toBe('gh');
  });
});
