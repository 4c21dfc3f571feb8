import { open, readFile, stat, unlink } from 'node:fs/promises';
import { readFileSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';

  constructor(readonly dataDir: string, readonly pid: number) {
    super(`data directory ${dataDir} is in use by another s3-orchestrator (pid ${pid})`);
  }
}

/** Who holds a data directory. `startTime` tells a live owner from a later process that reused its pid. */
interface LockOwner {
  pid: number;
  startTime?: string | undefined;
  nonce?: string | undefined;
}

export interface OwnerLock {
  readonly path: string;
  release(): Promise<void>;
  /** For `process.on('exit')`, where only synchronous work runs. */
  releaseSync(): void;
}

/** A lock file that stays empty this long belongs to a process that died between creating and writing it. */
const EMPTY_LOCK_GRACE_MS = 5_000;
/** The takeover mutex is held for a few milliseconds; one this old was left by a crash. */
const TAKEOVER_MUTEX_STALE_MS = 10_000;
const MAX_ATTEMPTS = 200;

/** Sits next to the data directory because initdb wants the directory itself empty on first use. */
export function ownerLockPath(dataDir: string): string {
  return join(dirname(dataDir), `${basename(dataDir)}.s3o.lock`);
}

/**
 * Takes the owner lock of `dataDir`: created with O_EXCL, so of two starters exactly one wins.
 * A lock whose owner is alive means the directory is in use; a dead owner's lock is taken over
 * under a short-lived takeover mutex, so two starters never both remove and recreate it.
 */
export async function acquireOwnerLock(dataDir: string): Promise<OwnerLock> {
  const path = ownerLockPath(dataDir);
  const nonce = randomBytes(8).toString('hex');
  const me: LockOwner = { pid: process.pid, startTime: processStartTime(process.pid), nonce };
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (await createExclusive(path, `${JSON.stringify(me)}\n`)) return ownerLock(path, nonce);
    const seen = await readLock(path);
    if (seen === undefined) continue;
    if (seen.owner === undefined) {
      if (Date.now() - seen.mtimeMs < EMPTY_LOCK_GRACE_MS) {
        await sleep(20);
        continue;
      }
    } else if (isOwnerAlive(seen.owner)) {
      throw new DataDirInUseError(dataDir, seen.owner.pid);
    }
    await removeStaleLock(path, seen.raw);
  }
  throw new Error(`could not take the lock file ${path}: it kept changing`);
}

/** The pid of the live process holding `dataDir`'s lock, if one does (a look, not a lock: it can change at once). */
export async function liveLockOwner(dataDir: string): Promise<number | undefined> {
  const seen = await readLock(ownerLockPath(dataDir));
  return seen?.owner !== undefined && isOwnerAlive(seen.owner) ? seen.owner.pid : undefined;
}

export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // A zombie has exited; only its parent has not collected its status yet.
  return procStat(pid)?.state !== 'Z';
}

/** Linux: start time in clock ticks since boot (field 22 of /proc/<pid>/stat). Elsewhere undefined. */
export function processStartTime(pid: number): string | undefined {
  return procStat(pid)?.startTime;
}

function procStat(pid: number): { state: string | undefined; startTime: string | undefined } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 (the command name) is parenthesised and may contain spaces; fields 3.. follow it.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0], startTime: fields[19] };
}

function isOwnerAlive(owner: LockOwner): boolean {
  if (!isProcessAlive(owner.pid)) return false;
  if (owner.startTime === undefined) return true;
  const current = processStartTime(owner.pid);
  return current === undefined || current === owner.startTime;
}

async function createExclusive(path: string, content: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
  return true;
}

/** undefined when the file vanished meanwhile; `owner` undefined while it is still empty. */
async function readLock(path: string): Promise<{ raw: string; owner: LockOwner | undefined; mtimeMs: number } | undefined> {
  try {
    const [raw, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { raw, owner: parseOwner(raw), mtimeMs: info.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Accepts our JSON format and, for hand-written or older locks, a bare pid. */
function parseOwner(raw: string): LockOwner | undefined {
  const text = raw.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return { pid: Number(text) };
  try {
    const parsed = JSON.parse(text) as Partial<Record<keyof LockOwner, unknown>>;
    if (typeof parsed.pid === 'number') {
      return {
        pid: parsed.pid,
        startTime: typeof parsed.startTime === 'string' ? parsed.startTime : undefined,
        nonce: typeof parsed.nonce === 'string' ? parsed.nonce : undefined,
      };
    }
  } catch {
    // Unparseable content names no live owner; it is treated like a stale lock.
  }
  return { pid: 0 };
}

/** Removes the lock only if it still holds exactly the stale content we judged. */
async function removeStaleLock(path: string, staleRaw: string): Promise<void> {
  const mutex = `${path}.takeover`;
  if (!(await createExclusive(mutex, `${process.pid}\n`))) {
    const info = await stat(mutex).catch(() => undefined);
    if (info !== undefined && Date.now() - info.mtimeMs > TAKEOVER_MUTEX_STALE_MS) {
      await unlink(mutex).catch(ignoreMissing);
    } else {
      await sleep(20);
    }
    return;
  }
  try {
    const current = await readFile(path, 'utf8').catch(() => undefined);
    if (current === staleRaw) await unlink(path).catch(ignoreMissing);
  } finally {
    await unlink(mutex).catch(ignoreMissing);
  }
}

function ownerLock(path: string, nonce: string): OwnerLock {
  const isOurs = (raw: string | undefined): boolean => raw !== undefined && parseOwner(raw)?.nonce === nonce;
  return {
    path,
    async release() {
      const raw = await readFile(path, 'utf8').catch(() => undefined);
      if (isOurs(raw)) await unlink(path).catch(ignoreMissing);
    },
    releaseSync() {
      try {
        if (isOurs(readFileSync(path, 'utf8'))) unlinkSync(path);
      } catch {
        // Best effort while the process exits; a leftover lock names a dead pid and is taken over.
      }
    },
  };
}

function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}
