import type { AdminClient } from './admin-client.js';

/** Where a command writes: stdout and stderr, or buffers in tests. */
export interface CliStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface CliIo {
  out: CliStream;
  err: CliStream;
}

/** Options a command may take besides the global ones (--config, --addr, --token, --json). */
export type CommandOption = 'state' | 'limit' | 'watch' | 'purge' | 'confirm' | 'set' | 'key' | 'prefix' | 'execute' | 'batch-size' | 'detach' | 'old-key-id' | 'seconds' | 'out';

export interface CommandValues {
  state?: string;
  limit?: string;
  watch?: boolean;
  purge?: boolean;
  confirm?: boolean;
  set?: string;
  key?: string;
  prefix?: string;
  execute?: boolean;
  batchSize?: string;
  detach?: boolean;
  oldKeyId?: string;
  seconds?: string;
  out?: string;
}

export interface AdminContext {
  client: AdminClient;
  /** Positionals after the command name. */
  args: string[];
  values: CommandValues;
  io: CliIo;
  json: boolean;
  /** How often watching commands poll (1 s; shorter in tests). */
  pollIntervalMs: number;
}

export interface AdminCommandSpec {
  name: string;
  /** Positional arguments, e.g. `<backend>`; a trailing `?` makes one optional. */
  args: readonly string[];
  options: readonly CommandOption[];
  summary: string;
  run(c: AdminContext): Promise<number>;
}

export function print(c: AdminContext, text: string): void {
  c.io.out.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function printJson(c: AdminContext, value: unknown): void {
  c.io.out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints the raw response with --json, else the human rendering. */
export function output<T>(c: AdminContext, value: T, human: (v: T) => string): number {
  if (c.json) printJson(c, value);
  else print(c, human(value));
  return 0;
}

/** `<bucket>/<key>` → its parts; the key may contain slashes. */
export function splitObjectPath(path: string): { bucket: string; key: string } | undefined {
  const slash = path.indexOf('/');
  if (slash <= 0 || slash === path.length - 1) return undefined;
  return { bucket: path.slice(0, slash), key: path.slice(slash + 1) };
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
