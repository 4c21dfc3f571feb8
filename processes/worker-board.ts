/** How one background worker has fared on this instance since it started. */
export interface WorkerStatus {
  worker: string;
  runs: number;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  /** The last failure's message (never a secret: errors carry no credentials). */
  lastError: string | null;
  consecutiveFailures: number;
  /** A run is under way now. */
  running: boolean;
}

interface Entry {
  runs: number;
  lastSuccessMs: number | undefined;
  lastFailureMs: number | undefined;
  lastError: string | undefined;
  consecutiveFailures: number;
  running: boolean;
}

/** The outcome of every worker run on this instance (admin workers, s3o_worker_* metrics). */
export class WorkerBoard {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Lists a worker before its first run, so it shows up as never run rather than missing. */
  register(worker: string): void {
    this.entry(worker);
  }

  started(worker: string): void {
    this.entry(worker).running = true;
  }

  succeeded(worker: string): void {
    const e = this.entry(worker);
    e.runs++;
    e.running = false;
    e.lastSuccessMs = this.now();
    e.consecutiveFailures = 0;
  }

  /** A run stopped on purpose (shutdown, lease lost): neither success nor failure. */
  interrupted(worker: string): void {
    this.entry(worker).running = false;
  }

  failed(worker: string, err: unknown): void {
    const e = this.entry(worker);
    e.runs++;
    e.running = false;
    e.lastFailureMs = this.now();
    e.lastError = err instanceof Error ? err.message : String(err);
    e.consecutiveFailures++;
  }

  /** Every worker seen, by name. */
  list(): WorkerStatus[] {
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    return [...this.entries].sort(([a], [b]) => a.localeCompare(b)).map(([worker, e]) => ({
      worker, runs: e.runs, lastSuccessAt: iso(e.lastSuccessMs), lastFailureAt: iso(e.lastFailureMs), lastError: e.lastError ?? null,
      consecutiveFailures: e.consecutiveFailures, running: e.running,
    }));
  }

  /** Raw times for the metrics (seconds since the epoch, 0 = never). */
  forEach(fn: (worker: string, lastSuccessSec: number, lastFailureSec: number, consecutiveFailures: number) => void): void {
    for (const [worker, e] of this.entries) fn(worker, (e.lastSuccessMs ?? 0) / 1000, (e.lastFailureMs ?? 0) / 1000, e.consecutiveFailures);
  }

  private entry(worker: string): Entry {
    let e = this.entries.get(worker);
    if (!e) this.entries.set(worker, (e = { runs: 0, lastSuccessMs: undefined, lastFailureMs: undefined, lastError: undefined, consecutiveFailures: 0, running: false }));
    return e;
  }
}
