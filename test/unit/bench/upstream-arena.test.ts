import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pattern } from '../../../bench/pattern.js';
import { BodyArena, createUpstreamServer, forgetStoredObjects } from '../../../bench/upstream.js';

const MIB = 1 << 20;

describe('bench upstream: the arena for stored bodies', () => {
  it('hands out consecutive parts of one memory, nothing once full, and all of it again after a reset', () => {
    const arena = new BodyArena(10);
    const a = arena.take(4) as Buffer;
    const b = arena.take(6) as Buffer;
    expect(a.buffer).toBe(b.buffer);
    expect(b.byteOffset).toBe(a.byteOffset + 4);
    expect(arena.take(1)).toBeUndefined();
    arena.reset();
    const again = arena.take(10) as Buffer;
    expect([again.buffer, again.byteOffset]).toEqual([a.buffer, a.byteOffset]);
  });

  it('starts zeroed, across more than one read of /dev/zero', () => {
    const size = (16 << 20) + 3;
    const all = new BodyArena(size).take(size) as Buffer;
    expect(all.length).toBe(size);
    expect(all.equals(Buffer.alloc(size))).toBe(true);
  });

  it('is written over again by a reset (touched both ways once more), across more than one read of /dev/zero', () => {
    const size = (16 << 20) + 3;
    const arena = new BodyArena(size);
    (arena.take(size) as Buffer).fill(0xa5);
    arena.reset();
    expect((arena.take(size) as Buffer).equals(Buffer.alloc(size))).toBe(true);
  });

  describe('a server with a 3 MiB arena', () => {
    let server: Server;
    let origin: string;
    beforeAll(async () => {
      server = createUpstreamServer(3 * MIB);
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
      origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => new Promise<void>((done) => {
      server.close(() => done());
      server.closeAllConnections();
    }));

    const put = async (key: string, body: Buffer): Promise<void> => {
      expect((await fetch(`${origin}/bench/${key}`, { method: 'PUT', body })).status).toBe(200);
    };
    const get = async (key: string, range?: string): Promise<Buffer> => {
      const res = await fetch(`${origin}/bench/${key}`, range === undefined ? {} : { headers: { range } });
      return Buffer.from(await res.arrayBuffer());
    };

    it('serves back exactly the bytes it was given, in the arena, past its end, and in it again after a forget', async () => {
      const inArena = randomBytes(2 * MIB + 5);
      const pastTheEnd = randomBytes(2 * MIB);
      const patternThenOther = Buffer.concat([pattern(), pattern().subarray(0, MIB / 2), randomBytes(MIB)]);
      await put('in-arena', inArena);
      await put('past-the-end', pastTheEnd);
      await put('pattern-then-other', patternThenOther);
      expect((await get('in-arena')).equals(inArena)).toBe(true);
      expect((await get('past-the-end')).equals(pastTheEnd)).toBe(true);
      expect((await get('pattern-then-other')).equals(patternThenOther)).toBe(true);
      expect((await get('in-arena', 'bytes=1048570-2097160')).equals(inArena.subarray(1048570, 2097161))).toBe(true);

      await forgetStoredObjects(origin);
      const reused = randomBytes(3 * MIB);
      await put('reused', reused);
      expect((await get('reused')).equals(reused)).toBe(true);
    });
  });
});
