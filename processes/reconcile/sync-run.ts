import { DomainError } from '../../domain/errors.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import type { Cause } from '../../services/event-factory.js';
import type { Leases } from '../leases.js';
import { syncScope } from './import-scope.js';
import { reconcileLease } from './reconcile-worker.js';
import type { ScanItem, ScanReport, UntrackedImporter } from './untracked-importer.js';

export interface SyncRequest {
  backend: string;
  bucket: string;
  /** Only backend keys starting with this. */
  prefix: string;
  dryRun: boolean;
  /** The time our own keys' age is measured against (they are left alone for an hour). */
  now: Date;
  cause: Cause;
  onItem?: (item: ScanItem) => void;
  /** Runs once the lease is held, before the scan (not on a dry run): the CLI records the command there. */
  started?: () => Promise<void>;
}

export interface SyncDeps {
  db: Queryable;
  importer: UntrackedImporter;
  /** Leases under an owner of the sync's own (never the reconcile worker's, whose lease it takes). */
  leases: Leases;
  /** The configured buckets' names. */
  buckets: readonly string[];
}

/**
 * `sync` (the CLI's and the dashboard's): imports the objects of one active backend that the log
 * does not know into a bucket. Takes the reconcile lease, so it never runs beside the reconciler
 * or another sync; a dry run writes nothing, not even the lease. Throws with the reason when it
 * cannot start.
 */
export async function runSync(deps: SyncDeps, req: SyncRequest): Promise<ScanReport> {
  const state = (await deps.db.query<{ state: string }>('SELECT state FROM backend_state WHERE backend = $1', [req.backend])).rows[0]?.state;
  if (state !== 'active') {
    throw new DomainError('Conflict', state === undefined
      ? `backend ${req.backend} is not registered yet: start the orchestrator with it once first`
      : `backend ${req.backend} is ${state}: nothing is imported onto it`);
  }
  const lease = req.dryRun ? undefined : await deps.leases.tryAcquire(reconcileLease);
  if (!req.dryRun && !lease) {
    const holder = await deps.leases.holder(reconcileLease);
    throw new DomainError('Conflict', `a reconcile or sync is running (${holder?.owner ?? 'another instance'}); try again later`);
  }
  try {
    if (lease) await req.started?.();
    return await deps.importer.scan(req.backend, {
      prefix: req.prefix, scope: syncScope(req.bucket, deps.buckets), dryRun: req.dryRun, now: req.now, cause: req.cause,
      ...(req.onItem ? { onItem: req.onItem } : {}),
      keepAlive: async () => (lease ? deps.leases.renew(lease) : true),
    });
  } finally {
    if (lease) await deps.leases.release(lease);
  }
}

/** A sync's outcome in one line (the CLI's last line, the dashboard's message). */
export function syncSummary(r: ScanReport, dryRun: boolean): string {
  const skipped = Object.entries(r.skipped).map(([reason, n]) => `${reason} ${n}`).join(', ') || 'none';
  const verb = dryRun ? 'would import' : 'imported';
  return `scanned ${r.scanned}; ${verb} ${r.imported} (${r.importedBytes} bytes); orphans ${r.orphans} (${r.orphanBytes} bytes); failed ${r.failed}; skipped: ${skipped}`;
}
