import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { cleanupCounts, listCleanupItems } from '../../projections/read/cleanup-reads.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import type { CleanupAdmin } from '../../services/cleanup/cleanup-admin.js';
import type { AdminAudit } from './admin-audit.js';
import { parseInput } from './admin-input.js';
import { cleanupItemJson } from './presenters.js';

const CleanupQuery = z.object({
  state: z.enum(['pending', 'exhausted'], { error: 'must be pending or exhausted' }).optional(),
  limit: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(1000, 'must be at most 1000').default(100),
});
const ItemParams = z.object({ id: z.string().min(1, 'must not be empty') });

export interface CleanupRouteDeps {
  /** The projections, read only. */
  reads: Queryable;
  cleanup: CleanupAdmin;
  audit: AdminAudit;
  /** cleanup_queue.failed_write_grace now, so the listing shows when a failed write's orphan falls due. */
  failedWriteGraceMs(): number;
}

/** `GET cleanup-queue[?state=]`, `POST cleanup-queue/:id/retry`, `POST cleanup-queue/:id/dismiss`. */
export function registerCleanupRoutes(app: FastifyInstance, deps: CleanupRouteDeps): void {

  app.get('/cleanup-queue', async (req) => {
    const q = parseInput(CleanupQuery, req.query, 'query');
    const [counts, items] = await Promise.all([
      cleanupCounts(deps.reads),
      listCleanupItems(deps.reads, { ...(q.state ? { state: q.state } : {}), limit: q.limit, failedWriteGraceMs: deps.failedWriteGraceMs() }),
    ]);
    return {
      depth: counts.pending, exhausted: counts.exhausted, pending_bytes: counts.pendingBytes, exhausted_bytes: counts.exhaustedBytes,
      items: items.map(cleanupItemJson),
    };
  });

  app.post('/cleanup-queue/:id/retry', async (req) => {
    const { id } = parseInput(ItemParams, req.params, 'path');
    const cause = await deps.audit.issue(req, 'cleanup-retry', { id });
    const item = await deps.cleanup.retry(id, cause);
    return { status: 'retry scheduled', id, backend: item.backend, storage_key: item.storageKey };
  });

  app.post('/cleanup-queue/:id/dismiss', async (req) => {
    const { id } = parseInput(ItemParams, req.params, 'path');
    const cause = await deps.audit.issue(req, 'cleanup-dismiss', { id });
    const item = await deps.cleanup.dismiss(id, cause);
    return { status: 'dismissed', id, backend: item.backend, storage_key: item.storageKey, size: item.size };
  });
}
