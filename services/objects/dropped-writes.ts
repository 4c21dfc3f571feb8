import { BackendUnavailableError } from '../../infra/backend/index.js';

/** How long a dropped write keeps its backend away from the same write. */
const REMEMBER_MS = 10 * 60_000;
/** Bounds the memory a stream of distinct failing writes can take (oldest forgotten first). */
const MAX_WRITES = 10_000;

/** True when the backend took the request and closed the connection without an answer. */
export function droppedConnection(err: unknown): boolean {
  return err instanceof BackendUnavailableError && err.reason === 'reset';
}

/**
 * The identity of "the same write" across a client's retries: bucket, key and size. Unambiguous
 * without quoting (the size is digits, a bucket name holds no `/`), so it costs one concatenation
 * per PUT instead of a JSON.stringify of an array.
 */
export function writeIdentity(bucket: string, key: string, size: number): string {
  return `${size}/${bucket}/${key}`;
}

/** What a write no backend dropped gets: one shared empty set, not a new one per PUT. */
const none: ReadonlySet<string> = new Set();

/**
 * The backends that dropped the connection on a write, remembered for a while, so that write —
 * the client retrying it — is never handed to them again: a request that makes a backend die
 * (s3rver exits on some inputs) must not take it down again on every retry, nor meanwhile take
 * down every other backend through failover.
 */
export class DroppedWrites {
  readonly #writes = new Map<string, { backends: Set<string>; until: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  note(write: string, backend: string): void {
    const entry = this.#live(write);
    this.#writes.delete(write);
    this.#writes.set(write, { backends: new Set([...(entry?.backends ?? []), backend]), until: this.now() + REMEMBER_MS });
    if (this.#writes.size > MAX_WRITES) this.#writes.delete(this.#writes.keys().next().value as string);
  }

  /** The backends `write` must not be handed to. */
  backendsFor(write: string): ReadonlySet<string> {
    return this.#live(write)?.backends ?? none;
  }

  #live(write: string): { backends: Set<string>; until: number } | undefined {
    const entry = this.#writes.get(write);
    if (entry && entry.until <= this.now()) {
      this.#writes.delete(write);
      return undefined;
    }
    return entry;
  }
}
