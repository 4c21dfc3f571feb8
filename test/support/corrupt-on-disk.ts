import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3rverInstance } from './s3rver.js';

/** The file an s3rver backend keeps an object's bytes in (its storage key's last segment names it). */
export async function s3rverObjectFile(s3rver: S3rverInstance, storageKey: string): Promise<string> {
  const name = storageKey.split('/').pop() as string;
  const entries = await readdir(s3rver.directory, { withFileTypes: true, recursive: true });
  const files = entries.filter((e) => e.isFile() && e.name.endsWith('._S3rver_object') && join(e.parentPath, e.name).includes(name)).map((e) => join(e.parentPath, e.name));
  if (files.length !== 1) throw new Error(`expected one s3rver file for ${storageKey}, found ${files.length}`);
  return files[0] as string;
}

/** Flips the lowest bit of byte `at` of a stored object on the backend's disk: bit rot the orchestrator cannot see coming. */
export async function flipBitOnDisk(s3rver: S3rverInstance, storageKey: string, at = 100): Promise<void> {
  const file = await s3rverObjectFile(s3rver, storageKey);
  const bytes = await readFile(file);
  bytes[at] = (bytes[at] as number) ^ 0x01;
  await writeFile(file, bytes);
}
