/**
 * Reads a secret from a file only when nobody but its owner can read or write it (mode 0600 or
 * stricter), as the reference requires of `master_key_file` and `vault.token_file`. The mode is
 * checked on the opened file, so the file that was checked is the file that is read.
 */
import { open } from 'node:fs/promises';
import { KeySourceError } from '../errors.js';

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory, not a file';
  return (error as Error).message;
}

/** The file's bytes; `field` names the config field in every error. */
export async function readPrivateFile(path: string, field: string, maxBytes: number): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new KeySourceError(field, `cannot read ${path}: ${describe(error)}`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new KeySourceError(field, `${path} is not a regular file`);
    const mode = stat.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new KeySourceError(field, `${path} has mode ${mode.toString(8).padStart(4, '0')}; it holds a secret, so it must not be readable or writable by group or others (chmod 600 ${path})`);
    }
    if (stat.size > maxBytes) throw new KeySourceError(field, `${path} is ${stat.size} bytes, more than the ${maxBytes} expected`);
    return await handle.readFile();
  } catch (error) {
    if (error instanceof KeySourceError) throw error;
    throw new KeySourceError(field, `cannot read ${path}: ${describe(error)}`);
  } finally {
    await handle.close();
  }
}
