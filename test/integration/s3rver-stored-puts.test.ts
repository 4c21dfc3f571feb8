import { mkdtemp, rm } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain JS module of the s3rver child, without types
import { answerPutsOnceStored } from '../../ops/demo/s3rver-stored-puts.mjs';

const require = createRequire(import.meta.url);
interface FsExtra { writeFile: (...args: unknown[]) => Promise<void> }
/** The fs-extra s3rver's store writes with: its md5 files are written last, just before it answers. */
const fsExtra = require('fs-extra') as FsExtra;
type Store = {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  putBucket(bucket: string): Promise<void>;
  putObject(object: unknown): Promise<{ size: number; md5: string }>;
  putPart(bucket: string, uploadId: string, partNumber: number, content: Readable): Promise<{ size: number; md5: string }>;
};
const FilesystemStore = require('s3rver/lib/stores/filesystem.js') as new (directory: string) => Store;
const S3Object = require('s3rver/lib/models/object.js') as new (bucket: string, key: string, content: Readable, metadata: Record<string, string>) => unknown;

const sizeOf = (file: string): number => {
  try {
    return statSync(file).size;
  } catch {
    return -1;
  }
};

describe('s3rver test backends answer a PUT once its bytes are stored', () => {
  const realWriteFile = fsExtra.writeFile;
  let directory: string | undefined;
  afterEach(async () => {
    fsExtra.writeFile = realWriteFile;
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  it('an object, and a multipart part, hold every byte by the time their md5 is written (the step before the answer)', async () => {
    directory = await mkdtemp(join(tmpdir(), 's3o-stored-puts-'));
    const store = new FilesystemStore(directory);
    (answerPutsOnceStored as (s: Store) => void)(store);
    await store.putBucket('b');
    const objectFile = store.getResourcePath('b', 'k', 'object');
    const partFile = join(store.getResourcePath('b', undefined, 'uploads'), 'u1', '1');
    // Checked when the md5 is written: s3rver's own putObject writes it before its file write has even started.
    const seen: Record<string, number> = {};
    fsExtra.writeFile = (...args: unknown[]) => {
      const file = String(args[0]);
      if (file === `${objectFile}.md5`) seen.object = sizeOf(objectFile);
      if (file === `${partFile}.md5`) seen.part = sizeOf(partFile);
      return realWriteFile(...args);
    };
    const stored = await store.putObject(new S3Object('b', 'k', Readable.from([Buffer.alloc(600, 1), Buffer.alloc(67, 2)]), {}));
    const part = await store.putPart('b', 'u1', 1, Readable.from([Buffer.alloc(5000, 3)]));
    expect({ stored: stored.size, part: part.size }).toEqual({ stored: 667, part: 5000 });
    expect(seen).toEqual({ object: 667, part: 5000 });
    expect(sizeOf(objectFile)).toBe(667);
  });
});
